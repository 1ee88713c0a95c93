//! Where the access record is written: a local file, an sqlite database, or a bucket.

use super::chain::Head;
use gureum_core::{Bucket, Error, ErrorKind, PutOptions, Result, WriteMode};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// A record store. Lines are appended in order; the head is replaced. Appends are
/// synchronous (a local write, or a buffer for [`BucketSink`]); [`Sink::flush`] sends what a
/// remote sink buffered.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{Head, Sink, SqliteSink};
/// let tmp = tempfile::tempdir()?;
/// let sink = SqliteSink::open(tmp.path().join("a.db"))?;
/// sink.append(&["{\"seq\":1}".to_string()])?;
/// sink.set_head(&Head { seq: 1, hash: "h".into(), sig: None })?;
/// assert_eq!(sink.last_line().await?.as_deref(), Some("{\"seq\":1}"));
/// assert_eq!(sink.head().await?.unwrap().seq, 1);
/// assert!(!sink.needs_flush()); // local sinks write at once
/// # Ok(()) }
/// ```
#[async_trait::async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// Append entries (JSON lines without newline).
    fn append(&self, lines: &[String]) -> Result<()>;
    /// Replace the signed head.
    fn set_head(&self, head: &Head) -> Result<()>;
    /// Whether [`Sink::flush`] has buffered work to send.
    fn needs_flush(&self) -> bool {
        false
    }
    /// Send buffered entries and head (remote sinks).
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
    /// The last entry written (to continue the chain after a restart).
    async fn last_line(&self) -> Result<Option<String>>;
    /// Every line, in order.
    async fn read_lines(&self) -> Result<Vec<String>>;
    /// The head, if one was written.
    async fn head(&self) -> Result<Option<Head>>;
    /// Where the record is, for messages.
    fn describe(&self) -> String;
}

/// JSON lines appended to a local file; the head in `PATH.head`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{FileSink, Sink};
/// let tmp = tempfile::tempdir()?;
/// let sink = FileSink::new(tmp.path().join("logs/a.jsonl")); // the directory is created
/// sink.append(&["{\"seq\":1}".to_string(), "{\"seq\":2}".to_string()])?;
/// assert_eq!(sink.read_lines().await?.len(), 2);
/// assert!(tmp.path().join("logs/a.jsonl").is_file());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl FileSink {
    /// A sink at `path` (created with its directory when first written).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{FileSink, Sink};
    /// let tmp = tempfile::tempdir()?;
    /// let sink = FileSink::new(tmp.path().join("a.jsonl"));
    /// assert_eq!(sink.last_line().await?, None); // nothing written yet
    /// # Ok(()) }
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSink {
            path: path.into(),
            file: Mutex::new(None),
        }
    }
    fn head_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".head");
        PathBuf::from(p)
    }
}

fn io(e: std::io::Error, what: &str, path: &std::path::Path) -> Error {
    Error::from(e).context_message(format!("access record: {what} {}", path.display()))
}

#[async_trait::async_trait]
impl Sink for FileSink {
    fn append(&self, lines: &[String]) -> Result<()> {
        let mut g = self.file.lock().expect("sink lock");
        if g.is_none() {
            if let Some(d) = self.path.parent() {
                std::fs::create_dir_all(d).map_err(|e| io(e, "creating the directory of", d))?;
            }
            *g = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(|e| io(e, "opening", &self.path))?,
            );
        }
        let f = g.as_mut().expect("opened above");
        let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
        }
        // One write(2) per batch: O_APPEND keeps it whole.
        f.write_all(&buf)
            .map_err(|e| io(e, "appending to", &self.path))
    }
    fn set_head(&self, head: &Head) -> Result<()> {
        let p = self.head_path();
        let tmp = p.with_extension("head.tmp");
        let body = serde_json::to_vec(head).expect("heads serialize");
        std::fs::write(&tmp, body).map_err(|e| io(e, "writing", &tmp))?;
        std::fs::rename(&tmp, &p).map_err(|e| io(e, "replacing", &p))
    }
    async fn last_line(&self) -> Result<Option<String>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e, "reading", &self.path)),
        };
        let len = f
            .metadata()
            .map_err(|e| io(e, "reading", &self.path))?
            .len();
        // Entries are far below 64 KiB; read the tail only.
        let start = len.saturating_sub(64 * 1024);
        f.seek(SeekFrom::Start(start))
            .map_err(|e| io(e, "reading", &self.path))?;
        let mut tail = String::new();
        f.read_to_string(&mut tail)
            .map_err(|e| io(e, "reading", &self.path))?;
        Ok(tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::to_string))
    }
    async fn read_lines(&self) -> Result<Vec<String>> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e, "reading", &self.path)),
        };
        BufReader::new(f)
            .lines()
            .collect::<std::io::Result<Vec<String>>>()
            .map_err(|e| io(e, "reading", &self.path))
    }
    async fn head(&self) -> Result<Option<Head>> {
        let p = self.head_path();
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::new(ErrorKind::Integrity, format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e, "reading", &p)),
        }
    }
    fn describe(&self) -> String {
        format!("file://{}", self.path.display())
    }
}

