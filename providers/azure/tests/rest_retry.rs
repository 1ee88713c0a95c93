//! Regression: the Storage REST client (container admin, queues) retries throttling (429,
//! 503 `ServerBusy`) through the shared HTTP layer, re-signing each attempt; `POST` (Put
//! Message) is sent once; 409 maps to `AlreadyExists`; request ids are kept.

use gureum_azure::auth::{AccountKey, Credential};
use gureum_azure::rest::StorageRest;
use gureum_core::http::HttpConfig;
use gureum_core::ErrorKind;
use http::{HeaderMap, Method};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback HTTP/1.1 server answering request `n` with `script(n)` = (status, extra
/// header lines, body), one request per connection; returns its base URL and the request
/// heads it saw.
async fn serve(
    script: fn(usize) -> (u16, &'static str, &'static str),
) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            s2.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).to_string());
            let (status, headers, body) = script(n);
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

fn client() -> StorageRest {
    let key = AccountKey::from_base64("a2V5a2V5a2V5a2V5").unwrap();
    StorageRest::with_config(
        "acct",
        Credential::SharedKey(key),
        HttpConfig::default()
            .retries(3)
            .backoff(Duration::from_millis(1), Duration::from_millis(5)),
    )
    .unwrap()
}

const BUSY: &str = "<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>";

#[tokio::test]
async fn storage_rest_retries_503_and_429_and_resigns() {
    let (base, seen) = serve(|n| match n {
        0 => (503, "x-ms-error-code: ServerBusy\r\n", BUSY),
        1 => (429, "retry-after: 0\r\n", ""),
        _ => (
            200,
            "",
            "<EnumerationResults><Queues><Queue><Name>q1</Name></Queue></Queues></EnumerationResults>",
        ),
    })
    .await;
    let u = url::Url::parse(&format!("{base}/acct/?comp=list")).unwrap();
    let r = client()
        .send("list queues", Method::GET, u, HeaderMap::new(), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    for h in &heads {
        let h = h.to_ascii_lowercase();
        assert!(h.contains("authorization: sharedkey acct:"), "{h}");
        assert!(h.contains("x-ms-date:"), "{h}");
    }
}

#[tokio::test]
async fn put_message_post_is_not_retried() {
    let (base, seen) = serve(|_| (503, "x-ms-request-id: rid-1\r\n", BUSY)).await;
    let u = url::Url::parse(&format!("{base}/acct/q1/messages")).unwrap();
    let e = client()
        .send(
            "put message to queue q1",
            Method::POST,
            u,
            HeaderMap::new(),
            Some("<QueueMessage><MessageText>x</MessageText></QueueMessage>".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.provider_code(), Some("ServerBusy"));
    assert_eq!(e.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn conflict_without_code_is_already_exists() {
    let (base, _) = serve(|_| (409, "", "")).await;
    let u = url::Url::parse(&format!("{base}/acct/c1?restype=container")).unwrap();
    let e = client()
        .send(
            "create container c1",
            Method::PUT,
            u,
            HeaderMap::new(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn url_params_reach_the_rest_and_object_store_clients() {
    let u =
        gureum_core::ResourceUrl::parse("azblob://c?emulator=true&retries=1&timeout=5s").unwrap();
    let c = gureum_azure::config::AccountConfig::from_url(&u).unwrap();
    assert_eq!(c.http.retry.max_retries, 1);
    assert_eq!(c.http.request_timeout, Duration::from_secs(5));
    c.object_store_builder("c").unwrap().build().unwrap();
    let bad = gureum_core::ResourceUrl::parse("azblob://c?emulator=true&deadline=soon").unwrap();
    let e = gureum_azure::config::AccountConfig::from_url(&bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}
