//! A client of the Consilium relay: every request signed with the account's Ed25519 key
//! (timestamp, nonce, body digest), answers decoded, relay errors surfaced with their stable
//! codes, and the push socket opened with a challenge–response.
//!
//! Invariants: knows the relay's wire format (`model::wire`) and nothing of MLS, the vault or
//! the UI; never logs a key or a body.

mod answer;
mod error;
mod key;
mod local;
mod push;
mod trust;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use answer::{ANSWER_MAX_BYTES, ERROR_MAX_BYTES, id_of, read_within};
use consilium_model::Clock;
use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::wire::{
    CommitReport, CreateGroup, Enrolment, GroupStateUpload, HEADER_ACCOUNT, HEADER_BODY_SHA256,
    HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, KeyPackageUpload, LogEntry, MailboxItem,
    PostBundle, Posted, RedeemInvitation, RegisterInvitation, RelayErrorBody, ReportAnswer,
    request_signing_bytes,
};
use ring::rand::SecureRandom;
use serde::de::DeserializeOwned;

pub use answer::{DeviceMove, Malformed, PAGE_MAX_BYTES};
pub use error::{RelayClientError, RelayCode, Result};
pub use key::AccountKey;
pub use local::{local_relay_port, this_user};
pub use push::PushSocket;
pub use trust::spki_sha256;

/// One account's connection to one relay.
#[derive(Clone)]
pub struct RelayClient {
    base: String,
    http: reqwest::Client,
    key: Arc<AccountKey>,
    clock: Arc<dyn Clock>,
    /// Set when a request ran out of patience (shared by the clones): the relay is not asked
    /// again until `try_again`, so one slow relay costs a sync pass one wait, not one per call.
    gave_up: Arc<AtomicBool>,
    /// The port of a relay on this machine, whose listener must be this OS user's.
    local_port: Option<u16>,
    /// The TLS configuration (system roots, or the pinned key) the push socket uses too.
    tls: Arc<rustls::ClientConfig>,
    /// Raised by the certificate check when a pinned relay presented another key.
    /// Why the relay's certificate was last refused (see `trust`).
    verdict: trust::Verdict,
}

/// How long a relay is waited for. A relay that trickles its answer is not silent, so besides
/// the silence allowed between bytes, each request has a whole-time limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patience {
    pub connect: Duration,
    /// Silence allowed while waiting for the answer or between its bytes.
    pub silence: Duration,
    /// The whole request, from connecting to the answer's last byte (a 60 MiB image included).
    pub whole: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            connect: Duration::from_secs(10),
            silence: Duration::from_secs(20),
            whole: Duration::from_secs(120),
        }
    }
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base", &self.base)
            .field("account", &self.key.account_id())
            .finish_non_exhaustive()
    }
}

impl RelayClient {
    /// A client for the relay at `base` (`http://…` or `https://…`, no trailing slash needed).
    pub fn new(base: &str, key: Arc<AccountKey>, clock: Arc<dyn Clock>) -> Result<RelayClient> {
        RelayClient::with(base, key, clock, Patience::default(), None)
    }

    /// A client that waits for the relay as `patience` says and, given `pin` (the SHA-256 of a
    /// self-hosted relay's public key, from its invite code), takes only a certificate with that
    /// key; without one, only a certificate the system's roots vouch for (see `trust`).
    pub fn with(
        base: &str,
        key: Arc<AccountKey>,
        clock: Arc<dyn Clock>,
        patience: Patience,
        pin: Option<[u8; 32]>,
    ) -> Result<RelayClient> {
        // The one transport policy (https, or plain http to this machine; no user part),
        // applied here too, whatever the caller checked.
        let address = consilium_model::RelayAddress::parse(base)
            .map_err(|e| RelayClientError::BadAddress(e.to_string()))?;
        let base = base.trim().trim_end_matches('/').to_string();
        let (tls, verdict) = trust::client_config(pin)
            .map_err(|e| RelayClientError::Unreachable(format!("setting up TLS: {e}")))?;
        let tls = Arc::new(tls);
        let http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            // A redirect would carry the signed headers to wherever the relay points: none is
            // followed (the answer is refused as it is).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(patience.connect)
            // A relay that stops answering is given up on after `silence` (the sync reports it
            // offline and retries); one that trickles, after `whole`.
            .read_timeout(patience.silence)
            .timeout(patience.whole)
            .build()
            .map_err(|e| RelayClientError::Unreachable(e.to_string()))?;
        Ok(RelayClient {
            base,
            http,
            key,
            clock,
            gave_up: Arc::default(),
            local_port: address.local_port(),
            tls,
            verdict,
        })
    }

