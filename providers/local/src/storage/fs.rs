//! [`FileStore`]: `object_store`'s `LocalFileSystem` with the portable bucket semantics.
//!
//! `LocalFileSystem` keeps no attributes and cannot do `PutMode::Update`. This wrapper adds:
//!
//! * **attributes** (content type, user metadata, ...) in sidecar JSON files under the hidden
//!   directory [`META_DIR`] inside the root; each sidecar records the etag of the data file it
//!   belongs to, so a data file replaced by another tool never shows stale metadata;
//! * **if-match writes** (`PutMode::Update`) and race-free metadata updates through striped
//!   advisory file locks (`flock`) under [`META_DIR`], which also serialise writers in other
//!   processes sharing the directory;
//! * **unique etags**: every write stamps the file's modification time with the precise clock,
//!   so the `inode-mtime-size` etag of `LocalFileSystem` changes on every write even when the
//!   kernel's coarse file timestamps and inode reuse would repeat it;
//! * **hidden internals**: listings never show [`META_DIR`] or empty directories, and keys
//!   whose first segment is [`META_DIR`] are refused;
//! * **file-system limits as `InvalidArgument`**: a path segment longer than
//!   [`MAX_SEGMENT_BYTES`], or an object whose name collides with a directory (`a` and `a/b`
//!   cannot both exist on a file system).
//!
//! Data files live exactly where `LocalFileSystem` puts them, so plain `object_store` users see
//! the same objects under the same paths.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyMode, CopyOptions, GetOptions, GetResult,
    ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, RenameTargetMode,
    UploadPart,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// The hidden directory inside the root that holds sidecars and lock files.
pub const META_DIR: &str = ".gureum-meta";

/// Longest path segment (file or directory name) in bytes. File systems allow 255; the rest
/// is kept for the staging suffix of atomic writes.
pub const MAX_SEGMENT_BYTES: usize = 240;

/// Longest file-system path in bytes (Linux `PATH_MAX` minus the staging suffix).
const MAX_FS_PATH_BYTES: usize = 4000;

/// Number of lock stripes.
const LOCK_STRIPES: u64 = 64;

const STORE_NAME: &str = "gureum-file";

type OsResult<T> = object_store::Result<T>;

struct Shared {
    inner: LocalFileSystem,
    root: PathBuf,
    meta: PathBuf,
    seq: AtomicU64,
}

/// A directory as an `ObjectStore`, with attributes, if-match writes and locking.
#[derive(Clone)]
pub struct FileStore {
    s: Arc<Shared>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("root", &self.s.root)
            .finish()
    }
}

impl fmt::Display for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileStore({})", self.s.root.display())
    }
}

/// The sidecar of one object.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Sidecar {
    /// Etag of the data file these attributes belong to.
    etag: String,
    /// Attributes as (name, value); names: `content-type`, ..., `meta:<name>`.
    attrs: BTreeMap<String, String>,
}

fn attr_name(a: &Attribute) -> Option<String> {
    Some(match a {
        Attribute::ContentDisposition => "content-disposition".into(),
        Attribute::ContentEncoding => "content-encoding".into(),
        Attribute::ContentLanguage => "content-language".into(),
        Attribute::ContentType => "content-type".into(),
        Attribute::CacheControl => "cache-control".into(),
        Attribute::StorageClass => "storage-class".into(),
        Attribute::Metadata(n) => format!("meta:{n}"),
        _ => return None,
    })
}

fn attr_from_name(n: &str) -> Option<Attribute> {
    Some(match n {
        "content-disposition" => Attribute::ContentDisposition,
        "content-encoding" => Attribute::ContentEncoding,
        "content-language" => Attribute::ContentLanguage,
        "content-type" => Attribute::ContentType,
        "cache-control" => Attribute::CacheControl,
        "storage-class" => Attribute::StorageClass,
        other => Attribute::Metadata(other.strip_prefix("meta:")?.to_string().into()),
    })
}

fn attrs_to_map(a: &Attributes) -> BTreeMap<String, String> {
    a.iter()
        .filter_map(|(k, v)| attr_name(k).map(|n| (n, v.to_string())))
        .collect()
}

