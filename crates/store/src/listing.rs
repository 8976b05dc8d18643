//! Reading many cases at once: the filtered case list, full-text search, and the per-circle
//! counts the sidebar shows.

use std::collections::{HashMap, HashSet};

use consilium_model::{CaseFilter, CaseId, CaseSummary, SearchHit, Timestamp, Urgency};
use rusqlite::params;

use crate::cases::{CaseDb, to16};
use crate::error::{Result, StoreError};

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

impl CaseDb {
    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        let mut stmt = self.connection().prepare_cached(
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

    /// Full-text search over case fields, outcomes and comments; every word must match (as a
    /// prefix), accents and case ignored. Best matches first, one hit per case.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query)?;
        let mut stmt = self.connection().prepare_cached(
            "SELECT s.case_id, c.title, s.comment_id IS NOT NULL,
                    snippet(search_index, -1, '[', ']', '…', 12)
             FROM search_index JOIN search_rows s ON s.fts_rowid = search_index.rowid
             JOIN cases c ON c.id = s.case_id
             WHERE search_index MATCH ?1
             ORDER BY rank",
        )?;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        let mut rows = stmt.query([fts])?;
        while let Some(r) = rows.next()? {
            let id = CaseId::from_bytes(to16(&r.get::<_, Vec<u8>>(0)?)?);
            if !seen.insert(id.clone()) {
                continue;
            }
            let is_comment: bool = r.get(2)?;
            hits.push(SearchHit {
                id,
                title: r.get(1)?,
                field: if is_comment { "comment" } else { "case" }.into(),
                snippet: r.get(3)?,
            });
            if hits.len() >= limit {
                break;
            }
        }
        Ok(hits)
    }

    /// The counts of every sidebar entry in one pass over the cases, without loading them.
    pub fn case_counts(&self) -> Result<CaseCounts> {
        let mut stmt = self.connection().prepare_cached(concat!(
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

pub(crate) fn fts_query(query: &str) -> Result<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    if words.is_empty() {
        return Err(StoreError::Invalid(
            "type at least one word to search for".into(),
        ));
    }
    Ok(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_queries_neutralise_fts_syntax() {
        assert_eq!(
            fts_query("rash NEAR(\"x\" OR y)").unwrap(),
            "\"rash\"* \"NEAR\"* \"x\"* \"OR\"* \"y\"*"
        );
        assert!(fts_query(" *\"()").is_err());
    }

    /// The sidebar's counts agree with the filtered lists they summarise: drafts, circles
    /// (received from or shared with), and unread as the user opens cases and comments arrive.
    #[test]
    fn counts_agree_with_the_lists_they_summarise() {
        use std::sync::Arc;

        use consilium_model::{CaseFields, Timestamp};
        use rusqlite::Connection;

        use crate::entropy::SystemEntropy;

        let mut db = CaseDb::from_connection(
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
        let draft = db.create_case(fields("draft"), now).unwrap();
        let shared = db.create_case(fields("shared with both"), now).unwrap();
        db.mark_shared(&shared, &a).unwrap();
        db.mark_shared(&shared, &b).unwrap();
        let received = CaseId::from_bytes([7; 16]);
        db.receive_case(&a, "ana", &received, 1, fields("from ana"), now)
            .unwrap();

        let list = |db: &CaseDb, filter: CaseFilter| {
            let cases = db.list_cases(&filter).unwrap();
            CaseCount {
                cases: cases.len(),
                unread: cases.iter().filter(|c| c.unread).count(),
            }
        };
        let check = |db: &CaseDb| {
            let counts = db.case_counts().unwrap();
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

        db.mark_read(&received).unwrap();
        assert_eq!(check(&db).circles[&a].unread, 0);
        // A colleague's comment on my shared case makes it unread in both its circles.
        db.add_comment(&shared, None, "ana", "Looks like a Spitz naevus.", now)
            .unwrap();
        let counts = check(&db);
        assert_eq!(
            (counts.circles[&a].unread, counts.circles[&b].unread),
            (1, 1)
        );
        db.mark_read(&shared).unwrap();
        db.add_comment(&draft, None, "me", "note to self", now)
            .unwrap();
        assert_eq!(check(&db).circles[&a].unread, 0);
    }
}
