//! End-to-end tests of Consilium live in `tests/`: they run the real `consilium-relay` process
//! and the real `consilium` CLI (built by `cargo test --workspace`) with several profiles. This
//! library is empty on purpose.
