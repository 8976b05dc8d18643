//! What one instance of a relay tells the others sharing its PostgreSQL database: a member's
//! socket may be on any instance, and each keeps its admitted and revoked accounts in memory.
//! The event is a row (`wakeups`) written after the change it reports committed, and a
//! `NOTIFY` with an empty payload wakes the other instances, which read the rows they have not
//! seen (`server`'s listener). The tables stay the truth: a lost wake-up only delays a push
//! until the next read. A relay on SQLite is one instance: nothing is written.

use super::Store;
use super::engine::Engine;
use super::sql::args;
use super::wakeup::{WAKEUP_CHANNEL, WAKEUP_LIFETIME_MS, Wakeup, joined, split};
use crate::error::Result;

impl Store {
    /// The PostgreSQL address other instances are heard on, when there can be any.
    pub fn wakeup_address(&self) -> Option<String> {
        self.engine.postgres_url()
    }

    /// Tells the other instances, in one transaction (a no-op on SQLite, and for wake-ups
    /// that name no account). Called after the changes committed.
    pub fn announce(&self, wakeups: &[Wakeup], now: i64) -> Result<()> {
        if !matches!(self.engine, Engine::Postgres { .. }) {
            return Ok(());
        }
        let rows: Vec<_> = wakeups
            .iter()
            .map(|w| match w {
                Wakeup::Group {
                    group_id,
                    seq,
                    members,
                } => ("group", Some(group_id.clone()), Some(*seq), joined(members)),
                Wakeup::Mailbox(a) => ("mailbox", None, None, joined(a)),
                Wakeup::Admit(a) => ("admit", None, None, joined(a)),
                Wakeup::Revoke(a) => ("revoke", None, None, joined(a)),
            })
            .filter(|(_, _, _, accounts)| !accounts.is_empty())
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let instance = self.instance;
        self.write(move |c| {
            for (kind, group_id, seq, accounts) in &rows {
                c.execute(
                    "INSERT INTO wakeups (instance, kind, group_id, seq, accounts, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    args![&instance, *kind, group_id.as_ref(), *seq, accounts, now],
                )?;
            }
            // Delivered when this transaction commits.
            c.execute(
                &format!("SELECT pg_notify('{WAKEUP_CHANNEL}', '')"),
                args![],
            )?;
            Ok(())
        })
        .wait()
    }

    /// Other instances' wake-ups written since `since` (ms), oldest first, with their ids (a
    /// reader keeps the ids it applied: a wake-up may commit after a later one).
    pub fn wakeups_since(&self, since: i64) -> Result<Vec<(i64, Wakeup)>> {
        let instance = self.instance;
        self.read(|c| {
            c.query(
                "SELECT id, kind, group_id, seq, accounts FROM wakeups
                 WHERE created_at >= ?1 AND instance <> ?2 ORDER BY id LIMIT 10000",
                args![since, &instance],
            )?
            .iter()
            .map(|r| {
                let accounts = split(&r.get::<Vec<u8>>(4)?);
                let wakeup = match r.get::<String>(1)?.as_str() {
                    "group" => Wakeup::Group {
                        group_id: r.get::<Option<Vec<u8>>>(2)?.unwrap_or_default(),
                        seq: r.get::<Option<u64>>(3)?.unwrap_or(0),
                        members: accounts,
                    },
                    "mailbox" => Wakeup::Mailbox(accounts),
                    "admit" => Wakeup::Admit(accounts),
                    _ => Wakeup::Revoke(accounts),
                };
                Ok((r.get(0)?, wakeup))
            })
            .collect()
        })
    }

    /// Forgets wake-ups every instance has had time to read.
    pub fn forget_wakeups(&self, now: i64) -> Result<()> {
        if !matches!(self.engine, Engine::Postgres { .. }) {
            return Ok(());
        }
        self.write(move |c| {
            c.execute(
                "DELETE FROM wakeups WHERE created_at < ?1",
                args![now - WAKEUP_LIFETIME_MS],
            )
        })
        .wait()
        .map(|_| ())
    }
}
