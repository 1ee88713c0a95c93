//! Storage cases, run against a [`Bucket`].
//!
//! Every key a case writes is under `<prefix>/<run-id>/<case>/`. Each case deletes what it wrote; the final case `storage.cleanup` sweeps the run prefix
//! and fails if anything is left.

use crate::harness::{
    caps_map, case, ensure, ensure_eq, expect_kind, expect_kinds, fail, run_cases, run_one, skip,
    CaseDef, Context, Gated, Outcome, Scope,
};
use crate::report::{Report, Section};
use crate::Options;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use gureum_core::{
    Bucket, ByteRange, ErrorKind, ListOptions, PresignMethod, PutOptions, WriteMode,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

mod admin;
mod basic;
mod concurrency;
mod conditional;
mod consistency;
mod copy;
mod delete;
mod edges;
mod errors;
mod keys;
mod keys_verbatim;
mod list;
mod metadata;
mod metadata_limits;
mod multipart;
mod multipart_edges;
mod overwrite;
mod pages;
mod presign;
mod races;
mod range;
mod read;
mod wire;

pub use pages::native_page_size;

impl Gated for Ctx {
    type Caps = gureum_core::StorageCapabilities;
}

/// State shared by the storage cases of one run.
pub(crate) struct Ctx {
    bucket: Bucket,
    opts: Options,
    root: String,
    http: reqwest::Client,
    /// The shared fixture of the page-crossing cases (see [`pages`]).
    pages: tokio::sync::Mutex<Option<pages::PageFixture>>,
}

impl Scope<Ctx> {
    /// The directory of this case: `<prefix>/<run-id>/<case>/`.
    fn dir(&self) -> String {
        format!("{}{}/", self.root, self.short())
    }
    /// A key inside this case's directory.
    fn key(&self, rel: &str) -> String {
        format!("{}{}", self.dir(), rel)
    }
    fn b(&self) -> &Bucket {
        &self.bucket
    }
    /// Write `data` under `rel`, returning the full key.
    async fn put(
        &self,
        rel: &str,
        data: impl Into<Bytes>,
    ) -> Result<String, crate::harness::CaseError> {
        let k = self.key(rel);
        self.b().put(&k, data).await.ctx(&format!("put {k:?}"))?;
        Ok(k)
    }
    /// Delete everything under this case's directory (best effort).
    async fn cleanup(&self) {
        sweep(self.b(), &self.dir()).await.ok();
    }
    /// Round trip `key` with `data`: put, get, head size, listed under the case dir, delete.
    async fn round_trip_key(&self, key: &str, data: &[u8]) -> Outcome {
        let data = Bytes::copy_from_slice(data);
        self.b()
            .put(key, data.clone())
            .await
            .ctx(&format!("put {key:?}"))?;
        let got = self.b().get(key).await.ctx(&format!("get {key:?}"))?;
        ensure!(
            got == data,
            "get {key:?} returned {} bytes that differ from the {} written",
            got.len(),
            data.len()
        );
        let h = self.b().head(key).await.ctx(&format!("head {key:?}"))?;
        ensure_eq!(h.size, data.len() as u64, "head {key:?} size");
        ensure!(
            self.b().exists(key).await.ctx("exists")?,
            "exists({key:?}) is false after put"
        );
        // The key must list back exactly under the longest directory-like prefix of it.
        let list_prefix = match key.rfind('/') {
            Some(i) => &key[..=i],
            None => "",
        };
        let keys: Vec<String> = self
            .b()
            .list_all(Some(list_prefix))
            .await
            .ctx(&format!("list {list_prefix:?}"))?
            .into_iter()
            .map(|o| o.key)
            .collect();
        ensure!(
            keys.iter().any(|k| k == key),
            "key {key:?} not listed back under {list_prefix:?}; listed {:?}",
            crate::harness::short_debug(&keys)
        );
        self.b().delete(key).await.ctx(&format!("delete {key:?}"))?;
        ensure!(
            !self.b().exists(key).await.ctx("exists")?,
            "key {key:?} still exists after delete"
        );
        Ok(())
    }
}

/// `key` (breaking `rule`) is refused with InvalidArgument by put, get, head and delete,
/// and nothing appears in the case directory.
async fn refused_key(s: &Scope<Ctx>, key: &str, rule: &str) -> Outcome {
    let put = s.b().put(key, "x").await;
    let get = s.b().get(key).await;
    let head = s.b().head(key).await;
    let del = s.b().delete(key).await;
    let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
    s.cleanup().await;
    expect_kind(
        put,
        ErrorKind::InvalidArgument,
        &format!("put of {key:?} ({rule})"),
    )?;
    expect_kind(
        get,
        ErrorKind::InvalidArgument,
        &format!("get of {key:?} ({rule})"),
    )?;
    expect_kind(
        head,
        ErrorKind::InvalidArgument,
        &format!("head of {key:?} ({rule})"),
    )?;
    expect_kind(
        del,
        ErrorKind::InvalidArgument,
        &format!("delete of {key:?} ({rule})"),
    )?;
    ensure!(listed.is_empty(), "a refused key left objects: {listed:?}");
    Ok(())
}

/// Deterministic test bytes.
pub(crate) fn pattern(len: usize, seed: u8) -> Bytes {
    let mut v = Vec::with_capacity(len);
    let mut x: u32 = 0x9E37_79B9 ^ seed as u32;
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x >> 24) as u8);
    }
    Bytes::from(v)
}

