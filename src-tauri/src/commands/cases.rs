//! Cases: the sidebar and list, one case, writing and editing, images and their redaction,
//! sharing, comments and polls.

use std::path::PathBuf;

use consilium_client::model::{Attachment, CaseSummary, CommentId, SearchHit};
use consilium_client::model::{AttachmentId, CaseFields, CaseFilter, CaseId, Rendition};
use consilium_client::{
    CasePatch, CaseView, ClientError, PendingImage, PollView, PublicError, RedactRequest,
    Redaction, RetractedCase, SidebarEntry,
};
use serde::Deserialize;
use tauri::ipc::Response;
use tauri::{AppHandle, State};
use tauri_specta::Event as _;

use super::events::ImportProgress;
use super::raw::{RawRequest, RawResponse};
use crate::session::Session;

/// A rectangle to burn into an image, in pixels of the stored image.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl From<Rect> for Redaction {
    fn from(r: Rect) -> Redaction {
        Redaction {
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
        }
    }
}

pub(crate) fn parse_case(id: &str) -> Result<CaseId, ClientError> {
    id.parse()
        .map_err(|_| ClientError::Invalid(format!("'{id}' is not a case id")))
}

fn parse_attachment(id: &str) -> Result<AttachmentId, ClientError> {
    id.parse()
        .map_err(|_| ClientError::Invalid(format!("'{id}' is not an image id")))
}

#[tauri::command(async)]
#[specta::specta]
pub fn sidebar(session: State<'_, Session>) -> Result<Vec<SidebarEntry>, PublicError> {
    session.with(|e| e.sidebar())
}

#[tauri::command(async)]
#[specta::specta]
pub fn list_cases(
    session: State<'_, Session>,
    filter: CaseFilter,
) -> Result<Vec<CaseSummary>, PublicError> {
    session.with(|e| e.list_cases(&filter))
}

#[tauri::command(async)]
#[specta::specta]
pub fn search(session: State<'_, Session>, query: String) -> Result<Vec<SearchHit>, PublicError> {
    session.with(|e| e.search(&query))
}

#[tauri::command(async)]
#[specta::specta]
pub fn open_case(session: State<'_, Session>, id: String) -> Result<CaseView, PublicError> {
    session.with(|e| e.open_case(&parse_case(&id)?))
}

#[tauri::command(async)]
#[specta::specta]
pub fn create_case(session: State<'_, Session>, fields: CaseFields) -> Result<String, PublicError> {
    session.with(|e| Ok(e.create_case(fields)?.to_string()))
}

#[tauri::command(async)]
#[specta::specta]
pub fn edit_case(
    session: State<'_, Session>,
    id: String,
    patch: CasePatch,
) -> Result<u32, PublicError> {
    session.with_send(|e| e.edit_case(&parse_case(&id)?, patch))
}

#[tauri::command(async)]
#[specta::specta]
pub fn resolve_case(
    session: State<'_, Session>,
    id: String,
    outcome: String,
) -> Result<(), PublicError> {
    session.with_send(|e| e.resolve_case(&parse_case(&id)?, &outcome))
}

/// The cases retracted by their authors: who and when, nothing of their content.
#[tauri::command(async)]
#[specta::specta]
pub fn retracted_cases(session: State<'_, Session>) -> Result<Vec<RetractedCase>, PublicError> {
    session.with(|e| e.retracted_cases())
}

/// Erases the case from this laptop with everything it holds; colleagues keep their copies.
#[tauri::command(async)]
#[specta::specta]
pub fn delete_case(session: State<'_, Session>, id: String) -> Result<(), PublicError> {
    session.with_send(|e| e.delete_case(&parse_case(&id)?))
}

/// Withdraws an own shared case from every circle it went to (erased on each colleague's
/// laptop as it syncs, its images from the relay) and erases it here; the number of circles.
#[tauri::command(async)]
#[specta::specta]
pub fn retract_case(session: State<'_, Session>, id: String) -> Result<u32, PublicError> {
    session.with_send(|e| {
        let told = e.retract_case(&parse_case(&id)?)?;
        Ok(u32::try_from(told).unwrap_or(u32::MAX))
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn attach_files(
    app: AppHandle,
    session: State<'_, Session>,
    case_id: String,
    files: Vec<PathBuf>,
) -> Result<Vec<Attachment>, PublicError> {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let total = count(files.len());
    let _ = ImportProgress { done: 0, total }.emit(&app);
    session.with_send(|e| {
        e.attach_files(
            &parse_case(&case_id)?,
            &files,
            &Default::default(),
            &mut |p| {
                let _ = ImportProgress {
                    done: count(p.done),
                    total: count(p.total),
                }
                .emit(&app);
            },
        )
    })
}

/// One image picked in the window (the file chooser hands its bytes, not a path): the raw bytes
/// are the request's body, the case id its `case` header.
#[tauri::command(async)]
#[specta::specta]
pub fn attach_image(
    session: State<'_, Session>,
    request: RawRequest<'_>,
) -> Result<Attachment, PublicError> {
    let request = request.0;
    session.with_send(|e| {
        let case = parse_case(header(&request, "case")?)?;
        e.attach_bytes(&case, raw_body(&request)?, &Default::default())
    })
}

/// A header of a raw-body request (the window sends ids and numbers beside the bytes).
fn header<'r>(request: &'r tauri::ipc::Request<'_>, name: &str) -> Result<&'r str, ClientError> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ClientError::Invalid(format!("no {name} given with the file")))
}

/// The bytes of a raw-body request.
fn raw_body<'r>(request: &'r tauri::ipc::Request<'_>) -> Result<&'r [u8], ClientError> {
    match request.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => Ok(bytes),
        _ => Err(ClientError::Invalid(
            "the file arrived in the wrong form".into(),
        )),
    }
}

