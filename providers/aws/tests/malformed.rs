//! Hostile input from the server side (issue 19, item 4): S3 (ListObjectsV2, ListObjects V1,
//! GetObject, HeadObject) and SQS answered by a scripted loopback server with malformed XML
//! and JSON, wrong `content-length` (short and long), truncated and endless bodies, fields of
//! the wrong type or missing, and huge headers. Every call ends with a typed error (or, for
//! an answer that is well formed after all, a correct value): no panic, no corrupted object
//! reported as a success, and a body that never ends is abandoned after a bounded number of
//! bytes (`gureum_aws::body_cap`), not buffered to the end.

mod common;

use common::*;
use gureum_core::{Bucket, ErrorKind, ListOptions};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};
use std::time::Duration;

/// Most body bytes a bounded client may have accepted from an endless answer: the 32 MiB cap
/// per attempt (the SDK makes up to 3 attempts), plus what the loopback socket buffers hold.
const BOUNDED: u64 = bounded(3, 32 << 20);

async fn bucket_on(v1: bool, reply: Reply) -> (Bucket, Sent) {
    safe_env();
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let mut q = moto_quirks();
    if v1 {
        q = q.list_objects_v1(true);
    }
    let b = gureum_aws::open_s3(s3(&base, "garbled").quirks(q))
        .await
        .unwrap();
    (b, sent)
}

const XML: &str = "content-type: application/xml\r\n";

fn listing_cases() -> Vec<(&'static str, Reply)> {
    let head = r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>malformed</Name><IsTruncated>false</IsTruncated>"#;
    vec![
        ("not xml", Reply::ok(200, XML, "{\"json\": true}")),
        ("cut xml", Reply::ok(200, XML, format!("{head}<Contents><Key>a</Ke"))),
        (
            "wrong type",
            Reply::ok(
                200,
                XML,
                format!("{head}<Contents><Key>a</Key><Size>many</Size><LastModified>yesterday</LastModified></Contents></ListBucketResult>"),
            ),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, XML, format!("{head}<Contents><Key>a</Key>"), 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(
                200,
                XML,
                format!("{head}<Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>"),
                head.len() + 10,
            ),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, format!("{head}</ListBucketResult>"))),
        (
            "endless",
            Reply::endless(
                200,
                XML,
                head,
                "<Contents><Key>k</Key><Size>1</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>",
                ENDLESS,
            ),
        ),
    ]
}

