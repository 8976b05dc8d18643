//! What an application message from a circle member does to this profile's vault. Called inside
//! the transaction that also holds the MLS step and the cursor (`receive::apply_log`). A message
//! the sender was not allowed to send (revising someone else's case, commenting on a case that is
//! not in the circle) is a `Rejection::Bad`: recorded and skipped, never applied.

use consilium_model::Timestamp;
use consilium_model::app::{AppMessage, CaseRevised, CaseShared};
use consilium_store::{CaseDb, StoreError};

use super::erasure::forget_queued;
use super::receive::Rejection;

fn judged(e: StoreError) -> Rejection {
    match e {
        StoreError::Refused(why) | StoreError::Invalid(why) => Rejection::Bad(why),
        StoreError::NotFound { what, .. } => Rejection::Bad(format!("unknown {what}")),
        other => Rejection::Local(other.into()),
    }
}

/// Applies one decoded application message sent by `sender` (an account id) in `circle`.
pub fn apply_app_message(
    db: &mut CaseDb,
    circle: &[u8],
    sender: &str,
    message: &AppMessage,
    now: Timestamp,
) -> Result<(), Rejection> {
    if let AppMessage::CaseRetracted(m) = message {
        db.shares()
            .retract(circle, sender, &m.case_id, now)
            .map_err(judged)?;
        // What this profile queued about it (a comment not sent yet) keeps nothing of it.
        return forget_queued(db, &m.case_id).map_err(Rejection::Local);
    }
    match message {
        AppMessage::CaseShared(CaseShared {
            case_id,
            revision,
            fields,
            ..
        })
        | AppMessage::CaseRevised(CaseRevised {
            case_id,
            revision,
            fields,
            ..
        }) => db
            .shares()
            .receive_case(circle, sender, case_id, *revision, fields.clone(), now)
            .map(drop),
        AppMessage::CaseResolved(m) => match db.shares().origin(&m.case_id).map_err(judged)? {
            Some((c, a)) if c == circle && a == sender => {
                db.cases().resolve(&m.case_id, &m.outcome, now)
            }
            _ => Err(StoreError::Refused(
                "only the author may resolve a case".into(),
            )),
        },
        // Applied above, with the outbox.
        AppMessage::CaseRetracted(_) => Ok(()),
        AppMessage::Comment(m) => db.shares().receive_comment(circle, sender, m).map(drop),
        AppMessage::Poll(m) => {
            db.polls()
                .open(Some(circle), sender, &m.case_id, &m.poll_id, &m.options)
        }
        AppMessage::Vote(m) => db
            .polls()
            .cast_vote(Some(circle), sender, &m.poll_id, m.option),
        AppMessage::MemberProfile(p) => {
            db.circles()
                .set_member_profile(circle, sender, &p.name, &p.specialty)
        }
        // The sender's role was checked with the group (`circle_apply`).
        AppMessage::Retention(r) => db.circles().set_retention(circle, r.days),
        // From a newer client: nothing this version knows how to apply.
        AppMessage::Unknown { .. } => Ok(()),
    }
    .map_err(judged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consilium_model::app::*;
    use consilium_model::{CaseFields, CaseId, CommentId};
    use consilium_store::SystemEntropy;
    use std::sync::Arc;

    fn db() -> CaseDb {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap()
    }

    fn shared(case: &CaseId, revision: u32, title: &str) -> AppMessage {
        AppMessage::CaseShared(CaseShared {
            case_id: case.clone(),
            revision,
            fields: CaseFields {
                title: title.into(),
                ..Default::default()
            },
            attachments: vec![],
            shared_at: Timestamp(1),
        })
    }

    fn bad(r: Result<(), Rejection>) -> bool {
        matches!(r, Err(Rejection::Bad(_)))
    }

    #[test]
    fn a_shared_case_is_revised_by_its_author_only_and_never_backwards() {
        let mut db = db();
        let case = CaseId::from_bytes([7; 16]);
        let t = Timestamp(5);
        apply_app_message(&mut db, b"C", "alice", &shared(&case, 1, "Rash"), t).unwrap();
        assert_eq!(db.cases().get(&case).unwrap().fields.title, "Rash");
        assert!(bad(apply_app_message(
            &mut db,
            b"C",
            "mallory",
            &shared(&case, 2, "Hijack"),
            t
        )));
        assert!(bad(apply_app_message(
            &mut db,
            b"D",
            "alice",
            &shared(&case, 2, "Elsewhere"),
            t
        )));
        apply_app_message(&mut db, b"C", "alice", &shared(&case, 3, "Rash, day 3"), t).unwrap();
        apply_app_message(&mut db, b"C", "alice", &shared(&case, 2, "Older"), t).unwrap();
        assert_eq!(db.cases().get(&case).unwrap().fields.title, "Rash, day 3");
        assert_eq!(db.cases().revision(&case).unwrap(), 3);
        // An own case's id cannot be taken over from outside.
        let own = db
            .cases()
            .create(
                CaseFields {
                    title: "Mine".into(),
                    ..Default::default()
                },
                t,
            )
            .unwrap();
        assert!(bad(apply_app_message(
            &mut db,
            b"C",
            "alice",
            &shared(&own, 9, "Taken"),
            t
        )));
        assert_eq!(db.cases().get(&own).unwrap().fields.title, "Mine");
    }

    #[test]
    fn comments_polls_votes_and_retraction_follow_the_circle_rules() {
        let mut db = db();
        let case = CaseId::from_bytes([7; 16]);
        let t = Timestamp(5);
        apply_app_message(&mut db, b"C", "alice", &shared(&case, 1, "Rash"), t).unwrap();
        let comment = |id: u8, body: &str| {
            AppMessage::Comment(CommentPosted {
                case_id: case.clone(),
                comment_id: CommentId::from_bytes([id; 16]),
                reply_to: None,
                body: body.into(),
                created_at: Timestamp(6),
            })
        };
        apply_app_message(&mut db, b"C", "bob", &comment(1, "Tinea?"), t).unwrap();
        apply_app_message(&mut db, b"C", "bob", &comment(1, "Tinea?"), t).unwrap();
        assert_eq!(
            db.comments().of_case(&case).unwrap().len(),
            1,
            "a repeat adds nothing"
        );
        assert!(bad(apply_app_message(
            &mut db,
            b"D",
            "eve",
            &comment(2, "from elsewhere"),
            t
        )));

        let poll = CommentId::from_bytes([9; 16]);
        let open = AppMessage::Poll(PollOpened {
            case_id: case.clone(),
            poll_id: poll.clone(),
            options: vec!["tinea".into(), "eczema".into()],
        });
        apply_app_message(&mut db, b"C", "alice", &open, t).unwrap();
        let vote = |option| {
            AppMessage::Vote(VoteCast {
                case_id: case.clone(),
                poll_id: poll.clone(),
                option,
            })
        };
        apply_app_message(&mut db, b"C", "bob", &vote(1), t).unwrap();
        apply_app_message(&mut db, b"C", "carol", &vote(0), t).unwrap();
        apply_app_message(&mut db, b"C", "bob", &vote(0), t).unwrap();
        assert!(bad(apply_app_message(&mut db, b"C", "bob", &vote(7), t)));
        assert!(
            bad(apply_app_message(&mut db, b"D", "eve", &vote(1), t)),
            "not her circle"
        );
        assert_eq!(
            db.polls().tally(&poll).unwrap(),
            vec![("tinea".to_string(), 2), ("eczema".to_string(), 0)]
        );

        let profile = AppMessage::MemberProfile(MemberProfile {
            name: "Dr Bob".into(),
            specialty: "Dermatology".into(),
        });
        apply_app_message(&mut db, b"C", "bob", &profile, t).unwrap();
        assert_eq!(db.circles().member_profiles(b"C").unwrap()[0].1, "Dr Bob");

        let unknown = AppMessage::Unknown {
            kind: "future".into(),
            body: vec![1],
        };
        apply_app_message(&mut db, b"C", "bob", &unknown, t).unwrap();

        let retract = AppMessage::CaseRetracted(CaseRetracted {
            case_id: case.clone(),
        });
        assert!(bad(apply_app_message(&mut db, b"C", "bob", &retract, t)));
        apply_app_message(&mut db, b"C", "alice", &retract, t).unwrap();
        assert!(
            db.cases().get(&case).is_err(),
            "the author's retraction deletes the copy"
        );
        assert!(db.comments().of_case(&case).unwrap().is_empty());
        assert!(
            db.tombstone(&case).unwrap().is_some(),
            "a tombstone is left"
        );
        // A replay of the case (or a later revision) never brings it back.
        for again in [shared(&case, 1, "Rash"), shared(&case, 2, "Rash again")] {
            assert!(bad(apply_app_message(&mut db, b"C", "alice", &again, t)));
        }
        assert!(db.cases().get(&case).is_err());
    }

    /// This profile's comment on a received case waits in the outbox when the author's
    /// retraction arrives: it keeps its number but no word of its text.
    #[test]
    fn a_retraction_empties_what_this_profile_queued_about_the_case() {
        let mut db = db();
        db.set_profile(&consilium_store::Profile {
            name: "Dr Bob".into(),
            specialty: "Dermatology".into(),
            created_at: Timestamp(1),
        })
        .unwrap();
        let case = CaseId::from_bytes([7; 16]);
        let t = Timestamp(5);
        apply_app_message(&mut db, b"C", "alice", &shared(&case, 1, "Rash"), t).unwrap();
        let unsent = AppMessage::Comment(CommentPosted {
            case_id: case.clone(),
            comment_id: CommentId::from_bytes([3; 16]),
            reply_to: None,
            body: "Quillwort nodules".into(),
            created_at: t,
        });
        let queued = crate::sync::queue::app(&db, b"C", &unsent).unwrap();
        let entropy = SystemEntropy::new();
        crate::sync::queue::enqueue(&db, &entropy, b"C", &queued, t).unwrap();

        let retract = AppMessage::CaseRetracted(CaseRetracted {
            case_id: case.clone(),
        });
        apply_app_message(&mut db, b"C", "alice", &retract, t).unwrap();
        let items = db.outbox().payloads().unwrap();
        assert_eq!(items.len(), 1, "the item stays, for its number");
        let crate::sync::payload::Queued::App(bytes) =
            crate::sync::payload::Queued::decode(&items[0].1).unwrap()
        else {
            panic!("not an application message");
        };
        let (message, n) = AppMessage::decode_numbered(&bytes).unwrap();
        assert!(
            matches!(message, AppMessage::MemberProfile(_)),
            "{message:?}"
        );
        assert_eq!(
            n,
            AppMessage::decode_numbered(&queued_bytes(&queued))
                .unwrap()
                .1
        );
    }

    fn queued_bytes(q: &crate::sync::payload::Queued) -> Vec<u8> {
        match q {
            crate::sync::payload::Queued::App(b) => b.to_vec(),
            _ => panic!("not an application message"),
        }
    }
}
