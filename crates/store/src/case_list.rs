//! Reading many cases at once: the filtered case list and the per-circle counts the sidebar
//! shows, one query each, no case loaded.

use std::collections::HashMap;

use crate::cases::Cases;
use crate::error::Result;
use crate::rows::to16;
use consilium_model::{CaseFilter, CaseId, CaseSummary, Timestamp, Urgency};
use rusqlite::params;
/// A case is unread when it was received and has changed since the user last opened it (a new
/// revision, a new comment); the user's own cases count only their new comments. `c` is the
/// case row, `r` its `case_reads` row (left-joined).
macro_rules! unread_sql {
    () => {
        "(c.revision > coalesce(r.seen_revision, CASE WHEN EXISTS (SELECT 1 FROM case_origins o WHERE o.case_id = c.id) THEN 0 ELSE c.revision END)
          OR (SELECT count(*) FROM comments m WHERE m.case_id = c.id) > coalesce(r.seen_comments, 0))"
    };
}

/// How many cases a sidebar entry holds and how many of them are unread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCount {
    pub cases: usize,
    pub unread: usize,
}

/// The sidebar's counts: the user's drafts (never shared, not received) and each circle's
/// cases (received from it or shared with it), keyed by circle id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseCounts {
    pub drafts: CaseCount,
    pub circles: HashMap<Vec<u8>, CaseCount>,
}

