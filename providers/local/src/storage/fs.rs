//! [`FileStore`]: a directory as an `ObjectStore` with the portable bucket semantics.
//!
//! Objects are plain files named exactly by their keys (keys are verbatim: `민원/사진 1.jpg`
//! is the file `ROOT/민원/사진 1.jpg`), so an existing directory tree is a bucket as it is and
//! what gureum writes is seen by `ls` and every other tool under the same names. Reads, writes,
//! listings and the rest are done here (not by `LocalFileSystem`, which reserves names ending
//! in `#<digits>`), so that everything S3 allows also works on a file system:
//!
//! * **an object and a prefix with the same name** (`a` and `a/b`): when a name is needed as
//!   a directory, the object's file moves into it as `a/.gureum-obj` ([`SELF_OBJECT`]);
//! * **segments longer than NAME_MAX**: a key segment longer than [`MAX_SEGMENT_BYTES`] (255,
//!   the most a file name holds) is stored, reversibly, as a chain of directories
//!   `chunk%+/chunk%+/last`; segment names ending in `%+` are therefore reserved on file://
//!   (refused for keys, skipped as foreign names in listings). Every shorter segment is a
//!   plain name;
//! * **foreign names**: files whose names are not portable keys (control characters, not
//!   UTF-8, reserved names, paths over 1,024 bytes) are skipped in listings and reported with
//!   [`gureum_core::key::report_foreign_name`], so `Bucket` listings count them;
//! * **attributes** (content type, user metadata, ...) in sidecar JSON files under the hidden
//!   directory [`META_DIR`]; each sidecar records the etag of the data file it belongs to, so
//!   a data file replaced by another tool never shows stale metadata;
//! * **atomic, serialised writes**: data is written to a staging file under [`META_DIR`]
//!   first, then published by `rename` (or `link` for create-only) while holding an advisory
//!   lock (`flock`) that also serialises writers in other processes. If-match writes
//!   (`PutMode::Update`) check the etag under that lock;
//! * **unique etags**: every write stamps the file's modification time with the precise clock,
//!   so the `inode-mtime-size` etag changes on every write even when the kernel's coarse file
//!   timestamps and inode reuse would repeat it;
//! * **hidden internals**: listings never show [`META_DIR`], [`SELF_OBJECT`] names or empty
//!   directories; keys whose first segment is [`META_DIR`], or with a segment equal to
//!   [`SELF_OBJECT`], are refused with `InvalidArgument`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use gureum_core::key::{check_key, report_foreign_name, KeyRule};
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyMode, CopyOptions, GetOptions, GetResult,
    GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
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

/// The hidden directory inside the root that holds sidecars, staging files and the lock.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::storage::{fs::META_DIR, open_file};
/// let tmp = tempfile::tempdir()?;
/// let b = open_file(tmp.path().join("b"))?;
/// b.put_with("a", "x", &gureum_core::PutOptions::default().content_type("text/plain")).await?;
/// assert!(tmp.path().join("b").join(META_DIR).is_dir()); // sidecars live here
/// assert_eq!(b.list_all(None).await?.len(), 1); // and never show in listings
/// # Ok(()) }
/// ```
pub const META_DIR: &str = ".gureum-meta";

/// File name of an object whose key is also a prefix (`a` next to `a/b` is `a/.gureum-obj`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::storage::{fs::SELF_OBJECT, open_file};
/// let tmp = tempfile::tempdir()?;
/// let b = open_file(tmp.path().join("b"))?;
/// b.put("a/b", "child").await?;
/// b.put("a", "parent").await?; // a key that is also a prefix
/// assert!(tmp.path().join("b/a").join(SELF_OBJECT).is_file());
/// assert_eq!(&b.get("a").await?[..], b"parent");
/// # Ok(()) }
/// ```
pub const SELF_OBJECT: &str = ".gureum-obj";

/// Longest key segment stored as one file name (NAME_MAX); longer segments become
/// directory chains.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::storage::{fs::MAX_SEGMENT_BYTES, open_file};
/// let tmp = tempfile::tempdir()?;
/// let b = open_file(tmp.path().join("b"))?;
/// let long = "가".repeat(MAX_SEGMENT_BYTES); // 765 bytes: longer than a file name may be
/// b.put(&long, "x").await?;
/// assert_eq!(b.list_all(None).await?[0].key, long);
/// # Ok(()) }
/// ```
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Chunk size of long segments.
const CHUNK_BYTES: usize = 200;

/// Suffix of a directory that continues a long segment.
const CONT: &str = "%+";

/// Longest file-system path in bytes (Linux `PATH_MAX` with some room).
const MAX_FS_PATH_BYTES: usize = 4000;

const STORE_NAME: &str = "gureum-file";

mod level;

type OsResult<T> = object_store::Result<T>;

struct Shared {
    inner: LocalFileSystem,
    root: PathBuf,
    meta: PathBuf,
    seq: AtomicU64,
    /// In-process exclusion (flock does not exclude users of the same open file).
    mutex: Arc<tokio::sync::Mutex<()>>,
    /// The open lock file, reused while it is still the file at its path.
    lock_file: std::sync::Mutex<Option<Arc<File>>>,
    /// fsync data files and the directories whose entries a write or delete changes.
    durable: bool,
    /// Sorted names of recently listed levels ([`level`]).
    levels: std::sync::Mutex<level::LevelCache>,
    /// Directory levels read for delimiter listings ([`FileStore::level_reads`]).
    level_reads: AtomicU64,
}

