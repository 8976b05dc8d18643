//! What the text scan of a case works from and what the author decided: the names listed for
//! the case (its deny-list) and the findings acknowledged as "not an identifier". Both live only
//! in this vault; the store does not know what a finding is, only its kind's word and its text.

use consilium_model::{CaseId, Timestamp};
use rusqlite::params;

use crate::cases::ensure_case;
use crate::db::CaseDb;
use crate::error::{Result, StoreError};

/// The longest name the deny-list takes, and how many names a case may list.
const MAX_NAME_CHARS: usize = 200;
const MAX_NAMES: usize = 100;

/// A finding the author was shown: the field, the kind's word, the text found.
pub type SeenFinding = (String, String, String);

/// A de-identification report kept when a case went to a circle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptReport {
    pub circle: Vec<u8>,
    pub made_at: Timestamp,
    /// The report as the engine wrote it (opaque to the store).
    pub report: Vec<u8>,
}

/// The privacy rows of each case.
#[derive(Debug, Clone, Copy)]
pub struct Privacy<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// Each case's deny-list, acknowledged findings and kept de-identification reports.
    pub fn privacy(&self) -> Privacy<'_> {
        Privacy { db: self }
    }
}

impl Privacy<'_> {
    /// Replaces the case's deny-list (blank entries dropped, repeats merged).
    pub fn set_deny_names(&self, case: &CaseId, names: &[String]) -> Result<()> {
        let mut clean: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        clean.sort();
        clean.dedup();
        if clean.len() > MAX_NAMES || clean.iter().any(|n| n.chars().count() > MAX_NAME_CHARS) {
            return Err(StoreError::Invalid(format!(
                "a case lists at most {MAX_NAMES} names of at most {MAX_NAME_CHARS} characters"
            )));
        }
        self.db.in_unit(|db| {
            let tx = db.connection();
            ensure_case(tx, case)?;
            tx.execute(
                "DELETE FROM case_deny_names WHERE case_id = ?1",
                [&case.as_bytes()[..]],
            )?;
            let mut insert =
                tx.prepare_cached("INSERT INTO case_deny_names (case_id, name) VALUES (?1, ?2)")?;
            for name in &clean {
                insert.execute(params![&case.as_bytes()[..], name])?;
            }
            Ok(())
        })
    }

    /// The names listed for the case, in order.
    pub fn deny_names(&self, case: &CaseId) -> Result<Vec<String>> {
        let mut stmt = self
            .db
            .connection()
            .prepare_cached("SELECT name FROM case_deny_names WHERE case_id = ?1 ORDER BY name")?;
        let names = stmt
            .query_map([&case.as_bytes()[..]], |r| r.get(0))?
            .collect::<std::result::Result<Vec<String>, _>>()?;
        Ok(names)
    }

    /// Records that the author looked at `matched` (found as `kind`) in this case and decided
    /// it is not an identifier.
    pub fn acknowledge(&self, case: &CaseId, kind: &str, matched: &str) -> Result<()> {
        ensure_case(self.db.connection(), case)?;
        self.db.connection().execute(
            "INSERT OR IGNORE INTO case_acknowledged (case_id, kind, matched) VALUES (?1, ?2, ?3)",
            params![&case.as_bytes()[..], kind, matched],
        )?;
        Ok(())
    }

    /// The case's acknowledged findings, as (kind, matched text).
    pub fn acknowledged(&self, case: &CaseId) -> Result<Vec<(String, String)>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT kind, matched FROM case_acknowledged WHERE case_id = ?1 ORDER BY kind, matched",
        )?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<Vec<(String, String)>, _>>()?;
        Ok(rows)
    }

    /// Notes findings the author was shown (once each; the first time is kept).
    pub fn note_seen(&self, case: &CaseId, found: &[SeenFinding], now: Timestamp) -> Result<()> {
        if found.is_empty() {
            return Ok(());
        }
        ensure_case(self.db.connection(), case)?;
        let mut insert = self.db.connection().prepare_cached(
            "INSERT OR IGNORE INTO case_findings_seen (case_id, field, kind, matched, first_seen)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (field, kind, matched) in found {
            insert.execute(params![&case.as_bytes()[..], field, kind, matched, now.0])?;
        }
        Ok(())
    }

    /// Every finding the author was shown for this case, in the order first seen.
    pub fn seen(&self, case: &CaseId) -> Result<Vec<SeenFinding>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT field, kind, matched FROM case_findings_seen WHERE case_id = ?1
             ORDER BY first_seen, field, kind, matched",
        )?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<std::result::Result<Vec<SeenFinding>, _>>()?;
        Ok(rows)
    }

    /// Keeps the de-identification report (opaque bytes) as it stood when the case went to
    /// `circle`.
    pub fn keep_deid_report(
        &self,
        case: &CaseId,
        circle: &[u8],
        report: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        ensure_case(self.db.connection(), case)?;
        self.db.connection().execute(
            "INSERT INTO case_deid_reports (case_id, circle_id, made_at, report) VALUES (?1, ?2, ?3, ?4)",
            params![&case.as_bytes()[..], circle, now.0, report],
        )?;
        Ok(())
    }

    /// The reports kept for this case, oldest first.
    pub fn deid_reports(&self, case: &CaseId) -> Result<Vec<KeptReport>> {
        let mut stmt = self.db.connection().prepare_cached(
            "SELECT circle_id, made_at, report FROM case_deid_reports WHERE case_id = ?1
             ORDER BY made_at, rowid",
        )?;
        let rows = stmt
            .query_map([&case.as_bytes()[..]], |r| {
                Ok(KeptReport {
                    circle: r.get(0)?,
                    made_at: Timestamp(r.get(1)?),
                    report: r.get(2)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use consilium_model::{CaseFields, Timestamp};
    use rusqlite::Connection;

    use super::*;
    use crate::entropy::SystemEntropy;

    #[test]
    fn deny_names_and_acknowledgements_belong_to_their_case() {
        let db = CaseDb::from_connection(
            Connection::open_in_memory().unwrap(),
            Arc::new(SystemEntropy::new()),
        )
        .unwrap();
        let titled = || CaseFields {
            title: "Annular plaque".into(),
            ..Default::default()
        };
        let case = db.cases().create(titled(), Timestamp(1)).unwrap();
        let other = db.cases().create(titled(), Timestamp(1)).unwrap();
        db.privacy()
            .set_deny_names(
                &case,
                &[
                    " Hélène Dupont ".into(),
                    "".into(),
                    "Hélène Dupont".into(),
                    "Marc".into(),
                ],
            )
            .unwrap();
        assert_eq!(
            db.privacy().deny_names(&case).unwrap(),
            vec!["Hélène Dupont", "Marc"]
        );
        assert!(db.privacy().deny_names(&other).unwrap().is_empty());
        db.privacy()
            .set_deny_names(&case, &["Marc".into()])
            .unwrap();
        assert_eq!(db.privacy().deny_names(&case).unwrap(), vec!["Marc"]);
        assert!(
            db.privacy()
                .set_deny_names(&case, &["x".repeat(201)])
                .is_err()
        );

        db.privacy().acknowledge(&case, "date", "12/03").unwrap();
        db.privacy().acknowledge(&case, "date", "12/03").unwrap();
        assert_eq!(
            db.privacy().acknowledged(&case).unwrap(),
            vec![("date".to_string(), "12/03".to_string())]
        );
        assert!(db.privacy().acknowledged(&other).unwrap().is_empty());
        let missing = CaseId::from_bytes([9; 16]);
        assert!(db.privacy().acknowledge(&missing, "date", "x").is_err());

        let seen = |f: &str, k: &str, m: &str| (f.to_string(), k.to_string(), m.to_string());
        db.privacy()
            .note_seen(&case, &[seen("history", "date", "12/03")], Timestamp(5))
            .unwrap();
        db.privacy()
            .note_seen(
                &case,
                &[
                    seen("history", "date", "12/03"),
                    seen("title", "name", "Marc"),
                ],
                Timestamp(6),
            )
            .unwrap();
        assert_eq!(
            db.privacy().seen(&case).unwrap(),
            vec![
                seen("history", "date", "12/03"),
                seen("title", "name", "Marc")
            ]
        );
        assert!(db.privacy().seen(&other).unwrap().is_empty());
        db.privacy()
            .keep_deid_report(&case, b"circle", b"report", Timestamp(7))
            .unwrap();
        assert_eq!(
            db.privacy().deid_reports(&case).unwrap(),
            vec![KeptReport {
                circle: b"circle".to_vec(),
                made_at: Timestamp(7),
                report: b"report".to_vec()
            }]
        );
        assert!(
            db.privacy()
                .keep_deid_report(&missing, b"c", b"r", Timestamp(8))
                .is_err()
        );
    }
}