fn map_to_attrs(m: &BTreeMap<String, String>) -> Attributes {
    m.iter()
        .filter_map(|(k, v)| attr_from_name(k).map(|a| (a, AttributeValue::from(v.clone()))))
        .collect()
}

fn invalid_path(msg: String) -> object_store::Error {
    object_store::Error::InvalidPath {
        source: object_store::path::Error::InvalidPath {
            path: PathBuf::from(msg),
        },
    }
}

fn generic(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE_NAME,
        source: e.into(),
    }
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> object_store::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => object_store::Error::NotFound {
            path: path.display().to_string(),
            source: Box::new(e),
        },
        std::io::ErrorKind::PermissionDenied => object_store::Error::PermissionDenied {
            path: path.display().to_string(),
            source: Box::new(e),
        },
        _ => generic(format!("{}: {e}", path.display())),
    }
}

fn normalize_etag(e: &str) -> &str {
    let e = e.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    e.trim_matches('"')
}

/// The etag `LocalFileSystem` reports for a file (`"inode-mtime_micros-size"`, hex).
fn etag_of(md: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(md);
    #[cfg(not(unix))]
    let inode = 0u64;
    let mtime = md
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    if inode == 0 {
        format!("\"{mtime:x}-{:x}\"", md.len())
    } else {
        format!("\"{inode:x}-{mtime:x}-{:x}\"", md.len())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> OsResult<T> + Send + 'static,
) -> OsResult<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| object_store::Error::JoinError { source: e })?,
        Err(_) => f(),
    }
}

/// Held advisory locks; released on drop.
struct LockGuard {
    _files: Vec<File>,
}

pub(crate) fn flock_exclusive(f: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        loop {
            // SAFETY: flock on a valid, owned file descriptor.
            let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        Ok(())
    }
}

impl FileStore {
    /// Open (creating if missing) the directory `root` as a store.
    pub fn new(root: impl Into<PathBuf>) -> OsResult<Self> {
        let root: PathBuf = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_err(&root, e))?;
        let root = std::fs::canonicalize(&root).map_err(|e| io_err(&root, e))?;
        let inner = LocalFileSystem::new_with_prefix(&root)?.with_automatic_cleanup(true);
        let meta = root.join(META_DIR);
        Ok(FileStore {
            s: Arc::new(Shared {
                inner,
                root,
                meta,
                seq: AtomicU64::new(0),
            }),
        })
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &std::path::Path {
        &self.s.root
    }

    /// The underlying `LocalFileSystem` (no attributes, no locking).
    pub fn local_file_system(&self) -> &LocalFileSystem {
        &self.s.inner
    }

    /// Check that `location` is storable here; returns its file-system path.
    fn check(&self, location: &Path) -> OsResult<PathBuf> {
        let mut first = true;
        let mut total = self.s.root.as_os_str().len();
        for p in location.parts() {
            let seg = p.as_ref();
            if first && seg == META_DIR {
                return Err(invalid_path(format!(
                    "{location}: keys under {META_DIR}/ are reserved by the file:// backend"
                )));
            }
            first = false;
            if seg.len() > MAX_SEGMENT_BYTES {
                return Err(invalid_path(format!(
                    "{location}: a path segment of {} bytes exceeds the file:// limit of {MAX_SEGMENT_BYTES}",
                    seg.len()
                )));
            }
            total += seg.len() + 1;
        }
        if first {
            return Err(invalid_path("empty object path".to_string()));
        }
        if total > MAX_FS_PATH_BYTES {
            return Err(invalid_path(format!(
                "{location}: the file path would be {total} bytes, over the file:// limit of {MAX_FS_PATH_BYTES}"
            )));
        }
        self.s.inner.path_to_filesystem(location)
    }

