//! `consilium`: the command-line face of the Consilium engine. Each subcommand is a few lines
//! over one `consilium_client::Engine` call; what it prints is in `output`.

mod args;
mod circles;
mod output;
mod secret;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use consilium_client::model::{CaseFields, CaseFilter, Rendition};
use consilium_client::{
    Engine, EngineConfig, ImportRequest, RedactRequest, Redaction, case_from_toml,
};

use crate::args::{BackupCommand, CaseCommand, Cli, Command, PassphraseCommand};
use crate::output::{Output, Shown};

fn main() -> ExitCode {
    // A panic anywhere (a bug) still ends as one line on stderr and exit status 1.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Usage errors, like every other error, are one line.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::FAILURE;
        }
    };
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: internal error (this is a bug in Consilium; your vault was not changed by it)"
            );
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, without repeating a cause its parent already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

/// Writes the output; a reader that went away (closed pipe) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn profile_dir(cli: &Cli) -> Result<PathBuf> {
    if let Some(p) = &cli.profile {
        return Ok(p.clone());
    }
    directories::ProjectDirs::from("org", "Consilium", "consilium")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| anyhow!("no home directory found; pass --profile DIR"))
}

fn run(cli: Cli) -> Result<()> {
    let dir = profile_dir(&cli)?;
    let out = Output::new(cli.json);
    let result = run_command(cli, &dir, &out);
    write_stdout(&out.take())?;
    result
}

fn run_command(cli: Cli, dir: &std::path::Path, out: &Output) -> Result<()> {
    let config = EngineConfig::default();
    match cli.command {
        Command::Init { name, specialty } => {
            let pass = secret::new_passphrase("CONSILIUM_PASSPHRASE", "Choose a passphrase")?;
            let engine = Engine::init(dir, &pass, &name, &specialty, config)?;
            out.show(&Shown::ProfileCreated {
                dir,
                profile: &engine.profile()?,
            });
        }
        Command::Passphrase(PassphraseCommand::Change) => {
            let current = secret::passphrase("CONSILIUM_PASSPHRASE", "Current passphrase")?;
            let engine = Engine::unlock(dir, &current, config)?;
            let new = secret::new_passphrase("CONSILIUM_NEW_PASSPHRASE", "New passphrase")?;
            engine.change_passphrase(&current, &new)?;
            out.show(&Shown::Message("passphrase changed"));
        }
        Command::Backup(BackupCommand::Restore { dir: backup }) => {
            let code = secret::recovery_code("CONSILIUM_RECOVERY_CODE")?;
            let pass = secret::new_passphrase(
                "CONSILIUM_PASSPHRASE",
                "Choose a passphrase for the restored profile",
            )?;
            let (engine, outcome) = Engine::restore(&backup, &code, dir, &pass, config)?;
            out.show(&Shown::Restored {
                dir,
                outcome: &outcome,
            });
            engine.lock();
        }
        Command::Backup(BackupCommand::Create { dir: into }) => {
            let outcome = unlock(dir, config)?.back_up(&into)?;
            out.show(&Shown::BackedUp(&outcome));
        }
        Command::Backup(BackupCommand::Status) => {
            let status = unlock(dir, config)?.backup_status()?;
            out.show(&Shown::BackupStatus(status.as_ref()));
        }
        Command::Case(cmd) => run_case(&mut unlock(dir, config)?, *cmd, out)?,
        other => circles::run(&mut unlock(dir, config)?, other, out)?,
    }
    Ok(())
}

fn unlock(dir: &std::path::Path, config: EngineConfig) -> Result<Engine> {
    let pass = secret::passphrase("CONSILIUM_PASSPHRASE", "Passphrase")?;
    Ok(Engine::unlock(dir, &pass, config)?)
}

