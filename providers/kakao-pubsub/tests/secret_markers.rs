//! Marker secrets on the spec-simulated Kakao Pub/Sub (issue 15, item 4): a credential secret
//! carrying a unique marker — accepted by the simulator, and a wrong one it refuses — never
//! shows in errors, `Debug` output, redacted URLs or TRACE log lines (shared helpers:
//! `gureum_testkit::secrets`, `gureum_conformance::secrets`).

use gureum_conformance::secrets::show_queue;
use gureum_core::Registry;
use gureum_testkit::secrets::MarkerScan;
use gureum_testkit::sim::kakao_pubsub::{KakaoPubSubSim, KakaoPubSubSimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_credential_secret_never_shown() {
    let mut scan = MarkerScan::new();
    let m = scan.marker().to_string();
    let (id, domain, project) = (
        "kakao-ps-ak-marker".to_string(),
        "d0c1a2b3c4d5e6f708192a3b4c5d6e7f".to_string(),
        "p0f1e2d3c4b5a69788796a5b4c3d2e1f".to_string(),
    );
    let sim = KakaoPubSubSim::start(KakaoPubSubSimConfig {
        access_keys: vec![(id.clone(), m.clone(), domain.clone(), project.clone())],
    })
    .await
    .unwrap();
    std::env::set_var("GT_SM_KAKAO_SECRET", &m);
    std::env::set_var("GT_SM_KAKAO_WRONG", format!("{m}WRONG"));
    let mut r = Registry::new();
    gureum_kakao_pubsub::register(&mut r);
    for var in ["GT_SM_KAKAO_SECRET", "GT_SM_KAKAO_WRONG"] {
        let url = format!(
            "kakao-pubsub://{domain}/{project}/{}?endpoint={}&credential_id={id}\
             &credential_secret_env={var}&create=true",
            gureum_testkit::unique("gsm"),
            sim.endpoint()
        );
        for s in show_queue(&r, &url).await {
            scan.text(var, &s);
        }
    }
    assert!(sim.requests() > 0, "the simulator saw no request");
    scan.assert_clean();
}
