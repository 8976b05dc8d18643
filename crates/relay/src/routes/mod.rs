//! The HTTP API under `/v1/` (documented route by route in `docs/relay-protocol.md`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use consilium_model::codec::from_cbor;
use consilium_model::wire::{
    CommitReport, CreateGroup, Enrolment, GroupStateUpload, KeyPackageUpload, PostBundle,
    RedeemInvitation, RegisterInvitation, ReportAnswer,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Account;
use crate::error::{RelayError, Result};
use crate::framing;
use crate::push;
use crate::store::{MAX_MLS_MESSAGE_BYTES, Wakeup};

mod app_state;
mod authed;
mod blob_stream;
mod blobs;
mod health;

pub(crate) use app_state::AppState;
use app_state::group_id;
use authed::{Authed, OpenToStrangers};

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    from_cbor(body).map_err(|e| RelayError::BadRequest(e.to_string()))
}

/// A CBOR response.
struct Cbor<T>(T);

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        match consilium_model::codec::to_cbor(&self.0) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response(),
            Err(e) => RelayError::Internal(e.to_string()).into_response(),
        }
    }
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health_check))
        .route("/v1/ws", get(push_socket))
        .route("/v1/groups", post(create_group))
        .route(
            "/v1/groups/{group}/messages",
            post(post_message).get(fetch_messages),
        )
        .route("/v1/groups/{group}/cursor", put(set_cursor))
        .route("/v1/groups/{group}/retention", put(set_group_retention))
        .route("/v1/groups/{group}/state", put(adopt_group_state))
        .route("/v1/groups/{group}/reports", post(report_commit))
        .route("/v1/groups/{group}/invitations", post(register_invitation))
        .route(
            "/v1/groups/{group}/blobs/{blob}",
            put(blobs::put_blob).delete(blobs::withdraw_blob),
        )
        .route("/v1/blobs/{blob}", get(blobs::get_blob))
        .route(
            "/v1/invitations/redeem",
            post(redeem_invitation).layer(axum::Extension(OpenToStrangers)),
        )
        .route(
            "/v1/groups/{group}/readmission",
            post(request_readmission).layer(axum::Extension(OpenToStrangers)),
        )
        .route(
            "/v1/accounts/enrol",
            post(enrol).layer(axum::Extension(OpenToStrangers)),
        )
        .route("/v1/key-packages", put(upload_key_packages))
        .route(
            "/v1/accounts/{account}/key-packages/claim",
            post(claim_key_package),
        )
        .route("/v1/account/device", post(move_to_device))
        .route("/v1/mailbox", get(mailbox))
        .route("/v1/mailbox/{id}", delete(ack_mail))
        .with_state(state)
}

/// `GET /v1/health` (see `health`).
async fn health_check(State(s): State<AppState>) -> Response {
    health::answer(s.health.unreachable(&s.store).await)
}

/// The push socket (`push` serves it once upgraded).
async fn push_socket(State(s): State<AppState>, ws: axum::extract::WebSocketUpgrade) -> Response {
    push::upgrade(
        ws,
        s.hub.clone(),
        s.config.origins.clone(),
        s.admitted.clone(),
        s.config.ping_every,
    )
}

async fn create_group(State(s): State<AppState>, a: Authed) -> Result<StatusCode> {
    let req: CreateGroup = decode(&a.body)?;
    let state = checked_state(req.group_id.to_vec(), req.state).await?;
    let now = s.now();
    s.store
        .create_group(&req.group_id, &a.account, state, now)
        .await?;
    Ok(StatusCode::CREATED)
}