fn run_case(engine: &mut Engine, cmd: CaseCommand, out: &Output) -> Result<()> {
    match cmd {
        CaseCommand::New { fields, from_file } => {
            let fields = match from_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    case_from_toml(&text)?
                }
                None => {
                    let mut f = CaseFields::default();
                    fields.into_patch().apply(&mut f);
                    f
                }
            };
            let id = engine.create_case(fields)?;
            out.show(&Shown::Created { id: id.to_string() });
        }
        CaseCommand::List {
            status,
            tag,
            specialty,
            circle,
        } => {
            let filter = CaseFilter {
                status,
                specialty,
                tag,
                ..CaseFilter::default()
            };
            let cases = match circle {
                Some(circle) => engine.circle_cases(&circle, &filter)?,
                None => engine.list_cases(&filter)?,
            };
            out.show(&Shown::Cases(&cases));
        }
        CaseCommand::Show { id } => {
            let id = engine.resolve_case_id(&id)?;
            out.show(&Shown::Case {
                case: &engine.case(&id)?,
                polls: &engine.polls(&id)?,
                findings: &engine.scan_case(&id, &[])?,
                report: engine.deid_report(&id)?.as_ref(),
            });
        }
        CaseCommand::Search { query } => out.show(&Shown::SearchHits(&engine.search(&query)?)),
        CaseCommand::Edit { id, fields, review } => {
            let id = engine.resolve_case_id(&id)?;
            let patch = fields.into_patch();
            circles::acknowledge(engine, &id, &review, &patch.texts())?;
            let revision = engine.edit_case(&id, patch)?;
            out.show(&Shown::Updated {
                id: id.to_string(),
                result: format!("revision {revision}"),
            });
        }
        CaseCommand::Delete { id, retract: true } | CaseCommand::Retract { id } => {
            let id = engine.resolve_case_id(&id)?;
            let circles = engine.retract_case(&id)?;
            let _ = engine.sync();
            out.show(&Shown::Updated {
                id: id.to_string(),
                result: format!(
                    "retracted from {circles} circle(s); colleagues' copies are erased as they sync"
                ),
            });
        }
        CaseCommand::Retracted => out.show(&Shown::Retracted(&engine.tombstones()?)),
        CaseCommand::Delete { id, retract: false } => {
            let id = engine.resolve_case_id(&id)?;
            engine.delete_case(&id)?;
            out.show(&Shown::Updated {
                id: id.to_string(),
                result: "deleted from this computer".into(),
            });
        }
        CaseCommand::Resolve {
            id,
            outcome,
            review,
        } => {
            let id = engine.resolve_case_id(&id)?;
            circles::acknowledge(engine, &id, &review, std::slice::from_ref(&outcome))?;
            engine.resolve_case(&id, &outcome)?;
            out.show(&Shown::Updated {
                id: id.to_string(),
                result: "resolved".into(),
            });
        }
        CaseCommand::Comment {
            id,
            text,
            reply_to,
            review,
        } => circles::comment(engine, &id, &text, reply_to.as_deref(), &review, out)?,
        CaseCommand::Names { id, names, clear } => {
            let id = engine.resolve_case_id(&id)?;
            if clear || !names.is_empty() {
                engine.set_case_names(&id, &names)?;
            }
            out.show(&Shown::Names(&engine.case_names(&id)?));
        }
        CaseCommand::Scan { id } => {
            let id = engine.resolve_case_id(&id)?;
            out.show(&Shown::Findings(&engine.scan_case(&id, &[])?));
        }
        CaseCommand::Attach {
            id,
            files,
            redact,
            frame,
        } => {
            let id = engine.resolve_case_id(&id)?;
            let request = ImportRequest {
                redactions: parse_rects(&redact)?,
                frame: frame.map(|f| f - 1),
            };
            let bar = out.progress_bar(files.len());
            let attached = engine.attach_files(&id, &files, &request, &mut |p| {
                bar.set_position(p.done as u64)
            })?;
            bar.finish_and_clear();
            out.show(&Shown::Attachments {
                case: &id,
                attachments: &attached,
            });
        }
        CaseCommand::Redact {
            id,
            attachment_id,
            accept_proposals,
            rects,
        } => {
            let id = engine.resolve_case_id(&id)?;
            let request = RedactRequest {
                rects: parse_rects(&rects)?,
                accept_proposals,
                reviewed: false,
            };
            let att = engine.redact_attachment(&id, &attachment_id.parse()?, &request)?;
            out.show(&Shown::Attachments {
                case: &id,
                attachments: &[att],
            });
        }
        CaseCommand::CopyImaging { id, attachment_id } => {
            let id = engine.resolve_case_id(&id)?;
            let revision = engine.copy_imaging(&id, &attachment_id.parse()?)?;
            out.show(&Shown::Updated {
                id: id.to_string(),
                result: format!("revision {revision}"),
            });
        }
        CaseCommand::Review { id, attachment_id } => {
            let id = engine.resolve_case_id(&id)?;
            let att = engine.review_attachment(&id, &attachment_id.parse()?)?;
            out.show(&Shown::Attachments {
                case: &id,
                attachments: &[att],
            });
        }
        CaseCommand::Frame {
            id,
            attachment_id,
            file,
            frame,
        } => {
            let id = engine.resolve_case_id(&id)?;
            let att =
                engine.choose_frame_from_file(&id, &attachment_id.parse()?, &file, frame - 1)?;
            out.show(&Shown::Attachments {
                case: &id,
                attachments: &[att],
            });
        }
        CaseCommand::ExportAttachment {
            id,
            attachment_id,
            out_file,
            rendition,
        } => {
            let id = engine.resolve_case_id(&id)?;
            let rendition = Rendition::parse(&rendition).ok_or_else(|| {
                anyhow!("unknown rendition '{rendition}': use full, preview or thumbnail")
            })?;
            let bytes =
                engine.export_attachment(&id, &attachment_id.parse()?, rendition, &out_file)?;
            out.show(&Shown::Exported {
                path: &out_file,
                bytes,
            });
        }
    }
    Ok(())
}

fn parse_rects(rects: &[String]) -> Result<Vec<Redaction>> {
    Ok(rects
        .iter()
        .map(|r| r.parse::<Redaction>())
        .collect::<Result<Vec<_>, _>>()?)
}
