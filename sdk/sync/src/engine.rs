//! The run: merge-join of the two listings, compare, concurrent transfers, deletions, report.

use crate::checkpoint::{Checkpoint, DoneRecord};
use crate::filter::Filter;
use crate::hash::md5_etag_schemes;
use crate::listing::{self, ListStats, Listed};
use crate::transfer::{content_md5, copy_once, Copied, Ctx};
use futures::StreamExt;
use gureum_core::storage::{Bucket, ObjectInfo};
use gureum_core::{Error, ErrorKind, Result};
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// How an object present on both sides is judged up to date (rclone's choices).
///
/// ```
/// use gureum_sync::{Compare, SyncOptions};
/// assert_eq!(SyncOptions::default().compare, Compare::SizeMtime);
/// let paranoid = SyncOptions { compare: Compare::Checksum, ..SyncOptions::default() };
/// assert_eq!(paranoid.compare, Compare::Checksum);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// Same size, and the destination is not older than the source (whole seconds). gureum
    /// never adds an mtime entry to the user's metadata (that would change it), so instead of
    /// rclone's "equal mtime" it asks "was the destination written after the source changed"
    /// (s5cmd's rule).
    #[default]
    SizeMtime,
    /// Same size and same content MD5 (from MD5 etags where trusted, else read and hashed).
    Checksum,
    /// Same size.
    SizeOnly,
}

/// How the engine verifies a written object when the destination reports no content MD5
/// (`file://`, `mem://`, Azure Blob, Swift large objects, any bucket with client-side
/// encryption). Destinations with MD5 etags are always checked against them.
///
/// Every byte is hashed (MD5) while it is read, and that hash is compared with the source's
/// MD5 etag where the source has one, whatever this setting. This setting decides what proves
/// that the destination then holds those bytes.
///
/// ```
/// use gureum_sync::{Readback, SyncOptions};
/// assert_eq!(SyncOptions::default().readback, Readback::Remote);
/// let paranoid = SyncOptions { readback: Readback::All, ..SyncOptions::default() };
/// assert_eq!(paranoid.readback, Readback::All);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readback {
    /// Check the stored size only (`gureum sync --no-readback`).
    Off,
    /// Read back and hash what a remote or layered destination stored (the bytes crossed a
    /// network or a layer that transforms them). A plain local directory (`file://`, no layer)
    /// is checked by the size and etag of the stored file instead: the bytes written to it are
    /// the very buffers that were hashed in flight, and reading a file just written comes from
    /// the page cache, so the read-back would prove only that `write(2)` worked, at the cost
    /// of a second MD5 pass over every byte (the default).
    #[default]
    Remote,
    /// Read back and hash every destination without MD5 etags, local directories included
    /// (`gureum sync --readback`).
    All,
}

/// Options of a run. `SyncOptions::default()` is `gureum sync`'s defaults.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::storage::open_mem;
/// use gureum_sync::{sync, Endpoint, Hooks, SyncOptions};
/// let (src, dst) = (open_mem("opts-src"), open_mem("opts-dst"));
/// src.put("a.csv", "1").await?;
/// let opts = SyncOptions { dry_run: true, transfers: 4, ..SyncOptions::default() };
/// let r = sync(&Endpoint::new(src, ""), &Endpoint::new(dst.clone(), ""), &opts, &Hooks::default()).await?;
/// assert_eq!((r.copied, r.dry_run), (1, true));
/// assert!(!dst.exists("a.csv").await?); // a dry run writes nothing
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Objects transferred (or compared) at a time. Default 16.
    pub transfers: usize,
    /// How an object present on both sides is judged up to date.
    pub compare: Compare,
    /// Never touch an object that exists at the destination, whatever its content.
    pub ignore_existing: bool,
    /// After all transfers succeeded, delete destination objects with no source (filtered
    /// keys are never deleted). Skipped when any transfer failed.
    pub delete: bool,
    /// Report what would be copied and deleted; write nothing.
    pub dry_run: bool,
    /// Which keys take part.
    pub filter: Filter,
    /// Attempts after the first for a retryable or integrity failure of one object. Default 3.
    pub retries: u32,
    /// Multipart part size in bytes (also the ranged-read size). Default 8 MiB.
    pub part_size: usize,
    /// Objects larger than this go through a multipart upload. Default 8 MiB.
    pub multipart_threshold: u64,
    /// Parts of one large object read and uploaded at a time. Default 4.
    pub part_concurrency: usize,
    /// Most bytes held in transfer buffers at once, over all transfers. Default 32 MiB (four 8 MiB parts: one large object at full part concurrency).
    pub memory_budget: usize,
    /// Copy server-side when source and destination are the same store, or buckets of one
    /// account and endpoint whose backend copies between buckets (S3, Swift).
    pub server_side_copy: bool,
    /// How a destination that reports no MD5 etag is verified after each write.
    pub readback: Readback,
    /// The resume checkpoint (sqlite file); `None` runs without one.
    pub checkpoint: Option<PathBuf>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            transfers: 16,
            compare: Compare::default(),
            ignore_existing: false,
            delete: false,
            dry_run: false,
            filter: Filter::default(),
            retries: 3,
            part_size: 8 * 1024 * 1024,
            multipart_threshold: 8 * 1024 * 1024,
            part_concurrency: 4,
            memory_budget: 32 * 1024 * 1024,
            server_side_copy: true,
            readback: Readback::default(),
            checkpoint: None,
        }
    }
}

