//! What the window hears without asking: each sync pass, image transfers, import progress, and
//! the lock. Each is a typed event (its name and payload are in the generated bindings).

use consilium_client::{Event, PublicError, Transfer};
use serde::Serialize;
use specta::Type;
use tauri_specta::Event as TypedEvent;

/// What the window hears after each sync pass.
#[derive(Clone, Serialize, Type, TypedEvent)]
#[tauri_specta(event_name = "sync")]
pub struct SyncState {
    /// Why a relay could not be reached ("offline, will retry"), if one could not.
    pub offline: Option<String>,
    /// What the pass sent: the screens load again, since what they show (a circle's members
    /// after an approval) changed with it.
    pub sent: u64,
    pub queued: u64,
    pub failed: Vec<String>,
    /// An error of the pass itself (the vault, say), in the window's error shape.
    pub error: Option<PublicError>,
    pub events: Vec<Event>,
}

/// Images moving to or from the relay, after each rendition.
#[derive(Clone, Serialize, Type, TypedEvent)]
#[tauri_specta(event_name = "transfer")]
pub struct TransferProgress(pub Transfer);

/// A multi-file import, after each file.
#[derive(Clone, Serialize, Type, TypedEvent)]
#[tauri_specta(event_name = "import")]
pub struct ImportProgress {
    pub done: u32,
    pub total: u32,
}

/// The profile was locked (by the user or the idle timer).
#[derive(Clone, Serialize, Type, TypedEvent)]
#[tauri_specta(event_name = "locked")]
pub struct Locked;
