//! Conformance reports: per-case results, the capability matrix, and renderers for text,
//! JSON, Markdown and JUnit XML.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The case held.
    Passed,
    /// A required case, or a case of an advertised capability, did not hold.
    Failed,
    /// The case belongs to a capability the backend does not advertise, and it did not hold.
    Unsupported,
    /// The case belongs to a capability the backend does not advertise, yet it held: the
    /// backend may be able to advertise the capability.
    UnexpectedlyWorks,
    /// The case could not run (a prerequisite it needs is missing); not a failure.
    Skipped,
}

impl Status {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Unsupported => "unsupported",
            Status::UnexpectedlyWorks => "unexpectedly_works",
            Status::Skipped => "skipped",
        }
    }
    /// A short symbol for tables.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Passed => "✅ pass",
            Status::Failed => "❌ FAIL",
            Status::Unsupported => "➖ unsupported",
            Status::UnexpectedlyWorks => "⚠️ unexpectedly works",
            Status::Skipped => "⏭ skipped",
        }
    }
}

/// Whether a case is required or tied to a capability flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "flags")]
pub enum Requirement {
    /// Every backend must pass it.
    Required,
    /// Backends that advertise all these capability flags must pass it.
    Capability(Vec<String>),
}

impl Requirement {
    /// `required` or `capability:a+b`.
    pub fn label(&self) -> String {
        match self {
            Requirement::Required => "required".into(),
            Requirement::Capability(c) => format!("capability:{}", c.join("+")),
        }
    }
}

/// The result of one named case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case name, `area.case_name`.
    pub name: String,
    /// Required or capability.
    pub requirement: Requirement,
    /// Whether the backend advertises the capability (always `true` for required cases).
    pub advertised: bool,
    /// Outcome.
    pub status: Status,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Failure reason or note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The results of one area (storage, queue or compute) against one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// `storage`, `queue` or `compute`.
    pub area: String,
    /// A label of the backend under test (scheme, provider or URL without secrets).
    pub backend: String,
    /// The capability flags the backend advertised.
    pub capabilities: BTreeMap<String, serde_json::Value>,
    /// Case results in run order.
    pub cases: Vec<CaseResult>,
    /// Notes (e.g. how the queue under test was obtained).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the run was made against (simulator, emulator, embedded, real account), for the
    /// certification ladder ([`crate::certify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<crate::certify::Target>,
}

impl Section {
    /// Cases with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }
}

/// A conformance report: one or more sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run id (also the storage prefix / queue names / instance tag of this run).
    pub run_id: String,
    /// When the run started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Total wall time in milliseconds.
    pub duration_ms: u64,
    /// Sections in run order.
    pub sections: Vec<Section>,
}

impl Report {
    /// When `GUREUM_CONFORMANCE_RESULTS_DIR` is set, record this report there
    /// ([`crate::certify::ResultsDir::record`]: the run is appended to
    /// `history/<area>-<backend>.jsonl`; a full run also becomes `<area>-<backend>.json` and
    /// `.md`). CI uses this to refresh docs/conformance/results/. Errors are logged, never
    /// fatal.
    pub fn export_if_requested(&self) {
        let Ok(dir) = std::env::var("GUREUM_CONFORMANCE_RESULTS_DIR") else {
            return;
        };
        if let Err(e) = crate::certify::ResultsDir::new(&dir).record(self) {
            eprintln!("could not write conformance results to {dir}: {e}");
        }
    }

    /// An empty report.
    pub fn new(run_id: impl Into<String>) -> Self {
        Report {
            run_id: run_id.into(),
            started_at: chrono::Utc::now(),
            duration_ms: 0,
            sections: Vec::new(),
        }
    }

    /// Append the sections of another report.
    pub fn merge(&mut self, other: Report) {
        self.duration_ms += other.duration_ms;
        self.sections.extend(other.sections);
    }

