//! What an import may cost, checked before any pixel is decoded.

/// Bounds on what an import may cost, checked before any pixel is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted input file, in bytes.
    pub max_input_bytes: u64,
    /// Largest accepted width or height, in pixels.
    pub max_side: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_input_bytes: 200 * 1024 * 1024,
            max_side: 16_384,
            max_pixels: 64_000_000,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}
