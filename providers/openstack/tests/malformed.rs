//! Hostile input from the server side (issue 19, item 4): Swift (container listing, object
//! GET) behind tempauth and Keystone v3 (token answers) answered by a scripted loopback
//! server with malformed JSON, wrong `content-length` (short and long), truncated and endless
//! bodies, fields of the wrong type or missing, and huge headers. Every call ends with a
//! typed error (never `Other`, never a panic), no corrupted object is reported as a success,
//! and an endless body is abandoned after the HTTP layer's bound (`max_response_bytes`).

use gureum_core::{Bucket, ErrorKind, ListOptions, ResourceUrl};
use gureum_testkit::scripted::{bounded, host_of, serve_raw, Malformed, Reply, Sent, ENDLESS};
use std::future::Future;
use std::time::Duration;

/// Retries × the 64 MiB body bound of the HTTP layer.
const BOUNDED: u64 = bounded(4, 64 << 20);
const JSON: &str = "content-type: application/json\r\n";

async fn ends<T>(case: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{case}: did not end"))
}

/// A tempauth Swift whose auth and `/info` answers are right and every other answer is
/// `reply`.
async fn swift_on(reply: Reply) -> (Bucket, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, head| {
        let line = head.lines().next().unwrap_or("");
        if line.contains("/auth/v1.0") {
            let port = host_of(head);
            Reply::ok(
                200,
                &format!("x-auth-token: tk\r\nx-storage-url: http://{port}/v1/AUTH_t\r\n"),
                "",
            )
        } else if line.contains(" /info") {
            Reply::ok(
                200,
                JSON,
                r#"{"swift": {"container_listing_limit": 10000}}"#,
            )
        } else {
            reply.clone()
        }
    })
    .await;
    let url = format!(
        "swift://cont?auth_url={base}/auth/v1.0&user=t:u&key=k&storage_url={base}/v1/AUTH_t&allow_http=true&retries=2"
    );
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    (b, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_listing_malformed_answers_are_typed_errors_with_bounded_memory() {
    let obj = r#"{"name": "a", "bytes": 1, "hash": "0cc175b9c0f1b6a831c399e269772661", "last_modified": "2026-01-01T00:00:00.000000", "content_type": "text/plain"}"#;
    let cases: Vec<(&str, Reply)> = vec![
        ("not json", Reply::ok(200, JSON, "<xml/>")),
        ("cut json", Reply::ok(200, JSON, r#"[{"name": "a", "by"#)),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"[{"name": "a", "bytes": "many", "last_modified": 5}]"#,
            ),
        ),
        (
            "missing name",
            Reply::ok(
                200,
                JSON,
                r#"[{"bytes": 1, "last_modified": "2026-01-01T00:00:00.000000"}]"#,
            ),
        ),
        ("not a list", Reply::ok(200, JSON, r#"{"name": "a"}"#)),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, format!("[{obj}"), 8192),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, "[]")),
        (
            "endless",
            Reply::endless(200, JSON, "[", format!("{obj},"), ENDLESS),
        ),
    ];
    Malformed::new("swift-list", BOUNDED)
        .run(
            cases,
            &["list_all", "list_page"],
            swift_on,
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
async fn swift_get_never_returns_a_corrupted_object() {
    let body = b"0123456789abcdef".to_vec();
    let h = "etag: 4b6bc5b5bb6dc4bd39a6d4d0c6f8d2b1\r\nlast-modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n";
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
            "error body cut",
            Reply::wrong_length(500, JSON, "{\"error\": ", 100),
        ),
    ];
    // object_store-shaped errors of the GET path may stay `Other`.
    Malformed::new("swift-get", BOUNDED)
        .any_kind()
        .run(cases, &["get"], swift_on, async |b: &Bucket, _: &str| {
            b.get("k").await
        })
        .await
        .finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_malformed_token_answers_are_typed_errors() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "no token header",
            Reply::ok(
                201,
                JSON,
                r#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "catalog": []}}"#,
            ),
        ),
        (
            "not json",
            Reply::ok(201, &format!("x-subject-token: tk\r\n{JSON}"), "<xml/>"),
        ),
        (
            "cut json",
            Reply::ok(
                201,
                &format!("x-subject-token: tk\r\n{JSON}"),
                r#"{"token": {"catalog": [{"type": "object-st"#,
            ),
        ),
        (
            "wrong type",
            Reply::ok(
                201,
                &format!("x-subject-token: tk\r\n{JSON}"),
                r#"{"token": {"expires_at": 5, "catalog": "none"}}"#,
            ),
        ),
        (
            "no catalog entry",
            Reply::ok(
                201,
                &format!("x-subject-token: tk\r\n{JSON}"),
                r#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "catalog": []}}"#,
            ),
        ),
        ("huge header", Reply::huge_header(201, 2 << 20, "{}")),
        (
            "endless",
            Reply::endless(
                201,
                &format!("x-subject-token: tk\r\n{JSON}"),
                r#"{"token": {"catalog": ["#,
                r#"{"type": "x", "endpoints": []},"#,
                ENDLESS,
            ),
        ),
    ];
    Malformed::new("keystone-token", BOUNDED)
        .run(
            cases,
            &["open+list"],
            async |reply: Reply| {
                let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
                (base, sent)
            },
            async |base: &String, _: &str| {
                let url = format!(
                    "swift://cont?auth_url={base}/v3&username=u&password=p&user_domain_name=Default&project_name=p&project_domain_name=Default&allow_http=true&retries=2"
                );
                let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url)?).await?;
                b.list_all(None).await
            },
        )
        .await
        .finish();
}

