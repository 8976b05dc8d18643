-- Schema 13: deleted means gone. The full-text index removes a deleted row's terms from its
-- segments at once (FTS5 `secure-delete`, SQLite 3.42+) rather than at a later merge; and a
-- retracted case leaves a tombstone without content, so its case list still says what happened.
INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);

CREATE TABLE case_tombstones (
    case_id     BLOB PRIMARY KEY,
    -- The circle and author (hex account id) it came from; both NULL for this profile's own.
    circle      BLOB,
    author      TEXT,
    retracted_at INTEGER NOT NULL
);
