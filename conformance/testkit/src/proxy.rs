//! Loopback test proxies.
//!
//! [`V1OnlyProxy`] stands in front of an S3 emulator (moto, Swift s3api) and behaves like an
//! S3-compatible server without `ListObjectsV2` (as NCP Object Storage's older gateways and
//! several on-premises stores do), so the ListObjects V1 code path is tested against a real
//! S3 implementation.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the proxy saw.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests forwarded upstream.
    pub forwarded: AtomicU64,
    /// ListObjectsV2 requests refused.
    pub v2_refused: AtomicU64,
    /// ListObjects V1 requests forwarded.
    pub v1_lists: AtomicU64,
    /// V1 requests that carried a marker (pagination).
    pub v1_marker_lists: AtomicU64,
}

/// A reverse proxy on 127.0.0.1:0 that refuses `list-type=2` with 501 NotImplemented and
/// forwards every other request unchanged (same Host header, so SigV4 still verifies).
pub struct V1OnlyProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub endpoint: String,
    /// What the proxy saw.
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for V1OnlyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

fn full(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|n| match n {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    r
}

async fn forward(
    upstream: String,
    c: Arc<Counters>,
    req: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if query.get("list-type").map(String::as_str) == Some("2") {
        c.v2_refused.fetch_add(1, Ordering::Relaxed);
        return Ok(full(
            StatusCode::NOT_IMPLEMENTED,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NotImplemented</Code>\
             <Message>ListObjectsV2 is not supported.</Message></Error>",
        ));
    }
    let segments = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    let is_list = req.method() == hyper::Method::GET
        && segments == 1
        && ![
            "uploads",
            "location",
            "versioning",
            "acl",
            "tagging",
            "policy",
            "cors",
            "lifecycle",
        ]
        .iter()
        .any(|k| query.contains_key(*k));
    if is_list {
        c.v1_lists.fetch_add(1, Ordering::Relaxed);
        if query.contains_key("marker") {
            c.v1_marker_lists.fetch_add(1, Ordering::Relaxed);
        }
    }
    c.forwarded.fetch_add(1, Ordering::Relaxed);
    let stream = match tokio::net::TcpStream::connect(&upstream).await {
        Ok(s) => s,
        Err(_) => return Ok(full(StatusCode::BAD_GATEWAY, "upstream unreachable")),
    };
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await?;
    Ok(resp.map(|b| b.boxed()))
}

impl V1OnlyProxy {
    /// Start in front of `upstream` (an `http://host:port` URL).
    ///
    /// # Panics
    /// When `upstream` is not a loopback URL or no local port can be bound.
    pub async fn start(upstream: &str) -> V1OnlyProxy {
        let u = url::Url::parse(upstream).expect("upstream URL");
        let host = u.host_str().expect("upstream host").to_string();
        assert!(
            crate::env::is_loopback_host(&host),
            "tests talk to loopback only"
        );
        let target = format!("{host}:{}", u.port_or_known_default().unwrap_or(80));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let c2 = counters.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (t, c) = (target.clone(), c2.clone());
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req| forward(t.clone(), c.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        V1OnlyProxy {
            endpoint,
            counters,
            task,
        }
    }
}