    /// Every case of every section.
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.sections.iter().flat_map(|s| s.cases.iter())
    }

    /// Look a case up by name.
    pub fn case(&self, name: &str) -> Option<&CaseResult> {
        self.cases().find(|c| c.name == name)
    }

    /// The status of a case by name.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.case(name).map(|c| c.status)
    }

    /// Number of cases with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.cases().filter(|c| c.status == status).count()
    }
    /// Number of failed cases (required or advertised capability).
    pub fn failed(&self) -> usize {
        self.count(Status::Failed)
    }
    /// Number of passed cases.
    pub fn passed(&self) -> usize {
        self.count(Status::Passed)
    }
    /// Number of unsupported cases.
    pub fn unsupported(&self) -> usize {
        self.count(Status::Unsupported)
    }
    /// Whether no case failed.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }
    /// Names of the failed cases.
    pub fn failures(&self) -> Vec<&str> {
        self.cases()
            .filter(|c| c.status == Status::Failed)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Render in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => self.to_json(),
            Format::Markdown => self.to_markdown(),
            Format::Junit => self.to_junit(),
            Format::Html => crate::html::render(self, &crate::html::Extra::default()),
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} unsupported, {} unexpectedly works, {} skipped ({} cases, {:.1} s)",
            self.passed(),
            self.failed(),
            self.unsupported(),
            self.count(Status::UnexpectedlyWorks),
            self.count(Status::Skipped),
            self.cases().count(),
            self.duration_ms as f64 / 1000.0
        )
    }

    /// Plain text, one line per case.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "gureum conformance run {}", self.run_id);
        for sec in &self.sections {
            let _ = writeln!(s, "\n== {} ({}) ==", sec.area, sec.backend);
            for n in &sec.notes {
                let _ = writeln!(s, "note: {n}");
            }
            let caps: Vec<String> = sec
                .capabilities
                .iter()
                .map(|(k, v)| format!("{k}={}", cap_value(v)))
                .collect();
            let _ = writeln!(s, "capabilities: {}", caps.join(" "));
            for c in &sec.cases {
                let _ = write!(
                    s,
                    "{:<20} {:<55} {:>7} ms  [{}]",
                    c.status.as_str().to_uppercase(),
                    c.name,
                    c.duration_ms,
                    c.requirement.label()
                );
                if let Some(m) = &c.message {
                    let _ = write!(s, "  {}", one_line(m));
                }
                s.push('\n');
            }
        }
        let _ = writeln!(s, "\n{}", self.summary_line());
        s
    }

    /// Markdown: summary, capability matrix and a pass/fail/unsupported table per backend.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# gureum conformance results\n");
        let _ = writeln!(
            s,
            "Run `{}` started {} — {}\n",
            self.run_id,
            self.started_at.format("%Y-%m-%d %H:%M UTC"),
            self.summary_line()
        );
        // Summary table.
        let _ = writeln!(
            s,
            "| area | backend | passed | failed | unsupported | unexpectedly works | skipped |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
        for sec in &self.sections {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                sec.area,
                md(&sec.backend),
                sec.count(Status::Passed),
                sec.count(Status::Failed),
                sec.count(Status::Unsupported),
                sec.count(Status::UnexpectedlyWorks),
                sec.count(Status::Skipped)
            );
        }
        // Capability matrix: one table per area, columns = backends.
        let mut areas: Vec<&str> = Vec::new();
        for sec in &self.sections {
            if !areas.contains(&sec.area.as_str()) {
                areas.push(&sec.area);
            }
        }
        for area in &areas {
            let secs: Vec<&Section> = self.sections.iter().filter(|x| &x.area == area).collect();
            let _ = writeln!(s, "\n## {area}: capability matrix\n");
            let mut flags: Vec<&String> = Vec::new();
            for sec in &secs {
                for k in sec.capabilities.keys() {
                    if !flags.contains(&k) {
                        flags.push(k);
                    }
                }
            }
            let _ = write!(s, "| capability |");
            for sec in &secs {
                let _ = write!(s, " {} |", md(&sec.backend));
            }
            let _ = write!(s, "\n|---|");
            for _ in &secs {
                let _ = write!(s, "---|");
            }
            s.push('\n');
            for f in flags {
                let _ = write!(s, "| `{f}` |");
                for sec in &secs {
                    let v = sec.capabilities.get(f).map(cap_value).unwrap_or_default();
                    let _ = write!(s, " {} |", md(&v));
                }
                s.push('\n');
            }
            // Case table: rows = cases, columns = backends.
            let _ = writeln!(s, "\n## {area}: cases\n");
            let mut names: Vec<(&str, String)> = Vec::new();
            for sec in &secs {
                for c in &sec.cases {
                    if !names.iter().any(|(n, _)| *n == c.name) {
                        names.push((&c.name, c.requirement.label()));
                    }
                }
            }
            let _ = write!(s, "| case | requirement |");
            for sec in &secs {
                let _ = write!(s, " {} |", md(&sec.backend));
            }
            let _ = write!(s, "\n|---|---|");
            for _ in &secs {
                let _ = write!(s, "---|");
            }
            s.push('\n');
            for (n, req) in &names {
                let _ = write!(s, "| `{n}` | {req} |");
                for sec in &secs {
                    let cell = sec
                        .cases
                        .iter()
                        .find(|c| c.name == *n)
                        .map(|c| c.status.symbol())
                        .unwrap_or("");
                    let _ = write!(s, " {cell} |");
                }
                s.push('\n');
            }
            // Details of everything that did not simply pass.
            let mut details = String::new();
            for sec in &secs {
                for c in &sec.cases {
                    {
                        if let Some(m) = &c.message {
                            let _ = writeln!(
                                details,
                                "- {} `{}` — {}: {}",
                                md(&sec.backend),
                                c.name,
                                c.status.as_str(),
                                md(&one_line(m))
                            );
                        }
                    }
                }
            }
            if !details.is_empty() {
                let _ = writeln!(s, "\n### {area}: notes\n\n{details}");
            }
        }
        s
    }

    /// JUnit XML: one `<testsuite>` per section; unsupported and skipped cases are
    /// `<skipped/>` with the reason.
    pub fn to_junit(&self) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            s,
            "<testsuites name=\"gureum-conformance\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
            self.cases().count(),
            self.failed(),
            self.duration_ms as f64 / 1000.0
        );
        for sec in &self.sections {
            let time: u64 = sec.cases.iter().map(|c| c.duration_ms).sum();
            let skipped = sec.count(Status::Unsupported) + sec.count(Status::Skipped);
            let _ = writeln!(
                s,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
                xml(&format!("{} ({})", sec.area, sec.backend)),
                sec.cases.len(),
                sec.count(Status::Failed),
                skipped,
                time as f64 / 1000.0,
                self.started_at.format("%Y-%m-%dT%H:%M:%S")
            );
            let _ = writeln!(s, "    <properties>");
            let _ = writeln!(
                s,
                "      <property name=\"run_id\" value=\"{}\"/>",
                xml(&self.run_id)
            );
            for (k, v) in &sec.capabilities {
                let _ = writeln!(
                    s,
                    "      <property name=\"capability.{}\" value=\"{}\"/>",
                    xml(k),
                    xml(&cap_value(v))
                );
            }
            let _ = writeln!(s, "    </properties>");
            for c in &sec.cases {
                let _ = write!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(&format!("gureum.conformance.{}", sec.area)),
                    xml(&c.name),
                    c.duration_ms as f64 / 1000.0
                );
                let msg = c.message.clone().unwrap_or_default();
                match c.status {
                    Status::Passed if msg.is_empty() => s.push_str("/>\n"),
                    Status::Passed => {
                        let _ = write!(
                            s,
                            ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                            xml(&msg)
                        );
                    }
                    Status::UnexpectedlyWorks => {
                        let _ = write!(
                            s,
                            ">\n      <system-out>unexpectedly works: capability not advertised ({})</system-out>\n    </testcase>\n",
                            xml(&c.requirement.label())
                        );
                    }
                    Status::Failed => {
                        let _ = write!(
                            s,
                            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                            xml(&one_line(&msg)),
                            xml(&c.requirement.label()),
                            xml(&msg)
                        );
                    }
                    Status::Unsupported | Status::Skipped => {
                        let _ = write!(
                            s,
                            ">\n      <skipped message=\"{}: {}\"/>\n    </testcase>\n",
                            c.status.as_str(),
                            xml(&one_line(&msg))
                        );
                    }
                }
            }
            let _ = writeln!(s, "  </testsuite>");
        }
        s.push_str("</testsuites>\n");
        s
    }
}

