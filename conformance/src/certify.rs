//! The certification ladder: which level a backend has earned, computed from its recorded
//! runs (never typed by hand).
//!
//! The levels are defined in `docs/conformance/certification.md`; this module is their
//! executable form. In short, per area (storage, queue, compute) and backend:
//!
//! | level | needs |
//! |---|---|
//! | **alpha** | the latest run covers the whole suite; every required case and every case of an advertised capability passed; the cleanup case passed |
//! | **beta** | alpha, against an emulator, a real server, a real account or the embedded backend itself (not a simulator written by us); the last [`BETA_RUNS`] full runs all passed with identical outcomes per case (no flake); every [`reliability_cases`] check passed in each of them |
//! | **stable** | beta over the last [`STABLE_RUNS`] full runs, on at least [`STABLE_DAYS`] distinct UTC days, against a real account (or the embedded backend itself) |
//!
//! Runs are kept in a results directory: `<dir>/<area>-<backend>.json` is the latest full
//! report of a backend, `<dir>/history/<area>-<backend>.jsonl` one [`RunRecord`] per line.

use crate::report::{Report, Requirement, Section, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Full, flake-free runs needed for beta.
pub const BETA_RUNS: usize = 3;
/// Full, flake-free runs needed for stable.
pub const STABLE_RUNS: usize = 5;
/// Distinct UTC days the stable runs must span.
pub const STABLE_DAYS: usize = 2;

/// What a run was made against.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Not stated (counts as a simulator: proves the least).
    Unknown,
    /// An in-process simulator written from the provider's API reference.
    Simulator,
    /// A third-party emulator or a real server program run locally (moto, Azurite, Swift SAIO).
    Emulator,
    /// The backend is gureum's own embedded implementation (`mem://`, `file://`, `sqlite://`,
    /// `local://`): the code under test is the production code.
    Embedded,
    /// The provider's real service, with a real account.
    RealAccount,
}

impl Target {
    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Unknown => "unknown",
            Target::Simulator => "simulator",
            Target::Emulator => "emulator",
            Target::Embedded => "embedded",
            Target::RealAccount => "real-account",
        }
    }
    /// The highest level a run against this kind of target can support.
    pub fn ceiling(self) -> Level {
        match self {
            Target::Unknown | Target::Simulator => Level::Alpha,
            Target::Emulator => Level::Beta,
            Target::Embedded | Target::RealAccount => Level::Stable,
        }
    }
}

/// A certification level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Not even alpha.
    None,
    /// Works: one full run passed.
    Alpha,
    /// Dependable: repeated flake-free runs against a real implementation.
    Beta,
    /// Production: repeated flake-free runs against a real account over several days.
    Stable,
}

impl Level {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Alpha => "alpha",
            Level::Beta => "beta",
            Level::Stable => "stable",
        }
    }
}

/// One run of one area against one backend, as kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub run_id: String,
    /// When the run started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// `storage`, `queue` or `compute`.
    pub area: String,
    /// Backend label.
    pub backend: String,
    /// What the run was made against.
    pub target: Target,
    /// Wall time of the section's cases in milliseconds.
    pub duration_ms: u64,
    /// Whether every case of the area's suite was run (no `--only` filter).
    pub full: bool,
    /// Case name → status.
    pub statuses: BTreeMap<String, Status>,
    /// Case name → advertised (for capability cases).
    #[serde(default)]
    pub advertised: BTreeMap<String, bool>,
}

impl RunRecord {
    /// The record of `section` of `report`.
    pub fn of(report: &Report, section: &Section) -> Self {
        let names: BTreeSet<&str> = area_case_names(&section.area).into_iter().collect();
        let ran: BTreeSet<&str> = section.cases.iter().map(|c| c.name.as_str()).collect();
        RunRecord {
            run_id: report.run_id.clone(),
            started_at: report.started_at,
            area: section.area.clone(),
            backend: section.backend.clone(),
            target: section.target.unwrap_or(Target::Unknown),
            duration_ms: section.cases.iter().map(|c| c.duration_ms).sum(),
            full: !names.is_empty() && names.is_subset(&ran),
            statuses: section
                .cases
                .iter()
                .map(|c| (c.name.clone(), c.status))
                .collect(),
            advertised: section
                .cases
                .iter()
                .filter(|c| matches!(c.requirement, Requirement::Capability(_)))
                .map(|c| (c.name.clone(), c.advertised))
                .collect(),
        }
    }
    fn failed(&self) -> Vec<&str> {
        self.statuses
            .iter()
            .filter(|(_, s)| **s == Status::Failed)
            .map(|(n, _)| n.as_str())
            .collect()
    }
    /// Reliability checks that did not hold in this run.
    fn reliability_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        for c in reliability_cases(&self.area) {
            let adv = self.advertised.get(*c).copied().unwrap_or(true);
            match self.statuses.get(*c) {
                Some(Status::Passed) => {}
                Some(Status::Unsupported) | Some(Status::UnexpectedlyWorks) if !adv => {}
                Some(s) => gaps.push(format!("{c} {}", s.as_str())),
                None => gaps.push(format!("{c} not run")),
            }
        }
        gaps
    }
}

