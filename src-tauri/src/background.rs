//! What runs beside the window: the local relay it starts when none is running, and the sync
//! that sends what is queued and brings in what circles posted, waking on the relays' push
//! notifications. The sync holds the engine only for a pass, never while it waits, and reports
//! to the window as events; a relay that cannot be reached is reported as "offline, will retry".

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;

use consilium_client::{Event, NewsWaiter, SyncReport, local_relay};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event as _;

use crate::commands::events::SyncState;
use crate::layout::Layout;
use crate::session::Session;

/// Longest wait between passes when no relay pushes anything (also the retry time when offline).
const IDLE: Duration = Duration::from_secs(20);

/// How long a pass cut short for a command waits before it starts again, so the command takes
/// the engine first.
const AFTER_COMMAND: Duration = Duration::from_millis(200);

/// How long a relay has to answer its health check before a pass counts it offline.
const PROBE: Duration = Duration::from_secs(5);

/// Starts this OS user's local relay (`local_relay`, a port of the user's own) in this process
/// if nothing listens there yet. Returns it to keep alive; `None` when another relay (another
/// window's, or `scripts/run.sh`'s) already runs.
/// Only once the port is ours is an old installation's relay data moved (`Layout::relay_data`):
/// a relay already serving it is never moved from under.
pub fn embedded_relay(layout: &Layout) -> Option<consilium_relay::Background> {
    let here = local_relay();
    let listener = TcpListener::bind(here.trim_start_matches("http://")).ok()?;
    let mut config = consilium_relay::RelayConfig::new(
        layout.relay_data(),
        std::sync::Arc::new(consilium_client::SystemClock),
    );
    // It listens on 127.0.0.1 only, for this laptop's profiles.
    config.admission = consilium_relay::Admission::Open;
    match consilium_relay::Background::start(listener, config) {
        Ok(relay) => {
            log::info!("started the local relay on {here}");
            Some(relay)
        }
        Err(e) => {
            log::warn!("the local relay could not start: {e}");
            None
        }
    }
}