/// A tempauth Swift whose object GET answers `body` without `content-length` (ended by
/// closing the connection, as a re-chunking proxy or a large DLO does). `head_len`: the
/// `content-length` of the HEAD answer, if any; `segments`: a DLO (`x-object-manifest:
/// segs/k/`) whose listing holds segments of these sizes.
async fn swift_without_length(
    body: &'static [u8],
    head_len: Option<usize>,
    segments: &'static [u64],
) -> gureum_core::Bucket {
    let (base, _seen, _sent) = serve_raw(move |_, head| {
        let line = head.lines().next().unwrap_or("");
        let port = host_of(head);
        let dlo = if segments.is_empty() {
            String::new()
        } else {
            "x-object-manifest: segs/k/\r\n".to_string()
        };
        if line.contains("/auth/v1.0") {
            Reply::ok(
                200,
                &format!("x-auth-token: tk\r\nx-storage-url: http://{port}/v1/AUTH_t\r\n"),
                "",
            )
        } else if line.contains(" /info") {
            Reply::ok(200, JSON, r#"{"swift": {"container_listing_limit": 2}}"#)
        } else if line.starts_with("HEAD ") {
            let len = head_len
                .map(|n| format!("content-length: {n}\r\n"))
                .unwrap_or_default();
            Reply::Raw {
                head: format!("HTTP/1.1 200 X\r\n{dlo}{len}connection: close\r\n"),
                body: vec![],
            }
        } else if line.contains("/segs?") {
            // One page with the segments after the marker, then an empty page.
            let list: Vec<String> = if line.contains("marker=") {
                vec![]
            } else {
                segments
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        format!(r#"{{"name": "k/{i:03}", "bytes": {n}, "hash": "x", "last_modified": "2026-01-01T00:00:00.000000"}}"#)
                    })
                    .collect()
            };
            Reply::ok(200, JSON, format!("[{}]", list.join(",")))
        } else {
            Reply::Raw {
                head: format!("HTTP/1.1 200 X\r\n{dlo}connection: close\r\n"),
                body: body.to_vec(),
            }
        }
    })
    .await;
    let url = format!(
        "swift://cont?auth_url={base}/auth/v1.0&user=t:u&key=k&storage_url={base}/v1/AUTH_t&allow_http=true&retries=2"
    );
    gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_get_without_content_length_is_held_to_the_learnt_length() {
    const BODY: &[u8] = b"0123456789abcdef";
    // The length from a HEAD: the whole body, exactly.
    let b = swift_without_length(BODY, Some(16), &[]).await;
    assert_eq!(&ends("head", b.get("k")).await.unwrap()[..], BODY);
    // A HEAD announcing less: the longer body is refused, not cut or taken.
    let b = swift_without_length(BODY, Some(10), &[]).await;
    let e = ends("head short", b.get("k")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    // A HEAD announcing more: a cut-off body is refused.
    let b = swift_without_length(BODY, Some(20), &[]).await;
    let e = ends("head long", b.get("k")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    // A DLO without any length: the sum of its segments (listed until an empty page).
    let b = swift_without_length(BODY, None, &[4, 6, 6]).await;
    assert_eq!(&ends("dlo", b.get("k")).await.unwrap()[..], BODY);
    let b = swift_without_length(BODY, None, &[4, 6, 5]).await;
    let e = ends("dlo short", b.get("k")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    // A plain object without any length anywhere: refused.
    let b = swift_without_length(BODY, None, &[]).await;
    let e = ends("no length", b.get("k")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
}

const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

/// Keystone v2.0 (`POST v2.0/tokens`, as NHN Cloud uses it) answered with malformed token
/// documents: each open + list ends in a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_v2_malformed_token_answers_are_typed_errors() {
    let good = r#"{"access": {"token": {"id": "tk", "expires": "2099-01-01T00:00:00Z", "tenant": {"id": "t1"}}, "serviceCatalog": [{"type": "object-store", "endpoints": [{"region": "R1", "publicURL": "http://127.0.0.1:9/v1/AUTH_t1"}]}]}}"#;
    let cases: Vec<(&str, Reply)> = vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("not json", Reply::ok(200, JSON, "<xml/>")),
        ("cut json", Reply::ok(200, JSON, good[..50].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"{"access": {"token": {"id": 5}, "serviceCatalog": "none"}}"#,
            ),
        ),
        (
            "no token id",
            Reply::ok(
                200,
                JSON,
                r#"{"access": {"token": {"expires": "2099-01-01T00:00:00Z"}, "serviceCatalog": []}}"#,
            ),
        ),
        (
            "no catalog entry",
            Reply::ok(
                200,
                JSON,
                r#"{"access": {"token": {"id": "tk", "expires": "2099-01-01T00:00:00Z"}, "serviceCatalog": [{"type": "compute", "endpoints": []}]}}"#,
            ),
        ),
        ("empty object", Reply::ok(200, JSON, "{}")),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, good, good.len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, good, good.len() / 2),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, good)),
        (
            "endless",
            Reply::endless(
                200,
                JSON,
                r#"{"access": {"token": {"id": "tk"}, "serviceCatalog": ["#,
                r#"{"type": "x", "endpoints": []},"#,
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
    ];
    Malformed::new("keystone-v2-token", BOUNDED)
        .run(
            cases,
            &["open+list"],
            async |reply: Reply| {
                let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
                (base, sent)
            },
            async |base: &String, _: &str| {
                let url = format!(
                    "swift://cont?auth_url={base}/v2.0&username=u&password=p&tenant_name=t&allow_http=true&retries=2"
                );
                let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url)?).await?;
                b.list_all(None).await
            },
        )
        .await
        .finish();
}

