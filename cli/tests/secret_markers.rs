//! Marker secrets in `gureum doctor` and in conformance reports (issue 15, item 4): an Azure
//! account key inside `connection_string=` and a SAS carrying a unique marker (Azurite refuses
//! both) never appear in doctor's text or JSON output, nor in the conformance runner's text,
//! JSON, Markdown, JUnit or HTML reports and its stderr summary. Needs `--features azure` and
//! Azurite; skipped without it unless GUREUM_REQUIRE_EMULATORS=1.
#![cfg(any(feature = "azure", feature = "full"))]

use gureum_testkit::secrets::MarkerScan;
use std::process::Command;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A syntactically valid account key (base64 of 64 bytes) that starts with the marker.
fn key_with(marker: &str) -> String {
    let mut s = marker.to_string();
    while s.len() < 86 {
        s.push('A');
    }
    s.push_str("==");
    s
}

fn gureum(dir: &std::path::Path, args: &[&str], scan: &mut MarkerScan) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .output()
        .unwrap();
    // The label names the command, never the URL (which holds the marker by design).
    let what: Vec<&str> = args
        .iter()
        .filter(|a| !a.contains("://"))
        .take(4)
        .copied()
        .collect();
    let what = what.join(" ");
    scan.text(
        &format!("{what} stdout"),
        &String::from_utf8_lossy(&o.stdout),
    );
    scan.text(
        &format!("{what} stderr"),
        &String::from_utf8_lossy(&o.stderr),
    );
    o
}

#[test]
fn marker_secrets_never_in_doctor_output_or_conformance_reports() {
    let Some(blob) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    let blob = blob.trim_end_matches('/').to_string();
    let mut scan = MarkerScan::new();
    let m = scan.marker().to_string();
    let key = key_with(&m);
    scan.also(key.clone());
    let dir = tempfile::tempdir().unwrap();
    let name = gureum_testkit::unique("gsm");
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={blob}/devstoreaccount1;"
    );
    let urls = [
        format!("azblob://{name}?connection_string={}", enc(&cs)),
        format!(
            "azblob://{name}?account=devstoreaccount1&endpoint={blob}/devstoreaccount1&sas={}",
            enc(&format!("sv=2020-08-04&sig={m}"))
        ),
    ];
    for u in &urls {
        let o = gureum(dir.path(), &["doctor", u], &mut scan);
        assert!(!o.status.success(), "doctor accepted a wrong key");
        gureum(dir.path(), &["--json", "doctor", u], &mut scan);
        for (format, file) in [
            ("text", "r.txt"),
            ("json", "r.json"),
            ("markdown", "r.md"),
            ("junit", "r.xml"),
            ("html", "r.html"),
        ] {
            let out = dir.path().join(file);
            gureum(
                dir.path(),
                &[
                    "conformance",
                    "--storage",
                    u,
                    "--only",
                    "storage.put_get_small,storage.empty_object",
                    "--format",
                    format,
                    "--output",
                    out.to_str().unwrap(),
                ],
                &mut scan,
            );
            let report = std::fs::read_to_string(&out).unwrap_or_default();
            assert!(!report.is_empty(), "no {format} report");
            scan.text(&format!("report {format}"), &report);
        }
    }
    // The reports name the backend (redacted) and carry the failures.
    assert!(
        scan.shown().contains("devstoreaccount1"),
        "{}",
        scan.shown()
    );
    scan.assert_clean();
}
