-- Schema 1: profile, cases with revisions and tags, comments, attachments and their blob files.
CREATE TABLE profile (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL,
    specialty   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE cases (
    id          BLOB PRIMARY KEY,          -- 16 random bytes
    title       TEXT NOT NULL,
    specialty   TEXT NOT NULL,
    status      TEXT NOT NULL,
    urgency     TEXT NOT NULL,
    fields      BLOB NOT NULL,             -- CBOR of the current CaseFields
    outcome     TEXT,
    revision    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX cases_updated ON cases (updated_at DESC);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE case_revisions (
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    fields      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (case_id, revision)
);

CREATE TABLE case_tags (
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags (tag);

CREATE TABLE comments (
    id          BLOB PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    reply_to    BLOB REFERENCES comments (id),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_case ON comments (case_id, created_at);

CREATE TABLE attachments (
    id          BLOB PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    report      BLOB NOT NULL,             -- CBOR of the DeidReport
    created_at  INTEGER NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id, position);

-- One encrypted file per rendition; the file name is the blob id, the key lives only here.
CREATE TABLE blobs (
    id              BLOB PRIMARY KEY,
    attachment_id   BLOB NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    rendition       TEXT NOT NULL,
    mime            TEXT NOT NULL,
    key             BLOB NOT NULL,
    plain_size      INTEGER NOT NULL,
    UNIQUE (attachment_id, rendition)
);
