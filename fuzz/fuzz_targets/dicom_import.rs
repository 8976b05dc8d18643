//! Untrusted bytes as the body of a DICOM Part 10 file (after the preamble and the DICM marker),
//! through what the decoder process runs (`consilium_deid::confined::answer`), under the same
//! address-space limit the decoder sets on itself: the DICOM reader, the pixel decoders (JPEG,
//! JPEG 2000, RLE) and the rendering never panic past the import, and an allocation past the
//! limit fails as an error. The address-space limit rules out AddressSanitizer (which maps
//! terabytes of shadow memory): run it with `cargo +nightly fuzz run -s none dicom_import`.
//!
//! Where the reader allocates past the limit without asking (a plain `Vec::resize`), the
//! decoder process aborts and the app refuses the import in words; here the allocation-error
//! hook panics instead, the reader's `catch_unwind` turns it into the same refusal, and only
//! that panic is let through the fuzzer's panic hook (every other panic still fails the run).
#![no_main]
// Nightly under `cargo fuzz` (which sets `--cfg fuzzing`); the stable check compiles without.
#![cfg_attr(fuzzing, feature(alloc_error_hook))]

use std::sync::Once;

use consilium_deid::ImportLimits;
use consilium_deid::confined::{answer, confine_memory, request};
use libfuzzer_sys::fuzz_target;

const LIMITS: ImportLimits = ImportLimits {
    max_input_bytes: 1 << 20,
    max_side: 2048,
    max_pixels: 2_000_000,
    max_alloc: 64 << 20,
};

static CONFINED: Once = Once::new();
#[cfg(fuzzing)]
const ALLOCATION_FAILED: &str = "allocation past the decoder's limit:";

fuzz_target!(|data: &[u8]| {
    CONFINED.call_once(|| {
        // The fuzzer's own corpus and bookkeeping live in the same space: room for them.
        let room = ImportLimits {
            max_alloc: LIMITS.max_alloc + (256 << 20),
            ..LIMITS
        };
        confine_memory(&room).expect("the address-space limit");
        refuse_allocations_past_the_limit();
    });
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    file.extend_from_slice(data);
    if let Ok(encoded) = request(&file, false, None, &LIMITS) {
        let _ = answer(&encoded);
    }
});

#[cfg(fuzzing)]
fn refuse_allocations_past_the_limit() {
    std::alloc::set_alloc_error_hook(|layout| {
        panic!("{ALLOCATION_FAILED} {} bytes", layout.size())
    });
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let refused = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with(ALLOCATION_FAILED));
        if !refused {
            fuzzer_hook(info);
        }
    }));
}

#[cfg(not(fuzzing))]
fn refuse_allocations_past_the_limit() {}