impl SyncOptions {
    fn validate(&self) -> Result<()> {
        if self.transfers == 0 || self.transfers > 4096 {
            return Err(Error::invalid("transfers must be between 1 and 4096"));
        }
        if self.part_size < 1024 * 1024 || self.part_size > 5 * 1024 * 1024 * 1024 {
            return Err(Error::invalid("part size must be between 1 MiB and 5 GiB"));
        }
        if self.part_concurrency == 0 || self.part_concurrency > 64 {
            return Err(Error::invalid("part concurrency must be between 1 and 64"));
        }
        Ok(())
    }
}

/// One side of a run: a bucket and a key prefix ("directory") in it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::storage::open_mem;
/// use gureum_sync::{sync, Endpoint, Hooks, SyncOptions};
/// let (src, dst) = (open_mem("ep-src"), open_mem("ep-dst"));
/// src.put("2026/11/a.csv", "1").await?;
/// // Copy the "directory" 2026/ of one bucket to archive/2026/ of another.
/// let r = sync(&Endpoint::new(src, "2026"), &Endpoint::new(dst.clone(), "archive/2026"), &SyncOptions::default(), &Hooks::default()).await?;
/// assert_eq!(r.copied, 1);
/// assert!(dst.exists("archive/2026/11/a.csv").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The bucket.
    pub bucket: Bucket,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
    /// Whether this backend's etags of single-part objects are content MD5s (see
    /// [`md5_etag_schemes`]); `false` makes verification read objects back instead.
    pub md5_etags: bool,
    /// A stable printable name (no secrets) identifying the side in the checkpoint.
    pub label: String,
}

impl Endpoint {
    /// `bucket` under `prefix` (a `/` is appended to a non-empty prefix without one: the
    /// prefix names a "directory"). MD5 etags are trusted for the schemes in
    /// [`md5_etag_schemes`].
    ///
    /// ```
    /// let e = gureum_sync::Endpoint::new(gureum_local::storage::open_mem("ep-new"), "photos");
    /// assert_eq!(e.prefix, "photos/"); // a prefix names a directory
    /// assert!(!e.md5_etags); // mem:// etags are not content MD5s
    /// assert_eq!(e.label, "mem:ep-new#photos/");
    /// ```
    pub fn new(bucket: Bucket, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let md5_etags = md5_etag_schemes().contains(&bucket.info().scheme.as_str());
        let label = format!("{}:{}#{prefix}", bucket.info().scheme, bucket.name());
        Endpoint {
            bucket,
            prefix,
            md5_etags,
            label,
        }
    }
    /// Override whether etags are trusted as content MD5s (e.g. `false` when a client-side
    /// encryption layer is stacked: the etag is the ciphertext's).
    ///
    /// ```
    /// let e = gureum_sync::Endpoint::new(gureum_local::storage::open_mem("ep-md5"), "").with_md5_etags(false);
    /// assert!(!e.md5_etags);
    /// ```
    pub fn with_md5_etags(mut self, trusted: bool) -> Self {
        self.md5_etags = trusted;
        self
    }
    /// Set the label (use the bucket URL with secrets redacted).
    ///
    /// ```
    /// let e = gureum_sync::Endpoint::new(gureum_local::storage::open_mem("ep-label"), "").with_label("s3://archive");
    /// assert_eq!(e.label, "s3://archive");
    /// ```
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    pub(crate) fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }
    pub(crate) fn scheme(&self) -> String {
        self.bucket.info().scheme.clone()
    }

    /// A plain local directory: `file://` with no layer stacked (no encryption, audit, ...),
    /// so what is stored is exactly the bytes handed to the write.
    pub(crate) fn is_plain_local_file(&self) -> bool {
        self.bucket.info().scheme == "file" && self.bucket.layers().is_empty()
    }
}

