-- A blob is recorded per group, so identical ciphertext uploaded to two groups is readable
-- in both and counted once per uploader and group.
CREATE TABLE blobs_v2 (
    group_id BLOB NOT NULL, id BLOB NOT NULL, size INTEGER NOT NULL, uploader BLOB NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (group_id, id));
INSERT INTO blobs_v2 (group_id, id, size, uploader, created_at)
    SELECT group_id, id, size, uploader, created_at FROM blobs;
DROP TABLE blobs;
ALTER TABLE blobs_v2 RENAME TO blobs;
CREATE INDEX blobs_id ON blobs (id);
CREATE INDEX blobs_uploader ON blobs (uploader);
