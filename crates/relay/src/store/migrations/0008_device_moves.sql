-- Schema 8: a key of before the device split (one key as identity and device) that moved to a
-- device key it certified. The old key is revoked; what it held here (memberships, mailbox,
-- cursors, blobs, invitations, join requests) is the new device's, and a leaf that still names
-- the old key (its circle not yet told) speaks through the new account.
CREATE TABLE device_moves (
    old_account  BLOB PRIMARY KEY,
    new_account  BLOB NOT NULL UNIQUE,
    moved_at     INTEGER NOT NULL
);
