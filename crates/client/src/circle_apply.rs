//! The receiving side of a circle for real: an entry of the log is opened by MLS (with the
//! profile's own openmls state, inside the caller's transaction), decoded as an application
//! message and applied with the circle's rules. The author of what is applied is the sender MLS
//! authenticated, never the account the relay claims.

use consilium_groups::{Circle, GroupError, Incoming, Provider};
use consilium_model::Timestamp;
use consilium_model::app::AppMessage;
use consilium_store::CaseDb;

use crate::effects::apply_app_message;
use crate::error::ClientError;
use crate::receive::{Applier, Entry, Rejection};

fn judged(e: GroupError) -> Rejection {
    match e {
        GroupError::Storage(why) => Rejection::Local(ClientError::Invalid(format!(
            "the circle state could not be stored: {why}"
        ))),
        other => Rejection::Bad(other.to_string()),
    }
}

/// Seals outbox payloads with the profile's MLS state (for `outbox::deliver_due`). Catching up
/// needs the relay and the vault, so the caller passes it in.
pub struct CircleSealer<'a> {
    pub conn: &'a rusqlite::Connection,
    pub identity: &'a consilium_groups::Identity,
    pub catch_up: &'a mut dyn FnMut(&[u8]) -> crate::error::Result<()>,
}

impl std::fmt::Debug for CircleSealer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CircleSealer")
    }
}

impl CircleSealer<'_> {
    fn circle(&self, circle: &[u8]) -> crate::error::Result<Circle> {
        Circle::load(&Provider::new(self.conn), circle)
            .map_err(|e| ClientError::Invalid(e.to_string()))?
            .ok_or_else(|| ClientError::Invalid("this profile is not in that circle".into()))
    }
}

impl crate::outbox::Sealer for CircleSealer<'_> {
    fn epoch(&mut self, circle: &[u8]) -> crate::error::Result<u64> {
        Ok(self.circle(circle)?.epoch())
    }

    fn seal(&mut self, circle: &[u8], payload: &[u8]) -> crate::error::Result<(Vec<u8>, u64)> {
        let mut group = self.circle(circle)?;
        let sealed = group
            .seal(&Provider::new(self.conn), self.identity.signer(), payload)
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok((sealed, group.epoch()))
    }

    fn catch_up(&mut self, circle: &[u8]) -> crate::error::Result<()> {
        (self.catch_up)(circle)
    }
}

/// Opens and applies entries of this profile's circles.
#[derive(Debug)]
pub struct CircleApplier {
    pub now: Timestamp,
}

impl Applier for CircleApplier {
    fn apply(&mut self, db: &mut CaseDb, circle: &[u8], entry: &Entry) -> Result<(), Rejection> {
        let incoming = {
            let provider = Provider::new(db.connection());
            let mut group = Circle::load(&provider, circle)
                .map_err(judged)?
                .ok_or_else(|| Rejection::Bad("this profile is not in that circle".into()))?;
            group.open(&provider, &entry.mls).map_err(judged)?
        };
        match incoming {
            Incoming::Application { sender, bytes } => {
                let message =
                    AppMessage::decode(&bytes).map_err(|e| Rejection::Bad(e.to_string()))?;
                apply_app_message(db, circle, &hex::encode(sender), &message, self.now)
            }
            // Membership lives in the MLS state just merged; proposals wait for a commit.
            Incoming::Commit { .. } | Incoming::Proposal | Incoming::Own => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::apply_log;
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
        let kp = make_key_packages(&Provider::new(bdb.connection()), &bob, 1, false, 3600).unwrap()
            [0]
        .to_message_bytes()
        .unwrap();
        let pa = Provider::new(adb.connection());
        let mut circle = Circle::create(&pa, &alice).unwrap();
        let gid = circle.id();
        let added = circle.add(&pa, &alice, &[kp]).unwrap();
        circle.confirm(&pa).unwrap();
        Circle::join(&Provider::new(bdb.connection()), &added.welcome.unwrap()).unwrap();
        // Bob's log starts after the commit that added him (seq 1).
        bdb.advance_circle_cursor(&gid, 1).unwrap();

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
            entry(1, &alice.account_id(), added.commit.clone()),
            // The relay claims the share is Bob's; MLS says it is Alice's.
            entry(2, "0000", sealed_share),
            entry(3, &alice.account_id(), tampered),
            entry(4, &alice.account_id(), sealed_comment),
        ];
        let mut applier = CircleApplier { now: Timestamp(9) };
        let report = apply_log(
            &mut bdb,
            &mut applier,
            &gid,
            &bob.account_id(),
            log,
            Timestamp(9),
        )
        .unwrap();
        assert_eq!(
            (report.duplicates, report.applied, report.rejected),
            (1, 2, 1)
        );
        assert_eq!(
            bdb.case(&case).unwrap().fields.title,
            "Annular plaque, 6 weeks"
        );
        assert_eq!(
            bdb.case_origin(&case).unwrap(),
            Some((gid.clone(), alice.account_id())),
            "the author is who MLS authenticated"
        );
        assert_eq!(bdb.comments(&case).unwrap()[0].body, "KOH prep negative");
        assert_eq!(bdb.receive_failures(&gid).unwrap()[0].seq, 3);
        assert_eq!(bdb.circle_cursor(&gid).unwrap(), 4);
    }
}
