//! Transport tests: Swift (tempauth auth + object API) through a loopback TLS front (test CA
//! from `gureum_testkit::tls`) in front of the SAIO on :8080: `ca_file=` (and OpenStack's
//! `cacert=` alias) works, an unknown CA is `ErrorKind::Tls`, mutual TLS needs
//! `client_cert=` + `client_key=`.

use gureum_core::{ErrorKind, ResourceUrl};
use gureum_testkit::tls::{TestPki, TlsFront};

fn upstream(auth_url: &str) -> String {
    let u = url::Url::parse(auth_url).unwrap();
    format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(80))
}

async fn round_trip(front: &TlsFront, extra: &str) -> gureum_core::Result<()> {
    let s = gureum_testkit::env::swift().unwrap();
    let container = gureum_testkit::unique("gtls");
    // tempauth answers with its own plain X-Storage-Url; `storage_url` points the object
    // API at the front too (as a city would put its private endpoint there).
    let url = format!(
        "swift://{container}?auth_url={}/auth/v1.0&user={}&key={}&storage_url={}/v1/AUTH_test{extra}",
        front.https_url(),
        s.user,
        s.key,
        front.https_url()
    );
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url)?).await?;
    b.admin().unwrap().create_bucket(&container).await?;
    b.put("tls/a.txt", b"city CA".to_vec()).await?;
    assert_eq!(&b.get("tls/a.txt").await?[..], b"city CA");
    Ok(())
}

#[tokio::test]
async fn swift_over_custom_ca() {
    let Some(s) = gureum_testkit::env::swift() else {
        return;
    };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &upstream(&s.auth_url), false)
        .await
        .unwrap();
    round_trip(&front, &format!("&ca_file={}", pki.ca_file.display()))
        .await
        .expect("Swift over TLS with ca_file");
    round_trip(&front, &format!("&cacert={}", pki.ca_file.display()))
        .await
        .expect("Swift over TLS with the cacert alias");
    let e = round_trip(&front, "").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(e.message().contains("ca_file"), "{e}");
}

#[tokio::test]
async fn swift_mutual_tls() {
    let Some(s) = gureum_testkit::env::swift() else {
        return;
    };
    let pki = TestPki::new().unwrap();
    let front = TlsFront::start(&pki, &upstream(&s.auth_url), true)
        .await
        .unwrap();
    let ca = format!("&ca_file={}", pki.ca_file.display());
    let e = round_trip(&front, &ca).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "no client certificate: {e}");
    round_trip(
        &front,
        &format!(
            "{ca}&client_cert={}&client_key={}",
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    )
    .await
    .expect("Swift with a client certificate");
}

#[test]
fn plain_http_refused_off_loopback() {
    let url =
        ResourceUrl::parse("swift://c?auth_url=http://keystone.city.example:5000/v3&user=u&key=k")
            .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(gureum_openstack::open_swift(&url)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
}
