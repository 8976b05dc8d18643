//! Circles: create, invite, join, approve or decline, members and their verification, remove,
//! leave, rotate keys.

use consilium_client::{
    ApprovalCheck, CircleInfo, JoinRequestInfo, JoinSent, MemberInfo, PublicError,
};
use tauri::State;

use crate::session::Session;

#[tauri::command(async)]
#[specta::specta]
pub fn circles(session: State<'_, Session>) -> Result<Vec<CircleInfo>, PublicError> {
    session.with(|e| e.circles())
}

/// A new circle on the relay named in the settings; `enrolment` is the one-time code its
/// operator gave, for a relay that admits only enrolled accounts (needed once per relay);
/// `relay_key` the SHA-256 of a self-signed relay's public key, which it is then trusted by.
#[tauri::command(async)]
#[specta::specta]
pub fn create_circle(
    session: State<'_, Session>,
    name: String,
    enrolment: Option<String>,
    relay_key: Option<String>,
) -> Result<CircleInfo, PublicError> {
    let relay = session.settings().relay;
    session.with_send(|e| {
        if let Some(key) = relay_key.as_deref().filter(|k| !k.trim().is_empty()) {
            e.pin_relay_key_hex(&relay, key)?;
        }
        if let Some(code) = enrolment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            e.enrol(&relay, code)?;
        }
        e.create_circle(&name, &relay)
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn invite(session: State<'_, Session>, circle: String) -> Result<String, PublicError> {
    session.with(|e| e.invite(&circle))
}

#[tauri::command(async)]
#[specta::specta]
pub fn join(session: State<'_, Session>, code: String) -> Result<JoinSent, PublicError> {
    session.with_send(|e| e.join(&code))
}

#[tauri::command(async)]
#[specta::specta]
pub fn join_requests(
    session: State<'_, Session>,
    circle: String,
) -> Result<Vec<JoinRequestInfo>, PublicError> {
    session.with(|e| e.join_requests(&circle))
}

/// Approves a join request: `safety_number` is the number the admin compared with the
/// requester (who is then verified); `None` approves without checking, which is recorded.
#[tauri::command(async)]
#[specta::specta]
pub fn approve(
    session: State<'_, Session>,
    circle: String,
    request: i64,
    safety_number: Option<String>,
) -> Result<(), PublicError> {
    let check = match safety_number {
        Some(number) => ApprovalCheck::SafetyNumber(number),
        None => ApprovalCheck::WithoutChecking,
    };
    session.with_send(|e| e.approve(&circle, request, &check))
}

#[tauri::command(async)]
#[specta::specta]
pub fn decline(
    session: State<'_, Session>,
    circle: String,
    request: i64,
) -> Result<(), PublicError> {
    session.with(|e| e.decline(&circle, request))
}

#[tauri::command(async)]
#[specta::specta]
pub fn members(
    session: State<'_, Session>,
    circle: String,
) -> Result<Vec<MemberInfo>, PublicError> {
    session.with(|e| e.members(&circle))
}

#[tauri::command(async)]
#[specta::specta]
pub fn verify_member(
    session: State<'_, Session>,
    circle: String,
    member: String,
    safety_number: String,
) -> Result<MemberInfo, PublicError> {
    session.with(|e| e.verify_member(&circle, &member, &safety_number))
}

#[tauri::command(async)]
#[specta::specta]
pub fn remove_member(
    session: State<'_, Session>,
    circle: String,
    member: String,
) -> Result<MemberInfo, PublicError> {
    session.with_send(|e| e.remove_member(&circle, &member))
}

/// Sets how many days every member keeps the cases received in the circle (`None`: for ever);
/// admins only.
#[tauri::command(async)]
#[specta::specta]
pub fn set_retention(
    session: State<'_, Session>,
    circle: String,
    days: Option<u32>,
) -> Result<(), PublicError> {
    session.with_send(|e| e.set_retention(&circle, days))
}

/// Erases the cases received in a circle from this laptop (after a removal); how many.
#[tauri::command(async)]
#[specta::specta]
pub fn delete_received_cases(
    session: State<'_, Session>,
    circle: String,
) -> Result<u32, PublicError> {
    session.with(|e| {
        let n = e.delete_received_cases(&circle)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    })
}

/// Leaves a circle; with `delete_cases`, the cases received there are erased from this laptop.
#[tauri::command(async)]
#[specta::specta]
pub fn leave(
    session: State<'_, Session>,
    circle: String,
    delete_cases: bool,
) -> Result<(), PublicError> {
    session.with_send(|e| {
        e.leave(&circle)?;
        if delete_cases {
            e.delete_received_cases(&circle)?;
        }
        Ok(())
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn rotate_keys(session: State<'_, Session>, circle: String) -> Result<(), PublicError> {
    session.with_send(|e| e.rotate_keys(&circle))
}

/// Wakes the background sync now (the "sync" button, and after an approval in another window).
#[tauri::command(async)]
#[specta::specta]
pub fn sync_now(session: State<'_, Session>) {
    session.kick.notify_one();
}
