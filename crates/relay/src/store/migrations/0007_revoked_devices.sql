-- Schema 7: devices replaced by another of the same physician (a restored laptop let back into
-- a group in place of the lost one): refused from then on, on every route.
CREATE TABLE revoked_devices (
    account     BLOB PRIMARY KEY,
    revoked_at  INTEGER NOT NULL
);
