//! The runner behind `gureum conformance`: opens the URLs through a registry, runs the
//! suites, writes the report and computes the exit code.
//!
//! ```text
//! gureum conformance --storage 's3://my-bucket?region=ap-northeast-2' \
//!                    --queue 'sqs://ap-northeast-2/gureum-conformance' \
//!                    --format markdown --output results.md
//! ```

use crate::report::{CaseResult, Format, Report, Requirement, Section, Status};
use crate::Options;
use gureum_core::{Error, Registry, ResourceUrl, Result, Size};
use std::path::PathBuf;

/// Exit code when every required and advertised case passed.
pub const EXIT_OK: i32 = 0;
/// Exit code when a required or advertised case failed (the CLI's "conformance failures").
pub const EXIT_FAILURES: i32 = 5;
/// Exit code after Ctrl-C (SIGINT): the run was stopped and what it created was removed.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Largest accepted `--time-scale` (a case's longest wait, ~30 s, becomes ~8 hours).
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// Command-line arguments of `gureum conformance`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Storage URL to test (a bucket the run may write to, under `<prefix>/<run-id>/`).
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// Queue URL to test. With queue admin the suite creates its own queues next to it;
    /// without, this queue must be dedicated to conformance (the suite drains it).
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,
    /// Compute URL to test. The suite creates (and terminates) about six small instances.
    #[arg(long, value_name = "URL")]
    pub compute: Option<String>,
    /// Only run cases matching these patterns (comma separated, `*` wildcards, otherwise
    /// substring), e.g. `storage.key_*,queue.dead_letter`.
    #[arg(long, value_name = "PATTERN")]
    pub only: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of stdout (a one-line summary still goes to
    /// stderr).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Multiply every timeout and waiting period (use 2–5 for slow clouds).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub time_scale: f64,
    /// Image alias or id for compute cases.
    #[arg(long, default_value = "ubuntu-22.04")]
    pub image: String,
    /// vCPUs of the compute cases' instances.
    #[arg(long, default_value_t = 1)]
    pub vcpus: u32,
    /// Memory (GiB) of the compute cases' instances.
    #[arg(long, default_value_t = 1)]
    pub memory_gib: u64,
    /// Storage key prefix of the run (`<prefix>/<run-id>/`).
    #[arg(long, default_value = "gureum-conformance")]
    pub prefix: String,
    /// Run id (default: timestamp + random).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Print the case names and exit.
    #[arg(long)]
    pub list_cases: bool,
    /// What the URLs point at, recorded for the certification ladder: `real-account` for a
    /// provider's own account, `emulator`, `simulator`, `embedded`. Unstated counts as a
    /// simulator (alpha at most).
    #[arg(long, value_enum, value_name = "KIND")]
    pub target: Option<crate::certify::Target>,
    /// A results directory: the run is recorded there (`history/<area>-<backend>.jsonl`, and
    /// for full runs `<area>-<backend>.json`/`.md`); `--format html` and `--certify` read the
    /// other backends and the history from it.
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Compute the certification level of every backend (this run plus the history in
    /// `--results-dir`) and print it to stderr. Without URLs: levels from the results
    /// directory only.
    #[arg(long)]
    pub certify: bool,
    /// With `--certify`: rewrite the generated levels table in this Markdown file
    /// (docs/providers.md).
    #[arg(long, value_name = "FILE", requires = "certify")]
    pub publish: Option<PathBuf>,
    /// Keys of the page-crossing fixture (`storage.pages_*`); default: one more than the
    /// backend's listing page (S3 1,000, Azure 5,000, Swift 10,000); 0 skips those cases.
    #[arg(long, value_name = "N")]
    pub page_keys: Option<usize>,
    /// The account's instance quota, if it is small (≤ 20): opts in to
    /// `compute.quota_exceeded_typed`, which creates up to N + 1 instances to reach it and
    /// expects a typed `quota_exceeded` error. Without it that case is skipped.
    #[arg(long, value_name = "N")]
    pub instance_quota: Option<usize>,
}

impl Args {
    /// The suite options these arguments describe.
    pub fn options(&self) -> Options {
        let mut o = Options::default();
        if let Some(id) = &self.run_id {
            o.run_id = id.clone();
        }
        o.prefix = self.prefix.clone();
        o.only = self.only.clone();
        o.time_scale = self.time_scale;
        o.image = self.image.clone();
        o.size = Size::vcpus(self.vcpus).memory_gib(self.memory_gib);
        o.target = self.target;
        o.page_keys = self.page_keys;
        o.instance_quota = self.instance_quota;
        o
    }
}

fn label(url: &str) -> String {
    ResourceUrl::parse(url)
        .map(|u| u.redacted())
        .unwrap_or_else(|_| "(unparseable URL)".into())
}

fn open_failure(area: &str, url: &str, e: &Error) -> Report {
    let mut r = Report::new("");
    r.sections.push(Section {
        area: area.into(),
        backend: label(url),
        capabilities: Default::default(),
        cases: vec![CaseResult {
            name: format!("{area}.open"),
            requirement: Requirement::Required,
            advertised: true,
            status: Status::Failed,
            duration_ms: 0,
            message: Some(format!("opening {} failed: {e}", label(url))),
        }],
        notes: vec![],
        target: None,
    });
    r
}

/// What the run opened, for the cleanup after an interruption.
#[derive(Default)]
struct Opened {
    /// The area running now and its backend label (cleared when the area finishes).
    current: Option<(String, String)>,
    bucket: Option<gureum_core::Bucket>,
    queue: Option<gureum_core::Queue>,
    compute: Option<gureum_core::Compute>,
}

/// Run the suites the arguments ask for and write the report. Returns the process exit
/// code: [`EXIT_OK`], [`EXIT_FAILURES`] when a required or advertised case failed, or
/// [`EXIT_INTERRUPTED`] after Ctrl-C (the run stops, everything it created is removed, and
/// the cases finished so far are reported). Errors are for bad arguments and for failing to
/// write the report.
pub async fn run(args: &Args, registry: &Registry) -> Result<i32> {
    if args.list_cases {
        let mut s = String::new();
        for n in crate::case_names() {
            s.push_str(n);
            s.push('\n');
        }
        emit(args, &s)?;
        return Ok(EXIT_OK);
    }
    let no_urls = args.storage.is_none() && args.queue.is_none() && args.compute.is_none();
    if no_urls {
        if args.results_dir.is_some() && (args.certify || args.format == Format::Html) {
            return report_from_results(args).await;
        }
        return Err(Error::invalid(
            "give at least one of --storage URL, --queue URL, --compute URL \
             (or --results-dir DIR with --certify or --format html)",
        ));
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0 && args.time_scale <= MAX_TIME_SCALE)
    {
        return Err(Error::invalid(format!(
            "--time-scale must be a positive number of at most {MAX_TIME_SCALE}"
        )));
    }
    let base = args.options();
    let opened = std::sync::Arc::new(std::sync::Mutex::new(Opened::default()));
    let base = Options {
        progress: Some(Default::default()),
        ..base
    };
    let partial = std::sync::Arc::new(std::sync::Mutex::new(Report::new(base.run_id.clone())));
    let work = run_suites(args, registry, &base, opened.clone(), partial.clone());
    let interrupted = tokio::select! {
        _ = work => false,
        r = tokio::signal::ctrl_c() => r.is_ok(),
    };
    let mut report = std::mem::replace(&mut *partial.lock().unwrap(), Report::new(""));
    if interrupted {
        eprintln!(
            "gureum conformance {}: interrupted; removing what this run created",
            base.run_id
        );
        let mut o = std::mem::take(&mut *opened.lock().unwrap());
        let current = std::mem::take(&mut o.current);
        let removed = cleanup_after_interrupt(o, &base).await;
        eprintln!("gureum conformance {}: {removed}", base.run_id);
        // The area that was running: the cases it finished, and the note.
        if let Some((area, backend)) = current {
            let done: Vec<crate::report::CaseResult> = base
                .progress
                .as_ref()
                .map(|p| p.lock().unwrap().clone())
                .unwrap_or_default();
            let prefix = format!("{area}.");
            report.sections.push(Section {
                area,
                backend,
                capabilities: Default::default(),
                cases: done
                    .into_iter()
                    .filter(|c| c.name.starts_with(&prefix))
                    .collect(),
                notes: vec![format!("run interrupted (Ctrl-C); {removed}")],
                target: base.target,
            });
        }
    }
    if let Some(dir) = &args.results_dir {
        crate::certify::ResultsDir::new(dir)
            .record(&report)
            .map_err(|e| {
                Error::from(e).context_message(format!("recording in {}", dir.display()))
            })?;
    }
    let extra = html_extra(args)?;
    let text = match args.format {
        Format::Html => crate::html::render(&report, &extra),
        f => report.render(f),
    };
    emit(args, &text)?;
    if args.output.is_some() || args.format != Format::Text {
        let failures = report.failures();
        eprintln!(
            "gureum conformance {}: {} passed, {} failed, {} unsupported{}",
            report.run_id,
            report.passed(),
            report.failed(),
            report.unsupported(),
            if failures.is_empty() {
                String::new()
            } else {
                format!(" — failed: {}", failures.join(", "))
            }
        );
    }
    if args.certify {
        print_levels(&report, &extra, args)?;
    }
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if report.is_success() {
        EXIT_OK
    } else {
        EXIT_FAILURES
    })
}

