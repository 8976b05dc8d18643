//! Key packages for the relay: a batch of single-use packages plus one last-resort package, made
//! with the profile's MLS state (their private halves stay in the vault) and told to the relay
//! with an expiry an hour before their MLS lifetime ends, so the relay never hands out one that
//! is about to lapse.

use consilium_groups::{Identity, Provider, make_key_packages};
use consilium_model::Timestamp;
use consilium_model::wire::{KeyPackageItem, KeyPackageUpload};
use serde_bytes::ByteBuf;

use crate::engine::Engine;
use crate::error::{ClientError, Result};

/// Single-use key packages kept at each relay, and when to top them up.
const KEY_PACKAGES: usize = 8;
const KEY_PACKAGES_LOW: u32 = 3;
const KEY_PACKAGE_REFRESH_MS: i64 = 14 * 24 * 3600 * 1000;

/// How long a published key package lives.
pub const KEY_PACKAGE_LIFETIME_SECS: u64 = 28 * 24 * 3600;
const MARGIN_MS: i64 = 3600 * 1000;

/// Makes `count` packages and a last-resort one, ready to upload.
pub fn key_package_upload(
    conn: &rusqlite::Connection,
    identity: &Identity,
    count: usize,
    now: Timestamp,
) -> Result<KeyPackageUpload> {
    let made = make_key_packages(
        &Provider::new(conn),
        identity,
        count,
        true,
        KEY_PACKAGE_LIFETIME_SECS,
    )
    .map_err(|e| ClientError::Internal(format!("making key packages: {e}")))?;
    let expires_at = now.0 + KEY_PACKAGE_LIFETIME_SECS as i64 * 1000 - MARGIN_MS;
    let packages =
        made.into_iter()
            .map(|p| {
                Ok(KeyPackageItem {
                    mls: ByteBuf::from(p.to_message_bytes().map_err(|e| {
                        ClientError::Internal(format!("encoding a key package: {e}"))
                    })?),
                    last_resort: p.last_resort,
                    expires_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    Ok(KeyPackageUpload { packages })
}

impl Engine {
    /// Publishes a batch of key packages (and a last-resort one) when few are left or they age.
    pub(crate) fn publish_key_packages(&mut self, relay: &str) -> Result<()> {
        let now = self.config.clock.now();
        let fresh = self
            .vault
            .db()
            .membership()
            .key_package_state(relay)?
            .is_some_and(|(at, left)| {
                left >= KEY_PACKAGES_LOW && now.0 - at.0 < KEY_PACKAGE_REFRESH_MS
            });
        if fresh {
            return Ok(());
        }
        let upload = key_package_upload(
            self.vault.db().connection(),
            self.identity_at(relay),
            KEY_PACKAGES,
            now,
        )?;
        let client = self.net.client(relay)?;
        self.net.run(client.upload_key_packages(&upload))?;
        self.vault
            .db()
            .membership()
            .set_key_package_state(relay, now, KEY_PACKAGES as u32)?;
        Ok(())
    }
}
