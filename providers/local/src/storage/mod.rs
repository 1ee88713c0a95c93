//! Embedded storage backends: `mem://NAME` and `file:///abs/dir`.
//!
//! * `mem://NAME` is an `object_store` `InMemory` store. The same `NAME` in one process is the
//!   same store (a process-wide registry), so two `open_bucket("mem://x")` calls share data.
//!   `mem://` without a name is `mem://default`.
//! * `file:///abs/dir` is a directory (created if missing) served by [`FileStore`], a wrapper
//!   over `object_store`'s `LocalFileSystem` that keeps content type and user metadata in
//!   hidden sidecar files, supports if-match writes and serialises writers (also across
//!   processes) with advisory locks.
//!
//! Both come with a [`BucketAdmin`]: for `mem://` the buckets are the registry's names; for
//! `file://` the buckets are the subdirectories of the bucket directory's parent
//! (`file:///srv/data/a` and `file:///srv/data/b` are buckets `a` and `b` of `/srv/data`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let bucket = gureum_local::storage::open_mem("doc-example");
//! bucket.put("a/b.txt", "hi").await.unwrap();
//! let same = gureum_local::storage::open_mem("doc-example");
//! assert_eq!(&same.get("a/b.txt").await.unwrap()[..], b"hi");
//! # });
//! ```

pub mod fs;

pub use fs::FileStore;

use async_trait::async_trait;
use futures::StreamExt;
use gureum_core::object_store::memory::InMemory;
use gureum_core::object_store::ObjectStore;
use gureum_core::storage::{BackendInfo, Bucket, BucketAdmin, StorageCapabilities};
use gureum_core::url::{ResourceUrl, StorageOpener};
use gureum_core::{Error, ErrorKind, Registry, Result, Zone};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Capabilities of `mem://` buckets.
///
/// ```
/// let caps = gureum_local::storage::mem_capabilities();
/// assert!(caps.sorted_listing && !caps.presign);
/// assert_eq!(&caps, gureum_local::storage::open_mem("caps-doc").capabilities());
/// ```
pub fn mem_capabilities() -> StorageCapabilities {
    StorageCapabilities {
        presign: false,
        bucket_admin: true,
        conditional_create: true,
        conditional_update: true,
        user_metadata: true,
        content_type: true,
        multipart: true,
        copy: true,
        copy_if_not_exists: true,
        sorted_listing: true,
        max_object_size: None,
        max_parts: None,
    }
}

/// Capabilities of `file://` buckets.
///
/// ```
/// let caps = gureum_local::storage::file_capabilities();
/// assert!(caps.conditional_update && caps.bucket_admin);
/// ```
pub fn file_capabilities() -> StorageCapabilities {
    StorageCapabilities {
        presign: false,
        bucket_admin: true,
        conditional_create: true,
        conditional_update: true,
        user_metadata: true,
        content_type: true,
        multipart: true,
        copy: true,
        copy_if_not_exists: true,
        // FileStore sorts its listings.
        sorted_listing: true,
        max_object_size: None,
        max_parts: None,
    }
}

fn info(scheme: &str) -> BackendInfo {
    BackendInfo {
        scheme: scheme.to_string(),
        provider: "local".to_string(),
        zone: Zone::OnPrem,
    }
}

// ---------------------------------------------------------------- mem://

type MemMap = BTreeMap<String, Arc<InMemory>>;

fn mem_registry() -> &'static Mutex<MemMap> {
    static REG: OnceLock<Mutex<MemMap>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn lock_mem() -> std::sync::MutexGuard<'static, MemMap> {
    // A panic while holding this lock cannot leave the map inconsistent.
    mem_registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn validate_bucket_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 63
        || name.starts_with('.')
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(Error::invalid(format!(
            "bucket name {name:?}: use 1-63 ASCII letters, digits, '-', '_' or '.', not starting with '.'"
        )));
    }
    Ok(())
}

fn mem_bucket(name: &str, store: Arc<InMemory>) -> Bucket {
    Bucket::new(name, store.clone() as Arc<dyn ObjectStore>)
        .with_capabilities(mem_capabilities())
        .with_info(info("mem"))
        .with_admin(Arc::new(MemAdmin))
        .with_native(store)
}

/// Open (creating if missing) the process-wide in-memory bucket `name`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let a = gureum_local::storage::open_mem("shared");
/// a.put("민원/c-1041.json", b"{}".to_vec()).await?;
/// // The same name in this process is the same store.
/// let b = gureum_local::storage::open_mem("shared");
/// assert_eq!(b.get("민원/c-1041.json").await?.as_ref(), b"{}");
/// assert!(!b.capabilities().presign);
/// # Ok(()) }
/// ```
pub fn open_mem(name: &str) -> Bucket {
    let store = lock_mem()
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone();
    mem_bucket(name, store)
}

