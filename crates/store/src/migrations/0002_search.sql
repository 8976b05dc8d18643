-- Schema 2: full-text search over case fields and comments. One index row for the fields of each
-- case and one per comment; `search_rows` maps them back so an edit replaces exactly its rows.
-- The store keeps both in step with the tables, in the same transaction as each write.
CREATE VIRTUAL TABLE search_index USING fts5 (
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE search_rows (
    fts_rowid   INTEGER PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    comment_id  BLOB REFERENCES comments (id) ON DELETE CASCADE
);
CREATE INDEX search_rows_case ON search_rows (case_id);

