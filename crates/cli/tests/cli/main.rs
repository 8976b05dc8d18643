//! The `consilium` binary driven as a user would: fresh profiles, real photos with metadata
//! written by exiftool, exiftool as the judge of exported images, raw scans of the profile
//! directory, damaged vaults, and SIGKILL in the middle of an import.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod at_rest;
mod cases;
mod images;
mod support;
