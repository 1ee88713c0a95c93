//! Ed25519 checkpoints end to end through the `gureum` binary: a bucket opened by URL with an
//! `ed25519-secret:` audit key writes the record; `gureum audit public-key` prints the public
//! key; `gureum audit verify` holding only that public key accepts the record and fails a
//! tampered one (exit 9); a writer given the public key cannot write; an HMAC key has no
//! public key (exit 2).

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn gureum(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .env("GUREUM_DATA_DIR", dir.join("state"))
        .env_remove("GUREUM_PROFILE")
        .env_remove("GUREUM_AUDIT_KEY")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = gureum(dir, args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "gureum {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[tokio::test]
async fn ed25519_record_verifies_with_the_public_key_only() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let key = dir.join("audit.key");
    std::fs::write(&key, format!("ed25519-secret:{}\n", "7a".repeat(32))).unwrap();
    let rec = dir.join("audit.jsonl");
    let key_url = format!("file://{}", key.display());
    let url = format!(
        "file://{}/data?audit=file://{}&audit_key={key_url}&audit_checkpoint=2",
        dir.display(),
        rec.display()
    );
    {
        let b = gureum::open_bucket(&url).await.unwrap();
        for i in 0..5 {
            b.put(&format!("민원/{i}.json"), b"{}".to_vec())
                .await
                .unwrap();
        }
    } // the last handle closes the record with a checkpoint

    let pk = ok(dir, &["audit", "public-key", "--key", &key_url]);
    let pk = pk.trim();
    assert!(
        pk.starts_with("ed25519-public:") && pk.len() == "ed25519-public:".len() + 64,
        "{pk}"
    );
    assert!(!pk.contains(&"7a".repeat(32)), "the secret in the output");
    let pubf = dir.join("audit.pub");
    std::fs::write(&pubf, format!("{pk}\n")).unwrap();
    let rec_url = format!("file://{}", rec.display());
    let pub_url = format!("file://{}", pubf.display());
    ok(dir, &["audit", "verify", &rec_url, "--key", &pub_url]);

    // A writer holding only the public key cannot write a record.
    let url_pub = url.replace(&key_url, &pub_url);
    let refused = match gureum::open_bucket(&url_pub).await {
        Err(_) => true,
        Ok(b) => b.put("x.json", b"{}".to_vec()).await.is_err(),
    };
    assert!(refused, "a public key signed checkpoints");

    // One entry edited: verify with the public key fails with the integrity exit code.
    let text = std::fs::read_to_string(&rec).unwrap();
    let tampered = text.replacen("민원/1.json", "민원/9.json", 1);
    assert_ne!(text, tampered, "the record names the keys");
    std::fs::write(&rec, tampered).unwrap();
    let o = gureum(dir, &["audit", "verify", &rec_url, "--key", &pub_url]);
    assert_eq!(
        o.status.code(),
        Some(9),
        "tampered record: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // An HMAC key has no public part.
    let hk = dir.join("hmac.key");
    std::fs::write(&hk, "city-audit-hmac-key-0123456789").unwrap();
    let o = gureum(
        dir,
        &[
            "audit",
            "public-key",
            "--key",
            &format!("file://{}", hk.display()),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