/// A member cannot process a commit of the group's log.
async fn report_commit(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<Cbor<ReportAnswer>> {
    let gid = group_id(&group)?;
    let report: CommitReport = decode(&a.body)?;
    let answer = match s.store.report_commit(&gid, &a.account, report.seq).await? {
        crate::store::Reported::Counted => ReportAnswer::Counted,
        crate::store::Reported::Ignored => ReportAnswer::Ignored,
        crate::store::Reported::Undone => {
            tracing::warn!(group = %group, seq = report.seq, "a commit its members could not process was undone");
            ReportAnswer::Undone
        }
    };
    Ok(Cbor(answer))
}

/// A member uploads the public state of a group created before the relay checked commits.
async fn adopt_group_state(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let upload: GroupStateUpload = decode(&a.body)?;
    let state = checked_state(gid.clone(), upload).await?;
    s.store.adopt_group_state(&gid, &a.account, state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verifies an uploaded group state off the async workers: a tree's signatures cost time.
async fn checked_state(
    group_id: Vec<u8>,
    upload: GroupStateUpload,
) -> Result<crate::handshake::GroupState> {
    if upload.group_info.len() + upload.ratchet_tree.len() > MAX_MLS_MESSAGE_BYTES {
        return Err(RelayError::TooLarge(format!(
            "a group's state is at most {MAX_MLS_MESSAGE_BYTES} bytes"
        )));
    }
    tokio::task::spawn_blocking(move || {
        crate::handshake::establish(&group_id, &upload.group_info, &upload.ratchet_tree)
    })
    .await
    .map_err(|e| RelayError::Internal(e.to_string()))?
}

async fn post_message(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<Cbor<consilium_model::wire::Posted>> {
    let gid = group_id(&group)?;
    let bundle: PostBundle = decode(&a.body)?;
    if bundle.message_id.len() != 16 {
        return Err(RelayError::BadRequest("a message id has 16 bytes".into()));
    }
    // Sized before it is parsed: a log entry must fit in a page a client can read.
    if bundle.mls.len() > MAX_MLS_MESSAGE_BYTES {
        return Err(RelayError::TooLarge(format!(
            "an MLS message is at most {MAX_MLS_MESSAGE_BYTES} bytes"
        )));
    }
    let framing = framing::read_group_message(&bundle.mls)?;
    if framing.group_id != gid {
        return Err(RelayError::BadRequest(
            "the message is for another group".into(),
        ));
    }
    for w in &bundle.welcomes {
        if w.mls.len() > crate::store::MAILBOX_ITEM_MAX_BYTES {
            return Err(RelayError::TooLarge(format!(
                "a Welcome is at most {} bytes",
                crate::store::MAILBOX_ITEM_MAX_BYTES
            )));
        }
        framing::check_welcome(&w.mls)?;
    }
    let welcomed: Vec<Account> = bundle
        .welcomes
        .iter()
        .filter_map(|w| Account::parse(&w.account).ok())
        .collect();
    let now = s.now();
    let sender = a.account;
    let accepted = s.store.post(&sender, bundle, framing, now).await?;
    s.tell(vec![
        Wakeup::Revoke(accepted.revoked),
        Wakeup::Group {
            group_id: gid,
            seq: accepted.posted.seq,
            members: accepted.members,
        },
        Wakeup::Mailbox(welcomed),
    ]);
    Ok(Cbor(accepted.posted))
}

#[derive(Debug, serde::Deserialize)]
struct FetchQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    crate::store::MAX_FETCH
}

async fn fetch_messages(
    State(s): State<AppState>,
    Path(group): Path<String>,
    Query(q): Query<FetchQuery>,
    a: Authed,
) -> Result<Cbor<Vec<consilium_model::wire::LogEntry>>> {
    let gid = group_id(&group)?;
    let entries = s
        .blocking(move |st| st.fetch(&a.account, &gid, q.after, q.limit))
        .await?;
    Ok(Cbor(entries))
}

#[derive(Debug, serde::Deserialize)]
struct Cursor {
    seq: u64,
}

async fn set_cursor(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let c: Cursor =
        serde_json::from_slice(&a.body).map_err(|e| RelayError::BadRequest(e.to_string()))?;
    s.store.set_cursor(&a.account, &gid, c.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A circle's admin shortens how long the relay keeps the group's messages and blobs:
/// JSON `{"days": N}` (1 to 3653), or `{"days": null}` for the relay's own.
async fn set_group_retention(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<StatusCode> {
    #[derive(serde::Deserialize)]
    struct Retention {
        days: Option<u32>,
    }
    let gid = group_id(&group)?;
    let r: Retention =
        serde_json::from_slice(&a.body).map_err(|e| RelayError::BadRequest(e.to_string()))?;
    if r.days
        .is_some_and(|d| d == 0 || d > consilium_model::app::MAX_RETENTION_DAYS)
    {
        return Err(RelayError::BadRequest(
            "a retention is 1 to 3653 days".into(),
        ));
    }
    s.blocking(move |st| st.set_group_retention(&a.account, &gid, r.days))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn register_invitation(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let req: RegisterInvitation = decode(&a.body)?;
    s.store
        .register_invitation(&a.account, &gid, &req.token_hash, req.expires_at, s.now())
        .await?;
    Ok(StatusCode::CREATED)
}

async fn redeem_invitation(State(s): State<AppState>, a: Authed) -> Result<StatusCode> {
    let req: RedeemInvitation = decode(&a.body)?;
    framing::check_key_package(&req.key_package)?;
    if req.note.len() > 4096 {
        return Err(RelayError::TooLarge(
            "the note is at most 4096 bytes".into(),
        ));
    }
    // What the admins receive: the joiner's key package and note, without the token.
    let body = consilium_model::codec::to_cbor(&(req.key_package, req.note))
        .map_err(|e| RelayError::Internal(e.to_string()))?;
    let now = s.now();
    let token = req.token;
    let inviter = s
        .store
        .redeem_invitation(&a.account, &token, body, now)
        .await?;
    let inviter: Vec<Account> = inviter.try_into().map(Account).into_iter().collect();
    s.tell(vec![
        Wakeup::Admit(vec![a.account]),
        Wakeup::Mailbox(inviter),
    ]);
    Ok(StatusCode::ACCEPTED)
}

/// A restored profile's new device asks back into a group (`Store::request_readmission`).
async fn request_readmission(
    State(s): State<AppState>,
    Path(group): Path<String>,
    a: Authed,
) -> Result<StatusCode> {
    let gid = group_id(&group)?;
    let req: consilium_model::wire::Readmission = decode(&a.body)?;
    framing::check_key_package(&req.key_package)?;
    let body =
        consilium_model::codec::to_cbor(&(req.key_package.clone(), serde_bytes::ByteBuf::new()))
            .map_err(|e| RelayError::Internal(e.to_string()))?;
    let told = s
        .store
        .request_readmission(&a.account, &gid, body, req.key_package.into_vec(), s.now())
        .await?;
    s.tell(vec![Wakeup::Admit(vec![a.account]), Wakeup::Mailbox(told)]);
    Ok(StatusCode::ACCEPTED)
}

/// A key of before the device split moves to its device key (see `Store::move_to_device`).
async fn move_to_device(State(s): State<AppState>, a: Authed) -> Result<StatusCode> {
    let req: consilium_model::wire::DeviceMove = decode(&a.body)?;
    let device = (s.store).move_to_device(&a.account, &req.certificate, s.now());
    let (new, old) = (device.await?, a.account);
    s.tell(vec![Wakeup::Admit(vec![new]), Wakeup::Revoke(vec![old])]);
    Ok(StatusCode::NO_CONTENT)
}

/// An operator's one-time enrolment code admits the account that redeems it.
async fn enrol(State(s): State<AppState>, a: Authed) -> Result<StatusCode> {
    let req: Enrolment = decode(&a.body)?;
    if req.code.len() > 128 {
        return Err(RelayError::EnrolmentInvalid);
    }
    let code = crate::admission::normalised_code(&req.code);
    s.store.enrol(&a.account, code.as_bytes(), s.now()).await?;
    s.tell(vec![Wakeup::Admit(vec![a.account])]);
    Ok(StatusCode::NO_CONTENT)
}

async fn upload_key_packages(State(s): State<AppState>, a: Authed) -> Result<StatusCode> {
    let req: KeyPackageUpload = decode(&a.body)?;
    if req.packages.is_empty() || req.packages.len() > 100 {
        return Err(RelayError::BadRequest(
            "upload 1 to 100 key packages".into(),
        ));
    }
    let mut packages = Vec::with_capacity(req.packages.len());
    for p in req.packages {
        framing::check_key_package(&p.mls)?;
        packages.push((p.mls.into_vec(), p.last_resort, p.expires_at));
    }
    s.store
        .add_key_packages(&a.account, packages, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
struct ClaimQuery {
    /// The group (hex) the owner asked to join, of which the claimer is a member.
    group: String,
}

async fn claim_key_package(
    State(s): State<AppState>,
    Path(account): Path<String>,
    Query(q): Query<ClaimQuery>,
    a: Authed,
) -> Result<Response> {
    let owner = Account::parse(&account)?;
    let gid = group_id(&q.group)?;
    let now = s.now();
    let bytes = s
        .store
        .claim_key_package(&a.account, &owner, &gid, now)
        .await?;
    Ok(([(header::CONTENT_TYPE, "message/mls")], bytes).into_response())
}

async fn mailbox(
    State(s): State<AppState>,
    a: Authed,
) -> Result<Cbor<Vec<consilium_model::wire::MailboxItem>>> {
    Ok(Cbor(s.blocking(move |st| st.mailbox(&a.account)).await?))
}

async fn ack_mail(State(s): State<AppState>, Path(id): Path<u64>, a: Authed) -> Result<StatusCode> {
    s.store.ack_mail(&a.account, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
