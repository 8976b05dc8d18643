-- Schema 5: the profile's signing identity, invitations in flight both ways, members verified
-- by safety number, key packages published, and attachment transfers to and from circles.

-- A circle this profile asked to leave: it stays until a commit removes it (the request is
-- sent again if a commit passes without it).
ALTER TABLE circles ADD COLUMN leave_requested_at INTEGER;

-- The Ed25519 seed of this profile's identity (MLS credential and relay account).
CREATE TABLE identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seed        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Key packages told to each relay: when, and how many single-use ones are left there.
CREATE TABLE key_package_state (
    relay         TEXT PRIMARY KEY,
    published_at  INTEGER NOT NULL,
    remaining     INTEGER NOT NULL
);

-- When this profile last gave itself fresh keys in each circle (rotation on a schedule).
CREATE TABLE key_rotations (
    circle      BLOB PRIMARY KEY,
    rotated_at  INTEGER NOT NULL
);

-- Circles this profile asked to join with an invite code, waiting for a Welcome.
CREATE TABLE pending_joins (
    circle        BLOB PRIMARY KEY,
    relay         TEXT NOT NULL,
    name          TEXT NOT NULL,
    inviter       TEXT NOT NULL,
    requested_at  INTEGER NOT NULL
);

-- Colleagues who redeemed one of our invite codes.
CREATE TABLE join_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    circle       BLOB NOT NULL,
    account      TEXT NOT NULL,
    name         TEXT NOT NULL,
    specialty    TEXT NOT NULL,
    key_package  BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'   -- pending, approving, approved, declined
);
CREATE INDEX join_requests_circle ON join_requests (circle, state);

-- Accounts whose safety number the user compared and confirmed.
CREATE TABLE verified_accounts (
    account      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    verified_at  INTEGER NOT NULL
);

-- Encrypted copies of own attachments a queued message points to, uploaded before it is sent.
CREATE TABLE outgoing_blobs (
    message_id     BLOB NOT NULL,
    blob_id        BLOB NOT NULL,
    case_id        BLOB NOT NULL,
    attachment_id  BLOB NOT NULL,
    rendition      TEXT NOT NULL,
    key            BLOB NOT NULL,
    nonce          BLOB NOT NULL,
    uploaded       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, blob_id)
);

-- Which own attachments went to which circle (so a later revision sends only new ones).
CREATE TABLE shared_attachments (
    circle         BLOB NOT NULL,
    attachment_id  BLOB NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    PRIMARY KEY (circle, attachment_id)
);

-- Attachments of received cases still to download (their pointers, CBOR), or that failed.
CREATE TABLE incoming_attachments (
    attachment_id  BLOB PRIMARY KEY,
    case_id        BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    circle         BLOB NOT NULL,
    pointers       BLOB NOT NULL,
    failed         TEXT
);
