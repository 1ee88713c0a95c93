//! A scripted loopback HTTP/1.1 server for retry and error-mapping tests: request `n` is
//! answered with whatever the script returns for it, one request per connection.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The request heads (request line and headers, lossily decoded) a scripted server saw.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Start a loopback HTTP/1.1 server on 127.0.0.1 that answers request `n` (counting from 0)
/// with `script(n, base_url)` = (status, extra header lines each ending in `\r\n`, body), one
/// request per connection (`connection: close`). Returns the base URL (`http://127.0.0.1:PORT`)
/// and the request heads it saw, in order. The server runs until the test's runtime ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (base, seen) = gureum_testkit::scripted::serve(|n, _| match n {
///     0 => (503, "retry-after: 0\r\n".into(), String::new()),
///     _ => (200, String::new(), "ok".into()),
/// })
/// .await;
/// assert!(base.starts_with("http://127.0.0.1:"));
/// assert!(seen.lock().unwrap().is_empty());
/// # }
/// ```
pub async fn serve<F>(script: F) -> (String, Seen)
where
    F: Fn(usize, &str) -> (u16, String, String) + Send + Sync + 'static,
{
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", l.local_addr().expect("local address"));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, b2) = (seen.clone(), base.clone());
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Bounded: a head larger than 64 KiB is answered as it is.
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
                match c.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            if let Ok(mut s) = s2.lock() {
                s.push(String::from_utf8_lossy(&buf).to_string());
            }
            let (status, headers, body) = script(n, &b2);
            n += 1;
            let resp = format!(
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.write_all(resp.as_bytes()).await;
            let _ = c.shutdown().await;
        }
    });
    (base, seen)
}

/// A raw answer of [`serve_raw`]: written byte for byte, so it may lie about its length,
/// stop short or never end.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `head` (status line and header lines, each ending in `\r\n`; the blank line is added)
    /// and `body`, written as they are; then the connection is closed. Nothing is added: a
    /// `content-length` that does not match the body, or none at all, is the test's choice.
    Raw {
        /// Status line and header lines.
        head: String,
        /// Body bytes.
        body: Vec<u8>,
    },
    /// `head` (as for `Raw`, without `content-length`: the body ends when the connection
    /// closes), then `prefix`, then `chunk` repeated until `limit` body bytes were written or
    /// the client went away. Bounded by `limit`; the bytes written are counted in the
    /// [`Sent`] counter.
    Endless {
        /// Status line and header lines.
        head: String,
        /// First body bytes (e.g. the start of an XML document).
        prefix: Vec<u8>,
        /// Body bytes repeated after the prefix.
        chunk: Vec<u8>,
        /// Most body bytes written.
        limit: u64,
    },
}

impl Reply {
    /// `status` with `headers` (lines ending in `\r\n`) and `body`, with a correct
    /// `content-length`.
    pub fn ok(status: u16, headers: &str, body: impl Into<Vec<u8>>) -> Reply {
        let body = body.into();
        Reply::Raw {
            head: format!(
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n",
                body.len()
            ),
            body,
        }
    }

    /// Like [`Reply::ok`] but announcing `claimed` bytes in `content-length`: more than the
    /// body is a truncated answer (the connection closes early), fewer is an answer whose
    /// extra bytes the client must not take as part of the body.
    pub fn wrong_length(
        status: u16,
        headers: &str,
        body: impl Into<Vec<u8>>,
        claimed: usize,
    ) -> Reply {
        Reply::Raw {
            head: format!(
                "HTTP/1.1 {status} X\r\n{headers}content-length: {claimed}\r\nconnection: close\r\n"
            ),
            body: body.into(),
        }
    }

    /// A close-delimited body that starts with `prefix` and repeats `chunk` up to `limit`
    /// bytes: a listing or JSON document that never ends.
    pub fn endless(
        status: u16,
        headers: &str,
        prefix: impl Into<Vec<u8>>,
        chunk: impl Into<Vec<u8>>,
        limit: u64,
    ) -> Reply {
        Reply::Endless {
            head: format!("HTTP/1.1 {status} X\r\n{headers}connection: close\r\n"),
            prefix: prefix.into(),
            chunk: chunk.into(),
            limit,
        }
    }

    /// `status` with one header line of `size` bytes (`x-padding: aaaa…`) and `body`.
    pub fn huge_header(status: u16, size: usize, body: impl Into<Vec<u8>>) -> Reply {
        Reply::ok(
            status,
            &format!("x-padding: {}\r\n", "a".repeat(size)),
            body,
        )
    }
}

