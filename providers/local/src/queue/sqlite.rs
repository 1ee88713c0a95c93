//! The durable `sqlite://PATH?queue=NAME` queue.
//!
//! All queues of one database file live in two tables (`gureum_queues`, `gureum_messages`).
//! The file is opened in WAL mode with a busy timeout; every state change runs in one
//! `BEGIN IMMEDIATE` transaction, so several processes may share a file: a message is
//! delivered to one receiver per visibility period, and a receipt acks only the delivery it
//! came from (the receipt holds a random per-delivery token). A received but unacked message
//! lives on in the file and comes back after its visibility timeout, also after a crash.
//!
//! sqlite calls block, so they run on tokio's blocking pool
//! ([`tokio::task::spawn_blocking`]); the async runtime is never blocked. One connection per
//! database file is shared by all handles of a process (the first opener's options apply).
//!
//! Long-poll receives wake at once for messages sent by the same process and poll every
//! `poll_ms` (default 50 ms) for messages sent by other processes.

use super::{
    capabilities, check_batch, check_config, check_name, config_from_url, format_receipt,
    long_poll, millis, new_id, new_token, parse_receipt, MAX_BATCH, MAX_VISIBILITY,
};
use gureum_core::queue::stale_receipt;
use gureum_core::{
    async_trait, Bytes, DeadLetter, Error, ErrorKind, Message, Queue, QueueAdmin,
    QueueCapabilities, QueueConfig, QueueDriver, ReceiveOptions, ReceivedMessage, ResourceUrl,
    Result,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Version of [`SCHEMA`]; a file with another version is refused.
const SCHEMA_VERSION: &str = "2";

// Bodies live in their own table so that the per-delivery updates of `gureum_messages`
// (receive count, visibility, receipt) never rewrite message bodies.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gureum_queues (
    name TEXT PRIMARY KEY NOT NULL,
    dlq TEXT,
    max_receives INTEGER,
    visibility_ms INTEGER,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gureum_messages (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    visible_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt INTEGER
);
CREATE TABLE IF NOT EXISTS gureum_bodies (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    attrs TEXT
);
CREATE INDEX IF NOT EXISTS gureum_messages_ready ON gureum_messages(queue, visible_ms, seq);
CREATE TABLE IF NOT EXISTS gureum_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT) WITHOUT ROWID;
INSERT OR IGNORE INTO gureum_meta (key, value) VALUES ('schema_version', '2');
";

/// sqlite `PRAGMA synchronous` setting.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_local::queue::{SqliteOptions, SqliteSync};
/// assert_eq!(SqliteOptions::default().sync, SqliteSync::Normal);
/// let o = SqliteOptions::from_url(&ResourceUrl::parse("sqlite:///q.db?sync=full").unwrap()).unwrap();
/// assert_eq!(o.sync, SqliteSync::Full);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// No fsync: fastest; a process crash loses nothing, a power loss may corrupt.
    Off,
    /// fsync at WAL checkpoints: a process crash loses nothing, a power loss may lose the
    /// last transactions (the default).
    #[default]
    Normal,
    /// fsync every commit: nothing committed is lost, also on power loss.
    Full,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Off => "OFF",
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        }
    }
}

/// Options of the sqlite queue (URL parameters `busy_timeout_ms`, `sync`, `poll_ms`, `create`).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_local::queue::{SqliteOptions, SqliteQueue, SqliteSync};
/// # let tmp = tempfile::tempdir()?;
/// let db = tmp.path().join("queue.db");
/// let opts = SqliteOptions { sync: SqliteSync::Full, ..SqliteOptions::default() }; // survive power loss
/// let queue = SqliteQueue::open(&db, "ocr", opts.clone()).await?;
/// queue.send(Message::new(&b"c-1041"[..])).await?;
/// drop(queue);
/// // Another handle (or process) on the same file sees the message.
/// let again = SqliteQueue::open(&db, "ocr", opts).await?;
/// assert_eq!(again.depth().await?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's lock.
    pub busy_timeout: Duration,
    /// Durability of commits.
    pub sync: SqliteSync,
    /// Long-poll interval for messages sent by other processes.
    pub poll_interval: Duration,
    /// Create a missing database file / queue on open.
    pub create: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            sync: SqliteSync::Normal,
            poll_interval: Duration::from_millis(50),
            create: true,
        }
    }
}

