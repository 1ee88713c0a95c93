//! Kakao Pub/Sub over TLS with the city's own CA: the spec-simulated service
//! (`gureum_testkit::sim::kakao_pubsub`) behind the testkit TLS front (test CA). A round trip
//! works with `ca_file`; without it (or with mutual TLS and no client certificate) the failure
//! is `ErrorKind::Tls`.

use gureum_core::http::HttpConfig;
use gureum_core::{ErrorKind, Message, ReceiveOptions};
use gureum_kakao_pubsub::{open_kakao_pubsub, KakaoPubSubConfig};
use gureum_testkit::sim::kakao_pubsub::{KakaoPubSubSim, KakaoPubSubSimConfig};
use gureum_testkit::tls::{TestPki, TlsFront};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::Duration;

fn http(params: &[(&str, String)]) -> HttpConfig {
    let p: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    HttpConfig::from_params(&p)
        .unwrap()
        .retries(1)
        .backoff(Duration::from_millis(5), Duration::from_millis(50))
}

async fn round_trip(
    sim: &KakaoPubSubSim,
    front: &TlsFront,
    params: &[(&str, String)],
) -> gureum_core::Result<()> {
    let (id, secret, domain, project) = sim.access_key();
    let name = gureum_testkit::unique("gtls");
    let cfg = KakaoPubSubConfig::new(
        &front.https_url(),
        &domain,
        &project,
        &name,
        &id,
        SecretString::from(secret),
    )?
    .http(http(params))
    .create(true);
    let q = open_kakao_pubsub(cfg).await?;
    q.send(Message::new(b"over TLS".to_vec())).await?;
    let mut got = Vec::new();
    for _ in 0..20 {
        got = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: Duration::from_secs(30),
                wait: Duration::from_millis(500),
            })
            .await?;
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1, "the message came back over TLS");
    assert_eq!(&got[0].body[..], b"over TLS");
    q.ack(&got[0]).await?;
    Ok(())
}

async fn setup(mtls: bool) -> (KakaoPubSubSim, TestPki, TlsFront) {
    let sim = KakaoPubSubSim::start(KakaoPubSubSimConfig::default())
        .await
        .unwrap();
    let pki = TestPki::new().unwrap();
    let up = sim.endpoint().trim_start_matches("http://").to_string();
    let front = TlsFront::start(&pki, &up, mtls).await.unwrap();
    (sim, pki, front)
}

#[tokio::test]
async fn pubsub_over_custom_ca() {
    let (sim, pki, front) = setup(false).await;
    round_trip(
        &sim,
        &front,
        &[("ca_file", pki.ca_file.display().to_string())],
    )
    .await
    .expect("Kakao Pub/Sub over TLS with ca_file");
    let e = round_trip(&sim, &front, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[tokio::test]
async fn pubsub_mutual_tls() {
    let (sim, pki, front) = setup(true).await;
    let ca = ("ca_file", pki.ca_file.display().to_string());
    let e = round_trip(&sim, &front, std::slice::from_ref(&ca))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "no client certificate: {e}");
    round_trip(
        &sim,
        &front,
        &[
            ca,
            ("client_cert", pki.client_cert.display().to_string()),
            ("client_key", pki.client_key.display().to_string()),
        ],
    )
    .await
    .expect("Kakao Pub/Sub with a client certificate");
}
