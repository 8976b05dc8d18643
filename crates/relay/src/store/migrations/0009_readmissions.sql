-- Schema 9: the one readmission each physician (identity) has open in a group: a new one from
-- another of its devices supersedes it (its join requests leave the members' mailboxes), so
-- minting device keys cannot fill colleagues' mailboxes.
CREATE TABLE readmissions (
    group_id    BLOB NOT NULL,
    identity    BLOB NOT NULL,
    device      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, identity)
);
