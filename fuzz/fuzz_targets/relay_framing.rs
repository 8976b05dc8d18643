//! What the relay parses from untrusted clients: MLS framing, and the CBOR envelopes of posts,
//! key packages and invitations. Never a panic.
#![no_main]

use consilium_model::codec::from_cbor;
use consilium_model::wire::{KeyPackageUpload, PostBundle, RedeemInvitation};
use consilium_relay::framing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = framing::read_group_message(data);
    let _ = framing::check_welcome(data);
    let _ = framing::check_key_package(data);
    if let Ok(bundle) = from_cbor::<PostBundle>(data) {
        let _ = framing::read_group_message(&bundle.mls);
    }
    let _ = from_cbor::<KeyPackageUpload>(data);
    let _ = from_cbor::<RedeemInvitation>(data);
});