    fn key_hash(location: &Path) -> String {
        let mut h = Sha256::new();
        h.update(location.as_ref().as_bytes());
        let d = h.finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sidecar_path(&self, location: &Path) -> PathBuf {
        let h = Self::key_hash(location);
        self.s
            .meta
            .join("objects")
            .join(&h[..2])
            .join(format!("{}.json", &h[2..]))
    }

    fn stripe(location: &Path) -> u64 {
        let h = Self::key_hash(location);
        u64::from_str_radix(&h[..8], 16).unwrap_or(0) % LOCK_STRIPES
    }

    /// Take the exclusive locks of the given locations (sorted, deduplicated: no deadlock).
    async fn lock(&self, locations: &[&Path]) -> OsResult<LockGuard> {
        let mut stripes: Vec<u64> = locations.iter().map(|l| Self::stripe(l)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let dir = self.s.meta.join("locks");
        blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            let mut files = Vec::with_capacity(stripes.len());
            for s in stripes {
                let p = dir.join(format!("{s:02}.lock"));
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&p)
                    .map_err(|e| io_err(&p, e))?;
                flock_exclusive(&f).map_err(|e| io_err(&p, e))?;
                files.push(f);
            }
            Ok(LockGuard { _files: files })
        })
        .await
    }

    /// Read a sidecar if it belongs to the data file with `etag`.
    async fn read_sidecar(&self, location: &Path, etag: Option<String>) -> OsResult<Attributes> {
        let p = self.sidecar_path(location);
        blocking(move || {
            let text = match std::fs::read(&p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Attributes::new()),
                Err(e) => return Err(io_err(&p, e)),
            };
            let sc: Sidecar = match serde_json::from_slice(&text) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "ignoring corrupt sidecar");
                    return Ok(Attributes::new());
                }
            };
            match etag {
                Some(e) if normalize_etag(&e) == normalize_etag(&sc.etag) => {
                    Ok(map_to_attrs(&sc.attrs))
                }
                _ => Ok(Attributes::new()),
            }
        })
        .await
    }

    /// Write (or with empty attributes, remove) the sidecar of `location`. Sync; call from a
    /// blocking context while holding the location's lock.
    fn write_sidecar_sync(
        sidecar: &std::path::Path,
        etag: &str,
        attrs: BTreeMap<String, String>,
        seq: u64,
    ) -> OsResult<()> {
        if attrs.is_empty() {
            return match std::fs::remove_file(sidecar) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err(sidecar, e)),
            };
        }
        let sc = Sidecar {
            etag: etag.to_string(),
            attrs,
        };
        let body = serde_json::to_vec(&sc).map_err(generic)?;
        let dir = sidecar.parent().unwrap_or(sidecar);
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let tmp = sidecar.with_extension(format!("tmp{}-{seq}", std::process::id()));
        std::fs::write(&tmp, &body).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, sidecar).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(sidecar, e)
        })
    }

    fn next_seq(&self) -> u64 {
        self.s.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn is_hidden(location: &Path) -> bool {
        location.parts().next().map(|p| p.as_ref() == META_DIR) == Some(true)
    }
}

/// Explain a write failure caused by a file/directory name collision.
fn conflict_or(
    path: &std::path::Path,
    root: &std::path::Path,
    e: std::io::Error,
) -> object_store::Error {
    if path.is_dir() {
        return invalid_path(format!(
            "{}: a prefix of this name exists; file:// cannot hold an object and a prefix with the same name",
            path.strip_prefix(root).unwrap_or(path).display()
        ));
    }
    let mut a = path.parent();
    while let Some(p) = a {
        if p == root {
            break;
        }
        if p.is_file() {
            return invalid_path(format!(
                "{}: the object {} exists; file:// cannot hold an object and a prefix with the same name",
                path.strip_prefix(root).unwrap_or(path).display(),
                p.strip_prefix(root).unwrap_or(p).display()
            ));
        }
        a = p.parent();
    }
    io_err(path, e)
}