    /// A transport failure caused by the relay's certificate says so: a pinned relay presenting
    /// another key, or a certificate no authority vouches for. The verdict is cleared before
    /// each request, so a later failure of the real relay reads as itself.
    fn judged(&self, e: RelayClientError) -> RelayClientError {
        let relay = self.base.clone();
        match self.verdict.refusal() {
            Some(trust::Refusal::KeyChanged) => RelayClientError::KeyChanged { relay },
            Some(trust::Refusal::NotVouched(why)) => RelayClientError::NotVouched { relay, why },
            None => e,
        }
    }

    /// A relay on this machine is spoken to only when it is this OS user's (see `local`).
    fn check_local_owner(&self) -> Result<()> {
        match self.local_port.and_then(local::listener_of_another_user) {
            Some(uid) => Err(RelayClientError::BadAddress(format!(
                "the relay at {} is run by another user of this computer (uid {uid}): \
                 Consilium never speaks to it; use your own local relay or one on the network",
                self.base
            ))),
            None => Ok(()),
        }
    }

    /// Whether a request ran out of patience since the last `try_again`.
    pub fn given_up(&self) -> bool {
        self.gave_up.load(Ordering::SeqCst)
    }

    /// Asks the relay again from now on, after it ran out of patience.
    pub fn try_again(&self) {
        self.gave_up.store(false, Ordering::SeqCst);
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// This account's id on the relay (hex of its public key).
    pub fn account_id(&self) -> String {
        self.key.account_id()
    }

    /// One signed request, with a fresh nonce and timestamp.
    fn signed(
        &self,
        method: &reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder> {
        let mut nonce = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| RelayClientError::Unreachable("no randomness".into()))?;
        let nonce = hex::encode(nonce);
        let timestamp = self.clock.now().0;
        let digest = ring::digest::digest(&ring::digest::SHA256, body);
        let mut sha = [0u8; 32];
        sha.copy_from_slice(digest.as_ref());
        let origin = consilium_model::wire::origin(&self.base);
        let signed = request_signing_bytes(&origin, method.as_str(), path, timestamp, &nonce, &sha);
        let signature = self.key.sign(&signed);
        Ok(self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(HEADER_ACCOUNT, self.key.account_id())
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, hex::encode(signature))
            .header(HEADER_BODY_SHA256, hex::encode(sha))
            .body(body.to_vec()))
    }

    /// Sends one signed request and returns the answer's body (at most `ANSWER_MAX_BYTES`), or
    /// the relay's error.
    async fn send(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        self.send_within(method, path, body, ANSWER_MAX_BYTES).await
    }

