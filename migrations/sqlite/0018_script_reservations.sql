-- Scripts written by the language model (POST /api/v1/scripts) are metered as
-- `scripts_generated`: admission reserves one while the model writes it (a row
-- keyed `script:{id}` instead of a project id), success moves it to the ledger,
-- failure drops it.
ALTER TABLE usage_reservations ADD COLUMN scripts INTEGER NOT NULL DEFAULT 0;