/// Open a fresh staging file next to `dest` (named `dest#N`, which `LocalFileSystem` listings
/// skip).
fn staging_file(
    dest: &std::path::Path,
    root: &std::path::Path,
    seq: u64,
) -> OsResult<(File, PathBuf)> {
    let mut n = (std::process::id() as u64) * 1_000_000 + seq % 1_000_000;
    for _ in 0..2 {
        for _ in 0..100 {
            let mut s = dest.as_os_str().to_owned();
            s.push(format!("#{n}"));
            let p = PathBuf::from(s);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(f) => return Ok((f, p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(conflict_or(dest, root, e)),
            }
        }
        let parent = dest.parent().unwrap_or(root);
        if let Err(e) = std::fs::create_dir_all(parent) {
            return Err(conflict_or(dest, root, e));
        }
    }
    Err(generic(format!(
        "cannot create a staging file for {}",
        dest.display()
    )))
}

/// Set the modification time to now (precise clock) so the etag is unique per write.
fn stamp(f: &File) -> std::io::Result<()> {
    f.set_modified(SystemTime::now())
}

fn remove_empty_parents(path: &std::path::Path, root: &std::path::Path) {
    let mut parent = path.parent();
    while let Some(p) = parent {
        if p == root || !p.starts_with(root) || std::fs::remove_dir(p).is_err() {
            break;
        }
        parent = p.parent();
    }
}

/// Whether `dir` contains at least one visible object file (not a staging file).
fn has_visible_file(dir: &std::path::Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    let mut budget = 100_000usize;
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                return true;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if !is_staging_name(&e.file_name().to_string_lossy()) {
                return true;
            }
        }
    }
    false
}

