//! Hostile input from the server side (issue 19, item 4) for the NCP Server API driver
//! (`ncloud-server://`): a scripted loopback server answers every call with an HTML error
//! page (as 200 and as 502), bad or cut-off JSON, an answer of the wrong shape or with
//! fields missing, a wrong `content-length` both ways, a 2 MiB header, a body that never ends
//! and a reply that is not HTTP. Every call ends with a typed error (never `Other`, never a
//! panic), no invented server, spec or image is returned, and an endless body is abandoned at
//! the HTTP layer's bound (64 MiB).

use gureum_core::url::ComputeOpener;
use gureum_core::{Compute, ResourceUrl};
use gureum_ncloud::server::NcloudServerComputeOpener;
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, ENDLESS};
use std::collections::BTreeMap;
const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn cases() -> Vec<(&'static str, Reply)> {
    let server = r#"{"serverInstanceNo": "1", "serverName": "w", "serverInstanceStatus": {"code": "RUN"}, "serverInstanceOperation": {"code": "NULL"}}"#;
    let list = format!(
        r#"{{"getServerInstanceListResponse": {{"returnCode": "0", "totalRows": 1, "serverInstanceList": [{server}]}}}}"#
    );
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("cut json", Reply::ok(200, JSON, list[..50].to_string())),
        (
            "wrong shape",
            Reply::ok(
                200,
                JSON,
                r#"{"getServerInstanceListResponse": {"returnCode": "0", "serverInstanceList": "none"}, "getServerInstanceDetailResponse": {"returnCode": "0", "serverInstanceList": 5}, "getServerSpecListResponse": {"returnCode": "0", "serverSpecList": {"a": 1}}, "getServerImageListResponse": {"returnCode": "0", "serverImageList": true}}"#,
            ),
        ),
        (
            "other document",
            Reply::ok(200, JSON, r#"{"hello": "world"}"#),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, list.clone(), list.len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, list.clone(), list.len() / 2),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, list.clone()),
        ),
        (
            "endless",
            Reply::endless(
                200,
                JSON,
                r#"{"getServerInstanceListResponse": {"returnCode": "0", "serverInstanceList": ["#,
                format!("{server},"),
                ENDLESS,
            ),
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

async fn ncp_on(reply: Reply) -> (Compute, gureum_testkit::scripted::Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let mut d = BTreeMap::new();
    d.insert("access_key".to_string(), "AK".to_string());
    d.insert("secret_key".to_string(), "SK".to_string());
    let url = ResourceUrl::parse(&format!(
        "ncloud-server://?region=KR&endpoint={base}&vpc_no=1&subnet_no=2&poll_ms=10&timeout_s=5&retries=2"
    ))
    .unwrap()
    .with_defaults(&d);
    (
        NcloudServerComputeOpener.open_compute(&url).await.unwrap(),
        sent,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ncp_server_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("ncloud-server", bounded(4, 64 << 20))
        .run(
            cases(),
            &["get", "list", "sizes", "images"],
            ncp_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                "sizes" => c.sizes().await.map(|v| format!("{v:?}")),
                _ => c.images().await.map(|v| format!("{v:?}")),
            },
        )
        .await
        .finish();
}
