//! Hostile input from the server side (issue 19, item 4) for the Nova compute driver: a
//! scripted loopback server gives a correct Keystone v3 token (its catalog pointing compute at
//! itself) and answers every compute call with an HTML error page (as 200 and as 502), bad or
//! cut-off JSON, fields of the wrong type or missing, a wrong `content-length` both ways, a
//! 2 MiB header, a body that never ends and a reply that is not HTTP. Every call ends with a
//! typed error (never `Other`, never a panic), no invented server, flavor or image is
//! returned, and an endless body is abandoned at the HTTP layer's bound (64 MiB).

use gureum_core::{Compute, ResourceUrl};
use gureum_testkit::scripted::{bounded, host_of, serve_raw, Malformed, Reply, ENDLESS};
const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn cases() -> Vec<(&'static str, Reply)> {
    let server =
        r#"{"id": "s-1", "name": "w", "status": "ACTIVE", "flavor": {"id": "f1"}, "metadata": {}}"#;
    let full = format!(
        r#"{{"server": {server}, "servers": [{server}], "flavors": [{{"id": "f1", "vcpus": 2, "ram": 4096}}], "images": [{{"id": "im-1", "name": "ubuntu-22.04", "status": "active"}}]}}"#
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
                r#"{"server": "s-1", "servers": {"id": "s-1"}, "flavors": [{"id": "f1", "vcpus": "two", "ram": 4096}], "images": "none"}"#,
            ),
        ),
        (
            "missing fields",
            Reply::ok(
                200,
                JSON,
                r#"{"server": {"name": "w"}, "servers": [{"name": "w"}], "flavors": [{"id": "f1"}], "images": [{"name": "x"}]}"#,
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
            Reply::endless(200, JSON, r#"{"servers": ["#, format!("{server},"), ENDLESS),
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

/// A Keystone v3 + Nova endpoint on one scripted server: tokens are right, every compute
/// call is answered with `reply`.
async fn nova_on(reply: Reply) -> (Compute, gureum_testkit::scripted::Sent) {
    let (base, _seen, sent) = serve_raw(move |_, head| {
        let line = head.lines().next().unwrap_or("");
        if line.contains("/v3/auth/tokens") {
            let port = host_of(head);
            let body = format!(
                r#"{{"token": {{"expires_at": "2099-01-01T00:00:00Z", "project": {{"id": "p1"}}, "catalog": [{{"type": "compute", "name": "nova", "endpoints": [{{"interface": "public", "region_id": "R1", "url": "http://{port}/v2.1"}}]}}]}}}}"#
            );
            Reply::ok(201, &format!("x-subject-token: tk\r\n{JSON}"), body)
        } else {
            reply.clone()
        }
    })
    .await;
    let url = format!(
        "nova://?auth_url={base}/v3&username=u&password=p&user_domain_name=Default&project_name=p&project_domain_name=Default&region=R1&allow_http=true&retries=2"
    );
    let c = gureum_openstack::open_nova(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("nova", bounded(3, 64 << 20))
        .run(
            cases(),
            &["get", "list", "sizes", "images"],
            nova_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("s-1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                "sizes" => c.sizes().await.map(|v| format!("{v:?}")),
                _ => c.images().await.map(|v| format!("{v:?}")),
            },
        )
        .await
        .finish();
}