fn is_staging_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[async_trait]
impl ObjectStore for FileStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> OsResult<PutResult> {
        let dest = self.check(location)?;
        let _g = self.lock(&[location]).await?;
        let root = self.s.root.clone();
        let sidecar = self.sidecar_path(location);
        let attrs = attrs_to_map(&opts.attributes);
        let seq = self.next_seq();
        let loc = location.to_string();
        blocking(move || {
            if let PutMode::Update(v) = &opts.mode {
                let want = v.e_tag.clone().ok_or_else(|| {
                    generic("PutMode::Update needs an etag on the file:// backend")
                })?;
                match std::fs::metadata(&dest) {
                    Ok(md) if md.is_file() => {
                        let cur = etag_of(&md);
                        if normalize_etag(&cur) != normalize_etag(&want) {
                            return Err(object_store::Error::Precondition {
                                path: loc,
                                source: format!("{cur} does not match {want}").into(),
                            });
                        }
                    }
                    _ => {
                        return Err(object_store::Error::Precondition {
                            path: loc.clone(),
                            source: format!("object at {loc} not found").into(),
                        })
                    }
                }
            }
            let (mut file, staging) = staging_file(&dest, &root, seq)?;
            let res = (|| -> OsResult<String> {
                for chunk in payload.iter() {
                    file.write_all(chunk).map_err(|e| io_err(&staging, e))?;
                }
                stamp(&file).map_err(|e| io_err(&staging, e))?;
                let md = file.metadata().map_err(|e| io_err(&staging, e))?;
                drop(file);
                match opts.mode {
                    PutMode::Create => match std::fs::hard_link(&staging, &dest) {
                        Ok(()) => {
                            let _ = std::fs::remove_file(&staging);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            return Err(object_store::Error::AlreadyExists {
                                path: loc.clone(),
                                source: Box::new(e),
                            })
                        }
                        Err(e) => return Err(conflict_or(&dest, &root, e)),
                    },
                    _ => std::fs::rename(&staging, &dest)
                        .map_err(|e| conflict_or(&dest, &root, e))?,
                }
                Ok(etag_of(&md))
            })();
            let etag = match res {
                Ok(e) => e,
                Err(e) => {
                    let _ = std::fs::remove_file(&staging);
                    return Err(e);
                }
            };
            FileStore::write_sidecar_sync(&sidecar, &etag, attrs, seq)?;
            Ok(PutResult {
                e_tag: Some(etag),
                version: None,
                extensions: Default::default(),
            })
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> OsResult<Box<dyn MultipartUpload>> {
        let dest = self.check(location)?;
        let attrs = attrs_to_map(&opts.attributes);
        let inner_opts = PutMultipartOptions {
            tags: opts.tags,
            attributes: Attributes::new(),
            extensions: opts.extensions,
        };
        let upload = match self.s.inner.put_multipart_opts(location, inner_opts).await {
            Ok(u) => u,
            Err(e) => {
                let root = self.s.root.clone();
                return Err(match e {
                    object_store::Error::Generic { .. } => {
                        conflict_or(&dest, &root, std::io::Error::other(e.to_string()))
                    }
                    other => other,
                });
            }
        };
        Ok(Box::new(FileUpload {
            store: self.clone(),
            location: location.clone(),
            dest,
            attrs,
            inner: upload,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> OsResult<GetResult> {
        self.check(location)?;
        let mut r = self.s.inner.get_opts(location, options).await?;
        r.attributes = self.read_sidecar(location, r.meta.e_tag.clone()).await?;
        Ok(r)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> OsResult<Vec<Bytes>> {
        self.check(location)?;
        self.s.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, OsResult<Path>>,
    ) -> BoxStream<'static, OsResult<Path>> {
        let this = self.clone();
        locations
            .then(move |l| {
                let this = this.clone();
                async move {
                    let l = l?;
                    let path = this.check(&l)?;
                    let _g = this.lock(&[&l]).await?;
                    let sidecar = this.sidecar_path(&l);
                    let root = this.s.root.clone();
                    let loc = l.clone();
                    blocking(move || {
                        match std::fs::remove_file(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                                return Err(object_store::Error::NotFound {
                                    path: loc.to_string(),
                                    source: Box::new(e),
                                })
                            }
                            Err(e) => return Err(io_err(&path, e)),
                        }
                        let _ = std::fs::remove_file(&sidecar);
                        remove_empty_parents(&path, &root);
                        Ok(loc)
                    })
                    .await
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, OsResult<ObjectMeta>> {
        if prefix.map(Self::is_hidden) == Some(true) {
            return futures::stream::empty().boxed();
        }
        self.s
            .inner
            .list(prefix)
            .filter(|r| {
                futures::future::ready(match r {
                    Ok(m) => !FileStore::is_hidden(&m.location),
                    Err(_) => true,
                })
            })
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, OsResult<ObjectMeta>> {
        if prefix.map(Self::is_hidden) == Some(true) {
            return futures::stream::empty().boxed();
        }
        self.s
            .inner
            .list_with_offset(prefix, offset)
            .filter(|r| {
                futures::future::ready(match r {
                    Ok(m) => !FileStore::is_hidden(&m.location),
                    Err(_) => true,
                })
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> OsResult<ListResult> {
        if prefix.map(Self::is_hidden) == Some(true) {
            return Ok(ListResult {
                common_prefixes: vec![],
                objects: vec![],
                extensions: Default::default(),
            });
        }
        let mut r = match self.s.inner.list_with_delimiter(prefix).await {
            Ok(r) => r,
            // A prefix directory that does not exist lists as empty (object store semantics).
            Err(object_store::Error::NotFound { .. }) => {
                return Ok(ListResult {
                    common_prefixes: vec![],
                    objects: vec![],
                    extensions: Default::default(),
                })
            }
            Err(e) => return Err(e),
        };
        let inner = self.s.inner.clone();
        let prefixes = std::mem::take(&mut r.common_prefixes);
        r.common_prefixes = blocking(move || {
            Ok(prefixes
                .into_iter()
                .filter(|p| !FileStore::is_hidden(p))
                .filter(|p| match inner.path_to_filesystem(p) {
                    Ok(dir) => has_visible_file(&dir),
                    Err(_) => false,
                })
                .collect())
        })
        .await?;
        r.objects.retain(|m| !FileStore::is_hidden(&m.location));
        r.objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(r)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> OsResult<()> {
        self.check(from)?;
        let dest = self.check(to)?;
        let _g = self.lock(&[from, to]).await?;
        if let Err(e) = self.s.inner.copy_opts(from, to, options).await {
            return Err(match e {
                object_store::Error::Generic { .. } => {
                    conflict_or(&dest, &self.s.root, std::io::Error::other(e.to_string()))
                }
                other => other,
            });
        }
        self.carry_sidecar(from, to).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> OsResult<()> {
        self.check(from)?;
        let dest = self.check(to)?;
        let _g = self.lock(&[from, to]).await?;
        // Read the source's attributes before the move.
        let src_sidecar = self.sidecar_path(from);
        let src_meta = self.s.inner.head(from).await?;
        let attrs = self.read_sidecar(from, src_meta.e_tag.clone()).await?;
        let create = matches!(options.target_mode, RenameTargetMode::Create);
        let r = match options.target_mode {
            RenameTargetMode::Overwrite => self.s.inner.rename_opts(from, to, options).await,
            RenameTargetMode::Create => {
                self.s
                    .inner
                    .copy_opts(from, to, CopyOptions::new().with_mode(CopyMode::Create))
                    .await
            }
        };
        if let Err(e) = r {
            return Err(match e {
                object_store::Error::Generic { .. } => {
                    conflict_or(&dest, &self.s.root, std::io::Error::other(e.to_string()))
                }
                other => other,
            });
        }
        let to_sidecar = self.sidecar_path(to);
        let seq = self.next_seq();
        let from_path = self.s.inner.path_to_filesystem(from)?;
        let root = self.s.root.clone();
        blocking(move || {
            let md = std::fs::metadata(&dest).map_err(|e| io_err(&dest, e))?;
            FileStore::write_sidecar_sync(&to_sidecar, &etag_of(&md), attrs_to_map(&attrs), seq)?;
            if create {
                match std::fs::remove_file(&from_path) {
                    Ok(()) => remove_empty_parents(&from_path, &root),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(&from_path, e)),
                }
            } else {
                remove_empty_parents(&from_path, &root);
            }
            let _ = std::fs::remove_file(&src_sidecar);
            Ok(())
        })
        .await
    }
}

impl FileStore {
    /// After a copy `from → to` (locks held), give `to` the attributes of `from`.
    async fn carry_sidecar(&self, from: &Path, to: &Path) -> OsResult<()> {
        let src = self.s.inner.head(from).await?;
        let attrs = self.read_sidecar(from, src.e_tag.clone()).await?;
        let dest = self.s.inner.path_to_filesystem(to)?;
        let sidecar = self.sidecar_path(to);
        let seq = self.next_seq();
        blocking(move || {
            let md = std::fs::metadata(&dest).map_err(|e| io_err(&dest, e))?;
            FileStore::write_sidecar_sync(&sidecar, &etag_of(&md), attrs_to_map(&attrs), seq)
        })
        .await
    }
}

/// A multipart upload that writes the sidecar and stamps the etag on completion.
struct FileUpload {
    store: FileStore,
    location: Path,
    dest: PathBuf,
    attrs: BTreeMap<String, String>,
    inner: Box<dyn MultipartUpload>,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("location", &self.location)
            .finish()
    }
}

#[async_trait]
impl MultipartUpload for FileUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> OsResult<PutResult> {
        let _g = self.store.lock(&[&self.location]).await?;
        if let Err(e) = self.inner.complete().await {
            return Err(match e {
                object_store::Error::Generic { .. } => conflict_or(
                    &self.dest,
                    &self.store.s.root,
                    std::io::Error::other(e.to_string()),
                ),
                other => other,
            });
        }
        let dest = self.dest.clone();
        let sidecar = self.store.sidecar_path(&self.location);
        let attrs = std::mem::take(&mut self.attrs);
        let seq = self.store.next_seq();
        blocking(move || {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&dest)
                .map_err(|e| io_err(&dest, e))?;
            stamp(&f).map_err(|e| io_err(&dest, e))?;
            let md = f.metadata().map_err(|e| io_err(&dest, e))?;
            let etag = etag_of(&md);
            FileStore::write_sidecar_sync(&sidecar, &etag, attrs, seq)?;
            Ok(PutResult {
                e_tag: Some(etag),
                version: None,
                extensions: Default::default(),
            })
        })
        .await
    }

    async fn abort(&mut self) -> OsResult<()> {
        self.inner.abort().await?;
        remove_empty_parents(&self.dest, &self.store.s.root);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names() {
        assert!(is_staging_name("a#12"));
        assert!(!is_staging_name("a#"));
        assert!(!is_staging_name("a%2312"));
        assert!(!is_staging_name("a#1b"));
    }

    #[test]
    fn attribute_names_round_trip() {
        let mut a = Attributes::new();
        a.insert(Attribute::ContentType, "text/plain".into());
        a.insert(Attribute::Metadata("owner".into()), "kim".into());
        let m = attrs_to_map(&a);
        assert_eq!(m["content-type"], "text/plain");
        assert_eq!(m["meta:owner"], "kim");
        let b = map_to_attrs(&m);
        assert_eq!(
            b.get(&Attribute::ContentType).map(|v| v.to_string()),
            Some("text/plain".into())
        );
        assert_eq!(b.len(), 2);
    }
}
