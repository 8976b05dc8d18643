//! What the CLI prints. A command hands what it produced to `Output::show` as a `Shown` value;
//! one printer per format turns it into words (`text`) or JSON (`json`, typed structures whose
//! shapes `docs/cli-json.md` lists, generated from this printer by a test). Everything is
//! collected and written out at the end, so a reader that closes the pipe early (`| head`)
//! ends the output quietly instead of failing mid-line.

mod json;
mod shown;
mod text;

pub use shown::{Sending, Shown};

use std::cell::RefCell;

#[derive(Debug, Default)]
pub struct Output {
    json: bool,
    buf: RefCell<String>,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            buf: RefCell::default(),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn show(&self, shown: &Shown<'_>) {
        let mut buf = self.buf.borrow_mut();
        if self.json {
            json::print(&mut buf, shown);
        } else {
            text::print(&mut buf, shown);
            // An unreachable relay is said on stderr, so stdout stays the ids a script reads.
            if let Shown::Sent(s) | Shown::Voted { sending: s, .. } = shown
                && let Some(why) = &s.offline
            {
                eprintln!("offline, will retry: {why} (queued; run `consilium sync` later)");
            }
        }
    }

    /// Everything printed so far.
    pub fn take(&self) -> String {
        std::mem::take(&mut *self.buf.borrow_mut())
    }

    /// A bar on stderr when several files are imported (hidden when stderr is not a terminal).
    pub fn progress_bar(&self, total: usize) -> indicatif::ProgressBar {
        if total < 2 || self.json {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("importing {bar:30} {pos}/{len} images")
        {
            bar.set_style(style);
        }
        bar
    }
}
