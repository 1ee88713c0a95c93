//! Marker secrets for Kafka (issue 15, item 4): a SASL password (tansu on :9092 speaks no SASL,
//! so the handshake fails — the failure path is what is scanned) and an EasyQueue OAuth client
//! secret (a loopback token endpoint that refuses it, and one that hands out the marker as the
//! access token) never show in errors, `Debug` output, redacted URLs or TRACE log lines
//! (shared helpers: `gureum_testkit::secrets`, `gureum_conformance::secrets`).

use gureum_conformance::secrets::show_queue;
use gureum_core::url::ResourceUrl;
use gureum_core::Registry;
use gureum_kafka::queue::token_context;
use gureum_kafka::KafkaConfig;
use gureum_testkit::secrets::MarkerScan;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback token endpoint answering every request with `status` and `body`.
async fn token_endpoint(status: u16, body: String) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            // One read is enough for the small form request; the answer does not depend on it.
            let _ = tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf)).await;
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.write_all(resp.as_bytes()).await;
            let _ = c.shutdown().await;
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_oauth_client_secret_never_shown() {
    let mut scan = MarkerScan::new();
    let m = scan.marker().to_string();
    std::env::set_var("GT_SM_EQ_ID", "uak-marker-test");
    std::env::set_var("GT_SM_EQ_SECRET", &m);
    let refused = token_endpoint(401, r#"{"error":"invalid_client"}"#.into()).await;
    let granted = token_endpoint(
        200,
        format!(r#"{{"access_token":"{m}TOKEN","token_type":"Bearer","expires_in":60}}"#),
    )
    .await;
    for (base, expect_ok) in [(refused, false), (granted, true)] {
        let url = format!(
            "nhn-easyqueue://kr1-c1/orders?group=g&app_key=APPKEY1\
             &token_endpoint={base}/oauth2/token/create\
             &access_key_env=GT_SM_EQ_ID&secret_key_env=GT_SM_EQ_SECRET"
        );
        let parsed = ResourceUrl::parse(&url).unwrap();
        let cfg = KafkaConfig::from_url(&parsed).unwrap();
        scan.show("url", &parsed).debug("config", &cfg);
        let ctx = token_context(&cfg).unwrap();
        scan.debug("token context", &ctx);
        let r = ctx.fetch().await;
        assert_eq!(r.is_ok(), expect_ok, "{:?}", r.as_ref().err());
        match r {
            // The token is handed to librdkafka; what we show of it is only its principal.
            Ok(t) => scan.text("token principal", &t.principal_name),
            Err(e) => scan.show("fetch", &e),
        };
    }
    scan.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_sasl_password_never_shown() {
    let Some(b) = gureum_testkit::env::var("KAFKA_BOOTSTRAP") else {
        return;
    };
    gureum_testkit::env::assert_loopback(&format!("http://{b}"));
    let mut scan = MarkerScan::new();
    std::env::set_var("GT_SM_KAFKA_PASSWORD", scan.marker());
    let mut r = Registry::new();
    gureum_kafka::register(&mut r);
    let topic = gureum_testkit::unique("gsm");
    let url = format!(
        "kafka://{b}/{topic}?group=g&sasl_mechanism=PLAIN&username=gsm\
         &password_env=GT_SM_KAFKA_PASSWORD"
    );
    let parsed = ResourceUrl::parse(&url).unwrap();
    scan.debug("config", &KafkaConfig::from_url(&parsed).unwrap());
    // The TLS handshake to a plaintext broker fails; librdkafka retries until its own
    // timeouts, bounded here.
    match tokio::time::timeout(Duration::from_secs(60), show_queue(&r, &url)).await {
        Ok(shown) => {
            for s in shown {
                scan.text("kafka", &s);
            }
        }
        Err(_) => {
            scan.text("kafka", "timed out (bounded)");
        }
    }
    scan.assert_clean();
}