fn area_case_names(area: &str) -> Vec<&'static str> {
    match area {
        "storage" => crate::storage::case_names(),
        "queue" => crate::queue::case_names(),
        "compute" => crate::compute::case_names(),
        _ => vec![],
    }
}

/// The reliability checks of an area: cases that must pass (or, for an unadvertised
/// capability, be honestly unsupported) in every run counted for beta and stable.
pub fn reliability_cases(area: &str) -> &'static [&'static str] {
    match area {
        "storage" => &[
            "storage.read_after_overwrite_many",
            "storage.read_after_delete_not_found",
            "storage.list_after_write_immediate",
            "storage.list_after_delete_immediate",
            "storage.pages_list_all_crosses_native_page",
            "storage.pages_unaligned_page_size",
            "storage.pages_delete_many_bulk",
            "storage.concurrent_writers_one_key",
            "storage.concurrent_create_only_winner_content",
            "storage.concurrent_if_match_one_wins",
            "storage.multipart_abort_after_parts",
            "storage.burst_puts_all_succeed",
            "storage.burst_reads_all_succeed",
            "storage.clock_skew_last_modified_plausible",
            "storage.cleanup",
        ],
        "queue" => &[
            "queue.many_messages_no_loss",
            "queue.concurrent_consumers_at_least_once",
            "queue.concurrent_receivers_no_duplicate_in_flight",
            "queue.not_redelivered_before_visibility",
            "queue.redelivery_timing_under_jitter",
            "queue.dead_letter_counts_exact",
            "queue.process_graceful_shutdown",
        ],
        "compute" => &[
            "compute.idempotent_create_same_token",
            "compute.idempotent_create_retry_after_running",
            "compute.idempotent_create_concurrent_retries",
            "compute.terminate_idempotent",
            "compute.wait_until_times_out",
            "compute.cleanup",
        ],
        _ => &[],
    }
}

/// The level of one backend in one area, with what keeps it from the next level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Area.
    pub area: String,
    /// Backend label.
    pub backend: String,
    /// Target of the latest run.
    pub target: Target,
    /// Level earned.
    pub level: Level,
    /// Runs in the history.
    pub runs: usize,
    /// Full, flake-free, passing runs at the end of the history (newest first).
    pub clean_streak: usize,
    /// Cases of the latest run: passed / failed / total.
    pub passed: usize,
    /// Failed cases of the latest run.
    pub failed: usize,
    /// Cases of the latest run.
    pub cases: usize,
    /// Run id of the latest run.
    pub latest_run: String,
    /// What the next level needs (empty at stable).
    pub next: Vec<String>,
}

