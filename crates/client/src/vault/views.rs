//! What the desktop window shows in one call: a case with where it came from, where it went and
//! its polls; the sidebar's circles with their unread counts.

use std::collections::{BTreeMap, HashMap};

use consilium_model::{Case, CaseId};
use serde::Serialize;

use crate::circles::PollView;
use crate::engine::Engine;
use crate::error::Result;

/// A case as the case view shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CaseView {
    pub case: Case,
    /// Written on this profile (only then can it be edited, shared or resolved here).
    pub own: bool,
    /// Who shared it, for a received case.
    pub author: Option<String>,
    /// Names of the circles it came from or went to.
    pub circles: Vec<String>,
    pub polls: Vec<PollView>,
    /// The names of the accounts that appear as authors (comments, the case), where known.
    pub names: BTreeMap<String, String>,
}

/// One line of the sidebar.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SidebarEntry {
    /// A circle's id, or "drafts".
    pub id: String,
    pub name: String,
    pub cases: usize,
    pub unread: usize,
}

impl Engine {
    /// The case with everything the case view shows; it counts as read from now on.
    pub fn open_case(&mut self, id: &CaseId) -> Result<CaseView> {
        let case = self.case(id)?;
        let db = self.vault.db();
        let origin = db.shares().origin(id)?;
        let circle_names: HashMap<Vec<u8>, String> = db
            .circles()
            .all()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let case_circles = db.shares().circles_of(id)?;
        let mut names = BTreeMap::new();
        for c in &case_circles {
            for (account, name, _) in db.circles().member_profiles(c)? {
                names.insert(account, name);
            }
        }
        names.insert(self.identity.account_id(), db.profile()?.name);
        let circles = case_circles
            .iter()
            .map(|c| {
                circle_names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| "a circle you left".into())
            })
            .collect();
        let polls = self.polls(id)?;
        self.vault.db().cases().mark_read(id)?;
        Ok(CaseView {
            own: origin.is_none(),
            author: origin.map(|(_, author)| author),
            circles,
            polls,
            names,
            case,
        })
    }

    /// "My drafts" and each circle, with how many cases each holds and how many are unread.
    pub fn sidebar(&self) -> Result<Vec<SidebarEntry>> {
        let counts = self.vault.db().cases().counts()?;
        let mut out = vec![SidebarEntry {
            id: "drafts".into(),
            name: "My drafts".into(),
            cases: counts.drafts.cases,
            unread: counts.drafts.unread,
        }];
        for c in self.vault.db().circles().all()? {
            let count = counts.circles.get(&c.id).copied().unwrap_or_default();
            out.push(SidebarEntry {
                id: hex::encode(&c.id),
                name: c.name,
                cases: count.cases,
                unread: count.unread,
            });
        }
        Ok(out)
    }
}

/// What is left of a case its author retracted: who, where and when; nothing of its content.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RetractedCase {
    pub case: String,
    /// The circle it came from (its name), for a received one.
    pub circle: Option<String>,
    /// Its author's name as the circle knows it (`None`: this profile).
    pub author: Option<String>,
    pub retracted_at: consilium_model::Timestamp,
}

impl Engine {
    /// The cases retracted by their authors, the latest first, for the case list.
    pub fn retracted_cases(&self) -> Result<Vec<RetractedCase>> {
        let db = self.vault.db();
        let mut out = Vec::new();
        for t in db.tombstones()? {
            let (circle, author) = match &t.from {
                Some((circle, account)) => {
                    let name = db
                        .circles()
                        .member_profiles(circle)?
                        .into_iter()
                        .find(|(a, _, _)| a == account)
                        .map(|(_, name, _)| name)
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| account.chars().take(8).collect());
                    let circle = db.circles().get(circle).map(|c| c.name).ok();
                    (circle, Some(name))
                }
                None => (None, None),
            };
            out.push(RetractedCase {
                case: t.case.to_string(),
                circle,
                author,
                retracted_at: t.retracted_at,
            });
        }
        Ok(out)
    }
}
