//! Delimiter listings of [`FileStore`]: one level of a directory tree, in pages.
//!
//! A directory read (`readdir`) returns names in no order, so the page after a cursor can be
//! chosen only after every name of the level was read and sorted. Reading and sorting the
//! level for every page made paging through a level of `n` names cost `n × pages`. Here a
//! listing is done in two passes:
//!
//! 1. **names** ([`LevelNames`]): the level's directory (and the directories that continue
//!    long names) is read once and its names sorted in key order. This snapshot is cached
//!    per store, keyed by the physical directory, and reused by the following pages while
//!    it is still exact: every directory read has the same device, inode, size, modification
//!    and change time as when it was read, and no write of any `FileStore` in this process
//!    finished since ([`WRITE_GENERATION`]). A name is added to or removed from a directory
//!    only by changing that directory, so its times move; a snapshot of a directory changed
//!    so recently that a later change could carry the same time stamp (within
//!    [`RACY_FINE`], or [`RACY_COARSE`] on file systems with whole-second times) is used for
//!    its own page and not cached;
//! 2. **entries**: only the names a page needs (those after the cursor, in key order, until
//!    the page is full) are looked at (`stat`, the object inside a directory, whether a
//!    directory holds an object) when the page is served, so what a page shows is never
//!    older than the page.
//!
//! Paging through a level therefore costs one directory read plus one `stat` per name over
//! all pages, and a page's entries are always after its cursor: an entry is never shown
//! twice, and one that exists throughout the listing is never dropped, whatever changes
//! between pages. The cache is bounded ([`LEVEL_CACHE_MAX_LEVELS`] levels,
//! [`LEVEL_CACHE_MAX_BYTES`] of names; least recently used levels are evicted; a level larger
//! than the whole budget is read per page, as before).

use super::{
    child_path, has_visible_file, FileStore, Foreign, OsResult, CONT, META_DIR, SELF_OBJECT,
};
use gureum_core::key::KeyRule;
use object_store::path::Path;
use object_store::{ListResult, ObjectMeta};
use std::cmp::Ordering as CmpOrdering;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Count of writes (put, copy, rename, delete, multipart completion) finished by any
/// [`FileStore`] of this process: a names snapshot taken at another count is not reused.
pub(super) static WRITE_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Most levels the names cache of one store holds.
pub(super) const LEVEL_CACHE_MAX_LEVELS: usize = 32;

/// Most bytes (estimated: names plus their bookkeeping) the names cache of one store holds.
pub(super) const LEVEL_CACHE_MAX_BYTES: usize = 64 << 20;

/// A directory changed less than this before it was read is not cached (file systems with
/// sub-second time stamps; Linux stamps at the kernel's clock tick, at most 10 ms).
pub(super) const RACY_FINE: Duration = Duration::from_millis(50);

/// Like [`RACY_FINE`] for a file system whose time stamps have no sub-second part.
pub(super) const RACY_COARSE: Duration = Duration::from_secs(2);

/// What identifies a directory's contents: device, inode, size, modification and change
/// time (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DirStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i128,
    ctime: i128,
}

#[cfg(unix)]
fn dir_stamp(md: &std::fs::Metadata) -> Option<DirStamp> {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    Some(DirStamp {
        dev: md.dev(),
        ino: md.ino(),
        size: md.size(),
        mtime: ns(md.mtime(), md.mtime_nsec()),
        ctime: ns(md.ctime(), md.ctime_nsec()),
    })
}

/// Without inode and change time nothing is cached (every page reads its level).
#[cfg(not(unix))]
fn dir_stamp(_md: &std::fs::Metadata) -> Option<DirStamp> {
    None
}

fn stamp_of(p: &std::path::Path) -> Option<DirStamp> {
    std::fs::metadata(p).ok().and_then(|m| dir_stamp(&m))
}