    /// Sends one signed request and returns the answer's body, read only up to `limit` bytes
    /// (a longer answer is refused before it costs more), or the relay's error. Not sent to a
    /// relay that ran out of patience in this pass, nor to another user's relay on this machine.
    async fn send_within(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<u8>> {
        if self.given_up() {
            return Err(RelayClientError::Unreachable(
                "the relay ran out of time earlier in this sync".into(),
            ));
        }
        self.check_local_owner()?;
        self.verdict.clear();
        let answer = self.answer_within(method, path, body, limit).await;
        if matches!(answer, Err(RelayClientError::Timeout)) {
            self.gave_up.store(true, Ordering::SeqCst);
        }
        answer.map_err(|e| self.judged(e))
    }

    /// One request and its answer. A request that could not be sent at all (a kept-alive
    /// connection the relay closed when it restarted) is sent once more on a new connection.
    async fn answer_within(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let answer = match self.signed(&method, path, &body)?.send().await {
            Err(e) if !e.is_timeout() && (e.is_request() || e.is_connect()) => {
                self.signed(&method, path, &body)?.send().await
            }
            other => other,
        }
        .map_err(RelayClientError::from_transport)?;
        let status = answer.status();
        if status.is_redirection() {
            return Err(RelayClientError::BadAnswer(format!(
                "the relay redirected the request (HTTP {status}); relays are never followed elsewhere"
            )));
        }
        // An error's body is a short JSON object: it gets a small bound whatever the route's.
        let limit = if status.is_success() {
            limit
        } else {
            ERROR_MAX_BYTES
        };
        let bytes = read_within(answer, limit).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        let body: RelayErrorBody =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| RelayErrorBody {
                code: String::new(),
                message: format!("HTTP {status}"),
                current_epoch: None,
            });
        Err(RelayClientError::Refused {
            status: status.as_u16(),
            code: RelayCode::parse(&body.code),
            message: body.message,
            current_epoch: body.current_epoch,
        })
    }

    /// A list answer (a log page, a mailbox page) decoded item by item: one that is not a `T`
    /// is returned as `Malformed`, with its id when it has one, and the others stand.
    async fn items<T: DeserializeOwned>(
        &self,
        path: &str,
        id_field: &str,
    ) -> Result<Vec<std::result::Result<T, Malformed>>> {
        let bytes = self
            .send_within(reqwest::Method::GET, path, vec![], PAGE_MAX_BYTES)
            .await?;
        let list: Vec<ciborium::Value> = ciborium::from_reader(&bytes[..]).map_err(|e| {
            RelayClientError::BadAnswer(format!("the answer is not a list of items: {e}"))
        })?;
        Ok(list
            .into_iter()
            .map(|value| {
                let id = id_of(&value, id_field);
                value.deserialized::<T>().map_err(|e| Malformed {
                    id,
                    reason: e.to_string(),
                })
            })
            .collect())
    }

    async fn cbor<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T> {
        let bytes = self.send(method, path, body).await?;
        from_cbor(&bytes).map_err(|e| RelayClientError::BadAnswer(e.to_string()))
    }