/// Swift tempauth (`GET auth/v1.0`) answered without a token or storage URL, with a storage
/// URL that is not a URL, with error pages and statuses, a huge header, an endless body and a
/// reply that is not HTTP: each open + list ends in a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempauth_malformed_answers_are_typed_errors() {
    let cases: Vec<(&str, Reply)> = vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("401", Reply::ok(401, HTML, "<html>Unauthorized</html>")),
        (
            "no token",
            Reply::ok(200, "x-storage-url: http://127.0.0.1:9/v1/AUTH_t\r\n", ""),
        ),
        ("no storage url", Reply::ok(200, "x-auth-token: tk\r\n", "")),
        (
            "storage url not a url",
            Reply::ok(200, "x-auth-token: tk\r\nx-storage-url: /v1/AUTH_t\r\n", ""),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, HTML, PAGE, PAGE.len() + 4096),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, "")),
        ("endless", Reply::endless(200, HTML, PAGE, PAGE, ENDLESS)),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ];
    Malformed::new("tempauth", BOUNDED)
        .run(
            cases,
            &["open+list"],
            async |reply: Reply| {
                let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
                (base, sent)
            },
            async |base: &String, _: &str| {
                let url = format!(
                    "swift://cont?auth_url={base}/auth/v1.0&user=t:u&key=k&allow_http=true&retries=2"
                );
                let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url)?).await?;
                b.list_all(None).await
            },
        )
        .await
        .finish();
}

/// A tempauth answer whose `x-auth-token-expires` is not a sane number of seconds (1e300,
/// -1e300, inf, NaN, negative, beyond a year) is ignored: it used to overflow the clock and
/// panic inside the first call. The storage URL points at the same server, whose listing is
/// an empty container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempauth_absurd_token_expiry_does_not_panic() {
    for expires in [
        "1e300",
        "-1e300",
        "inf",
        "NaN",
        "-5",
        "99999999999999999999",
        "soon",
    ] {
        let (base, _seen, _sent) = serve_raw(move |_, head| {
            let line = head.lines().next().unwrap_or("");
            if line.contains("/auth/v1.0") {
                let port = host_of(head);
                Reply::ok(
                    200,
                    &format!("x-auth-token: tk\r\nx-auth-token-expires: {expires}\r\nx-storage-url: http://{port}/v1/AUTH_t\r\n"),
                    "",
                )
            } else if line.contains(" /info") {
                Reply::ok(200, JSON, r#"{"swift": {"container_listing_limit": 100}}"#)
            } else {
                Reply::ok(200, JSON, "[]")
            }
        })
        .await;
        let url = format!(
            "swift://cont?auth_url={base}/auth/v1.0&user=t:u&key=k&allow_http=true&retries=0"
        );
        let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
            .await
            .unwrap();
        let v = ends(expires, b.list_all(None)).await.unwrap();
        assert!(v.is_empty(), "{expires}: {v:?}");
    }
}

