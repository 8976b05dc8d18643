-- Schema 2 on PostgreSQL: what one instance tells the others (see `store::wakeups`), read by
-- them after a NOTIFY with an empty payload and forgotten after a minute. One machine has no
-- use for it: SQLite has no such table.
CREATE TABLE wakeups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, instance BYTEA NOT NULL,
    kind TEXT NOT NULL, group_id BYTEA, seq BIGINT, accounts BYTEA NOT NULL,
    created_at BIGINT NOT NULL);
CREATE INDEX wakeups_created ON wakeups (created_at);