/// Bucket admin of `mem://`: the names of the process-wide registry.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{BucketAdmin, ErrorKind};
/// use gureum_local::storage::MemAdmin;
/// MemAdmin.create_bucket("mem-admin-doc").await?;
/// assert_eq!(MemAdmin.create_bucket("mem-admin-doc").await.unwrap_err().kind(), ErrorKind::AlreadyExists);
/// let b = MemAdmin.open("mem-admin-doc").await?;
/// b.put("x", "1").await?;
/// // A bucket that is not empty is not deleted.
/// assert_eq!(MemAdmin.delete_bucket("mem-admin-doc").await.unwrap_err().kind(), ErrorKind::PreconditionFailed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MemAdmin;

#[async_trait]
impl BucketAdmin for MemAdmin {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        validate_bucket_name(name)?;
        let mut reg = lock_mem();
        if reg.contains_key(name) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("bucket {name:?} already exists"),
            ));
        }
        reg.insert(name.to_string(), Arc::new(InMemory::new()));
        Ok(())
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        let store = lock_mem()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("bucket {name:?}")))?;
        if store.list(None).next().await.is_some() {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!("bucket {name:?} is not empty"),
            )
            .with_provider_code("BucketNotEmpty"));
        }
        lock_mem().remove(name);
        Ok(())
    }

    async fn list_buckets(&self) -> Result<Vec<String>> {
        Ok(lock_mem().keys().cloned().collect())
    }

    async fn open(&self, name: &str) -> Result<Bucket> {
        let store = lock_mem()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("bucket {name:?}")))?;
        Ok(mem_bucket(name, store))
    }
}

// ---------------------------------------------------------------- file://

/// Open (creating if missing) the directory `root` as a bucket named after its last component.
///
/// Keys are stored verbatim as paths under `root`, so other tools see the same names:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::PutOptions;
/// let tmp = tempfile::tempdir()?;
/// let bucket = gureum_local::storage::open_file(tmp.path().join("civic"))?;
/// let opts = PutOptions::default().content_type("image/jpeg").metadata("complaint-id", "c-1041");
/// bucket.put_with("민원/사진 1.jpg", vec![0xFF, 0xD8], &opts).await?;
/// assert!(tmp.path().join("civic/민원/사진 1.jpg").is_file());
/// let info = bucket.head("민원/사진 1.jpg").await?;
/// assert_eq!(info.content_type.as_deref(), Some("image/jpeg"));
/// assert_eq!(info.metadata["complaint-id"], "c-1041");
/// // Buckets are the sibling directories.
/// bucket.admin()?.create_bucket("open-data").await?;
/// assert_eq!(bucket.admin()?.list_buckets().await?.len(), 2);
/// // A relative directory is refused.
/// assert!(gureum_local::storage::open_file("relative/dir").is_err());
/// # Ok(()) }
/// ```
pub fn open_file(root: impl AsRef<Path>) -> Result<Bucket> {
    open_file_with(root, false)
}

/// [`open_file`] with durable writes (`durable=true` in a `file://` URL): each write is
/// fsynced (data file, then its directory) before it returns. See [`FileStore::with_durability`]
/// and docs/reliability.md for the cost.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let tmp = tempfile::tempdir()?;
/// let b = gureum_local::storage::open_file_with(tmp.path().join("records"), true)?;
/// b.put("a", "x").await?; // on disk (data and directory fsynced) when this returns
/// assert_eq!(b.name(), "records");
/// # Ok(()) }
/// ```
pub fn open_file_with(root: impl AsRef<Path>, durable: bool) -> Result<Bucket> {
    let root = root.as_ref();
    if !root.is_absolute() {
        return Err(Error::invalid(format!(
            "file:// needs an absolute directory, got {:?}",
            root.display().to_string()
        )));
    }
    if root.parent().is_none() {
        return Err(Error::invalid(
            "file:// refuses the file-system root as a bucket directory",
        ));
    }
    let store = FileStore::with_durability(root, durable)?;
    Ok(file_bucket(store))
}

fn file_bucket(store: FileStore) -> Bucket {
    let root = store.root().to_path_buf();
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = root
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.clone());
    let native = Arc::new(store.clone());
    let pager = Arc::new(store.clone());
    Bucket::new(name, Arc::new(store) as Arc<dyn ObjectStore>)
        .with_level_pager(pager)
        .with_capabilities(file_capabilities())
        .with_info(info("file"))
        .with_admin(Arc::new(FileAdmin::new(parent)))
        .with_native(native)
}

/// Bucket admin of `file://`: buckets are the subdirectories of one parent directory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::BucketAdmin;
/// use gureum_local::storage::FileAdmin;
/// let tmp = tempfile::tempdir()?;
/// let admin = FileAdmin::new(tmp.path());
/// admin.create_bucket("open-data").await?;
/// assert!(tmp.path().join("open-data").is_dir());
/// assert_eq!(admin.list_buckets().await?, ["open-data"]);
/// admin.delete_bucket("open-data").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileAdmin {
    parent: PathBuf,
}

