use super::*;
use crate::sync::receive::apply_log;
use consilium_groups::{Identity, make_key_packages, migrate};
use consilium_model::app::{CaseShared, CommentPosted};
use consilium_model::{CaseFields, CaseId, CommentId};
use consilium_store::SystemEntropy;
use std::sync::Arc;

fn vault() -> CaseDb {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut db = CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap();
    migrate(db.connection_mut()).unwrap();
    db
}

fn entry(seq: u64, sender: &str, mls: Vec<u8>) -> Entry {
    Entry {
        seq,
        sender: sender.into(),
        message_id: [seq as u8; 16],
        mls,
    }
}

#[test]
fn a_shared_case_and_a_comment_arrive_through_mls_and_tampering_is_recorded() {
    let (alice, bob) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let (adb, mut bdb) = (vault(), vault());
    let kp = make_key_packages(&Provider::new(bdb.connection()), &bob, 1, false, 3600).unwrap()[0]
        .to_message_bytes()
        .unwrap();
    let pa = Provider::new(adb.connection());
    let mut circle = Circle::create(&pa, &alice).unwrap();
    let gid = circle.id();
    let added = circle.add(&pa, &alice, &[kp]).unwrap();
    circle.confirm(&pa).unwrap();
    Circle::join(
        &Provider::new(bdb.connection()),
        &added.welcome.unwrap(),
        &[alice.public_key()],
    )
    .unwrap();
    // Bob's log starts after the commit that added him (seq 1).
    bdb.logs().advance_cursor(&gid, 1).unwrap();

    let case = CaseId::from_bytes([4; 16]);
    let share = AppMessage::CaseShared(CaseShared {
        case_id: case.clone(),
        revision: 1,
        fields: CaseFields {
            title: "Annular plaque, 6 weeks".into(),
            ..Default::default()
        },
        attachments: vec![],
        shared_at: Timestamp(1),
    });
    let comment = AppMessage::Comment(CommentPosted {
        case_id: case.clone(),
        comment_id: CommentId::from_bytes([5; 16]),
        reply_to: None,
        body: "KOH prep negative".into(),
        created_at: Timestamp(2),
    });
    let sealed_share = circle
        .seal(&pa, alice.signer(), &share.encode().unwrap())
        .unwrap();
    let sealed_comment = circle
        .seal(&pa, alice.signer(), &comment.encode().unwrap())
        .unwrap();
    let mut tampered = sealed_comment.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;

    let log = vec![
        // The relay names senders by their devices.
        entry(1, &alice.device_account_id(), added.commit.clone()),
        // The relay claims the share is Bob's; MLS says it is Alice's.
        entry(2, "0000", sealed_share),
        entry(3, &alice.device_account_id(), tampered),
        entry(4, &alice.device_account_id(), sealed_comment),
    ];
    let mut applier = CircleApplier::new(Timestamp(9));
    let report = apply_log(
        &mut bdb,
        &mut applier,
        &gid,
        &bob.device_account_id(),
        log,
        Timestamp(9),
    )
    .unwrap();
    assert_eq!(
        (report.duplicates, report.applied, report.rejected),
        (1, 2, 1)
    );
    assert_eq!(
        bdb.cases().get(&case).unwrap().fields.title,
        "Annular plaque, 6 weeks"
    );
    assert_eq!(
        bdb.shares().origin(&case).unwrap(),
        Some((gid.clone(), alice.account_id())),
        "the author is who MLS authenticated"
    );
    assert_eq!(
        bdb.comments().of_case(&case).unwrap()[0].body,
        "KOH prep negative"
    );
    assert_eq!(bdb.logs().failures(&gid).unwrap()[0].seq, 3);
    assert_eq!(bdb.logs().cursor(&gid).unwrap(), 4);
    // A member's message at our epoch that does not decrypt is the relay's doing either way
    // (changed bytes, or a fork): the warning says so.
    assert!(matches!(
        applier.events[..],
        [
            Event::CaseReceived { .. },
            Event::ForkSuspected { epoch: 1, .. },
            Event::CommentReceived { .. }
        ]
    ));
}