/// Assess one backend from its runs (any order; the newest are used).
pub fn assess(runs: &[RunRecord]) -> Option<Assessment> {
    let mut runs: Vec<&RunRecord> = runs.iter().collect();
    runs.sort_by_key(|r| r.started_at);
    let latest = *runs.last()?;
    let mut next = Vec::new();
    // Alpha: the latest run.
    let mut alpha_gaps = Vec::new();
    if !latest.full {
        alpha_gaps.push("the latest run did not cover the whole suite (run without --only)".into());
    }
    let failed = latest.failed();
    if !failed.is_empty() {
        alpha_gaps.push(format!(
            "{} failed case(s) in the latest run: {}",
            failed.len(),
            short_list(&failed)
        ));
    }
    let cleanup = format!("{}.cleanup", latest.area);
    if latest.area != "queue" && latest.statuses.get(&cleanup) != Some(&Status::Passed) {
        alpha_gaps.push(format!("{cleanup} did not pass"));
    }
    // The streak of full, passing runs with identical outcomes, newest first.
    let mut streak: Vec<&RunRecord> = Vec::new();
    for r in runs.iter().rev() {
        let ok = r.full && r.failed().is_empty() && r.target == latest.target;
        let same = streak.first().map(|f| same_outcomes(f, r)).unwrap_or(true);
        if ok && same {
            streak.push(r);
        } else {
            break;
        }
    }
    let flaky: Vec<String> = runs
        .iter()
        .rev()
        .take(STABLE_RUNS)
        .skip(1)
        .filter(|r| r.full && r.target == latest.target)
        .flat_map(|r| differing(latest, r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let level = if !alpha_gaps.is_empty() {
        next.extend(alpha_gaps);
        Level::None
    } else {
        let mut beta_gaps = Vec::new();
        if latest.target.ceiling() < Level::Beta {
            beta_gaps.push(format!(
                "a run against an emulator, real server or real account (this one: {})",
                latest.target.as_str()
            ));
        }
        if streak.len() < BETA_RUNS {
            beta_gaps.push(format!(
                "{BETA_RUNS} consecutive full runs with identical outcomes ({} so far)",
                streak.len()
            ));
        }
        if !flaky.is_empty() {
            beta_gaps.push(format!(
                "no flaky case (outcome changed between recent runs: {})",
                short_list(&flaky.iter().map(String::as_str).collect::<Vec<_>>())
            ));
        }
        let rel: BTreeSet<String> = streak
            .iter()
            .take(BETA_RUNS)
            .flat_map(|r| r.reliability_gaps())
            .collect();
        if !rel.is_empty() {
            beta_gaps.push(format!(
                "reliability checks: {}",
                short_list(&rel.iter().map(String::as_str).collect::<Vec<_>>())
            ));
        }
        if !beta_gaps.is_empty() {
            next.extend(beta_gaps);
            Level::Alpha
        } else {
            let mut stable_gaps = Vec::new();
            if latest.target.ceiling() < Level::Stable {
                stable_gaps.push(format!(
                    "runs against a real account (this one: {})",
                    latest.target.as_str()
                ));
            }
            if streak.len() < STABLE_RUNS {
                stable_gaps.push(format!(
                    "{STABLE_RUNS} consecutive clean full runs ({} so far)",
                    streak.len()
                ));
            }
            let days: BTreeSet<chrono::NaiveDate> = streak
                .iter()
                .take(STABLE_RUNS)
                .map(|r| r.started_at.date_naive())
                .collect();
            if days.len() < STABLE_DAYS {
                stable_gaps.push(format!(
                    "clean runs on {STABLE_DAYS} distinct days ({} so far)",
                    days.len()
                ));
            }
            let rel: BTreeSet<String> = streak
                .iter()
                .take(STABLE_RUNS)
                .flat_map(|r| r.reliability_gaps())
                .collect();
            if !rel.is_empty() {
                stable_gaps.push(format!(
                    "reliability checks: {}",
                    short_list(&rel.iter().map(String::as_str).collect::<Vec<_>>())
                ));
            }
            if stable_gaps.is_empty() {
                Level::Stable
            } else {
                next.extend(stable_gaps);
                Level::Beta
            }
        }
    };
    let passed = latest
        .statuses
        .values()
        .filter(|s| **s == Status::Passed)
        .count();
    Some(Assessment {
        area: latest.area.clone(),
        backend: latest.backend.clone(),
        target: latest.target,
        level,
        runs: runs.len(),
        clean_streak: streak.len(),
        passed,
        failed: failed.len(),
        cases: latest.statuses.len(),
        latest_run: latest.run_id.clone(),
        next,
    })
}

fn same_outcomes(a: &RunRecord, b: &RunRecord) -> bool {
    differing(a, b).is_empty()
}

/// Cases whose outcome differs between two runs (only cases both ran).
fn differing(a: &RunRecord, b: &RunRecord) -> Vec<String> {
    a.statuses
        .iter()
        .filter_map(|(n, s)| match b.statuses.get(n) {
            Some(t) if t != s => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn short_list(v: &[&str]) -> String {
    if v.len() <= 4 {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..4].join(", "), v.len() - 4)
    }
}

/// A file-name slug of `<area>-<backend>`.
pub fn slug(area: &str, backend: &str) -> String {
    let mut name: String = format!("{area}-{backend}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    name.trim_matches('-').to_string()
}

/// A results directory: the latest report per backend and the history of runs.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    /// The directory.
    pub dir: PathBuf,
}

impl ResultsDir {
    /// A results directory at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultsDir { dir: dir.into() }
    }

    fn history_dir(&self) -> PathBuf {
        self.dir.join("history")
    }

    /// Record every section of `report`: append to the history and, for full runs, write
    /// the latest JSON and Markdown. A run id already in a history file is not added twice.
    pub fn record(&self, report: &Report) -> std::io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        std::fs::create_dir_all(self.history_dir())?;
        for sec in &report.sections {
            let rec = RunRecord::of(report, sec);
            let slug = slug(&sec.area, &sec.backend);
            let hist = self.history_dir().join(format!("{slug}.jsonl"));
            let old = std::fs::read_to_string(&hist).unwrap_or_default();
            let dup = old
                .lines()
                .filter_map(|l| serde_json::from_str::<RunRecord>(l).ok())
                .any(|r| r.run_id == rec.run_id);
            if !dup {
                let mut text = old;
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&serde_json::to_string(&rec).map_err(std::io::Error::other)?);
                text.push('\n');
                std::fs::write(&hist, text)?;
                written.push(hist);
            }
            if rec.full {
                let single = Report {
                    run_id: report.run_id.clone(),
                    started_at: report.started_at,
                    duration_ms: rec.duration_ms,
                    sections: vec![sec.clone()],
                };
                let json = self.dir.join(format!("{slug}.json"));
                std::fs::write(&json, single.to_json())?;
                let md = self.dir.join(format!("{slug}.md"));
                std::fs::write(&md, single.to_markdown())?;
                written.push(json);
                written.push(md);
            }
        }
        Ok(written)
    }

    /// Every run in the history, grouped by `(area, backend)`.
    pub fn history(&self) -> std::io::Result<BTreeMap<(String, String), Vec<RunRecord>>> {
        let mut out: BTreeMap<(String, String), Vec<RunRecord>> = BTreeMap::new();
        let rd = match std::fs::read_dir(self.history_dir()) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        for f in files {
            for line in std::fs::read_to_string(&f)?.lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let r: RunRecord = serde_json::from_str(line).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", f.display()),
                    )
                })?;
                out.entry((r.area.clone(), r.backend.clone()))
                    .or_default()
                    .push(r);
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|r| r.started_at);
        }
        Ok(out)
    }

    /// The latest full report of every backend (`<dir>/*.json`), sorted by file name.
    pub fn latest(&self) -> std::io::Result<Vec<Report>> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(e),
        };
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f)?;
            let r: Report = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", f.display()),
                )
            })?;
            out.push(r);
        }
        Ok(out)
    }

    /// The assessment of every backend in the history.
    pub fn assessments(&self) -> std::io::Result<Vec<Assessment>> {
        Ok(self
            .history()?
            .values()
            .filter_map(|runs| assess(runs))
            .collect())
    }
}