/// One name of a level: its key segment (a long name continued through `%+` directories is
/// joined), the directory it was read from and where its own file name starts in `seg`.
#[derive(Debug)]
struct LevelName {
    seg: Box<str>,
    dir: u32,
    name_at: u32,
    /// The directory entry is a symbolic link (checked for escaping the root when used).
    link: bool,
}

impl LevelName {
    fn name(&self) -> &str {
        &self.seg[self.name_at as usize..]
    }
}

/// The sorted names of one level (pass 1), see the module documentation.
#[derive(Debug)]
pub(super) struct LevelNames {
    /// The level's key (empty at the root).
    logical: Path,
    /// Directories read: the level's, then those continuing long names, with their stamps.
    dirs: Vec<(PathBuf, Option<DirStamp>)>,
    names: Vec<LevelName>,
    /// Every possible entry in key order: (name index, whether it is the `name/` prefix).
    order: Vec<(u32, bool)>,
    /// Names that are not UTF-8 (reported with every page).
    foreign: Foreign,
    generation: u64,
    /// May be reused by later pages (every directory stamped, none changed too recently).
    cacheable: bool,
    bytes: usize,
}

/// The names cache of one store (least recently used levels go first).
#[derive(Default)]
pub(super) struct LevelCache {
    map: HashMap<PathBuf, (Arc<LevelNames>, u64)>,
    tick: u64,
    bytes: usize,
}

impl LevelCache {
    fn get(&mut self, dir: &std::path::Path) -> Option<Arc<LevelNames>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(dir).map(|(lv, t)| {
            *t = tick;
            lv.clone()
        })
    }

    fn remove(&mut self, dir: &std::path::Path) {
        if let Some((lv, _)) = self.map.remove(dir) {
            self.bytes -= lv.bytes;
        }
    }

    fn insert(&mut self, dir: PathBuf, lv: Arc<LevelNames>) {
        self.remove(&dir);
        if lv.bytes > LEVEL_CACHE_MAX_BYTES {
            return;
        }
        while !self.map.is_empty()
            && (self.map.len() >= LEVEL_CACHE_MAX_LEVELS
                || self.bytes + lv.bytes > LEVEL_CACHE_MAX_BYTES)
        {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.remove(&k),
                None => break,
            }
        }
        self.tick += 1;
        self.bytes += lv.bytes;
        self.map.insert(dir, (lv, self.tick));
    }
}

/// Bytes of the key of entry `(i, prefix)`: `logical/seg` (or `seg` at the root), then `/`
/// for a prefix, compared with `other` without building the key.
fn cmp_key(logical: &str, seg: &str, prefix: bool, other: &str) -> CmpOrdering {
    let sep: &[u8] = if logical.is_empty() { b"" } else { b"/" };
    let tail: &[u8] = if prefix { b"/" } else { b"" };
    logical
        .bytes()
        .chain(sep.iter().copied())
        .chain(seg.bytes())
        .chain(tail.iter().copied())
        .cmp(other.bytes())
}

/// Order of the entries `x` (then `/` when `xp`) and `y` (then `/` when `yp`), without
/// building them.
fn cmp_entries(x: &[u8], xp: bool, y: &[u8], yp: bool) -> CmpOrdering {
    let n = x.len().min(y.len());
    match x[..n].cmp(&y[..n]) {
        CmpOrdering::Equal => {}
        o => return o,
    }
    // What follows the common part: the rest of the longer name, or the `/` of a prefix.
    let next = |s: &[u8], p: bool| s.get(n).copied().or(p.then_some(b'/'));
    match (next(x, xp), next(y, yp)) {
        (None, None) => CmpOrdering::Equal,
        (None, Some(_)) => CmpOrdering::Less,
        (Some(_), None) => CmpOrdering::Greater,
        (Some(a), Some(b)) if a != b => a.cmp(&b),
        // `name/` against `name/…`: names hold no `/`, so this is the longer one's own
        // entry against a prefix of the same text; the shorter sorts first.
        _ => (x.len() + usize::from(xp)).cmp(&(y.len() + usize::from(yp))),
    }
}

