-- Schema 4: circles this profile is in, where received cases came from, which own cases were
-- shared where, polls and votes, and what members say about themselves.
CREATE TABLE circles (
    id          BLOB PRIMARY KEY,          -- the MLS group id
    name        TEXT NOT NULL,
    relay       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    left_at     INTEGER
);

-- A case received from a circle: who wrote it there. Own cases have no row.
CREATE TABLE case_origins (
    case_id     BLOB PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    circle      BLOB NOT NULL,
    author      TEXT NOT NULL
);

CREATE TABLE case_shares (
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    circle      BLOB NOT NULL,
    PRIMARY KEY (case_id, circle)
);

CREATE TABLE polls (
    id          BLOB PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    options     BLOB NOT NULL,             -- CBOR list of strings
    created_by  TEXT NOT NULL
);

CREATE TABLE votes (
    poll_id     BLOB NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter       TEXT NOT NULL,
    option      INTEGER NOT NULL,
    PRIMARY KEY (poll_id, voter)
);

CREATE TABLE circle_members (
    circle      BLOB NOT NULL,
    account     TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    specialty   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (circle, account)
);
