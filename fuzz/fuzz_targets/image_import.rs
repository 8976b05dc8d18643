//! Untrusted image bytes through the whole cleaning path: never a panic, never an allocation
//! past the limits.
#![no_main]

use consilium_deid::{CleanOptions, ImportLimits, clean_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ImportLimits {
        max_input_bytes: 1 << 20,
        max_side: 2048,
        max_pixels: 2_000_000,
        max_alloc: 64 << 20,
    };
    let _ = clean_image(data, &CleanOptions::default(), &limits);
});
