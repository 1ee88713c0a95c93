//! Hostile input from the server side (issue 19, item 4): Azure Blob (List Blobs, Get Blob)
//! and Queue Storage (Get Messages) answered by a scripted loopback server with malformed
//! XML, wrong `content-length` (short and long), truncated and endless bodies, fields of the
//! wrong type or missing, and huge headers. Every call ends with a typed error (never
//! `Other`, never a panic), no corrupted object or message is reported as a success, and an
//! endless body is abandoned after the bound (`max_response_bytes` of the HTTP layer,
//! `gureum_core::http::CappedConnector` for object_store).

use gureum_core::{Bucket, ListOptions, Queue, Registry};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};

/// Retries × the 64 MiB body bound of the HTTP layer.
const BOUNDED: u64 = bounded(4, 64 << 20);
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

/// A bucket `cont` on a scripted server answering every call with `reply`.
async fn bucket_on(reply: Reply, params: &str) -> (Bucket, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let b = registry()
        .open_bucket(Some(&format!(
            "azblob://cont?connection_string={}{params}",
            cs(&base)
        )))
        .await
        .unwrap();
    (b, sent)
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
    Malformed::new("azure-blob-list", BOUNDED)
        .run(
            list_cases(),
            &["list_all", "list_page"],
            async |reply| bucket_on(reply, "&retries=2").await,
            async |b: &Bucket, op: &str| {
                if op == "list_page" {
                    b.list_page(&ListOptions {
                        delimiter: true,
                        ..Default::default()
                    })
                    .await
                    .map(|p| format!("{p:?}"))
                } else {
                    b.list_all(None).await.map(|v| format!("{v:?}"))
                }
            },
        )
        .await
        .finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_get_never_returns_a_corrupted_object() {
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
    // object_store reads Get Blob: its header errors (`Generic`) may stay `Other`.
    Malformed::new("azure-blob-get", BOUNDED)
        .any_kind()
        .run(
            cases,
            &["get"],
            async |reply| bucket_on(reply, "").await,
            async |b: &Bucket, _: &str| b.get("k").await,
        )
        .await
        .finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_malformed_answers_are_typed_errors_with_bounded_memory() {
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
    Malformed::new("azure-queue-receive", BOUNDED)
        .run(
            cases,
            &["receive"],
            async |reply: Reply| {
                let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
                let q = registry()
                    .open_queue(Some(&format!(
                        "azqueue://queue1?connection_string={}&retries=2",
                        cs(&base)
                    )))
                    .await
                    .unwrap();
                (q, sent)
            },
            async |q: &Queue, _: &str| q.receive(10).await.map(|v| v.len()),
        )
        .await
        .finish();
}
