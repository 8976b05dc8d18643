//! Devices of after the split for the relay's tests: a device key certified by an identity key,
//! and key packages of such a device.

use crate::support::*;

/// A device key for the physician whose identity key is `identity` (seed), certified by it; and
/// the relay account of that device.
pub fn certified_device(
    identity_seed: &[u8; 32],
    certifier_seed: &[u8; 32],
    base: &str,
) -> (Account, CredentialWithKey, SignatureKeyPair) {
    let device = Account::at(base);
    let identity = Ed25519KeyPair::from_seed_unchecked(identity_seed).unwrap();
    let certifier = Ed25519KeyPair::from_seed_unchecked(certifier_seed).unwrap();
    let mut id = [0u8; 32];
    id.copy_from_slice(identity.public_key().as_ref());
    let mut dev = [0u8; 32];
    dev.copy_from_slice(device.key.public_key().as_ref());
    let mut signature = [0u8; 64];
    signature.copy_from_slice(
        certifier
            .sign(&consilium_model::device::signed_bytes(&id, &dev))
            .as_ref(),
    );
    let signer =
        SignatureKeyPair::from_raw(SignatureScheme::ED25519, device.seed.to_vec(), dev.to_vec());
    let cwk = CredentialWithKey {
        credential: BasicCredential::new(consilium_model::device::certificate(
            &id, &dev, &signature,
        ))
        .into(),
        signature_key: dev.to_vec().into(),
    };
    (device, cwk, signer)
}

/// A key package of the device `(account, credential, signer)`.
pub fn package_of(
    cwk: &CredentialWithKey,
    signer: &SignatureKeyPair,
) -> (OpenMlsRustCrypto, KeyPackage) {
    let provider = OpenMlsRustCrypto::default();
    signer.store(provider.storage()).unwrap();
    let kp = KeyPackage::builder()
        .build(CS, &provider, signer, cwk.clone())
        .unwrap()
        .key_package()
        .clone();
    (provider, kp)
}

pub fn kp_bytes(kp: &KeyPackage) -> Vec<u8> {
    MlsMessageOut::from(kp.clone())
        .tls_serialize_detached()
        .unwrap()
}
