//! `gureum encrypt keygen` and `gureum encrypt rotate` on a file:// bucket: a KEK version is
//! added, rotation rewraps every object (data untouched), a second run finds nothing to do,
//! and a wrong key is reported per object with a non-zero exit.

use gureum::layers::BucketLayerExt;
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::EncryptionLayer;
use std::process::Command;

fn gureum(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .args(args)
        .env_remove("GUREUM_STORAGE_URL")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("records.key");
    let keys = key.display().to_string();
    let o = gureum(&["encrypt", "keygen", &keys, "--id", "seoul-records"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        gureum(&["encrypt", "keygen", &keys]).status.code(),
        Some(8),
        "exists"
    );

    let bdir = dir.path().join("records");
    std::fs::create_dir_all(&bdir).unwrap();
    let url = format!("file://{}", bdir.display());
    let raw = gureum::open_bucket(&url).await.unwrap();
    let enc = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&key).unwrap()));
    for i in 0..3 {
        enc.put(&format!("민원/{i}.json"), format!("{{\"n\":{i}}}"))
            .await
            .unwrap();
    }
    let before = raw.get("민원/1.json").await.unwrap();

    let o = gureum(&["encrypt", "keygen", &keys, "--add-version"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("version 2"));
    let key_url = format!("keyfile://{keys}");
    let o = gureum(&[
        "--json",
        "encrypt",
        "rotate",
        &url,
        "--key",
        &key_url,
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rewrapped"], 3);
    let o = gureum(&[
        "encrypt",
        "rotate",
        &format!("{url}#민원/"),
        "--key",
        &key_url,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("3 rewrapped"), "{text}");
    let after = raw.get("민원/1.json").await.unwrap();
    assert_eq!(before[512..], after[512..], "data re-encrypted");
    assert_ne!(before[..512], after[..512]);
    assert_eq!(
        raw.head("민원/1.json").await.unwrap().metadata["gureum-kek-version"],
        "2"
    );
    // Nothing left to do; the objects still read.
    let o = gureum(&["--json", "encrypt", "rotate", &url, "--key", &key_url]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["rewrapped"].as_u64(), v["current"].as_u64()),
        (Some(0), Some(3))
    );
    let enc = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&key).unwrap()));
    assert_eq!(&enc.get("민원/2.json").await.unwrap()[..], b"{\"n\":2}");

    // Another key file (same KEK id, version 3, other secrets): every object needs a rewrap
    // and every unwrap fails, with a hint and exit 1.
    let other = dir.path().join("other.key");
    let mut o = KeyFile::create(&other, "seoul-records").unwrap();
    o.add_version().unwrap();
    o.add_version().unwrap();
    let o = gureum(&[
        "encrypt",
        "rotate",
        &url,
        "--key",
        &format!("keyfile://{}", other.display()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("3 failed") && text.contains("--from"),
        "{text}"
    );
}
