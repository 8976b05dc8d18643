//! A hostile member built from the engine's parts: its own identity, an MLS group state in a
//! plain database, and a relay client. It joins a circle the honest way (an invite, approved
//! by the admin), then sends whatever MLS lets a member send: any application message, any blob.

use std::sync::Arc;

use consilium_client::Engine;
use consilium_client::model::app::{AppMessage, MemberProfile};
use consilium_client::model::codec::to_cbor;
use consilium_client::model::invite::Invite;
use consilium_client::model::wire::{MailboxKind, PostBundle, RedeemInvitation};
use consilium_groups::{Circle, Identity, Provider, join_note, make_key_packages, migrate};
use consilium_relay_client::{AccountKey, RelayClient};
use serde_bytes::ByteBuf;

use crate::support::MovableClock;

pub struct HostileMember {
    identity: Identity,
    conn: rusqlite::Connection,
    client: RelayClient,
    runtime: tokio::runtime::Runtime,
    circle: Vec<u8>,
    sent: u64,
}

impl HostileMember {
    /// Joins `admin`'s circle `name` through an invite the admin makes and approves.
    pub fn join(admin: &mut Engine, name: &str, clock: &Arc<MovableClock>) -> HostileMember {
        let invite = Invite::parse(&admin.invite(name).unwrap()).unwrap();
        let identity = Identity::generate().unwrap();
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let key = Arc::new(AccountKey::from_seed(identity.device_seed()).unwrap());
        let client = RelayClient::new(&invite.relay, key, clock.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let key_package = make_key_packages(&Provider::new(&conn), &identity, 1, false, 3600)
            .unwrap()[0]
            .to_message_bytes()
            .unwrap();
        let note = to_cbor(&MemberProfile {
            name: "Dr Mallory".into(),
            specialty: "Dermatology".into(),
        })
        .unwrap();
        let note = join_note::seal(
            &identity,
            invite.note_key.as_ref().unwrap(),
            &invite.circle,
            &key_package,
            &note,
        )
        .unwrap();
        runtime
            .block_on(client.redeem_invitation(&RedeemInvitation {
                token: invite.token.clone(),
                key_package: ByteBuf::from(key_package),
                note: ByteBuf::from(note),
            }))
            .unwrap();
        admin.sync().unwrap();
        let request = admin
            .join_requests(name)
            .unwrap()
            .into_iter()
            .find(|r| r.account == identity.account_id())
            .unwrap();
        let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number.clone());
        admin.approve(name, request.id, &number).unwrap();
        admin.sync().unwrap();
        let inviter: [u8; 32] = invite.inviter[..].try_into().unwrap();
        let mut joined = None;
        for item in runtime.block_on(client.mailbox()).unwrap() {
            let item = item.unwrap();
            if item.kind == MailboxKind::Welcome {
                let circle = Circle::join(&Provider::new(&conn), &item.body, &[inviter]).unwrap();
                joined = Some(circle.id());
            }
            runtime.block_on(client.ack_mail(item.id)).unwrap();
        }
        HostileMember {
            identity,
            conn,
            client,
            runtime,
            circle: joined.expect("a Welcome"),
            sent: 0,
        }
    }

    /// Seals `message` in the circle and posts it.
    pub fn post(&mut self, message: &AppMessage) {
        let provider = Provider::new(&self.conn);
        let mut circle = Circle::load(&provider, &self.circle).unwrap().unwrap();
        let sealed = circle
            .seal(
                &provider,
                self.identity.signer(),
                &message.encode().unwrap(),
            )
            .unwrap();
        self.post_mls(sealed);
    }

