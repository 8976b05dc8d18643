//! Untrusted application messages (what circle members send inside MLS): never a panic, and
//! whatever decodes re-encodes and decodes to the same message.
#![no_main]

use consilium_model::app::AppMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = AppMessage::decode(data) {
        let again = message.encode().expect("a decoded message encodes");
        let back = AppMessage::decode(&again).expect("an encoded message decodes");
        assert_eq!(back, message);
    }
});
