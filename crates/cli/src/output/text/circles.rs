//! The text of circles, members, join requests, a sync and the events it reports.

use std::fmt::Write as _;

use consilium_client::{
    CircleInfo, Event, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo, SyncReport,
    Verification,
};

use super::words::count;

fn display_name(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("member {}", &m.account[..12])
    } else {
        m.name.clone()
    }
}

pub(super) fn identity(out: &mut String, i: &IdentityInfo) {
    say!(out, "{}", format!("{} ({})", i.name, i.specialty));
    say!(out, "{}", format!("account {}", i.account));
    say!(out, "{}", format!("this laptop's key {}", i.device));
}

pub(super) fn circles(out: &mut String, list: &[CircleInfo]) {
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

pub(super) fn joined(out: &mut String, j: &JoinSent) {
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

pub(super) fn requests(out: &mut String, list: &[JoinRequestInfo]) {
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
        if r.returning {
            say!(
                out,
                "    already a member: asks back in from a new laptop; approving takes the old one out"
            );
        }
    }
}

pub(super) fn members(out: &mut String, list: &[MemberInfo], circle: &CircleInfo) {
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

pub(super) fn sync_report(out: &mut String, r: &SyncReport) {
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
        Event::ProfileRestoredElsewhere { circle } => format!(
            "WARNING: a new laptop asks into circle {} as you, from a backup of your profile; if this is not you, tell your colleagues not to let it in",
            short(circle)
        ),
        Event::DeviceChanged { member, .. } => format!(
            "member {} now uses a new laptop; the old one reads nothing from now on",
            short(member)
        ),
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
