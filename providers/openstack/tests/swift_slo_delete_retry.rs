//! `delete_with_segments` retries a transient failure that Swift reports inside a `200`
//! (seen in CI under load: the `slo` middleware could not load the manifest, `503`-class,
//! while the HTTP status said 200, so the shared retry never saw it), and gives up with a
//! typed `Unavailable` error after a bounded number of attempts. Scripted loopback server.

use gureum_core::{key::encode_key, ErrorKind};
use gureum_openstack::auth::{AuthOptions, Credential, Session};
use gureum_openstack::swift::SwiftStore;
use std::sync::Arc;

const INFO: &str = r#"{"swift": {"version": "2.30.1"}, "slo": {"max_manifest_segments": 1000}}"#;
const BUSY: &str = r#"{"Response Status": "502 Bad Gateway", "Response Body": "", "Number Deleted": 0, "Number Not Found": 0, "Errors": [["/c/k", "Unable to load SLO manifest or segment."]]}"#;
const DONE: &str = r#"{"Response Status": "200 OK", "Response Body": "", "Number Deleted": 3, "Number Not Found": 0, "Errors": []}"#;

async fn store(busy_answers: usize) -> (SwiftStore, Arc<std::sync::Mutex<Vec<String>>>) {
    let (base, seen) = gureum_testkit::scripted::serve(move |n, base| match n {
        0 => (
            200,
            format!("x-storage-url: {base}/v1/AUTH_test\r\nx-auth-token: AUTH_tk\r\n"),
            String::new(),
        ),
        1 => (200, String::new(), INFO.into()),
        n if n - 2 < busy_answers => (200, String::new(), BUSY.into()),
        _ => (200, String::new(), DONE.into()),
    })
    .await;
    let auth = url::Url::parse(&format!("{base}/auth/v1.0")).unwrap();
    let key = "testing".to_string().into();
    let session = Arc::new(
        Session::new(AuthOptions::new(
            auth,
            Credential::TempAuth {
                user: "test:tester".into(),
                key,
            },
        ))
        .unwrap(),
    );
    (SwiftStore::connect(session, "c").await.unwrap(), seen)
}

fn deletes(seen: &std::sync::Mutex<Vec<String>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("DELETE ") && r.contains("multipart-manifest=delete"))
        .count()
}

#[tokio::test]
async fn a_transient_failure_inside_the_report_is_retried() {
    let (store, seen) = store(1).await;
    store
        .delete_with_segments(&encode_key("k").unwrap())
        .await
        .unwrap();
    assert_eq!(deletes(&seen), 2, "one failed report, then success");
}

#[tokio::test]
async fn a_lasting_failure_is_unavailable_after_bounded_attempts() {
    let (store, seen) = store(usize::MAX).await;
    let e = store
        .delete_with_segments(&encode_key("k").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(deletes(&seen), 3);
}
