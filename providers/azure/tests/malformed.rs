//! Hostile input from the server side (issue 19, item 4): Azure Blob (List Blobs, Get Blob)
//! and Queue Storage (Get Messages) answered by a scripted loopback server with malformed
//! XML, wrong `content-length` (short and long), truncated and endless bodies, fields of the
//! wrong type or missing, and huge headers. Every call ends with a typed error (never
//! `Other`, never a panic), no corrupted object or message is reported as a success, and an
//! endless body is abandoned after the bound (`max_response_bytes` of the HTTP layer,
//! `gureum_core::http::CappedConnector` for object_store).

use gureum_core::{Error, ErrorKind, ListOptions, Registry};
use gureum_testkit::scripted::{serve_raw, Reply, Tally};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

const ENDLESS: u64 = 1 << 30;
/// Retries × the 64 MiB body bound, plus socket buffers.
const BOUNDED: u64 = 4 * (64 << 20) + (32 << 20);
const XML: &str = "content-type: application/xml\r\n";

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

/// A connection string whose endpoints are the scripted server.
fn cs(base: &str) -> String {
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5a2V5a2V5a2V5;BlobEndpoint={base}/acct;QueueEndpoint={base}/acct"
    );
    url::form_urlencoded::byte_serialize(cs.as_bytes()).collect()
}

fn typed(case: &str, e: &Error) -> ErrorKind {
    assert_ne!(e.kind(), ErrorKind::Other, "{case}: untyped error: {e}");
    e.kind()
}

async fn ends<T>(case: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{case}: did not end"))
}

fn list_cases() -> Vec<(&'static str, Reply)> {
    let head = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Blobs>"#;
    let blob = |props: &str| format!("<Blob><Name>a</Name><Properties>{props}</Properties></Blob>");
    let good = "<Last-Modified>Thu, 01 Jan 2026 00:00:00 GMT</Last-Modified><Content-Length>1</Content-Length><Etag>0x1</Etag>";
    vec![
        ("not xml", Reply::ok(200, XML, "{\"json\": true}")),
        ("cut xml", Reply::ok(200, XML, format!("{head}<Blob><Name>a</Na"))),
        (
            "wrong type",
            Reply::ok(200, XML, format!("{head}{}</Blobs><NextMarker/></EnumerationResults>", blob("<Last-Modified>Thu, 01 Jan 2026 00:00:00 GMT</Last-Modified><Content-Length>many</Content-Length>"))),
        ),
        (
            "missing field",
            Reply::ok(200, XML, format!("{head}{}</Blobs><NextMarker/></EnumerationResults>", blob("<Content-Length>1</Content-Length>"))),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, XML, format!("{head}{}", blob(good)), 8192),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, format!("{head}</Blobs></EnumerationResults>"))),
        (
            "endless",
            Reply::endless(200, XML, head, blob(good), ENDLESS),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_listing_malformed_answers_are_typed_errors_with_bounded_memory() {
    let mut tally = Tally::new("azure-blob-list");
    for (case, reply) in list_cases() {
        for delimiter in [false, true] {
            let reply = reply.clone();
            let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
            let b = registry()
                .open_bucket(Some(&format!(
                    "azblob://cont?connection_string={}&retries=2",
                    cs(&base)
                )))
                .await
                .unwrap();
            let r = if delimiter {
                ends(
                    case,
                    b.list_page(&ListOptions {
                        delimiter: true,
                        ..Default::default()
                    }),
                )
                .await
                .map(|p| format!("{p:?}"))
            } else {
                ends(case, b.list_all(None)).await.map(|v| format!("{v:?}"))
            };
            match r {
                Err(e) => tally.error(typed(case, &e)),
                Ok(v) => panic!("{case}: a malformed listing was a success: {v}"),
            }
            let s = sent.load(Ordering::Relaxed);
            assert!(
                s < BOUNDED,
                "{case}: the client read {s} bytes of an endless body"
            );
        }
    }
    tally.print();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_get_never_returns_a_corrupted_object() {
    let mut tally = Tally::new("azure-blob-get");
    let body = b"0123456789abcdef".to_vec();
    let h = "etag: \"0x1\"\r\nlast-modified: Thu, 01 Jan 2026 00:00:00 GMT\r\nx-ms-blob-type: BlockBlob\r\n";
    let cases: Vec<(&str, Reply)> = vec![
        (
            "long content-length",
            Reply::wrong_length(200, h, body.clone(), 1000),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, body.clone()),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
        ("endless", Reply::endless(200, h, "", "x", ENDLESS)),
        (
            "error xml cut",
            Reply::ok(500, XML, "<?xml version=\"1.0\"?><Error><Code>Internal"),
        ),
    ];
    for (case, reply) in cases {
        let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
        let b = registry()
            .open_bucket(Some(&format!(
                "azblob://cont?connection_string={}",
                cs(&base)
            )))
            .await
            .unwrap();
        match ends(case, b.get("k")).await {
            // object_store reads Get Blob: its header errors (`Generic`) may stay `Other`.
            Err(e) => tally.error(e.kind()),
            Ok(v) => panic!("{case}: a malformed answer was a success: {v:?}"),
        }
        let s = sent.load(Ordering::Relaxed);
        assert!(
            s < BOUNDED,
            "{case}: the client read {s} bytes of an endless body"
        );
    }
    tally.print();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_malformed_answers_are_typed_errors_with_bounded_memory() {
    let mut tally = Tally::new("azure-queue-receive");
    let head = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList>";
    let cases: Vec<(&str, Reply)> = vec![
        ("not xml", Reply::ok(200, XML, "{\"json\": true}")),
        ("cut xml", Reply::ok(200, XML, format!("{head}<QueueMessage><MessageId>m"))),
        (
            "missing receipt",
            Reply::ok(200, XML, format!("{head}<QueueMessage><MessageId>m</MessageId><MessageText>eA==</MessageText><DequeueCount>1</DequeueCount></QueueMessage></QueueMessagesList>")),
        ),
        (
            "wrong type",
            Reply::ok(200, XML, format!("{head}<QueueMessage><MessageId>m</MessageId><PopReceipt>r</PopReceipt><DequeueCount>often</DequeueCount><MessageText>eA==</MessageText><TimeNextVisible>never</TimeNextVisible></QueueMessage></QueueMessagesList>")),
        ),
        ("long content-length", Reply::wrong_length(200, XML, head, 4096)),
        ("huge header", Reply::huge_header(200, 2 << 20, format!("{head}</QueueMessagesList>"))),
        (
            "endless",
            Reply::endless(200, XML, head, "<QueueMessage><MessageId>m</MessageId><PopReceipt>r</PopReceipt><MessageText>eA==</MessageText><DequeueCount>1</DequeueCount></QueueMessage>", ENDLESS),
        ),
    ];
    for (case, reply) in cases {
        let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
        let q = registry()
            .open_queue(Some(&format!(
                "azqueue://queue1?connection_string={}&retries=2",
                cs(&base)
            )))
            .await;
        let q = q.unwrap();
        match ends(case, q.receive(10)).await {
            Err(e) => tally.error(typed(case, &e)),
            Ok(v) => panic!(
                "{case}: a malformed answer was a success: {} messages",
                v.len()
            ),
        }
        let s = sent.load(Ordering::Relaxed);
        assert!(
            s < BOUNDED,
            "{case}: the client read {s} bytes of an endless body"
        );
    }
    tally.print();
}
