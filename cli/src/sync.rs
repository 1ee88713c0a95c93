//! `gureum sync`, `gureum cp -r` and `gureum check`: the command-line face of the migration
//! engine (`gureum-sync`). See docs/migration.md.

use crate::location::{redact, ObjectUrl};
use crate::output::{to_json, Out};
use clap::Args;
use gureum::{Bucket, Error, Result};
use gureum_sync::{
    CheckReport, Compare, Endpoint, Event, Filter, Hooks, Observer, Readback, Report, SyncOptions,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Some objects failed for reasons other than integrity (the rest were copied).
pub const EXIT_PARTIAL: i32 = 10;

/// Options shared by `sync` and `cp -r`.
#[derive(Debug, Clone, Args)]
pub struct TransferFlags {
    /// Objects transferred at a time.
    #[arg(long, default_value_t = 16)]
    pub transfers: usize,
    /// Compare size and content MD5 instead of size and modification time.
    #[arg(long, conflicts_with = "size_only")]
    pub checksum: bool,
    /// Compare sizes only.
    #[arg(long)]
    pub size_only: bool,
    /// Skip every object that exists at the destination.
    #[arg(long)]
    pub ignore_existing: bool,
    /// Show what would be copied (and deleted); change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Only keys matching this glob (repeatable; `*` within a segment, `**` across, a leading
    /// `/` anchors at the top).
    #[arg(long = "include", value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip keys matching this glob (repeatable; wins over --include).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Resume checkpoint file (sqlite). Default: one per source/destination pair under
    /// $GUREUM_STATE_DIR, $XDG_STATE_HOME/gureum or ~/.local/state/gureum.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Run without a checkpoint.
    #[arg(long, conflicts_with = "checkpoint")]
    pub no_checkpoint: bool,
    /// No progress display (it is also off when stderr is not a terminal, and with --json).
    #[arg(long)]
    pub no_progress: bool,
    /// Retries of one object after a retryable or integrity failure.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Multipart part size in MiB (objects larger than one part are uploaded in parts).
    #[arg(long, default_value_t = 8, value_name = "MIB")]
    pub part_size: usize,
    /// Parts of one large object in flight.
    #[arg(long, default_value_t = 4)]
    pub part_concurrency: usize,
    /// Memory for transfer buffers over all transfers, in MiB.
    #[arg(long, default_value_t = 32, value_name = "MIB")]
    pub buffer_memory: usize,
    /// Destinations without MD5 etags (file, mem, Azure): check by size only instead of
    /// reading each object back and hashing it.
    #[arg(long, conflicts_with = "readback")]
    pub no_readback: bool,
    /// Also read back and hash what is written to a local directory (by default a local
    /// file is checked by its size and etag: its bytes are the buffers hashed in flight).
    #[arg(long)]
    pub readback: bool,
    /// Never use the store's server-side copy.
    #[arg(long)]
    pub no_server_side_copy: bool,
    /// Data class of what is copied (else the source URL's `class=`): the destination's zone
    /// must allow it under the placement policy, checked before anything is listed or copied.
    #[arg(long)]
    pub class: Option<String>,
    /// Work on shard I of N only (`3/8`): the keys whose hash falls in shard I. N workers with
    /// I = 0..N-1 together cover the tree; each keeps its own checkpoint.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<String>,
    /// Split into N shards and work on the one named by `JOB_COMPLETION_INDEX` (what a
    /// Kubernetes Indexed Job sets in each pod; see examples/k8s/).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
}

impl TransferFlags {
    /// The shard this run works on, if any.
    fn shard(&self) -> Result<Option<gureum_sync::Shard>> {
        match (&self.shard, self.shards) {
            (Some(s), _) => gureum_sync::Shard::parse(s).map(Some),
            (None, Some(n)) => gureum_sync::Shard::from_job_index(n).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// `gureum sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Source: `BUCKET_URL[#PREFIX]` or a local directory.
    pub src: String,
    /// Destination: `BUCKET_URL[#PREFIX]` or a local directory (created if missing).
    pub dst: String,
    /// After all transfers succeeded, delete destination objects that are not in the source.
    #[arg(long)]
    pub delete: bool,
    /// Transfer options.
    #[command(flatten)]
    pub flags: TransferFlags,
}

/// `gureum check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Source: `BUCKET_URL[#PREFIX]` or a local directory.
    pub src: String,
    /// Destination: `BUCKET_URL[#PREFIX]` or a local directory.
    pub dst: String,
    /// Compare sizes only (no hashing).
    #[arg(long)]
    pub size_only: bool,
    /// Objects compared at a time.
    #[arg(long, default_value_t = 16)]
    pub transfers: usize,
    /// Only keys matching this glob (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip keys matching this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// A parsed side: the bucket URL (or local directory) and the prefix.
struct Side {
    bucket_url: Option<String>,
    dir: Option<PathBuf>,
    prefix: String,
    label: String,
}

fn side(s: &str, create_dir: bool) -> Result<Side> {
    if s.contains("://") {
        let u = ObjectUrl::parse(s)?;
        let label = format!("{}#{}", redact(&u.bucket), u.key);
        Ok(Side {
            bucket_url: Some(u.bucket),
            dir: None,
            prefix: u.key,
            label,
        })
    } else if s.is_empty() || s == "-" {
        Err(Error::invalid(
            "sync needs a bucket URL or a local directory, not stdin/stdout",
        ))
    } else {
        let p = PathBuf::from(s);
        if create_dir {
            std::fs::create_dir_all(&p)
                .map_err(|e| Error::from(e).context_message(format!("creating {s}")))?;
        } else if !p.is_dir() {
            return Err(Error::new(
                gureum::ErrorKind::NotFound,
                format!("{s} is not a directory"),
            ));
        }
        let abs =
            std::fs::canonicalize(&p).map_err(|e| Error::from(e).context_message(s.to_string()))?;
        Ok(Side {
            label: format!("file://{}", abs.display()),
            bucket_url: None,
            dir: Some(abs),
            prefix: String::new(),
        })
    }
}

async fn open_side(s: &Side) -> Result<Bucket> {
    match (&s.bucket_url, &s.dir) {
        (Some(u), _) => gureum::open_bucket(u).await,
        (None, Some(d)) => gureum::local::storage::open_file(d),
        (None, None) => Err(Error::invalid("no location")),
    }
}

/// Open `BUCKET_URL[#PREFIX]` or a local directory: (bucket, prefix, label).
pub(crate) async fn open_tree(s: &str) -> Result<(Bucket, String, String)> {
    let sd = side(s, false)?;
    let b = open_side(&sd).await?;
    Ok((b, sd.prefix, sd.label))
}

fn endpoint(s: &Side, bucket: Bucket) -> Endpoint {
    let encrypted = s
        .bucket_url
        .as_deref()
        .and_then(|u| gureum::ResourceUrl::parse(u).ok())
        .is_some_and(|u| u.param("encrypt").is_some());
    let mut ep = Endpoint::new(bucket, s.prefix.clone()).with_label(s.label.clone());
    if encrypted {
        ep = ep.with_md5_etags(false);
    }
    ep
}

/// Open both sides; the same bucket URL is opened once, so server-side copy applies.
async fn endpoints(src: &str, dst: &str) -> Result<(Endpoint, Endpoint)> {
    let s = side(src, false)?;
    let d = side(dst, true)?;
    let sb = open_side(&s).await?;
    let db = if s.bucket_url.is_some() && s.bucket_url == d.bucket_url {
        sb.clone()
    } else {
        open_side(&d).await?
    };
    Ok((endpoint(&s, sb), endpoint(&d, db)))
}

fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GUREUM_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("gureum");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/gureum"),
        None => std::env::temp_dir().join("gureum-state"),
    }
}

/// The default checkpoint of a (source, destination) pair (and shard: every shard has its own).
fn default_checkpoint(
    src: &Endpoint,
    dst: &Endpoint,
    shard: Option<gureum_sync::Shard>,
) -> PathBuf {
    // FNV-1a over the labels: stable across builds (std's hasher is not).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in format!("{}\n{}", src.label, dst.label).bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    let name = match shard {
        Some(s) => format!("{h:016x}-shard-{}-of-{}.sqlite", s.index(), s.count()),
        None => format!("{h:016x}.sqlite"),
    };
    state_dir().join("sync").join(name)
}