/// A Keystone v3 token whose expiry cannot be read (missing, not a time, a number, before its
/// issue time, in the past) or is absurd (year 9999) is usable and never cached for good: it
/// is taken to live [`UNREADABLE_EXPIRY_TTL`] (unreadable) or at most a day (it used to be
/// cached until a 401 when missing or unreadable, and renewed before every call when in the
/// past). A lifetime is measured on the service's own clock (`expires_at` − `issued_at`), so
/// a service whose clock is a year behind ours still gives a one-hour token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_token_with_an_unreadable_expiry_is_short_lived() {
    use gureum_openstack::auth::{MAX_TOKEN_LIFETIME, UNREADABLE_EXPIRY_TTL};
    let short = chrono::Duration::from_std(UNREADABLE_EXPIRY_TTL).unwrap();
    let day = chrono::Duration::from_std(MAX_TOKEN_LIFETIME).unwrap();
    let hour = chrono::Duration::hours(1);
    let mut tally = gureum_testkit::scripted::Tally::new("keystone-token-expiry");
    for (case, token_fields, life) in [
        ("no expires_at", "", short),
        ("garbage", r#""expires_at": "soon","#, short),
        ("a number", r#""expires_at": 1e300,"#, short),
        ("an empty string", r#""expires_at": "","#, short),
        (
            "an impossible date",
            r#""expires_at": "2026-13-45T99:00:00Z","#,
            short,
        ),
        (
            "far past",
            r#""expires_at": "1970-01-01T00:00:00Z","#,
            short,
        ),
        (
            "before its issue time",
            r#""expires_at": "2026-01-01T00:00:00Z", "issued_at": "2026-01-01T01:00:00Z","#,
            short,
        ),
        ("year 9999", r#""expires_at": "9999-12-31T23:59:59Z","#, day),
        (
            "a service clock a year behind",
            r#""expires_at": "2025-01-01T01:00:00.000000Z", "issued_at": "2025-01-01T00:00:00.000000Z","#,
            hour,
        ),
        (
            "issued_at garbage, expires_at in a year",
            r#""expires_at": "2099-01-01T00:00:00Z", "issued_at": "yesterday","#,
            day,
        ),
    ] {
        let body = format!(
            r#"{{"token": {{{token_fields} "catalog": [{{"type": "object-store", "endpoints": [{{"interface": "public", "region_id": "R1", "url": "http://{{host}}/v1/AUTH_t"}}]}}]}}}}"#
        );
        let (base, _seen, _sent) = serve_raw(move |_, head| {
            let line = head.lines().next().unwrap_or("");
            if line.contains("/v3/auth/tokens") {
                Reply::ok(
                    201,
                    &format!("x-subject-token: tk\r\n{JSON}"),
                    body.replace("{host}", &host_of(head)),
                )
            } else if line.contains(" /info") {
                Reply::ok(200, JSON, r#"{"swift": {"container_listing_limit": 100}}"#)
            } else {
                Reply::ok(200, JSON, "[]")
            }
        })
        .await;
        let url = format!(
            "swift://cont?auth_url={base}/v3&username=u&password=p&user_domain_name=Default&project_name=p&project_domain_name=Default&allow_http=true&retries=0"
        );
        let b = ends(
            case,
            gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap()),
        )
        .await
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        let v = ends(case, b.list_all(None)).await.unwrap();
        assert!(v.is_empty(), "{case}");
        let session = b
            .native::<gureum_openstack::swift::SwiftStore>()
            .unwrap()
            .session();
        let t = session.token().await.unwrap();
        let exp = t.expires_at.expect("an expiry");
        let got = exp - t.issued_at;
        assert!(
            (got - life).num_seconds().abs() <= 1,
            "{case}: lives {got:?}, expected {life:?}"
        );
        // Cached (not renewed before every call) and renewed once it is due.
        let n = session.auth_count();
        session.token().await.unwrap();
        assert_eq!(session.auth_count(), n, "{case}: renewed before it was due");
        assert!(t.needs_refresh(exp), "{case}");
        tally.checked_success();
    }
    tally.print();
}
