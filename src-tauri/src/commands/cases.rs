//! Cases: the sidebar and list, one case, writing and editing, images and their redaction,
//! sharing, comments and polls.

use std::path::PathBuf;

use consilium_client::model::{Attachment, CaseSummary, CommentId, SearchHit};
use consilium_client::model::{AttachmentId, CaseFields, CaseFilter, CaseId, Rendition};
use consilium_client::{
    CasePatch, CaseView, ClientError, PendingImage, PollView, PublicError, RedactRequest,
    Redaction, SidebarEntry,
};
use serde::Serialize;
use tauri::ipc::Response;
use tauri::{AppHandle, Emitter, State};

use crate::session::Session;

pub(crate) fn case_id(id: &str) -> Result<CaseId, ClientError> {
    id.parse()
        .map_err(|_| ClientError::Invalid(format!("'{id}' is not a case id")))
}

fn attachment_id(id: &str) -> Result<AttachmentId, ClientError> {
    id.parse()
        .map_err(|_| ClientError::Invalid(format!("'{id}' is not an image id")))
}

#[tauri::command(async)]
pub fn sidebar(session: State<'_, Session>) -> Result<Vec<SidebarEntry>, PublicError> {
    session.with(|e| e.sidebar())
}

#[tauri::command(async)]
pub fn list_cases(
    session: State<'_, Session>,
    filter: CaseFilter,
) -> Result<Vec<CaseSummary>, PublicError> {
    session.with(|e| e.list_cases(&filter))
}

#[tauri::command(async)]
pub fn search(session: State<'_, Session>, query: String) -> Result<Vec<SearchHit>, PublicError> {
    session.with(|e| e.search(&query))
}

#[tauri::command(async)]
pub fn open_case(session: State<'_, Session>, id: String) -> Result<CaseView, PublicError> {
    session.with(|e| e.open_case(&case_id(&id)?))
}

#[tauri::command(async)]
pub fn create_case(session: State<'_, Session>, fields: CaseFields) -> Result<String, PublicError> {
    session.with(|e| Ok(e.create_case(fields)?.to_string()))
}

#[tauri::command(async)]
pub fn edit_case(
    session: State<'_, Session>,
    id: String,
    patch: CasePatch,
) -> Result<u32, PublicError> {
    session.with_send(|e| e.edit_case(&case_id(&id)?, patch))
}

#[tauri::command(async)]
pub fn resolve_case(
    session: State<'_, Session>,
    id: String,
    outcome: String,
) -> Result<(), PublicError> {
    session.with_send(|e| e.resolve_case(&case_id(&id)?, &outcome))
}

#[derive(Clone, Serialize)]
struct ImportEvent {
    done: usize,
    total: usize,
}

#[tauri::command(async)]
pub fn attach_files(
    app: AppHandle,
    session: State<'_, Session>,
    case: String,
    files: Vec<PathBuf>,
) -> Result<Vec<Attachment>, PublicError> {
    let total = files.len();
    let _ = app.emit("import", ImportEvent { done: 0, total });
    session.with_send(|e| {
        e.attach_files(&case_id(&case)?, &files, &Default::default(), &mut |p| {
            let _ = app.emit(
                "import",
                ImportEvent {
                    done: p.done,
                    total: p.total,
                },
            );
        })
    })
}