impl Cases<'_> {
    pub fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let mut stmt = self.db.connection().prepare_cached(
            concat!("SELECT c.id, c.title, c.specialty, c.status, c.urgency, c.revision, c.created_at, c.updated_at,
                    (SELECT count(*) FROM attachments a WHERE a.case_id = c.id),
                    (SELECT count(*) FROM comments m WHERE m.case_id = c.id),
                    (SELECT group_concat(tag, char(31)) FROM case_tags t WHERE t.case_id = c.id),
                    EXISTS (SELECT 1 FROM case_origins o WHERE o.case_id = c.id),
                    EXISTS (SELECT 1 FROM case_shares h WHERE h.case_id = c.id),
                    ", unread_sql!(), "
             FROM cases c LEFT JOIN case_reads r ON r.case_id = c.id
             WHERE (?1 IS NULL OR c.status = ?1)
               AND (?2 IS NULL OR lower(c.specialty) = lower(?2))
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = c.id AND t.tag = lower(?3)))
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM case_origins o WHERE o.case_id = c.id AND o.circle = ?4)
                               OR EXISTS (SELECT 1 FROM case_shares h WHERE h.case_id = c.id AND h.circle = ?4))
             ORDER BY c.updated_at DESC, c.id"),
        )?;
        let rows = stmt.query_map(
            params![
                filter.status.map(|s| s.as_str()),
                filter.specialty.as_deref(),
                filter.tag.as_deref().map(str::trim),
                filter.circle.as_deref()
            ],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    CaseSummary {
                        id: CaseId::from_bytes([0; 16]),
                        title: r.get(1)?,
                        specialty: r.get(2)?,
                        status: r.get::<_, String>(3)?.parse().unwrap_or_default(),
                        urgency: r.get::<_, String>(4)?.parse().unwrap_or(Urgency::Routine),
                        revision: r.get(5)?,
                        created_at: Timestamp(r.get(6)?),
                        updated_at: Timestamp(r.get(7)?),
                        attachment_count: r.get(8)?,
                        comment_count: r.get(9)?,
                        tags: r
                            .get::<_, Option<String>>(10)?
                            .map(|s| s.split('\u{1f}').map(str::to_string).collect())
                            .unwrap_or_default(),
                        received: r.get(11)?,
                        unread: r.get(13)?,
                    },
                    r.get::<_, bool>(12)?,
                ))
            },
        )?;
        rows.filter_map(|row| match row {
            Err(e) => Some(Err(e.into())),
            Ok((id, mut summary, shared)) => {
                let draft = !summary.received && !shared;
                if (filter.drafts && !draft) || (filter.unread && !summary.unread) {
                    return None;
                }
                Some(to16(&id).map(|id| {
                    summary.id = CaseId::from_bytes(id);
                    summary
                }))
            }
        })
        .collect()
    }

    /// The counts of every sidebar entry in one pass over the cases, without loading them.
    pub fn counts(&self) -> Result<CaseCounts> {
        let mut stmt = self.db.connection().prepare_cached(concat!(
            "WITH st AS (
                SELECT c.id, ",
            unread_sql!(),
            " AS unread,
                       NOT EXISTS (SELECT 1 FROM case_origins o WHERE o.case_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM case_shares h WHERE h.case_id = c.id) AS draft
                FROM cases c LEFT JOIN case_reads r ON r.case_id = c.id),
             member AS (
                SELECT case_id, circle FROM case_origins
                UNION SELECT case_id, circle FROM case_shares)
             SELECT m.circle, count(*), sum(st.unread) FROM member m JOIN st ON st.id = m.case_id
             GROUP BY m.circle
             UNION ALL
             SELECT NULL, count(*), coalesce(sum(unread), 0) FROM st WHERE draft"
        ))?;
        let mut counts = CaseCounts::default();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let count = CaseCount {
                cases: r.get(1)?,
                unread: r.get(2)?,
            };
            match r.get::<_, Option<Vec<u8>>>(0)? {
                Some(circle) => {
                    counts.circles.insert(circle, count);
                }
                None => counts.drafts = count,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::CaseDb;

    /// The sidebar's counts agree with the filtered lists they summarise: drafts, circles
    /// (received from or shared with), and unread as the user opens cases and comments arrive.
    #[test]
    fn counts_agree_with_the_lists_they_summarise() {
        use std::sync::Arc;

        use consilium_model::{CaseFields, Timestamp};
        use rusqlite::Connection;

        use crate::entropy::SystemEntropy;

        let db = CaseDb::from_connection(
            Connection::open_in_memory().unwrap(),
            Arc::new(SystemEntropy::new()),
        )
        .unwrap();
        let fields = |title: &str| CaseFields {
            title: title.into(),
            ..Default::default()
        };
        let (a, b) = (b"circle-a".to_vec(), b"circle-b".to_vec());
        let now = Timestamp(1_000);
        let draft = db.cases().create(fields("draft"), now).unwrap();
        let shared = db.cases().create(fields("shared with both"), now).unwrap();
        db.shares().mark_shared(&shared, &a).unwrap();
        db.shares().mark_shared(&shared, &b).unwrap();
        let received = CaseId::from_bytes([7; 16]);
        db.shares()
            .receive_case(&a, "ana", &received, 1, fields("from ana"), now)
            .unwrap();

        let list = |db: &CaseDb, filter: CaseFilter| {
            let cases = db.cases().list(&filter).unwrap();
            CaseCount {
                cases: cases.len(),
                unread: cases.iter().filter(|c| c.unread).count(),
            }
        };
        let check = |db: &CaseDb| {
            let counts = db.cases().counts().unwrap();
            let drafts = CaseFilter {
                drafts: true,
                ..Default::default()
            };
            assert_eq!(counts.drafts, list(db, drafts));
            for circle in [&a, &b] {
                let filter = CaseFilter {
                    circle: Some(circle.clone()),
                    ..Default::default()
                };
                assert_eq!(counts.circles[circle], list(db, filter));
            }
            counts
        };

        let counts = check(&db);
        assert_eq!(
            counts.drafts,
            CaseCount {
                cases: 1,
                unread: 0
            }
        );
        assert_eq!(
            counts.circles[&a],
            CaseCount {
                cases: 2,
                unread: 1
            }
        );
        assert_eq!(
            counts.circles[&b],
            CaseCount {
                cases: 1,
                unread: 0
            }
        );

        db.cases().mark_read(&received).unwrap();
        assert_eq!(check(&db).circles[&a].unread, 0);
        // A colleague's comment on my shared case makes it unread in both its circles.
        db.comments()
            .add(&shared, None, "ana", "Looks like a Spitz naevus.", now)
            .unwrap();
        let counts = check(&db);
        assert_eq!(
            (counts.circles[&a].unread, counts.circles[&b].unread),
            (1, 1)
        );
        db.cases().mark_read(&shared).unwrap();
        db.comments()
            .add(&draft, None, "me", "note to self", now)
            .unwrap();
        assert_eq!(check(&db).circles[&a].unread, 0);
    }
}
