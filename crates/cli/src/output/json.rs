//! The JSON printer (`--json`): each command's output as a typed structure, pretty-printed.
//! The shapes are listed, with an example of each, in `docs/cli-json.md`, which a test writes
//! from this printer (`the_json_shapes_are_documented`).

use consilium_client::model::{Attachment, Case};
use consilium_client::{CaseDeidReport, PollView, TextFinding};
use serde::Serialize;

use super::shown::{Sending, Shown};

/// `{"id": …}`: what was made (a case), or the file written with `bytes`.
#[derive(Serialize)]
struct Id<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

/// `{"id": …, "result": …}` after a change; `{"result": …}` for a sentence.
/// A case its author retracted: when, and (for a received one) its circle and author.
#[derive(Serialize)]
struct Retracted<'a> {
    case: String,
    circle: Option<String>,
    author: Option<&'a str>,
    retracted_at: consilium_client::model::Timestamp,
}

#[derive(Serialize)]
struct Done<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    result: &'a str,
}

#[derive(Serialize)]
struct ProfileCreated<'a> {
    /// The profile folder.
    id: String,
    name: &'a str,
    specialty: &'a str,
}

/// An attachment with its de-identification report in one line.
#[derive(Serialize)]
struct AttachmentOut<'a> {
    #[serde(flatten)]
    attachment: &'a Attachment,
    report_summary: String,
}

impl<'a> From<&'a Attachment> for AttachmentOut<'a> {
    fn from(a: &'a Attachment) -> Self {
        AttachmentOut {
            attachment: a,
            report_summary: a.report.summary(),
        }
    }
}

/// A case as `case show --json` prints it: the case's own fields, then what is added.
#[derive(Serialize)]
struct CaseOut<'a> {
    #[serde(flatten)]
    case: &'a Case,
    attachments: Vec<AttachmentOut<'a>>,
    polls: &'a [PollView],
    text_findings: &'a [TextFinding],
    deid_report: Option<&'a CaseDeidReport>,
}

#[derive(Serialize)]
struct Names<'a> {
    names: &'a [String],
}

#[derive(Serialize)]
struct Code<'a> {
    code: &'a str,
}

/// After something for a circle: its id (or what happened), what waits, and why the relay
/// could not be reached (`null` when it could).
#[derive(Serialize)]
struct SentOut<'a> {
    id: &'a str,
    queued: u64,
    offline: Option<&'a str>,
}

impl<'a> From<&'a Sending> for SentOut<'a> {
    fn from(s: &'a Sending) -> Self {
        SentOut {
            id: &s.id,
            queued: s.queued,
            offline: s.offline.as_deref(),
        }
    }
}

/// A restore: the new profile's folder and what came back.
#[derive(Serialize)]
struct RestoredOut<'a> {
    dir: String,
    #[serde(flatten)]
    outcome: &'a consilium_client::RestoreOutcome,
}

/// A vote: the poll's tally after it, and whether it went.
#[derive(Serialize)]
struct VotedOut<'a> {
    #[serde(flatten)]
    poll: &'a PollView,
    queued: u64,
    offline: Option<&'a str>,
}

