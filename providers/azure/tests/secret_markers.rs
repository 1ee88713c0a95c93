//! Marker secrets (issue 15, item 4, first part): credentials given by `connection_string=`,
//! `access_key=` and `sas=` never show in errors, `Debug` output, the redacted URL or log
//! lines (captured with a tracing subscriber at TRACE) while operations run against Azurite.

use gureum_core::{Registry, ResourceUrl};
use std::io::Write;
use std::sync::{Arc, Mutex};

const MARKER: &str = "SECRET-MARKER-7f3a";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn marker_secrets_never_shown() {
    let Some(blob) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    let logs = Captured::default();
    let w = logs.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || w.clone())
        .finish();
    let _g = tracing::subscriber::set_default(sub);
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    let name = gureum_testkit::unique("gsm");
    // A wrong (base64) key that contains the marker, a SAS with the marker, a connection
    // string with the marker: every operation fails, nothing may print the marker.
    let key = base64_marker();
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={}/devstoreaccount1;",
        blob.trim_end_matches('/')
    );
    let urls = [
        format!(
            "azblob://{name}?account=devstoreaccount1&endpoint={}/devstoreaccount1&access_key={}",
            blob.trim_end_matches('/'),
            enc(&key)
        ),
        format!(
            "azblob://{name}?account=devstoreaccount1&endpoint={}/devstoreaccount1&sas={}",
            blob.trim_end_matches('/'),
            enc(&format!("sv=2020-08-04&sig={MARKER}"))
        ),
        format!("azblob://{name}?connection_string={}", enc(&cs)),
    ];
    let mut shown = String::new();
    for u in &urls {
        let parsed = ResourceUrl::parse(u).unwrap();
        shown.push_str(&format!("{parsed} {parsed:?} {}\n", parsed.redacted()));
        match r.open_bucket(Some(u)).await {
            Ok(b) => {
                shown.push_str(&format!("{b:?}\n"));
                for e in [
                    b.put("k", b"v".to_vec()).await.err(),
                    b.get("k").await.err(),
                    b.admin().unwrap().list_buckets().await.err(),
                ]
                .into_iter()
                .flatten()
                {
                    shown.push_str(&format!("{e} {e:?}\n"));
                }
            }
            Err(e) => shown.push_str(&format!("{e} {e:?}\n")),
        }
    }
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(!shown.contains(MARKER), "marker in output:\n{shown}");
    assert!(!shown.contains(&key), "key in output:\n{shown}");
    assert!(!logs.contains(MARKER), "marker in logs:\n{logs}");
    assert!(!logs.contains(&key), "key in logs:\n{logs}");
    assert!(!shown.is_empty());
}

/// A syntactically valid account key (base64 of 64 bytes) carrying the marker text.
fn base64_marker() -> String {
    use std::fmt::Write as _;
    // Base64 alphabet only: the marker without '-' characters, padded.
    let mut s = String::from("SECRETMARKER7f3a");
    while s.len() < 88 - 2 {
        let _ = write!(s, "A");
    }
    s.push_str("==");
    s
}
