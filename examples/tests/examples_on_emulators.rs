//! The open-data publisher on S3 (moto) with its presigned links downloaded over HTTP, and the
//! nightly batch fleet on EC2 (moto) — the same binaries as on the embedded defaults, switched
//! by URL only. Needs `--features aws` and AWS_ENDPOINT_URL (from `scripts/emulators.sh env`);
//! skipped without it unless GUREUM_REQUIRE_EMULATORS=1.
#![cfg(feature = "aws")]

use std::io::{Read, Write};
use std::process::{Command, Output};

fn run_bin(exe: &str, envs: &[(&str, String)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(exe);
    c.current_dir(dir.path())
        .env("GUREUM_CONFIG", dir.path().join("none.toml"))
        .env_remove("GUREUM_DATA_DIR")
        .env_remove("GUREUM_STORAGE_URL")
        .env_remove("GUREUM_QUEUE_URL")
        .env_remove("GUREUM_COMPUTE_URL")
        .env_remove("GUREUM_PROFILE");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(o: Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// A plain HTTP/1.0 GET of a loopback URL: (status, body).
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&buf[..end]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, buf[end + 4..].to_vec())
}

fn moto() -> Option<(String, String)> {
    let endpoint = gureum_testkit::env::var("AWS_ENDPOINT_URL")?;
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into());
    Some((endpoint, region))
}

#[tokio::test]
async fn open_data_publisher_on_moto_s3_with_presigned_links() {
    let Some((endpoint, region)) = moto() else {
        return;
    };
    let name = format!("open-data-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let url = format!("s3://{name}?region={region}&endpoint={endpoint}&allow_http=true");
    let b = gureum::open_bucket(&url).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let out = ok(run_bin(
        env!("CARGO_BIN_EXE_open_data_publisher"),
        &[
            ("GUREUM_STORAGE_URL", url.clone()),
            ("OPEN_DATA_DATE", "2026-11-26".into()),
            ("OPEN_DATA_LINK_SECS", "600".into()),
        ],
    ));
    assert!(out.contains("storage: s3://"), "{out}");
    assert!(out.contains("links: presigned, valid for 600 s"), "{out}");
    let index: serde_json::Value =
        serde_json::from_slice(&b.get("traffic/2026-11-26/index.json").await.unwrap()).unwrap();
    let files = index["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        // Anyone with the link downloads the file, without credentials.
        let link = f["download_url"].as_str().expect("a presigned link");
        let (status, body) = http_get(link);
        assert_eq!(status, 200, "{link}");
        let key = f["key"].as_str().unwrap();
        assert_eq!(body, b.get(key).await.unwrap().to_vec(), "{key}");
        assert_eq!(body.len() as u64, f["bytes"].as_u64().unwrap());
    }
    // A link to a key that was not published does not exist.
    let (status, _) = http_get(&format!(
        "{endpoint}/{name}/traffic/2026-11-26/raw-readings.csv"
    ));
    assert!(status == 403 || status == 404, "{status}");
}

#[test]
fn nightly_batch_on_moto_ec2() {
    let Some((endpoint, region)) = moto() else {
        return;
    };
    let out = ok(run_bin(
        env!("CARGO_BIN_EXE_nightly_batch"),
        &[
            (
                "GUREUM_COMPUTE_URL",
                format!("ec2://{region}?endpoint={endpoint}&image.ubuntu-22.04=ami-12c6146b"),
            ),
            ("GUREUM_STORAGE_URL", "mem://batch-reports".into()),
            ("BATCH_WORKERS", "2".into()),
            ("BATCH_VCPUS", "1".into()),
            ("BATCH_MEMORY_GIB", "1".into()),
        ],
    ));
    assert!(
        out.contains("compute: ec2://; 2 workers of t2.micro on ami-12c6146b"),
        "{out}"
    );
    assert!(
        out.contains("created 2, running 2, listed by tag 2, terminated 2, left over 0"),
        "{out}"
    );
}