impl SqliteOptions {
    /// Read the options from URL parameters.
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// use gureum_local::queue::SqliteOptions;
    /// let o = SqliteOptions::from_url(&ResourceUrl::parse("sqlite:///q.db?busy_timeout_ms=250&create=false").unwrap()).unwrap();
    /// assert_eq!(o.busy_timeout.as_millis(), 250);
    /// assert!(!o.create);
    /// assert!(SqliteOptions::from_url(&ResourceUrl::parse("sqlite:///q.db?sync=sometimes").unwrap()).is_err());
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let mut o = SqliteOptions::default();
        if let Some(ms) = url.u64_param("busy_timeout_ms")? {
            o.busy_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = url.u64_param("poll_ms")? {
            o.poll_interval = Duration::from_millis(ms.max(1));
        }
        if let Some(c) = url.bool_param("create")? {
            o.create = c;
        }
        if let Some(s) = url.param("sync") {
            o.sync = match s.to_ascii_lowercase().as_str() {
                "off" => SqliteSync::Off,
                "normal" => SqliteSync::Normal,
                "full" => SqliteSync::Full,
                _ => {
                    return Err(Error::invalid(format!(
                        "parameter sync={s:?} must be off, normal or full"
                    )))
                }
            };
        }
        Ok(o)
    }
}

/// The database file path of a `sqlite://` URL: `sqlite:///abs/q.db` is absolute,
/// `sqlite://rel/q.db` and `sqlite://./q.db` are relative to the current directory.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_local::queue::sqlite::path_from_url;
/// let abs = path_from_url(&ResourceUrl::parse("sqlite:///var/lib/civic/q.db").unwrap()).unwrap();
/// assert_eq!(abs, std::path::Path::new("/var/lib/civic/q.db"));
/// let rel = path_from_url(&ResourceUrl::parse("sqlite://data/q.db").unwrap()).unwrap();
/// assert_eq!(rel, std::path::Path::new("data/q.db")); // relative to the current directory
/// ```
pub fn path_from_url(url: &ResourceUrl) -> Result<PathBuf> {
    if url.url().port().is_some() {
        return Err(Error::invalid(format!(
            "{url}: a sqlite URL has no port; use sqlite:///abs/path.db or sqlite://rel/path.db"
        )));
    }
    let host = percent_decode(url.host());
    let path = url.path();
    let p = if host.is_empty() {
        path
    } else {
        format!("{host}{path}")
    };
    if p.is_empty() || p.ends_with('/') {
        return Err(Error::invalid(format!(
            "{url}: missing database file path; use sqlite:///abs/path.db or sqlite://rel/path.db"
        )));
    }
    Ok(PathBuf::from(p))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = h {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

/// Map a rusqlite error to a gureum error.
fn sql_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let (kind, code) = match &e {
        rusqlite::Error::SqliteFailure(f, _) => {
            let kind = match f.code {
                C::DatabaseBusy | C::DatabaseLocked => ErrorKind::Unavailable,
                C::CannotOpen | C::DiskFull | C::SystemIoFailure | C::FileLockingProtocolFailed => {
                    ErrorKind::Unavailable
                }
                C::PermissionDenied | C::ReadOnly => ErrorKind::PermissionDenied,
                C::TooBig => ErrorKind::InvalidArgument,
                C::NotADatabase | C::DatabaseCorrupt => ErrorKind::Integrity,
                _ => ErrorKind::Other,
            };
            (kind, Some(f.extended_code.to_string()))
        }
        _ => (ErrorKind::Other, None),
    };
    let mut err = Error::new(kind, format!("sqlite queue: {e}"));
    if let Some(c) = code {
        err = err.with_provider_code(c);
    }
    err.with_source(e)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// One open database file, shared by the handles of a process.
struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
    notifies: Mutex<HashMap<String, Arc<Notify>>>,
    poll: Duration,
}

static DBS: LazyLock<Mutex<HashMap<PathBuf, Weak<Db>>>> = LazyLock::new(Default::default);

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Open (or reuse) the database at `path`. Blocking.
    fn open_blocking(path: &Path, opts: &SqliteOptions) -> Result<Arc<Db>> {
        if !path.exists() {
            if !opts.create {
                return Err(Error::not_found(format!(
                    "sqlite queue database {} does not exist (create=false)",
                    path.display()
                )));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Error::from(e).context_message(format!("creating {}", parent.display()))
                })?;
            }
        }
        let mut dbs = DBS.lock().unwrap_or_else(|p| p.into_inner());
        let canonical = path.canonicalize().ok();
        if let Some(c) = &canonical {
            if let Some(db) = dbs.get(c).and_then(Weak::upgrade) {
                return Ok(db);
            }
        }
        let conn = Self::connect(path, opts)?;
        let key = path
            .canonicalize()
            .map_err(|e| Error::from(e).context_message(format!("resolving {}", path.display())))?;
        let db = Arc::new(Db {
            path: key.clone(),
            conn: Mutex::new(conn),
            notifies: Mutex::new(HashMap::new()),
            poll: opts.poll_interval,
        });
        dbs.retain(|_, w| w.strong_count() > 0);
        dbs.insert(key, Arc::downgrade(&db));
        Ok(db)
    }

    fn connect(path: &Path, opts: &SqliteOptions) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| sql_err(e).context_message(format!("opening {}", path.display())))?;
        conn.busy_timeout(opts.busy_timeout).map_err(sql_err)?;
        // Switching to WAL and creating the schema need a write lock; another process doing
        // the same at the same moment can make them fail fast with SQLITE_BUSY. Retry.
        let mut attempt = 0;
        loop {
            let r = (|| -> rusqlite::Result<String> {
                let mode: String =
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(mode = %mode, "sqlite queue: WAL mode not available");
                }
                conn.pragma_update(None, "synchronous", opts.sync.pragma())?;
                conn.execute_batch(SCHEMA)?;
                conn.query_row(
                    "SELECT value FROM gureum_meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get::<_, String>(0),
                )
            })();
            match r {
                Ok(v) if v == SCHEMA_VERSION => break,
                Ok(v) => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "{} has queue schema version {v}, this gureum uses {SCHEMA_VERSION}",
                            path.display()
                        ),
                    ))
                }
                Err(e) if is_busy(&e) && attempt < 100 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(
                        sql_err(e).context_message(format!("initialising {}", path.display()))
                    )
                }
            }
        }
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    fn notify(&self, queue: &str) -> Arc<Notify> {
        let mut n = self.notifies.lock().unwrap_or_else(|p| p.into_inner());
        n.entry(queue.to_string()).or_default().clone()
    }

    /// Run `f` with the connection on the blocking pool.
    async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = db.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| Error::other(format!("sqlite queue task failed: {e}")))?
    }
}

