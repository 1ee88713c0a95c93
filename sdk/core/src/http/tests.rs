//! The HTTP layer against a loopback hyper server.

use super::*;
use crate::ErrorKind;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the loopback server answers to one request.
#[derive(Clone, Default)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
    chunked: bool,
    /// Pause before each chunk of a chunked body.
    gap: Duration,
}

fn reply(status: u16) -> Reply {
    Reply {
        status,
        ..Default::default()
    }
}

impl Reply {
    fn header(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
    fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    /// (method, headers) of every request, in order.
    seen: Arc<Mutex<Vec<(String, http::HeaderMap)>>>,
}

impl Server {
    fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A loopback HTTP/1 server answering request `n` (0-based) with `f(n)`.
async fn serve(f: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let f = Arc::new(f);
    let (h2, s2) = (hits.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (f, hits, seen) = (f.clone(), h2.clone(), s2.clone());
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let n = hits.fetch_add(1, Ordering::SeqCst);
                    seen.lock()
                        .unwrap()
                        .push((req.method().to_string(), req.headers().clone()));
                    let r = f(n);
                    async move {
                        if !r.delay.is_zero() {
                            tokio::time::sleep(r.delay).await;
                        }
                        let body: BoxBody<Bytes, Infallible> = if r.chunked {
                            let chunks: Vec<Result<Frame<Bytes>, Infallible>> = r
                                .body
                                .chunks(16)
                                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                                .collect();
                            let gap = r.gap;
                            StreamBody::new(futures::StreamExt::then(
                                futures::stream::iter(chunks),
                                move |c| async move {
                                    if !gap.is_zero() {
                                        tokio::time::sleep(gap).await;
                                    }
                                    c
                                },
                            ))
                            .boxed()
                        } else {
                            Full::new(Bytes::from(r.body)).boxed()
                        };
                        let mut resp = hyper::Response::new(body);
                        *resp.status_mut() = http::StatusCode::from_u16(r.status).unwrap();
                        for (k, v) in r.headers {
                            resp.headers_mut().insert(k, v.parse().unwrap());
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Server { addr, hits, seen }
}

fn fast() -> HttpConfig {
    HttpConfig::default()
        .retries(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .deadline(Duration::from_secs(20))
}

fn client(cfg: HttpConfig) -> HttpClient {
    HttpClient::builder("test").config(cfg).build().unwrap()
}

fn get(c: &HttpClient, u: url::Url) -> reqwest::Request {
    c.http().get(u).build().unwrap()
}

fn idem(op: &str) -> RequestOptions {
    RequestOptions::new(op).idempotent(true)
}

#[tokio::test]
async fn throttling_429_and_503_are_retried() {
    for status in [429, 503, 500, 502, 504] {
        let s = serve(move |n| {
            if n < 2 {
                reply(status)
            } else {
                reply(200).body("ok")
            }
        })
        .await;
        let c = client(fast());
        let r = c
            .send_bytes(get(&c, s.url("/x")), &idem("GET x"))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{status}");
        assert_eq!(&r.body[..], b"ok");
        assert_eq!(s.hits(), 3, "{status}");
    }
}

#[tokio::test]
async fn retries_are_bounded_and_keep_the_last_error() {
    let s = serve(|_| {
        reply(503)
            .header("x-ms-request-id", "rid-7")
            .body("<Error><Code>ServerBusy</Code></Error>")
    })
    .await;
    let c = client(fast().retries(2));
    let e = c
        .send(get(&c, s.url("/x")), &idem("GET x"))
        .await
        .unwrap_err();
    assert_eq!(s.hits(), 3);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.request_id(), Some("rid-7"));
    assert!(
        e.message().starts_with("GET x: HTTP 503"),
        "{}",
        e.message()
    );

    let c = client(fast().retries(0));
    let s = serve(|_| reply(429)).await;
    let e = c
        .send(get(&c, s.url("/x")), &idem("GET x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(s.hits(), 1);
}

#[tokio::test]
async fn provider_throttling_codes_are_retried_through_the_error_hook() {
    #[derive(Debug)]
    struct XmlCode;
    impl ProviderErrors for XmlCode {
        fn parse(&self, _s: u16, h: &http::HeaderMap, body: &[u8]) -> ErrorDetails {
            let t = String::from_utf8_lossy(body);
            let code = t
                .split_once("<Code>")
                .and_then(|(_, r)| r.split_once("</Code>"))
                .map(|(c, _)| c.to_string());
            ErrorDetails {
                code,
                message: None,
                request_id: request_id_from_headers(h),
            }
        }
    }
    // AWS Query APIs throttle with HTTP 400 + <Code>Throttling</Code>
    let s = serve(|n| {
        if n == 0 {
            reply(400).body(
                "<Response><Errors><Error><Code>Throttling</Code></Error></Errors></Response>",
            )
        } else {
            reply(200)
        }
    })
    .await;
    let c = HttpClient::builder("t")
        .config(fast())
        .errors(Arc::new(XmlCode))
        .build()
        .unwrap();
    c.send(get(&c, s.url("/")), &idem("Describe"))
        .await
        .unwrap();
    assert_eq!(s.hits(), 2);
    // the same body without the hook is a plain 400: not retried
    let s = serve(|_| reply(400).body("<Code>Throttling</Code>")).await;
    let c = client(fast());
    let e = c
        .send(get(&c, s.url("/")), &idem("Describe"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(s.hits(), 1);
}

#[tokio::test]
async fn retry_after_seconds_and_http_date_are_honoured() {
    let s = serve(|n| {
        if n == 0 {
            reply(503).header("retry-after", "1")
        } else {
            reply(200)
        }
    })
    .await;
    let c = client(fast());
    let t = Instant::now();
    c.send(get(&c, s.url("/")), &idem("GET")).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(s.hits(), 2);

    // an HTTP-date two seconds ahead (whole seconds: at least one second of wait)
    let s = serve(|n| {
        if n == 0 {
            let when = chrono::Utc::now() + chrono::Duration::seconds(2);
            reply(429).header(
                "retry-after",
                when.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            )
        } else {
            reply(200)
        }
    })
    .await;
    let t = Instant::now();
    c.send(get(&c, s.url("/")), &idem("GET")).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_gives_up_at_once() {
    let s = serve(|_| reply(503).header("retry-after", "3600")).await;
    let c = client(fast().deadline(Duration::from_secs(5)));
    let t = Instant::now();
    let e = c.send(get(&c, s.url("/")), &idem("GET")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(s.hits(), 1);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried() {
    for status in [503, 429, 500] {
        let s = serve(move |_| reply(status)).await;
        let c = client(fast());
        let req = c.http().post(s.url("/messages")).body("m").build().unwrap();
        let e = c
            .send(req, &RequestOptions::new("POST message"))
            .await
            .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(s.hits(), 1, "{status}");
    }
    // the same POST marked idempotent (e.g. carries a client token) is retried
    let s = serve(|n| if n == 0 { reply(503) } else { reply(201) }).await;
    let c = client(fast());
    let req = c.http().post(s.url("/runs")).body("m").build().unwrap();
    let r = c
        .send(req, &RequestOptions::new("POST run").idempotent(true))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn total_deadline_bounds_slow_servers() {
    let s = serve(|_| Reply {
        status: 200,
        delay: Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let c = client(fast().deadline(Duration::from_millis(400)));
    let t = Instant::now();
    let e = c
        .send(get(&c, s.url("/slow")), &idem("GET slow"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let src = std::error::Error::source(&e).unwrap();
    assert!(
        matches!(
            src.downcast_ref::<HttpError>(),
            Some(HttpError::DeadlineExceeded { .. })
        ),
        "{src:?}"
    );
    assert!(e.message().contains("deadline"), "{}", e.message());
}

#[tokio::test]
async fn response_bodies_are_bounded() {
    for chunked in [false, true] {
        let s = serve(move |_| Reply {
            status: 200,
            body: vec![b'x'; 1000],
            chunked,
            ..Default::default()
        })
        .await;
        let c = client(fast().max_response_bytes(100));
        let e = c
            .send_bytes(get(&c, s.url("/big")), &idem("GET big"))
            .await
            .unwrap_err();
        let src = std::error::Error::source(&e).unwrap();
        assert!(
            matches!(
                src.downcast_ref::<HttpError>(),
                Some(HttpError::BodyTooLarge { limit: 100 })
            ),
            "chunked={chunked}: {e}"
        );
        // within the bound it reads
        let c = client(fast().max_response_bytes(1000));
        let r = c
            .send_bytes(get(&c, s.url("/big")), &idem("GET big"))
            .await
            .unwrap();
        assert_eq!(r.body.len(), 1000);
    }
}

#[tokio::test]
async fn secrets_in_urls_never_reach_messages() {
    // nothing listens on this port: a transport error that would name the URL
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let u = url::Url::parse(&format!(
        "http://user:hunter2@127.0.0.1:{port}/c?comp=list&sig=TOPSECRET&se=2030"
    ))
    .unwrap();
    let c = client(fast().retries(1));
    let e = c.send(get(&c, u), &idem("LIST c")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(e.message().contains("sig=***"), "{}", e.message());
    assert!(e.message().contains("LIST c"), "{}", e.message());
}

#[tokio::test]
async fn status_table_and_provider_override_apply_to_responses() {
    #[derive(Debug)]
    struct Busy409;
    impl ProviderErrors for Busy409 {
        fn status_kind(&self, status: u16) -> Option<ErrorKind> {
            (status == 409).then_some(ErrorKind::PreconditionFailed)
        }
    }
    let s = serve(|_| reply(409).header("x-openstack-request-id", "req-409")).await;
    let c = client(fast());
    let e = c
        .send(get(&c, s.url("/")), &idem("PUT c"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.request_id(), Some("req-409"));
    let c = HttpClient::builder("t")
        .config(fast())
        .errors(Arc::new(Busy409))
        .build()
        .unwrap();
    let e = c
        .send(get(&c, s.url("/")), &idem("PUT c"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    // accepted statuses come back as responses
    let r = c
        .send(get(&c, s.url("/")), &idem("PUT c").accept(409))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[derive(Debug, Default)]
struct CountingAuth {
    signed: AtomicUsize,
    refreshed: AtomicUsize,
}

#[async_trait::async_trait]
impl Authorizer for CountingAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> crate::Result<()> {
        let n = self.signed.fetch_add(1, Ordering::SeqCst);
        req.headers_mut()
            .insert("x-signature", format!("sig-{n}").parse().unwrap());
        Ok(())
    }
    async fn refresh(&self, sent: &http::HeaderMap) -> crate::Result<bool> {
        assert!(sent.contains_key("x-signature"));
        self.refreshed.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }
}

#[tokio::test]
async fn every_attempt_is_signed_afresh_and_401_refreshes_once() {
    let s = serve(|n| if n < 2 { reply(503) } else { reply(200) }).await;
    let auth = Arc::new(CountingAuth::default());
    let c = HttpClient::builder("t")
        .config(fast())
        .auth(auth.clone())
        .build()
        .unwrap();
    c.send(get(&c, s.url("/")), &idem("GET")).await.unwrap();
    let sigs: Vec<String> = s
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, h)| h["x-signature"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(sigs, ["sig-0", "sig-1", "sig-2"]);

    // 401: one refresh and one repeat, even for a POST; a second 401 is the answer
    let s = serve(|_| reply(401)).await;
    let req = c.http().post(s.url("/")).body("b").build().unwrap();
    let e = c.send(req, &RequestOptions::new("POST")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(s.hits(), 2);
    assert_eq!(auth.refreshed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn params_configure_the_client() {
    let url = crate::ResourceUrl::parse("x://h?retries=1&timeout=5s&deadline=30s").unwrap();
    let cfg = HttpConfig::from_params(url.params())
        .unwrap()
        .backoff(Duration::from_millis(1), Duration::from_millis(2));
    let s = serve(|_| reply(503)).await;
    let c = client(cfg);
    c.send(get(&c, s.url("/")), &idem("GET")).await.unwrap_err();
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn raw_status_retries_by_status_and_hands_back_the_final_response() {
    let s = serve(|n| {
        if n < 2 {
            reply(503)
        } else {
            reply(404).body("gone")
        }
    })
    .await;
    let c = client(fast());
    let opts = idem("HEAD x").raw_status(true);
    let r = c.send(get(&c, s.url("/")), &opts).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(s.hits(), 3);
    let e = c.error_from(r, "HEAD x").await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().ends_with("HTTP 404: gone"), "{}", e.message());
    // exhausted retries: the last retryable response comes back too
    let s = serve(|_| reply(503)).await;
    let r = c.send(get(&c, s.url("/")), &opts).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(s.hits(), 4);
}

#[tokio::test]
async fn per_request_auth_hook() {
    let s = serve(|_| reply(200)).await;
    let c = client(fast());
    let auth = CountingAuth::default();
    c.send_with_auth(get(&c, s.url("/")), &idem("GET"), &auth)
        .await
        .unwrap();
    assert_eq!(auth.signed.load(Ordering::SeqCst), 1);
    assert!(s.seen.lock().unwrap()[0].1.contains_key("x-signature"));
}

/// A streamed download may take longer than the attempt timeout as long as bytes keep
/// coming (a multi-GB object over a slow line); a stall of a whole timeout still fails.
/// Without `streaming`, the timeout bounds headers and body together.
#[tokio::test]
async fn streamed_bodies_are_bounded_by_idle_time_not_total_time() {
    let moving = |gap: u64| Reply {
        status: 200,
        body: vec![7u8; 16 * 15],
        chunked: true,
        gap: Duration::from_millis(gap),
        ..Default::default()
    };
    let cfg = || {
        fast()
            .retries(0)
            .request_timeout(Duration::from_millis(800))
    };
    // 15 chunks 100 ms apart: 1.5 s in total, never idle for 800 ms.
    let s = serve(move |_| moving(100)).await;
    let c = client(cfg());
    let r = c
        .send(get(&c, s.url("/big")), &idem("GET big").streaming(true))
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().len(), 16 * 15);
    // The same download as a buffered request is cut off by the 800 ms total.
    let buffered = match c.send(get(&c, s.url("/big")), &idem("GET big")).await {
        Ok(r) => r.bytes().await.map(|b| b.len()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    assert!(buffered.is_err(), "{buffered:?}");
    // A body that stalls for longer than the timeout fails as a streamed request too.
    let s = serve(move |_| moving(2500)).await;
    let t = Instant::now();
    let r = c
        .send(get(&c, s.url("/stall")), &idem("GET stall").streaming(true))
        .await
        .unwrap();
    let e = r.bytes().await.unwrap_err();
    assert!(e.is_timeout() || e.is_body(), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Headers that never come are a typed timeout.
    let s = serve(|_| Reply {
        status: 200,
        delay: Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let e = c
        .send(
            get(&c, s.url("/silent")),
            &idem("GET silent").streaming(true),
        )
        .await
        .unwrap_err();
    // Either bound may fire first: the idle read timeout or the headers timeout.
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

/// `CappedConnector`: an answer announcing at most the limit passes through (whole); one
/// announcing more is refused at once; a chunked answer (nothing announced) is counted and
/// fails past the limit, and reads whole within it.
#[tokio::test]
async fn capped_connector_bounds_buffered_answers() {
    use object_store::client::HttpConnector;
    // request n: (body length, chunked)
    let cases = [(50usize, false), (1000, false), (1000, true), (50, true)];
    let s = serve(move |n| Reply {
        status: 200,
        body: vec![b'x'; cases[n].0],
        chunked: cases[n].1,
        ..Default::default()
    })
    .await;
    let c = CappedConnector::new(100)
        .connect(&object_store::ClientOptions::new().with_allow_http(true))
        .unwrap();
    let put = || {
        http::Request::builder()
            .method(http::Method::PUT)
            .uri(s.url("/k").as_str())
            .body(object_store::client::HttpRequestBody::from(Bytes::new()))
            .unwrap()
    };
    // announced 50 <= 100: whole
    let r = c.execute(put()).await.unwrap();
    assert_eq!(r.into_body().bytes().await.unwrap().len(), 50);
    // announced 1000 > 100: refused before reading
    let e = c.execute(put()).await.unwrap_err();
    assert!(e.to_string().contains("exceeds 100 bytes"), "{e}");
    // chunked 1000: fails once past 100
    let r = c.execute(put()).await.unwrap();
    let e = r.into_body().bytes().await.unwrap_err();
    assert!(e.to_string().contains("exceeds 100 bytes"), "{e}");
    // chunked 50: whole
    let r = c.execute(put()).await.unwrap();
    assert_eq!(r.into_body().bytes().await.unwrap().len(), 50);
    assert_eq!(s.hits(), 4);
}
