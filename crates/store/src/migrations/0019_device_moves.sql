-- Schema 19: a profile of before the device split gets a device key of its own on its first
-- unlock by this version. `moving` marks such a key while some relay may still know the profile
-- by its one old key; each relay that learnt of the new key (or never knew the old one) is
-- listed in `device_moved_relays`. Once every relay the profile uses is, the marks go.
ALTER TABLE device_key ADD COLUMN moving INTEGER NOT NULL DEFAULT 0;
CREATE TABLE device_moved_relays (
    relay       TEXT PRIMARY KEY,
    moved_at    INTEGER NOT NULL
);