/// Stored settings of one queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct QueueRow {
    dlq: Option<String>,
    max_receives: Option<i64>,
    visibility_ms: Option<i64>,
}

impl QueueRow {
    fn from_config(c: &QueueConfig) -> Self {
        QueueRow {
            dlq: c.dead_letter.as_ref().map(|d| d.queue.clone()),
            max_receives: c
                .dead_letter
                .as_ref()
                .map(|d| i64::from(d.max_receive_count)),
            visibility_ms: c.default_visibility.map(millis),
        }
    }
    fn to_config(&self) -> QueueConfig {
        QueueConfig {
            dead_letter: match (&self.dlq, self.max_receives) {
                (Some(q), Some(n)) => Some(DeadLetter {
                    queue: q.clone(),
                    max_receive_count: u32::try_from(n).unwrap_or(u32::MAX),
                }),
                _ => None,
            },
            fifo: false,
            default_visibility: self
                .visibility_ms
                .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        }
    }
}

fn load_queue(conn: &Connection, name: &str) -> Result<Option<QueueRow>> {
    conn.prepare_cached(
        "SELECT dlq, max_receives, visibility_ms FROM gureum_queues WHERE name = ?1",
    )
    .map_err(sql_err)?
    .query_row(params![name], |r| {
        Ok(QueueRow {
            dlq: r.get(0)?,
            max_receives: r.get(1)?,
            visibility_ms: r.get(2)?,
        })
    })
    .optional()
    .map_err(sql_err)
}

fn require_queue(conn: &Connection, name: &str) -> Result<QueueRow> {
    load_queue(conn, name)?
        .ok_or_else(|| Error::not_found(format!("queue {name:?} does not exist")))
}

