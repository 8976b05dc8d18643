//! Untrusted CBOR (what other clients will send inside MLS messages) decoded as a case: never a
//! panic, and whatever decodes re-encodes and decodes to the same value.
#![no_main]

use consilium_model::Case;
use consilium_model::codec::{from_cbor, to_cbor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(case) = from_cbor::<Case>(data) {
        let again = to_cbor(&case).expect("a decoded case encodes");
        let back: Case = from_cbor(&again).expect("an encoded case decodes");
        assert_eq!(back, case);
    }
});