pub(super) fn print(out: &mut String, shown: &Shown<'_>) {
    let text = match shown {
        Shown::Created { id } => to_json(&Id { id, bytes: None }),
        Shown::Updated { id, result } => to_json(&Done {
            id: Some(id),
            result,
        }),
        Shown::Message(text) => to_json(&Done {
            id: None,
            result: text,
        }),
        Shown::ProfileCreated { dir, profile } => to_json(&ProfileCreated {
            id: dir.display().to_string(),
            name: &profile.name,
            specialty: &profile.specialty,
        }),
        Shown::Cases(cases) => to_json(cases),
        Shown::Retracted(tombstones) => to_json(
            &tombstones
                .iter()
                .map(|t| Retracted {
                    case: t.case.to_string(),
                    circle: t.from.as_ref().map(|(c, _)| hex::encode(c)),
                    author: t.from.as_ref().map(|(_, a)| a.as_str()),
                    retracted_at: t.retracted_at,
                })
                .collect::<Vec<_>>(),
        ),
        Shown::SearchHits(hits) => to_json(hits),
        Shown::Case {
            case,
            polls,
            findings,
            report,
        } => to_json(&CaseOut {
            case,
            attachments: case.attachments.iter().map(AttachmentOut::from).collect(),
            polls,
            text_findings: findings,
            deid_report: *report,
        }),
        Shown::Names(names) => to_json(&Names { names }),
        Shown::Findings(found) => to_json(found),
        Shown::Attachments { attachments, .. } => to_json(
            &attachments
                .iter()
                .map(AttachmentOut::from)
                .collect::<Vec<_>>(),
        ),
        Shown::Exported { path, bytes } => to_json(&Id {
            id: &path.display().to_string(),
            bytes: Some(*bytes),
        }),
        Shown::Sent(s) => to_json(&SentOut::from(s)),
        Shown::Voted { poll, sending } => to_json(&VotedOut {
            poll,
            queued: sending.queued,
            offline: sending.offline.as_deref(),
        }),
        Shown::InviteCode(code) => to_json(&Code { code }),
        Shown::Identity(i) => to_json(i),
        Shown::Circles(list) => to_json(list),
        Shown::JoinSent(j) => to_json(j),
        Shown::Requests(list) => to_json(list),
        Shown::Members(list, _) => to_json(list),
        Shown::Sync(r) => to_json(r),
        Shown::BackedUp(b) => to_json(b),
        Shown::BackupStatus(status) => to_json(status),
        Shown::Restored { dir, outcome } => to_json(&RestoredOut {
            dir: dir.display().to_string(),
            outcome,
        }),
    };
    out.push_str(&text);
    out.push('\n');
}