fn key_of(logical: &str, seg: &str, prefix: bool) -> String {
    let mut k = String::with_capacity(logical.len() + seg.len() + 2);
    if !logical.is_empty() {
        k.push_str(logical);
        k.push('/');
    }
    k.push_str(seg);
    if prefix {
        k.push('/');
    }
    k
}

/// What a name is when a page looks at it: an object, a common prefix, both or neither.
#[derive(Default)]
struct Classified {
    object: Option<ObjectMeta>,
    prefix: Option<Path>,
}

/// One page of a level: the entries after `after` whose keys start with `filter`, at most
/// `max`, and whether more may follow.
pub(super) struct LevelPage {
    pub(super) result: ListResult,
    pub(super) more: bool,
    pub(super) foreign: Foreign,
}

impl FileStore {
    /// How many times this store read a directory level for a delimiter listing
    /// ([`Bucket::list_page`](gureum_core::Bucket::list_page) with a delimiter,
    /// `list_with_delimiter`). Pages served from the store's cached, still exact names of a
    /// level do not read it again, so paging through an unchanged level counts one read.
    /// A diagnostic (the tests count reads with it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_local::storage::{open_file, FileStore};
    /// let tmp = tempfile::tempdir()?;
    /// let b = open_file(tmp.path().join("b"))?;
    /// b.put("x", "1").await?;
    /// let before = b.native::<FileStore>().unwrap().level_reads();
    /// b.list_page(&gureum_core::ListOptions { delimiter: true, ..Default::default() }).await?;
    /// assert_eq!(b.native::<FileStore>().unwrap().level_reads(), before + 1);
    /// # Ok(()) }
    /// ```
    pub fn level_reads(&self) -> u64 {
        self.s.level_reads.load(Ordering::Relaxed)
    }

    /// The physical directory, logical key and root flag of the level under `prefix`
    /// (`None`: the level is the hidden metadata directory, which lists nothing).
    fn level_dir(&self, prefix: Option<&Path>) -> OsResult<Option<(PathBuf, Path, bool)>> {
        match prefix {
            Some(p) if p.parts().next().is_some() => {
                if p.parts().next().map(|s| s.as_ref() == META_DIR) == Some(true) {
                    return Ok(None);
                }
                let ph = self.phys(p)?;
                Ok(Some((ph.base.clone(), p.clone(), false)))
            }
            _ => Ok(Some((self.s.root.clone(), Path::default(), true))),
        }
    }