    /// Proposes adding the owner of `key_package` (an MLS message) to the circle, as any member
    /// may: a proposal, for whoever commits next. The relay refuses it (it takes no proposal but
    /// a member's own leaving), so it is smuggled into the relay's log at `relay_data`, as a relay
    /// in league with the member would: what is tested is that every client refuses it too.
    pub fn propose_add(&mut self, key_package: &[u8], relay_data: &std::path::Path) {
        use openmls::prelude::*;
        use tls_codec::{Deserialize as _, Serialize as _};
        let provider = Provider::new(&self.conn);
        let mut group = MlsGroup::load(provider.storage(), &GroupId::from_slice(&self.circle))
            .unwrap()
            .unwrap();
        let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(key_package)
            .unwrap()
            .extract()
        else {
            panic!("not a key package");
        };
        let kp = kp
            .validate(provider.crypto(), ProtocolVersion::Mls10)
            .unwrap();
        let (proposal, _) = group
            .propose_add_member(&provider, self.identity.signer(), &kp)
            .unwrap();
        let proposal = proposal.tls_serialize_detached().unwrap();
        let posted = self.runtime.block_on(self.client.post(
            &self.circle,
            &PostBundle {
                message_id: ByteBuf::from(vec![7u8; 16]),
                mls: ByteBuf::from(proposal.clone()),
                welcomes: vec![],
            },
        ));
        assert!(posted.is_err(), "the relay refuses a proposal to add");
        let db = rusqlite::Connection::open(relay_data.join("relay.db")).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        let (epoch, seq): (i64, i64) = db
            .query_row(
                "SELECT epoch, next_seq FROM groups WHERE id = ?1",
                [&self.circle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        db.execute(
            "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
             VALUES (?1, ?2, ?3, ?4, ?5, 2, ?6, ?7, ?5)",
            rusqlite::params![
                self.circle,
                seq,
                seq.to_le_bytes().repeat(2),
                &self.identity.device_key()[..],
                epoch,
                proposal,
                consilium_client::model::Clock::now(&consilium_client::model::SystemClock).0
            ],
        )
        .unwrap();
        db.execute(
            "UPDATE groups SET next_seq = ?2 WHERE id = ?1",
            rusqlite::params![self.circle, seq + 1],
        )
        .unwrap();
    }

    fn post_mls(&mut self, sealed: Vec<u8>) {
        self.sent += 1;
        let mut message_id = [0u8; 16];
        message_id[..8].copy_from_slice(&self.sent.to_le_bytes());
        message_id[8..].copy_from_slice(&self.identity.public_key()[..8]);
        self.runtime
            .block_on(self.client.post(
                &self.circle,
                &PostBundle {
                    message_id: ByteBuf::from(message_id.to_vec()),
                    mls: ByteBuf::from(sealed),
                    welcomes: vec![],
                },
            ))
            .unwrap();
    }

    /// Uploads `bytes` as a blob of the circle; its id.
    pub fn put_blob(&self, bytes: Vec<u8>) -> [u8; 32] {
        self.runtime
            .block_on(self.client.put_blob(&self.circle, bytes))
            .unwrap()
    }
}

use consilium_client::Event;
use consilium_client::blob_crypto;
use consilium_client::model::app::{AttachmentPointer, BlobKey, CaseShared};
use consilium_client::model::{AttachmentId, CaseFields, CaseId, Rendition, Timestamp};

use crate::support::{bring_in, circle_of_two, start_relay};

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

impl HostileMember {
    /// Seals and uploads `plain`; a pointer to it as `rendition` of `attachment`, declaring
    /// `size` and the `width` × `height` it claims.
    fn rendition(
        &self,
        attachment: &AttachmentId,
        rendition: Rendition,
        plain: &[u8],
        size: u64,
        (width, height): (u32, u32),
    ) -> AttachmentPointer {
        let (key, nonce) = ([5u8; 32], [6u8; 12]);
        let cipher = blob_crypto::seal(plain, &key, &nonce).unwrap();
        let blob_id = self.put_blob(cipher);
        AttachmentPointer {
            attachment_id: attachment.clone(),
            rendition,
            blob_id: ByteBuf::from(blob_id.to_vec()),
            key: BlobKey::new(key),
            nonce: ByteBuf::from(nonce.to_vec()),
            plaintext_sha256: ByteBuf::from(sha256(plain)),
            size,
            mime: if plain.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                "image/jpeg"
            }
            .into(),
            width,
            height,
        }
    }

    /// The three renditions of one image, all `plain`.
    fn image(
        &self,
        attachment: &AttachmentId,
        plain: &[u8],
        size: (u32, u32),
    ) -> Vec<AttachmentPointer> {
        Rendition::ALL
            .into_iter()
            .map(|r| self.rendition(attachment, r, plain, plain.len() as u64, size))
            .collect()
    }

    fn share(&mut self, case: &CaseId, title: &str, attachments: Vec<AttachmentPointer>) {
        self.post(&AppMessage::CaseShared(CaseShared {
            case_id: case.clone(),
            revision: 1,
            fields: CaseFields {
                title: title.into(),
                ..Default::default()
            },
            attachments,
            shared_at: Timestamp(0),
        }));
    }
}

fn small_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([180, 120, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A PNG of 20 000 × 20 000 one-bit pixels: about 50 KB that decode to 400 million pixels.
fn png_bomb() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 20_000, 20_000);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; 2_500];
    for _ in 0..20_000 {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    drop(writer);
    out
}

/// A member's case points at one 8 MiB blob 200 times, repeats a rendition, declares a size
/// that lies, and has a decompression bomb for a thumbnail: each attachment is rejected with an
/// event before it costs more than its own bound, nothing of it is stored, and the member's next
/// image arrives.
#[test]
fn hostile_attachment_pointers_are_rejected_alone_and_the_next_image_arrives() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    let mut m = HostileMember::join(&mut a, "Skin", &clock);
    let jpeg = small_jpeg();