/// Body bytes a [`serve_raw`] server wrote in [`Reply::Endless`] answers (all of them).
pub type Sent = Arc<std::sync::atomic::AtomicU64>;

/// Start a loopback HTTP/1.1 server on 127.0.0.1 that answers request `n` (counting from 0,
/// one request per connection) with `script(n, head)`, `head` being the request line and
/// headers it read. For malformed-response tests: see [`Reply`]. Returns the base URL, the
/// request heads seen and the count of endless body bytes written. A request body announced
/// with `content-length` (up to 16 MiB) is read before answering.
pub async fn serve_raw<F>(script: F) -> (String, Seen, Sent)
where
    F: Fn(usize, &str) -> Reply + Send + Sync + 'static,
{
    use std::sync::atomic::Ordering;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", l.local_addr().expect("local address"));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let sent: Sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let script = Arc::new(script);
    let (s2, sent2) = (seen.clone(), sent.clone());
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut c, _)) = l.accept().await {
            let i = n;
            n += 1;
            let (seen, sent, script) = (s2.clone(), sent2.clone(), script.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let mut end = None;
                while buf.len() < 64 * 1024 {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        end = Some(p + 4);
                        break;
                    }
                    match c.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&buf[..end.unwrap_or(buf.len())]).to_string();
                // Read (and drop) a request body announced with content-length.
                let want = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0)
                    .min(16 << 20);
                let mut have = buf.len() - end.unwrap_or(buf.len());
                while have < want {
                    match c.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => have += k,
                    }
                }
                if let Ok(mut s) = seen.lock() {
                    s.push(head.clone());
                }
                match script(i, &head) {
                    Reply::Raw { head, body } => {
                        let _ = c.write_all(format!("{head}\r\n").as_bytes()).await;
                        let _ = c.write_all(&body).await;
                    }
                    Reply::Endless {
                        head,
                        prefix,
                        chunk,
                        limit,
                    } => {
                        let _ = c.write_all(format!("{head}\r\n").as_bytes()).await;
                        let mut written = 0u64;
                        if c.write_all(&prefix).await.is_ok() {
                            written += prefix.len() as u64;
                            sent.fetch_add(prefix.len() as u64, Ordering::Relaxed);
                            let block: Vec<u8> = chunk
                                .iter()
                                .copied()
                                .cycle()
                                .take(chunk.len().max(1) * (65536 / chunk.len().max(1)).max(1))
                                .collect();
                            while written < limit && !chunk.is_empty() {
                                if c.write_all(&block).await.is_err() {
                                    break;
                                }
                                written += block.len() as u64;
                                sent.fetch_add(block.len() as u64, Ordering::Relaxed);
                            }
                        }
                    }
                }
                let _ = c.shutdown().await;
            });
        }
    });
    (base, seen, sent)
}

/// The figures of a malformed-response test: answers given and the error kinds they ended
/// in, printed as one `malformed-responses` line (collected into docs/reliability.md).
#[derive(Debug, Default)]
pub struct Tally {
    name: String,
    answers: usize,
    successes: usize,
    kinds: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// A tally for the test (or driver) `name`.
    pub fn new(name: &str) -> Tally {
        Tally {
            name: name.to_string(),
            ..Default::default()
        }
    }
    /// One malformed answer ended in an error of kind `kind`.
    pub fn error(&mut self, kind: impl std::fmt::Display) {
        self.answers += 1;
        *self.kinds.entry(kind.to_string()).or_default() += 1;
    }
    /// One malformed answer was taken as a correct (checked) value: e.g. a short
    /// `content-length`, whose body is what the server announced.
    pub fn checked_success(&mut self) {
        self.answers += 1;
        self.successes += 1;
    }
    /// Print the figures (`malformed-responses NAME: N answers, ...`; errors of kind `other`
    /// are counted as untyped).
    pub fn print(&self) {
        let untyped = self.kinds.get("other").copied().unwrap_or(0);
        println!(
            "malformed-responses {}: {} malformed answers, {} typed errors, {} untyped errors, {} checked successes, 0 panics, 0 corrupted successes; kinds {:?}",
            self.name,
            self.answers,
            self.answers - self.successes - untyped,
            untyped,
            self.successes,
            self.kinds
        );
    }
}

/// Bytes an [`Reply::endless`] answer of a malformed-answer test may write (1 GiB): far more
/// than any client bound, so a client that reads it to the end fails the [`bounded`] check.
pub const ENDLESS: u64 = 1 << 30;

