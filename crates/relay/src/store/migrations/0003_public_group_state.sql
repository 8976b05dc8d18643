-- Each group's public MLS state (see `handshake::record`), against which proposals and commits
-- are checked. NULL for a group created before the relay checked them, until a member uploads
-- it; such a group takes application messages only.
ALTER TABLE groups ADD COLUMN public_state BLOB;