fn insert_queue(conn: &Connection, name: &str, row: &QueueRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO gureum_queues (name, dlq, max_receives, visibility_ms, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(sql_err)?
    .execute(params![
        name,
        row.dlq,
        row.max_receives,
        row.visibility_ms,
        now_ms()
    ])
    .map_err(sql_err)?;
    if let Some(dlq) = &row.dlq {
        ensure_plain_queue(conn, dlq)?;
    }
    Ok(())
}

fn ensure_plain_queue(conn: &Connection, name: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO gureum_queues (name, created_ms) VALUES (?1, ?2)")
        .map_err(sql_err)?
        .execute(params![name, now_ms()])
        .map_err(sql_err)?;
    Ok(())
}

/// Create-or-check a queue. `config`: settings the caller asked for (None: any).
fn ensure_queue(
    conn: &mut Connection,
    name: &str,
    config: Option<&QueueConfig>,
    create: bool,
) -> Result<QueueRow> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let row = match load_queue(&tx, name)? {
        Some(existing) => {
            if let Some(c) = config {
                let wanted = QueueRow::from_config(c);
                if wanted != existing {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("queue {name:?} already exists with different settings"),
                    ));
                }
            }
            existing
        }
        None if !create => {
            return Err(Error::not_found(format!(
                "queue {name:?} does not exist (create=false)"
            )))
        }
        None => {
            let row = config.map(QueueRow::from_config).unwrap_or_default();
            insert_queue(&tx, name, &row)?;
            row
        }
    };
    tx.commit().map_err(sql_err)?;
    Ok(row)
}

