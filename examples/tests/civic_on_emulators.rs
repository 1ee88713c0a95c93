//! The same civic-complaints binary on S3 + SQS + EC2 (moto), switched by URL only.
//! Needs `--features aws` and AWS_ENDPOINT_URL (from `scripts/emulators.sh env`).
#![cfg(feature = "aws")]

use std::process::Command;

#[tokio::test]
async fn civic_complaints_on_moto_s3_and_sqs() {
    // The shared emulator gate: skip without moto, fail in CI (GUREUM_REQUIRE_EMULATORS=1).
    let Some(endpoint) = gureum_testkit::env::var("AWS_ENDPOINT_URL") else {
        return;
    };
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into());
    let name = format!("civic-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let common = format!("region={region}&endpoint={endpoint}&allow_http=true");
    let storage = format!("s3://{name}?{common}");
    let queue = format!("sqs://{name}?{common}&create=true");
    // Create the bucket through the portable admin API.
    let b = gureum::open_bucket(&storage).await.unwrap();
    match b.admin().unwrap().create_bucket(&name).await {
        Ok(()) => {}
        Err(e) if e.kind() == gureum::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create bucket: {e}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |policy: Option<&std::path::Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_civic_complaints"));
        c.current_dir(dir.path())
            .env("GUREUM_CONFIG", dir.path().join("none.toml"))
            .env("GUREUM_STORAGE_URL", &storage)
            .env("GUREUM_QUEUE_URL", &queue)
            // OCR workers on EC2 (moto), the portable image alias mapped in the URL.
            .env(
                "GUREUM_COMPUTE_URL",
                format!("ec2://{region}?endpoint={endpoint}&image.ubuntu-22.04=ami-12c6146b"),
            )
            .env("CIVIC_DEADLINE_SECS", "60")
            .env_remove("GUREUM_POLICY");
        if let Some(p) = policy {
            c.env("GUREUM_POLICY", p);
        }
        c.output().unwrap()
    };
    // Complaints are personal data and s3:// is a foreign zone: the default policy refuses
    // before any byte is written.
    let o = run(None);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error[policy_violation]"), "{err}");
    assert!(b.list_all(None).await.unwrap().is_empty());
    // The city declares this S3-compatible store its own (on-prem): the same binary runs.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[zones]\n\"s3://civic-\" = \"on-prem\"\n").unwrap();
    let o = run(Some(&policy));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("storage: s3://"), "{out}");
    assert!(out.contains("processed 4, results read back 4"), "{out}");
    assert!(
        out.contains(
            "OCR workers: 2 running on ec2:// (size t2.micro, image ami-12c6146b), 2 terminated"
        ),
        "{out}"
    );
    assert_eq!(b.list_all(Some("results/")).await.unwrap().len(), 4);
}