/// Entries as rows of an sqlite database (table `audit_entries`, head in `audit_head`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{Sink, SqliteSink};
/// let tmp = tempfile::tempdir()?;
/// let sink = SqliteSink::open(tmp.path().join("audit.db"))?;
/// sink.append(&["{}".to_string()])?;
/// assert_eq!(sink.read_lines().await?, ["{}"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqliteSink {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
}

fn sql(e: rusqlite::Error, path: &std::path::Path) -> Error {
    Error::new(
        ErrorKind::Other,
        format!("access record sqlite {}: {e}", path.display()),
    )
}

impl SqliteSink {
    /// Open (create) the database at `path`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{Sink, SqliteSink};
    /// let tmp = tempfile::tempdir()?;
    /// let sink = SqliteSink::open(tmp.path().join("new/dir/audit.db"))?;
    /// assert!(sink.describe().starts_with("sqlite://"));
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| io(e, "creating the directory of", d))?;
        }
        let conn = rusqlite::Connection::open(&path).map_err(|e| sql(e, &path))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS audit_entries (seq INTEGER PRIMARY KEY, line TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), head TEXT NOT NULL);",
        )
        .map_err(|e| sql(e, &path))?;
        Ok(SqliteSink {
            path,
            conn: Mutex::new(conn),
        })
    }
}

#[async_trait::async_trait]
impl Sink for SqliteSink {
    fn append(&self, lines: &[String]) -> Result<()> {
        let mut c = self.conn.lock().expect("sink lock");
        let tx = c.transaction().map_err(|e| sql(e, &self.path))?;
        {
            let mut st = tx
                .prepare_cached("INSERT INTO audit_entries (line) VALUES (?1)")
                .map_err(|e| sql(e, &self.path))?;
            for l in lines {
                st.execute([l]).map_err(|e| sql(e, &self.path))?;
            }
        }
        tx.commit().map_err(|e| sql(e, &self.path))
    }
    fn set_head(&self, head: &Head) -> Result<()> {
        let body = serde_json::to_string(head).expect("heads serialize");
        self.conn
            .lock()
            .expect("sink lock")
            .execute(
                "INSERT INTO audit_head (id, head) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET head = excluded.head",
                [body],
            )
            .map(|_| ())
            .map_err(|e| sql(e, &self.path))
    }
    async fn last_line(&self) -> Result<Option<String>> {
        let c = self.conn.lock().expect("sink lock");
        c.query_row(
            "SELECT line FROM audit_entries ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| sql(e, &self.path))
    }
    async fn read_lines(&self) -> Result<Vec<String>> {
        let c = self.conn.lock().expect("sink lock");
        let mut st = c
            .prepare("SELECT line FROM audit_entries ORDER BY seq")
            .map_err(|e| sql(e, &self.path))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| sql(e, &self.path))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(|e| sql(e, &self.path))
    }
    async fn head(&self) -> Result<Option<Head>> {
        let c = self.conn.lock().expect("sink lock");
        let h: Option<String> = c
            .query_row("SELECT head FROM audit_head WHERE id = 1", [], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| sql(e, &self.path))?;
        h.map(|s| {
            serde_json::from_str(&s)
                .map_err(|e| Error::new(ErrorKind::Integrity, format!("audit_head: {e}")))
        })
        .transpose()
    }
    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

/// Segments of entries as create-only objects `PREFIX/segments/NNNNNNNNNNNNNNNNNNNN.jsonl`
/// (named by the first sequence number, zero-padded so listing sorts them) and the head as
/// `PREFIX/head.json`. Entries are buffered and sent as one segment, then the head, by
/// [`Sink::flush`]: the audit layer flushes after each operation that wrote a checkpoint,
/// and [`AuditLog::flush`](super::AuditLog::flush) on demand. Entries still buffered when the
/// process dies are lost; the head then names the last entry that reached the bucket.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{chain::GENESIS, BucketSink, Entry, Head, Sink};
/// let bucket = gureum::open_bucket("mem://bucket-sink-doc").await?;
/// let sink = BucketSink::new(bucket.clone(), "app1");
/// let t = "2026-11-27T09:00:00.000000Z".to_string();
/// let (e, line) = Entry { seq: 1, kind: "op".into(), time: t, prev: GENESIS.into(), ..Entry::default() }.seal();
/// sink.append(&[line])?;
/// sink.set_head(&Head { seq: 1, hash: e.hash, sig: None })?;
/// assert!(sink.needs_flush()); // buffered until flushed
/// sink.flush().await?;
/// assert_eq!(bucket.list_all(Some("app1/segments/")).await?.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BucketSink {
    bucket: Bucket,
    prefix: String,
    pending: Mutex<(Vec<String>, Option<Head>)>,
    sending: tokio::sync::Mutex<()>,
}

