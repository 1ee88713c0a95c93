//! Test helpers: a reverse proxy that behaves like a server without ListObjectsV2, and the
//! S3 emulator endpoints (moto, Swift s3api) from the environment.
#![allow(dead_code)]

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
    pub endpoint: String,
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
    pub async fn start(upstream: &str) -> V1OnlyProxy {
        let u = url::Url::parse(upstream).expect("upstream URL");
        let host = u.host_str().expect("upstream host").to_string();
        assert!(
            gureum_core::transport::is_loopback_host(&host),
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

/// One S3 emulator: endpoint and keys.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: &'static str,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

fn require(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("{var} not set and GUREUM_REQUIRE_EMULATORS=1");
            }
            eprintln!("skipping: {var} not set");
            None
        }
    }
}

/// moto (AWS_ENDPOINT_URL); any key works.
pub fn moto() -> Option<Upstream> {
    let e = require("AWS_ENDPOINT_URL")?;
    Some(Upstream {
        name: "moto",
        endpoint: e,
        access_key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into()),
        secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into()),
    })
}

/// Swift s3api (SWIFT_S3_ENDPOINT / SWIFT_S3_ACCESS_KEY / SWIFT_S3_SECRET_KEY).
pub fn swift() -> Option<Upstream> {
    let e = require("SWIFT_S3_ENDPOINT")?;
    Some(Upstream {
        name: "swift-s3api",
        endpoint: e,
        access_key: std::env::var("SWIFT_S3_ACCESS_KEY").unwrap_or_else(|_| "test:tester".into()),
        secret_key: std::env::var("SWIFT_S3_SECRET_KEY").unwrap_or_else(|_| "testing".into()),
    })
}

/// A unique lowercase bucket name.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// `ncloud://bucket` through `proxy`, keys layered as profile parameters (not in the URL).
pub fn ncloud_url(bucket: &str, proxy: &V1OnlyProxy, up: &Upstream) -> gureum_core::ResourceUrl {
    let mut d = BTreeMap::new();
    d.insert("access_key".to_string(), up.access_key.clone());
    d.insert("secret_key".to_string(), up.secret_key.clone());
    gureum_core::ResourceUrl::parse(&format!(
        "ncloud://{bucket}?region=kr&endpoint={}&signing_region=us-east-1",
        proxy.endpoint
    ))
    .unwrap()
    .with_defaults(&d)
}

/// Open a fresh bucket through a new proxy in front of `up`.
pub async fn fresh(up: &Upstream, prefix: &str) -> (V1OnlyProxy, gureum_core::Bucket) {
    let proxy = V1OnlyProxy::start(&up.endpoint).await;
    let name = unique(prefix);
    let mut cfg = gureum_ncloud::storage::config_from_url(&ncloud_url(&name, &proxy, up)).unwrap();
    // The test servers' own metadata limits (not Naver's): moto's server (werkzeug) drops
    // request headers whose name contains `_`; Swift's s3api renames them on multipart
    // completion and stores values of at most 256 bytes. Refuse instead of losing data.
    cfg.quirks = if up.name == "moto" {
        cfg.quirks
            .metadata_underscore(false)
            .metadata_underscore_multipart(false)
    } else {
        cfg.quirks
            .metadata_underscore_multipart(false)
            .max_metadata_value_bytes(Some(256))
    };
    let bucket = gureum_aws::open_s3(cfg).await.unwrap();
    bucket.admin().unwrap().create_bucket(&name).await.unwrap();
    (proxy, bucket)
}