/// Something that happened during a run, for progress displays and logs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{sync, Endpoint, Event, Hooks, Observer, SyncOptions};
/// use std::sync::{atomic::{AtomicU64, Ordering}, Arc};
/// #[derive(Default)]
/// struct Count(AtomicU64);
/// impl Observer for Count {
///     fn event(&self, e: &Event<'_>) {
///         if let Event::Copied { .. } = e {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// let (src, dst) = (gureum_local::storage::open_mem("ev-src"), gureum_local::storage::open_mem("ev-dst"));
/// src.put("a", "1").await?;
/// src.put("b", "2").await?;
/// let count = Arc::new(Count::default());
/// let hooks = Hooks { observer: Some(count.clone()), ..Hooks::default() };
/// sync(&Endpoint::new(src, ""), &Endpoint::new(dst, ""), &SyncOptions::default(), &hooks).await?;
/// assert_eq!(count.0.load(Ordering::Relaxed), 2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An object will be transferred (`bytes` long).
    Queued {
        /// Relative key.
        key: &'a str,
        /// Its size.
        bytes: u64,
    },
    /// Bytes moved (increment).
    Bytes(u64),
    /// An object was copied and verified.
    Copied {
        /// Relative key.
        key: &'a str,
        /// Its size.
        bytes: u64,
        /// Copied by the store itself.
        server_side: bool,
    },
    /// Dry run: the object would be copied.
    WouldCopy {
        /// Relative key.
        key: &'a str,
        /// Its size.
        bytes: u64,
    },
    /// The object is up to date.
    Skipped {
        /// Relative key.
        key: &'a str,
    },
    /// A destination object without source was deleted.
    Deleted {
        /// Relative key.
        key: &'a str,
    },
    /// Dry run: the object would be deleted.
    WouldDelete {
        /// Relative key.
        key: &'a str,
    },
    /// An attempt failed and is retried.
    Retrying {
        /// Relative key.
        key: &'a str,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why.
        error: &'a Error,
    },
    /// An object failed (after retries); the run goes on.
    Failed {
        /// Relative key.
        key: &'a str,
        /// Why.
        error: &'a Error,
    },
    /// `check`: the object differs or is missing on one side.
    Differs {
        /// Relative key.
        key: &'a str,
        /// How.
        reason: &'a str,
    },
    /// `check`: the object is the same on both sides.
    Matched {
        /// Relative key.
        key: &'a str,
    },
}

/// Receives [`Event`]s (from several tasks at once).
///
/// ```
/// use gureum_sync::{Event, Observer};
/// struct Log;
/// impl Observer for Log {
///     fn event(&self, e: &Event<'_>) {
///         if let Event::Failed { key, error } = e {
///             eprintln!("{key}: {error}");
///         }
///     }
/// }
/// Log.event(&Event::Bytes(10)); // not a failure: nothing printed
/// let e = gureum_core::Error::other("x");
/// Log.event(&Event::Failed { key: "a", error: &e });
/// ```
pub trait Observer: Send + Sync {
    /// Called for each event.
    fn event(&self, e: &Event<'_>);
}

/// Aborts incomplete multipart uploads a killed run left behind (they are billed until
/// aborted). The engine is vendor-neutral: the caller provides the janitor for the backends
/// it knows (the CLI's aborts S3-family uploads through `S3Native`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Bucket;
/// use gureum_sync::UploadJanitor;
/// /// For a backend that keeps nothing of an incomplete upload.
/// struct Nothing;
/// #[gureum_core::async_trait]
/// impl UploadJanitor for Nothing {
///     async fn abort_incomplete(&self, _bucket: &Bucket, _key: &str) -> gureum_core::Result<usize> {
///         Ok(0)
///     }
/// }
/// let b = gureum_local::storage::open_mem("janitor-doc");
/// assert_eq!(Nothing.abort_incomplete(&b, "big.iso").await?, 0);
/// # Ok(()) }
/// ```
#[async_trait::async_trait]
pub trait UploadJanitor: Send + Sync {
    /// Abort every incomplete upload to `key` in `bucket` started before this run; returns
    /// how many were aborted (0 when the backend keeps nothing for incomplete uploads).
    async fn abort_incomplete(&self, bucket: &Bucket, key: &str) -> Result<usize>;
}

/// Optional collaborators of a run.
///
/// ```
/// let hooks = gureum_sync::Hooks::default();
/// assert!(hooks.observer.is_none() && hooks.janitor.is_none());
/// ```
#[derive(Clone, Default)]
pub struct Hooks {
    /// Progress events.
    pub observer: Option<Arc<dyn Observer>>,
    /// Aborts uploads left by a killed run (see [`UploadJanitor`]).
    pub janitor: Option<Arc<dyn UploadJanitor>>,
}

/// One object that failed.
///
/// ```
/// use gureum_sync::{Failure, Report};
/// // What a report lists for each object that failed after its retries.
/// let f = Failure { key: "민원/c-1.json".into(), kind: "integrity".into(), message: "md5 mismatch".into() };
/// let report = Report { failed_count: 1, integrity_failures: 1, failed: vec![f], ..Report::default() };
/// assert_eq!(report.failed[0].kind, gureum_core::ErrorKind::Integrity.as_str());
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Relative key.
    pub key: String,
    /// Error kind (`integrity`, `not_found`, ...).
    pub kind: String,
    /// Message.
    pub message: String,
}