/// Marker lines around the generated table in `docs/providers.md`.
pub const BEGIN_MARK: &str = "<!-- certification levels: generated by `gureum conformance --certify --results-dir docs/conformance/results --publish docs/providers.md`; do not edit -->";
/// End marker of the generated table.
pub const END_MARK: &str = "<!-- end of generated certification levels -->";

/// The Markdown table of levels.
pub fn levels_table(assessments: &[Assessment]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| area | backend | target | level | latest run | clean runs | for the next level |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---:|---|");
    let mut v: Vec<&Assessment> = assessments.iter().collect();
    v.sort_by(|a, b| (&a.area, &a.backend).cmp(&(&b.area, &b.backend)));
    for a in v {
        let _ = writeln!(
            s,
            "| {} | {} | {} | **{}** | {} passed, {} failed of {} | {} of {} | {} |",
            a.area,
            a.backend.replace('|', "\\|"),
            a.target.as_str(),
            a.level.as_str(),
            a.passed,
            a.failed,
            a.cases,
            a.clean_streak,
            a.runs,
            if a.next.is_empty() {
                "—".to_string()
            } else {
                a.next.join("; ").replace('|', "\\|")
            }
        );
    }
    s
}

/// `doc` with the text between [`BEGIN_MARK`] and [`END_MARK`] replaced by `table`; the
/// markers are appended when missing.
pub fn splice(doc: &str, table: &str) -> String {
    match (doc.find(BEGIN_MARK), doc.find(END_MARK)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{BEGIN_MARK}\n\n{table}\n{}", &doc[..b], &doc[e..])
        }
        _ => format!("{doc}\n{BEGIN_MARK}\n\n{table}\n{END_MARK}\n"),
    }
}

