//! Cases: their current fields with revisions and tags, the outcome, and the read marks that
//! make a case unread. Every write updates the search index in the same unit.

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::{Case, CaseFields, CaseId, Status, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::atomic::AtomicUnit;
use crate::db::CaseDb;
use crate::entropy::random_16;
use crate::error::{Result, StoreError};
use crate::rows::{not_found, to16};
use crate::search::index_case_fields;

/// The case rows.
#[derive(Debug, Clone, Copy)]
pub struct Cases<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Cases with their revisions, tags and read marks; the case list and its counts.
    pub fn cases(&self) -> Cases<'_> {
        Cases { db: self }
    }
}

impl Cases<'_> {
    pub fn create(&self, fields: CaseFields, now: Timestamp) -> Result<CaseId> {
        let id = CaseId::from_bytes(random_16(&*self.db.entropy)?);
        self.insert(&id, fields, 1, now)?;
        Ok(id)
    }

    /// Inserts a case under a given id at a given revision (a case received from a circle keeps
    /// its author's id and revision numbers).
    pub(crate) fn insert(
        &self,
        id: &CaseId,
        mut fields: CaseFields,
        revision: u32,
        now: Timestamp,
    ) -> Result<()> {
        fields.normalise_tags();
        fields.validate()?;
        let blob = to_cbor(&fields)?;
        let unit = AtomicUnit::begin(&self.db.conn)?;
        let tx = &self.db.conn;
        tx.execute(
            "INSERT INTO cases (id, title, specialty, status, urgency, fields, outcome, revision, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?8, ?7, ?7)",
            params![
                &id.as_bytes()[..],
                fields.title,
                fields.specialty,
                Status::Open.as_str(),
                fields.urgency.as_str(),
                blob,
                now.0,
                revision
            ],
        )?;
        tx.execute(
            "INSERT INTO case_revisions (case_id, revision, fields, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&id.as_bytes()[..], revision, blob, now.0],
        )?;
        write_tags(tx, id, &fields.tags)?;
        index_case_fields(tx, id, &fields)?;
        unit.commit()?;
        Ok(())
    }

    /// Replaces the fields of a case, keeping the previous version as a revision.
    pub fn edit(&self, id: &CaseId, fields: CaseFields, now: Timestamp) -> Result<u32> {
        let revision: u32 = case_value(
            &self.db.conn,
            id,
            "SELECT revision FROM cases WHERE id = ?1",
        )?;
        self.revise(id, fields, revision + 1, now)?;
        Ok(revision + 1)
    }

    /// The case's current revision number.
    pub fn revision(&self, id: &CaseId) -> Result<u32> {
        case_value(
            &self.db.conn,
            id,
            "SELECT revision FROM cases WHERE id = ?1",
        )
    }

    /// Replaces the fields of a case with revision `next`, keeping the previous version.
    pub(crate) fn revise(
        &self,
        id: &CaseId,
        mut fields: CaseFields,
        next: u32,
        now: Timestamp,
    ) -> Result<()> {
        fields.normalise_tags();
        fields.validate()?;
        let blob = to_cbor(&fields)?;
        let unit = AtomicUnit::begin(&self.db.conn)?;
        let tx = &self.db.conn;
        tx.execute(
            "UPDATE cases SET title = ?2, specialty = ?3, urgency = ?4, fields = ?5, revision = ?6, updated_at = ?7
             WHERE id = ?1",
            params![
                &id.as_bytes()[..],
                fields.title,
                fields.specialty,
                fields.urgency.as_str(),
                blob,
                next,
                now.0
            ],
        )?;
        tx.execute(
            "INSERT INTO case_revisions (case_id, revision, fields, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&id.as_bytes()[..], next, blob, now.0],
        )?;
        tx.execute(
            "DELETE FROM case_tags WHERE case_id = ?1",
            [&id.as_bytes()[..]],
        )?;
        write_tags(tx, id, &fields.tags)?;
        index_case_fields(tx, id, &fields)?;
        unit.commit()?;
        Ok(())
    }

    /// Marks a case resolved with its outcome (shown with the case; searchable).
    pub fn resolve(&self, id: &CaseId, outcome: &str, now: Timestamp) -> Result<()> {
        let outcome = outcome.trim();
        if outcome.is_empty() {
            return Err(StoreError::Invalid("the outcome must not be empty".into()));
        }
        if outcome.len() > consilium_model::case::MAX_FIELD_BYTES {
            return Err(StoreError::Invalid("the outcome is too long".into()));
        }
        let unit = AtomicUnit::begin(&self.db.conn)?;
        let tx = &self.db.conn;
        let n = tx.execute(
            "UPDATE cases SET status = ?2, outcome = ?3, updated_at = ?4 WHERE id = ?1",
            params![
                &id.as_bytes()[..],
                Status::Resolved.as_str(),
                outcome,
                now.0
            ],
        )?;
        if n == 0 {
            return Err(not_found("case", id));
        }
        let fields = load_fields(tx, id)?;
        index_case_fields(tx, id, &fields)?;
        unit.commit()?;
        Ok(())
    }

    /// Finds the case whose id starts with `prefix` (at least 4 hex digits), if exactly one does.
    pub fn find(&self, prefix: &str) -> Result<CaseId> {
        let p = prefix.trim().to_ascii_uppercase();
        if p.len() < 4 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::Invalid(format!(
                "'{prefix}' is not a case id (give at least 4 of its hex digits)"
            )));
        }
        let mut stmt = self
            .db
            .conn
            .prepare("SELECT id FROM cases WHERE hex(id) LIKE ?1 || '%' LIMIT 2")?;
        let ids: Vec<Vec<u8>> = stmt
            .query_map([p], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match ids.as_slice() {
            [one] => Ok(CaseId::from_bytes(to16(one)?)),
            [] => Err(not_found("case", prefix)),
            _ => Err(StoreError::Invalid(format!(
                "several cases start with '{prefix}'; give more digits"
            ))),
        }
    }

    /// The current fields of a case, without its attachments and comments.
    pub fn fields(&self, id: &CaseId) -> Result<CaseFields> {
        load_fields(&self.db.conn, id)
    }

    pub fn get(&self, id: &CaseId) -> Result<Case> {
        let row = self
            .db
            .conn
            .query_row(
                "SELECT fields, status, outcome, revision, created_at, updated_at FROM cases WHERE id = ?1",
                [&id.as_bytes()[..]],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| not_found("case", id))?;
        Ok(Case {
            id: id.clone(),
            fields: from_cbor(&row.0)?,
            status: row.1.parse().unwrap_or_default(),
            outcome: row.2,
            revision: row.3,
            created_at: Timestamp(row.4),
            updated_at: Timestamp(row.5),
            attachments: self.db.attachments().of_case(id)?,
            comments: self.db.comments().of_case(id)?,
        })
    }

    /// Every revision of a case's fields, oldest first.
    pub fn revisions(&self, id: &CaseId) -> Result<Vec<(u32, CaseFields, Timestamp)>> {
        let mut stmt = self.db.conn.prepare(
            "SELECT revision, fields, created_at FROM case_revisions WHERE case_id = ?1 ORDER BY revision",
        )?;
        let rows = stmt
            .query_map([&id.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(rev, f, t)| Ok((rev, from_cbor(&f)?, Timestamp(t))))
            .collect()
    }

    /// Records that the user has read the case as it is now (its revision and comments).
    pub fn mark_read(&self, case: &CaseId) -> Result<()> {
        self.db.conn.execute(
            "INSERT INTO case_reads (case_id, seen_revision, seen_comments)
             SELECT c.id, c.revision, (SELECT count(*) FROM comments m WHERE m.case_id = c.id)
             FROM cases c WHERE c.id = ?1
             ON CONFLICT (case_id) DO UPDATE SET
                seen_revision = excluded.seen_revision, seen_comments = excluded.seen_comments",
            [&case.as_bytes()[..]],
        )?;
        Ok(())
    }
}

