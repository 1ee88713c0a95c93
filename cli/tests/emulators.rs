//! The same commands on S3 and SQS (moto). Needs `--features aws` and AWS_ENDPOINT_URL
//! (from `scripts/emulators.sh env`); skipped without it unless GUREUM_REQUIRE_EMULATORS=1.
#![cfg(feature = "aws")]

use std::process::{Command, Output};

fn gureum(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = gureum(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[tokio::test]
async fn cli_on_moto_s3_and_sqs() {
    // The shared emulator gate: skip without moto, fail in CI (GUREUM_REQUIRE_EMULATORS=1).
    let Some(endpoint) = gureum_testkit::env::var("AWS_ENDPOINT_URL") else {
        return;
    };
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let name = format!("gureum-cli-{}", std::process::id());
    let common = format!("region={region}&endpoint={endpoint}&allow_http=true");
    let s3 = format!("s3://{name}?{common}");
    let b = gureum::open_bucket(&s3).await.unwrap();
    match b.admin().unwrap().create_bucket(&name).await {
        Ok(()) => {}
        Err(e) if e.kind() == gureum::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create bucket: {e}"),
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // 9 MiB: goes through the multipart writer.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i >> 3) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    ok(dir, &["cp", "big.bin", &format!("{s3}#민원/a b/big.bin")]);
    ok(dir, &["cp", &format!("{s3}#민원/a b/big.bin"), "back.bin"]);
    assert!(std::fs::read(dir.join("back.bin")).unwrap() == big);
    // Across backends: S3 -> file://.
    let file = format!("file://{}/bkt", dir.display());
    ok(
        dir,
        &[
            "cp",
            &format!("{s3}#민원/a b/big.bin"),
            &format!("{file}#copy.bin"),
        ],
    );
    let st = ok(dir, &["--json", "stat", &format!("{file}#copy.bin")]);
    assert!(st.contains(&format!("\"size\":{}", big.len())), "{st}");
    let ls = ok(dir, &["ls", &s3]);
    assert!(ls.contains("PRE  민원/"), "{ls}");
    let o = gureum(dir, &["cat", &format!("{s3}#missing")]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error[not_found]: ") && err.lines().count() == 1,
        "{err}"
    );
    ok(dir, &["rm", "-r", &format!("{s3}#민원/")]);
    assert_eq!(ok(dir, &["ls", "-r", &s3]), "");

    let sqs = format!("sqs://{name}?{common}&create=true");
    ok(dir, &["queue", "send", &sqs, "민원 c-1041"]);
    let got = ok(dir, &["queue", "receive", &sqs, "--ack", "--wait", "5"]);
    assert_eq!(got, "민원 c-1041\n");
    let doc = ok(dir, &["doctor", &s3]);
    assert!(doc.contains("storage  ok"), "{doc}");
}
