-- A self-hosted relay's pinned key (the SHA-256 of its SubjectPublicKeyInfo), from the invite
-- code that brought us to it or given when a circle was made on it: the only key accepted from
-- that relay (see `consilium_relay_client::trust`).
CREATE TABLE relay_pins (relay TEXT PRIMARY KEY, spki_sha256 BLOB NOT NULL);
