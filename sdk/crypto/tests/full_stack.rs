//! The three sovereignty layers stacked together by URL, as a city application opens them:
//! `class=sensitive` + `policy=` (placement), `audit=` (access record) and `encrypt=`
//! (client-side encryption) over `file://` and over S3 (moto).
//!
//! Checked: the policy refuses the domestic-CSAP zone for `sensitive` unless encryption is
//! stacked (and nothing is written then); with it, the stack opens in the documented order
//! (policy → audit → encryption → backend), the backend holds only ciphertext, the access
//! record names every operation with plaintext sizes and no contents, the record verifies,
//! and the storage conformance suite passes through the whole stack (it is transparent).

use gureum::{ErrorKind, PutOptions};
use gureum_conformance::{storage, Options};
use gureum_crypto::keyfile::KeyFile;
use gureum_layers::audit::{load_key, verify_spec, Entry};
use gureum_testkit::env;

const MARKER: &[u8] = "FULL-STACK-PLAINTEXT-MARKER 주민등록번호 900101-1234567".as_bytes();

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Stack {
    _dir: tempfile::TempDir,
    policy: String,
    record: std::path::PathBuf,
    audit_key: String,
    key_file: String,
}

impl Stack {
    fn new() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(
            &policy,
            "[classes]\nsensitive = { zones = [\"on-prem\"], encrypted_zones = [\"domestic-csap\"] }\n",
        )
        .unwrap();
        let audit_key = dir.path().join("audit.key");
        std::fs::write(&audit_key, "city-audit-key-full-stack-0123456789\n").unwrap();
        let key_file = dir.path().join("city.key");
        KeyFile::create(&key_file, "city-2026").unwrap();
        Stack {
            record: dir.path().join("audit/record.jsonl"),
            policy: policy.display().to_string(),
            audit_key: format!("file://{}", audit_key.display()),
            key_file: format!("keyfile://{}", key_file.display()),
            _dir: dir,
        }
    }

    /// The layer parameters for `base` (which already has a `?`), with or without encryption.
    fn url(&self, base: &str, encrypt: bool) -> String {
        let mut u = format!(
            "{base}&zone=domestic-csap&class=sensitive&policy={}&audit={}&audit_key={}&audit_principal=clerk-17&audit_checkpoint=8",
            enc(&self.policy),
            enc(&format!("file://{}", self.record.display())),
            enc(&self.audit_key),
        );
        if encrypt {
            u.push_str(&format!("&encrypt={}", enc(&self.key_file)));
        }
        u
    }

    fn entries(&self) -> Vec<Entry> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn verify(&self) {
        let reg = gureum::registry();
        let k = load_key(&self.audit_key).unwrap();
        let spec = format!("file://{}", self.record.display());
        let v = verify_spec(&spec, Some(&k), &reg).await.unwrap();
        assert!(v.ok(), "access record: {v:?}");
        assert!(v.entries > 0 && v.checkpoints > 0, "{v:?}");
    }
}

