//! The text printer: what each command produced, in words for a person at a terminal.

use std::fmt::Write as _;

use consilium_client::model::{Attachment, Case, CaseSummary, SearchHit};
use consilium_client::{
    CaseDeidReport, CircleInfo, Event, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo,
    PollView, SyncReport, TextFinding, Verification,
};

use super::shown::Shown;

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// "1 member", "2 members".
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

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

fn display_name(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("member {}", &m.account[..12])
    } else {
        m.name.clone()
    }
}

fn identity(out: &mut String, i: &IdentityInfo) {
    say!(out, "{}", format!("{} ({})", i.name, i.specialty));
    say!(out, "{}", format!("account {}", i.account));
}

fn circles(out: &mut String, list: &[CircleInfo]) {
    if list.is_empty() {
        return say!(out, "no circles");
    }
    for c in list {
        say!(
            out,
            "{}",
            format!(
                "{}  {}  {}, epoch {} (code {}), on {}{}",
                &c.id[..12],
                c.name,
                count(c.members, "member"),
                c.epoch,
                c.epoch_code,
                c.relay,
                match c.retention_days {
                    Some(d) => format!("; cases kept {}", count(d as usize, "day")),
                    None => String::new(),
                }
            )
        );
    }
}

fn joined(out: &mut String, j: &JoinSent) {
    say!(
        out,
        "{}",
        format!(
            "asked to join {}; you will be in once an admin approves (then run `consilium sync`)",
            j.name
        )
    );
    say!(
        out,
        "{}",
        format!(
            "safety number with the inviter (compare it with them): {}",
            j.inviter_safety_number
        )
    );
}

fn requests(out: &mut String, list: &[JoinRequestInfo]) {
    if list.is_empty() {
        return say!(out, "no join requests");
    }
    for r in list {
        say!(
            out,
            "{}",
            format!(
                "{}  {} ({})  {}\n    safety number: {}",
                r.id,
                if r.name.is_empty() {
                    "(no name given)"
                } else {
                    &r.name
                },
                r.specialty,
                r.state,
                r.safety_number
            )
        );
    }
}

fn members(out: &mut String, list: &[MemberInfo], circle: &CircleInfo) {
    for m in list {
        let state = if m.is_me {
            "you".to_string()
        } else {
            match m.verification {
                Verification::Verified => "verified",
                Verification::Unverified => "unverified",
                Verification::Changed => "changed",
            }
            .to_string()
        };
        say!(
            out,
            "{}",
            format!(
                "{}  {} ({}){}{}  {state}",
                &m.account[..12],
                display_name(m),
                m.specialty,
                if m.admin { "  admin" } else { "" },
                if m.name_shared {
                    "  ! another member has this name: tell them apart by account"
                } else {
                    ""
                }
            )
        );
        if !m.is_me {
            say!(out, "{}", format!("    safety number: {}", m.safety_number));
        }
    }
    say!(
        out,
        "{}",
        format!(
            "key epoch {}, epoch code {}: compare it too when you compare safety numbers \
             (a different code at the same epoch means the relay shows you different circles)",
            circle.epoch, circle.epoch_code
        )
    );
}

fn sync_report(out: &mut String, r: &SyncReport) {
    say!(
        out,
        "{}",
        format!(
            "sent {}, received {}, rejected {}, still queued {}",
            r.sent, r.received, r.rejected, r.queued
        )
    );
    for e in &r.events {
        if let Some(text) = event_text(e) {
            say!(out, "{text}");
        }
    }
    for why in &r.failed {
        say!(out, "{}", format!("failed: {why}"));
    }
    if let Some(why) = &r.offline {
        say!(out, "{}", format!("offline, will retry: {why}"));
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// An event in words (ids only: the text of cases stays in `case show`).
fn event_text(e: &Event) -> Option<String> {
    Some(match e {
        Event::CaseReceived { case, .. } => format!("new case {}", short(case)),
        Event::CaseUpdated { case, .. } => format!("case {} updated", short(case)),
        Event::CaseRetracted { case, .. } => {
            format!("case {} retracted by its author", short(case))
        }
        Event::CaseExpired { case, .. } => {
            format!(
                "case {} erased: the circle keeps cases for less long",
                short(case)
            )
        }
        Event::RetentionChanged { days, .. } => match days {
            Some(d) => format!("the circle now keeps cases {}", count(*d as usize, "day")),
            None => "the circle now keeps cases for ever".into(),
        },
        Event::CommentReceived { case, .. } => format!("new comment on case {}", short(case)),
        Event::PollChanged { case, .. } => format!("poll changed on case {}", short(case)),
        Event::AttachmentStored { .. } => return None,
        Event::MembersChanged {
            circle,
            added,
            removed,
        } => format!(
            "circle {}: {} joined, {} left",
            short(circle),
            added.len(),
            removed.len()
        ),
        Event::JoinRequested { name, request, .. } if name.is_empty() => {
            format!("join request {request} from someone who gave no name")
        }
        Event::JoinRequested { name, request, .. } => {
            format!("join request {request} from {name}")
        }
        Event::Joined { name, .. } => format!("you joined {name}"),
        Event::RemovedFromCircle { circle } => {
            format!("you are no longer in circle {}", short(circle))
        }
        Event::SyncFailed {
            relay,
            circle,
            reason,
        } => match circle {
            Some(c) => format!("circle {} at {relay} was not synced: {reason}", short(c)),
            None => format!("the relay {relay} failed: {reason}"),
        },
        Event::MessagesMissing {
            circle,
            sender,
            missing,
        } => format!(
            "warning: {missing} message(s) from {} never reached you in circle {}; the relay may be withholding them",
            short(sender),
            short(circle)
        ),
        Event::ForkSuspected {
            circle,
            sender,
            epoch,
        } => format!(
            "warning: a message from {} at key epoch {epoch} of circle {} does not decrypt: the relay may be showing you two different circles; compare the epoch code (`consilium circle members`) with them by phone",
            short(sender),
            short(circle)
        ),
        Event::MessageRejected { seq, reason, .. } => {
            format!("message {seq} was rejected and skipped: {reason}")
        }
        Event::AttachmentRejected { case, reason, .. } => {
            format!("an image of case {} was rejected: {reason}", short(case))
        }
    })
}
