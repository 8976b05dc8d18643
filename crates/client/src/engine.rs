//! The engine: one unlocked profile, and what it is given (clock, entropy, costs, limits). Every
//! face (CLI, desktop) calls `Engine`'s methods and nothing below them; they are written beside
//! what they concern (`vault`, `review`, `circles`, `sync`), and this file only opens and closes
//! the profile.

use std::path::Path;
use std::sync::Arc;

use consilium_deid::ImportLimits;
use consilium_groups::Identity;
use consilium_model::Clock;
use consilium_relay_client::Patience;
use consilium_store::{Entropy, KdfParams, Passphrase, Profile, SystemEntropy, Vault};
use zeroize::Zeroizing;

use crate::clock::SystemClock;
use crate::error::{ClientError, Result};
use crate::events::TransferWatch;
use crate::net::Net;

/// What the engine is given rather than reaching for: time, randomness, costs and limits.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    /// Argon2id cost for new vaults.
    pub kdf: KdfParams,
    pub import_limits: ImportLimits,
    /// How long relays are waited for.
    pub patience: Patience,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy::new()),
            kdf: KdfParams::INTERACTIVE,
            import_limits: ImportLimits::default(),
            patience: Patience::default(),
        }
    }
}

/// One unlocked profile.
#[derive(Debug)]
pub struct Engine {
    pub(crate) vault: Vault,
    pub(crate) config: EngineConfig,
    pub(crate) identity: Identity,
    /// A profile of before the device split, while some relay may know it only by its one old
    /// key: that key as an identity of before (see `sync::device_move`).
    pub(crate) before_split: Option<Identity>,
    pub(crate) net: Net,
    pub(crate) transfers: TransferWatch,
}
impl Engine {
    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        Vault::exists(dir)
    }

    /// Creates a profile (a new vault) in `dir`.
    pub fn init(
        dir: &Path,
        passphrase: &Passphrase,
        name: &str,
        specialty: &str,
        config: EngineConfig,
    ) -> Result<Engine> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(ClientError::Invalid(
                "the name must have 1 to 120 characters".into(),
            ));
        }
        let profile = Profile {
            name: name.to_string(),
            specialty: specialty.trim().to_string(),
            created_at: config.clock.now(),
        };
        let vault = Vault::create(
            dir,
            passphrase,
            &profile,
            config.kdf,
            config.entropy.clone(),
        )?;
        Engine::ready(vault, config)
    }

    /// Unlocks the profile in `dir`.
    pub fn unlock(dir: &Path, passphrase: &Passphrase, config: EngineConfig) -> Result<Engine> {
        let vault = Vault::open(dir, passphrase, config.entropy.clone())?;
        Engine::ready(vault, config)
    }

    /// Brings the group layer's tables up to date and loads (or, once, makes) the identity.
    pub(crate) fn ready(mut vault: Vault, config: EngineConfig) -> Result<Engine> {
        consilium_groups::migrate(vault.db_mut().connection_mut())?;
        // The identity key, and this laptop's key it certifies: both made on first use; a
        // restored profile brings its identity and makes a device key of its own.
        let membership = vault.db().membership();
        let fresh = || -> Result<Zeroizing<[u8; 32]>> {
            let mut seed = Zeroizing::new([0u8; 32]);
            config.entropy.fill(&mut seed[..])?;
            Ok(seed)
        };
        let identity_seed = match membership.identity_seed()? {
            Some(seed) => seed,
            None => {
                let seed = fresh()?;
                membership.set_identity_seed(&seed, config.clock.now())?;
                seed
            }
        };
        let device_seed = match membership.device_seed()? {
            Some(seed) => seed,
            None => {
                let seed = fresh()?;
                membership.set_device_seed(&seed, config.clock.now())?;
                seed
            }
        };
        // A profile of before the split (one key as both) gets a device key of its own now;
        // each relay learns of it in a sync pass, and knows the old key until then.
        let device_seed = if device_seed == identity_seed {
            let seed = fresh()?;
            if membership.begin_device_move(&seed)? {
                seed
            } else {
                device_seed
            }
        } else {
            device_seed
        };
        let identity = Identity::from_seeds(&identity_seed, &device_seed)?;
        let before_split = if membership.device_move_pending()? {
            Some(identity.before_split()?)
        } else {
            None
        };
        // Circles on the local relay of before, now this user's own port (the same relay, the
        // same data, another address).
        let here = crate::settings::local_relay();
        if here != crate::settings::EARLIER_LOCAL_RELAY {
            vault
                .db()
                .circles()
                .move_relay(crate::settings::EARLIER_LOCAL_RELAY, &here)?;
        }
        let mut net = Net::new(&identity, config.clock.clone(), config.patience)?;
        if let Some(old) = &before_split {
            net.moving_from(old, vault.db().membership().relays_moved()?)?;
        }
        for (relay, pin) in vault.db().membership().relay_pins()? {
            net.pin(&relay, pin);
        }
        Ok(Engine {
            vault,
            config,
            identity,
            before_split,
            net,
            transfers: Default::default(),
        })
    }

    /// Who this profile is at `relay`: its identity with this laptop's device key, or, at a
    /// relay that has not yet learnt of the device key, its one key of before the split.
    pub(crate) fn identity_at(&self, relay: &str) -> &Identity {
        identity_at(&self.identity, self.before_split.as_ref(), &self.net, relay)
    }

    /// Closes the vault; keys are wiped.
    pub fn lock(self) {
        self.vault.lock();
    }

    pub fn change_passphrase(&self, current: &Passphrase, new: &Passphrase) -> Result<()> {
        Ok(self.vault.change_passphrase(current, new)?)
    }

    pub fn profile(&self) -> Result<Profile> {
        Ok(self.vault.db().profile()?)
    }
}

/// `Engine::identity_at` over the engine's fields, for a caller that borrows the vault mutably
/// meanwhile.
pub(crate) fn identity_at<'a>(
    identity: &'a Identity,
    before_split: Option<&'a Identity>,
    net: &Net,
    relay: &str,
) -> &'a Identity {
    match before_split {
        Some(old) if !net.knows_device(relay) => old,
        _ => identity,
    }
}