impl Failure {
    fn new(key: &str, e: &Error) -> Self {
        Failure {
            key: key.to_string(),
            kind: e.kind().as_str().to_string(),
            message: e.message().to_string(),
        }
    }
}

/// Failures kept in a report (the count goes on).
const MAX_KEPT: usize = 10_000;

/// What a `sync` run did.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{sync, Endpoint, Hooks, SyncOptions};
/// let (src, dst) = (gureum_local::storage::open_mem("report-src"), gureum_local::storage::open_mem("report-dst"));
/// src.put("a", "12345").await?;
/// dst.put("stale", "x").await?;
/// let opts = SyncOptions { delete: true, ..SyncOptions::default() };
/// let r = sync(&Endpoint::new(src, ""), &Endpoint::new(dst, ""), &opts, &Hooks::default()).await?;
/// assert_eq!((r.copied, r.deleted, r.bytes), (1, 1, 5));
/// assert_eq!((r.listed_source, r.listed_destination), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Objects copied and verified (or, in a dry run, that would be).
    pub copied: u64,
    /// Of those, copied server-side.
    pub server_side: u64,
    /// Objects up to date.
    pub skipped: u64,
    /// Destination objects deleted (or that would be).
    pub deleted: u64,
    /// Objects that failed (after retries).
    pub failed_count: u64,
    /// The failures (at most 10,000 kept).
    pub failed: Vec<Failure>,
    /// Failures that were integrity mismatches.
    pub integrity_failures: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects listed at the source (before filters).
    pub listed_source: u64,
    /// Objects listed at the destination (before filters).
    pub listed_destination: u64,
    /// Incomplete uploads of a previous run that were aborted.
    pub aborted_uploads: u64,
    /// `--delete` was asked but skipped because transfers failed.
    pub deletions_skipped: bool,
    /// Dry run.
    pub dry_run: bool,
    /// Wall time.
    pub duration_secs: f64,
    /// Bytes copied per second of wall time, in MiB/s.
    pub throughput_mib_s: f64,
}

impl Report {
    fn fail(&mut self, key: &str, e: &Error) {
        self.failed_count += 1;
        if e.kind() == ErrorKind::Integrity {
            self.integrity_failures += 1;
        }
        if self.failed.len() < MAX_KEPT {
            self.failed.push(Failure::new(key, e));
        }
    }
}

/// How two trees differ at one key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{check, Endpoint, Hooks, SyncOptions};
/// let (a, b) = (gureum_local::storage::open_mem("diff-a"), gureum_local::storage::open_mem("diff-b"));
/// a.put("only-here.csv", "1").await?;
/// let r = check(&Endpoint::new(a, ""), &Endpoint::new(b, ""), &SyncOptions::default(), &Hooks::default()).await?;
/// assert_eq!(r.differences[0].key, "only-here.csv");
/// assert_eq!(r.differences[0].reason, "missing-on-destination");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// Relative key.
    pub key: String,
    /// `missing-on-destination`, `only-on-destination`, `size`, `content`.
    pub reason: String,
}

/// What `check` found.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{check, Endpoint, Hooks, SyncOptions};
/// let (a, b) = (gureum_local::storage::open_mem("check-a"), gureum_local::storage::open_mem("check-b"));
/// a.put("same", "1").await?;
/// b.put("same", "1").await?;
/// a.put("size", "1").await?;
/// b.put("size", "22").await?;
/// let r = check(&Endpoint::new(a, ""), &Endpoint::new(b, ""), &SyncOptions::default(), &Hooks::default()).await?;
/// assert_eq!((r.matched, r.differences_count), (1, 1));
/// assert_eq!(r.differences[0].reason, "size");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Objects equal on both sides.
    pub matched: u64,
    /// Number of differences.
    pub differences_count: u64,
    /// The differences (at most 10,000 kept).
    pub differences: Vec<Difference>,
    /// Objects that could not be compared.
    pub failed_count: u64,
    /// Those failures (at most 10,000 kept).
    pub failed: Vec<Failure>,
    /// Bytes read to hash objects without a trusted MD5 etag.
    pub listed_source: u64,
    /// Objects listed at the destination.
    pub listed_destination: u64,
    /// Wall time.
    pub duration_secs: f64,
}

/// One key of the merge-join.
struct Pair {
    rel: String,
    src: Option<ObjectInfo>,
    dst: Option<ObjectInfo>,
}

/// Merge-join of two ordered listings.
struct Join {
    a: mpsc::Receiver<Result<Listed>>,
    b: mpsc::Receiver<Result<Listed>>,
    ha: Option<Listed>,
    hb: Option<Listed>,
    a_done: bool,
    b_done: bool,
}