/// A directory as an `ObjectStore`, with attributes, if-match writes and locking.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::object_store::{path::Path, ObjectStoreExt};
/// use gureum_local::storage::FileStore;
/// let tmp = tempfile::tempdir()?;
/// let store = FileStore::new(tmp.path().join("raw")).unwrap();
/// store.put(&Path::parse("민원/a.json").unwrap(), "{}".into()).await.unwrap(); // keys are verbatim
/// assert!(tmp.path().join("raw/민원/a.json").is_file()); // the key is the path
/// # Ok(()) }
/// ```
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

/// Held write lock (in-process mutex + `flock`); released on drop.
struct LockGuard {
    file: Arc<File>,
    _mutex: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Every write holds the lock: cached level names taken before it are stale.
        level::WRITE_GENERATION.fetch_add(1, Ordering::AcqRel);
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: unlocking our own valid file descriptor.
            unsafe {
                libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
            }
        }
    }
}

/// Try to take the exclusive flock without blocking.
fn flock_try(f: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a valid, owned file descriptor.
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        true
    }
}

/// Where an object's key lives on disk.
#[derive(Debug, Clone)]
struct Phys {
    /// Physical segments (long segments split).
    parts: Vec<String>,
    /// `ROOT/parts...` (the file, or the directory holding [`SELF_OBJECT`]).
    base: PathBuf,
}

impl Phys {
    /// The data file now: `base` if it is a file, `base/.gureum-obj` if `base` is a directory.
    fn data_file(&self) -> Option<PathBuf> {
        match std::fs::metadata(&self.base) {
            Ok(m) if m.is_file() => Some(self.base.clone()),
            Ok(m) if m.is_dir() => {
                let p = self.base.join(SELF_OBJECT);
                p.is_file().then_some(p)
            }
            _ => None,
        }
    }
}

/// Split a long segment into chunks at char boundaries; the last chunk has at least 8 bytes.
fn split_segment(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    while s.len() - start > MAX_SEGMENT_BYTES.min(CHUNK_BYTES) {
        let mut end = (start + CHUNK_BYTES).min(s.len());
        if s.len() - end < 8 {
            end = s.len() - 8;
        }
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&s[start..end]);
        start = end;
    }
    out.push(&s[start..]);
    out
}

/// Physical segments → logical `Path`: `Ok(None)` for internal files, `Err(rule)` for a
/// foreign name outside the portable key space or reserved by this layout.
fn logical_from_parts(parts: &[&str]) -> Result<Option<Path>, KeyRule> {
    let mut parts = parts.to_vec();
    if parts.first() == Some(&META_DIR) {
        return Ok(None);
    }
    if parts.last() == Some(&SELF_OBJECT) {
        parts.pop();
    }
    let mut segs: Vec<String> = Vec::new();
    let mut acc = String::new();
    for p in parts {
        if p == SELF_OBJECT {
            return Err(KeyRule::Reserved);
        }
        match p.strip_suffix(CONT) {
            Some(c) => acc.push_str(c),
            None => {
                acc.push_str(p);
                segs.push(std::mem::take(&mut acc));
            }
        }
    }
    if !acc.is_empty() {
        return Err(KeyRule::Reserved);
    }
    let key = segs.join("/");
    check_key(&key)?;
    Path::parse(key)
        .map(Some)
        .map_err(|_| KeyRule::ControlCharacter)
}

/// A child of `logical` named `seg`, or the rule its name breaks.
fn child_path(logical: &Path, seg: &str) -> Result<Path, KeyRule> {
    let key = if logical.as_ref().is_empty() {
        seg.to_string()
    } else {
        format!("{}/{seg}", logical.as_ref())
    };
    check_key(&key)?;
    Path::parse(key).map_err(|_| KeyRule::ControlCharacter)
}

/// Names that a listing skipped: (name relative to the root, rule).
type Foreign = Vec<(String, KeyRule)>;

/// Report skipped names to the listing being polled (call in async context).
fn report(foreign: Foreign) {
    for (name, rule) in foreign {
        report_foreign_name(&name, rule);
    }
}

impl FileStore {
    /// Open (creating if missing) the directory `root` as a store.
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let store = gureum_local::storage::FileStore::new(tmp.path().join("new")).unwrap();
    /// assert!(store.root().is_dir()); // created
    /// assert!(!store.is_durable());
    /// ```
    pub fn new(root: impl Into<PathBuf>) -> OsResult<Self> {
        Self::with_durability(root, false)
    }