    /// The sorted names of a level: the cached snapshot if it is still exact, else a read.
    fn level_names(&self, dir: PathBuf, logical: Path, top: bool) -> OsResult<Arc<LevelNames>> {
        let generation = WRITE_GENERATION.load(Ordering::Acquire);
        let cached = self
            .s
            .levels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&dir);
        if let Some(lv) = cached {
            let exact = lv.generation == generation
                && lv
                    .dirs
                    .iter()
                    .all(|(p, st)| st.is_some() && stamp_of(p) == *st);
            if exact {
                return Ok(lv);
            }
        }
        let lv = Arc::new(self.read_level_names(&dir, logical, top, generation)?);
        let mut cache = self.s.levels.lock().unwrap_or_else(|p| p.into_inner());
        if lv.cacheable {
            cache.insert(dir, lv.clone());
        } else {
            cache.remove(&dir);
        }
        Ok(lv)
    }

    /// Pass 1: read the level's names (blocking).
    fn read_level_names(
        &self,
        dir: &std::path::Path,
        logical: Path,
        top: bool,
        generation: u64,
    ) -> OsResult<LevelNames> {
        self.s.level_reads.fetch_add(1, Ordering::Relaxed);
        let started = SystemTime::now();
        let mut dirs: Vec<(PathBuf, Option<DirStamp>)> = Vec::new();
        let mut names: Vec<LevelName> = Vec::new();
        let mut foreign = Foreign::new();
        let mut cacheable = true;
        let mut bytes = 0usize;
        // (directory, accumulated segment text of a long name being continued)
        let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
        while let Some((d, acc)) = stack.pop() {
            // Stamped before it is read: a change during the read moves the stamp.
            let stamp = stamp_of(&d);
            let rd = match std::fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    // Nothing there now (never cached: it has no stamp to check).
                    cacheable = false;
                    continue;
                }
                Err(e) => return Err(super::io_err(&d, e)),
            };
            match stamp {
                Some(st) if !racy(&st, started) => {}
                _ => cacheable = false,
            }
            let idx = u32::try_from(dirs.len()).unwrap_or(u32::MAX);
            dirs.push((d.clone(), stamp));
            for e in rd {
                let e = e.map_err(|e| super::io_err(&d, e))?;
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    let lossy = e.file_name().to_string_lossy().into_owned();
                    foreign.push((format!("{logical}/{acc}{lossy}"), KeyRule::NotUtf8));
                    continue;
                };
                if top && acc.is_empty() && name == META_DIR {
                    continue;
                }
                if acc.is_empty() && name == SELF_OBJECT {
                    continue; // the prefix's own object, not a child
                }
                let link = e.file_type().is_ok_and(|t| t.is_symlink());
                let path = e.path();
                if let Some(c) = name.strip_suffix(CONT) {
                    // A directory continuing a long name: its names are this level's.
                    if !(link && self.link_escapes(&path))
                        && std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
                    {
                        stack.push((path, format!("{acc}{c}")));
                        continue;
                    }
                }
                let seg = format!("{acc}{name}");
                bytes += seg.len() + std::mem::size_of::<LevelName>() + 16;
                names.push(LevelName {
                    name_at: u32::try_from(acc.len()).unwrap_or(u32::MAX),
                    seg: seg.into_boxed_str(),
                    dir: idx,
                    link,
                });
            }
        }
        let mut order: Vec<(u32, bool)> = (0..names.len())
            .filter_map(|i| u32::try_from(i).ok())
            .flat_map(|i| [(i, false), (i, true)])
            .collect();
        order.sort_unstable_by(|a, b| {
            let (sa, sb) = (&names[a.0 as usize].seg, &names[b.0 as usize].seg);
            cmp_entries(sa.as_bytes(), a.1, sb.as_bytes(), b.1)
        });
        bytes += order.len() * std::mem::size_of::<(u32, bool)>();
        Ok(LevelNames {
            logical,
            dirs,
            names,
            order,
            foreign,
            generation,
            cacheable,
            bytes,
        })
    }

    /// Whether a symbolic link at `path` leads outside the root (or dangles).
    pub(super) fn link_escapes(&self, path: &std::path::Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(c) if c.starts_with(&self.s.root) => false,
            _ => {
                tracing::warn!(
                    path = %path.display(),
                    "skipping a symbolic link that leaves the bucket directory (or dangles)"
                );
                true
            }
        }
    }

    /// Pass 2 for one name: what it is now.
    fn classify(&self, lv: &LevelNames, n: &LevelName, foreign: &mut Foreign) -> Classified {
        let mut out = Classified::default();
        let Some((dir, _)) = lv.dirs.get(n.dir as usize) else {
            return out;
        };
        let name = n.name();
        let seg: &str = &n.seg;
        let path = dir.join(name);
        if n.link && self.link_escapes(&path) {
            return out;
        }
        let Ok(md) = std::fs::metadata(&path) else {
            return out;
        };
        let logical = &lv.logical;
        if md.is_dir() {
            if name.ends_with(CONT) {
                // Became a continuation directory since the names were read: the next
                // read of the level (its directory changed) lists what it holds.
                return out;
            }
            let child = match child_path(logical, seg) {
                Ok(c) => c,
                Err(rule) => {
                    foreign.push((format!("{logical}/{seg}/"), rule));
                    return out;
                }
            };
            if let Ok(m) = std::fs::metadata(path.join(SELF_OBJECT)) {
                if m.is_file() {
                    out.object = Some(Self::meta_of(child.clone(), &m));
                }
            }
            if has_visible_file(&path, true) {
                out.prefix = Some(child);
            }
        } else if md.is_file() {
            if name == SELF_OBJECT {
                return out;
            }
            if seg.ends_with(CONT) {
                foreign.push((format!("{logical}/{seg}"), KeyRule::Reserved));
                return out;
            }
            match child_path(logical, seg) {
                Ok(child) => out.object = Some(Self::meta_of(child, &md)),
                Err(rule) => foreign.push((format!("{logical}/{seg}"), rule)),
            }
        }
        out
    }

    /// One page of the level under `prefix` (blocking): the entries whose keys are after
    /// `after` and start with `filter`, in key order, at most `max`.
    pub(super) fn level_page(
        &self,
        prefix: Option<&Path>,
        after: Option<&str>,
        filter: &str,
        max: usize,
    ) -> OsResult<LevelPage> {
        let mut page = LevelPage {
            result: super::empty_list(),
            more: false,
            foreign: Foreign::new(),
        };
        let Some((dir, logical, top)) = self.level_dir(prefix)? else {
            return Ok(page);
        };
        let lv = self.level_names(dir, logical, top)?;
        page.foreign.extend(lv.foreign.iter().cloned());
        let logical = lv.logical.as_ref();
        let seg_of = |e: &(u32, bool)| &*lv.names[e.0 as usize].seg;
        // The first entry after the cursor and at or after the filter (keys starting with
        // `filter` are one run in key order).
        let mut start = lv
            .order
            .partition_point(|e| cmp_key(logical, seg_of(e), e.1, filter) == CmpOrdering::Less);
        if let Some(a) = after {
            start =
                start.max(lv.order.partition_point(|e| {
                    cmp_key(logical, seg_of(e), e.1, a) != CmpOrdering::Greater
                }));
        }
        let mut seen: HashMap<u32, Classified> = HashMap::new();
        let mut taken = 0usize;
        // Names equal once joined (a long name stored twice) give their entry once.
        let mut last: Option<String> = None;
        for e in lv.order.iter().skip(start) {
            if taken >= max {
                page.more = true;
                break;
            }
            let seg = seg_of(e);
            let key = key_of(logical, seg, e.1);
            if !key.starts_with(filter) {
                break;
            }
            if last.as_deref() == Some(key.as_str()) {
                continue;
            }
            let n = &lv.names[e.0 as usize];
            let c = seen
                .entry(e.0)
                .or_insert_with(|| self.classify(&lv, n, &mut page.foreign));
            if e.1 {
                if let Some(p) = c.prefix.take() {
                    page.result.common_prefixes.push(p);
                    taken += 1;
                    last = Some(key);
                }
            } else if let Some(o) = c.object.take() {
                page.result.objects.push(o);
                taken += 1;
                last = Some(key);
            }
        }
        Ok(page)
    }
}

/// Whether a directory with `st` may change again without its times moving, seen from a
/// read that started at `started`.
fn racy(st: &DirStamp, started: SystemTime) -> bool {
    let Ok(now) = started.duration_since(SystemTime::UNIX_EPOCH) else {
        return true;
    };
    let now = i128::try_from(now.as_nanos()).unwrap_or(i128::MAX);
    let coarse = st.mtime % 1_000_000_000 == 0 && st.ctime % 1_000_000_000 == 0;
    let slack = if coarse { RACY_COARSE } else { RACY_FINE };
    let edge = now - i128::try_from(slack.as_nanos()).unwrap_or(0);
    st.mtime >= edge || st.ctime >= edge
}
