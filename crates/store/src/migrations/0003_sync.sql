-- What must still reach a circle: queued in the same transaction as the local change it
-- carries, delivered in order per circle, retried with backoff, removed once the relay
-- acknowledged it. The payload is opaque here (the group layer's business).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    circle BLOB NOT NULL,
    message_id BLOB NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    -- The bytes last handed to the relay, resent as they are after an ambiguous failure.
    sealed BLOB,
    sealed_epoch INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    failed TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_circle ON outbox (circle, id);

-- How far this client has applied each circle's log (the relay's sequence numbers).
CREATE TABLE circle_cursors (
    circle BLOB PRIMARY KEY,
    seq INTEGER NOT NULL
);

-- Messages that could not be opened or applied: recorded, skipped, never blocking the rest.
CREATE TABLE receive_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    circle BLOB NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (circle, seq)
);
