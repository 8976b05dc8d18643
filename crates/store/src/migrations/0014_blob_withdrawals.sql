-- Schema 14: the author can take a case's images back from the relay. `sent_blobs` records
-- which encrypted blob went to which circle for which own case (kept after delivery);
-- `blob_withdrawals` holds those to withdraw from the relay after a retraction, until it says
-- they are gone.
CREATE TABLE sent_blobs (
    case_id  BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    circle   BLOB NOT NULL,
    blob_id  BLOB NOT NULL,
    PRIMARY KEY (circle, blob_id)
);
CREATE INDEX sent_blobs_case ON sent_blobs (case_id);

CREATE TABLE blob_withdrawals (
    circle   BLOB NOT NULL,
    blob_id  BLOB NOT NULL,
    PRIMARY KEY (circle, blob_id)
);
