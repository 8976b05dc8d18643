-- Schema 16: backups. `backup_state` is where this vault backs up to and the key its backup is
-- sealed under (never itself backed up); `circles.restored_at` marks a circle restored from a
-- backup, whose MLS state did not come with it, until a colleague re-admits this device.
CREATE TABLE backup_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    dir         TEXT NOT NULL,
    backup_id   BLOB NOT NULL,
    key         BLOB NOT NULL,
    sequence    INTEGER NOT NULL,
    made_at     INTEGER NOT NULL,
    -- Cases erased here since; still in the backup until its next run.
    erased_since INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE circles ADD COLUMN restored_at INTEGER;
