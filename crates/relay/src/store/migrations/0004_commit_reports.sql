-- What the relay needs to undo commits its members cannot process (see `store::reports`): the
-- group's state before each recent commit, the members' reports, and which Welcomes a commit
-- delivered.
CREATE TABLE commit_history (
    group_id BLOB NOT NULL, seq INTEGER NOT NULL, prior_state BLOB NOT NULL,
    PRIMARY KEY (group_id, seq));
CREATE TABLE commit_reports (
    group_id BLOB NOT NULL, seq INTEGER NOT NULL, reporter BLOB NOT NULL,
    PRIMARY KEY (group_id, seq, reporter));
ALTER TABLE mailbox ADD COLUMN group_seq INTEGER;