/// Delete every message of `queue` (bodies first).
fn delete_messages(conn: &Connection, queue: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM gureum_bodies WHERE seq IN (SELECT seq FROM gureum_messages WHERE queue = ?1)",
        params![queue],
    )
    .map_err(sql_err)?;
    conn.execute(
        "DELETE FROM gureum_messages WHERE queue = ?1",
        params![queue],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn attrs_json(a: &BTreeMap<String, String>) -> Result<Option<String>> {
    if a.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(a)
        .map(Some)
        .map_err(|e| Error::other(format!("encoding attributes: {e}")))
}

fn parse_attrs(s: Option<String>) -> Result<BTreeMap<String, String>> {
    match s {
        None => Ok(BTreeMap::new()),
        Some(s) => serde_json::from_str(&s).map_err(|e| {
            Error::new(
                ErrorKind::Integrity,
                format!("stored message attributes are not valid JSON: {e}"),
            )
        }),
    }
}

fn send_tx(conn: &mut Connection, queue: &str, messages: Vec<Message>) -> Result<Vec<String>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    require_queue(&tx, queue)?;
    let now = now_ms();
    let mut ids = Vec::with_capacity(messages.len());
    {
        let mut meta = tx
            .prepare_cached(
                "INSERT INTO gureum_messages (queue, id, sent_ms, visible_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(sql_err)?;
        let mut body = tx
            .prepare_cached("INSERT INTO gureum_bodies (seq, body, attrs) VALUES (?1, ?2, ?3)")
            .map_err(sql_err)?;
        for m in messages {
            let id = new_id();
            let visible = now + m.delay.map(millis).unwrap_or(0);
            let seq = meta
                .insert(params![queue, id, now, visible])
                .map_err(sql_err)?;
            body.execute(params![seq, m.body.as_ref(), attrs_json(&m.attributes)?])
                .map_err(sql_err)?;
            ids.push(id);
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok(ids)
}

struct Candidate {
    seq: i64,
    id: String,
    body: Vec<u8>,
    attrs: Option<String>,
    sent_ms: i64,
    receive_count: i64,
}

/// One receive attempt. Returns the messages and the dead-letter queue messages were moved to.
fn receive_tx(
    conn: &mut Connection,
    queue: &str,
    max: usize,
    visibility: Duration,
) -> Result<(Vec<ReceivedMessage>, Option<String>)> {
    // Cheap read without the write lock first: idle pollers never contend for it.
    let any: bool = conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM gureum_messages WHERE queue = ?1 AND visible_ms <= ?2)",
        )
        .map_err(sql_err)?
        .query_row(params![queue, now_ms()], |r| r.get(0))
        .map_err(sql_err)?;
    if !any {
        require_queue(conn, queue)?;
        return Ok((Vec::new(), None));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let q = require_queue(&tx, queue)?;
    let dead_letter = match (&q.dlq, q.max_receives) {
        (Some(d), Some(n)) => Some((d.clone(), n)),
        _ => None,
    };
    let now = now_ms();
    let until = now.saturating_add(millis(visibility));
    let mut out = Vec::new();
    let mut moved = false;
    for _round in 0..64 {
        let need = max - out.len();
        let rows: Vec<Candidate> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT m.seq, m.id, b.body, b.attrs, m.sent_ms, m.receive_count
                     FROM gureum_messages m JOIN gureum_bodies b ON b.seq = m.seq
                     WHERE m.queue = ?1 AND m.visible_ms <= ?2
                     ORDER BY m.visible_ms, m.seq LIMIT ?3",
                )
                .map_err(sql_err)?;
            let it = stmt
                .query_map(params![queue, now, need as i64], |r| {
                    Ok(Candidate {
                        seq: r.get(0)?,
                        id: r.get(1)?,
                        body: r.get(2)?,
                        attrs: r.get(3)?,
                        sent_ms: r.get(4)?,
                        receive_count: r.get(5)?,
                    })
                })
                .map_err(sql_err)?;
            it.collect::<rusqlite::Result<_>>().map_err(sql_err)?
        };
        let n = rows.len();
        for c in rows {
            if let Some((dlq, max_receives)) = &dead_letter {
                if c.receive_count >= *max_receives {
                    if !moved {
                        ensure_plain_queue(&tx, dlq)?;
                    }
                    tx.prepare_cached(
                        "UPDATE gureum_messages SET queue = ?1, visible_ms = ?2,
                         receive_count = 0, receipt = NULL WHERE seq = ?3",
                    )
                    .map_err(sql_err)?
                    .execute(params![dlq, now, c.seq])
                    .map_err(sql_err)?;
                    tracing::debug!(queue, dlq = %dlq, id = %c.id, "moved message to dead-letter queue");
                    moved = true;
                    continue;
                }
            }
            let token = new_token();
            tx.prepare_cached(
                "UPDATE gureum_messages SET receive_count = receive_count + 1,
                 visible_ms = ?1, receipt = ?2 WHERE seq = ?3",
            )
            .map_err(sql_err)?
            .execute(params![until, token, c.seq])
            .map_err(sql_err)?;
            out.push(ReceivedMessage {
                id: c.id,
                body: Bytes::from(c.body),
                attributes: parse_attrs(c.attrs)?,
                receipt: format_receipt(c.seq, token),
                receive_count: u32::try_from(c.receive_count + 1).unwrap_or(u32::MAX),
                sent_at: chrono::DateTime::from_timestamp_millis(c.sent_ms),
            });
        }
        if out.len() >= max || n < need {
            break;
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok((
        out,
        if moved {
            dead_letter.map(|d| d.0)
        } else {
            None
        },
    ))
}

fn ack_tx(conn: &mut Connection, queue: &str, receipts: &[(i64, i64)]) -> Result<usize> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    require_queue(&tx, queue)?;
    let mut stale = 0;
    {
        let mut stmt = tx
            .prepare_cached(
                "DELETE FROM gureum_messages WHERE seq = ?1 AND receipt = ?2 AND queue = ?3",
            )
            .map_err(sql_err)?;
        let mut body = tx
            .prepare_cached("DELETE FROM gureum_bodies WHERE seq = ?1")
            .map_err(sql_err)?;
        for (seq, token) in receipts {
            if stmt.execute(params![seq, token, queue]).map_err(sql_err)? == 0 {
                stale += 1;
            } else {
                body.execute(params![seq]).map_err(sql_err)?;
            }
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok(stale)
}

/// Set `visible_ms = now + delay` for the delivery `(seq, token)`; `clear` ends the delivery.
fn set_visible_tx(
    conn: &mut Connection,
    queue: &str,
    (seq, token): (i64, i64),
    delay: Duration,
    clear: bool,
) -> Result<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    require_queue(&tx, queue)?;
    let until = now_ms().saturating_add(millis(delay));
    let sql = if clear {
        "UPDATE gureum_messages SET visible_ms = ?1, receipt = NULL
         WHERE seq = ?2 AND receipt = ?3 AND queue = ?4"
    } else {
        "UPDATE gureum_messages SET visible_ms = ?1 WHERE seq = ?2 AND receipt = ?3 AND queue = ?4"
    };
    let n = tx
        .prepare_cached(sql)
        .map_err(sql_err)?
        .execute(params![until, seq, token, queue])
        .map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(n > 0)
}

/// A queue in a sqlite database file. Use it through [`gureum_core::Queue`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_local::queue::{SqliteOptions, SqliteQueue};
/// let tmp = tempfile::tempdir()?;
/// let q = SqliteQueue::open(tmp.path().join("q.db"), "ocr", SqliteOptions::default()).await?;
/// q.send(Message::new("c-1041")).await?;
/// let m = q.receive(1).await?.remove(0);
/// q.ack(&m).await?;
/// assert_eq!(q.depth().await?, 0);
/// # Ok(()) }
/// ```
pub struct SqliteQueue {
    db: Arc<Db>,
    name: String,
    notify: Arc<Notify>,
}

impl fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("path", &self.db.path)
            .field("name", &self.name)
            .finish()
    }
}

