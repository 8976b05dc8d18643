//! The text scan before sharing: the names looked for in a case, what the scan finds, and the
//! author's "not an identifier" decisions.

use consilium_client::model::FindingKind;
use consilium_client::{Acknowledge, CaseDeidReport, ClientError, PublicError, TextFinding};
use tauri::State;

use super::cases::parse_case;
use crate::session::Session;

#[tauri::command(async)]
#[specta::specta]
pub fn case_names(
    session: State<'_, Session>,
    case_id: String,
) -> Result<Vec<String>, PublicError> {
    session.with(|e| e.case_names(&parse_case(&case_id)?))
}

#[tauri::command(async)]
#[specta::specta]
pub fn set_case_names(
    session: State<'_, Session>,
    case_id: String,
    names: Vec<String>,
) -> Result<(), PublicError> {
    session.with(|e| e.set_case_names(&parse_case(&case_id)?, &names))
}

/// What the scan finds in the case, and in `pending` (a comment not yet posted).
#[tauri::command(async)]
#[specta::specta]
pub fn scan_case(
    session: State<'_, Session>,
    case_id: String,
    pending: Vec<String>,
) -> Result<Vec<TextFinding>, PublicError> {
    session.with(|e| e.scan_case(&parse_case(&case_id)?, &pending))
}

/// One finding acknowledged as not an identifier (`kind` and `text`), or, with `all`, every
/// finding there is now.
#[tauri::command(async)]
#[specta::specta]
pub fn acknowledge(
    session: State<'_, Session>,
    case_id: String,
    kind: Option<FindingKind>,
    text: Option<String>,
    all: bool,
    pending: Vec<String>,
) -> Result<usize, PublicError> {
    session.with(|e| {
        let what = match (all, kind, text) {
            (true, _, _) => Acknowledge::All,
            (false, Some(kind), Some(text)) => Acknowledge::These(vec![(kind, text)]),
            _ => return Err(ClientError::Invalid("say which finding, or all".into())),
        };
        e.acknowledge(&parse_case(&case_id)?, &what, &pending)
    })
}

/// The case's de-identification report (none for a case shared with this profile).
#[tauri::command(async)]
#[specta::specta]
pub fn deid_report(
    session: State<'_, Session>,
    case_id: String,
) -> Result<Option<CaseDeidReport>, PublicError> {
    session.with(|e| e.deid_report(&parse_case(&case_id)?))
}