impl BucketSink {
    /// A sink writing under `prefix` (may be empty) of `bucket`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{BucketSink, Sink};
    /// let sink = BucketSink::new(gureum::open_bucket("mem://bucket-sink-new-doc").await?, "");
    /// assert!(sink.read_lines().await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn new(bucket: Bucket, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        BucketSink {
            bucket,
            prefix,
            pending: Mutex::new((Vec::new(), None)),
            sending: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait::async_trait]
impl Sink for BucketSink {
    fn append(&self, lines: &[String]) -> Result<()> {
        self.pending
            .lock()
            .expect("sink lock")
            .0
            .extend(lines.iter().cloned());
        Ok(())
    }
    fn set_head(&self, head: &Head) -> Result<()> {
        self.pending.lock().expect("sink lock").1 = Some(head.clone());
        Ok(())
    }
    fn needs_flush(&self) -> bool {
        self.pending.lock().expect("sink lock").1.is_some()
    }
    async fn flush(&self) -> Result<()> {
        let _one_at_a_time = self.sending.lock().await;
        let (lines, head) = std::mem::take(&mut *self.pending.lock().expect("sink lock"));
        if let Some(first) = lines.first() {
            let first: super::chain::Entry = serde_json::from_str(first)
                .map_err(|e| Error::new(ErrorKind::Integrity, format!("segment: {e}")))?;
            let key = format!("{}segments/{:020}.jsonl", self.prefix, first.seq);
            let mut body = lines.join("\n");
            body.push('\n');
            self.bucket
                .put_with(
                    &key,
                    body.into_bytes(),
                    &PutOptions::default()
                        .content_type("application/jsonl")
                        .mode(WriteMode::CreateOnly),
                )
                .await?;
        }
        if let Some(h) = head {
            let body = serde_json::to_vec(&h).expect("heads serialize");
            self.bucket
                .put(&format!("{}head.json", self.prefix), body)
                .await?;
        }
        Ok(())
    }
    async fn last_line(&self) -> Result<Option<String>> {
        Ok(self.read_lines().await?.pop())
    }
    async fn read_lines(&self) -> Result<Vec<String>> {
        let mut keys: Vec<String> = self
            .bucket
            .list_all(Some(&format!("{}segments/", self.prefix)))
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        keys.sort();
        let mut out = Vec::new();
        for k in keys {
            let b = self.bucket.get(&k).await?;
            let text = String::from_utf8(b.to_vec())
                .map_err(|_| Error::new(ErrorKind::Integrity, format!("{k}: not UTF-8")))?;
            out.extend(text.lines().map(str::to_string));
        }
        out.extend(self.pending.lock().expect("sink lock").0.iter().cloned());
        Ok(out)
    }
    async fn head(&self) -> Result<Option<Head>> {
        match self.bucket.get(&format!("{}head.json", self.prefix)).await {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::new(ErrorKind::Integrity, format!("head.json: {e}"))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn describe(&self) -> String {
        format!(
            "bucket {}://{}/{}",
            self.bucket.info().scheme,
            self.bucket.name(),
            self.prefix
        )
    }
}