/// Moves a case to the top of the list: something in it changed at `now`.
pub(crate) fn touch_case(tx: &Connection, case: &CaseId, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE cases SET updated_at = ?2 WHERE id = ?1",
        params![&case.as_bytes()[..], now.0],
    )?;
    Ok(())
}

pub(crate) fn ensure_case(tx: &Connection, id: &CaseId) -> Result<()> {
    case_value::<i64>(tx, id, "SELECT 1 FROM cases WHERE id = ?1").map(|_| ())
}

/// One value about one case (`sql` takes the case id as `?1`), or "no case with id …".
pub(crate) fn case_value<T: rusqlite::types::FromSql>(
    conn: &Connection,
    id: &CaseId,
    sql: &str,
) -> Result<T> {
    conn.query_row(sql, [&id.as_bytes()[..]], |r| r.get(0))
        .optional()?
        .ok_or_else(|| not_found("case", id))
}

pub(crate) fn load_fields(conn: &Connection, id: &CaseId) -> Result<CaseFields> {
    let blob: Vec<u8> = case_value(conn, id, "SELECT fields FROM cases WHERE id = ?1")?;
    Ok(from_cbor(&blob)?)
}

pub(crate) fn write_tags(tx: &Connection, id: &CaseId, tags: &[String]) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO case_tags (case_id, tag) VALUES (?1, ?2)")?;
    for tag in tags {
        stmt.execute(params![&id.as_bytes()[..], tag])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::entropy::SystemEntropy;
    use consilium_model::CaseFilter;

    fn db() -> CaseDb {
        let conn = Connection::open_in_memory().unwrap();
        CaseDb::from_connection(conn, Arc::new(SystemEntropy::new())).unwrap()
    }

    fn fields(title: &str) -> CaseFields {
        CaseFields {
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_atomic_unit_commits_all_or_nothing_including_other_layers_writes() {
        let mut db = db();
        db.connection()
            .execute_batch("CREATE TABLE other_layer (x INTEGER)")
            .unwrap();
        let failed: std::result::Result<(), StoreError> = db.atomically(|db| {
            db.cases().create(fields("Kept?"), Timestamp(1))?;
            db.connection()
                .execute("INSERT INTO other_layer VALUES (1)", [])?;
            Err(StoreError::NotFound {
                what: "test",
                id: "refused".into(),
            })
        });
        assert!(failed.is_err());
        let count = |db: &CaseDb| -> i64 {
            db.connection()
                .query_row("SELECT count(*) FROM other_layer", [], |r| r.get(0))
                .unwrap()
        };
        assert!(db.cases().list(&CaseFilter::default()).unwrap().is_empty());
        assert_eq!(count(&db), 0);
        assert!(
            db.search().query("kept", 10).unwrap().is_empty(),
            "the index too"
        );

        let id = db
            .atomically(|db| {
                let id = db.cases().create(fields("Kept"), Timestamp(1))?;
                db.comments()
                    .add(&id, None, "Dr X", "a comment", Timestamp(2))?;
                db.connection()
                    .execute("INSERT INTO other_layer VALUES (1)", [])?;
                Ok::<_, StoreError>(id)
            })
            .unwrap();
        assert_eq!(db.comments().of_case(&id).unwrap().len(), 1);
        assert_eq!(count(&db), 1);
        // Outside an atomic unit, each operation still commits on its own.
        db.cases().create(fields("Alone"), Timestamp(3)).unwrap();
        assert_eq!(db.cases().list(&CaseFilter::default()).unwrap().len(), 2);
    }

    #[test]
    fn a_panic_inside_an_atomic_unit_leaves_no_trace_and_the_next_write_commits() {
        let mut db = db();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: std::result::Result<(), StoreError> = db.atomically(|db| {
                db.cases().create(fields("Half-done"), Timestamp(1))?;
                panic!("a bug inside the unit");
            });
        }));
        assert!(panicked.is_err());
        assert!(
            db.connection().is_autocommit(),
            "no transaction is left open after the panic"
        );
        assert!(db.cases().list(&CaseFilter::default()).unwrap().is_empty());
        assert!(
            db.search().query("half", 10).unwrap().is_empty(),
            "the index too"
        );
        // The next write is not caught inside a transaction left open: it commits.
        db.cases().create(fields("Next"), Timestamp(2)).unwrap();
        assert!(db.connection().is_autocommit());
        assert_eq!(db.cases().list(&CaseFilter::default()).unwrap().len(), 1);
    }

    #[test]
    fn edits_keep_revisions_and_replace_the_index_row() {
        let db = db();
        let id = db
            .cases()
            .create(fields("Annular plaque"), Timestamp(1))
            .unwrap();
        let mut f = fields("Erythema migrans");
        f.tags = vec![" Lyme ".into(), "lyme".into()];
        assert_eq!(db.cases().edit(&id, f, Timestamp(2)).unwrap(), 2);
        assert!(db.search().query("annular", 10).unwrap().is_empty());
        assert_eq!(db.search().query("migrans", 10).unwrap().len(), 1);
        let revs = db.cases().revisions(&id).unwrap();
        assert_eq!(revs.len(), 2);
        assert_eq!(revs[0].1.title, "Annular plaque");
        assert_eq!(
            db.cases().get(&id).unwrap().fields.tags,
            vec!["lyme".to_string()]
        );
    }

    #[test]
    fn comments_are_searchable_and_replies_must_stay_in_their_case() {
        let db = db();
        let a = db.cases().create(fields("A"), Timestamp(1)).unwrap();
        let b = db.cases().create(fields("B"), Timestamp(1)).unwrap();
        let c = db
            .comments()
            .add(&a, None, "Dr X", "Consider sarcoïdosis", Timestamp(2))
            .unwrap();
        assert!(
            db.comments()
                .add(&b, Some(&c), "Dr X", "reply", Timestamp(3))
                .is_err()
        );
        db.comments()
            .add(&a, Some(&c), "Dr Y", "agree", Timestamp(3))
            .unwrap();
        let hits = db.search().query("sarcoidosis", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].field, "comment");
        assert_eq!(db.comments().of_case(&a).unwrap()[1].reply_to, Some(c));
    }

    #[test]
    fn find_case_resolves_unique_prefixes() {
        let db = db();
        let id = db.cases().create(fields("A"), Timestamp(1)).unwrap();
        let hex = id.to_string();
        assert_eq!(db.cases().find(&hex[..8]).unwrap(), id);
        assert!(db.cases().find("ab").is_err());
        assert!(db.cases().find("zzzz").is_err());
    }
}
