-- Answers of the stock providers (Pexels, Pixabay), kept for a day and
-- shared by every tenant, so the same search is not asked twice within a
-- day (both providers ask for that). `key` is a hash of the provider, the
-- media kind, the orientation, the query and the page (or of a looked-up
-- id); the query itself is not kept. `results` is our parsed JSON, not the
-- provider's answer. Rows older than a day are deleted by housekeeping.
CREATE TABLE stock_searches (
    key        TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    results    TEXT NOT NULL,
    fetched_at BIGINT NOT NULL
);
CREATE INDEX stock_searches_fetched ON stock_searches(fetched_at);
