-- A circle's own retention, set by its admins: shorter than the relay's, never longer.
ALTER TABLE groups ADD COLUMN retention_ms INTEGER;
