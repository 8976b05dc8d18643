//! The circle subcommands and the sharing verbs (`share`, `comment`, `poll`, `vote`, `sync`):
//! each a few lines over one engine call, and what it prints.

use std::time::Duration;

use anyhow::Result;
use consilium_client::model::CaseId;
use consilium_client::{
    CircleInfo, Direction, Engine, Event, IdentityInfo, JoinRequestInfo, JoinSent, MemberInfo,
    SyncReport,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::{CircleCommand, Command, ReviewArgs};
use crate::output::Printer;

/// A bar on stderr while encrypted images go up or come down (hidden off a terminal).
fn show_transfers(engine: &mut Engine, out: &Printer) {
    if out.json {
        return;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} images")
    {
        bar.set_style(style);
    }
    engine.on_transfer(move |t| {
        bar.set_message(match t.direction {
            Direction::Upload => "encrypting and uploading",
            Direction::Download => "downloading and checking",
        });
        bar.set_length(t.total as u64);
        bar.set_position(t.done as u64);
        if t.done == t.total {
            bar.finish_and_clear();
            bar.reset();
        }
    });
}

pub fn run(engine: &mut Engine, cmd: Command, out: &Printer) -> Result<()> {
    show_transfers(engine, out);
    match cmd {
        Command::Identity => identity(out, &engine.identity()?),
        Command::Circle(cmd) => circle(engine, cmd, out)?,
        Command::Share {
            case,
            circle,
            review,
        } => {
            let id = engine.resolve_case_id(&case)?;
            acknowledge(engine, &id, &review, &[])?;
            engine.share(&id, &circle)?;
            push(engine, out, &format!("case {} shared with {circle}", &case))?;
        }
        Command::Comment {
            case,
            text,
            reply_to,
            review,
        } => comment(engine, &case, &text, reply_to.as_deref(), &review, out)?,
        Command::Poll {
            case,
            options,
            review,
        } => {
            let id = engine.resolve_case_id(&case)?;
            acknowledge(engine, &id, &review, &options)?;
            let poll = engine.open_poll(&id, &options)?;
            push(engine, out, &poll.to_string())?;
        }
        Command::Vote { case, option } => {
            let id = engine.resolve_case_id(&case)?;
            let poll = engine.vote(&id, &option)?;
            if out.json {
                out.print_json(&to_json(&poll));
            } else {
                let tally: Vec<String> = poll
                    .options
                    .iter()
                    .map(|(o, n)| format!("{o}: {n}"))
                    .collect();
                out.line(&format!("voted; tally: {}", tally.join(", ")));
            }
            let _ = engine.sync();
        }
        Command::Sync { watch } => {
            if watch {
                engine.sync_watch(Duration::from_secs(30), &mut |r| {
                    // Printed as it comes: `--watch` runs until interrupted.
                    let printer = Printer::new(out.json);
                    sync_report(&printer, r);
                    print!("{}", printer.take());
                    true
                })?;
            } else {
                sync_report(out, &engine.sync()?);
            }
        }
        Command::Init { .. } | Command::Case(_) | Command::Passphrase(_) => {}
    }
    Ok(())
}

pub fn comment(
    engine: &mut Engine,
    case: &str,
    text: &str,
    reply_to: Option<&str>,
    review: &ReviewArgs,
    out: &Printer,
) -> Result<()> {
    let id = engine.resolve_case_id(case)?;
    acknowledge(engine, &id, review, &[text.to_string()])?;
    let reply_to = reply_to
        .map(|r| engine.resolve_comment(&id, r))
        .transpose()?;
    let comment = engine.comment(&id, text, reply_to.as_ref())?;
    push(engine, out, &comment.to_string())
}

/// Records the author's decisions on the text scan's findings (`--acknowledge`), if any, before
/// the command that sends the text.
pub fn acknowledge(
    engine: &Engine,
    case: &CaseId,
    review: &ReviewArgs,
    pending: &[String],
) -> Result<()> {
    if let Some(decisions) = review.decisions()? {
        engine.acknowledge(case, &decisions, pending)?;
    }
    Ok(())
}

/// After a change that goes to a circle: try to send it now; if the relay is out of reach it
/// stays queued, and the user is told.
fn push(engine: &mut Engine, out: &Printer, id: &str) -> Result<()> {
    let report = engine.sync()?;
    if out.json {
        out.print_json(&json!({ "id": id, "queued": report.queued, "offline": report.offline }));
    } else {
        out.line(id);
        if let Some(why) = report.offline {
            eprintln!("offline, will retry: {why} (queued; run `consilium sync` later)");
        }
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn circle(engine: &mut Engine, cmd: CircleCommand, out: &Printer) -> Result<()> {
    match cmd {
        CircleCommand::List => circles(out, &engine.circles()?),
        CircleCommand::Create { name, relay } => {
            let c = engine.create_circle(&name, &relay)?;
            let _ = engine.sync();
            circles(out, std::slice::from_ref(&c));
        }
        CircleCommand::Invite { circle } => {
            let code = engine.invite(&circle)?;
            if out.json {
                out.print_json(&json!({ "code": code }));
            } else {
                out.line(&code);
            }
        }
        CircleCommand::Join { code } => {
            let sent = engine.join(&code)?;
            let _ = engine.sync();
            joined(out, &sent);
        }
        CircleCommand::Requests { circle } => {
            let _ = engine.sync();
            requests(out, &engine.join_requests(&circle)?);
        }
        CircleCommand::Approve { circle, request } => {
            engine.approve(&circle, request)?;
            push(engine, out, &format!("request {request} approved"))?;
        }
        CircleCommand::Decline { circle, request } => {
            engine.decline(&circle, request)?;
            out.line(&format!("request {request} declined"));
        }
        CircleCommand::Members { circle } => members(out, &engine.members(&circle)?),
        CircleCommand::Verify {
            circle,
            member,
            safety_number,
        } => {
            let m = engine.verify_member(&circle, &member, &safety_number.join(" "))?;
            members(out, std::slice::from_ref(&m));
        }
        CircleCommand::Remove { circle, member } => {
            let m = engine.remove_member(&circle, &member)?;
            push(engine, out, &format!("{} removed", display_name(&m)))?;
        }
        CircleCommand::Leave { circle } => {
            engine.leave(&circle)?;
            push(
                engine,
                out,
                &format!("asked to leave {circle}; you are out once a member's client commits it"),
            )?;
        }
        CircleCommand::Rotate { circle } => {
            engine.rotate_keys(&circle)?;
            push(engine, out, "keys rotated")?;
        }
    }
    Ok(())
}

fn display_name(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("member {}", &m.account[..12])
    } else {
        m.name.clone()
    }
}

fn identity(out: &Printer, i: &IdentityInfo) {
    if out.json {
        return out.print_json(&to_json(i));
    }
    out.line(&format!("{} ({})", i.name, i.specialty));
    out.line(&format!("account {}", i.account));
}

fn circles(out: &Printer, list: &[CircleInfo]) {
    if out.json {
        return out.print_json(&to_json(&list));
    }
    if list.is_empty() {
        return out.line("no circles");
    }
    for c in list {
        out.line(&format!(
            "{}  {}  {} member{}, epoch {}, on {}",
            &c.id[..12],
            c.name,
            c.members,
            if c.members == 1 { "" } else { "s" },
            c.epoch,
            c.relay
        ));
    }
}

fn joined(out: &Printer, j: &JoinSent) {
    if out.json {
        return out.print_json(&to_json(j));
    }
    out.line(&format!(
        "asked to join {}; you will be in once an admin approves (then run `consilium sync`)",
        j.name
    ));
    out.line(&format!(
        "safety number with the inviter (compare it with them): {}",
        j.inviter_safety_number
    ));
}

fn requests(out: &Printer, list: &[JoinRequestInfo]) {
    if out.json {
        return out.print_json(&to_json(&list));
    }
    if list.is_empty() {
        return out.line("no join requests");
    }
    for r in list {
        out.line(&format!(
            "{}  {} ({})  {}\n    safety number: {}",
            r.id, r.name, r.specialty, r.state, r.safety_number
        ));
    }
}

fn members(out: &Printer, list: &[MemberInfo]) {
    if out.json {
        return out.print_json(&to_json(&list));
    }
    for m in list {
        let state = if m.is_me {
            "you".to_string()
        } else {
            serde_json::to_value(m.verification)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        out.line(&format!(
            "{}  {} ({})  {state}",
            &m.account[..12],
            display_name(m),
            m.specialty
        ));
        if !m.is_me {
            out.line(&format!("    safety number: {}", m.safety_number));
        }
    }
}

fn sync_report(out: &Printer, r: &SyncReport) {
    if out.json {
        return out.print_json(&to_json(r));
    }
    out.line(&format!(
        "sent {}, received {}, rejected {}, still queued {}",
        r.sent, r.received, r.rejected, r.queued
    ));
    for e in &r.events {
        if let Some(text) = event_text(e) {
            out.line(&text);
        }
    }
    for why in &r.failed {
        out.line(&format!("failed: {why}"));
    }
    if let Some(why) = &r.offline {
        out.line(&format!("offline, will retry: {why}"));
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
        Event::JoinRequested { name, request, .. } => {
            format!("join request {request} from {name}")
        }
        Event::Joined { name, .. } => format!("you joined {name}"),
        Event::RemovedFromCircle { circle } => {
            format!("you are no longer in circle {}", short(circle))
        }
        Event::MessageRejected { seq, reason, .. } => {
            format!("message {seq} was rejected and skipped: {reason}")
        }
        Event::AttachmentRejected { case, reason, .. } => {
            format!("an image of case {} was rejected: {reason}", short(case))
        }
    })
}
