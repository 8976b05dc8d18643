-- The relay's first schema: groups and their members, the ordered log, mailboxes, key
-- packages, invitations, replay nonces, read cursors and blob records.
-- (IF NOT EXISTS: relays older than the schema version wrote these tables with user_version 0.)
CREATE TABLE IF NOT EXISTS groups (
    id BLOB PRIMARY KEY, epoch INTEGER NOT NULL, next_seq INTEGER NOT NULL,
    created_by BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    group_id BLOB NOT NULL, account BLOB NOT NULL, PRIMARY KEY (group_id, account));
CREATE TABLE IF NOT EXISTS messages (
    group_id BLOB NOT NULL, seq INTEGER NOT NULL, message_id BLOB NOT NULL, sender BLOB NOT NULL,
    epoch INTEGER NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
    resulting_epoch INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq), UNIQUE (group_id, message_id));
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account BLOB NOT NULL, kind TEXT NOT NULL,
    group_id BLOB NOT NULL, sender BLOB NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mailbox_account ON mailbox (account, id);
CREATE TABLE IF NOT EXISTS key_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account BLOB NOT NULL, body BLOB NOT NULL,
    last_resort INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS key_packages_account ON key_packages (account, last_resort, id);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash BLOB PRIMARY KEY, group_id BLOB NOT NULL, inviter BLOB NOT NULL,
    expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS nonces (
    account BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (account, nonce));
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE TABLE IF NOT EXISTS cursors (
    group_id BLOB NOT NULL, account BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (group_id, account));
CREATE TABLE IF NOT EXISTS blobs (
    id BLOB PRIMARY KEY, group_id BLOB NOT NULL, size INTEGER NOT NULL, uploader BLOB NOT NULL,
    created_at INTEGER NOT NULL);