impl SqliteQueue {
    /// Open queue `name` in the database file at `path` (creating file and queue when
    /// `options.create`), as a portable [`Queue`] with admin attached.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// use gureum_local::queue::{SqliteOptions, SqliteQueue};
    /// let tmp = tempfile::tempdir()?;
    /// let no_create = SqliteOptions { create: false, ..SqliteOptions::default() };
    /// let e = SqliteQueue::open(tmp.path().join("missing.db"), "q", no_create).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>, name: &str, options: SqliteOptions) -> Result<Queue> {
        let admin = SqliteQueueAdmin::open(path, options.clone()).await?;
        admin.open_with(name, None, options.create).await
    }

    /// The database file.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_local::queue::{SqliteOptions, SqliteQueue};
    /// let tmp = tempfile::tempdir()?;
    /// let db = tmp.path().join("q.db");
    /// let q = SqliteQueue::open(&db, "jobs", SqliteOptions::default()).await?;
    /// assert_eq!(q.native::<SqliteQueue>().unwrap().path(), db);
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    async fn receive_once(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedMessage>> {
        let name = self.name.clone();
        let (msgs, moved_to) = self
            .db
            .run(move |c| receive_tx(c, &name, max, visibility))
            .await?;
        if let Some(dlq) = moved_to {
            self.db.notify(&dlq).notify_waiters();
        }
        Ok(msgs)
    }
}

fn check_duration(what: &str, d: Duration) -> Result<()> {
    if d > MAX_VISIBILITY {
        return Err(Error::invalid(format!(
            "{what} {d:?} exceeds the maximum {MAX_VISIBILITY:?}"
        )));
    }
    Ok(())
}

#[async_trait]
impl QueueDriver for SqliteQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> QueueCapabilities {
        capabilities()
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        check_batch(&messages)?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let name = self.name.clone();
        let ids = self.db.run(move |c| send_tx(c, &name, messages)).await?;
        self.notify.notify_waiters();
        Ok(ids)
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        check_duration("visibility", opts.visibility)?;
        let max = opts.max_messages.clamp(1, MAX_BATCH);
        let wait = opts.wait.min(super::MAX_WAIT);
        long_poll(wait, self.db.poll, &self.notify, || {
            self.receive_once(max, opts.visibility)
        })
        .await
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let parsed = receipts
            .iter()
            .map(|r| parse_receipt(r))
            .collect::<Result<Vec<_>>>()?;
        let name = self.name.clone();
        let stale = self.db.run(move |c| ack_tx(c, &name, &parsed)).await?;
        if stale > 0 {
            let e = stale_receipt();
            return Err(Error::new(
                e.kind(),
                format!("{stale} of {} receipts: {}", receipts.len(), e.message()),
            ));
        }
        Ok(())
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        check_duration("nack delay", delay)?;
        let r = parse_receipt(receipt)?;
        let name = self.name.clone();
        let ok = self
            .db
            .run(move |c| set_visible_tx(c, &name, r, delay, true))
            .await?;
        if !ok {
            return Err(stale_receipt());
        }
        if delay.is_zero() {
            self.notify.notify_waiters();
        }
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        check_duration("visibility", visibility)?;
        let r = parse_receipt(receipt)?;
        let name = self.name.clone();
        let ok = self
            .db
            .run(move |c| set_visible_tx(c, &name, r, visibility, false))
            .await?;
        if !ok {
            return Err(stale_receipt());
        }
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        let name = self.name.clone();
        self.db
            .run(move |c| {
                require_queue(c, &name)?;
                let n: i64 = c
                    .prepare_cached("SELECT COUNT(*) FROM gureum_messages WHERE queue = ?1")
                    .map_err(sql_err)?
                    .query_row(params![name], |r| r.get(0))
                    .map_err(sql_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    async fn purge(&self) -> Result<()> {
        let name = self.name.clone();
        self.db
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                require_queue(&tx, &name)?;
                delete_messages(&tx, &name)?;
                tx.commit().map_err(sql_err)
            })
            .await
    }
}

/// Queue admin of one sqlite database file: every queue in the file.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{QueueAdmin, QueueConfig};
/// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
/// let tmp = tempfile::tempdir()?;
/// let admin = SqliteQueueAdmin::open(tmp.path().join("q.db"), SqliteOptions::default()).await?;
/// admin.create_queue("a", &QueueConfig::default()).await?;
/// admin.create_queue("b", &QueueConfig::default()).await?;
/// assert_eq!(admin.list_queues().await?, ["a", "b"]); // every queue in the file
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteQueueAdmin {
    db: Arc<Db>,
    options: SqliteOptions,
}

impl fmt::Debug for SqliteQueueAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteQueueAdmin")
            .field("path", &self.db.path)
            .finish()
    }
}

