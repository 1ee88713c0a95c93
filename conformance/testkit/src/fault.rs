//! A loopback fault-injection proxy for HTTP test servers (moto, Azurite, Swift).
//!
//! [`FaultProxy`] listens on `127.0.0.1:0`, forwards requests unchanged to one loopback
//! upstream (same method, path, headers and body, so signatures still verify) and, for a
//! chosen share of the requests, injects one [`Fault`]:
//!
//! * an error status without forwarding (500, 503 or 429, the last two with `Retry-After`);
//! * an error status **after** forwarding (the operation happened upstream, the client sees
//!   a 500: what a proxy or load balancer does when it loses the answer);
//! * a connection reset before or after forwarding;
//! * a truncated body (the upstream answer with its full `Content-Length`, cut off halfway);
//! * a stall before the answer ([`FaultPlan::stall`]).
//!
//! Everything is bounded: at most [`FaultPlan::max_faults`] faults, none after
//! [`FaultPlan::until`], and the choice is deterministic for a [`FaultPlan::seed`] (a test
//! that fails can be rerun with the same faults). [`FaultProxy::stats`] counts requests and
//! each fault injected; [`FaultProxy::pause`] turns injection off (to verify the result).
//!
//! ```no_run
//! # async fn demo() {
//! use gureum_testkit::fault::{Fault, FaultPlan, FaultProxy};
//! let proxy = FaultProxy::start("http://127.0.0.1:5000", FaultPlan::all(0.3, 42)).await;
//! // point the client at proxy.endpoint instead of the server ...
//! proxy.pause();
//! println!("{}", proxy.stats());
//! # }
//! ```

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 Internal Server Error, not forwarded.
    Status500,
    /// 503 Service Unavailable with `Retry-After: 1`, not forwarded.
    Status503,
    /// 429 Too Many Requests with `Retry-After: 1`, not forwarded.
    Status429,
    /// Forwarded; the client gets a 500 instead of the answer.
    Status500AfterForward,
    /// The connection is closed before the request is forwarded.
    ResetBefore,
    /// Forwarded; the connection is closed instead of answering.
    ResetAfter,
    /// Forwarded; the answer's body is cut off halfway (its `Content-Length` promises more).
    Truncate,
    /// The answer is delayed by [`FaultPlan::stall`].
    Stall,
}

impl Fault {
    /// Every fault kind.
    pub const ALL: [Fault; 8] = [
        Fault::Status500,
        Fault::Status503,
        Fault::Status429,
        Fault::Status500AfterForward,
        Fault::ResetBefore,
        Fault::ResetAfter,
        Fault::Truncate,
        Fault::Stall,
    ];
    fn index(self) -> usize {
        Fault::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "500",
            Fault::Status503 => "503",
            Fault::Status429 => "429",
            Fault::Status500AfterForward => "500-after-forward",
            Fault::ResetBefore => "reset-before",
            Fault::ResetAfter => "reset-after",
            Fault::Truncate => "truncate",
            Fault::Stall => "stall",
        }
    }
}

/// Which faults, how often, and the bounds.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Share of requests that get a fault (0.0 – 1.0).
    pub rate: f64,
    /// The kinds to choose from (uniformly).
    pub kinds: Vec<Fault>,
    /// Most faults in total.
    pub max_faults: u64,
    /// No faults after this long from the start.
    pub until: Duration,
    /// Seed of the deterministic choice.
    pub seed: u64,
    /// Delay of a [`Fault::Stall`].
    pub stall: Duration,
}

impl FaultPlan {
    /// Every kind at `rate`, at most 1,000 faults within 10 minutes, 2 s stalls.
    pub fn all(rate: f64, seed: u64) -> Self {
        FaultPlan {
            rate,
            kinds: Fault::ALL.to_vec(),
            max_faults: 1_000,
            until: Duration::from_secs(600),
            seed,
            stall: Duration::from_secs(2),
        }
    }
    /// Only `kinds`, at `rate`.
    pub fn only(kinds: &[Fault], rate: f64, seed: u64) -> Self {
        FaultPlan {
            kinds: kinds.to_vec(),
            ..Self::all(rate, seed)
        }
    }
    /// Set [`FaultPlan::max_faults`].
    pub fn max_faults(mut self, n: u64) -> Self {
        self.max_faults = n;
        self
    }
    /// Set [`FaultPlan::stall`].
    pub fn stall(mut self, d: Duration) -> Self {
        self.stall = d;
        self
    }
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests forwarded upstream.
    pub forwarded: AtomicU64,
    injected: [AtomicU64; 8],
}