async fn run_suites(
    args: &Args,
    registry: &Registry,
    base: &Options,
    opened: std::sync::Arc<std::sync::Mutex<Opened>>,
    partial: std::sync::Arc<std::sync::Mutex<Report>>,
) {
    let merge = |r: Report| partial.lock().unwrap().merge(r);
    if let Some(url) = &args.storage {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_bucket(Some(url)).await {
            Ok(b) => {
                {
                    let mut o = opened.lock().unwrap();
                    o.bucket = Some(b.clone());
                    o.current = Some(("storage".into(), label(url)));
                }
                merge(crate::storage::run(&b, &opts).await);
                opened.lock().unwrap().current = None;
            }
            Err(e) => merge(open_failure("storage", url, &e)),
        }
    }
    if let Some(url) = &args.queue {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_queue(Some(url)).await {
            Ok(q) => {
                {
                    let mut o = opened.lock().unwrap();
                    o.queue = Some(q.clone());
                    o.current = Some(("queue".into(), label(url)));
                }
                merge(crate::queue::run(&q, &opts).await);
                opened.lock().unwrap().current = None;
            }
            Err(e) => merge(open_failure("queue", url, &e)),
        }
    }
    if let Some(url) = &args.compute {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_compute(Some(url)).await {
            Ok(c) => {
                {
                    let mut o = opened.lock().unwrap();
                    o.compute = Some(c.clone());
                    o.current = Some(("compute".into(), label(url)));
                }
                merge(crate::compute::run(&c, &opts).await);
                opened.lock().unwrap().current = None;
            }
            Err(e) => merge(open_failure("compute", url, &e)),
        }
    }
}

