//! What the CLI prints: words for people, or JSON with `--json`.

use std::path::Path;

use consilium_client::model::{Attachment, Case, CaseId, CaseSummary, SearchHit, Timestamp};
use consilium_client::{CaseDeidReport, PollView, Profile, TextFinding};
use serde_json::{Value, json};

/// Collects what a command prints; `main` writes it out at the end, so a reader that closes the
/// pipe early (`| head`) ends the output quietly instead of failing mid-line.
#[derive(Debug, Default)]
pub struct Printer {
    pub json: bool,
    buf: std::cell::RefCell<String>,
}

macro_rules! say {
    ($p:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($p.buf.borrow_mut(), $($arg)*);
    }};
}

/// An attachment as JSON, with the report's one-line summary added for readers.
fn attachment_json(a: &Attachment) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("report_summary".into(), json!(a.report.summary()));
    }
    v
}

fn date(t: Timestamp) -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm), UTC.
    let days = t.0.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl Printer {
    pub fn new(json: bool) -> Printer {
        Printer {
            json,
            buf: Default::default(),
        }
    }

    /// Everything printed so far.
    pub fn take(&self) -> String {
        std::mem::take(&mut *self.buf.borrow_mut())
    }

    /// One line of text output.
    pub fn line(&self, text: &str) {
        say!(self, "{text}")
    }

    pub fn print_json(&self, v: &Value) {
        say!(
            self,
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
        );
    }

    pub fn created(&self, id: &str) {
        if self.json {
            self.print_json(&json!({ "id": id }))
        } else {
            say!(self, "{id}")
        }
    }

    pub fn updated(&self, id: &str, what: &str) {
        if self.json {
            self.print_json(&json!({ "id": id, "result": what }))
        } else {
            say!(self, "{id} {what}")
        }
    }

    pub fn message(&self, text: &str) {
        if self.json {
            self.print_json(&json!({ "result": text }))
        } else {
            say!(self, "{text}")
        }
    }

    pub fn created_profile(&self, dir: &Path, p: &Profile) {
        if self.json {
            self.print_json(
                &json!({ "id": dir.display().to_string(), "name": p.name, "specialty": p.specialty }),
            );
        } else {
            say!(self, "profile created for {} in {}", p.name, dir.display());
        }
    }

    pub fn case_list(&self, cases: &[CaseSummary]) {
        if self.json {
            return self.print_json(&serde_json::to_value(cases).unwrap_or(Value::Null));
        }
        if cases.is_empty() {
            return say!(self, "no cases");
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
                self,
                "{}  {:<8}  {}  {}{spec}{tags}",
                &c.id.to_string()[..12],
                c.status,
                date(c.updated_at),
                c.title
            );
        }
    }

    pub fn search_hits(&self, hits: &[SearchHit]) {
        if self.json {
            return self.print_json(&serde_json::to_value(hits).unwrap_or(Value::Null));
        }
        if hits.is_empty() {
            return say!(self, "no matches");
        }
        for h in hits {
            say!(
                self,
                "{}  {}\n    {}: {}",
                &h.id.to_string()[..12],
                h.title,
                h.field,
                h.snippet.replace('\n', " ")
            );
        }
    }

    /// A case, its polls, and what the text scan finds in it (the text part of its
    /// de-identification report; each image's part is listed with it).
    pub fn case(
        &self,
        c: &Case,
        polls: &[PollView],
        findings: &[TextFinding],
        report: Option<&CaseDeidReport>,
    ) {
        if self.json {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "text_findings".into(),
                    serde_json::to_value(findings).unwrap_or(Value::Null),
                );
                o.insert(
                    "deid_report".into(),
                    serde_json::to_value(report).unwrap_or(Value::Null),
                );
                o.insert(
                    "attachments".into(),
                    Value::Array(c.attachments.iter().map(attachment_json).collect()),
                );
                o.insert(
                    "polls".into(),
                    serde_json::to_value(polls).unwrap_or(Value::Null),
                );
            }
            return self.print_json(&v);
        }
        let f = &c.fields;
        say!(
            self,
            "{}\n{}  (revision {}, {}, updated {})",
            f.title,
            c.id,
            c.revision,
            c.status,
            date(c.updated_at)
        );
        let line = |label: &str, value: String| {
            if !value.trim().is_empty() {
                say!(
                    self,
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
        self.findings_lines(findings);
        if !c.attachments.is_empty() {
            say!(self, "attachments:");
            for a in &c.attachments {
                say!(
                    self,
                    "  {}  {} {}×{} {} bytes",
                    a.id,
                    a.mime,
                    a.width,
                    a.height,
                    a.size,
                );
                self.report_lines(&c.id.to_string(), a);
            }
        }
        if !c.comments.is_empty() {
            say!(self, "comments:");
            for m in &c.comments {
                let reply = m
                    .reply_to
                    .as_ref()
                    .map(|r| format!(" ↳ {}", &r.to_string()[..8]))
                    .unwrap_or_default();
                say!(
                    self,
                    "  {} {} ({}){reply}: {}",
                    &m.id.to_string()[..8],
                    m.author,
                    date(m.created_at),
                    m.body
                );
            }
        }
        self.polls(polls);
        if let Some(r) = report {
            self.deid_report(r);
        }
    }

    pub fn names(&self, names: &[String]) {
        if self.json {
            return self.print_json(&json!({ "names": names }));
        }
        if names.is_empty() {
            say!(self, "no names listed for this case");
        }
        for n in names {
            say!(self, "{n}");
        }
    }

    pub fn text_findings(&self, found: &[TextFinding]) {
        if self.json {
            return self.print_json(&serde_json::to_value(found).unwrap_or(Value::Null));
        }
        self.findings_lines(found);
    }

    fn findings_lines(&self, found: &[TextFinding]) {
        if found.is_empty() {
            say!(self, "text scan: nothing found");
            return;
        }
        say!(self, "text scan:");
        for f in found {
            let state = if f.acknowledged {
                "acknowledged as not an identifier"
            } else {
                "to resolve before sharing"
            };
            say!(
                self,
                "  {} in {}: “{}” ({state}; {})",
                f.kind.describe(),
                f.field.replace('_', " "),
                f.matched,
                f.label()
            );
        }
    }

    /// The case's de-identification report: the names listed (counted, not shown), each finding
    /// of the text scan with how it was resolved, each image's part, and whether anything waits.
    fn deid_report(&self, r: &CaseDeidReport) {
        let shared = r
            .last_shared_at
            .map(|t| format!("; last shared {}", date(t)))
            .unwrap_or_default();
        say!(
            self,
            "de-identification report ({}{shared}):",
            date(r.made_at)
        );
        say!(self, "  names listed for the scan: {}", r.names_listed);
        if r.text.is_empty() {
            say!(self, "  text: nothing found");
        }
        for t in &r.text {
            say!(
                self,
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
            say!(self, "  image {}: {}{waits}", i.position, i.summary);
        }
        say!(
            self,
            "  {}",
            if r.complete() {
                "complete: nothing waits for you"
            } else {
                "incomplete: resolve what is open before sharing"
            }
        );
    }

    fn polls(&self, polls: &[PollView]) {
        for p in polls {
            say!(self, "poll {}:", &p.id[..8]);
            for (i, (option, votes)) in p.options.iter().enumerate() {
                let mine = if p.my_vote == Some(i as u32) {
                    "  (your vote)"
                } else {
                    ""
                };
                say!(self, "  {}. {option}: {votes}{mine}", i + 1);
            }
        }
    }

    pub fn attachments(&self, case: &CaseId, atts: &[Attachment]) {
        if self.json {
            return self.print_json(&Value::Array(atts.iter().map(attachment_json).collect()));
        }
        for a in atts {
            say!(self, "{}  {}×{} {}", a.id, a.width, a.height, a.mime);
            self.report_lines(&case.to_string(), a);
        }
    }

    /// An image's part of the de-identification report: what was removed, what DICOM kept, the
    /// proposed face redactions and what still waits for the author, with the commands to settle it.
    fn report_lines(&self, case: &str, a: &Attachment) {
        let r = &a.report;
        let short = &case[..12.min(case.len())];
        say!(self, "      {}", r.summary());
        if let Some(d) = &r.dicom {
            let kept: Vec<String> = [("modality", &d.modality), ("body part", &d.body_part)]
                .iter()
                .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
                .collect();
            if !kept.is_empty() {
                say!(self, "      DICOM kept: {}", kept.join(", "));
            }
            if d.frames > 1 {
                say!(
                    self,
                    "      another frame: consilium case frame {short} {} FILE N (N from 1 to {})",
                    a.id,
                    d.frames
                );
            }
        }
        for p in &r.proposals {
            say!(
                self,
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
                self,
                "      NOT SHAREABLE YET: {}\n      redact: consilium case redact {short} {}{accept} [--rect X,Y,W,H]…\n      then, having looked at it: consilium case review {short} {}",
                pending.join("; "),
                a.id,
                a.id
            );
        }
    }

    pub fn exported(&self, path: &Path, bytes: u64) {
        if self.json {
            self.print_json(&json!({ "id": path.display().to_string(), "bytes": bytes }));
        } else {
            say!(self, "wrote {} ({bytes} bytes)", path.display());
        }
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
