//! Transport tests: `amqps://` through a loopback TLS front (test CA from
//! `gureum_testkit::tls`) in front of RabbitMQ on :5672: `ca_file=` (and the earlier `ca=`)
//! works, an unknown CA is `ErrorKind::Tls`, mutual TLS needs `client_cert=` + `client_key=`.

use gureum_core::{ErrorKind, Message, Registry, ResourceUrl};
use gureum_testkit::tls::{TestPki, TlsFront};

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_amqp::register(&mut r);
    r
}

/// `host:port` of the plain broker, and `user:password`.
fn broker() -> Option<(String, String)> {
    let a = gureum_testkit::env::var("AMQP_ADDR")?;
    let u = url::Url::parse(&a).unwrap();
    gureum_testkit::env::assert_loopback(&a.replace("amqp://", "http://"));
    Some((
        format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(5672)),
        format!("{}:{}", u.username(), u.password().unwrap_or("")),
    ))
}

async fn round_trip(front: &TlsFront, creds: &str, extra: &str) -> gureum_core::Result<()> {
    let name = gureum_testkit::unique("gtls");
    let url = format!(
        "amqps://{creds}@{}/%2f?queue={name}&create=true&connection_timeout=5000{extra}",
        front.host_port()
    );
    let q = registry().open_queue(Some(&url)).await?;
    q.send(Message::new(b"over amqps".to_vec())).await?;
    let mut got = Vec::new();
    for _ in 0..20 {
        got = q
            .receive_with(gureum_core::ReceiveOptions {
                max_messages: 1,
                wait: std::time::Duration::from_secs(1),
                ..Default::default()
            })
            .await?;
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"over amqps");
    if let Ok(a) = q.admin() {
        let _ = a.delete_queue(&name).await;
    }
    Ok(())
}

#[tokio::test]
async fn amqps_over_custom_ca() {
    let Some((up, creds)) = broker() else { return };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &up, false).await.unwrap();
    round_trip(
        &front,
        &creds,
        &format!("&ca_file={}", pki.ca_file.display()),
    )
    .await
    .expect("amqps with ca_file");
    round_trip(&front, &creds, &format!("&ca={}", pki.ca_file.display()))
        .await
        .expect("amqps with the ca alias");
    let e = round_trip(&front, &creds, "").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[tokio::test]
async fn amqps_mutual_tls() {
    let Some((up, creds)) = broker() else { return };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &up, true).await.unwrap();
    let ca = format!("&ca_file={}", pki.ca_file.display());
    let e = round_trip(&front, &creds, &ca).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "no client certificate: {e}");
    round_trip(
        &front,
        &creds,
        &format!(
            "{ca}&client_cert={}&client_key={}",
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    )
    .await
    .expect("amqps with a client certificate");
}

#[test]
fn plaintext_refused_off_loopback() {
    let e = gureum_amqp::AmqpConfig::from_url(
        &ResourceUrl::parse("amqp://u:p@mq.city.example/v?queue=q").unwrap(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    for allow in ["allow_http=true", "allow_plaintext=true"] {
        assert!(gureum_amqp::AmqpConfig::from_url(
            &ResourceUrl::parse(&format!("amqp://u:p@mq.city.example/v?queue=q&{allow}")).unwrap(),
        )
        .is_ok());
    }
}