/// Remove what an interrupted run created; a summary of what was done.
async fn cleanup_after_interrupt(o: Opened, opts: &Options) -> String {
    // Cases still in flight were aborted with the run; give their last requests a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut parts = Vec::new();
    if let Some(b) = &o.bucket {
        // Twice: a write that was already on the wire may land after the first sweep.
        let first = crate::storage::cleanup(b, opts).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let second = crate::storage::cleanup(b, opts).await;
        parts.push(match (first, second) {
            (Ok(a), Ok(c)) => format!("storage: {} objects/buckets removed", a + c),
            (Err(e), _) | (_, Err(e)) => format!("storage cleanup failed: {e}"),
        });
    }
    if let Some(q) = &o.queue {
        parts.push(match crate::queue::cleanup(q, opts).await {
            Ok(n) => format!("queue: {n} queues removed"),
            Err(e) => format!("queue cleanup failed: {e}"),
        });
    }
    if let Some(c) = &o.compute {
        parts.push(match crate::compute::cleanup(c, opts).await {
            Ok(n) => format!("compute: {n} instances terminated"),
            Err(e) => format!("compute cleanup failed: {e}"),
        });
    }
    if parts.is_empty() {
        "nothing had been opened".into()
    } else {
        parts.join("; ")
    }
}

fn html_extra(args: &Args) -> Result<crate::html::Extra> {
    let Some(dir) = &args.results_dir else {
        return Ok(crate::html::Extra::default());
    };
    let rd = crate::certify::ResultsDir::new(dir);
    let io =
        |e: std::io::Error| Error::from(e).context_message(format!("reading {}", dir.display()));
    Ok(crate::html::Extra {
        latest: rd.latest().map_err(io)?,
        history: rd.history().map_err(io)?,
        assessments: rd.assessments().map_err(io)?,
    })
}

/// Levels of this run's backends (or of every backend in the results directory).
fn print_levels(report: &Report, extra: &crate::html::Extra, args: &Args) -> Result<()> {
    let mut assessments = Vec::new();
    if report.sections.is_empty() {
        assessments = extra.assessments.clone();
    } else {
        for sec in &report.sections {
            let mut runs = extra
                .history
                .get(&(sec.area.clone(), sec.backend.clone()))
                .cloned()
                .unwrap_or_default();
            let rec = crate::certify::RunRecord::of(report, sec);
            if !runs.iter().any(|r| r.run_id == rec.run_id) {
                runs.push(rec);
            }
            assessments.extend(crate::certify::assess(&runs));
        }
    }
    for a in &assessments {
        eprintln!(
            "certification: {} {} ({}) — {}{}",
            a.area,
            a.backend,
            a.target.as_str(),
            a.level.as_str().to_uppercase(),
            if a.next.is_empty() {
                String::new()
            } else {
                format!("; next level needs: {}", a.next.join("; "))
            }
        );
    }
    if let (Some(doc), Some(dir)) = (&args.publish, &args.results_dir) {
        let changed = crate::certify::publish(dir, doc).map_err(|e| {
            Error::from(e).context_message(format!("publishing to {}", doc.display()))
        })?;
        eprintln!(
            "{} {}",
            if changed { "updated" } else { "unchanged:" },
            doc.display()
        );
    }
    Ok(())
}

/// `--certify` / `--format html` without URLs: everything from the results directory.
async fn report_from_results(args: &Args) -> Result<i32> {
    let extra = html_extra(args)?;
    let mut report = Report::new("results");
    if let Some(first) = extra.latest.iter().map(|r| r.started_at).min() {
        report.started_at = first;
    }
    for r in &extra.latest {
        report.duration_ms += r.duration_ms;
        report.sections.extend(r.sections.iter().cloned());
    }
    if args.format == Format::Html || args.output.is_some() {
        let text = match args.format {
            Format::Html => crate::html::render(&report, &extra),
            f => report.render(f),
        };
        emit(args, &text)?;
    }
    if args.certify {
        let only_history = Report::new("results");
        print_levels(&only_history, &extra, args)?;
    }
    Ok(EXIT_OK)
}

fn emit(args: &Args, text: &str) -> Result<()> {
    match &args.output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Error::from(e).context_message(format!("writing {}", p.display()))),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(Error::from)
        }
    }
}