    /// Open (creating if missing) the directory `root` as a store; with `durable`, every
    /// write is on disk before it returns: the data file is fsynced before it is published,
    /// and the directory that gains (or, on delete, loses) the name is fsynced after. Without
    /// it, a write survives a process crash but not necessarily a power loss.
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let store = gureum_local::storage::FileStore::with_durability(tmp.path().join("b"), true).unwrap();
    /// assert!(store.is_durable()); // every write is fsynced before it returns
    /// ```
    pub fn with_durability(root: impl Into<PathBuf>, durable: bool) -> OsResult<Self> {
        let root: PathBuf = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_err(&root, e))?;
        let root = std::fs::canonicalize(&root).map_err(|e| io_err(&root, e))?;
        let inner = LocalFileSystem::new_with_prefix(&root)?;
        let meta = root.join(META_DIR);
        clean_stale_staging(&meta.join("staging"));
        Ok(FileStore {
            s: Arc::new(Shared {
                inner,
                root,
                meta,
                seq: AtomicU64::new(0),
                mutex: Arc::new(tokio::sync::Mutex::new(())),
                lock_file: std::sync::Mutex::new(None),
                durable,
                levels: std::sync::Mutex::new(level::LevelCache::default()),
                level_reads: AtomicU64::new(0),
            }),
        })
    }

    /// Whether writes are fsynced ([`FileStore::with_durability`]).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let b = gureum_local::storage::open_file_with(tmp.path().join("b"), true)?;
    /// assert!(b.native::<gureum_local::storage::FileStore>().unwrap().is_durable());
    /// # Ok(()) }
    /// ```
    pub fn is_durable(&self) -> bool {
        self.s.durable
    }

    /// fsync `dir` (a directory whose entries changed) when durable.
    fn sync_dir(&self, dir: &std::path::Path) -> OsResult<()> {
        if self.s.durable {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err(dir, e))?;
        }
        Ok(())
    }

    /// Whether a directory entry is a symbolic link that resolves outside the root (listings
    /// skip it with a warning; a dangling link is skipped too).
    fn escapes(&self, e: &std::fs::DirEntry) -> bool {
        e.file_type().is_ok_and(|t| t.is_symlink()) && self.link_escapes(&e.path())
    }

    /// Refuse a path that leaves the root through a symbolic link: the deepest existing
    /// ancestor of `p` (or `p` itself) must resolve inside the root.
    fn check_contained(&self, location: &Path, p: &std::path::Path) -> OsResult<()> {
        let mut cur = p;
        loop {
            match std::fs::canonicalize(cur) {
                Ok(c) if c.starts_with(&self.s.root) => return Ok(()),
                Ok(_) => {
                    return Err(object_store::Error::PermissionDenied {
                        path: location.to_string(),
                        source: "the path leaves the bucket directory through a symbolic link"
                            .into(),
                    })
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    match cur.parent() {
                        Some(parent) if parent.starts_with(&self.s.root) && parent != cur => {
                            cur = parent
                        }
                        _ => return Ok(()),
                    }
                }
                Err(e) => return Err(io_err(cur, e)),
            }
        }
    }

    /// The root directory (canonical).
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let store = gureum_local::storage::FileStore::new(tmp.path().join("b")).unwrap();
    /// assert!(store.root().is_absolute());
    /// assert!(store.root().ends_with("b"));
    /// ```
    pub fn root(&self) -> &std::path::Path {
        &self.s.root
    }

    /// The underlying `LocalFileSystem` (no attributes, no locking, no layout rules).
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let store = gureum_local::storage::FileStore::new(tmp.path().join("b")).unwrap();
    /// // The plain object_store file system over the same root, without gureum's layout rules.
    /// assert!(store.local_file_system().to_string().starts_with("LocalFileSystem"));
    /// ```
    pub fn local_file_system(&self) -> &LocalFileSystem {
        &self.s.inner
    }

    /// Map a logical location to its physical place, refusing what cannot be stored.
    fn phys(&self, location: &Path) -> OsResult<Phys> {
        let mut parts: Vec<String> = Vec::new();
        let mut total = self.s.root.as_os_str().len() + SELF_OBJECT.len() + 1;
        for (i, p) in location.parts().enumerate() {
            let seg = p.as_ref();
            if i == 0 && seg == META_DIR {
                return Err(invalid_path(format!(
                    "{location}: keys under {META_DIR}/ are reserved by the file:// backend"
                )));
            }
            if seg == SELF_OBJECT || seg.ends_with(CONT) {
                return Err(invalid_path(format!(
                    "{location}: the segment {seg:?} is reserved by the file:// backend"
                )));
            }
            if seg.len() <= MAX_SEGMENT_BYTES {
                parts.push(seg.to_string());
            } else {
                let chunks = split_segment(seg);
                let n = chunks.len();
                for (j, c) in chunks.into_iter().enumerate() {
                    if j + 1 < n {
                        parts.push(format!("{c}{CONT}"));
                    } else {
                        parts.push(c.to_string());
                    }
                }
            }
        }
        if parts.is_empty() {
            return Err(invalid_path("empty object path".to_string()));
        }
        let mut base = self.s.root.clone();
        for p in &parts {
            total += p.len() + 1;
            base.push(p);
        }
        if total > MAX_FS_PATH_BYTES {
            return Err(invalid_path(format!(
                "{location}: the file path would be {total} bytes, over the file:// limit of {MAX_FS_PATH_BYTES}"
            )));
        }
        self.check_contained(location, &base)?;
        Ok(Phys { parts, base })
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

    /// A fresh staging file path under [`META_DIR`].
    fn staging_path(&self) -> PathBuf {
        self.s.meta.join("staging").join(format!(
            "{}-{}-{}",
            std::process::id(),
            self.next_seq(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// The lock file, opened once and reopened if it was replaced or removed.
    fn lock_file(&self) -> OsResult<Arc<File>> {
        let p = self.s.meta.join("lock");
        let mut cached = self
            .s
            .lock_file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(f) = cached.as_ref() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if let (Ok(a), Ok(b)) = (f.metadata(), std::fs::metadata(&p)) {
                    if a.dev() == b.dev() && a.ino() == b.ino() {
                        return Ok(f.clone());
                    }
                }
            }
        }
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
        };
        let f = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.s.meta).map_err(|e| io_err(&self.s.meta, e))?;
                open().map_err(|e| io_err(&p, e))?
            }
            Err(e) => return Err(io_err(&p, e)),
        };
        let f = Arc::new(f);
        *cached = Some(f.clone());
        Ok(f)
    }

    /// Take the store's exclusive write lock (also across processes).
    async fn lock(&self) -> OsResult<LockGuard> {
        let m = self.s.mutex.clone().lock_owned().await;
        let file = self.lock_file()?;
        if !flock_try(&file) {
            // Another process holds it: wait on a blocking thread.
            let f = file.clone();
            let p = self.s.meta.join("lock");
            blocking(move || flock_exclusive(&f).map_err(|e| io_err(&p, e))).await?;
        }
        Ok(LockGuard { file, _mutex: m })
    }

    /// Read a sidecar if it belongs to the data file with `etag`.
    async fn read_sidecar(&self, location: &Path, etag: Option<String>) -> OsResult<Attributes> {
        let p = self.sidecar_path(location);
        blocking(move || read_sidecar_sync(&p, etag.as_deref())).await
    }

    fn next_seq(&self) -> u64 {
        self.s.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Write `payload` to a new staging file with a fresh modification time.
    fn write_staging(&self, payload: &PutPayload) -> OsResult<PathBuf> {
        let p = self.staging_path();
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = p.parent().unwrap_or(&self.s.meta);
                std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                    .map_err(|e| io_err(&p, e))?
            }
            Err(e) => return Err(io_err(&p, e)),
        };
        let r = (|| {
            write_chunks(&mut f, payload)?;
            stamp(&f)?;
            if self.s.durable {
                f.sync_all()?;
            }
            Ok(())
        })();
        if let Err(e) = r {
            let _ = std::fs::remove_file(&p);
            return Err(io_err(&p, e));
        }
        Ok(p)
    }

    /// Make every directory of `phys`'s parent chain, turning objects in the way into
    /// `name/.gureum-obj`. Returns the path the data file must take. Call under the lock.
    fn prepare_dest(&self, phys: &Phys) -> OsResult<PathBuf> {
        let mut dir = self.s.root.clone();
        let n = phys.parts.len();
        for p in &phys.parts[..n - 1] {
            dir.push(p);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() && dir.is_dir() => {}
                Ok(_) => {
                    // An object is in the way: move it inside a directory of its name.
                    let tmp = self.staging_path();
                    if let Some(d) = tmp.parent() {
                        std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
                    }
                    std::fs::rename(&dir, &tmp).map_err(|e| io_err(&dir, e))?;
                    if let Err(e) = std::fs::create_dir(&dir) {
                        let _ = std::fs::rename(&tmp, &dir);
                        return Err(io_err(&dir, e));
                    }
                    std::fs::rename(&tmp, dir.join(SELF_OBJECT)).map_err(|e| io_err(&dir, e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&dir).map_err(|e| io_err(&dir, e))?;
                }
                Err(e) => return Err(io_err(&dir, e)),
            }
        }
        if phys.base.is_dir() {
            Ok(phys.base.join(SELF_OBJECT))
        } else {
            Ok(phys.base.clone())
        }
    }

    /// Remove `file` and the directories it leaves empty (up to the root).
    fn remove_and_prune(&self, file: &std::path::Path) -> std::io::Result<()> {
        std::fs::remove_file(file)?;
        if self.s.durable {
            if let Some(dir) = file.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
        remove_empty_parents(file, &self.s.root);
        Ok(())
    }

    fn meta_of(location: Path, md: &std::fs::Metadata) -> ObjectMeta {
        ObjectMeta {
            location,
            last_modified: md
                .modified()
                .map(chrono::DateTime::<chrono::Utc>::from)
                .unwrap_or_else(|_| chrono::Utc::now()),
            size: md.len(),
            e_tag: Some(etag_of(md)),
            version: None,
        }
    }

    /// Publish a staging file as `location` (lock held). Returns the etag.
    fn publish(
        &self,
        staging: &std::path::Path,
        location: &Path,
        phys: &Phys,
        mode: &PutMode,
        attrs: BTreeMap<String, String>,
    ) -> OsResult<String> {
        let loc = location.to_string();
        let current = phys.data_file();
        match mode {
            PutMode::Overwrite => {}
            PutMode::Create => {
                if current.is_some() {
                    return Err(object_store::Error::AlreadyExists {
                        path: loc,
                        source: "object exists".into(),
                    });
                }
            }
            PutMode::Update(v) => {
                let want = v
                    .e_tag
                    .clone()
                    .ok_or_else(|| generic("PutMode::Update needs an etag on file://"))?;
                let cur = current
                    .as_ref()
                    .and_then(|f| std::fs::metadata(f).ok())
                    .map(|m| etag_of(&m));
                match cur {
                    Some(c) if normalize_etag(&c) == normalize_etag(&want) => {}
                    Some(c) => {
                        return Err(object_store::Error::Precondition {
                            path: loc,
                            source: format!("{c} does not match {want}").into(),
                        })
                    }
                    None => {
                        return Err(object_store::Error::Precondition {
                            path: loc.clone(),
                            source: format!("object at {loc} not found").into(),
                        })
                    }
                }
            }
        }
        let dest = self.prepare_dest(phys)?;
        std::fs::rename(staging, &dest).map_err(|e| io_err(&dest, e))?;
        if let Some(dir) = dest.parent() {
            self.sync_dir(dir)?;
        }
        let md = std::fs::metadata(&dest).map_err(|e| io_err(&dest, e))?;
        let etag = etag_of(&md);
        let sidecar = self.sidecar_path(location);
        write_sidecar_sync(&sidecar, &etag, attrs, self.next_seq(), self.s.durable)?;
        Ok(etag)
    }

    /// Recursive listing (blocking).
    fn walk(&self, prefix: Option<&Path>) -> OsResult<(Vec<ObjectMeta>, Foreign)> {
        let mut foreign = Foreign::new();
        let (start, start_parts) = match prefix {
            Some(p) if p.parts().next().is_some() => {
                if p.parts().next().map(|s| s.as_ref() == META_DIR) == Some(true) {
                    return Ok((vec![], foreign));
                }
                let ph = self.phys(p)?;
                (ph.base.clone(), ph.parts.clone())
            }
            _ => (self.s.root.clone(), vec![]),
        };
        let mut out = Vec::new();
        let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(start, start_parts)];
        // Directories already walked (device, inode): symlink loops end here.
        let mut seen = std::collections::HashSet::new();
        while let Some((dir, parts)) = stack.pop() {
            #[cfg(unix)]
            if let Ok(m) = std::fs::metadata(&dir) {
                use std::os::unix::fs::MetadataExt;
                if !seen.insert((m.dev(), m.ino())) {
                    continue;
                }
            }
            #[cfg(not(unix))]
            let _ = &mut seen;
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    continue
                }
                Err(e) => return Err(io_err(&dir, e)),
            };
            for e in rd {
                let e = e.map_err(|e| io_err(&dir, e))?;
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    let lossy = e.file_name().to_string_lossy().into_owned();
                    foreign.push((format!("{}/{lossy}", parts.join("/")), KeyRule::NotUtf8));
                    continue;
                };
                if parts.is_empty() && name == META_DIR {
                    continue;
                }
                let path = e.path();
                if self.escapes(&e) {
                    continue;
                }
                let md = match std::fs::metadata(&path) {
                    Ok(m) => m,
                    Err(_) => continue,
                };
                let mut p = parts.clone();
                p.push(name);
                if md.is_dir() {
                    stack.push((path, p));
                } else if md.is_file() {
                    let refs: Vec<&str> = p.iter().map(String::as_str).collect();
                    match logical_from_parts(&refs) {
                        Ok(Some(l)) => out.push(Self::meta_of(l, &md)),
                        Ok(None) => {}
                        Err(rule) => foreign.push((p.join("/"), rule)),
                    }
                }
            }
        }
        out.sort_by(|a, b| a.location.cmp(&b.location));
        Ok((out, foreign))
    }
}