impl Join {
    fn new(a: mpsc::Receiver<Result<Listed>>, b: mpsc::Receiver<Result<Listed>>) -> Self {
        Join {
            a,
            b,
            ha: None,
            hb: None,
            a_done: false,
            b_done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Pair>> {
        if self.ha.is_none() && !self.a_done {
            match self.a.recv().await {
                Some(r) => self.ha = Some(r?),
                None => self.a_done = true,
            }
        }
        if self.hb.is_none() && !self.b_done {
            match self.b.recv().await {
                Some(r) => self.hb = Some(r?),
                None => self.b_done = true,
            }
        }
        let ord = match (&self.ha, &self.hb) {
            (None, None) => return Ok(None),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.rel.cmp(&y.rel),
        };
        Ok(Some(match ord {
            std::cmp::Ordering::Less => {
                let x = self.ha.take().expect("head present");
                Pair {
                    rel: x.rel,
                    src: Some(x.info),
                    dst: None,
                }
            }
            std::cmp::Ordering::Greater => {
                let y = self.hb.take().expect("head present");
                Pair {
                    rel: y.rel,
                    src: None,
                    dst: Some(y.info),
                }
            }
            std::cmp::Ordering::Equal => {
                let x = self.ha.take().expect("head present");
                let y = self.hb.take().expect("head present");
                Pair {
                    rel: x.rel,
                    src: Some(x.info),
                    dst: Some(y.info),
                }
            }
        }))
    }
}

fn same_store(a: &Bucket, b: &Bucket) -> bool {
    std::ptr::eq(
        Arc::as_ptr(&a.object_store()) as *const (),
        Arc::as_ptr(&b.object_store()) as *const (),
    )
}

fn start_listings(
    src: &Endpoint,
    dst: &Endpoint,
    filter: &Filter,
) -> (Join, Arc<ListStats>, Arc<ListStats>) {
    let (sa, sb) = (
        Arc::new(ListStats::default()),
        Arc::new(ListStats::default()),
    );
    let a = listing::spawn(
        src.bucket.clone(),
        src.prefix.clone(),
        filter.clone(),
        sa.clone(),
    );
    let b = listing::spawn(
        dst.bucket.clone(),
        dst.prefix.clone(),
        filter.clone(),
        sb.clone(),
    );
    (Join::new(a, b), sa, sb)
}

enum Action {
    Copy {
        rel: String,
        src: ObjectInfo,
        dst: Option<ObjectInfo>,
        compare_first: bool,
    },
}

enum Outcome {
    Copied(String, Copied),
    WouldCopy(String, u64),
    UpToDate(String),
    Failed(String, Error),
}

fn mtime_ms(o: &ObjectInfo) -> i64 {
    o.last_modified.timestamp_millis()
}

async fn process(ctx: &Ctx, a: Action) -> Outcome {
    let Action::Copy {
        rel,
        src,
        dst,
        compare_first,
    } = a;
    if compare_first {
        if let Some(d) = &dst {
            let same = futures::future::try_join(
                content_md5(&ctx.src, &ctx.src_store, &src),
                content_md5(&ctx.dst, &ctx.dst_store, d),
            )
            .await;
            match same {
                Ok((x, y)) if x == y => {
                    if let Some(c) = &ctx.checkpoint {
                        if let Err(e) = c.mark_done(
                            &rel,
                            DoneRecord {
                                size: src.size,
                                mtime_ms: mtime_ms(&src),
                                src_etag: src.etag.clone(),
                                dst_etag: d.etag.clone(),
                            },
                        ) {
                            tracing::warn!(error = %e, "checkpoint write failed");
                        }
                    }
                    return Outcome::UpToDate(rel);
                }
                Ok(_) => {}
                Err(e) => return Outcome::Failed(rel, e),
            }
        }
    }
    if ctx.opts.dry_run {
        return Outcome::WouldCopy(rel, src.size);
    }
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match copy_once(ctx, &rel, &src).await {
            Ok(c) => {
                if let Some(cp) = &ctx.checkpoint {
                    if let Err(e) = cp.mark_done(
                        &rel,
                        DoneRecord {
                            size: src.size,
                            mtime_ms: mtime_ms(&src),
                            src_etag: src.etag.clone(),
                            dst_etag: c.dst_etag.clone(),
                        },
                    ) {
                        tracing::warn!(error = %e, "checkpoint write failed");
                    }
                }
                return Outcome::Copied(rel, c);
            }
            Err(e)
                if attempt <= ctx.opts.retries
                    && (e.kind() == ErrorKind::Integrity
                        || e.is_retryable()
                        || e.kind() == ErrorKind::PreconditionFailed) =>
            {
                ctx.emit(Event::Retrying {
                    key: &rel,
                    attempt,
                    error: &e,
                });
                tracing::warn!(key = %rel, attempt, error = %e, "retrying");
                tokio::time::sleep(Duration::from_millis(100u64 << attempt.min(6))).await;
            }
            Err(e) => return Outcome::Failed(rel, e),
        }
    }
}

/// Copy every object of `src` that is missing or out of date at `dst` (and with
/// `opts.delete`, delete what `dst` has beyond `src`). A failure on one object is reported and
/// the others go on; an error listing either side ends the run with that error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{sync, Endpoint, Hooks, SyncOptions};
/// let tmp = tempfile::tempdir()?;
/// let src = gureum_local::storage::open_file(tmp.path().join("civic"))?;
/// src.put("민원/c-1041.json", "{}").await?;
/// src.put("민원/c-1042.json", "{}").await?;
/// let dst = gureum_local::storage::open_mem("sync-doc-dst");
/// let (s, d) = (Endpoint::new(src, ""), Endpoint::new(dst.clone(), ""));
/// let first = sync(&s, &d, &SyncOptions::default(), &Hooks::default()).await?;
/// assert_eq!(first.copied, 2);
/// // A second run finds everything up to date.
/// let again = sync(&s, &d, &SyncOptions::default(), &Hooks::default()).await?;
/// assert_eq!((again.copied, again.skipped), (0, 2));
/// # Ok(()) }
/// ```
pub async fn sync(
    src: &Endpoint,
    dst: &Endpoint,
    opts: &SyncOptions,
    hooks: &Hooks,
) -> Result<Report> {
    opts.validate()?;
    let started = Instant::now();
    let same = same_store(&src.bucket, &dst.bucket);
    if same && (src.prefix.starts_with(&dst.prefix) || dst.prefix.starts_with(&src.prefix)) {
        return Err(Error::invalid(
            "source and destination overlap (same bucket, one prefix inside the other)",
        ));
    }
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let checkpoint = match (&opts.checkpoint, opts.dry_run) {
        (Some(p), false) => Some(Arc::new(Checkpoint::open(p, &src.label, &dst.label)?)),
        _ => None,
    };
    if let Some(cp) = &checkpoint {
        for key in cp.inflight()? {
            match &hooks.janitor {
                Some(j) => match j.abort_incomplete(&dst.bucket, &key).await {
                    Ok(n) => {
                        tracing::info!(key = %key, aborted = n, "aborted the incomplete upload of a previous run");
                        report.aborted_uploads += n as u64;
                        cp.end_upload(&key)?;
                    }
                    Err(e) => {
                        tracing::warn!(key = %key, error = %e, "could not abort a previous run's upload")
                    }
                },
                None => {
                    tracing::warn!(key = %key, "a previous run left an upload unfinished and no janitor knows this backend");
                    cp.end_upload(&key)?;
                }
            }
        }
    }
    let budget = opts.memory_budget.max(opts.part_size);
    let budget_kib = (budget / 1024).min(u32::MAX as usize / 2) as u32;
    let ctx = Ctx {
        src: src.clone(),
        dst: dst.clone(),
        src_store: src.bucket.object_store(),
        dst_store: dst.bucket.object_store(),
        same_store: same,
        opts: opts.clone(),
        budget: Arc::new(Semaphore::new(budget_kib as usize)),
        budget_kib,
        checkpoint: checkpoint.clone(),
        observer: hooks.observer.clone(),
    };
    let (mut join, sstats, dstats) = start_listings(src, dst, &opts.filter);
    let (tx, rx) = mpsc::channel::<Action>(opts.transfers * 2);

    // The merge-join: decides per key, sends copies to the workers, writes extras to a file.
    let producer = async {
        let mut skipped = 0u64;
        let mut extras: Option<std::io::BufWriter<std::fs::File>> = None;
        let mut n_extras = 0u64;
        while let Some(p) = join.next().await? {
            match (p.src, p.dst) {
                (Some(s), None) => {
                    ctx.emit(Event::Queued {
                        key: &p.rel,
                        bytes: s.size,
                    });
                    let a = Action::Copy {
                        rel: p.rel,
                        src: s,
                        dst: None,
                        compare_first: false,
                    };
                    if tx.send(a).await.is_err() {
                        break;
                    }
                }
                (None, Some(_)) => {
                    if opts.delete {
                        let f = match &mut extras {
                            Some(f) => f,
                            None => extras.insert(std::io::BufWriter::new(
                                tempfile::tempfile().map_err(Error::from)?,
                            )),
                        };
                        // Portable keys hold no control characters: one key per line.
                        writeln!(f, "{}", p.rel).map_err(Error::from)?;
                        n_extras += 1;
                    }
                }
                (Some(s), Some(d)) => {
                    let up_to_date = if opts.ignore_existing {
                        Some(true)
                    } else if s.size != d.size {
                        Some(false)
                    } else {
                        match opts.compare {
                            Compare::SizeOnly => Some(true),
                            Compare::SizeMtime => {
                                Some(d.last_modified.timestamp() >= s.last_modified.timestamp())
                            }
                            Compare::Checksum => {
                                let rec = match &checkpoint {
                                    Some(c) => c.done(&p.rel)?,
                                    None => None,
                                };
                                match rec {
                                    Some(r)
                                        if r.size == s.size
                                            && r.mtime_ms == mtime_ms(&s)
                                            && r.src_etag == s.etag
                                            && r.dst_etag.is_some()
                                            && r.dst_etag == d.etag =>
                                    {
                                        Some(true)
                                    }
                                    _ => None,
                                }
                            }
                        }
                    };
                    match up_to_date {
                        Some(true) => {
                            skipped += 1;
                            ctx.emit(Event::Skipped { key: &p.rel });
                        }
                        other => {
                            ctx.emit(Event::Queued {
                                key: &p.rel,
                                bytes: s.size,
                            });
                            let a = Action::Copy {
                                rel: p.rel,
                                src: s,
                                dst: Some(d),
                                compare_first: other.is_none(),
                            };
                            if tx.send(a).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                (None, None) => {}
            }
        }
        drop(tx);
        let extras = match extras {
            Some(w) => Some(w.into_inner().map_err(|e| Error::from(e.into_error()))?),
            None => None,
        };
        Ok::<_, Error>((skipped, extras, n_extras))
    };

    let mut worker_report = Report::default();
    let workers =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|a| (a, rx)) })
            .map(|a| process(&ctx, a))
            .buffer_unordered(opts.transfers)
            .for_each(|o| {
                match o {
                    Outcome::Copied(k, c) => {
                        worker_report.copied += 1;
                        worker_report.bytes += c.bytes;
                        if c.server_side {
                            worker_report.server_side += 1;
                        }
                        ctx.emit(Event::Copied {
                            key: &k,
                            bytes: c.bytes,
                            server_side: c.server_side,
                        });
                    }
                    Outcome::WouldCopy(k, n) => {
                        worker_report.copied += 1;
                        worker_report.bytes += n;
                        ctx.emit(Event::WouldCopy { key: &k, bytes: n });
                    }
                    Outcome::UpToDate(k) => {
                        worker_report.skipped += 1;
                        ctx.emit(Event::Skipped { key: &k });
                    }
                    Outcome::Failed(k, e) => {
                        ctx.emit(Event::Failed { key: &k, error: &e });
                        worker_report.fail(&k, &e);
                    }
                }
                futures::future::ready(())
            });
    let (produced, ()) = tokio::join!(producer, workers);
    if let Some(cp) = &checkpoint {
        cp.flush()?;
    }
    let (skipped, extras, n_extras) = produced?;
    report.copied = worker_report.copied;
    report.server_side = worker_report.server_side;
    report.bytes = worker_report.bytes;
    report.skipped = skipped + worker_report.skipped;
    report.failed = worker_report.failed;
    report.failed_count = worker_report.failed_count;
    report.integrity_failures = worker_report.integrity_failures;
    report.listed_source = sstats.listed.load(Ordering::Relaxed);
    report.listed_destination = dstats.listed.load(Ordering::Relaxed);

    if let Some(file) = extras {
        if report.failed_count > 0 {
            tracing::warn!(
                n_extras,
                "not deleting destination objects: some transfers failed"
            );
            report.deletions_skipped = true;
        } else {
            let unsure = sstats.out_of_order.load(Ordering::Relaxed)
                || dstats.out_of_order.load(Ordering::Relaxed);
            delete_extras(&ctx, file, unsure, &mut report).await?;
        }
    }

    drop(ctx);
    if let Some(cp) = checkpoint {
        if report.failed_count == 0 {
            match Arc::try_unwrap(cp) {
                Ok(cp) => cp.remove()?,
                Err(_) => tracing::debug!("checkpoint still shared; kept"),
            }
        }
    }
    report.duration_secs = started.elapsed().as_secs_f64();
    if report.duration_secs > 0.0 {
        report.throughput_mib_s = report.bytes as f64 / 1048576.0 / report.duration_secs;
    }
    Ok(report)
}

async fn delete_extras(
    ctx: &Ctx,
    file: std::fs::File,
    unsure: bool,
    report: &mut Report,
) -> Result<()> {
    use std::io::Seek;
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(0))
        .map_err(Error::from)?;
    let mut lines = std::io::BufReader::new(file).lines();
    loop {
        let mut batch = Vec::with_capacity(1000);
        for l in lines.by_ref() {
            batch.push(l.map_err(Error::from)?);
            if batch.len() == 1000 {
                break;
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        if unsure {
            // A listing came out of order: confirm the source really lacks each key.
            let mut keep = Vec::with_capacity(batch.len());
            for rel in batch {
                if !ctx.src.bucket.exists(&ctx.src.key(&rel)).await? {
                    keep.push(rel);
                }
            }
            batch = keep;
        }
        if ctx.opts.dry_run {
            for rel in &batch {
                report.deleted += 1;
                ctx.emit(Event::WouldDelete { key: rel });
            }
            continue;
        }
        let keys: Vec<String> = batch.iter().map(|r| ctx.dst.key(r)).collect();
        let results = ctx.dst.bucket.delete_many(&keys).await?;
        for (rel, r) in batch.iter().zip(results) {
            match r {
                Ok(()) => {
                    report.deleted += 1;
                    ctx.emit(Event::Deleted { key: rel });
                }
                Err(e) => {
                    ctx.emit(Event::Failed {
                        key: rel,
                        error: &e,
                    });
                    report.fail(rel, &e);
                }
            }
        }
    }
}

enum CheckOutcome {
    Matched(String),
    Differs(String, &'static str),
    Failed(String, Error),
}

/// Compare two trees without copying: keys on one side only, sizes, and (unless
/// `opts.compare` is [`Compare::SizeOnly`]) content MD5s. Uses `opts.transfers`,
/// `opts.filter` and `opts.compare`; other options are ignored.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_sync::{check, sync, Compare, Endpoint, Hooks, SyncOptions};
/// let (a, b) = (gureum_local::storage::open_mem("chk-a"), gureum_local::storage::open_mem("chk-b"));
/// a.put("x.bin", vec![1u8; 1000]).await?;
/// let (s, d) = (Endpoint::new(a, ""), Endpoint::new(b.clone(), ""));
/// sync(&s, &d, &SyncOptions::default(), &Hooks::default()).await?;
/// let opts = SyncOptions { compare: Compare::Checksum, ..SyncOptions::default() };
/// assert_eq!(check(&s, &d, &opts, &Hooks::default()).await?.differences_count, 0);
/// b.put("x.bin", vec![2u8; 1000]).await?; // same size, other content
/// assert_eq!(check(&s, &d, &opts, &Hooks::default()).await?.differences[0].reason, "content");
/// # Ok(()) }
/// ```
pub async fn check(
    src: &Endpoint,
    dst: &Endpoint,
    opts: &SyncOptions,
    hooks: &Hooks,
) -> Result<CheckReport> {
    opts.validate()?;
    let started = Instant::now();
    let (mut join, sstats, dstats) = start_listings(src, dst, &opts.filter);
    let (src_store, dst_store) = (src.bucket.object_store(), dst.bucket.object_store());
    let emit = |e: Event<'_>| {
        if let Some(o) = &hooks.observer {
            o.event(&e);
        }
    };
    let (tx, rx) = mpsc::channel::<Pair>(opts.transfers * 2);
    let producer = async {
        while let Some(p) = join.next().await? {
            if tx.send(p).await.is_err() {
                break;
            }
        }
        drop(tx);
        Ok::<_, Error>(())
    };
    let size_only = opts.compare == Compare::SizeOnly;
    let (src_store, dst_store) = (&src_store, &dst_store);
    let mut rep = CheckReport::default();
    let workers =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|a| (a, rx)) })
            .map(|p| async move {
                match (p.src, p.dst) {
                    (Some(_), None) => CheckOutcome::Differs(p.rel, "missing-on-destination"),
                    (None, Some(_)) => CheckOutcome::Differs(p.rel, "only-on-destination"),
                    (Some(s), Some(d)) => {
                        if s.size != d.size {
                            return CheckOutcome::Differs(p.rel, "size");
                        }
                        if size_only {
                            return CheckOutcome::Matched(p.rel);
                        }
                        match futures::future::try_join(
                            content_md5(src, src_store, &s),
                            content_md5(dst, dst_store, &d),
                        )
                        .await
                        {
                            Ok((a, b)) if a == b => CheckOutcome::Matched(p.rel),
                            Ok(_) => CheckOutcome::Differs(p.rel, "content"),
                            Err(e) => CheckOutcome::Failed(p.rel, e),
                        }
                    }
                    (None, None) => CheckOutcome::Matched(p.rel),
                }
            })
            .buffer_unordered(opts.transfers)
            .for_each(|o| {
                match o {
                    CheckOutcome::Matched(k) => {
                        rep.matched += 1;
                        emit(Event::Matched { key: &k });
                    }
                    CheckOutcome::Differs(k, why) => {
                        rep.differences_count += 1;
                        emit(Event::Differs {
                            key: &k,
                            reason: why,
                        });
                        if rep.differences.len() < MAX_KEPT {
                            rep.differences.push(Difference {
                                key: k,
                                reason: why.to_string(),
                            });
                        }
                    }
                    CheckOutcome::Failed(k, e) => {
                        rep.failed_count += 1;
                        emit(Event::Failed { key: &k, error: &e });
                        if rep.failed.len() < MAX_KEPT {
                            rep.failed.push(Failure::new(&k, &e));
                        }
                    }
                }
                futures::future::ready(())
            });
    let (produced, ()) = tokio::join!(producer, workers);
    produced?;
    rep.listed_source = sstats.listed.load(Ordering::Relaxed);
    rep.listed_destination = dstats.listed.load(Ordering::Relaxed);
    rep.duration_secs = started.elapsed().as_secs_f64();
    Ok(rep)
}