impl SqliteQueueAdmin {
    /// Open the database file at `path` (created when `options.create`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
    /// let tmp = tempfile::tempdir()?;
    /// let admin = SqliteQueueAdmin::open(tmp.path().join("new.db"), SqliteOptions::default()).await?;
    /// assert!(tmp.path().join("new.db").exists()); // created
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let o = options.clone();
        let db = tokio::task::spawn_blocking(move || Db::open_blocking(&path, &o))
            .await
            .map_err(|e| Error::other(format!("sqlite open task failed: {e}")))??;
        Ok(SqliteQueueAdmin { db, options })
    }

    /// The database file.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
    /// let tmp = tempfile::tempdir()?;
    /// let admin = SqliteQueueAdmin::open(tmp.path().join("q.db"), SqliteOptions::default()).await?;
    /// assert_eq!(admin.path(), tmp.path().join("q.db"));
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The stored settings of queue `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::QueueConfig;
    /// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
    /// use std::time::Duration;
    /// let tmp = tempfile::tempdir()?;
    /// let admin = SqliteQueueAdmin::open(tmp.path().join("q.db"), SqliteOptions::default()).await?;
    /// let cfg = QueueConfig { default_visibility: Some(Duration::from_secs(90)), ..QueueConfig::default() };
    /// admin.open_with("ocr", Some(cfg.clone()), true).await?;
    /// assert_eq!(admin.config("ocr").await?, cfg);
    /// # Ok(()) }
    /// ```
    pub async fn config(&self, name: &str) -> Result<QueueConfig> {
        let n = name.to_string();
        let row = self.db.run(move |c| require_queue(c, &n)).await?;
        Ok(row.to_config())
    }

    /// Open queue `name`: create it when missing and `create` (with `config`, else default
    /// settings); when `config` is given and the queue exists with other settings, fail with
    /// `AlreadyExists`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, QueueConfig};
    /// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
    /// use std::time::Duration;
    /// let tmp = tempfile::tempdir()?;
    /// let admin = SqliteQueueAdmin::open(tmp.path().join("q.db"), SqliteOptions::default()).await?;
    /// admin.open_with("ocr", None, true).await?;
    /// // Opening an existing queue with other settings is refused.
    /// let other = QueueConfig { default_visibility: Some(Duration::from_secs(5)), ..QueueConfig::default() };
    /// assert_eq!(admin.open_with("ocr", Some(other), true).await.unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// # Ok(()) }
    /// ```
    pub async fn open_with(
        &self,
        name: &str,
        config: Option<QueueConfig>,
        create: bool,
    ) -> Result<Queue> {
        match &config {
            Some(c) => check_config(name, c)?,
            None => check_name(name)?,
        }
        let n = name.to_string();
        let row = self
            .db
            .run(move |c| ensure_queue(c, &n, config.as_ref(), create))
            .await?;
        let driver = SqliteQueue {
            db: self.db.clone(),
            name: name.to_string(),
            notify: self.db.notify(name),
        };
        let mut q = Queue::new(Arc::new(driver)).with_admin(Arc::new(self.clone()));
        if let Some(v) = row.to_config().default_visibility {
            q = q.with_defaults(ReceiveOptions {
                visibility: v,
                ..ReceiveOptions::default()
            });
        }
        Ok(q)
    }

    /// The options this admin was opened with.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_local::queue::{SqliteOptions, SqliteQueueAdmin};
    /// let tmp = tempfile::tempdir()?;
    /// let admin = SqliteQueueAdmin::open(tmp.path().join("q.db"), SqliteOptions::default()).await?;
    /// assert_eq!(admin.options(), &SqliteOptions::default());
    /// # Ok(()) }
    /// ```
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }
}

