//! The commands the window calls. Each is a thin adapter over one engine call; errors reach the
//! UI as `{code, message}` (`PublicError`), never as strings to match. All run off the main
//! thread (`async`), so a slow relay never freezes the window.

pub mod backup;
pub mod cases;
pub mod circles;
pub mod events;
pub mod privacy;
pub mod profile;
pub mod raw;
