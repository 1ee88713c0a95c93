//! Transport tests: Blob (object_store data path + Storage REST) and Queue (Storage REST)
//! through a loopback TLS front (test CA from `gureum_testkit::tls`) in front of Azurite:
//! `ca_file=` works, an unknown CA is `ErrorKind::Tls`, mutual TLS needs `client_cert=` +
//! `client_key=`.

use gureum_core::{ErrorKind, Message, Registry};
use gureum_testkit::tls::{TestPki, TlsFront};

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn upstream(u: &str) -> String {
    u.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

struct Fronts {
    blob: TlsFront,
    queue: TlsFront,
}

fn params(f: &Fronts, extra: &str) -> String {
    format!(
        "account=devstoreaccount1&endpoint={}/devstoreaccount1&queue_endpoint={}/devstoreaccount1&access_key={}{extra}",
        f.blob.https_url(),
        f.queue.https_url(),
        urlencode(gureum_azure::auth::EMULATOR_ACCOUNT_KEY)
    )
}

async fn round_trip(f: &Fronts, extra: &str) -> gureum_core::Result<()> {
    let r = registry();
    let name = gureum_testkit::unique("gtls");
    let b = r
        .open_bucket(Some(&format!("azblob://{name}?{}", params(f, extra))))
        .await?;
    // Storage REST. The name is unique to this call, so AlreadyExists can only be our own first
    // attempt that timed out and was retried (Azurite stalls during big bulk deletes of
    // other tests running beside this one).
    match b.admin().unwrap().create_bucket(&name).await {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    b.put("tls/a.txt", b"city CA".to_vec()).await?; // object_store
    assert_eq!(&b.get("tls/a.txt").await?[..], b"city CA");
    let q = r
        .open_queue(Some(&format!(
            "azqueue://{name}?create=true&{}",
            params(f, extra)
        )))
        .await?;
    q.send(Message::new(b"hello".to_vec())).await?;
    Ok(())
}

async fn fronts(pki: &TestPki, mtls: bool) -> Option<Fronts> {
    let blob = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL")?;
    let queue = gureum_testkit::env::azurite("AZURITE_QUEUE_STORAGE_URL")?;
    Some(Fronts {
        blob: TlsFront::start(pki, &upstream(&blob), mtls).await.unwrap(),
        queue: TlsFront::start(pki, &upstream(&queue), mtls).await.unwrap(),
    })
}

#[tokio::test]
async fn blob_and_queue_over_custom_ca() {
    let pki = TestPki::new().unwrap();
    let Some(f) = fronts(&pki, false).await else {
        return;
    };
    round_trip(&f, &format!("&ca_file={}", pki.ca_file.display()))
        .await
        .expect("Azure over TLS with ca_file");
    let e = round_trip(&f, "").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    // The object_store data path alone (no REST call first).
    let name = gureum_testkit::unique("gtls");
    let b = registry()
        .open_bucket(Some(&format!("azblob://{name}?{}", params(&f, ""))))
        .await
        .unwrap();
    let e = b.get("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "object_store path: {e}");
}

#[tokio::test]
async fn blob_and_queue_mutual_tls() {
    let pki = TestPki::new().unwrap();
    let Some(f) = fronts(&pki, true).await else {
        return;
    };
    let ca = format!("&ca_file={}", pki.ca_file.display());
    let e = round_trip(&f, &ca).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "no client certificate: {e}");
    round_trip(
        &f,
        &format!(
            "{ca}&client_cert={}&client_key={}",
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    )
    .await
    .expect("Azure with a client certificate");
}
