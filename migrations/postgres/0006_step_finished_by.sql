-- Which worker finished each step: operators can tell a taken-over step's
-- finisher from the worker that lost it, and scale-out runs show the spread.
ALTER TABLE steps ADD COLUMN finished_by TEXT;
