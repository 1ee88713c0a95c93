//! Hostile input from the server side (issue 19, item 4) for the Kakao Cloud compute driver
//! (`kakao-compute://`, BCS): a scripted loopback server gives a correct Keystone v3 token
//! (Kakao IAM) and answers every BCS call with an HTML error page (as 200 and as 502), bad or
//! cut-off JSON, fields of the wrong type or missing, a wrong `content-length` both ways, a
//! 2 MiB header, a body that never ends and a reply that is not HTTP. Every call ends with a
//! typed error (never `Other`, never a panic), no invented instance, flavor or image is
//! returned, and an endless body is abandoned at the HTTP layer's bound (64 MiB; it used to be
//! read to the end).

use gureum_core::{Compute, Registry};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};

const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn cases() -> Vec<(&'static str, Reply)> {
    let inst = r#"{"id": "i-1", "name": "w", "status": "active", "flavor": {"id": "f1"}}"#;
    let full = format!(
        r#"{{"instance": {inst}, "instances": [{inst}], "total": 1, "flavors": [{{"id": "f1", "name": "t1i.small", "vcpus": 2, "memory_mb": 4096}}], "images": [{{"id": "im-1", "name": "ubuntu-22.04", "status": "active"}}]}}"#
    );
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("cut json", Reply::ok(200, JSON, full[..60].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"{"instance": "i-1", "instances": {"id": "i-1"}, "flavors": [{"id": "f1", "vcpus": "two", "memory_mb": 4096}], "images": "none"}"#,
            ),
        ),
        (
            "missing fields",
            Reply::ok(
                200,
                JSON,
                r#"{"instance": {"name": "w"}, "instances": [{"name": "w"}], "flavors": [{"id": "f1"}], "images": [{"name": "x"}]}"#,
            ),
        ),
        ("empty object", Reply::ok(200, JSON, "{}")),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() / 2),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, full.clone()),
        ),
        (
            "endless",
            Reply::endless(200, JSON, r#"{"instances": ["#, format!("{inst},"), ENDLESS),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ]
}

/// Kakao IAM (Keystone v3) + BCS on one scripted server: tokens are right, every BCS call is
/// answered with `reply`.
async fn kakao_on(reply: Reply) -> (Compute, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, head| {
        if head.lines().next().unwrap_or("").contains("/auth/tokens") {
            Reply::ok(
                201,
                &format!("x-subject-token: tk\r\n{JSON}"),
                r#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p1"}, "catalog": []}}"#,
            )
        } else {
            reply.clone()
        }
    })
    .await;
    let mut r = Registry::new();
    gureum_openstack::register(&mut r);
    let c = r
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-central-2&auth_url={base}/identity/v3&bcs_url={base}/api/v1&application_credential_id=ak&application_credential_secret=sk&retries=2"
        )))
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kakao_compute_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("kakao-compute", bounded(3, 64 << 20))
        .run(
            cases(),
            &["get", "list", "sizes", "images"],
            kakao_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("i-1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                "sizes" => c.sizes().await.map(|v| format!("{v:?}")),
                _ => c.images().await.map(|v| format!("{v:?}")),
            },
        )
        .await
        .finish();
}
