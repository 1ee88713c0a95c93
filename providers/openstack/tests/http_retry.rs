//! Regression: Swift/Nova/Keystone calls go through the shared HTTP layer — 429 is retried
//! (it never was) with `Retry-After` honoured, each attempt carries the current token, a
//! request not safe to repeat is sent once, and 409 stays `AlreadyExists`.

use gureum_core::http::HttpConfig;
use gureum_core::ErrorKind;
use gureum_openstack::client::{check, send};
use gureum_openstack::{AuthOptions, Credential, Session};
use std::time::{Duration, Instant};

type Script = Box<dyn Fn(usize, &str) -> (u16, String, &'static str) + Send + Sync>;

/// The shared scripted loopback server (`gureum_testkit::scripted`), answering request `n`
/// with `script(n, base_url)` = (status, extra header lines, body).
async fn serve(script: Script) -> (String, gureum_testkit::scripted::Seen) {
    gureum_testkit::scripted::serve(move |n, base| {
        let (status, headers, body) = script(n, base);
        (status, headers, body.to_string())
    })
    .await
}

/// Request 0 is tempauth; the rest follow `rest(n - 1)`.
fn with_auth(rest: fn(usize) -> (u16, &'static str)) -> Script {
    Box::new(move |n, base| {
        if n == 0 {
            (
                200,
                format!("x-auth-token: tk-1\r\nx-storage-url: {base}/v1/AUTH_t\r\n"),
                "",
            )
        } else {
            let (s, h) = rest(n - 1);
            (s, h.to_string(), "")
        }
    })
}

fn session(base: &str) -> Session {
    let mut o = AuthOptions::new(
        url::Url::parse(&format!("{base}/auth/v1.0")).unwrap(),
        Credential::TempAuth {
            user: "t:u".into(),
            key: "k".to_string().into(),
        },
    );
    o.http = HttpConfig::default()
        .retries(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(5));
    Session::new(o).unwrap()
}

#[tokio::test]
async fn swift_retries_429_with_retry_after_and_token() {
    let (base, seen) = serve(with_auth(|n| match n {
        0 => (429, "retry-after: 1\r\n"),
        1 => (503, ""),
        _ => (204, ""),
    }))
    .await;
    let s = session(&base);
    let u = url::Url::parse(&format!("{base}/v1/AUTH_t")).unwrap();
    let t = Instant::now();
    let r = send(&s, "swift", "HEAD account", true, |c| c.head(u.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 4);
    for h in &heads[1..] {
        assert!(h.to_ascii_lowercase().contains("x-auth-token: tk-1"), "{h}");
    }
}

#[tokio::test]
async fn not_repeatable_requests_are_sent_once_and_409_is_already_exists() {
    let (base, seen) = serve(with_auth(|n| match n {
        0 => (429, ""),
        _ => (409, "x-trans-id: tx-9\r\n"),
    }))
    .await;
    let s = session(&base);
    let u = url::Url::parse(&format!("{base}/v1/AUTH_t/c")).unwrap();
    let r = send(&s, "swift", "POST bulk", false, |c| c.post(u.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(seen.lock().unwrap().len(), 2);
    let e = check(r, "swift", "POST bulk").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);

    let r = send(&s, "swift", "PUT container c", true, |c| c.put(u.clone()))
        .await
        .unwrap();
    let e = check(r, "swift", "PUT container c").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.request_id(), Some("tx-9"));
}

#[tokio::test]
async fn expired_token_is_renewed_once_after_401() {
    let (base, seen) = serve(Box::new(|n, base| match n {
        0 | 2 => (
            200,
            format!("x-auth-token: tk-{n}\r\nx-storage-url: {base}/v1/AUTH_t\r\n"),
            "",
        ),
        1 => (401, String::new(), ""),
        _ => (204, String::new(), ""),
    }))
    .await;
    let s = session(&base);
    let u = url::Url::parse(&format!("{base}/v1/AUTH_t")).unwrap();
    let r = send(&s, "swift", "HEAD account", true, |c| c.head(u.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.auth_count(), 2);
    let heads = seen.lock().unwrap().clone();
    assert!(heads[3].to_ascii_lowercase().contains("x-auth-token: tk-2"));
}