impl FaultStats {
    /// Faults of one kind injected.
    pub fn injected(&self, f: Fault) -> u64 {
        self.injected[f.index()].load(Ordering::Relaxed)
    }
    /// Faults injected in total.
    pub fn total_injected(&self) -> u64 {
        self.injected
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
    }
}

impl fmt::Display for FaultStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests, {} forwarded, {} faults (",
            self.requests.load(Ordering::Relaxed),
            self.forwarded.load(Ordering::Relaxed),
            self.total_injected()
        )?;
        let mut first = true;
        for k in Fault::ALL {
            let n = self.injected(k);
            if n > 0 {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                write!(f, "{} {n}", k.name())?;
            }
        }
        f.write_str(")")
    }
}

struct State {
    target: String,
    plan: FaultPlan,
    started: Instant,
    rng: AtomicU64,
    paused: AtomicBool,
    stats: Arc<FaultStats>,
}

impl State {
    /// splitmix64 over an atomic counter: deterministic per seed and request order.
    fn next(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn choose(&self) -> Option<Fault> {
        if self.paused.load(Ordering::Relaxed)
            || self.plan.kinds.is_empty()
            || self.started.elapsed() > self.plan.until
        {
            return None;
        }
        let roll = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.plan.rate {
            return None;
        }
        // Reserve one unit of the budget.
        let total = self.stats.total_injected();
        if total >= self.plan.max_faults {
            return None;
        }
        let k = self.plan.kinds[(self.next() % self.plan.kinds.len() as u64) as usize];
        self.stats.injected[k.index()].fetch_add(1, Ordering::Relaxed);
        Some(k)
    }
}

/// The fault-injection proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub endpoint: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("endpoint", &self.endpoint)
            .field("target", &self.state.target)
            .finish()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, BoxError>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn status(code: StatusCode, retry_after: bool) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from_static(b"fault injected by gureum-testkit"))
            .map_err(|n| match n {})
            .boxed(),
    );
    *r.status_mut() = code;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    if retry_after {
        r.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
    }
    r
}

/// A body that yields `data` and then fails (the server then aborts the connection, so
/// the client sees fewer bytes than `Content-Length` promised).
struct Truncated {
    data: Option<Bytes>,
}

impl HttpBody for Truncated {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.data.take() {
            Some(d) => Poll::Ready(Some(Ok(Frame::data(d)))),
            None => Poll::Ready(Some(Err("fault injected: body truncated".into()))),
        }
    }
}

/// Largest upstream body the proxy buffers for a truncation (bounded memory).
const MAX_BUFFERED: usize = 64 * 1024 * 1024;

async fn upstream(target: &str, req: Request<Incoming>) -> Result<Response<Incoming>, BoxError> {
    let stream = tokio::net::TcpStream::connect(target).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender.send_request(req).await?)
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    st.stats.requests.fetch_add(1, Ordering::Relaxed);
    let fault = st.choose();
    match fault {
        Some(Fault::Status500) => return Ok(status(StatusCode::INTERNAL_SERVER_ERROR, false)),
        Some(Fault::Status503) => return Ok(status(StatusCode::SERVICE_UNAVAILABLE, true)),
        Some(Fault::Status429) => return Ok(status(StatusCode::TOO_MANY_REQUESTS, true)),
        Some(Fault::ResetBefore) => return Err("fault injected: reset".into()),
        Some(Fault::Stall) => tokio::time::sleep(st.plan.stall).await,
        _ => {}
    }
    st.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    let resp = match upstream(&st.target, req).await {
        Ok(r) => r,
        Err(_) => return Ok(status(StatusCode::BAD_GATEWAY, false)),
    };
    match fault {
        Some(Fault::Status500AfterForward) => {
            // Drain the answer so the upstream connection ends cleanly.
            let _ = resp.into_body().collect().await;
            Ok(status(StatusCode::INTERNAL_SERVER_ERROR, false))
        }
        Some(Fault::ResetAfter) => {
            let _ = resp.into_body().collect().await;
            Err("fault injected: reset after forwarding".into())
        }
        Some(Fault::Truncate) => {
            let (parts, body) = resp.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_BUFFERED);
            let all = match limited.collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return Err("fault injected: reset (body too large to truncate)".into()),
            };
            if all.len() < 2 {
                // Nothing to cut: reset instead.
                return Err("fault injected: reset (empty body)".into());
            }
            let mut r = Response::from_parts(
                parts,
                Truncated {
                    data: Some(all.slice(..all.len() / 2)),
                }
                .boxed(),
            );
            r.headers_mut().insert(
                hyper::header::CONTENT_LENGTH,
                hyper::header::HeaderValue::from(all.len()),
            );
            r.headers_mut().remove(hyper::header::TRANSFER_ENCODING);
            Ok(r)
        }
        _ => Ok(resp.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed())),
    }
}