/// Pretty JSON; these structures have string keys only, so encoding cannot fail.
fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    use consilium_client::model::{
        AttachmentId, CaseFields, CaseId, CaseSummary, Comment, CommentId, DeidReport, FindingKind,
        SearchHit, Status, Timestamp, Urgency,
    };
    use consilium_client::{
        CircleInfo, Event, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo, Profile,
        Resolution, SyncReport, TextEntry, Verification,
    };

    use super::*;

    const T: Timestamp = Timestamp(1_733_270_400_000);

    fn case_id() -> CaseId {
        "3f2a9c1d5e7b4a6c8d0e1f2a3b4c5d6e".parse().unwrap()
    }

    fn attachment() -> Attachment {
        Attachment {
            id: "a1b2c3d4e5f60718293a4b5c6d7e8f90"
                .parse::<AttachmentId>()
                .unwrap(),
            mime: "image/jpeg".into(),
            width: 1200,
            height: 1600,
            size: 184_320,
            report: DeidReport {
                source_format: "jpeg".into(),
                gps: true,
                output_format: "jpeg".into(),
                ..DeidReport::default()
            },
            created_at: T,
        }
    }

    fn poll() -> PollView {
        PollView {
            id: "7c1e0b2d3f4a5b6c7d8e9f0a1b2c3d4e".into(),
            options: vec![
                ("Treat empirically".into(), 0),
                ("Confirm with KOH first".into(), 1),
            ],
            my_vote: Some(1),
        }
    }

    fn finding() -> TextFinding {
        TextFinding {
            field: "history".into(),
            kind: FindingKind::Date,
            matched: "12/03/2024".into(),
            start: 17,
            end: 27,
            start_utf16: 17,
            end_utf16: 27,
            acknowledged: true,
        }
    }

    /// Each command and an example of what it prints with `--json`.
    fn examples() -> Vec<(&'static str, String)> {
        let case = Case {
            id: case_id(),
            fields: CaseFields {
                title: "Annular plaque on the forearm".into(),
                specialty: "Dermatology".into(),
                ..CaseFields::default()
            },
            status: Status::Open,
            outcome: None,
            revision: 2,
            created_at: T,
            updated_at: T,
            attachments: vec![attachment()],
            comments: vec![Comment {
                id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
                    .parse::<CommentId>()
                    .unwrap(),
                reply_to: None,
                author: "Dr Bruno Lefevre".into(),
                body: "A KOH prep would settle it.".into(),
                created_at: T,
            }],
        };
        let summary = CaseSummary {
            id: case_id(),
            title: case.fields.title.clone(),
            specialty: "Dermatology".into(),
            status: Status::Open,
            urgency: Urgency::Routine,
            tags: vec!["tinea".into()],
            revision: 2,
            attachment_count: 1,
            comment_count: 1,
            created_at: T,
            updated_at: T,
            received: false,
            unread: false,
        };
        let report = CaseDeidReport {
            images: vec![],
            text: vec![TextEntry {
                field: "history".into(),
                kind: FindingKind::Date,
                matched: "12/03/2024".into(),
                resolution: Resolution::Acknowledged,
            }],
            names_listed: 1,
            made_at: T,
            last_shared_at: Some(T),
        };
        let sending = |id: &str| Sending {
            id: id.into(),
            queued: 1,
            offline: Some("the relay http://127.0.0.1:8443 cannot be reached".into()),
        };
        let circle = CircleInfo {
            id: "9ab0…".into(),
            name: "Dermatology Lyon".into(),
            relay: "http://127.0.0.1:8443".into(),
            epoch: 3,
            epoch_code: "4821 0937".into(),
            members: 2,
            retention_days: Some(90),
        };
        let member = MemberInfo {
            account: "5e1f…".into(),
            name: "Dr Bruno Lefevre".into(),
            specialty: "Dermatology".into(),
            is_me: false,
            admin: true,
            safety_number: "12345 67890 …".into(),
            verification: Verification::Verified,
            name_shared: false,
        };
        let report_sync = SyncReport {
            sent: 1,
            received: 2,
            events: vec![Event::CommentReceived {
                circle: "9ab0…".into(),
                case: case_id().to_string(),
                comment: "0f1e…".into(),
            }],
            ..SyncReport::default()
        };
        let profile = Profile {
            name: "Dr Alice Martin".into(),
            specialty: "Dermatology".into(),
            created_at: T,
        };
        let print = |shown: Shown<'_>| {
            let mut out = String::new();
            super::print(&mut out, &shown);
            out
        };
        vec![
            (
                "init",
                print(Shown::ProfileCreated {
                    dir: Path::new("/home/alice/.local/share/consilium"),
                    profile: &profile,
                }),
            ),
            (
                "case new",
                print(Shown::Created {
                    id: case_id().to_string(),
                }),
            ),
            (
                "case edit, case copy-imaging",
                print(Shown::Updated {
                    id: case_id().to_string(),
                    result: "revision 2".into(),
                }),
            ),
            (
                "case resolve",
                print(Shown::Updated {
                    id: case_id().to_string(),
                    result: "resolved".into(),
                }),
            ),
            ("case list", print(Shown::Cases(&[summary]))),
            (
                "case retracted",
                print(Shown::Retracted(&[consilium_client::Tombstone {
                    case: case_id(),
                    from: Some((vec![0x9a, 0xb0], "5e1f…".into())),
                    retracted_at: T,
                }])),
            ),
            (
                "case search",
                print(Shown::SearchHits(&[SearchHit {
                    id: case_id(),
                    title: case.fields.title.clone(),
                    field: "comment".into(),
                    snippet: "a [KOH] prep".into(),
                }])),
            ),
            (
                "case show",
                print(Shown::Case {
                    case: &case,
                    polls: &[poll()],
                    findings: &[finding()],
                    report: Some(&report),
                }),
            ),
            ("case names", print(Shown::Names(&["Jeanne Dupont".into()]))),
            ("case scan", print(Shown::Findings(&[finding()]))),
            (
                "case attach, case redact, case review, case frame",
                print(Shown::Attachments {
                    case: &case_id(),
                    attachments: &[attachment()],
                }),
            ),
            (
                "case export",
                print(Shown::Exported {
                    path: Path::new("forearm.jpg"),
                    bytes: 184_320,
                }),
            ),
            (
                "passphrase change, circle decline",
                print(Shown::Message("passphrase changed")),
            ),
            (
                "share, comment, poll, circle approve, circle remove, circle leave, circle rotate",
                print(Shown::Sent(sending(
                    "case 3f2a9c1d shared with Dermatology Lyon",
                ))),
            ),
            (
                "vote",
                print(Shown::Voted {
                    poll: &poll(),
                    sending: sending("7c1e0b2d3f4a5b6c7d8e9f0a1b2c3d4e"),
                }),
            ),
            (
                "identity",
                print(Shown::Identity(&IdentityInfo {
                    account: "5e1f…".into(),
                    device: "c07a…".into(),
                    name: "Dr Alice Martin".into(),
                    specialty: "Dermatology".into(),
                })),
            ),
            (
                "circle list, circle create",
                print(Shown::Circles(std::slice::from_ref(&circle))),
            ),
            ("circle invite", print(Shown::InviteCode("consilium:…"))),
            (
                "circle join",
                print(Shown::JoinSent(&JoinSent {
                    circle: "9ab0…".into(),
                    name: "Dermatology Lyon".into(),
                    relay: "http://127.0.0.1:8443".into(),
                    inviter_safety_number: "12345 67890 …".into(),
                })),
            ),
            (
                "circle requests",
                print(Shown::Requests(&[JoinRequestInfo {
                    id: 1,
                    account: "5e1f…".into(),
                    name: "Dr Bruno Lefevre".into(),
                    specialty: "Dermatology".into(),
                    safety_number: "12345 67890 …".into(),
                    received_at: T,
                    state: "pending".into(),
                    returning: false,
                }])),
            ),
            (
                "circle members, circle verify",
                print(Shown::Members(&[member], &circle)),
            ),
            (
                "sync (one object per pass with --watch)",
                print(Shown::Sync(&report_sync)),
            ),
            (
                "backup create (recovery_code only on the first run into a folder)",
                print(Shown::BackedUp(&consilium_client::BackupOutcome {
                    dir: "/media/usb/consilium".into(),
                    recovery_code: Some("MZXW-6YTB-OI7Q-KLNB-QXGE-2CFS-EJ3D-WOQA".into()),
                    sequence: 1,
                    cases: 210,
                    image_files: 150,
                    files_written: 361,
                    files_removed: 0,
                    bytes_written: 48_213_004,
                })),
            ),
            (
                "backup status (null before the first backup)",
                print(Shown::BackupStatus(Some(&consilium_client::BackupStatus {
                    dir: "/media/usb/consilium".into(),
                    made_at: T,
                    sequence: 3,
                    erased_since: 1,
                }))),
            ),
            (
                "backup restore",
                print(Shown::Restored {
                    dir: std::path::Path::new("/home/alice/.local/share/consilium"),
                    outcome: &consilium_client::RestoreOutcome {
                        cases: 209,
                        image_files: 150,
                        circles_awaiting: vec!["Dermatology Lyon".into()],
                        backup_made_at: T,
                    },
                }),
            ),
        ]
    }

    fn document() -> String {
        let mut doc = String::from(
            "# What `consilium --json` prints\n\n\
             Generated from the CLI's JSON printer (`crates/cli/src/output/json.rs`) by the test \
             `the_json_shapes_are_documented`, which fails when this file is stale; do not edit \
             it by hand. Every command prints one JSON value on stdout; an error is one line \
             `error: …` on stderr with exit status 1. Ids are lower-case hex, times milliseconds \
             since 1970 (UTC). A field added later may appear; none is removed without a note \
             here.\n",
        );
        for (command, json) in examples() {
            doc.push_str(&format!("\n## `{command}`\n\n```json\n{json}```\n"));
        }
        doc
    }

    #[test]
    fn the_json_shapes_are_documented() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli-json.md");
        let fresh = document();
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            std::fs::write(&path, &fresh).unwrap();
            panic!(
                "{} was stale and has been written again; commit it",
                path.display()
            );
        }
    }

    #[test]
    fn a_vote_says_whether_it_reached_the_relay_like_a_share_does() {
        let mut out = String::new();
        print(
            &mut out,
            &Shown::Voted {
                poll: &poll(),
                sending: Sending {
                    id: "p".into(),
                    queued: 1,
                    offline: Some("down".into()),
                },
            },
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["queued"], 1);
        assert_eq!(v["offline"], "down");
        assert_eq!(v["options"][1][0], "Confirm with KOH first");
    }
}
