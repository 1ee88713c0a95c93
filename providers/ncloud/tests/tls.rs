//! The Naver Cloud Server API over TLS with the city's own CA: the spec-simulated Server API
//! (`gureum_testkit::sim::ncloud`) behind the testkit TLS front (test CA). Calls work with
//! `ca_file=`; without it (or with mutual TLS and no client certificate) the failure is
//! `ErrorKind::Tls`. (ncloud Object Storage rides the S3 client: providers/aws/tests/tls.rs.)

use gureum_core::url::ComputeOpener;
use gureum_core::{Compute, ErrorKind};
use gureum_ncloud::server::NcloudServerComputeOpener;
use gureum_testkit::sim::ncloud::{ServerSimulator, SimOptions};
use gureum_testkit::tls::{TestPki, TlsFront};

async fn setup(mtls: bool) -> (ServerSimulator, TestPki, TlsFront) {
    let s = ServerSimulator::start(SimOptions::default()).await.unwrap();
    let pki = TestPki::new().unwrap();
    let up = s.endpoint().trim_start_matches("http://").to_string();
    let front = TlsFront::start(&pki, &up, mtls).await.unwrap();
    (s, pki, front)
}

async fn sizes(s: &ServerSimulator, front: &TlsFront, extra: &str) -> gureum_core::Result<usize> {
    let mut d = std::collections::BTreeMap::new();
    d.insert("access_key".to_string(), s.options().access_key.clone());
    d.insert("secret_key".to_string(), s.options().secret_key.clone());
    let u = gureum_core::ResourceUrl::parse(&format!(
        "ncloud-server://?region=KR&endpoint={}&retries=1{extra}",
        front.https_url()
    ))?
    .with_defaults(&d);
    let c: Compute = NcloudServerComputeOpener.open_compute(&u).await?;
    Ok(c.sizes().await?.len())
}

#[tokio::test]
async fn server_api_over_custom_ca() {
    let (s, pki, front) = setup(false).await;
    let n = sizes(&s, &front, &format!("&ca_file={}", pki.ca_file.display()))
        .await
        .expect("Server API over TLS with ca_file");
    assert!(n > 0);
    let e = sizes(&s, &front, "").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[tokio::test]
async fn server_api_mutual_tls() {
    let (s, pki, front) = setup(true).await;
    let ca = format!("&ca_file={}", pki.ca_file.display());
    let e = sizes(&s, &front, &ca).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "no client certificate: {e}");
    let n = sizes(
        &s,
        &front,
        &format!(
            "{ca}&client_cert={}&client_key={}",
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    )
    .await
    .expect("Server API with a client certificate");
    assert!(n > 0);
}
