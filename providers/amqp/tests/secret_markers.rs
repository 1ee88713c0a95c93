//! Marker secrets on RabbitMQ (issue 15, item 4): a password carrying a unique marker, in the
//! URL and through `password_env=`, never shows in errors, `Debug` output, redacted URLs or
//! TRACE log lines (shared helpers: `gureum_testkit::secrets`, `gureum_conformance::secrets`).

use gureum_conformance::secrets::show_queue;
use gureum_core::Registry;
use gureum_testkit::secrets::MarkerScan;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_password_never_shown() {
    let Some(addr) = gureum_testkit::env::var("AMQP_ADDR") else {
        return;
    };
    let mut u = url::Url::parse(&addr).unwrap();
    gureum_testkit::env::assert_loopback(&addr.replace("amqp://", "http://"));
    let mut scan = MarkerScan::new();
    let mut r = Registry::new();
    gureum_amqp::register(&mut r);
    let q = gureum_testkit::unique("gsm");
    u.set_password(Some(scan.marker())).unwrap();
    u.set_query(Some(&format!("queue={q}&create=true&reconnect_deadline=1")));
    let var = "GT_SM_AMQP_PASSWORD";
    std::env::set_var(var, scan.marker());
    let mut from_env = url::Url::parse(&addr).unwrap();
    from_env.set_password(None).unwrap();
    from_env.set_query(Some(&format!(
        "queue={q}&create=true&reconnect_deadline=1&password_env={var}"
    )));
    for url in [u.to_string(), from_env.to_string()] {
        for s in show_queue(&r, &url).await {
            scan.text("amqp", &s);
        }
    }
    // The config's Debug and redacted URI.
    let c = gureum_amqp::AmqpConfig::new(u.to_string(), q).unwrap();
    scan.debug("config", &c).text("redacted", &c.redacted_uri());
    scan.assert_clean();
}