/// Remove staging files older than a day (left by crashed writers).
fn clean_stale_staging(dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for e in rd.flatten().take(10_000) {
        let old = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .map(|age| age > day)
            .unwrap_or(false);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn empty_list() -> ListResult {
    ListResult {
        common_prefixes: vec![],
        objects: vec![],
        extensions: Default::default(),
    }
}

fn read_sidecar_sync(p: &std::path::Path, etag: Option<&str>) -> OsResult<Attributes> {
    let text = match std::fs::read(p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Attributes::new()),
        Err(e) => return Err(io_err(p, e)),
    };
    let sc: Sidecar = match serde_json::from_slice(&text) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(path = %p.display(), error = %e, "ignoring corrupt sidecar");
            return Ok(Attributes::new());
        }
    };
    match etag {
        Some(e) if normalize_etag(e) == normalize_etag(&sc.etag) => Ok(map_to_attrs(&sc.attrs)),
        _ => Ok(Attributes::new()),
    }
}

/// Write (or with empty attributes, remove) a sidecar. Call while holding the lock.
fn write_sidecar_sync(
    sidecar: &std::path::Path,
    etag: &str,
    attrs: BTreeMap<String, String>,
    seq: u64,
    durable: bool,
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
    let written = if durable {
        File::create(&tmp).and_then(|mut f| {
            f.write_all(&body)?;
            f.sync_all()
        })
    } else {
        std::fs::write(&tmp, &body)
    };
    written.map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, sidecar).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(sidecar, e)
    })?;
    if durable {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

/// Read exactly `buf.len()` bytes at `offset`.
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek};
        let mut f = f;
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// Most buffers handed to one `writev` (Linux `IOV_MAX`).
const IOV_BATCH: usize = 1024;