/// Rewrite the generated block of `doc_path` from the results in `results`. Returns whether
/// the file changed.
pub fn publish(results: &Path, doc_path: &Path) -> std::io::Result<bool> {
    let table = levels_table(&ResultsDir::new(results).assessments()?);
    let doc = std::fs::read_to_string(doc_path)?;
    let new = splice(&doc, &table);
    if new != doc {
        std::fs::write(doc_path, new)?;
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, day: u32, target: Target, statuses: &[(&str, Status)]) -> RunRecord {
        let mut st: BTreeMap<String, Status> = crate::storage::case_names()
            .into_iter()
            .map(|n| (n.to_string(), Status::Passed))
            .collect();
        for (n, s) in statuses {
            st.insert(n.to_string(), *s);
        }
        RunRecord {
            run_id: id.into(),
            started_at: chrono::DateTime::parse_from_rfc3339(&format!(
                "2026-11-{day:02}T10:00:00Z"
            ))
            .unwrap()
            .into(),
            area: "storage".into(),
            backend: "x".into(),
            target,
            duration_ms: 1,
            full: true,
            statuses: st,
            advertised: BTreeMap::new(),
        }
    }

    #[test]
    fn ladder() {
        let em = Target::Emulator;
        // One clean emulator run: alpha.
        let a = assess(&[rec("1", 1, em, &[])]).unwrap();
        assert_eq!(a.level, Level::Alpha, "{a:?}");
        // A failure: none.
        let a = assess(&[rec(
            "1",
            1,
            em,
            &[("storage.put_get_small", Status::Failed)],
        )])
        .unwrap();
        assert_eq!(a.level, Level::None);
        // Three clean emulator runs: beta, capped there.
        let runs: Vec<RunRecord> = (1..=6).map(|i| rec(&i.to_string(), i, em, &[])).collect();
        assert_eq!(assess(&runs).unwrap().level, Level::Beta);
        // A flake among them: alpha.
        let mut flaky = runs.clone();
        flaky[4] = rec("5", 5, em, &[("storage.range_bounded", Status::Failed)]);
        let a = assess(&flaky).unwrap();
        assert_eq!(a.level, Level::Alpha, "{a:?}");
        assert!(a.next.iter().any(|n| n.contains("flaky")), "{:?}", a.next);
        // A simulator never gets past alpha.
        let sim: Vec<RunRecord> = (1..=6)
            .map(|i| rec(&i.to_string(), i, Target::Simulator, &[]))
            .collect();
        assert_eq!(assess(&sim).unwrap().level, Level::Alpha);
        // Five clean real-account runs on two days: stable; on one day: beta.
        let real: Vec<RunRecord> = (1..=5)
            .map(|i| rec(&i.to_string(), 1 + i / 3, Target::RealAccount, &[]))
            .collect();
        assert_eq!(assess(&real).unwrap().level, Level::Stable);
        let one_day: Vec<RunRecord> = (1..=5)
            .map(|i| rec(&i.to_string(), 1, Target::RealAccount, &[]))
            .collect();
        assert_eq!(assess(&one_day).unwrap().level, Level::Beta);
        // A skipped reliability check blocks beta.
        let skipped: Vec<RunRecord> = (1..=3)
            .map(|i| {
                rec(
                    &i.to_string(),
                    i,
                    em,
                    &[("storage.pages_unaligned_page_size", Status::Skipped)],
                )
            })
            .collect();
        assert_eq!(assess(&skipped).unwrap().level, Level::Alpha);
        // A partial run is not even alpha.
        let mut part = rec("1", 1, em, &[]);
        part.full = false;
        assert_eq!(assess(&[part]).unwrap().level, Level::None);
    }

    #[test]
    fn splice_replaces_only_the_block() {
        let doc = "intro\n";
        let once = splice(doc, "T1\n");
        assert!(once.starts_with("intro\n"));
        assert!(once.contains("T1"));
        let twice = splice(&once, "T2\n");
        assert!(twice.contains("T2") && !twice.contains("T1"));
        assert_eq!(splice(&twice, "T2\n"), twice);
    }
}
