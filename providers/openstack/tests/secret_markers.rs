//! Marker secrets on the Swift SAIO (tempauth key) and the real Keystone (v3 password,
//! application credential secret, token) — issue 15, item 4: the marker never shows in
//! errors, `Debug` output, redacted URLs or TRACE log lines (shared helpers:
//! `gureum_testkit::secrets`, `gureum_conformance::secrets`).

use gureum_conformance::secrets::{exercise_bucket, show_bucket, show_url};
use gureum_core::Registry;
use gureum_testkit::secrets::MarkerScan;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_openstack::register(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_secrets_never_shown_on_swift_tempauth() {
    let Some(swift) = gureum_testkit::env::swift() else {
        return;
    };
    let mut scan = MarkerScan::new();
    let r = registry();
    let c = gureum_testkit::unique("gsm");
    // The right user with the marker as its key (refused), and the marker as a temp-URL key
    // of a working handle.
    let wrong = format!(
        "swift://{c}?auth_url={}&user={}&key={}",
        swift.auth_url,
        swift.user,
        scan.marker()
    );
    for s in show_bucket(&r, &wrong).await {
        scan.text("tempauth", &s);
    }
    let good = format!("{}&temp_url_key={}", swift.url(&c), scan.marker());
    for s in show_url(&good) {
        scan.text("temp_url_key url", &s);
    }
    let b = r.open_bucket(Some(&good)).await.unwrap();
    b.admin().unwrap().create_bucket(&c).await.unwrap();
    for s in exercise_bucket(&b).await {
        scan.text("temp_url_key", &s);
    }
    let _ = b.admin().unwrap().delete_bucket(&c).await;
    // The working handle's own key is a test key, not the marker; it is not scanned for.
    assert!(scan.shown().contains("put: ok"), "{}", scan.shown());
    scan.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_secrets_never_shown_on_keystone() {
    let Some(ks) = gureum_testkit::keystone::keystone() else {
        return;
    };
    let mut scan = MarkerScan::new();
    let r = registry();
    let c = gureum_testkit::unique("gsm");
    let m = scan.marker().to_string();
    let base = format!(
        "swift://{c}?auth_url={}&region_name=RegionOne&allow_http=true",
        ks.auth_url
    );
    for u in [
        // v3 password of the real admin user: refused (401).
        format!(
            "{base}&username={}&password={m}&project_name=admin&user_domain_name=Default&project_domain_name=Default",
            ks.admin_user
        ),
        // Application credential with the marker as its secret.
        format!("{base}&application_credential_id=0123456789abcdef&application_credential_secret={m}"),
        // The marker as a token.
        format!("{base}&token={m}&project_name=admin&project_domain_name=Default"),
    ] {
        for s in show_bucket(&r, &u).await {
            scan.text("keystone", &s);
        }
    }
    scan.assert_clean();
}