/// One image picked in the window (the file chooser hands its bytes, not a path): the raw bytes
/// are the request's body, the case id its `case` header.
#[tauri::command(async)]
pub fn attach_image(
    session: State<'_, Session>,
    request: tauri::ipc::Request<'_>,
) -> Result<Attachment, PublicError> {
    session.with_send(|e| {
        let case = case_id(header(&request, "case")?)?;
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
pub fn choose_frame(
    session: State<'_, Session>,
    request: tauri::ipc::Request<'_>,
) -> Result<Attachment, PublicError> {
    session.with_send(|e| {
        let frame = header(&request, "frame")?
            .parse::<u32>()
            .map_err(|_| ClientError::Invalid("the frame is not a number".into()))?;
        e.choose_frame(
            &case_id(header(&request, "case")?)?,
            &attachment_id(header(&request, "attachment")?)?,
            raw_body(&request)?,
            frame,
        )
    })
}

/// The same for a file dropped on the window (the drop hands its path).
#[tauri::command(async)]
pub fn choose_frame_from_file(
    session: State<'_, Session>,
    case: String,
    attachment: String,
    path: std::path::PathBuf,
    frame: u32,
) -> Result<Attachment, PublicError> {
    session.with_send(|e| {
        e.choose_frame_from_file(&case_id(&case)?, &attachment_id(&attachment)?, &path, frame)
    })
}

/// The cleaned bytes of one rendition, raw (the window makes an object URL of them).
#[tauri::command(async)]
pub fn attachment(
    session: State<'_, Session>,
    case: String,
    attachment: String,
    rendition: String,
) -> Result<Response, PublicError> {
    session.with(|e| {
        let rendition = Rendition::parse(&rendition)
            .ok_or_else(|| ClientError::Invalid(format!("no rendition '{rendition}'")))?;
        let (bytes, _mime) =
            e.attachment_bytes(&case_id(&case)?, &attachment_id(&attachment)?, rendition)?;
        Ok(Response::new(bytes.to_vec()))
    })
}

/// Burns the rectangles the author kept in the editor (proposals as adjusted, and drawn ones);
/// the author saw the whole image there, so it counts as reviewed.
#[tauri::command(async)]
pub fn redact_attachment(
    session: State<'_, Session>,
    case: String,
    attachment: String,
    rects: Vec<Redaction>,
) -> Result<Attachment, PublicError> {
    let request = RedactRequest {
        rects,
        accept_proposals: false,
        reviewed: true,
    };
    session.with(|e| e.redact_attachment(&case_id(&case)?, &attachment_id(&attachment)?, &request))
}

/// The author looked at the image and shares it as it is.
#[tauri::command(async)]
pub fn review_attachment(
    session: State<'_, Session>,
    case: String,
    attachment: String,
) -> Result<Attachment, PublicError> {
    session.with(|e| e.review_attachment(&case_id(&case)?, &attachment_id(&attachment)?))
}

#[tauri::command(async)]
pub fn pending_images(
    session: State<'_, Session>,
    case: String,
) -> Result<Vec<PendingImage>, PublicError> {
    session.with(|e| e.pending_images(&case_id(&case)?))
}

#[tauri::command(async)]
pub fn remove_attachment(
    session: State<'_, Session>,
    case: String,
    attachment: String,
) -> Result<(), PublicError> {
    session.with(|e| e.remove_attachment(&case_id(&case)?, &attachment_id(&attachment)?))
}

#[tauri::command(async)]
pub fn share(session: State<'_, Session>, case: String, circle: String) -> Result<(), PublicError> {
    session.with_send(|e| e.share(&case_id(&case)?, &circle))
}

#[tauri::command(async)]
pub fn comment(
    session: State<'_, Session>,
    case: String,
    body: String,
    reply_to: Option<String>,
) -> Result<String, PublicError> {
    session.with_send(|e| {
        let case = case_id(&case)?;
        let reply_to: Option<CommentId> = match reply_to {
            Some(r) => Some(e.resolve_comment(&case, &r)?),
            None => None,
        };
        Ok(e.comment(&case, &body, reply_to.as_ref())?.to_string())
    })
}

#[tauri::command(async)]
pub fn open_poll(
    session: State<'_, Session>,
    case: String,
    options: Vec<String>,
) -> Result<String, PublicError> {
    session.with_send(|e| Ok(e.open_poll(&case_id(&case)?, &options)?.to_string()))
}

#[tauri::command(async)]
pub fn vote(
    session: State<'_, Session>,
    case: String,
    option: String,
) -> Result<PollView, PublicError> {
    session.with_send(|e| e.vote(&case_id(&case)?, &option))
}
