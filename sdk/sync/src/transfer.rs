//! Copying one object: server-side copy, single put, or multipart upload fed by parallel
//! ranged reads; every byte hashed on the way and the result verified.

use crate::checkpoint::Checkpoint;
use crate::engine::{Endpoint, Event, Observer, Readback, SyncOptions};
use crate::hash::{etag_md5, md5_of, Digests, Hasher};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use gureum_core::key::encode_key;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, MultipartUpload, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
};
use gureum_core::storage::ObjectInfo;
use gureum_core::{Error, ErrorKind, Result};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Everything a transfer needs, shared by the workers of one run.
pub(crate) struct Ctx {
    pub(crate) src: Endpoint,
    pub(crate) dst: Endpoint,
    pub(crate) src_store: Arc<dyn ObjectStore>,
    pub(crate) dst_store: Arc<dyn ObjectStore>,
    pub(crate) same_store: bool,
    pub(crate) opts: SyncOptions,
    pub(crate) budget: Arc<Semaphore>,
    pub(crate) budget_kib: u32,
    pub(crate) checkpoint: Option<Arc<Checkpoint>>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

/// What one successful copy did.
#[derive(Debug, Clone)]
pub(crate) struct Copied {
    pub(crate) bytes: u64,
    pub(crate) server_side: bool,
    pub(crate) dst_etag: Option<String>,
}

impl Ctx {
    pub(crate) fn emit(&self, e: Event<'_>) {
        if let Some(o) = &self.observer {
            o.event(&e);
        }
    }

    /// Buffer permits (KiB) for `bytes` bytes, at most the whole budget.
    async fn reserve(&self, bytes: u64) -> Result<OwnedSemaphorePermit> {
        let kib = bytes.div_ceil(1024).clamp(1, self.budget_kib as u64) as u32;
        self.budget
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| Error::other("transfer budget closed"))
    }
}

fn integrity(msg: String) -> Error {
    Error::new(ErrorKind::Integrity, msg)
}