/// Write every chunk of `payload`, many chunks per `writev`: a body received from the network
/// arrives as many small chunks, and one `write` each would be a system call per chunk.
fn write_chunks(f: &mut File, payload: &PutPayload) -> std::io::Result<()> {
    let mut slices: Vec<std::io::IoSlice<'_>> = payload
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| std::io::IoSlice::new(c))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let batch = rest.len().min(IOV_BATCH);
        match f.write_vectored(&rest[..batch]) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "the file took no more bytes",
                ))
            }
            Ok(n) => std::io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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

/// Whether `dir` holds at least one object file below it (with `skip_own`, not counting
/// `dir/.gureum-obj`, which is the object named like the directory).
fn has_visible_file(dir: &std::path::Path, skip_own: bool) -> bool {
    let mut stack = vec![(dir.to_path_buf(), true)];
    let mut budget = 1_000_000usize;
    while let Some((d, is_top)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                return true;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(md) = std::fs::metadata(e.path()) else {
                continue;
            };
            if md.is_dir() {
                stack.push((e.path(), false));
            } else if !(skip_own && is_top && name == SELF_OBJECT) {
                return true;
            }
        }
    }
    false
}

#[async_trait]
impl ObjectStore for FileStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> OsResult<PutResult> {
        let phys = self.phys(location)?;
        let attrs = attrs_to_map(&opts.attributes);
        let this = self.clone();
        let staging = blocking(move || this.write_staging(&payload)).await?;
        let _g = self.lock().await?;
        let this = self.clone();
        let loc = location.clone();
        let st = staging.clone();
        let r = blocking(move || this.publish(&st, &loc, &phys, &opts.mode, attrs)).await;
        if r.is_err() {
            let _ = std::fs::remove_file(&staging);
        }
        Ok(PutResult {
            e_tag: Some(r?),
            version: None,
            extensions: Default::default(),
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> OsResult<Box<dyn MultipartUpload>> {
        let phys = self.phys(location)?;
        let attrs = attrs_to_map(&opts.attributes);
        let this = self.clone();
        let staging = blocking(move || this.write_staging(&PutPayload::new())).await?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&staging)
            .map_err(|e| io_err(&staging, e))?;
        Ok(Box::new(FileUpload {
            store: self.clone(),
            location: location.clone(),
            phys,
            attrs,
            staging,
            file: Arc::new(file),
            offset: 0,
            done: false,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> OsResult<GetResult> {
        let phys = self.phys(location)?;
        let loc = location.clone();
        // A concurrent writer may move the file into a directory of its name; retry once.
        let (file, path, md) = blocking(move || {
            let mut last = None;
            for _ in 0..2 {
                let Some(path) = phys.data_file() else {
                    break;
                };
                match File::open(&path).and_then(|f| f.metadata().map(|m| (f, m))) {
                    Ok((f, m)) if m.is_file() => return Ok((f, path, m)),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        last = Some(io_err(&path, e))
                    }
                    Err(e) => return Err(io_err(&path, e)),
                }
            }
            Err(last.unwrap_or_else(|| object_store::Error::NotFound {
                path: loc.to_string(),
                source: "no such object".into(),
            }))
        })
        .await?;
        let meta = Self::meta_of(location.clone(), &md);
        options.check_preconditions(&meta)?;
        let range = match &options.range {
            Some(r) => r
                .as_range(meta.size)
                .map_err(|e| generic(format!("invalid range: {e}")))?,
            None => 0..meta.size,
        };
        let attributes = self.read_sidecar(location, meta.e_tag.clone()).await?;
        Ok(GetResult {
            payload: GetResultPayload::File(file, path),
            attributes,
            range,
            meta,
            extensions: Default::default(),
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> OsResult<Vec<Bytes>> {
        let phys = self.phys(location)?;
        let ranges = ranges.to_vec();
        let loc = location.clone();
        blocking(move || {
            let path = phys
                .data_file()
                .ok_or_else(|| object_store::Error::NotFound {
                    path: loc.to_string(),
                    source: "no such object".into(),
                })?;
            let file = File::open(&path).map_err(|e| io_err(&path, e))?;
            let len = file.metadata().map_err(|e| io_err(&path, e))?.len();
            ranges
                .iter()
                .map(|r| {
                    if r.start > r.end || r.end > len {
                        return Err(generic(format!(
                            "invalid range {}..{} of {len} bytes",
                            r.start, r.end
                        )));
                    }
                    let mut buf = vec![0u8; (r.end - r.start) as usize];
                    read_exact_at(&file, &mut buf, r.start).map_err(|e| io_err(&path, e))?;
                    Ok(Bytes::from(buf))
                })
                .collect()
        })
        .await
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
                    let phys = this.phys(&l)?;
                    let _g = this.lock().await?;
                    let t = this.clone();
                    blocking(move || {
                        let Some(file) = phys.data_file() else {
                            return Err(object_store::Error::NotFound {
                                path: l.to_string(),
                                source: "no such object".into(),
                            });
                        };
                        t.remove_and_prune(&file).map_err(|e| io_err(&file, e))?;
                        let _ = std::fs::remove_file(t.sidecar_path(&l));
                        Ok(l)
                    })
                    .await
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, OsResult<ObjectMeta>> {
        let this = self.clone();
        let prefix = prefix.cloned();
        futures::stream::once(async move {
            let (v, foreign) = blocking(move || this.walk(prefix.as_ref())).await?;
            report(foreign);
            Ok(v)
        })
        .map(|r: OsResult<Vec<ObjectMeta>>| match r {
            Ok(v) => futures::stream::iter(v.into_iter().map(Ok)).boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> OsResult<ListResult> {
        let this = self.clone();
        let prefix = prefix.cloned();
        let page = blocking(move || this.level_page(prefix.as_ref(), None, "", usize::MAX)).await?;
        report(page.foreign);
        Ok(page.result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> OsResult<()> {
        let src = self.phys(from)?;
        let dst = self.phys(to)?;
        let _g = self.lock().await?;
        let this = self.clone();
        let (from, to) = (from.clone(), to.clone());
        blocking(move || {
            let Some(file) = src.data_file() else {
                return Err(object_store::Error::NotFound {
                    path: from.to_string(),
                    source: "no such object".into(),
                });
            };
            let md = std::fs::metadata(&file).map_err(|e| io_err(&file, e))?;
            let attrs = read_sidecar_sync(&this.sidecar_path(&from), Some(&etag_of(&md)))?;
            let mode = match options.mode {
                CopyMode::Overwrite => PutMode::Overwrite,
                CopyMode::Create => PutMode::Create,
            };
            if from == to {
                return match mode {
                    PutMode::Create => Err(object_store::Error::AlreadyExists {
                        path: to.to_string(),
                        source: "object exists".into(),
                    }),
                    _ => Ok(()),
                };
            }
            // Copies share the data file (hard link): every write replaces files by rename,
            // so a shared inode is never modified in place.
            let staging = this.staging_path();
            if let Some(d) = staging.parent() {
                std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
            }
            if std::fs::hard_link(&file, &staging).is_err() {
                std::fs::copy(&file, &staging).map_err(|e| io_err(&staging, e))?;
            }
            let r = this.publish(&staging, &to, &dst, &mode, attrs_to_map(&attrs));
            if r.is_err() {
                let _ = std::fs::remove_file(&staging);
            }
            r.map(|_| ())
        })
        .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> OsResult<()> {
        let src = self.phys(from)?;
        let dst = self.phys(to)?;
        let _g = self.lock().await?;
        let this = self.clone();
        let (from, to) = (from.clone(), to.clone());
        blocking(move || {
            let Some(file) = src.data_file() else {
                return Err(object_store::Error::NotFound {
                    path: from.to_string(),
                    source: "no such object".into(),
                });
            };
            if from == to {
                return Ok(());
            }
            let md = std::fs::metadata(&file).map_err(|e| io_err(&file, e))?;
            let attrs = read_sidecar_sync(&this.sidecar_path(&from), Some(&etag_of(&md)))?;
            let mode = match options.target_mode {
                RenameTargetMode::Overwrite => PutMode::Overwrite,
                RenameTargetMode::Create => PutMode::Create,
            };
            // Move the data file aside first (the destination may need its directory chain).
            let staging = this.staging_path();
            if let Some(d) = staging.parent() {
                std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
            }
            std::fs::rename(&file, &staging).map_err(|e| io_err(&file, e))?;
            match this.publish(&staging, &to, &dst, &mode, attrs_to_map(&attrs)) {
                Ok(_) => {
                    remove_empty_parents(&file, &this.s.root);
                    let _ = std::fs::remove_file(this.sidecar_path(&from));
                    Ok(())
                }
                Err(e) => {
                    // Put the source back.
                    let _ = std::fs::rename(&staging, &file);
                    Err(e)
                }
            }
        })
        .await
    }
}

/// Paginated listing: with the `/` delimiter, one page of a level ([`FileStore::level_reads`]
/// counts the level reads; following pages reuse the level's sorted names while the
/// directory is unchanged), the page token being the last key returned; without a
/// delimiter, the keys under `prefix` after the offset (a walk of the tree per page).
/// `Bucket::list_page` with a delimiter pages through this.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::object_store::list::{PaginatedListOptions, PaginatedListStore};
/// use gureum_local::storage::FileStore;
/// let tmp = tempfile::tempdir()?;
/// let b = gureum_local::storage::open_file(tmp.path().join("b"))?;
/// for k in ["d/a", "d/b", "d/c/x"] {
///     b.put(k, "1").await?;
/// }
/// let store = b.native::<FileStore>().unwrap();
/// let opts = PaginatedListOptions { delimiter: Some("/".into()), max_keys: Some(2), ..Default::default() };
/// let page = store.list_paginated(Some("d/"), opts).await.unwrap();
/// assert_eq!(page.result.objects.len(), 2);
/// assert_eq!(page.page_token.as_deref(), Some("d/b"));
/// # Ok(()) }
/// ```
#[async_trait]
impl PaginatedListStore for FileStore {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: PaginatedListOptions,
    ) -> OsResult<PaginatedListResult> {
        let prefix = prefix.unwrap_or("").to_string();
        let max = opts.max_keys.unwrap_or(1000).max(1);
        // Start after the later of the offset and the page token (both are keys).
        let after = match (opts.offset, opts.page_token) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let dir = match prefix.rfind('/') {
            Some(i) => Some(Path::parse(&prefix[..i]).map_err(|e| invalid_path(e.to_string()))?),
            None => None,
        };
        match opts.delimiter.as_deref() {
            Some("/") => {
                let this = self.clone();
                let filter = prefix.clone();
                let after2 = after.clone();
                let page = blocking(move || {
                    this.level_page(dir.as_ref(), after2.as_deref(), &filter, max)
                })
                .await?;
                report(page.foreign);
                let r = page.result;
                let page_token = if page.more {
                    let last_object = r.objects.last().map(|o| o.location.to_string());
                    let last_prefix = r.common_prefixes.last().map(|p| format!("{p}/"));
                    last_object.max(last_prefix)
                } else {
                    None
                };
                Ok(PaginatedListResult {
                    result: r,
                    page_token,
                })
            }
            Some(d) => Err(object_store::Error::NotSupported {
                source: format!("file:// lists with the delimiter \"/\" only, not {d:?}").into(),
            }),
            None => {
                let this = self.clone();
                let (all, foreign) = blocking(move || this.walk(dir.as_ref())).await?;
                report(foreign);
                let mut objects: Vec<ObjectMeta> = all
                    .into_iter()
                    .filter(|m| {
                        let k = m.location.as_ref();
                        k.starts_with(&prefix) && after.as_deref().is_none_or(|a| k > a)
                    })
                    .take(max + 1)
                    .collect();
                let more = objects.len() > max;
                objects.truncate(max);
                let page_token = more
                    .then(|| objects.last().map(|o| o.location.to_string()))
                    .flatten();
                Ok(PaginatedListResult {
                    result: ListResult {
                        common_prefixes: vec![],
                        objects,
                        extensions: Default::default(),
                    },
                    page_token,
                })
            }
        }
    }
}

/// A multipart upload: parts are written at their offsets into one staging file, published
/// like a put on completion.
struct FileUpload {
    store: FileStore,
    location: Path,
    phys: Phys,
    attrs: BTreeMap<String, String>,
    staging: PathBuf,
    file: Arc<File>,
    offset: u64,
    done: bool,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("location", &self.location)
            .field("offset", &self.offset)
            .finish()
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.staging);
        }
    }
}

#[async_trait]
impl MultipartUpload for FileUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let offset = self.offset;
        self.offset += data.content_length() as u64;
        let file = self.file.clone();
        let path = self.staging.clone();
        Box::pin(async move {
            blocking(move || {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::FileExt;
                    let mut o = offset;
                    for chunk in data.iter() {
                        file.write_all_at(chunk, o).map_err(|e| io_err(&path, e))?;
                        o += chunk.len() as u64;
                    }
                    Ok(())
                }
                #[cfg(not(unix))]
                {
                    let _ = (file, offset, data);
                    Err(generic(format!(
                        "multipart writes need unix ({})",
                        path.display()
                    )))
                }
            })
            .await
        })
    }

    async fn complete(&mut self) -> OsResult<PutResult> {
        if self.done {
            return Err(generic("multipart upload already finished"));
        }
        stamp(&self.file).map_err(|e| io_err(&self.staging, e))?;
        if self.store.s.durable {
            let f = self.file.clone();
            let p = self.staging.clone();
            blocking(move || f.sync_all().map_err(|e| io_err(&p, e))).await?;
        }
        let _g = self.store.lock().await?;
        let store = self.store.clone();
        let (st, loc, phys) = (
            self.staging.clone(),
            self.location.clone(),
            self.phys.clone(),
        );
        let attrs = std::mem::take(&mut self.attrs);
        let etag =
            blocking(move || store.publish(&st, &loc, &phys, &PutMode::Overwrite, attrs)).await?;
        self.done = true;
        Ok(PutResult {
            e_tag: Some(etag),
            version: None,
            extensions: Default::default(),
        })
    }

    async fn abort(&mut self) -> OsResult<()> {
        self.done = true;
        match std::fs::remove_file(&self.staging) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&self.staging, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_of_many_chunks_is_written_whole_and_in_order() {
        // More chunks than one writev takes, of uneven sizes, some empty.
        let chunks: Vec<Bytes> = (0..2 * IOV_BATCH + 77)
            .map(|i| Bytes::from(vec![(i % 251) as u8; i % 13]))
            .collect();
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        let mut f = File::create(&p).unwrap();
        write_chunks(&mut f, &PutPayload::from_iter(chunks)).unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), want);
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

    #[test]
    fn long_segments_split_and_join() {
        let s = "k".repeat(1000);
        let chunks = split_segment(&s);
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
        assert!(chunks.last().unwrap().len() >= 8);
        assert_eq!(chunks.concat(), s);
        let s = "가".repeat(100); // 300 bytes of 3-byte chars
        let chunks = split_segment(&s);
        assert_eq!(chunks.concat(), s);
        let mut parts: Vec<String> = chunks[..chunks.len() - 1]
            .iter()
            .map(|c| format!("{c}{CONT}"))
            .collect();
        parts.insert(0, "dir".into());
        parts.push(chunks.last().unwrap().to_string());
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        assert_eq!(
            logical_from_parts(&refs).unwrap().unwrap().as_ref(),
            format!("dir/{s}")
        );
        let mut with_self = refs.clone();
        with_self.push(SELF_OBJECT);
        assert_eq!(
            logical_from_parts(&with_self).unwrap().unwrap().as_ref(),
            format!("dir/{s}")
        );
        assert_eq!(logical_from_parts(&[META_DIR, "x"]), Ok(None));
        assert_eq!(logical_from_parts(&["a%+"]), Err(KeyRule::Reserved));
        assert_eq!(
            logical_from_parts(&["a", SELF_OBJECT, "b"]),
            Err(KeyRule::Reserved)
        );
        assert_eq!(
            logical_from_parts(&["a\tb"]),
            Err(KeyRule::ControlCharacter)
        );
    }
}
