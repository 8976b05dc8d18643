//! The full-text index over case fields, outcomes and comments (FTS5, accents and case
//! ignored), kept in step by every write that changes what it covers.

use std::collections::HashSet;

use consilium_model::{CaseFields, CaseId, SearchHit};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::CaseDb;
use crate::error::{Result, StoreError};
use crate::rows::to16;

/// Queries over the index.
#[derive(Debug, Clone, Copy)]
pub struct Search<'db> {
    pub(crate) db: &'db CaseDb,
}

impl CaseDb {
    /// The full-text index.
    pub fn search(&self) -> Search<'_> {
        Search { db: self }
    }
}

impl Search<'_> {
    /// Full-text search over case fields, outcomes and comments; every word must match (as a
    /// prefix), accents and case ignored. Best matches first, one hit per case.
    pub fn query(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query)?;
        let mut stmt = self.db.connection().prepare_cached(
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
}

/// Replaces the index row of a case's fields (and outcome).
pub(crate) fn index_case_fields(conn: &Connection, id: &CaseId, fields: &CaseFields) -> Result<()> {
    let old: Option<i64> = conn
        .query_row(
            "SELECT fts_rowid FROM search_rows WHERE case_id = ?1 AND comment_id IS NULL",
            [&id.as_bytes()[..]],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(rowid) = old {
        conn.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
        conn.execute("DELETE FROM search_rows WHERE fts_rowid = ?1", [rowid])?;
    }
    let outcome: Option<String> = conn
        .query_row(
            "SELECT outcome FROM cases WHERE id = ?1",
            [&id.as_bytes()[..]],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let mut body: Vec<String> = fields
        .text_fields()
        .into_iter()
        .filter(|(name, text)| *name != "title" && !text.is_empty())
        .map(|(_, text)| text)
        .collect();
    body.extend(outcome);
    conn.execute(
        "INSERT INTO search_index (title, body) VALUES (?1, ?2)",
        params![fields.title, body.join("\n")],
    )?;
    conn.execute(
        "INSERT INTO search_rows (fts_rowid, case_id, comment_id) VALUES (last_insert_rowid(), ?1, NULL)",
        [&id.as_bytes()[..]],
    )?;
    Ok(())
}

/// Adds a comment's index row (case and comment ids as stored, 16 bytes each).
pub(crate) fn index_comment(conn: &Connection, case: &[u8], id: &[u8], body: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO search_index (title, body) VALUES ('', ?1)",
        [body],
    )?;
    conn.execute(
        "INSERT INTO search_rows (fts_rowid, case_id, comment_id) VALUES (last_insert_rowid(), ?1, ?2)",
        params![case, id],
    )?;
    Ok(())
}

/// Turns what a person types into an FTS5 query: every word must match, as a prefix; FTS5
/// operators and quotes typed by the user are treated as plain text.
fn fts_query(query: &str) -> Result<String> {
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
}
