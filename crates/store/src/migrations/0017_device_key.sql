-- Schema 17: this laptop's own key (the MLS leaf's signature key and the relay account), apart
-- from the identity key, which certifies it. A profile of before keeps its one key as both; a
-- restored profile (whose backup never holds this table) makes a new one.
CREATE TABLE device_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seed        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
INSERT INTO device_key (id, seed, created_at) SELECT 1, seed, created_at FROM identity;