async fn listings(v1: bool, endless: bool) {
    let cases: Vec<_> = listing_cases()
        .into_iter()
        .filter(|(c, _)| (*c == "endless") == endless)
        .collect();
    let name = match (v1, endless) {
        (false, false) => "s3-list-v2",
        (true, false) => "s3-list-v1",
        (false, true) => "s3-list-v2-endless",
        (true, true) => "s3-list-v1-endless",
    };
    // The delimiter listing (level pager) takes the same path as `list_all`.
    Malformed::new(name, BOUNDED)
        .run(
            cases,
            &["list_all", "list_page"],
            async |reply| bucket_on(v1, reply).await,
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
async fn s3_list_v2_malformed_answers_are_typed_errors() {
    listings(false, false).await;
}

/// A listing (and the conditional-write probe's bulk delete before it) answered with a body
/// that never ends: the listing fails and the client stops reading after the cap
/// (`gureum_aws::body_cap` for the SDK, `gureum_core::http::CappedConnector` for
/// object_store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_list_endless_body_is_abandoned_after_the_cap() {
    listings(false, true).await;
    listings(true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_list_v1_malformed_answers_are_typed_errors() {
    listings(true, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_get_never_returns_a_corrupted_object() {
    let body = b"0123456789abcdef".to_vec();
    let ok = "etag: \"e\"\r\nlast-modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n";
    let cases: Vec<(&str, Reply)> = vec![
        (
            "long content-length",
            Reply::wrong_length(200, ok, body.clone(), 1000),
        ),
        (
            "bad last-modified",
            Reply::ok(200, "etag: \"e\"\r\nlast-modified: soon\r\n", body.clone()),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, body.clone()),
        ),
        (
            "garbage status",
            Reply::Raw {
                head: "HTTP/1.1 2xx what\r\n".into(),
                body: body.clone(),
            },
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
        (
            "error xml cut",
            Reply::ok(500, XML, "<?xml version=\"1.0\"?><Error><Code>Internal"),
        ),
    ];
    // object_store reads GetObject: its header errors (`Generic`) stay `Other`.
    let mut m = Malformed::new("s3-get-delete", BOUNDED)
        .any_kind()
        .run(
            cases,
            &["get"],
            async |reply| bucket_on(false, reply).await,
            async |b: &Bucket, _: &str| b.get("k").await,
        )
        .await;
    // A short content-length: the client takes exactly the announced bytes (what the
    // server says the object is), never the bytes after them.
    let (b, _) = bucket_on(false, Reply::wrong_length(200, ok, body.clone(), 4)).await;
    match b.get("k").await {
        Ok(v) => {
            assert_eq!(v, body[..4].to_vec(), "short content-length");
            m.tally().checked_success();
        }
        Err(e) => {
            assert_ne!(e.kind(), ErrorKind::Other, "short content-length: {e}");
            m.tally().error(e.kind());
        }
    }
    // A body that never ends: on a GET without content-length, a multi-object delete.
    let endless = || {
        Reply::endless(
            200,
            XML,
            "<?xml version=\"1.0\"?><DeleteResult>",
            "<Deleted><Key>k</Key></Deleted>",
            ENDLESS,
        )
    };
    let (b, sent) = bucket_on(false, endless()).await;
    m.call("endless get", &sent, b.get("k")).await;
    let (b, sent) = bucket_on(false, endless()).await;
    let r = tokio::time::timeout(
        Duration::from_secs(120),
        b.delete_many(&["a".to_string(), "b".to_string()]),
    )
    .await
    .expect("delete_many ended");
    match r {
        Err(e) => {
            assert_ne!(e.kind(), ErrorKind::Other, "endless delete_many: {e}");
            m.tally().error(e.kind());
        }
        Ok(v) => {
            assert!(
                v.iter().all(|r| r.is_err()),
                "endless delete_many: reported deleted: {v:?}"
            );
            m.tally().checked_success();
        }
    }
    m.check_bound("endless delete_many", &sent);
    m.finish();
}

/// The conditional-write probe (`.gureum-probe/conditional-<uuid>`) runs on a custom
/// endpoint whose conditional writes are not configured, and never when they are
/// (`conditional_put` set explicitly, in code or in the URL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_probe_runs_only_when_not_configured() {
    safe_env();
    let answer = || Reply::ok(200, "etag: \"e\"\r\n", "");
    for (quirks, probes) in [
        (gureum_aws::S3Quirks::default(), true),
        (gureum_aws::S3Quirks::default().conditional_put(true), false),
        (
            gureum_aws::S3Quirks::default().conditional_put(false),
            false,
        ),
    ] {
        let (base, seen, _) = serve_raw(move |_, _| answer()).await;
        let b = gureum_aws::open_s3(s3(&base, "probe").quirks(quirks.clone()))
            .await
            .unwrap();
        let _ = b.put("x", b"1".to_vec()).await;
        let heads = seen.lock().unwrap().clone();
        let probed = heads
            .iter()
            .any(|h| h.contains(".gureum-probe/conditional-"));
        assert_eq!(probed, probes, "{quirks:?}: {heads:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_malformed_answers_are_typed_errors() {
    safe_env();
    let json = "content-type: application/x-amz-json-1.0\r\n";
    let cases: Vec<(&str, Reply)> = vec![
        ("not json", Reply::ok(200, json, "<xml/>")),
        (
            "cut json",
            Reply::ok(200, json, "{\"Messages\": [{\"Body\": \"x"),
        ),
        (
            "wrong type",
            Reply::ok(
                200,
                json,
                "{\"Messages\": [{\"Body\": 5, \"ReceiptHandle\": [1]}]}",
            ),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, json, "{\"Messages\": [", 4096),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, "{}")),
        (
            "endless",
            Reply::endless(
                200,
                json,
                "{\"Messages\": [",
                "{\"Body\": \"x\", \"ReceiptHandle\": \"r\", \"MessageId\": \"m\"},",
                ENDLESS,
            ),
        ),
    ];
    Malformed::new("sqs-receive", BOUNDED)
        .run(
            cases,
            &["open+receive"],
            async |reply: Reply| {
                let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
                (base, sent)
            },
            async |base: &String, _: &str| {
                let mut c = sqs(base, "garbled");
                c.queue_url = Some(format!("{base}/000000000000/garbled"));
                let q = gureum_aws::open_sqs(c).await?;
                q.receive(10).await.map(|v| v.len())
            },
        )
        .await
        .finish();
}
