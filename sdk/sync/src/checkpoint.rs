//! The resume checkpoint: a local sqlite file per (source, destination) pair.
//!
//! * `done`: objects copied and verified, with the source's size, modification time and etag
//!   and the destination's etag at the time. A later run skips an object whose source and
//!   destination still carry those values without comparing contents again (this is what
//!   makes a resumed `--checksum` run cheap).
//! * `inflight`: multipart uploads started and not yet completed or aborted. Written (and
//!   committed) *before* the upload is created, removed after it completed or was aborted. A
//!   run that finds entries here (the previous run was killed) hands them to the
//!   [`UploadJanitor`](crate::UploadJanitor) so the incomplete uploads are aborted and never
//!   left billing.
//!
//! `done` rows are written in batches (a lost batch after a crash only costs a re-compare);
//! `inflight` rows are committed one by one. The file is removed after a run that finished
//! with no failure.

use gureum_core::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the checkpoint remembers of a finished object.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_sync::checkpoint::{Checkpoint, DoneRecord};
/// let tmp = tempfile::tempdir()?;
/// let cp = Checkpoint::open(&tmp.path().join("cp.sqlite"), "file:a#", "s3:b#")?;
/// let rec = DoneRecord { size: 3, mtime_ms: 1_764_000_000_000, src_etag: Some("e1".into()), dst_etag: None };
/// cp.mark_done("a.csv", rec.clone())?;
/// cp.flush()?;
/// assert_eq!(cp.done("a.csv")?, Some(rec));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneRecord {
    /// Source size.
    pub size: u64,
    /// Source modification time (Unix milliseconds).
    pub mtime_ms: i64,
    /// Source etag, if any.
    pub src_etag: Option<String>,
    /// Destination etag right after the copy, if any.
    pub dst_etag: Option<String>,
}

/// An open checkpoint.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_sync::checkpoint::{Checkpoint, DoneRecord};
/// let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("cp.sqlite");
/// let cp = Checkpoint::open(&path, "mem:src#", "mem:dst#")?;
/// cp.mark_done("x", DoneRecord { size: 1, mtime_ms: 0, src_etag: None, dst_etag: None })?;
/// cp.flush()?;
/// drop(cp);
/// // A restarted run sees what the killed one finished.
/// assert_eq!(Checkpoint::open(&path, "mem:src#", "mem:dst#")?.done_count()?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    conn: Mutex<Connection>,
    pending: Mutex<Vec<(String, DoneRecord)>>,
}

const BATCH: usize = 256;

fn db_err(e: rusqlite::Error) -> Error {
    Error::other(format!("checkpoint database: {e}"))
}

