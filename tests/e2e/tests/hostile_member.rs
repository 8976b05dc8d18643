//! A hostile member: a commit the relay checks and takes (it is signed by a member's leaf) but
//! that no other member can process, because what needs the epoch's secrets is broken. The
//! others report it by themselves as they sync; the relay undoes it; the circle goes on.

use consilium_model::CaseFields;

use crate::support::{Relay, engine, form_circle};

/// Bob rotates his keys; his commit, as the relay holds it, then gets a broken confirmation tag
/// (outside its signature: the relay cannot tell, and took the same bytes from a hostile Bob).
/// Chen and Dara reject it and report it on their next sync, which is not enough while Ama, the
/// circle's admin, has not; her report undoes it, and the case she shares afterwards reaches
/// Chen.
#[test]
fn a_commit_no_member_can_process_is_reported_undone_and_the_circle_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "Dr Ama Boateng", "Rheumatology");
    let mut b = engine(root.path(), "Dr Bo Lindqvist", "Rheumatology");
    let mut c = engine(root.path(), "Dr Chen Wei", "Rheumatology");
    let mut d = engine(root.path(), "Dr Dara Okafor", "Rheumatology");
    form_circle(&mut a, &mut [&mut b, &mut c, &mut d], "Rheum", &url);

    b.rotate_keys("Rheum").unwrap();
    assert_eq!(b.sync().unwrap().queued, 0, "the relay took Bob's commit");
    relay.kill();
    let rheum = hex::decode(&a.circles().unwrap()[0].id).unwrap();
    let poisoned_seq = {
        let db = rusqlite::Connection::open(relay.data.join("relay.db")).unwrap();
        let (seq, mut body): (i64, Vec<u8>) = db
            .query_row(
                "SELECT seq, body FROM messages WHERE group_id = ?1 ORDER BY seq DESC LIMIT 1",
                [&rheum],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        // The confirmation tag's last byte, before the membership tag (32 bytes and a length).
        let at = body.len() - 33 - 1;
        body[at] ^= 0x01;
        db.execute(
            "UPDATE messages SET body = ?2 WHERE group_id = ?1 AND seq = ?3",
            rusqlite::params![rheum, body, seq],
        )
        .unwrap();
        seq
    };
    relay.restart();

    for member in [&mut c, &mut d] {
        let report = member.sync().unwrap();
        assert_eq!(report.offline, None);
        assert_eq!(report.rejected, 1, "{:?}", report.events);
    }
    // Two members' reports, no admin's: the commit stands.
    let held = || -> bool {
        let db = rusqlite::Connection::open(relay.data.join("relay.db")).unwrap();
        db.query_row(
            "SELECT count(*) FROM messages WHERE group_id = ?1 AND seq = ?2",
            rusqlite::params![rheum, poisoned_seq],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    };
    assert!(held(), "not undone without an admin's report");
    let report = a.sync().unwrap();
    assert_eq!(report.rejected, 1, "{:?}", report.events);
    assert!(!held(), "undone once the admin reported it");
    let case = a
        .create_case(CaseFields {
            title: "Erosive hand osteoarthritis".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Rheum").unwrap();
    let sent = a.sync().unwrap();
    assert_eq!((sent.queued, sent.failed.len()), (0, 0), "{sent:?}");
    c.sync().unwrap();
    assert_eq!(
        c.case(&case).unwrap().fields.title,
        "Erosive hand osteoarthritis"
    );
}