/// The attributes to store at the destination: everything the source had (content type,
/// cache control, content disposition/encoding/language, user metadata) except the storage
/// class, which names a vendor's tier.
fn carry(ctx: &Ctx, attrs: &Attributes, key: &str) -> Result<Attributes> {
    let caps = ctx.dst.bucket.capabilities();
    let mut out = Attributes::new();
    for (k, v) in attrs {
        match k {
            Attribute::StorageClass => continue,
            Attribute::Metadata(_) if !caps.user_metadata => {
                return Err(Error::unsupported(format!(
                    "{key}: the destination keeps no user metadata and the source object has some"
                )))
            }
            Attribute::ContentType if !caps.content_type => {
                tracing::warn!(key, "destination keeps no content type: not copied");
                continue;
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(out)
}

/// Copy `rel` once (no retry).
pub(crate) async fn copy_once(ctx: &Ctx, rel: &str, src_info: &ObjectInfo) -> Result<Copied> {
    let sk = ctx.src.key(rel);
    let dk = ctx.dst.key(rel);
    let sp = encode_key(&sk)?;
    let dp = encode_key(&dk)?;
    if ctx.same_store && ctx.opts.server_side_copy && ctx.src.bucket.capabilities().copy {
        match ctx.src_store.copy(&sp, &dp).await {
            Ok(()) => return verify_server_copy(ctx, &dk, src_info).await,
            Err(gureum_core::object_store::Error::NotImplemented { .. }) => {}
            Err(e) => return Err(Error::from(e)),
        }
    }
    // Another bucket of the same account and endpoint: the backend copies between buckets.
    if !ctx.same_store
        && ctx.opts.server_side_copy
        && ctx.dst.bucket.can_copy_from(&ctx.src.bucket)
        && ctx
            .dst
            .bucket
            .max_copy_from_size()
            .is_none_or(|m| src_info.size <= m)
    {
        match ctx.dst.bucket.copy_from(&ctx.src.bucket, &sk, &dk).await {
            Ok(()) => return verify_server_copy(ctx, &dk, src_info).await,
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
    }
    let multipart = src_info.size > ctx.opts.multipart_threshold
        && ctx.dst.bucket.capabilities().multipart
        && src_info.size > ctx.opts.part_size as u64;
    if multipart {
        multipart_copy(ctx, &sp, &dp, &dk, src_info).await
    } else {
        single_copy(ctx, &sp, &dp, src_info).await
    }
}

async fn verify_server_copy(ctx: &Ctx, dk: &str, src: &ObjectInfo) -> Result<Copied> {
    let d = ctx.dst.bucket.head(dk).await?;
    if d.size != src.size {
        return Err(integrity(format!(
            "{dk}: server-side copy has {} bytes, the source {}",
            d.size, src.size
        )));
    }
    let s_md5 = etag_md5(
        ctx.src.md5_etags,
        &ctx.src.scheme(),
        src.etag.as_deref(),
        src.size,
    );
    let d_md5 = etag_md5(
        ctx.dst.md5_etags,
        &ctx.dst.scheme(),
        d.etag.as_deref(),
        d.size,
    );
    if let (Some(a), Some(b)) = (s_md5, d_md5) {
        if a != b {
            return Err(integrity(format!(
                "{dk}: server-side copy's MD5 {} differs from the source's {}",
                hex::encode(b),
                hex::encode(a)
            )));
        }
    }
    ctx.emit(Event::Bytes(src.size));
    Ok(Copied {
        bytes: src.size,
        server_side: true,
        dst_etag: d.etag,
    })
}

fn check_source(ctx: &Ctx, key: &str, etag: Option<&str>, size: u64, d: &Digests) -> Result<()> {
    if let (Some(m), Some(got)) = (
        etag_md5(ctx.src.md5_etags, &ctx.src.scheme(), etag, size),
        d.md5,
    ) {
        if m != got {
            return Err(integrity(format!(
                "{key}: the bytes read have MD5 {}, the source's etag says {}",
                hex::encode(got),
                hex::encode(m)
            )));
        }
    }
    Ok(())
}

async fn single_copy(ctx: &Ctx, sp: &Path, dp: &Path, src_info: &ObjectInfo) -> Result<Copied> {
    let _permit = ctx.reserve(src_info.size).await?;
    let r = ctx.src_store.get_opts(sp, GetOptions::default()).await?;
    let attrs = carry(ctx, &r.attributes, sp.as_ref())?;
    let meta = r.meta.clone();
    let data: Bytes = r.bytes().await?;
    if data.len() as u64 != meta.size {
        return Err(integrity(format!(
            "{sp}: read {} bytes of {}",
            data.len(),
            meta.size
        )));
    }
    let mut h = Hasher::new();
    h.update(&data);
    let d = h.finish();
    check_source(ctx, sp.as_ref(), meta.e_tag.as_deref(), meta.size, &d)?;
    let n = data.len() as u64;
    let res = ctx
        .dst_store
        .put_opts(
            dp,
            PutPayload::from_bytes(data),
            PutOptions {
                attributes: attrs,
                ..Default::default()
            },
        )
        .await?;
    ctx.emit(Event::Bytes(n));
    verify_dest(ctx, dp, &d, n, res.e_tag.as_deref(), false).await?;
    Ok(Copied {
        bytes: n,
        server_side: false,
        dst_etag: res.e_tag,
    })
}

/// Check what arrived: the destination's MD5 etag (plain or multipart) when it has one;
/// otherwise, as [`Readback`] says, read it back and hash it, or check the stored size (and,
/// for a plain local directory, that the stored file is the one this write produced).
async fn verify_dest(
    ctx: &Ctx,
    dp: &Path,
    d: &Digests,
    size: u64,
    etag: Option<&str>,
    multipart: bool,
) -> Result<()> {
    if ctx.dst.md5_etags {
        if let Some(e) = etag {
            if d.etag_confirms(e) {
                return Ok(());
            }
            if !multipart || d.md5.is_none() {
                return Err(integrity(format!(
                    "{dp}: stored etag {e} does not match the bytes sent"
                )));
            }
        }
    }
    let local = ctx.dst.is_plain_local_file();
    let read_back = match ctx.opts.readback {
        Readback::Off => false,
        Readback::Remote => !local,
        Readback::All => true,
    };
    if let (true, Some(sent)) = (read_back, d.md5) {
        let (got, n) = stream_md5(&ctx.dst_store, dp).await?;
        if n != size || got != sent {
            return Err(integrity(format!(
                "{dp}: read back {n} bytes with MD5 {}, sent {size} bytes with MD5 {}",
                hex::encode(got),
                hex::encode(sent)
            )));
        }
        return Ok(());
    }
    let m = ctx
        .dst_store
        .get_opts(
            dp,
            GetOptions {
                head: true,
                ..Default::default()
            },
        )
        .await?
        .meta;
    if m.size != size {
        return Err(integrity(format!(
            "{dp}: stored {} bytes, sent {size}",
            m.size
        )));
    }
    // A local file's etag names the file (inode, modification time, size): the same etag as
    // the write returned means the file checked is the one written from the hashed buffers,
    // not one another writer put there since.
    if local {
        if let (Some(w), Some(s)) = (etag, m.e_tag.as_deref()) {
            if w != s {
                return Err(integrity(format!(
                    "{dp}: the stored file (etag {s}) is not the one written (etag {w})"
                )));
            }
        }
    }
    Ok(())
}

/// Blocks in which a local file is read back and hashed (one blocking read each).
const FILE_BLOCK: u64 = 1024 * 1024;

/// MD5 and length of a stored object, streaming. A local file (`file://`) is read in 1 MiB
/// blocks, one blocking read each: its generic byte stream reads 8 KiB per blocking-pool
/// hand-off, and those hand-offs, not the hashing, were most of the cost of reading back a
/// downloaded tree (S3 → file).
pub(crate) async fn stream_md5(store: &Arc<dyn ObjectStore>, p: &Path) -> Result<([u8; 16], u64)> {
    let r = store.get_opts(p, GetOptions::default()).await?;
    let mut h = Hasher::new();
    if let GetResultPayload::Stream(_) = &r.payload {
        let mut s = r.into_stream();
        while let Some(chunk) = s.try_next().await? {
            h.update(&chunk);
        }
    } else if r.meta.size <= FILE_BLOCK {
        h.update(&r.bytes().await?);
    } else {
        let (size, etag) = (r.meta.size, r.meta.e_tag.clone());
        drop(r);
        let mut off = 0;
        while off < size {
            let end = (off + FILE_BLOCK).min(size);
            let b = store
                .get_opts(
                    p,
                    GetOptions {
                        range: Some(GetRange::Bounded(off..end)),
                        if_match: etag.clone(),
                        ..Default::default()
                    },
                )
                .await?
                .bytes()
                .await?;
            if b.is_empty() {
                break;
            }
            off += b.len() as u64;
            h.update(&b);
        }
    }
    let n = h.bytes();
    Ok((h.finish().md5.unwrap_or_default(), n))
}

async fn multipart_copy(
    ctx: &Ctx,
    sp: &Path,
    dp: &Path,
    dk: &str,
    src_info: &ObjectInfo,
) -> Result<Copied> {
    // Keep within the destination's part-count limit (S3: 10,000 parts of 8 MiB = 78 GiB).
    let ps = gureum_core::storage::part_size_for(
        ctx.opts.part_size,
        src_info.size,
        ctx.dst.bucket.capabilities().max_parts,
    ) as u64;
    let permit0 = ctx.reserve(ps).await?;
    let first = ctx
        .src_store
        .get_opts(
            sp,
            GetOptions {
                range: Some(GetRange::Bounded(0..ps.min(src_info.size.max(1)))),
                ..Default::default()
            },
        )
        .await?;
    let attrs = carry(ctx, &first.attributes, sp.as_ref())?;
    let size = first.meta.size;
    let src_etag = first.meta.e_tag.clone();
    let first_bytes = first.bytes().await?;
    let n_parts = size.div_ceil(ps).max(1);

    if let Some(c) = &ctx.checkpoint {
        c.begin_upload(dk)?;
    }
    let mut up = match ctx
        .dst_store
        .put_multipart_opts(
            dp,
            PutMultipartOptions {
                attributes: attrs,
                ..Default::default()
            },
        )
        .await
    {
        Ok(u) => u,
        Err(e) => {
            if let Some(c) = &ctx.checkpoint {
                c.end_upload(dk)?;
            }
            return Err(e.into());
        }
    };

    // The whole MD5 serves the source's MD5 etag and a read-back; the part MD5s serve the
    // destination's multipart etag. Compute only what can be checked.
    let dst_swift = ctx.dst.scheme() == "swift";
    let whole = ctx.src.md5_etags || !ctx.dst.md5_etags || dst_swift;
    let mut hasher = Hasher::with(whole, ctx.dst.md5_etags);
    let body: Result<(Digests, Option<String>)> = async {
        let mut uploads = tokio::task::JoinSet::new();
        let expect = move |i: u64| ps.min(size - i * ps);
        if first_bytes.len() as u64 != expect(0) {
            return Err(integrity(format!(
                "{sp}: part 1 has {} bytes, expected {}",
                first_bytes.len(),
                expect(0)
            )));
        }
        start_part(&mut up, &mut uploads, 0, first_bytes, permit0, &mut hasher);
        let fetch = |i: u64| {
            let store = ctx.src_store.clone();
            let sp = sp.clone();
            let etag = src_etag.clone();
            async move {
                let permit = ctx.reserve(ps).await?;
                let r = store
                    .get_opts(
                        &sp,
                        GetOptions {
                            range: Some(GetRange::Bounded(i * ps..(i * ps + expect(i)))),
                            if_match: etag,
                            ..Default::default()
                        },
                    )
                    .await?;
                let b = r.bytes().await?;
                Ok::<_, Error>((i, b, permit))
            }
        };
        let mut parts = futures::stream::iter(1..n_parts)
            .map(fetch)
            .buffered(ctx.opts.part_concurrency.max(1));
        while let Some(p) = parts.next().await {
            let (i, b, permit) = p?;
            if b.len() as u64 != expect(i) {
                return Err(integrity(format!(
                    "{sp}: part {} has {} bytes, expected {}",
                    i + 1,
                    b.len(),
                    expect(i)
                )));
            }
            start_part(&mut up, &mut uploads, i as usize, b, permit, &mut hasher);
            while uploads.len() > ctx.opts.part_concurrency.max(1) {
                if let Some(r) = uploads.join_next().await {
                    let (idx, n, md5) =
                        r.map_err(|e| Error::other(format!("part upload task: {e}")))??;
                    hasher.set_part(idx, md5);
                    ctx.emit(Event::Bytes(n));
                }
            }
        }
        drop(parts);
        while let Some(r) = uploads.join_next().await {
            let (idx, n, md5) = r.map_err(|e| Error::other(format!("part upload task: {e}")))??;
            hasher.set_part(idx, md5);
            ctx.emit(Event::Bytes(n));
        }
        let d = hasher.finish();
        check_source(ctx, sp.as_ref(), src_etag.as_deref(), size, &d)?;
        let res = up.complete().await?;
        Ok((d, res.e_tag))
    }
    .await;

    let (digests, dst_etag) = match body {
        Ok(x) => x,
        Err(e) => {
            if let Err(a) = up.abort().await {
                tracing::warn!(key = dk, error = %a, "aborting the multipart upload failed");
            }
            if let Some(c) = &ctx.checkpoint {
                c.end_upload(dk)?;
            }
            return Err(e);
        }
    };
    if let Some(c) = &ctx.checkpoint {
        c.end_upload(dk)?;
    }
    verify_dest(ctx, dp, &digests, size, dst_etag.as_deref(), true).await?;
    Ok(Copied {
        bytes: size,
        server_side: false,
        dst_etag,
    })
}

/// What a part upload task returns: the part's index, its length and (when the task
/// computed it) its MD5.
type PartDone = (usize, u64, Option<[u8; 16]>);

/// Start uploading one part (in order) on a task of its own; the permit is released when
/// the part is stored. When only part MD5s are wanted (no whole-content MD5, which must see
/// the bytes in order), the part's MD5 is computed on the blocking pool while the part is
/// sent, so the hashing of several parts runs on all cores instead of in this loop.
fn start_part(
    up: &mut Box<dyn MultipartUpload>,
    uploads: &mut tokio::task::JoinSet<Result<PartDone>>,
    idx: usize,
    data: Bytes,
    permit: OwnedSemaphorePermit,
    h: &mut Hasher,
) {
    let n = data.len() as u64;
    let hash_in_task = h.parts_only();
    if hash_in_task {
        h.count(n);
    } else {
        h.part(&data);
    }
    let fut = up.put_part(PutPayload::from_bytes(data.clone()));
    uploads.spawn(async move {
        let md5 = async {
            if hash_in_task {
                tokio::task::spawn_blocking(move || md5_of(&data))
                    .await
                    .map(Some)
                    .map_err(|e| Error::other(format!("part hash task: {e}")))
            } else {
                Ok(None)
            }
        };
        let (md5, r) = futures::join!(md5, fut);
        drop(permit);
        r.map_err(Error::from)?;
        Ok((idx, n, md5?))
    });
}

/// The content MD5 of an object: its etag where that is a trusted MD5, else read and hashed.
pub(crate) async fn content_md5(
    ep: &Endpoint,
    store: &Arc<dyn ObjectStore>,
    info: &ObjectInfo,
) -> Result<[u8; 16]> {
    if let Some(m) = etag_md5(ep.md5_etags, &ep.scheme(), info.etag.as_deref(), info.size) {
        return Ok(m);
    }
    let (m, n) = stream_md5(store, &encode_key(&info.key)?).await?;
    if n != info.size {
        tracing::debug!(key = %info.key, listed = info.size, read = n, "object changed while hashing");
    }
    Ok(m)
}