    let ids: Vec<AttachmentId> = (1..=4u8)
        .map(|i| AttachmentId::from_bytes([i; 16]))
        .collect();
    let big = vec![7u8; 8 << 20];
    let one = m.rendition(&ids[0], Rendition::Full, &big, big.len() as u64, (64, 48));
    let mut pointers = vec![one; 200];
    let full = m.rendition(&ids[1], Rendition::Full, &jpeg, jpeg.len() as u64, (64, 48));
    pointers.extend([full.clone(), full]);
    pointers.push(m.rendition(&ids[2], Rendition::Full, &big, 1_000, (64, 48)));
    pointers.extend(
        m.image(&ids[3], &jpeg, (64, 48))
            .into_iter()
            .filter(|p| p.rendition != Rendition::Thumbnail),
    );
    let bomb = png_bomb();
    pointers.push(m.rendition(
        &ids[3],
        Rendition::Thumbnail,
        &bomb,
        bomb.len() as u64,
        (32, 24),
    ));
    m.share(&CaseId::from_bytes([9; 16]), "Hostile", pointers);

    let fine = AttachmentId::from_bytes([8; 16]);
    let image = m.image(&fine, &jpeg, (64, 48));
    m.share(&CaseId::from_bytes([10; 16]), "Honest", image);

    consilium_testkit::reset_peak_resident(std::process::id());
    let before = consilium_testkit::peak_resident_bytes(std::process::id());
    let report = b.sync().unwrap();
    let grown = consilium_testkit::peak_resident_bytes(std::process::id()).saturating_sub(before);
    eprintln!("the sync grew the process's peak by {} MiB", grown >> 20);
    let rejected: Vec<&String> = report
        .events
        .iter()
        .filter_map(|e| match e {
            Event::AttachmentRejected { attachment, .. } => Some(attachment),
            _ => None,
        })
        .collect();
    for id in &ids {
        assert!(
            rejected.contains(&&id.to_string()),
            "{id}: {:?}",
            report.events
        );
    }
    assert!(
        report.events.iter().any(|e| matches!(
            e,
            Event::AttachmentStored { attachment, .. } if *attachment == fine.to_string()
        )),
        "{:?}",
        report.events
    );
    let hostile = b.case(&CaseId::from_bytes([9; 16])).unwrap();
    assert!(
        hostile.attachments.is_empty(),
        "nothing of the rejected images is stored"
    );
    assert!(
        grown < 256 << 20,
        "the sync grew this process by {grown} bytes"
    );
}

/// A member's case points to 51 images: the 50 a case may hold arrive, the 51st is rejected with
/// an event.
#[test]
fn a_case_pointing_to_more_images_than_a_case_holds_brings_only_those_it_may() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    let mut m = HostileMember::join(&mut a, "Skin", &clock);
    let jpeg = small_jpeg();
    let mut pointers = Vec::new();
    for i in 0..51u8 {
        pointers.extend(m.image(&AttachmentId::from_bytes([i; 16]), &jpeg, (64, 48)));
    }
    let case = CaseId::from_bytes([9; 16]);
    m.share(&case, "Many", pointers);

    let report = b.sync().unwrap();
    let rejected = report
        .events
        .iter()
        .filter(|e| matches!(e, Event::AttachmentRejected { .. }))
        .count();
    assert_eq!(rejected, 1, "{:?}", report.events.last());
    assert_eq!(b.case(&case).unwrap().attachments.len(), 50);
}

