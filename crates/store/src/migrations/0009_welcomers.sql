-- Who may send the Welcome of a circle we asked to join, besides the inviter: the admins the
-- invite code named (space-separated hex account keys). A Welcome from anyone else is refused.
ALTER TABLE pending_joins ADD COLUMN admins TEXT NOT NULL DEFAULT '';
