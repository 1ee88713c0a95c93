//! Transport tests: S3 (object_store and aws-sdk paths) and SQS through a loopback TLS front
//! (test CA from `gureum_testkit::tls`) in front of moto: the city CA via `ca_file=`, the
//! typed error without it, and mutual TLS via `client_cert=` / `client_key=`.

mod common;

use common::*;
use gureum_aws::{AwsCredentials, S3Config, SqsConfig};
use gureum_core::{ErrorKind, ResourceUrl};
use gureum_testkit::tls::{TestPki, TlsFront};

fn upstream(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn s3_url(front: &TlsFront, bucket: &str, extra: &str) -> S3Config {
    let url = ResourceUrl::parse(&format!(
        "s3://{bucket}?endpoint={}&region=us-east-1{extra}",
        front.https_url()
    ))
    .unwrap();
    S3Config::from_url(&url)
        .unwrap()
        .credentials(AwsCredentials::static_keys(key_id(), secret()))
        .quirks(moto_quirks())
}

fn sqs_url(front: &TlsFront, queue: &str, extra: &str) -> SqsConfig {
    let url = ResourceUrl::parse(&format!(
        "sqs://{queue}?endpoint={}&region=us-east-1&create=true{extra}",
        front.https_url()
    ))
    .unwrap();
    SqsConfig::from_url(&url)
        .unwrap()
        .credentials(AwsCredentials::static_keys(key_id(), secret()))
}

async fn round_trip(cfg: S3Config) -> gureum_core::Result<()> {
    let name = cfg.bucket.clone();
    let b = gureum_aws::open_s3(cfg).await?;
    // aws-sdk path (bucket admin) then object_store path (objects).
    b.admin().unwrap().create_bucket(&name).await?;
    b.put("tls/a.txt", b"over the city CA".to_vec()).await?;
    assert_eq!(&b.get("tls/a.txt").await?[..], b"over the city CA");
    Ok(())
}

#[tokio::test]
async fn s3_and_sqs_over_custom_ca() {
    let Some(ep) = moto() else { return };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &upstream(&ep), false).await.unwrap();
    let ca = format!("&ca_file={}", pki.ca_file.display());

    round_trip(s3_url(&front, &unique("gu-tls"), &ca))
        .await
        .expect("S3 over TLS with ca_file");

    // Unknown CA: both client stacks fail with the typed error, not retried as Unavailable.
    let e = round_trip(s3_url(&front, &unique("gu-tls"), ""))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(e.message().contains("ca_file"), "{e}");
    let b = gureum_aws::open_s3(s3_url(&front, &unique("gu-tls"), ""))
        .await
        .unwrap();
    let e = b.put("x", b"x".to_vec()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "object_store path: {e}");

    // SQS (aws-sdk) through the same front.
    let q = gureum_aws::open_sqs(sqs_url(&front, &unique("gu-tls"), &ca))
        .await
        .expect("SQS over TLS with ca_file");
    q.send(gureum_core::Message::new(b"hello".to_vec()))
        .await
        .unwrap();
    let e = gureum_aws::open_sqs(sqs_url(&front, &unique("gu-tls"), ""))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[tokio::test]
async fn s3_mutual_tls() {
    let Some(ep) = moto() else { return };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &upstream(&ep), true).await.unwrap();
    let ca = format!("&ca_file={}", pki.ca_file.display());

    // No client certificate: the front refuses the handshake.
    let e = round_trip(s3_url(&front, &unique("gu-mtls"), &ca))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    // A certificate of another CA: refused too.
    let foreign = format!(
        "{ca}&client_cert={}&client_key={}",
        pki.foreign_client_cert.display(),
        pki.foreign_client_key.display()
    );
    let e = round_trip(s3_url(&front, &unique("gu-mtls"), &foreign))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    // The city-issued client certificate: works on both client stacks.
    let mtls = format!(
        "{ca}&client_cert={}&client_key={}",
        pki.client_cert.display(),
        pki.client_key.display()
    );
    round_trip(s3_url(&front, &unique("gu-mtls"), &mtls))
        .await
        .expect("S3 with client certificate");
    let q = gureum_aws::open_sqs(sqs_url(&front, &unique("gu-mtls"), &mtls))
        .await
        .expect("SQS with client certificate");
    q.send(gureum_core::Message::new(b"hello".to_vec()))
        .await
        .unwrap();
}

#[test]
fn plain_http_refused_off_loopback() {
    let url = ResourceUrl::parse("s3://b?endpoint=http://storage.city.example").unwrap();
    let cfg = S3Config::from_url(&url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(gureum_aws::open_s3(cfg)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    let e =
        S3Config::from_url(&ResourceUrl::parse("s3://b?client_cert=/c.pem").unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}
