//! Regression: the Storage REST client (container admin, queues) retries throttling (429,
//! 503 `ServerBusy`) through the shared HTTP layer, re-signing each attempt; `POST` (Put
//! Message) is sent once; 409 maps to `AlreadyExists`; request ids are kept.

use gureum_azure::auth::{AccountKey, Credential};
use gureum_azure::rest::StorageRest;
use gureum_core::http::HttpConfig;
use gureum_core::ErrorKind;
use http::{HeaderMap, Method};
use std::time::Duration;

/// The shared scripted loopback server (`gureum_testkit::scripted`), answering request `n`
/// with `script(n)` = (status, extra header lines, body).
async fn serve(
    script: fn(usize) -> (u16, &'static str, &'static str),
) -> (String, gureum_testkit::scripted::Seen) {
    gureum_testkit::scripted::serve(move |n, _| {
        let (status, headers, body) = script(n);
        (status, headers.to_string(), body.to_string())
    })
    .await
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
