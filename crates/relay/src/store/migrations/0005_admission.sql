-- Admission (`--admission invite`): the accounts the relay admitted, the operator's one-time
-- enrolment codes (hashed), and which account asked to join which group (key packages are
-- handed only to that group's members).
CREATE TABLE accounts (
    account BLOB PRIMARY KEY, admitted_at INTEGER NOT NULL, how TEXT NOT NULL);
CREATE TABLE enrolments (
    code_hash BLOB PRIMARY KEY, expires_at INTEGER NOT NULL, used_by BLOB);
CREATE TABLE join_requests (
    group_id BLOB NOT NULL, joiner BLOB NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, joiner));
-- Every account a relay knew before admission existed stays admitted.
INSERT OR IGNORE INTO accounts (account, admitted_at, how)
    SELECT account, 0, 'before admission' FROM members
    UNION SELECT created_by, 0, 'before admission' FROM groups
    UNION SELECT account, 0, 'before admission' FROM key_packages
    UNION SELECT account, 0, 'before admission' FROM mailbox
    UNION SELECT uploader, 0, 'before admission' FROM blobs;