fn options(f: &TransferFlags, delete: bool, src: &Endpoint, dst: &Endpoint) -> Result<SyncOptions> {
    let compare = if f.checksum {
        Compare::Checksum
    } else if f.size_only {
        Compare::SizeOnly
    } else {
        Compare::SizeMtime
    };
    let part = f
        .part_size
        .checked_mul(1024 * 1024)
        .ok_or_else(|| Error::invalid("part size too large"))?;
    let shard = f.shard()?;
    let mut filter = Filter::new(&f.include, &f.exclude)?;
    if let Some(s) = shard {
        filter = filter.with(Arc::new(s));
    }
    Ok(SyncOptions {
        transfers: f.transfers,
        compare,
        ignore_existing: f.ignore_existing,
        delete,
        dry_run: f.dry_run,
        filter,
        retries: f.retries,
        part_size: part,
        multipart_threshold: part as u64,
        part_concurrency: f.part_concurrency,
        memory_budget: f.buffer_memory.saturating_mul(1024 * 1024),
        server_side_copy: !f.no_server_side_copy,
        readback: if f.no_readback {
            Readback::Off
        } else if f.readback {
            Readback::All
        } else {
            Readback::Remote
        },
        checkpoint: if f.no_checkpoint {
            None
        } else {
            Some(
                f.checkpoint
                    .clone()
                    .unwrap_or_else(|| default_checkpoint(src, dst, shard)),
            )
        },
    })
}