    /// `GET /v1/health`, unauthenticated.
    pub async fn health(&self) -> Result<()> {
        self.check_local_owner()?;
        self.verdict.clear();
        let answer = self
            .http
            .get(format!("{}/v1/health", self.base))
            .send()
            .await
            .map_err(|e| self.judged(RelayClientError::from_transport(e)))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(RelayClientError::BadAnswer(format!(
                "health: HTTP {}",
                answer.status()
            )))
        }
    }

    /// Creates a group on the relay from its public state (see [`GroupStateUpload`]).
    pub async fn create_group(&self, group_id: &[u8], state: GroupStateUpload) -> Result<()> {
        let body = encode(&CreateGroup {
            group_id: serde_bytes::ByteBuf::from(group_id.to_vec()),
            state,
        })?;
        self.send(reqwest::Method::POST, "/v1/groups", body)
            .await
            .map(drop)
    }

    /// Tells the relay this member cannot process the commit at `seq` of the group's log.
    pub async fn report_commit(&self, group_id: &[u8], seq: u64) -> Result<ReportAnswer> {
        let path = format!("/v1/groups/{}/reports", hex::encode(group_id));
        self.cbor(reqwest::Method::POST, &path, encode(&CommitReport { seq })?)
            .await
    }

    /// Gives the relay the public state of a group created before it checked commits; `conflict`
    /// means another member did already.
    pub async fn upload_group_state(
        &self,
        group_id: &[u8],
        state: &GroupStateUpload,
    ) -> Result<()> {
        let path = format!("/v1/groups/{}/state", hex::encode(group_id));
        self.send(reqwest::Method::PUT, &path, encode(state)?)
            .await
            .map(drop)
    }

    /// Posts one message (a commit with its Welcomes and routing hints, or any other message).
    pub async fn post(&self, group_id: &[u8], bundle: &PostBundle) -> Result<Posted> {
        let path = format!("/v1/groups/{}/messages", hex::encode(group_id));
        self.cbor(reqwest::Method::POST, &path, encode(bundle)?)
            .await
    }

    /// The group's log after `after`, at most `limit` entries, each decoded alone.
    pub async fn fetch(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u64,
    ) -> Result<Vec<std::result::Result<LogEntry, Malformed>>> {
        let path = format!(
            "/v1/groups/{}/messages?after={after}&limit={limit}",
            hex::encode(group_id)
        );
        self.items(&path, "seq").await
    }

    /// Tells the relay this account has read the group up to `seq`.
    pub async fn set_cursor(&self, group_id: &[u8], seq: u64) -> Result<()> {
        let path = format!("/v1/groups/{}/cursor", hex::encode(group_id));
        let body = serde_json::to_vec(&serde_json::json!({ "seq": seq }))
            .map_err(|e| RelayClientError::BadAnswer(e.to_string()))?;
        self.send(reqwest::Method::PUT, &path, body).await.map(drop)
    }

    /// Shortens how long the relay keeps the group's messages and blobs to `days` (`None`: the
    /// relay's own). Only an admin of the group may.
    pub async fn set_group_retention(&self, group_id: &[u8], days: Option<u32>) -> Result<()> {
        let path = format!("/v1/groups/{}/retention", hex::encode(group_id));
        let body = serde_json::to_vec(&serde_json::json!({ "days": days }))
            .map_err(|e| RelayClientError::BadAnswer(e.to_string()))?;
        self.send(reqwest::Method::PUT, &path, body).await.map(drop)
    }

    /// Uploads a blob (its id is the SHA-256 of `bytes`, computed here) for a group.
    pub async fn put_blob(&self, group_id: &[u8], bytes: Vec<u8>) -> Result<[u8; 32]> {
        let mut id = [0u8; 32];
        id.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
        let path = format!(
            "/v1/groups/{}/blobs/{}",
            hex::encode(group_id),
            hex::encode(id)
        );
        self.send(reqwest::Method::PUT, &path, bytes).await?;
        Ok(id)
    }

    /// Withdraws a blob this account uploaded to `group_id` (its case was retracted). A relay
    /// that no longer has it answers `not_found`.
    pub async fn withdraw_blob(&self, group_id: &[u8], id: &[u8; 32]) -> Result<()> {
        let path = format!(
            "/v1/groups/{}/blobs/{}",
            hex::encode(group_id),
            hex::encode(id)
        );
        self.send(reqwest::Method::DELETE, &path, vec![]).await?;
        Ok(())
    }

    /// Downloads a blob of at most `max_bytes` and checks it against its id.
    pub async fn get_blob(&self, id: &[u8; 32], max_bytes: usize) -> Result<Vec<u8>> {
        let path = format!("/v1/blobs/{}", hex::encode(id));
        let bytes = self
            .send_within(reqwest::Method::GET, &path, vec![], max_bytes)
            .await?;
        if ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref() != id {
            return Err(RelayClientError::BadAnswer(
                "the blob does not match its id".into(),
            ));
        }
        Ok(bytes)
    }

    pub async fn upload_key_packages(&self, upload: &KeyPackageUpload) -> Result<()> {
        self.send(reqwest::Method::PUT, "/v1/key-packages", encode(upload)?)
            .await
            .map(drop)
    }

    /// One key package of `account` (hex), handed out once (or its last-resort one).
    /// A fresh key package of `account`, who asked to join `group_id` (of which this account
    /// is a member); anyone else is told there is none.
    pub async fn claim_key_package(&self, account: &str, group_id: &[u8]) -> Result<Vec<u8>> {
        let path = format!(
            "/v1/accounts/{account}/key-packages/claim?group={}",
            hex::encode(group_id)
        );
        self.send(reqwest::Method::POST, &path, vec![]).await
    }

    /// Redeems the relay operator's one-time enrolment code: this account is admitted.
    pub async fn enrol(&self, code: &str) -> Result<()> {
        let body = encode(&Enrolment {
            code: code.to_string(),
        })?;
        self.send(reqwest::Method::POST, "/v1/accounts/enrol", body)
            .await
            .map(drop)
    }

    pub async fn register_invitation(
        &self,
        group_id: &[u8],
        invitation: &RegisterInvitation,
    ) -> Result<()> {
        let path = format!("/v1/groups/{}/invitations", hex::encode(group_id));
        self.send(reqwest::Method::POST, &path, encode(invitation)?)
            .await
            .map(drop)
    }

    pub async fn redeem_invitation(&self, redeem: &RedeemInvitation) -> Result<()> {
        self.send(
            reqwest::Method::POST,
            "/v1/invitations/redeem",
            encode(redeem)?,
        )
        .await
        .map(drop)
    }

    /// Asks `group` to let this new device of a member back in (a restored profile).
    pub async fn request_readmission(&self, group: &[u8], key_package: &[u8]) -> Result<()> {
        let path = format!("/v1/groups/{}/readmission", hex::encode(group));
        let body = encode(&consilium_model::wire::Readmission {
            key_package: serde_bytes::ByteBuf::from(key_package.to_vec()),
        })?;
        self.send(reqwest::Method::POST, &path, body)
            .await
            .map(drop)
    }

    /// Moves this account, a key of before the device split, to the device key `certificate`
    /// (its key signed) names: from then on the relay knows the profile by the device key and
    /// refuses this one.
    pub async fn move_to_device(&self, certificate: &[u8]) -> Result<DeviceMove> {
        let body = encode(&consilium_model::wire::DeviceMove {
            certificate: serde_bytes::ByteBuf::from(certificate.to_vec()),
        })?;
        match self
            .send(reqwest::Method::POST, "/v1/account/device", body)
            .await
        {
            Ok(_) => Ok(DeviceMove::Done),
            // Moved already (an answer lost on the way), or nothing of this key is here.
            Err(e)
                if matches!(
                    e.code(),
                    Some(RelayCode::DeviceRevoked | RelayCode::NotAdmitted)
                ) =>
            {
                Ok(DeviceMove::Done)
            }
            Err(RelayClientError::Refused {
                status: 404 | 405, ..
            }) => Ok(DeviceMove::RelayOfBefore),
            Err(e) => Err(e),
        }
    }

    /// The oldest items of this account's mailbox, each decoded alone.
    pub async fn mailbox(&self) -> Result<Vec<std::result::Result<MailboxItem, Malformed>>> {
        self.items("/v1/mailbox", "id").await
    }

    pub async fn ack_mail(&self, id: u64) -> Result<()> {
        let path = format!("/v1/mailbox/{id}");
        self.send(reqwest::Method::DELETE, &path, vec![])
            .await
            .map(drop)
    }

    /// Opens the push socket and answers its challenge.
    pub async fn push_socket(&self) -> Result<PushSocket> {
        self.check_local_owner()?;
        self.verdict.clear();
        PushSocket::connect(&self.base, &self.key, self.tls.clone())
            .await
            .map_err(|e| self.judged(e))
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    to_cbor(value).map_err(|e| RelayClientError::BadAnswer(e.to_string()))
}
