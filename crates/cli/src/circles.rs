//! The circle subcommands and the sharing verbs (`share`, `comment`, `poll`, `vote`, `sync`):
//! each a few lines over one engine call, and what it prints.

use std::time::Duration;

use anyhow::Result;
use consilium_client::model::CaseId;
use consilium_client::{ApprovalCheck, Direction, Engine, MemberInfo};

use crate::args::{CircleCommand, Command, ReviewArgs};
use crate::output::{Output, Sending, Shown};

/// A bar on stderr while encrypted images go up or come down (hidden off a terminal).
fn show_transfers(engine: &mut Engine, out: &Output) {
    if out.json() {
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

pub fn run(engine: &mut Engine, cmd: Command, out: &Output) -> Result<()> {
    show_transfers(engine, out);
    match cmd {
        Command::Identity => out.show(&Shown::Identity(&engine.identity()?)),
        Command::Circle(cmd) => circle(engine, cmd, out)?,
        Command::Share {
            case,
            circle,
            review,
        } => {
            let id = engine.resolve_case_id(&case)?;
            acknowledge(engine, &id, &review, &[])?;
            engine.share(&id, &circle)?;
            let sent = send(engine, format!("case {} shared with {circle}", &case))?;
            out.show(&Shown::Sent(sent));
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
            out.show(&Shown::Sent(send(engine, poll.to_string())?));
        }
        Command::Vote { case, option } => {
            let id = engine.resolve_case_id(&case)?;
            let poll = engine.vote(&id, &option)?;
            let sending = send(engine, poll.id.clone())?;
            out.show(&Shown::Voted {
                poll: &poll,
                sending,
            });
        }
        Command::Sync { watch } => {
            if watch {
                engine.sync_watch(Duration::from_secs(30), &mut |r| {
                    // Printed as it comes: `--watch` runs until interrupted.
                    let printer = Output::new(out.json());
                    printer.show(&Shown::Sync(r));
                    print!("{}", printer.take());
                    true
                })?;
            } else {
                out.show(&Shown::Sync(&engine.sync()?));
            }
        }
        Command::Init { .. } | Command::Case(_) | Command::Passphrase(_) | Command::Backup(_) => {}
    }
    Ok(())
}

pub fn comment(
    engine: &mut Engine,
    case: &str,
    text: &str,
    reply_to: Option<&str>,
    review: &ReviewArgs,
    out: &Output,
) -> Result<()> {
    let id = engine.resolve_case_id(case)?;
    acknowledge(engine, &id, review, &[text.to_string()])?;
    let reply_to = reply_to
        .map(|r| engine.resolve_comment(&id, r))
        .transpose()?;
    let comment = engine.comment(&id, text, reply_to.as_ref())?;
    out.show(&Shown::Sent(send(engine, comment.to_string())?));
    Ok(())
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
/// stays queued, and the printer tells the user.
fn send(engine: &mut Engine, id: String) -> Result<Sending> {
    let report = engine.sync()?;
    Ok(Sending {
        id,
        queued: report.queued,
        offline: report.offline,
    })
}

fn circle(engine: &mut Engine, cmd: CircleCommand, out: &Output) -> Result<()> {
    match cmd {
        CircleCommand::List => out.show(&Shown::Circles(&engine.circles()?)),
        CircleCommand::Create {
            name,
            relay,
            enrolment,
            relay_key,
        } => {
            if let Some(pin) = relay_key {
                engine.pin_relay_key_hex(&relay, &pin)?;
            }
            if let Some(code) = enrolment {
                engine.enrol(&relay, &code)?;
            }
            let c = engine.create_circle(&name, &relay)?;
            let _ = engine.sync();
            out.show(&Shown::Circles(std::slice::from_ref(&c)));
        }
        CircleCommand::Invite { circle } => {
            let code = engine.invite(&circle)?;
            out.show(&Shown::InviteCode(&code));
        }
        CircleCommand::Join { code } => {
            let sent = engine.join(&code)?;
            let _ = engine.sync();
            out.show(&Shown::JoinSent(&sent));
        }
        CircleCommand::Requests { circle } => {
            let _ = engine.sync();
            out.show(&Shown::Requests(&engine.join_requests(&circle)?));
        }
        CircleCommand::Approve {
            circle,
            request,
            safety_number,
            without_checking,
        } => {
            let check = if without_checking {
                ApprovalCheck::WithoutChecking
            } else {
                ApprovalCheck::SafetyNumber(safety_number.join(" "))
            };
            engine.approve(&circle, request, &check)?;
            out.show(&Shown::Sent(send(
                engine,
                format!("request {request} approved"),
            )?));
        }
        CircleCommand::Decline { circle, request } => {
            engine.decline(&circle, request)?;
            out.show(&Shown::Message(&format!("request {request} declined")));
        }
        CircleCommand::Members { circle } => out.show(&Shown::Members(
            &engine.members(&circle)?,
            &engine.circle(&circle)?,
        )),
        CircleCommand::Verify {
            circle,
            member,
            safety_number,
        } => {
            let m = engine.verify_member(&circle, &member, &safety_number.join(" "))?;
            out.show(&Shown::Members(
                std::slice::from_ref(&m),
                &engine.circle(&circle)?,
            ));
        }
        CircleCommand::Remove { circle, member } => {
            let m = engine.remove_member(&circle, &member)?;
            out.show(&Shown::Sent(send(
                engine,
                format!("{} removed", display_name(&m)),
            )?));
        }
        CircleCommand::MakeAdmin { circle, member } => {
            let m = engine.make_admin(&circle, &member)?;
            out.show(&Shown::Sent(send(
                engine,
                format!("{} is an admin", display_name(&m)),
            )?));
        }
        CircleCommand::Leave {
            circle,
            delete_cases,
        } => {
            engine.leave(&circle)?;
            let kept = if delete_cases {
                let n = engine.delete_received_cases(&circle)?;
                format!("its {n} received case(s) are erased here")
            } else {
                "the cases received there stay here (`circle delete-cases` erases them)".into()
            };
            let what = format!(
                "asked to leave {circle}; you are out once a member's client commits it; {kept}"
            );
            out.show(&Shown::Sent(send(engine, what)?));
        }
        CircleCommand::Retention { circle, days, .. } => {
            engine.set_retention(&circle, days)?;
            let what = match days {
                Some(d) => format!("{circle} keeps cases {d} day(s) on every member's laptop"),
                None => format!("{circle} keeps cases for ever"),
            };
            out.show(&Shown::Sent(send(engine, what)?));
        }
        CircleCommand::DeleteCases { circle } => {
            let n = engine.delete_received_cases(&circle)?;
            out.show(&Shown::Message(&format!(
                "{n} case(s) received in {circle} erased from this computer"
            )));
        }
        CircleCommand::Rotate { circle } => {
            engine.rotate_keys(&circle)?;
            out.show(&Shown::Sent(send(engine, "keys rotated".into())?));
        }
    }
    Ok(())
}

/// A member by the name they gave, or their account when they gave none.
fn display_name(m: &MemberInfo) -> String {
    if m.name.is_empty() {
        format!("member {}", &m.account[..12])
    } else {
        m.name.clone()
    }
}