/// Runs the sync loop on its own thread for as long as the app lives.
pub fn start_sync(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("sync".into())
        .spawn(move || {
            // What passes cut short did, told with the next whole pass.
            let mut carried = SyncReport::default();
            loop {
                let session = app.state::<Session>();
                match pass(&app, &session, &mut carried) {
                    Pass::Done(waiter) => waiter.wait_with(IDLE, session.kick.notified()),
                    // A command took the engine: let it have it, then take up the pass.
                    Pass::CutShort => std::thread::sleep(AFTER_COMMAND),
                    Pass::Locked => tauri::async_runtime::block_on(async {
                        let _ = tokio::time::timeout(IDLE, session.kick.notified()).await;
                    }),
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("the sync thread could not start: {e}");
    }
}

/// What a pass came to.
enum Pass {
    /// Wait on these relays for news.
    Done(NewsWaiter),
    /// A window command wanted the engine: the pass let go of it (see `Session::with`).
    CutShort,
    Locked,
}

/// One sync pass with the engine held. The relays are asked first, without the engine: one
/// that hangs is reported offline while the window's commands go on; and a command that
/// wants the engine during the pass has it within moments (`Interrupt::want`).
/// A pass cut short leaves what it did in `carried`; the next whole pass reports it (a
/// commit it sent changes what the window shows as much as one sent by a whole pass).
fn pass(app: &AppHandle, session: &Session, carried: &mut SyncReport) -> Pass {
    let (waiter, queued) = {
        let mut guard = session.engine();
        let Some(engine) = guard.as_mut() else {
            return Pass::Locked;
        };
        (engine.news_waiter(), engine.queued().unwrap_or(0))
    };
    if let Some(why) = waiter.unreachable(PROBE) {
        log::info!("sync: a relay is offline, will retry");
        let _ = SyncState {
            offline: Some(why),
            sent: 0,
            queued,
            failed: Vec::new(),
            error: None,
            events: Vec::new(),
        }
        .emit(app);
        return Pass::Done(waiter);
    }
    let mut guard = session.engine();
    let Some(engine) = guard.as_mut() else {
        return Pass::Locked;
    };
    let result = match engine.sync() {
        // Its report is partial: the window keeps showing the last whole one until the next.
        Ok(partial) if partial.cut_short => {
            let mut so_far = partial;
            so_far.carry(std::mem::take(carried));
            *carried = so_far;
            return Pass::CutShort;
        }
        Ok(mut whole) => {
            whole.carry(std::mem::take(carried));
            Ok(whole)
        }
        Err(e) => Err(e),
    };
    // The backup, when due, into the folder that holds it (a drive not plugged in is said in
    // the log and seen in the settings' "last backup"; the next pass tries again).
    if result.is_ok() {
        let every = session.settings().backup_every_hours;
        match engine.back_up_if_due(every) {
            Ok(Some(b)) => log::info!("backup {}: {} files written", b.sequence, b.files_written),
            Ok(None) => {}
            Err(e) => log::warn!("the scheduled backup did not run: {:?}", e.code()),
        }
    }
    // The pass may have joined or left circles: wait on the relays as they are now.
    let waiter = engine.news_waiter();
    let circle_names: HashMap<String, String> = match &result {
        Ok(r) if r.events.iter().any(notifies) => engine
            .circles()
            .map(|cs| cs.into_iter().map(|c| (c.id, c.name)).collect())
            .unwrap_or_default(),
        _ => HashMap::new(),
    };
    drop(guard);
    let state = match result {
        Ok(report) => {
            log_pass(&report);
            notify(app, &report.events, &circle_names);
            SyncState {
                offline: report.offline,
                sent: report.sent as u64,
                queued: report.queued,
                failed: report.failed,
                error: None,
                events: report.events,
            }
        }
        Err(e) => {
            log::warn!("sync pass failed: {:?}", e.code());
            SyncState {
                offline: None,
                sent: 0,
                queued: 0,
                failed: Vec::new(),
                error: Some(e.to_public()),
                events: Vec::new(),
            }
        }
    };
    let _ = state.emit(app);
    Pass::Done(waiter)
}

/// Counts only: no case text, no names.
fn log_pass(r: &SyncReport) {
    log::info!(
        "sync: sent {}, received {}, rejected {}, queued {}, offline {}",
        r.sent,
        r.received,
        r.rejected,
        r.queued,
        r.offline.is_some()
    );
}

fn notifies(e: &Event) -> bool {
    matches!(
        e,
        Event::CaseReceived { .. }
            | Event::CaseRetracted { .. }
            | Event::CommentReceived { .. }
            | Event::JoinRequested { .. }
            | Event::MessagesMissing { .. }
            | Event::ForkSuspected { .. }
            | Event::DeviceChanged { .. }
            | Event::ProfileRestoredElsewhere { .. }
    )
}

/// Desktop notifications name the circle and what happened, never a case's text or a patient.
fn notify(app: &AppHandle, events: &[Event], circles: &HashMap<String, String>) {
    for e in events.iter().filter(|e| notifies(e)) {
        let (Event::CaseReceived { circle, .. }
        | Event::CaseRetracted { circle, .. }
        | Event::CommentReceived { circle, .. }
        | Event::JoinRequested { circle, .. }
        | Event::MessagesMissing { circle, .. }
        | Event::ForkSuspected { circle, .. }
        | Event::DeviceChanged { circle, .. }
        | Event::ProfileRestoredElsewhere { circle }) = e
        else {
            continue;
        };
        let name = circles.get(circle).map(String::as_str).unwrap_or("a");
        let body = match e {
            Event::CaseReceived { .. } => format!("New case in {name} circle"),
            // Its copy is already erased here: the words say where it went.
            Event::CaseRetracted { .. } => {
                format!("A case in {name} circle was retracted by its author and erased here")
            }
            Event::CommentReceived { .. } => format!("New comment in {name} circle"),
            // A warning that must be seen: the relay may be withholding a colleague's messages.
            Event::MessagesMissing { missing, .. } => format!(
                "Warning: {missing} message(s) from a colleague in {name} circle never arrived; the relay may be withholding them"
            ),
            // The relay may have split the circle: the epoch codes tell.
            Event::ForkSuspected { .. } => format!(
                "Warning: a colleague's message in {name} circle does not decrypt; the relay may be showing you different circles. Compare the epoch code with them"
            ),
            // Told so a colleague whose laptop was not lost can say so at once.
            Event::DeviceChanged { .. } => format!(
                "A colleague in {name} circle now uses a new laptop; the old one reads nothing from now on. If they did not change laptops, call them"
            ),
            Event::ProfileRestoredElsewhere { .. } => format!(
                "Warning: a new laptop asks into {name} circle as you, from a backup of your profile. If this is not you, tell your colleagues at once not to let it in"
            ),
            _ => format!("Someone asks to join {name} circle"),
        };
        let shown = app
            .notification()
            .builder()
            .title("Consilium")
            .body(body)
            .show();
        if let Err(e) = shown {
            log::debug!("notification not shown: {e}");
        }
    }
}
