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
    });
    r
}

/// Run the suites the arguments ask for and write the report. Returns the process exit
/// code: [`EXIT_OK`], or [`EXIT_FAILURES`] when a required or advertised case failed.
/// Errors are for bad arguments and for failing to write the report.
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
    if args.storage.is_none() && args.queue.is_none() && args.compute.is_none() {
        return Err(Error::invalid(
            "give at least one of --storage URL, --queue URL, --compute URL",
        ));
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0 && args.time_scale <= MAX_TIME_SCALE)
    {
        return Err(Error::invalid(format!(
            "--time-scale must be a positive number of at most {MAX_TIME_SCALE}"
        )));
    }
    let base = args.options();
    let mut report = Report::new(base.run_id.clone());
    if let Some(url) = &args.storage {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_bucket(Some(url)).await {
            Ok(b) => report.merge(crate::storage::run(&b, &opts).await),
            Err(e) => report.merge(open_failure("storage", url, &e)),
        }
    }
    if let Some(url) = &args.queue {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_queue(Some(url)).await {
            Ok(q) => report.merge(crate::queue::run(&q, &opts).await),
            Err(e) => report.merge(open_failure("queue", url, &e)),
        }
    }
    if let Some(url) = &args.compute {
        let opts = Options {
            backend: Some(label(url)),
            ..base.clone()
        };
        match registry.open_compute(Some(url)).await {
            Ok(c) => report.merge(crate::compute::run(&c, &opts).await),
            Err(e) => report.merge(open_failure("compute", url, &e)),
        }
    }
    let text = report.render(args.format);
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
    Ok(if report.is_success() {
        EXIT_OK
    } else {
        EXIT_FAILURES
    })
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