impl FaultProxy {
    /// Start in front of `upstream` (an `http://host:port` loopback URL) with `plan`.
    ///
    /// # Panics
    /// When `upstream` is not a loopback URL or no local port can be bound (test setup).
    pub async fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let u = url::Url::parse(upstream).expect("upstream URL");
        let host = u.host_str().expect("upstream host").to_string();
        assert!(
            crate::env::is_loopback_host(&host),
            "tests talk to loopback only"
        );
        let target = format!("{host}:{}", u.port_or_known_default().unwrap_or(80));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            target,
            rng: AtomicU64::new(plan.seed),
            plan,
            started: Instant::now(),
            paused: AtomicBool::new(false),
            stats: Arc::new(FaultStats::default()),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FaultProxy {
            endpoint,
            state,
            task,
        }
    }
    /// What the proxy did so far.
    pub fn stats(&self) -> &FaultStats {
        &self.state.stats
    }
    /// Stop injecting (requests are forwarded unchanged).
    pub fn pause(&self) {
        self.state.paused.store(true, Ordering::Relaxed);
    }
    /// Inject again.
    pub fn resume(&self) {
        self.state.paused.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The proxy's own behaviour against a scripted loopback server: each fault is what it
    /// says, and the bounds hold.
    #[tokio::test]
    async fn each_fault_does_what_it_says() {
        let (upstream, _seen) = crate::scripted::serve(|_n, _base| {
            (
                200,
                "content-type: text/plain\r\n".to_string(),
                "0123456789".to_string(),
            )
        })
        .await;
        for (kind, check) in [
            (Fault::Status500, "500"),
            (Fault::Status503, "503"),
            (Fault::Status429, "429"),
            (Fault::Status500AfterForward, "500"),
            (Fault::ResetBefore, "err"),
            (Fault::ResetAfter, "err"),
            (Fault::Truncate, "err"),
            (Fault::Stall, "200"),
        ] {
            let p = FaultProxy::start(
                &upstream,
                FaultPlan::only(&[kind], 1.0, 7)
                    .max_faults(1)
                    .stall(Duration::from_millis(50)),
            )
            .await;
            let got = get(&p.endpoint).await;
            assert_eq!(got.0, check, "{kind:?}: {got:?}");
            if check == "429" || check == "503" {
                assert_eq!(got.1.as_deref(), Some("1"), "{kind:?}: Retry-After");
            }
            // Budget of one: the next request passes untouched.
            let again = get(&p.endpoint).await;
            assert_eq!(again.0, "200", "{kind:?} after the budget: {again:?}");
            assert_eq!(again.2, "0123456789");
            assert_eq!(p.stats().injected(kind), 1);
            assert_eq!(p.stats().total_injected(), 1);
        }
        // Paused: nothing is injected.
        let p = FaultProxy::start(&upstream, FaultPlan::all(1.0, 1)).await;
        p.pause();
        for _ in 0..5 {
            assert_eq!(get(&p.endpoint).await.0, "200");
        }
        assert_eq!(p.stats().total_injected(), 0);
        assert_eq!(p.stats().requests.load(Ordering::Relaxed), 5);
    }

    /// (status or "err", Retry-After, body) of a GET through a fresh connection.
    async fn get(endpoint: &str) -> (String, Option<String>, String) {
        let u = url::Url::parse(endpoint).unwrap();
        let addr = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
        else {
            return ("err".into(), None, String::new());
        };
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::get(format!("{endpoint}/x"))
            .header("host", u.authority())
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let Ok(resp) = sender.send_request(req).await else {
            return ("err".into(), None, String::new());
        };
        let code = resp.status().as_u16().to_string();
        let ra = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match resp.into_body().collect().await {
            Ok(b) => (
                code,
                ra,
                String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            ),
            Err(_) => ("err".into(), ra, String::new()),
        }
    }
}