/// Another frame of a multi-frame DICOM file in place of the image that came from it: the file's
/// bytes are the body; `case`, `attachment` and `frame` (0-based) are headers.
#[tauri::command(async)]
#[specta::specta]
pub fn choose_frame(
    session: State<'_, Session>,
    request: RawRequest<'_>,
) -> Result<Attachment, PublicError> {
    let request = request.0;
    session.with_send(|e| {
        let frame = header(&request, "frame")?
            .parse::<u32>()
            .map_err(|_| ClientError::Invalid("the frame is not a number".into()))?;
        e.choose_frame(
            &parse_case(header(&request, "case")?)?,
            &parse_attachment(header(&request, "attachment")?)?,
            raw_body(&request)?,
            frame,
        )
    })
}

/// The same for a file dropped on the window (the drop hands its path).
#[tauri::command(async)]
#[specta::specta]
pub fn choose_frame_from_file(
    session: State<'_, Session>,
    case_id: String,
    attachment: String,
    path: std::path::PathBuf,
    frame: u32,
) -> Result<Attachment, PublicError> {
    session.with_send(|e| {
        e.choose_frame_from_file(
            &parse_case(&case_id)?,
            &parse_attachment(&attachment)?,
            &path,
            frame,
        )
    })
}

/// The cleaned bytes of one rendition, raw (the window makes an object URL of them).
#[tauri::command(async)]
#[specta::specta]
pub fn attachment(
    session: State<'_, Session>,
    case_id: String,
    attachment: String,
    rendition: Rendition,
) -> Result<RawResponse, PublicError> {
    session.with(|e| {
        let (bytes, _mime) = e.attachment_bytes(
            &parse_case(&case_id)?,
            &parse_attachment(&attachment)?,
            rendition,
        )?;
        Ok(RawResponse(Response::new(bytes.to_vec())))
    })
}

/// Burns the rectangles the author kept in the editor (proposals as adjusted, and drawn ones);
/// the author saw the whole image there, so it counts as reviewed.
#[tauri::command(async)]
#[specta::specta]
pub fn redact_attachment(
    session: State<'_, Session>,
    case_id: String,
    attachment: String,
    rects: Vec<Rect>,
) -> Result<Attachment, PublicError> {
    let request = RedactRequest {
        rects: rects.into_iter().map(Redaction::from).collect(),
        accept_proposals: false,
        reviewed: true,
    };
    session.with(|e| {
        e.redact_attachment(
            &parse_case(&case_id)?,
            &parse_attachment(&attachment)?,
            &request,
        )
    })
}

/// The author looked at the image and shares it as it is.
#[tauri::command(async)]
#[specta::specta]
pub fn review_attachment(
    session: State<'_, Session>,
    case_id: String,
    attachment: String,
) -> Result<Attachment, PublicError> {
    session.with(|e| e.review_attachment(&parse_case(&case_id)?, &parse_attachment(&attachment)?))
}

#[tauri::command(async)]
#[specta::specta]
pub fn pending_images(
    session: State<'_, Session>,
    case_id: String,
) -> Result<Vec<PendingImage>, PublicError> {
    session.with(|e| e.pending_images(&parse_case(&case_id)?))
}

#[tauri::command(async)]
#[specta::specta]
pub fn remove_attachment(
    session: State<'_, Session>,
    case_id: String,
    attachment: String,
) -> Result<(), PublicError> {
    session.with(|e| e.remove_attachment(&parse_case(&case_id)?, &parse_attachment(&attachment)?))
}

#[tauri::command(async)]
#[specta::specta]
pub fn share(
    session: State<'_, Session>,
    case_id: String,
    circle: String,
) -> Result<(), PublicError> {
    session.with_send(|e| e.share(&parse_case(&case_id)?, &circle))
}

#[tauri::command(async)]
#[specta::specta]
pub fn comment(
    session: State<'_, Session>,
    case_id: String,
    body: String,
    reply_to: Option<String>,
) -> Result<String, PublicError> {
    session.with_send(|e| {
        let case = parse_case(&case_id)?;
        let reply_to: Option<CommentId> = match reply_to {
            Some(r) => Some(e.resolve_comment(&case, &r)?),
            None => None,
        };
        Ok(e.comment(&case, &body, reply_to.as_ref())?.to_string())
    })
}

#[tauri::command(async)]
#[specta::specta]
pub fn open_poll(
    session: State<'_, Session>,
    case_id: String,
    options: Vec<String>,
) -> Result<String, PublicError> {
    session.with_send(|e| Ok(e.open_poll(&parse_case(&case_id)?, &options)?.to_string()))
}

#[tauri::command(async)]
#[specta::specta]
pub fn vote(
    session: State<'_, Session>,
    case_id: String,
    option: String,
) -> Result<PollView, PublicError> {
    session.with_send(|e| e.vote(&parse_case(&case_id)?, &option))
}