/// Progress display and per-object lines.
struct Display {
    bar: Option<indicatif::ProgressBar>,
    json: bool,
    copied: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
}

impl Display {
    fn new(out: &Out, no_progress: bool) -> Arc<Self> {
        let bar = (!out.json && !no_progress && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::stderr_with_hz(4),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Arc::new(Display {
            bar,
            json: out.json,
            copied: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    fn print(&self, to_stderr: bool, line: String) {
        let p = || {
            if to_stderr {
                eprintln!("{line}");
            } else {
                let _ = crate::output::write_stdout(format!("{line}\n").as_bytes());
            }
        };
        match &self.bar {
            Some(b) => b.suspend(p),
            None => p(),
        }
    }

    fn message(&self) {
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "{} copied, {} skipped, {} failed",
                self.copied.load(Ordering::Relaxed),
                self.skipped.load(Ordering::Relaxed),
                self.failed.load(Ordering::Relaxed)
            ));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn one_line(e: &Error) -> String {
    e.message().split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Observer for Display {
    fn event(&self, e: &Event<'_>) {
        match e {
            Event::Queued { bytes, .. } => {
                if let Some(b) = &self.bar {
                    b.inc_length(*bytes);
                }
            }
            Event::Bytes(n) => {
                if let Some(b) = &self.bar {
                    b.inc(*n);
                }
            }
            Event::Copied { .. } | Event::Matched { .. } => {
                self.copied.fetch_add(1, Ordering::Relaxed);
                self.message();
            }
            Event::Skipped { .. } => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                self.message();
            }
            Event::WouldCopy { key, bytes } if !self.json => {
                self.print(false, format!("would copy {key} ({bytes} bytes)"))
            }
            Event::WouldDelete { key } if !self.json => {
                self.print(false, format!("would delete {key}"))
            }
            Event::Differs { key, reason } if !self.json => {
                self.print(false, format!("{reason}: {key}"))
            }
            Event::Failed { key, error } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.message();
                if !self.json {
                    self.print(
                        true,
                        format!(
                            "failed: {key}: error[{}]: {}",
                            error.kind().as_str(),
                            one_line(error)
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

fn hooks(display: &Arc<Display>) -> Hooks {
    Hooks {
        observer: Some(display.clone() as Arc<dyn Observer>),
        janitor: janitor(),
    }
}

#[cfg(feature = "aws")]
fn janitor() -> Option<Arc<dyn gureum_sync::UploadJanitor>> {
    Some(Arc::new(S3Janitor))
}

#[cfg(not(feature = "aws"))]
fn janitor() -> Option<Arc<dyn gureum_sync::UploadJanitor>> {
    None
}

/// Aborts the incomplete multipart uploads of one key on S3-family buckets (`s3://`,
/// `ncloud://` and the S3 presets) through the `S3Native` escape hatch. Other backends keep
/// nothing billable for an incomplete upload: `file://` stages in a hidden directory it
/// cleans itself, Azure drops uncommitted blocks after 7 days, Swift segments of an
/// unfinished SLO are plain objects in `<container>_segments`.
#[cfg(feature = "aws")]
struct S3Janitor;

#[cfg(feature = "aws")]
#[gureum::async_trait]
impl gureum_sync::UploadJanitor for S3Janitor {
    async fn abort_incomplete(&self, bucket: &Bucket, key: &str) -> Result<usize> {
        let Some(native) = bucket.native::<gureum::aws::S3Native>() else {
            return Ok(0);
        };
        let client = native.client();
        let name = native.bucket_name();
        let fail = |op: &str| {
            Error::new(
                gureum::ErrorKind::Unavailable,
                format!("{op} on bucket {name} failed"),
            )
        };
        let mut aborted = 0;
        let page = client
            .list_multipart_uploads()
            .bucket(name)
            .prefix(key)
            .send()
            .await
            .map_err(|_| fail("ListMultipartUploads"))?;
        for u in page.uploads() {
            let (Some(k), Some(id)) = (u.key(), u.upload_id()) else {
                continue;
            };
            if k != key {
                continue;
            }
            client
                .abort_multipart_upload()
                .bucket(name)
                .key(k)
                .upload_id(id)
                .send()
                .await
                .map_err(|_| fail("AbortMultipartUpload"))?;
            aborted += 1;
        }
        Ok(aborted)
    }
}

fn exit_code(failed: u64, integrity: u64) -> i32 {
    if integrity > 0 {
        crate::output::EXIT_INTEGRITY
    } else if failed > 0 {
        EXIT_PARTIAL
    } else {
        0
    }
}

fn print_report(out: &Out, r: &Report) -> Result<()> {
    if out.json {
        return out.json_line(&to_json(r));
    }
    let verb = if r.dry_run { "would copy" } else { "copied" };
    let del = if r.dry_run { "would delete" } else { "deleted" };
    out.line(format!(
        "{verb} {} ({} server-side), skipped {}, {del} {}, failed {}; {} bytes in {:.1} s ({:.1} MiB/s){}{}",
        r.copied,
        r.server_side,
        r.skipped,
        r.deleted,
        r.failed_count,
        r.bytes,
        r.duration_secs,
        r.throughput_mib_s,
        if r.aborted_uploads > 0 {
            format!("; aborted {} unfinished upload(s) of an earlier run", r.aborted_uploads)
        } else {
            String::new()
        },
        if r.deletions_skipped {
            "; --delete skipped because of failures"
        } else {
            ""
        },
    ))
}

async fn run_sync(src: &str, dst: &str, delete: bool, f: &TransferFlags, out: &Out) -> Result<i32> {
    // The placement policy refuses a forbidden destination up front (docs/security.md).
    crate::policy::check_transfer(src, dst, f.class.as_deref())?;
    let (s, d) = endpoints(src, dst).await?;
    let opts = options(f, delete, &s, &d)?;
    let display = Display::new(out, f.no_progress);
    let r = gureum_sync::sync(&s, &d, &opts, &hooks(&display)).await;
    display.finish();
    let r = r?;
    print_report(out, &r)?;
    Ok(exit_code(r.failed_count, r.integrity_failures))
}

/// `gureum sync SRC DST`.
pub async fn sync(a: SyncArgs, out: &Out) -> Result<i32> {
    run_sync(&a.src, &a.dst, a.delete, &a.flags, out).await
}

/// `gureum cp -r SRC DST`: `sync` without deletions.
pub async fn cp_recursive(a: crate::args::CpArgs, out: &Out) -> Result<i32> {
    if a.content_type.is_some() || !a.meta.is_empty() {
        return Err(Error::invalid(
            "cp -r keeps each object's own content type and metadata: --content-type and --meta apply to single objects",
        ));
    }
    run_sync(&a.src, &a.dst, false, &a.transfer, out).await
}

fn print_check(out: &Out, r: &CheckReport) -> Result<()> {
    if out.json {
        return out.json_line(&to_json(r));
    }
    out.line(format!(
        "{} matched, {} differ, {} failed ({:.1} s)",
        r.matched, r.differences_count, r.failed_count, r.duration_secs
    ))
}

/// `gureum check SRC DST`: exit 0 when the trees are equal, 9 when they differ, 10 when some
/// objects could not be compared.
pub async fn check(a: CheckArgs, out: &Out) -> Result<i32> {
    let r = compare_trees(&a, out).await?;
    print_check(out, &r)?;
    Ok(check_exit(&r))
}

/// The exit code of a check: 0 equal, 9 differ, 10 some objects could not be compared.
pub(crate) fn check_exit(r: &CheckReport) -> i32 {
    if r.differences_count > 0 {
        crate::output::EXIT_INTEGRITY
    } else if r.failed_count > 0 {
        EXIT_PARTIAL
    } else {
        0
    }
}

/// Compare two trees (the work of `gureum check`, also behind `gureum mirror verify`).
pub(crate) async fn compare_trees(a: &CheckArgs, out: &Out) -> Result<CheckReport> {
    let s = side(&a.src, false)?;
    let d = side(&a.dst, false)?;
    let sb = open_side(&s).await?;
    let db = open_side(&d).await?;
    let (se, de) = (endpoint(&s, sb), endpoint(&d, db));
    let opts = SyncOptions {
        transfers: a.transfers,
        compare: if a.size_only {
            Compare::SizeOnly
        } else {
            Compare::Checksum
        },
        filter: Filter::new(&a.include, &a.exclude)?,
        ..Default::default()
    };
    let display = Display::new(out, true);
    gureum_sync::check(&se, &de, &opts, &hooks(&display)).await
}