/// Output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Plain text.
    #[default]
    Text,
    /// JSON.
    Json,
    /// Markdown (capability matrix and case tables).
    #[value(alias = "md")]
    Markdown,
    /// JUnit XML.
    #[value(alias = "xml")]
    Junit,
    /// One self-contained HTML page (no network): capability matrix, per-case outcomes with
    /// timings and failure details, levels and run history (see [`crate::html`]).
    Html,
}

pub(crate) fn cap_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(true) => "yes".into(),
        serde_json::Value::Bool(false) => "no".into(),
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn one_line(s: &str) -> String {
    let mut l: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if l.len() > 300 {
        let mut cut = 300;
        while !l.is_char_boundary(cut) {
            cut -= 1;
        }
        l.truncate(cut);
        l.push('…');
    }
    l
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escape text for XML attributes and content (also drops characters XML 1.0 forbids).
pub(crate) fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(ch),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("run-1");
        let mut caps = BTreeMap::new();
        caps.insert("presign".to_string(), serde_json::Value::Bool(false));
        r.sections.push(Section {
            area: "storage".into(),
            backend: "mem".into(),
            capabilities: caps,
            notes: vec![],
            target: None,
            cases: vec![
                CaseResult {
                    name: "storage.a".into(),
                    requirement: Requirement::Required,
                    advertised: true,
                    status: Status::Passed,
                    duration_ms: 1,
                    message: None,
                },
                CaseResult {
                    name: "storage.b<&>".into(),
                    requirement: Requirement::Capability(vec!["presign".into()]),
                    advertised: false,
                    status: Status::Unsupported,
                    duration_ms: 1,
                    message: Some("unsupported: \"x\"".into()),
                },
                CaseResult {
                    name: "storage.c".into(),
                    requirement: Requirement::Required,
                    advertised: true,
                    status: Status::Failed,
                    duration_ms: 1,
                    message: Some("boom\u{1}".into()),
                },
            ],
        });
        r
    }

    #[test]
    fn renders_every_format() {
        let r = sample();
        assert_eq!(r.failed(), 1);
        assert_eq!(r.failures(), vec!["storage.c"]);
        let j = r.to_junit();
        assert!(j.contains("<failure message=\"boom\\u{1}\""), "{j}");
        assert!(j.contains("storage.b&lt;&amp;&gt;"), "{j}");
        assert!(j.contains("<skipped message=\"unsupported"), "{j}");
        let m = r.to_markdown();
        assert!(m.contains("| `presign` | no |"), "{m}");
        assert!(m.contains("| `storage.c` | required | ❌ FAIL |"), "{m}");
        let back: Report = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert!(r.to_text().contains("FAILED"));
    }
}
