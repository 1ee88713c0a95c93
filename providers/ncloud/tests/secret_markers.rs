//! Marker secrets for Naver Cloud (issue 15, item 4): a secret key carrying a unique marker —
//! accepted by the Server API simulator, a wrong one it refuses, and Object Storage on moto —
//! never shows in errors, `Debug` output, redacted URLs or TRACE log lines (shared helpers:
//! `gureum_testkit::secrets`, `gureum_conformance::secrets`).

use gureum_conformance::secrets::{show_bucket, show_compute};
use gureum_core::Registry;
use gureum_testkit::secrets::MarkerScan;
use gureum_testkit::sim::ncloud::{ServerSimulator, SimOptions};

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_ncloud::register(&mut r);
    r
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_secret_key_never_shown_on_the_server_simulator() {
    let mut scan = MarkerScan::new();
    let m = scan.marker().to_string();
    let sim = ServerSimulator::start(SimOptions {
        secret_key: m.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = registry();
    let ak = sim.options().access_key.clone();
    for secret in [m.clone(), format!("{m}WRONG")] {
        let url = format!(
            "{}&access_key={ak}&secret_key={}",
            sim.compute_url(),
            enc(&secret)
        );
        for s in show_compute(&r, &url).await {
            scan.text("ncloud-server", &s);
        }
    }
    assert!(
        scan.shown().contains("sizes: ok"),
        "the accepted key did not work:\n{}",
        scan.shown()
    );
    scan.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_secret_key_never_shown_on_object_storage() {
    let Some(moto) = gureum_testkit::env::moto() else {
        return;
    };
    let mut scan = MarkerScan::new();
    let r = registry();
    let url = format!(
        "ncloud://{}?region=kr&endpoint={}&signing_region=us-east-1&access_key=AKIDMARKERTEST&secret_key={}",
        gureum_testkit::unique("gsm"),
        moto.endpoint,
        scan.marker()
    );
    for s in show_bucket(&r, &url).await {
        scan.text("ncloud", &s);
    }
    scan.assert_clean();
}
