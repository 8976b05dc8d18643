-- What the user has read of each case: the revision and the number of comments seen when the
-- case was last opened. A case with a later revision or more comments is unread.
CREATE TABLE case_reads (
    case_id        BLOB PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    seen_revision  INTEGER NOT NULL,
    seen_comments  INTEGER NOT NULL
);