/// The most body bytes a bounded client may take from an endless answer: `attempts` reads of
/// at most `cap` bytes each, plus 32 MiB for what the loopback socket buffers hold.
pub const fn bounded(attempts: u64, cap: u64) -> u64 {
    attempts * cap + (32 << 20)
}

/// Read the `Host` header of a request head (for a scripted server that must answer with
/// URLs pointing at itself, as a Keystone catalog or a tempauth `x-storage-url` does).
pub fn host_of(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("host").then(|| v.trim())
        })
        .unwrap_or("127.0.0.1")
        .to_string()
}

/// The shared loop of the malformed-answer tests: each call must end (within 120 s) in an
/// error — typed (`kind() != Other`) unless [`Malformed::any_kind`] — never in a success, and
/// may have read at most the bound of an endless body. Every outcome goes into a [`Tally`],
/// printed by [`Malformed::finish`].
///
/// ```no_run
/// # use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply};
/// # async fn demo() {
/// let cases = vec![("not json", Reply::ok(200, "", "<html/>"))];
/// Malformed::new("demo", bounded(3, 64 << 20))
///     .run(
///         cases,
///         &["get"],
///         async |reply: Reply| {
///             let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
///             (base, sent)
///         },
///         async |base: &String, _op: &str| -> gureum_core::Result<String> {
///             Err(gureum_core::Error::new(
///                 gureum_core::ErrorKind::Unavailable,
///                 format!("{base}: no client here"),
///             ))
///         },
///     )
///     .await
///     .finish();
/// # }
/// ```
#[derive(Debug)]
pub struct Malformed {
    tally: Tally,
    bound: u64,
    any_kind: bool,
}

impl Malformed {
    /// A run named `name` (the tally's name) whose endless bodies may be read up to `bound`
    /// bytes (see [`bounded`]).
    pub fn new(name: &str, bound: u64) -> Malformed {
        Malformed {
            tally: Tally::new(name),
            bound,
            any_kind: false,
        }
    }

    /// Errors of kind `Other` are accepted too (object_store's own errors on a GET path).
    pub fn any_kind(mut self) -> Malformed {
        self.any_kind = true;
        self
    }

    /// The tally, for outcomes a test checks itself (e.g. [`Tally::checked_success`]).
    pub fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// Wait (at most 120 s) for one call answered by a malformed `case`: it must fail (typed
    /// unless [`Malformed::any_kind`]) and `sent` must stay under the bound. Returns the
    /// error's kind.
    pub async fn call<T: std::fmt::Debug>(
        &mut self,
        case: &str,
        sent: &Sent,
        f: impl std::future::Future<Output = gureum_core::Result<T>>,
    ) -> gureum_core::ErrorKind {
        let r = tokio::time::timeout(std::time::Duration::from_secs(120), f)
            .await
            .unwrap_or_else(|_| panic!("{case}: the call did not end"));
        let kind = match r {
            Err(e) => {
                if !self.any_kind {
                    assert_ne!(
                        e.kind(),
                        gureum_core::ErrorKind::Other,
                        "{case}: untyped error: {e}"
                    );
                }
                self.tally.error(e.kind());
                e.kind()
            }
            Ok(v) => panic!("{case}: a malformed answer was a success: {v:?}"),
        };
        self.check_bound(case, sent);
        kind
    }

    /// Assert that `sent` (endless body bytes written) stayed under the bound.
    pub fn check_bound(&self, case: &str, sent: &Sent) {
        let s = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            s < self.bound,
            "{case}: the client read {s} bytes of an endless body (bound {})",
            self.bound
        );
    }

    /// For every case and every op: `open(reply)` gives a fresh client on a server answering
    /// with `reply` (and that server's [`Sent`] counter), then `op(&client, op)` is one
    /// [`Malformed::call`].
    pub async fn run<C, T, Open, Op>(
        mut self,
        cases: Vec<(&str, Reply)>,
        ops: &[&str],
        open: Open,
        op: Op,
    ) -> Malformed
    where
        T: std::fmt::Debug,
        Open: AsyncFn(Reply) -> (C, Sent),
        Op: AsyncFn(&C, &str) -> gureum_core::Result<T>,
    {
        for (case, reply) in cases {
            for o in ops {
                let (client, sent) = open(reply.clone()).await;
                let name = format!("{case} {o}");
                self.call(&name, &sent, op(&client, o)).await;
            }
        }
        self
    }

    /// Print the tally (the `malformed-responses` line docs/reliability.md collects).
    pub fn finish(self) {
        self.tally.print();
    }
}
