//! The text printer: what each command produced, in words for a person at a terminal.

use std::fmt::Write as _;

use consilium_client::model::{Attachment, Case, CaseSummary, SearchHit};
use consilium_client::{CaseDeidReport, PollView, TextFinding};

use super::shown::Shown;

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

mod backup;
mod circles;
mod words;

use backup::{backed_up, backup_status, restored};
use circles::{circles, identity, joined, members, requests, sync_report};

pub(super) fn print(out: &mut String, shown: &Shown<'_>) {
    match shown {
        Shown::Created { id } => say!(out, "{id}"),
        Shown::Updated { id, result } => say!(out, "{id} {result}"),
        Shown::Message(text) | Shown::InviteCode(text) => say!(out, "{text}"),
        Shown::ProfileCreated { dir, profile } => {
            say!(
                out,
                "profile created for {} in {}",
                profile.name,
                dir.display()
            )
        }
        Shown::Cases(cases) => case_list(out, cases),
        Shown::Retracted(tombstones) => {
            if tombstones.is_empty() {
                say!(out, "no case was retracted");
            }
            for t in tombstones.iter() {
                let by = if t.from.is_some() {
                    "its author"
                } else {
                    "you"
                };
                say!(
                    out,
                    "{}  retracted by {by} on {}; nothing of it is left here",
                    &t.case.to_string()[..12],
                    t.retracted_at.date()
                );
            }
        }
        Shown::SearchHits(hits) => search_hits(out, hits),
        Shown::Case {
            case: c,
            polls: p,
            findings: f,
            report,
        } => case(out, c, p, f, *report),
        Shown::Names(names) => {
            if names.is_empty() {
                say!(out, "no names listed for this case");
            }
            for n in *names {
                say!(out, "{n}");
            }
        }
        Shown::Findings(found) => findings_lines(out, found),
        Shown::Attachments { case, attachments } => {
            for a in *attachments {
                say!(out, "{}  {}×{} {}", a.id, a.width, a.height, a.mime);
                report_lines(out, &case.to_string(), a);
            }
        }
        Shown::Exported { path, bytes } => say!(out, "wrote {} ({bytes} bytes)", path.display()),
        Shown::Sent(s) => say!(out, "{}", s.id),
        Shown::Voted { poll, .. } => {
            let tally: Vec<String> = poll
                .options
                .iter()
                .map(|(o, n)| format!("{o}: {n}"))
                .collect();
            say!(out, "voted; tally: {}", tally.join(", "));
        }
        Shown::Identity(i) => identity(out, i),
        Shown::Circles(list) => circles(out, list),
        Shown::JoinSent(j) => joined(out, j),
        Shown::Requests(list) => requests(out, list),
        Shown::Members(list, circle) => members(out, list, circle),
        Shown::Sync(r) => sync_report(out, r),
        Shown::BackedUp(b) => backed_up(out, b),
        Shown::BackupStatus(status) => backup_status(out, *status),
        Shown::Restored { dir, outcome } => restored(out, dir, outcome),
    }
}

fn case_list(out: &mut String, cases: &[CaseSummary]) {
    if cases.is_empty() {
        return say!(out, "no cases");
    }
    for c in cases {
        let tags = if c.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.tags.join(", "))
        };
        let spec = if c.specialty.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.specialty)
        };
        say!(
            out,
            "{}  {:<8}  {}  {}{spec}{tags}",
            &c.id.to_string()[..12],
            c.status,
            c.updated_at.date(),
            c.title
        );
    }
}

fn search_hits(out: &mut String, hits: &[SearchHit]) {
    if hits.is_empty() {
        return say!(out, "no matches");
    }
    for h in hits {
        say!(
            out,
            "{}  {}\n    {}: {}",
            &h.id.to_string()[..12],
            h.title,
            h.field,
            h.snippet.replace('\n', " ")
        );
    }
}

