//! Hostile input from the server side (issue 19, item 4) for the Azure compute driver
//! (`azvm://`, Azure Resource Manager): a scripted loopback server answers every ARM call
//! with an HTML error page (as 200 and as 502), bad or cut-off JSON, a VM, list or size of the
//! wrong shape or with fields missing, a wrong `content-length` both ways, a 2 MiB header, a
//! body that never ends and a reply that is not HTTP; and answers the Entra ID token request
//! the same ways. Every call ends with a typed error (never `Other`, never a panic), no
//! invented VM or size is returned, and an endless body is abandoned at the HTTP layer's bound
//! (64 MiB; 1 MiB for the token answer).

use gureum_core::{Compute, Registry};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};

const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

fn url(base: &str, auth: &str) -> String {
    format!(
        "azvm://sub-1/rg-1?location=koreacentral&endpoint={base}&authority_host={base}{auth}&allow_http=true&retries=2&poll_ms=10&operation_timeout=5&ssh_public_key=ssh-ed25519%20AAAA%20k"
    )
}

fn arm_cases() -> Vec<(&'static str, Reply)> {
    let vm = r#"{"name": "vm-1", "properties": {"provisioningState": "Succeeded", "hardwareProfile": {"vmSize": "Standard_B2s"}}}"#;
    let full = format!(
        r#"{{"name": "vm-1", "properties": {{"provisioningState": "Succeeded", "userData": "aGk="}}, "value": [{vm}]}}"#
    );
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("cut json", Reply::ok(200, JSON, full[..40].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"{"name": 5, "properties": "none", "value": {"name": "vm-1"}}"#,
            ),
        ),
        (
            "missing fields",
            Reply::ok(
                200,
                JSON,
                r#"{"properties": {"provisioningState": "Succeeded"}, "value": [{"properties": {}}, {"name": "Standard_B2s", "numberOfCores": 2}]}"#,
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
            Reply::endless(200, JSON, r#"{"value": ["#, format!("{vm},"), ENDLESS),
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

/// ARM on a scripted server answering every call with `reply` (a static access token: no
/// token request).
async fn arm_on(reply: Reply) -> (Compute, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let c = registry()
        .open_compute(Some(&url(&base, "&access_token=tk")))
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("azure-arm", bounded(3, 64 << 20))
        .run(
            arm_cases(),
            &["get", "list", "sizes", "user_data"],
            arm_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("vm-1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                "sizes" => c.sizes().await.map(|v| format!("{v:?}")),
                _ => {
                    // `properties.userData` missing is "no user data" (a VM created without
                    // it); the cases all lack a VM with a name and properties, so each of
                    // them must fail.
                    c.get("vm-1").await?;
                    c.user_data("vm-1").await.map(|v| format!("{v:?}"))
                }
            },
        )
        .await
        .finish();
}

/// Entra ID on a scripted server: the token request is answered with `reply`, ARM with a
/// correct VM.
async fn entra_on(reply: Reply) -> (Compute, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, head| {
        if head
            .lines()
            .next()
            .unwrap_or("")
            .contains("/oauth2/v2.0/token")
        {
            reply.clone()
        } else {
            Reply::ok(
                200,
                JSON,
                r#"{"name": "vm-1", "properties": {"provisioningState": "Succeeded"}}"#,
            )
        }
    })
    .await;
    let c = registry()
        .open_compute(Some(&url(
            &base,
            "&tenant_id=t1&client_id=c1&client_secret=s1",
        )))
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_token_malformed_answers_are_typed_errors_with_bounded_memory() {
    let cases: Vec<(&str, Reply)> = vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("not json", Reply::ok(200, JSON, "<xml/>")),
        ("cut json", Reply::ok(200, JSON, r#"{"access_token": "ab"#)),
        (
            "wrong type",
            Reply::ok(200, JSON, r#"{"access_token": 5, "expires_in": "soon"}"#),
        ),
        ("no token", Reply::ok(200, JSON, r#"{"expires_in": 3600}"#)),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, r#"{"access_token": "t"}"#, 4096),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, "{}")),
        (
            "endless",
            Reply::endless(200, JSON, r#"{"access_token": ""#, "a", ENDLESS),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ];
    // Attempts × the 1 MiB bound of a token answer, plus socket buffers.
    Malformed::new("azure-entra-token", bounded(3, 1 << 20))
        .run(cases, &["get"], entra_on, async |c: &Compute, _: &str| {
            c.get("vm-1").await
        })
        .await
        .finish();
}

/// A token answer whose `expires_in` is absurd (2^64 - 1 s) is held to one day: it used to
/// overflow the clock and panic inside `get`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_token_with_an_absurd_lifetime_does_not_panic() {
    for expires in [
        "18446744073709551615",
        "\"18446744073709551615\"",
        "-1",
        "1e30",
    ] {
        let (c, _) = entra_on(Reply::ok(
            200,
            JSON,
            format!(r#"{{"access_token": "tk", "token_type": "Bearer", "expires_in": {expires}}}"#),
        ))
        .await;
        let vm = c.get("vm-1").await.unwrap();
        assert_eq!(vm.id, "vm-1", "{expires}");
    }
}

/// The operation-status path a scripted ARM gives for every long-running operation.
const OP_PATH: &str = "/subscriptions/sub-1/providers/Microsoft.Compute/locations/koreacentral/operations/op-1?api-version=2024-07-01";

/// ARM answering `start` with 202 and `Azure-AsyncOperation: {op}` (`{host}` is replaced by
/// this server's address), and every poll of the operation with `poll(n)` (n counting polls
/// from 0); a non-empty `settings` replaces `poll_ms=10&operation_timeout=5` in the driver
/// URL. Returns the driver, the server's
/// endless-body counter and the requests it saw.
async fn operation_on(
    op: String,
    settings: &str,
    poll: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (Compute, Sent, gureum_testkit::scripted::Seen) {
    let polls = std::sync::atomic::AtomicUsize::new(0);
    let (base, seen, sent) = serve_raw(move |_, head| {
        let line = head.lines().next().unwrap_or("");
        if line.contains("/operations/") {
            poll(polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        } else if line.starts_with("POST") {
            let url = op.replace("{host}", &gureum_testkit::scripted::host_of(head));
            // `location=URL`: a 202 with only a `Location` header (Location polling).
            match url.strip_prefix("location=") {
                Some(u) => Reply::ok(202, &format!("location: {u}\r\n"), ""),
                None => Reply::ok(202, &format!("azure-asyncoperation: {url}\r\n"), ""),
            }
        } else {
            Reply::ok(
                200,
                JSON,
                r#"{"name": "vm-1", "properties": {"provisioningState": "Succeeded"}}"#,
            )
        }
    })
    .await;
    let mut u = url(&base, "&access_token=tk");
    if !settings.is_empty() {
        u = u.replace("poll_ms=10&operation_timeout=5", settings);
    }
    let c = registry().open_compute(Some(&u)).await.unwrap();
    (c, sent, seen)
}

fn on_host() -> String {
    format!("http://{{host}}{OP_PATH}")
}

/// Malformed answers to the poll of an `Azure-AsyncOperation`: each `start` must end in a
/// typed error (a missing or non-string `status` used to be taken as `Succeeded`), within the
/// operation timeout for a status that never ends, with bounded memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_poll_malformed_answers_are_typed_errors() {
    let status = |s: &str| format!(r#"{{"status": {s}}}"#);
    let cases: Vec<(&str, Reply)> = vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("not json", Reply::ok(200, JSON, "<xml/>")),
        ("cut json", Reply::ok(200, JSON, r#"{"status": "Succ"#)),
        ("empty body", Reply::ok(200, JSON, "")),
        ("no status", Reply::ok(200, JSON, "{}")),
        ("null status", Reply::ok(200, JSON, status("null"))),
        ("numeric status", Reply::ok(200, JSON, status("1"))),
        (
            "status object",
            Reply::ok(200, JSON, status(r#"{"s": "Succeeded"}"#)),
        ),
        (
            "array",
            Reply::ok(200, JSON, r#"[{"status": "Succeeded"}]"#),
        ),
        (
            "lower-case status",
            Reply::ok(200, JSON, status(r#""succeeded""#)),
        ),
        (
            "failed, error of the wrong type",
            Reply::ok(200, JSON, r#"{"status": "Failed", "error": 7}"#),
        ),
        (
            "canceled without error",
            Reply::ok(200, JSON, status(r#""Canceled""#)),
        ),
        (
            "in progress forever",
            Reply::ok(
                200,
                &format!("retry-after: 0\r\n{JSON}"),
                status(r#""InProgress""#),
            ),
        ),
        (
            "unknown status forever",
            Reply::ok(200, JSON, status(r#""Whatever""#)),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, status(r#""Succeeded""#), 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, status(r#""Succeeded""#), 12),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, status(r#""Succeeded""#)),
        ),
        (
            "endless",
            Reply::endless(
                200,
                JSON,
                r#"{"status": "InProgress", "x": ""#,
                "a",
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
    // Attempts × the 64 MiB body bound of the HTTP layer.
    let started = std::time::Instant::now();
    Malformed::new("azure-arm-operation-poll", bounded(3, 64 << 20))
        .run(
            cases,
            &["start"],
            async |reply: Reply| {
                let (c, sent, _) = operation_on(on_host(), "", move |_| reply.clone()).await;
                (c, sent)
            },
            async |c: &Compute, _: &str| c.start("vm-1").await,
        )
        .await
        .finish();
    // Two cases run into the 5 s operation timeout; nothing waits much longer.
    assert!(started.elapsed() < std::time::Duration::from_secs(110));
}

/// An operation URL that is not on the ARM endpoint is refused before any request carries
/// the token there: another host, another loopback port, `https` for an `http` endpoint (the
/// same check refuses `http` for an `https` one), a URL with no host, garbage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_urls_off_the_endpoint_are_refused() {
    // A second loopback server: the token must never reach it.
    let (other, other_seen, _) =
        serve_raw(|_, _| Reply::ok(200, JSON, r#"{"status": "Succeeded"}"#)).await;
    let mut m = Malformed::new("azure-arm-operation-url", bounded(1, 64 << 20));
    for (case, op) in [
        ("another host", format!("http://10.1.2.3{OP_PATH}")),
        ("a public host", format!("https://evil.example{OP_PATH}")),
        ("another loopback port", format!("{other}{OP_PATH}")),
        (
            "https for an http endpoint",
            format!("https://{{host}}{OP_PATH}"),
        ),
        ("no host", format!("file://{OP_PATH}")),
        ("not a url", "http://[::1".to_string()),
    ] {
        let (c, sent, seen) = operation_on(op, "", |_| {
            Reply::ok(200, JSON, r#"{"status": "Succeeded"}"#)
        })
        .await;
        let kind = m.call(case, &sent, c.start("vm-1")).await;
        assert_eq!(kind, gureum_core::ErrorKind::Unavailable, "{case}");
        let polled = seen
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.contains("/operations/"));
        assert!(!polled, "{case}: the refused URL was polled");
    }
    assert!(
        other_seen.lock().unwrap().is_empty(),
        "a request (with the token) reached another server"
    );
    m.finish();
    // A relative operation URL is resolved against the endpoint and polled there.
    let (c, _, seen) = operation_on(OP_PATH.to_string(), "", |_| {
        Reply::ok(200, JSON, r#"{"status": "Succeeded"}"#)
    })
    .await;
    c.start("vm-1").await.unwrap();
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .any(|h| h.contains("/operations/op-1")));
}

/// `Retry-After` on a poll that is huge, negative, fractional, a date or garbage is held to
/// the poll bounds or ignored: the operation is still followed to its end, promptly, and an
/// absurd `poll_ms`/`operation_timeout` in the URL does not overflow the clock (it used to
/// panic: `Instant + Duration` and `Duration * 10`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_retry_after_and_absurd_settings_do_not_panic_or_stall() {
    let mut tally = gureum_testkit::scripted::Tally::new("azure-arm-operation-retry-after");
    for (retry_after, extra) in [
        ("18446744073709551615", ""),
        ("99999999999999999999999", ""),
        ("-5", ""),
        ("1.5", ""),
        ("Wed, 21 Oct 2015 07:28:00 GMT", ""),
        ("soon", ""),
        ("", ""),
        (
            "0",
            "poll_ms=18446744073709551615&operation_timeout=18446744073709551615",
        ),
    ] {
        let ra = retry_after.to_string();
        let (c, _, seen) = operation_on(on_host(), extra, move |n| {
            if n < 2 {
                Reply::ok(
                    200,
                    &format!("retry-after: {ra}\r\n{JSON}"),
                    r#"{"status": "InProgress"}"#,
                )
            } else {
                Reply::ok(200, JSON, r#"{"status": "Succeeded"}"#)
            }
        })
        .await;
        let t = std::time::Instant::now();
        tokio::time::timeout(std::time::Duration::from_secs(60), c.start("vm-1"))
            .await
            .unwrap_or_else(|_| panic!("retry-after {retry_after:?}: the wait did not end"))
            .unwrap_or_else(|e| panic!("retry-after {retry_after:?}: {e}"));
        let polls = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.contains("/operations/"))
            .count();
        assert_eq!(polls, 3, "retry-after {retry_after:?}");
        // poll_ms=10: at most 100 ms between polls (generous margin for a loaded machine).
        assert!(t.elapsed() < std::time::Duration::from_secs(30));
        tally.checked_success();
    }
    tally.print();
}

/// A failed or canceled operation is an error of the kind its own code names; an unknown
/// code is `Unavailable` (it used to be read as HTTP 409, so `AllocationFailed` said
/// `AlreadyExists`). Location polling: 202 (with any body) is still running, until a 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_operations_and_location_polling() {
    use gureum_core::ErrorKind;
    for (body, kind) in [
        (
            r#"{"status": "Failed", "error": {"code": "AllocationFailed", "message": "no capacity"}}"#,
            ErrorKind::Unavailable,
        ),
        (
            r#"{"status": "Failed", "error": {"code": "QuotaExceeded", "message": "cores"}}"#,
            ErrorKind::QuotaExceeded,
        ),
        (r#"{"status": "Canceled"}"#, ErrorKind::Unavailable),
        (
            r#"{"status": "Failed", "error": {"code": "AuthorizationFailed"}}"#,
            ErrorKind::PermissionDenied,
        ),
    ] {
        let (c, _, _) = operation_on(on_host(), "", move |_| Reply::ok(200, JSON, body)).await;
        let e = c.start("vm-1").await.unwrap_err();
        assert_eq!(e.kind(), kind, "{body}: {e}");
        assert!(e.provider_code().is_some(), "{body}");
    }
    let (c, _, seen) = operation_on(format!("location={}", on_host()), "", |n| {
        if n < 2 {
            Reply::ok(202, JSON, r#"{"status": "Succeeded"}"#)
        } else {
            Reply::ok(200, JSON, "")
        }
    })
    .await;
    c.start("vm-1").await.unwrap();
    let polls = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.contains("/operations/"))
        .count();
    assert_eq!(polls, 3, "202 means still running, whatever its body says");
}
