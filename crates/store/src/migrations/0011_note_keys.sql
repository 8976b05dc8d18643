-- The private half of each invite code's note key (see `consilium_groups::join_note`): a joiner
-- seals its name and specialty to the public half in the code. Kept until the request comes or
-- the code expires.
CREATE TABLE invitation_note_keys (
    public BLOB PRIMARY KEY, circle BLOB NOT NULL, seed BLOB NOT NULL,
    expires_at INTEGER NOT NULL);