async fn sweep(b: &Bucket, prefix: &str) -> gureum_core::Result<usize> {
    let keys: Vec<String> = b
        .list_stream(Some(prefix))
        .map_ok(|o| o.key)
        .try_collect()
        .await?;
    let n = keys.len();
    // Small bulk calls: a busy Swift s3api needs more than the 30 s request timeout for 500.
    for chunk in keys.chunks(100) {
        for r in b.delete_many(chunk).await? {
            r?;
        }
    }
    Ok(n)
}

fn keys_of(v: &[gureum_core::ObjectInfo]) -> Vec<String> {
    v.iter().map(|o| o.key.clone()).collect()
}

/// Run the storage cases against `bucket`.
pub async fn run(bucket: &Bucket, opts: &Options) -> Report {
    let started = Instant::now();
    let mut report = Report::new(opts.run_id.clone());
    let caps = bucket.capabilities().clone();
    let map = caps_map(&caps);
    let ctx = Arc::new(Ctx {
        bucket: bucket.clone(),
        opts: opts.clone(),
        root: format!("{}/{}/", opts.prefix.trim_end_matches('/'), opts.run_id),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default(),
        pages: tokio::sync::Mutex::new(None),
    });
    let timeout = opts.scaled(opts.case_timeout);
    let after = |c: Arc<Ctx>, name: &'static str| -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let short = name.split_once('.').map(|x| x.1).unwrap_or(name);
            let dir = format!("{}{short}/", c.root);
            sweep(&c.bucket, &dir).await.ok();
            sweep(&c.bucket, &format!("/{dir}")).await.ok();
        })
    };
    let mut results = run_cases(ctx.clone(), &cases(), &caps, opts, timeout, after).await;
    results.push(run_one(ctx.clone(), &cleanup_case(), &caps, timeout).await);
    let backend = opts.backend.clone().unwrap_or_else(|| {
        let i = bucket.info();
        let mut s = if i.scheme.is_empty() {
            "storage".to_string()
        } else {
            format!("{}://", i.scheme)
        };
        if !i.provider.is_empty() {
            s.push_str(&format!(" ({})", i.provider));
        }
        s
    });
    report.sections.push(Section {
        area: "storage".into(),
        backend,
        capabilities: map.clone(),
        cases: results,
        notes: vec![format!(
            "bucket {:?}, run prefix {}",
            bucket.name(),
            ctx.root
        )],
        target: opts.target,
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
}

/// Remove everything a storage run with `opts.run_id` may have created: objects under
/// `<prefix>/<run-id>/` (and `/<prefix>/<run-id>/`, the leading-slash case) and, where the
/// bucket has admin, buckets named `gcf-<run-id>-*`. Used by the runner after an interrupted
/// run; returns how many objects and buckets were removed.
pub async fn cleanup(bucket: &Bucket, opts: &Options) -> gureum_core::Result<usize> {
    let root = format!("{}/{}/", opts.prefix.trim_end_matches('/'), opts.run_id);
    let mut n = sweep(bucket, &root).await?;
    n += sweep(bucket, &format!("/{root}")).await.unwrap_or(0);
    if let Ok(admin) = bucket.admin() {
        let stem = admin_bucket_name(&opts.run_id, "");
        if let Ok(names) = admin.list_buckets().await {
            for name in names.into_iter().filter(|b| b.starts_with(&stem)) {
                if let Ok(b) = admin.open(&name).await {
                    sweep(&b, "").await.ok();
                }
                if admin.delete_bucket(&name).await.is_ok() {
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// Names of the storage cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = cases().iter().map(|c| c.name).collect();
    v.push(cleanup_case().name);
    v
}

fn cleanup_case() -> CaseDef<Ctx> {
    case!("storage.cleanup", [], |s| {
        let root = s.root.clone();
        sweep(s.b(), &root).await.ctx("sweep run prefix")?;
        let left = keys_of(&s.b().list_all(Some(&root)).await.ctx("list run prefix")?);
        ensure!(
            left.is_empty(),
            "{} objects left under {root} after deleting them: {:?}",
            left.len(),
            crate::harness::short_debug(&left)
        );
        Ok(())
    })
}

fn odd_key_case(s: &Scope<Ctx>, rel: &str) -> String {
    s.key(rel)
}

/// Every case (but the final cleanup), area by area in run order.
fn cases() -> Vec<CaseDef<Ctx>> {
    [
        basic::cases(),
        multipart::cases(),
        read::cases(),
        keys::cases(),
        keys_verbatim::cases(),
        list::cases(),
        range::cases(),
        metadata::cases(),
        overwrite::cases(),
        conditional::cases(),
        copy::cases(),
        delete::cases(),
        concurrency::cases(),
        presign::cases(),
        admin::cases(),
        errors::cases(),
        consistency::cases(),
        edges::cases(),
        multipart_edges::cases(),
        races::cases(),
        metadata_limits::cases(),
        wire::cases(),
        pages::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn admin_bucket_name(run_id: &str, suffix: &str) -> String {
    let id: String = run_id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut n = format!("gcf-{id}-{suffix}");
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}
