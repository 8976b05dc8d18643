//! Untrusted bytes as the body of a DICOM Part 10 file (after the preamble and the DICM marker):
//! the DICOM reader, the pixel decoders (JPEG, JPEG 2000, RLE) and the rendering never panic past
//! the import and never allocate past the limits.
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
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    file.extend_from_slice(data);
    let _ = clean_image(&file, &CleanOptions::default(), &limits);
});