impl Checkpoint {
    /// Open (or create) the checkpoint at `path` for the pair `(source, destination)`. A file
    /// written for another pair gives `InvalidArgument`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// use gureum_sync::checkpoint::Checkpoint;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("cp.sqlite");
    /// Checkpoint::open(&path, "mem:a#", "mem:b#")?;
    /// // The file belongs to that pair: another pair is refused.
    /// let e = Checkpoint::open(&path, "mem:a#", "mem:c#").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub fn open(path: &Path, source: &str, destination: &str) -> Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::from(e).context_message(format!("creating {}", dir.display()))
                })?;
            }
        }
        let conn = Connection::open(path).map_err(db_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, size INTEGER NOT NULL,
                 mtime_ms INTEGER NOT NULL, src_etag TEXT, dst_etag TEXT);
             CREATE TABLE IF NOT EXISTS inflight (key TEXT PRIMARY KEY, started_ms INTEGER NOT NULL);",
        )
        .map_err(db_err)?;
        let pair = format!("{source}\n{destination}");
        let have: Option<String> = conn
            .query_row("SELECT v FROM meta WHERE k = 'pair'", [], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        match have {
            Some(p) if p != pair => {
                return Err(Error::invalid(format!(
                    "checkpoint {} belongs to another source/destination pair",
                    path.display()
                )))
            }
            Some(_) => {}
            None => {
                conn.execute("INSERT INTO meta (k, v) VALUES ('pair', ?1)", params![pair])
                    .map_err(db_err)?;
            }
        }
        Ok(Checkpoint {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// The file.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("cp.sqlite");
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&path, "a", "b")?;
    /// assert_eq!(cp.path(), path);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The record of a finished object.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// assert_eq!(cp.done("never-copied")?, None);
    /// # Ok(()) }
    /// ```
    pub fn done(&self, key: &str) -> Result<Option<DoneRecord>> {
        if let Some((_, r)) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .find(|(k, _)| k == key)
        {
            return Ok(Some(r.clone()));
        }
        self.conn()
            .query_row(
                "SELECT size, mtime_ms, src_etag, dst_etag FROM done WHERE key = ?1",
                params![key],
                |r| {
                    Ok(DoneRecord {
                        size: r.get::<_, i64>(0)? as u64,
                        mtime_ms: r.get(1)?,
                        src_etag: r.get(2)?,
                        dst_etag: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(db_err)
    }

    /// Remember a finished object (batched).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_sync::checkpoint::{Checkpoint, DoneRecord};
    /// let tmp = tempfile::tempdir()?;
    /// let cp = Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// for i in 0..3 {
    ///     cp.mark_done(&format!("k{i}"), DoneRecord { size: i, mtime_ms: 0, src_etag: None, dst_etag: None })?;
    /// }
    /// cp.flush()?;
    /// assert_eq!(cp.done("k2")?.unwrap().size, 2);
    /// # Ok(()) }
    /// ```
    pub fn mark_done(&self, key: &str, rec: DoneRecord) -> Result<()> {
        let batch = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.push((key.to_string(), rec));
            if p.len() < BATCH {
                return Ok(());
            }
            std::mem::take(&mut *p)
        };
        self.write_done(batch)
    }

    fn write_done(&self, batch: Vec<(String, DoneRecord)>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut c = self.conn();
        let tx = c.transaction().map_err(db_err)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO done (key, size, mtime_ms, src_etag, dst_etag)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db_err)?;
            for (k, r) in &batch {
                st.execute(params![
                    k,
                    r.size as i64,
                    r.mtime_ms,
                    r.src_etag,
                    r.dst_etag
                ])
                .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// Write the batched `done` records.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_sync::checkpoint::{Checkpoint, DoneRecord};
    /// let tmp = tempfile::tempdir()?;
    /// let cp = Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// cp.mark_done("k", DoneRecord { size: 1, mtime_ms: 0, src_etag: None, dst_etag: None })?;
    /// cp.flush()?; // the batched records reach the file
    /// assert_eq!(cp.done_count()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn flush(&self) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        self.write_done(batch)
    }

    /// Record (and commit) that a multipart upload to `key` is about to start.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("cp.sqlite");
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&path, "a", "b")?;
    /// cp.begin_upload("big.iso")?;
    /// drop(cp); // killed mid-upload
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&path, "a", "b")?;
    /// assert_eq!(cp.inflight()?, ["big.iso"]); // the janitor aborts it
    /// # Ok(()) }
    /// ```
    pub fn begin_upload(&self, key: &str) -> Result<()> {
        let now = chrono::Utc::now().timestamp_millis();
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO inflight (key, started_ms) VALUES (?1, ?2)",
                params![key, now],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// The multipart upload to `key` completed or was aborted.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// cp.begin_upload("big.iso")?;
    /// cp.end_upload("big.iso")?;
    /// assert!(cp.inflight()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn end_upload(&self, key: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM inflight WHERE key = ?1", params![key])
            .map(|_| ())
            .map_err(db_err)
    }

    /// Destination keys of multipart uploads a previous run left unfinished.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// assert!(cp.inflight()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn inflight(&self) -> Result<Vec<String>> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT key FROM inflight ORDER BY key")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)
    }

    /// Number of finished objects recorded.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&tmp.path().join("cp.sqlite"), "a", "b")?;
    /// assert_eq!(cp.done_count()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn done_count(&self) -> Result<u64> {
        self.flush()?;
        self.conn()
            .query_row("SELECT COUNT(*) FROM done", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// Remove the checkpoint file (after a run with no failure).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("cp.sqlite");
    /// let cp = gureum_sync::checkpoint::Checkpoint::open(&path, "a", "b")?;
    /// cp.remove()?; // after a run without failures
    /// assert!(!path.exists());
    /// # Ok(()) }
    /// ```
    pub fn remove(self) -> Result<()> {
        let path = self.path.clone();
        drop(self.conn.into_inner().unwrap_or_else(|p| p.into_inner()));
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::from(e).context_message(p.display())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_pairs_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.sqlite");
        let c = Checkpoint::open(&p, "src", "dst").unwrap();
        let rec = DoneRecord {
            size: 3,
            mtime_ms: 5,
            src_etag: Some("e".into()),
            dst_etag: None,
        };
        c.mark_done("a/민원.txt", rec.clone()).unwrap();
        assert_eq!(c.done("a/민원.txt").unwrap(), Some(rec.clone()));
        c.begin_upload("big").unwrap();
        c.flush().unwrap();
        drop(c);
        let c = Checkpoint::open(&p, "src", "dst").unwrap();
        assert_eq!(c.done("a/민원.txt").unwrap(), Some(rec));
        assert_eq!(c.inflight().unwrap(), vec!["big".to_string()]);
        c.end_upload("big").unwrap();
        assert!(c.inflight().unwrap().is_empty());
        assert_eq!(c.done_count().unwrap(), 1);
        drop(c);
        assert!(Checkpoint::open(&p, "src", "other").is_err());
        let c = Checkpoint::open(&p, "src", "dst").unwrap();
        c.remove().unwrap();
        assert!(!p.exists());
    }
}