/// A member who is not an admin proposes adding an outsider. Were the proposal kept, the next
/// member to commit (the admin, whose commits add members) would sign the outsider in; it is
/// refused on receipt instead, and the circle stays as it was.
#[test]
fn a_members_proposal_to_add_an_outsider_is_not_committed_by_others() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    let mut m = HostileMember::join(&mut a, "Skin", &clock);
    b.sync().unwrap();
    let outsider = Identity::generate().unwrap();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    let package = make_key_packages(&Provider::new(&conn), &outsider, 1, false, 3600).unwrap()[0]
        .to_message_bytes()
        .unwrap();
    m.propose_add(&package, &root.path().join("relay"));

    let mut reasons = Vec::new();
    for _ in 0..2 {
        for e in [&mut a, &mut b] {
            for event in e.sync().unwrap().events {
                if let Event::MessageRejected { reason, .. } = event {
                    reasons.push(reason);
                }
            }
        }
    }
    for e in [&a, &b] {
        let members: Vec<String> = e
            .members("Skin")
            .unwrap()
            .into_iter()
            .map(|m| m.account)
            .collect();
        assert_eq!(members.len(), 3, "{members:?}");
        assert!(!members.contains(&outsider.account_id()));
    }
    // Nor is the admin's queue held behind a commit the relay refuses (roles it does not carry):
    // what she shares next reaches the circle.
    let case = a
        .create_case(CaseFields {
            title: "After the proposal".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Skin").unwrap();
    let sent = a.sync().unwrap();
    assert_eq!(
        (sent.queued, sent.failed.len()),
        (0, 0),
        "{:?}",
        sent.failed
    );
    b.sync().unwrap();
    assert!(b.case(&case).is_ok());
    assert!(
        reasons.iter().any(|r| r.contains("only an admin's commit")),
        "{reasons:?}"
    );
}

/// A newcomer takes a colleague's name: both are marked, so neither passes for the other.
#[test]
fn two_members_with_one_name_are_told_apart() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, _b) = circle_of_two(root.path(), &clock, &relay.url(), "Skin");
    // The hostile member calls itself "Dr Mallory"; so does the colleague who joins next.
    let _m = HostileMember::join(&mut a, "Skin", &clock);
    let mut namesake = crate::support::engine_named(root.path(), "c", "dr  MALLORY", &clock);
    bring_in(&mut a, &mut namesake, "Skin");
    a.sync().unwrap();

    let members = a.members("Skin").unwrap();
    let marked: Vec<&str> = members
        .iter()
        .filter(|m| m.name_shared)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(marked.len(), 2, "{members:?}");
    assert!(members.iter().filter(|m| !m.name_shared).count() == 2);
}

/// A newcomer takes a colleague's name in other letters that look the same (Cyrillic "а" for
/// Latin "a", a zero-width space): both are marked.
#[test]
fn two_members_whose_names_only_look_alike_are_told_apart() {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.path().join("relay"), clock.clone(), "127.0.0.1:0");
    let mut a = crate::support::engine_named(root.path(), "a", "Dr Alice Martin", &clock);
    a.create_circle("Skin", &relay.url()).unwrap();
    let mut b = crate::support::engine_named(root.path(), "b", "Dr Bruno Lefevre", &clock);
    bring_in(&mut a, &mut b, "Skin");
    let mut fake =
        crate::support::engine_named(root.path(), "c", "Dr \u{410}lice\u{200b} Martin", &clock);
    bring_in(&mut a, &mut fake, "Skin");
    for p in [&mut a, &mut b, &mut fake] {
        p.sync().unwrap();
    }
    let members = b.members("Skin").unwrap();
    let marked: Vec<&str> = members
        .iter()
        .filter(|m| m.name_shared)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(marked.len(), 2, "{members:?}");
    assert!(marked.contains(&"Dr Alice Martin"), "{members:?}");
}
