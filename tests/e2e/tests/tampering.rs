//! A hostile relay: a flipped byte in an encrypted image, a replayed message, a message from
//! someone outside the circle and plain garbage, all slipped into the circle's log on the
//! relay's disk. Each is detected, recorded and skipped; nothing after them is blocked.

use consilium_client::Event;
use consilium_model::CaseFields;

use crate::support::{Relay, engine, form_circle};

fn largest_file(dir: &std::path::Path) -> std::path::PathBuf {
    consilium_testkit::files_under(dir)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .unwrap()
}

/// Appends a log entry to `group` as the relay would, with the next sequence number.
fn append(db: &rusqlite::Connection, group: &[u8], sender: &[u8], body: &[u8], like_seq: i64) {
    let (epoch, kind, resulting): (i64, i64, i64) = db
        .query_row(
            "SELECT epoch, kind, resulting_epoch FROM messages WHERE seq = ?1 AND group_id = ?2",
            rusqlite::params![like_seq, group],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let seq: i64 = db
        .query_row("SELECT next_seq FROM groups WHERE id = ?1", [group], |r| {
            r.get(0)
        })
        .unwrap();
    let message_id = seq.to_le_bytes().repeat(2);
    // Recent, or the relay's retention would drop it at start-up.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    db.execute(
        "INSERT INTO messages (group_id, seq, message_id, sender, epoch, kind, body, created_at, resulting_epoch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![group, seq, message_id, sender, epoch, kind, body, now, resulting],
    )
    .unwrap();
    db.execute(
        "UPDATE groups SET next_seq = next_seq + 1 WHERE id = ?1",
        [group],
    )
    .unwrap();
}

#[test]
fn tampered_replayed_foreign_and_garbage_messages_are_recorded_and_skipped() {
    let root = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "Dr Ama Boateng", "Rheumatology");
    let mut b = engine(root.path(), "Dr Bo Lindqvist", "Rheumatology");
    let mut mallory = engine(root.path(), "Mallory", "None");
    form_circle(&mut a, &mut [&mut b], "Rheum", &url);
    mallory.create_circle("Elsewhere", &url).unwrap();

    let photo = consilium_testkit::sample("hopper.jpg")
        .unwrap_or_else(|| consilium_testkit::camera_photo(root.path(), "p.jpg", 640, 480, 1, "t"));
    let case = a
        .create_case(CaseFields {
            title: "Symmetric polyarthritis".into(),
            ..Default::default()
        })
        .unwrap();
    let attached = a
        .attach_files(&case, &[photo], &Default::default(), &mut |_| {})
        .unwrap();
    // The portrait's face was proposed for redaction: the author accepts it before sharing.
    let accept = consilium_client::RedactRequest {
        accept_proposals: !attached[0].report.proposals.is_empty(),
        reviewed: true,
        ..Default::default()
    };
    a.redact_attachment(&case, &attached[0].id, &accept)
        .unwrap();
    a.share(&case, "Rheum").unwrap();
    a.sync().unwrap();
    let outside = mallory
        .create_case(CaseFields {
            title: "Not for them".into(),
            ..Default::default()
        })
        .unwrap();
    mallory.share(&outside, "Elsewhere").unwrap();
    mallory.sync().unwrap();

    // The relay, stopped, turns hostile on its own disk.
    relay.kill();
    let blob = largest_file(&relay.data.join("blobs"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&blob, bytes).unwrap();
    let rheum = hex::decode(&a.circles().unwrap()[0].id).unwrap();
    let elsewhere = hex::decode(&mallory.circles().unwrap()[0].id).unwrap();
    let mallory_account = hex::decode(mallory.identity().unwrap().device).unwrap();
    {
        let db = rusqlite::Connection::open(relay.data.join("relay.db")).unwrap();
        let last = |g: &[u8]| -> (i64, Vec<u8>, Vec<u8>) {
            db.query_row(
                "SELECT seq, sender, body FROM messages WHERE group_id = ?1 ORDER BY seq DESC LIMIT 1",
                [g],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        let (share_seq, a_account, share) = last(&rheum);
        let (_, _, foreign) = last(&elsewhere);
        append(&db, &rheum, &a_account, &share, share_seq); // a replay
        append(&db, &rheum, &mallory_account, &foreign, share_seq); // from outside
        append(
            &db,
            &rheum,
            &a_account,
            b"\x00\x01not mls at all",
            share_seq,
        ); // garbage
    }
    relay.restart();
    a.comment(&case, "Rheumatoid factor and anti-CCP pending", None)
        .unwrap();
    let sent = a.sync().unwrap();
    assert_eq!(sent.offline, None, "a restarted relay is reached at once");

    let report = b.sync().unwrap();
    assert_eq!(report.offline, None);
    let rejected: Vec<&Event> = report
        .events
        .iter()
        .filter(|e| matches!(e, Event::MessageRejected { .. }))
        .collect();
    assert_eq!(rejected.len(), 3, "{:?}", report.events);
    assert!(
        report
            .events
            .iter()
            .any(|e| matches!(e, Event::AttachmentRejected { .. })),
        "the flipped byte was caught: {:?}",
        report.events
    );
    let got = b.case(&case).unwrap();
    assert_eq!(got.fields.title, "Symmetric polyarthritis");
    assert!(
        got.attachments.is_empty(),
        "a tampered image is never stored"
    );
    assert_eq!(
        got.comments[0].body, "Rheumatoid factor and anti-CCP pending",
        "what came after the bad entries was applied"
    );
    assert!(b.case(&outside).is_err(), "nothing of the outsider's");
    // Recorded once: another sync neither repeats nor retries them.
    let again = b.sync().unwrap();
    assert_eq!((again.received, again.rejected), (0, 0));
}