/// Open the stacked bucket over `base`: refused without encryption (nothing written, nothing
/// recorded as sent), opened with it; then the writes/reads every case checks.
async fn stacked(s: &Stack, base: &str, raw: &gureum::Bucket) -> gureum::Bucket {
    let e = gureum::open_bucket(&s.url(base, false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    assert!(e.message().contains("sensitive"), "{e}");
    assert!(
        raw.list_all(None).await.unwrap().is_empty(),
        "a refused open wrote something"
    );

    let b = gureum::open_bucket(&s.url(base, true)).await.unwrap();
    assert_eq!(
        b.layers(),
        ["encrypt", "audit", "policy"],
        "stack order (innermost first)"
    );
    assert!(b.is_encrypted());
    b.put_with(
        "민원/2026/11/c-1.json",
        MARKER.to_vec(),
        &PutOptions::default()
            .content_type("application/json")
            .metadata("owner", "civil-affairs"),
    )
    .await
    .unwrap();
    assert_eq!(&b.get("민원/2026/11/c-1.json").await.unwrap()[..], MARKER);
    let h = b.head("민원/2026/11/c-1.json").await.unwrap();
    assert_eq!(
        h.size,
        MARKER.len() as u64,
        "plaintext size through the stack"
    );
    assert_eq!(
        h.metadata.get("owner").map(String::as_str),
        Some("civil-affairs")
    );
    // The backend holds ciphertext only, under the same name.
    let stored = raw.get("민원/2026/11/c-1.json").await.unwrap();
    assert!(stored.len() > MARKER.len(), "framing and tag are stored");
    assert!(
        !stored
            .windows(16)
            .any(|w| MARKER.windows(16).any(|m| m == w)),
        "plaintext reached the backend"
    );
    b
}

fn check_record(s: &Stack) {
    let text = std::fs::read_to_string(&s.record).unwrap();
    assert!(
        !text.contains("FULL-STACK-PLAINTEXT-MARKER"),
        "contents in the record"
    );
    assert!(
        !text.contains("city-audit-key"),
        "the audit key in the record"
    );
    let es = s.entries();
    let put = es
        .iter()
        .find(|e| {
            e.op.as_deref() == Some("put") && e.key.as_deref() == Some("민원/2026/11/c-1.json")
        })
        .expect("the put is recorded");
    assert_eq!(put.outcome.as_deref(), Some("ok"));
    assert_eq!(
        put.bytes,
        Some(MARKER.len() as u64),
        "the record sees plaintext sizes"
    );
    assert_eq!(
        put.principal.as_ref().unwrap().id.as_deref(),
        Some("clerk-17")
    );
    assert!(es
        .iter()
        .any(|e| e.op.as_deref() == Some("get") && e.outcome.as_deref() == Some("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_audit_and_encryption_stacked_on_file() {
    let s = Stack::new();
    let data = tempfile::tempdir().unwrap();
    let base = format!("file://{}?", data.path().display());
    let raw = gureum::open_bucket(&base).await.unwrap();
    {
        let b = stacked(&s, &base, &raw).await;
        let report = storage::run(
            &b,
            &Options::default().backend("file + policy + audit + encrypt"),
        )
        .await;
        println!("{}", report.to_text());
        assert!(
            report.failures().is_empty(),
            "failures: {:?}",
            report.failures()
        );
    }
    check_record(&s);
    s.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_audit_and_encryption_stacked_on_s3_moto() {
    let Some(moto) = env::moto() else { return };
    env::aws_safe_env();
    let s = Stack::new();
    let name = env::unique("gfs");
    // moto's server drops metadata names with `_`: the S3 preset for it refuses them.
    let base = format!(
        "s3://{name}?endpoint={}&region=us-east-1&metadata_underscore=false",
        enc(&moto.endpoint)
    );
    let raw = match gureum::open_bucket(&base).await {
        Ok(b) => b,
        Err(e) => panic!("open {base}: {e}"),
    };
    raw.admin().unwrap().create_bucket(&name).await.unwrap();
    {
        let b = stacked(&s, &base, &raw).await;
        let report = storage::run(
            &b,
            &Options::default().backend("s3 (moto) + policy + audit + encrypt"),
        )
        .await;
        println!("{}", report.to_text());
        // moto folds `_` in metadata names and does not check presigned URL expiry: the same
        // exceptions as without the layers.
        for f in report.failures() {
            assert!(
                [
                    "storage.metadata_names_and_values_exact",
                    "storage.presign_expired_refused"
                ]
                .contains(&f),
                "unexpected failure {f}"
            );
        }
        b.delete("민원/2026/11/c-1.json").await.unwrap();
    }
    check_record(&s);
    s.verify().await;
    for o in raw.list_all(None).await.unwrap() {
        raw.delete(&o.key).await.ok();
    }
    raw.admin().unwrap().delete_bucket(&name).await.ok();
}