fn case(
    out: &mut String,
    c: &Case,
    polls: &[PollView],
    findings: &[TextFinding],
    report: Option<&CaseDeidReport>,
) {
    let f = &c.fields;
    say!(
        out,
        "{}\n{}  (revision {}, {}, updated {})",
        f.title,
        c.id,
        c.revision,
        c.status,
        c.updated_at.date()
    );
    let mut line = |label: &str, value: String| {
        if !value.trim().is_empty() {
            say!(
                out,
                "{label:>18}: {}",
                value.replace('\n', &format!("\n{:>20}", ""))
            );
        }
    };
    line(
        "age band",
        f.age_band.map(|a| a.to_string()).unwrap_or_default(),
    );
    line("sex", f.sex.map(|s| s.to_string()).unwrap_or_default());
    line("specialty", f.specialty.clone());
    line("urgency", f.urgency.to_string());
    line("chief complaint", f.chief_complaint.clone());
    line("history", f.history.clone());
    line("examination", f.examination.clone());
    line("investigations", f.investigations.clone());
    line(
        "timeline",
        f.timeline
            .iter()
            .map(|e| format!("day {}: {}", e.day, e.event))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    line("working diagnosis", f.working_diagnosis.clone());
    line("differential", f.differential.join("; "));
    line(
        "question",
        match f.question_kind {
            Some(k) => format!("[{k}] {}", f.question),
            None => f.question.clone(),
        },
    );
    line("tags", f.tags.join(", "));
    line("outcome", c.outcome.clone().unwrap_or_default());
    findings_lines(out, findings);
    if !c.attachments.is_empty() {
        say!(out, "attachments:");
        for a in &c.attachments {
            say!(
                out,
                "  {}  {} {}×{} {} bytes",
                a.id,
                a.mime,
                a.width,
                a.height,
                a.size,
            );
            report_lines(out, &c.id.to_string(), a);
        }
    }
    if !c.comments.is_empty() {
        say!(out, "comments:");
        for m in &c.comments {
            let reply = m
                .reply_to
                .as_ref()
                .map(|r| format!(" ↳ {}", &r.to_string()[..8]))
                .unwrap_or_default();
            say!(
                out,
                "  {} {} ({}){reply}: {}",
                &m.id.to_string()[..8],
                m.author,
                m.created_at.date(),
                m.body
            );
        }
    }
    poll_lines(out, polls);
    if let Some(r) = report {
        deid_report(out, r);
    }
}

fn findings_lines(out: &mut String, found: &[TextFinding]) {
    if found.is_empty() {
        say!(out, "text scan: nothing found");
        return;
    }
    say!(out, "text scan:");
    for f in found {
        let state = if f.acknowledged {
            "acknowledged as not an identifier"
        } else {
            "to resolve before sharing"
        };
        say!(
            out,
            "  {} in {}: “{}” ({state}; {})",
            f.kind.describe(),
            f.field.replace('_', " "),
            f.matched,
            f.label()
        );
    }
}

fn deid_report(out: &mut String, r: &CaseDeidReport) {
    let shared = r
        .last_shared_at
        .map(|t| format!("; last shared {}", t.date()))
        .unwrap_or_default();
    say!(
        out,
        "de-identification report ({}{shared}):",
        r.made_at.date()
    );
    say!(out, "  names listed for the scan: {}", r.names_listed);
    if r.text.is_empty() {
        say!(out, "  text: nothing found");
    }
    for t in &r.text {
        say!(
            out,
            "  text: {} “{}” in {}: {}",
            t.kind.describe(),
            t.matched,
            t.field.replace('_', " "),
            t.resolution.describe()
        );
    }
    for i in &r.images {
        let waits = if i.pending.is_empty() {
            String::new()
        } else {
            format!(" — waits: {}", i.pending.join("; "))
        };
        say!(out, "  image {}: {}{waits}", i.position, i.summary);
    }
    say!(
        out,
        "  {}",
        if r.complete() {
            "complete: nothing waits for you"
        } else {
            "incomplete: resolve what is open before sharing"
        }
    );
}

fn poll_lines(out: &mut String, polls: &[PollView]) {
    for p in polls {
        say!(out, "poll {}:", &p.id[..8]);
        for (i, (option, votes)) in p.options.iter().enumerate() {
            let mine = if p.my_vote == Some(i as u32) {
                "  (your vote)"
            } else {
                ""
            };
            say!(out, "  {}. {option}: {votes}{mine}", i + 1);
        }
    }
}

fn report_lines(out: &mut String, case: &str, a: &Attachment) {
    let r = &a.report;
    let short = &case[..12.min(case.len())];
    say!(out, "      {}", r.summary());
    if let Some(d) = &r.dicom {
        let kept: Vec<String> = [("modality", &d.modality), ("body part", &d.body_part)]
            .iter()
            .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
            .collect();
        if !kept.is_empty() {
            say!(out, "      DICOM kept: {}", kept.join(", "));
        }
        if d.frames > 1 {
            say!(
                out,
                "      another frame: consilium case frame {short} {} FILE N (N from 1 to {})",
                a.id,
                d.frames
            );
        }
    }
    for p in &r.proposals {
        say!(
            out,
            "      proposed {} redaction: {},{},{},{}",
            p.kind.as_str(),
            p.x,
            p.y,
            p.w,
            p.h
        );
    }
    let pending = r.pending_review();
    if !pending.is_empty() {
        let accept = if r.proposals.is_empty() {
            ""
        } else {
            " --accept-proposals"
        };
        say!(
            out,
            "      NOT SHAREABLE YET: {}\n      redact: consilium case redact {short} {}{accept} [--rect X,Y,W,H]…\n      then, having looked at it: consilium case review {short} {}",
            pending.join("; "),
            a.id,
            a.id
        );
    }
}