#[async_trait]
impl QueueAdmin for SqliteQueueAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        check_config(name, config)?;
        let n = name.to_string();
        let c = config.clone();
        self.db
            .run(move |conn| ensure_queue(conn, &n, Some(&c), true).map(|_| ()))
            .await
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        let n = name.to_string();
        self.db
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let gone = tx
                    .execute("DELETE FROM gureum_queues WHERE name = ?1", params![n])
                    .map_err(sql_err)?;
                if gone == 0 {
                    return Err(Error::not_found(format!("queue {n:?} does not exist")));
                }
                delete_messages(&tx, &n)?;
                tx.commit().map_err(sql_err)
            })
            .await
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        self.db
            .run(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT name FROM gureum_queues ORDER BY name")
                    .map_err(sql_err)?;
                let it = stmt.query_map([], |r| r.get(0)).map_err(sql_err)?;
                it.collect::<rusqlite::Result<Vec<String>>>()
                    .map_err(sql_err)
            })
            .await
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        self.open_with(name, None, false).await
    }
}

/// Opener of `sqlite://PATH?queue=NAME` URLs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{QueueOpener, ResourceUrl};
/// use gureum_local::queue::SqliteQueueOpener;
/// let tmp = tempfile::tempdir()?;
/// let url = ResourceUrl::parse(&format!("sqlite://{}/q.db?queue=jobs", tmp.path().display()))?;
/// assert_eq!(SqliteQueueOpener.open_queue(&url).await?.name(), "jobs");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteQueueOpener;

#[async_trait]
impl gureum_core::url::QueueOpener for SqliteQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let path = path_from_url(url)?;
        let options = SqliteOptions::from_url(url)?;
        let name = url.param("queue").unwrap_or("default").to_string();
        let config = config_from_url(url)?;
        let create = options.create;
        let admin = SqliteQueueAdmin::open(&path, options).await?;
        admin.open_with(&name, config, create).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<PathBuf> {
        path_from_url(&ResourceUrl::parse(s)?)
    }

    #[test]
    fn url_paths() {
        assert_eq!(
            p("sqlite:///abs/q.db?queue=a").unwrap(),
            PathBuf::from("/abs/q.db")
        );
        assert_eq!(p("sqlite://rel/q.db").unwrap(), PathBuf::from("rel/q.db"));
        assert_eq!(p("sqlite://./q.db").unwrap(), PathBuf::from("./q.db"));
        assert_eq!(p("sqlite://q.db").unwrap(), PathBuf::from("q.db"));
        assert_eq!(
            p("sqlite://Data/Q%20x.db").unwrap(),
            PathBuf::from("Data/Q x.db")
        );
        assert!(p("sqlite://").is_err());
        assert!(p("sqlite:///").is_err());
        assert!(p("sqlite://dir/").is_err());
        assert!(p("sqlite://host:5/q.db").is_err());
    }

    #[test]
    fn options_from_url() {
        let u =
            ResourceUrl::parse("sqlite:///q.db?sync=full&busy_timeout_ms=10&create=false").unwrap();
        let o = SqliteOptions::from_url(&u).unwrap();
        assert_eq!(o.sync, SqliteSync::Full);
        assert_eq!(o.busy_timeout, Duration::from_millis(10));
        assert!(!o.create);
        let u = ResourceUrl::parse("sqlite:///q.db?sync=maybe").unwrap();
        assert!(SqliteOptions::from_url(&u).is_err());
    }
}
