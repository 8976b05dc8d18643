//! Key packages: what another physician's client needs to add this profile to a circle. A batch
//! of ordinary ones (each used once) and one last-resort package (reused when the batch runs out),
//! all with a bounded lifetime. Their private halves go into the provider's storage, so they are
//! in the vault.

use consilium_model::roles::ROLES_EXTENSION;
use openmls::prelude::{Capabilities, Ciphersuite, ExtensionType, KeyPackage, Lifetime};
use openmls_traits::OpenMlsProvider;

use crate::error::{GroupError, Result};
use crate::identity::Identity;

/// The one ciphersuite of every circle.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// A key package ready to publish (as an MLSMessage: [`Published::to_message_bytes`]).
#[derive(Debug, Clone)]
pub struct Published {
    pub key_package: KeyPackage,
    pub last_resort: bool,
}

impl Published {
    /// The key package as an MLSMessage (RFC 9420 §6), the form the relay and peers take.
    pub fn to_message_bytes(&self) -> Result<Vec<u8>> {
        use tls_codec::Serialize as _;
        openmls::prelude::MlsMessageOut::from(self.key_package.clone())
            .tls_serialize_detached()
            .map_err(|e| GroupError::Mls(e.to_string()))
    }
}

/// Makes `count` ordinary key packages and, if `with_last_resort`, one last-resort package,
/// each valid for `lifetime_seconds`.
pub fn make_key_packages<P: OpenMlsProvider>(
    provider: &P,
    identity: &Identity,
    count: usize,
    with_last_resort: bool,
    lifetime_seconds: u64,
) -> Result<Vec<Published>> {
    let mut out = Vec::with_capacity(count + 1);
    for i in 0..count + usize::from(with_last_resort) {
        let last_resort = i == count;
        // A last-resort package must announce the extension in its leaf's capabilities, or a
        // validating client refuses it; every package announces the same capabilities, the
        // circle's roles extension among them.
        let capabilities = capabilities();
        let mut builder = KeyPackage::builder()
            .key_package_lifetime(Lifetime::new(lifetime_seconds))
            .leaf_node_capabilities(capabilities);
        if last_resort {
            builder = builder.mark_as_last_resort();
        }
        let bundle = builder
            .build(
                CIPHERSUITE,
                provider,
                identity.signer(),
                identity.credential(),
            )
            .map_err(|e| GroupError::Mls(e.to_string()))?;
        out.push(Published {
            key_package: bundle.key_package().clone(),
            last_resort,
        });
    }
    Ok(out)
}

/// What every leaf and key package of this client announces: the roles extension (so circles
/// can require it) and last-resort key packages.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        Some(&[
            ExtensionType::LastResort,
            ExtensionType::Unknown(ROLES_EXTENSION),
        ]),
        None,
        None,
    )
}
