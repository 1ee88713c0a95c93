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
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The record of a finished object.
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
    pub fn flush(&self) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        self.write_done(batch)
    }

    /// Record (and commit) that a multipart upload to `key` is about to start.
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
    pub fn end_upload(&self, key: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM inflight WHERE key = ?1", params![key])
            .map(|_| ())
            .map_err(db_err)
    }

    /// Destination keys of multipart uploads a previous run left unfinished.
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
    pub fn done_count(&self) -> Result<u64> {
        self.flush()?;
        self.conn()
            .query_row("SELECT COUNT(*) FROM done", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// Remove the checkpoint file (after a run with no failure).
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