impl FileAdmin {
    /// Buckets under `parent`.
    ///
    /// ```
    /// use gureum_local::storage::FileAdmin;
    /// assert_eq!(FileAdmin::new("/srv/buckets").parent(), std::path::Path::new("/srv/buckets"));
    /// ```
    pub fn new(parent: impl Into<PathBuf>) -> Self {
        FileAdmin {
            parent: parent.into(),
        }
    }
    /// The parent directory.
    ///
    /// ```
    /// use gureum_local::storage::FileAdmin;
    /// let admin = FileAdmin::new("/var/lib/civic/buckets");
    /// assert!(admin.parent().ends_with("buckets"));
    /// ```
    pub fn parent(&self) -> &Path {
        &self.parent
    }
}

#[async_trait]
impl BucketAdmin for FileAdmin {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        validate_bucket_name(name)?;
        let dir = self.parent.join(name);
        let parent = self.parent.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&parent)?;
            std::fs::create_dir(&dir)
        })
        .await
        .map_err(|e| Error::other(format!("create bucket task: {e}")))?
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!("bucket {name:?} already exists"),
                )
            } else {
                Error::from(e).context_message(format!("creating bucket {name:?}"))
            }
        })
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        validate_bucket_name(name)?;
        let dir = self.parent.join(name);
        let n = name.to_string();
        tokio::task::spawn_blocking(move || -> Result<()> {
            if !dir.is_dir() {
                return Err(Error::not_found(format!("bucket {n:?}")));
            }
            for e in std::fs::read_dir(&dir)? {
                let e = e?;
                if e.file_name() != fs::META_DIR {
                    return Err(Error::new(
                        ErrorKind::PreconditionFailed,
                        format!("bucket {n:?} is not empty"),
                    )
                    .with_provider_code("BucketNotEmpty"));
                }
            }
            let meta = dir.join(fs::META_DIR);
            if meta.exists() {
                std::fs::remove_dir_all(&meta)?;
            }
            std::fs::remove_dir(&dir)?;
            Ok(())
        })
        .await
        .map_err(|e| Error::other(format!("delete bucket task: {e}")))?
    }

    async fn list_buckets(&self) -> Result<Vec<String>> {
        let parent = self.parent.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
            let mut v = Vec::new();
            let rd = match std::fs::read_dir(&parent) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
                Err(e) => return Err(e.into()),
            };
            for e in rd {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                if e.file_type()?.is_dir() && validate_bucket_name(&name).is_ok() {
                    v.push(name);
                }
            }
            v.sort();
            Ok(v)
        })
        .await
        .map_err(|e| Error::other(format!("list buckets task: {e}")))?
    }

    async fn open(&self, name: &str) -> Result<Bucket> {
        validate_bucket_name(name)?;
        let dir = self.parent.join(name);
        if !dir.is_dir() {
            return Err(Error::not_found(format!("bucket {name:?}")));
        }
        Ok(file_bucket(FileStore::new(dir)?))
    }
}

// ---------------------------------------------------------------- openers

struct MemStorageOpener;

#[async_trait]
impl StorageOpener for MemStorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let mut name = url.host().to_string();
        let path = url.path();
        let path = path.trim_matches('/');
        if name.is_empty() {
            name = if path.is_empty() {
                "default".into()
            } else {
                path.to_string()
            };
        } else if !path.is_empty() {
            return Err(Error::invalid(format!(
                "{url}: mem:// takes a bucket name only (mem://NAME), not a path"
            )));
        }
        Ok(open_mem(&name))
    }
}

struct FileStorageOpener;

#[async_trait]
impl StorageOpener for FileStorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        if !url.host().is_empty() && url.host() != "localhost" {
            return Err(Error::invalid(format!(
                "{url}: file:// URLs name a local directory: file:///abs/dir (three slashes)"
            )));
        }
        let path = url.path();
        if path.is_empty() || path == "/" {
            return Err(Error::invalid(format!(
                "{url}: file:// needs a directory, e.g. file:///var/lib/app/storage"
            )));
        }
        let path = PathBuf::from(path.trim_end_matches('/'));
        let durable = url.bool_param("durable")?.unwrap_or(false);
        tokio::task::spawn_blocking(move || open_file_with(path, durable))
            .await
            .map_err(|e| Error::other(format!("open file bucket task: {e}")))?
    }
}

/// Register the `mem` and `file` storage openers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let mut registry = gureum_core::Registry::new();
/// gureum_local::storage::register(&mut registry);
/// let tmp = tempfile::tempdir()?;
/// let b = registry.open_bucket(Some(&format!("file://{}/b", tmp.path().display()))).await?;
/// assert_eq!(b.info().scheme, "file");
/// assert!(registry.open_queue(Some("mem://q")).await.is_err()); // queues not registered
/// # Ok(()) }
/// ```
pub fn register(registry: &mut Registry) {
    registry.register_storage("mem", Arc::new(MemStorageOpener));
    registry.register_storage("file", Arc::new(FileStorageOpener));
}
