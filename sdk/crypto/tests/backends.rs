//! The encryption layer on the emulated clouds: the storage conformance suite with the layer
//! on S3 (moto), Swift (SAIO) and Azure Blob (Azurite); the queue suite with encrypted bodies
//! on Azure Queue (Azurite); raw reads through plain clients (boto3, swiftclient, the raw
//! object_store) that find no plaintext; and the OpenBao transit and AWS KMS (moto) key
//! providers end to end (round trip, wrong key, tamper, KEK rotation and rewrap).
//!
//! Each test needs its server's variables from `scripts/emulators.sh env` and skips visibly
//! without them (fails when GUREUM_REQUIRE_EMULATORS=1).

use bytes::Bytes;
use gureum::layers::{BucketLayerExt, QueueLayerExt};
use gureum::object_store::path::Path;
use gureum::{Bucket, ErrorKind, Message};
use gureum_conformance::{queue as queue_suite, storage, Options, Report};
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::{EncryptedStore, EncryptionLayer};
use gureum_testkit::env;

const SECRET: &str = "주민등록번호 900101-1234567 김서울 중구 세종대로 110";

fn keyfile_layer(dir: &tempfile::TempDir) -> EncryptionLayer {
    let p = dir.path().join("city.key");
    if !p.exists() {
        KeyFile::create(&p, "seoul-records").unwrap();
    }
    EncryptionLayer::new(KeyFile::open(&p).unwrap())
}

fn check(name: &str, report: &Report, allowed_failures: &[&str]) {
    println!("== {name}\n{}", report.to_text());
    assert_eq!(report.failures(), allowed_failures, "{name}");
    assert!(report.cases().count() >= 100, "{name}: too few cases");
}

fn secret_body() -> Bytes {
    Bytes::from(SECRET.repeat(3000))
}

/// Put the secret through the encrypted bucket and check the plain bucket (same store, no
/// layer) sees only ciphertext of the stored size.
async fn put_secret(enc: &Bucket, raw: &Bucket, key: &str) {
    let body = secret_body();
    enc.put(key, body.clone()).await.unwrap();
    assert_eq!(enc.get(key).await.unwrap(), body);
    assert_eq!(enc.head(key).await.unwrap().size, body.len() as u64);
    let stored = raw.get(key).await.unwrap();
    assert_eq!(
        stored.len() as u64,
        gureum_crypto::format::stored_size(body.len() as u64)
    );
    assert_no_plaintext(&stored, "raw object_store");
}

fn assert_no_plaintext(stored: &[u8], via: &str) {
    assert!(
        stored.starts_with(b"GRMCRYPT"),
        "{via}: no encryption header"
    );
    for probe in ["주민등록번호", "900101-1234567", "김서울"] {
        assert!(
            !stored.windows(probe.len()).any(|w| w == probe.as_bytes()),
            "{via}: plaintext {probe:?} reached the backend"
        );
    }
}

fn python(script: &str, envs: &[(&str, &str)]) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .envs(envs.iter().copied())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_moto_encrypted_conformance_and_boto3_sees_ciphertext() {
    let Some(moto) = env::moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = env::unique("gcf-enc");
    let cfg = gureum::aws::S3Config::new(&name)
        .endpoint(&moto.endpoint)
        .region("us-east-1")
        .credentials(gureum::aws::AwsCredentials::static_keys(
            moto.access_key.clone(),
            moto.secret_key.clone(),
        ))
        .quirks(
            gureum::aws::S3Quirks::aws()
                .metadata_underscore(false)
                .metadata_underscore_multipart(false),
        );
    let raw = gureum::aws::open_s3(cfg).await.unwrap();
    raw.admin().unwrap().create_bucket(&name).await.unwrap();
    let enc = raw.clone().layer(keyfile_layer(&dir));
    let report = storage::run(&enc, &Options::default().backend("s3 (moto) + encrypt")).await;
    // moto folds `_` in metadata names (the same exception as without the layer).
    check(
        "s3 (moto) + encrypt",
        &report,
        &["storage.metadata_names_and_values_exact"],
    );

    put_secret(&enc, &raw, "민원/secret.txt").await;
    let got = python(
        "import boto3,os,sys\n\
         s3=boto3.client('s3',endpoint_url=os.environ['EP'],region_name='us-east-1',aws_access_key_id=os.environ['AK'],aws_secret_access_key=os.environ['SK'])\n\
         sys.stdout.buffer.write(s3.get_object(Bucket=os.environ['B'],Key=os.environ['K'])['Body'].read())",
        &[
            ("EP", &moto.endpoint),
            ("AK", &moto.access_key),
            ("SK", &moto.secret_key),
            ("B", &name),
            ("K", "민원/secret.txt"),
        ],
    );
    assert_no_plaintext(&got, "boto3");
    enc.delete("민원/secret.txt").await.unwrap();
    raw.admin().unwrap().delete_bucket(&name).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_encrypted_conformance_and_swiftclient_sees_ciphertext() {
    let Some(swift) = env::swift() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = env::unique("gcf-enc");
    let raw = gureum::open_bucket(&swift.url(&name)).await.unwrap();
    raw.admin().unwrap().create_bucket(&name).await.unwrap();
    let enc = raw.clone().layer(keyfile_layer(&dir));
    let report = storage::run(&enc, &Options::default().backend("swift (SAIO) + encrypt")).await;
    check("swift + encrypt", &report, &[]);

    put_secret(&enc, &raw, "민원/secret.txt").await;
    let out = std::process::Command::new("swift")
        .args([
            "-A",
            &swift.auth_url,
            "-U",
            &swift.user,
            "-K",
            &swift.key,
            "download",
            &name,
            "민원/secret.txt",
            "-o",
            "-",
        ])
        .output()
        .expect("swift (python3-swiftclient)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_plaintext(&out.stdout, "swiftclient");
    enc.delete("민원/secret.txt").await.unwrap();
    raw.admin().unwrap().delete_bucket(&name).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_blob_encrypted_conformance_and_raw_store_sees_ciphertext() {
    if env::azurite("AZURITE_BLOB_STORAGE_URL").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = env::unique("gcf-enc");
    let raw = gureum::open_bucket(&format!("azblob://{name}?emulator=true&create=true"))
        .await
        .unwrap();
    let enc = raw.clone().layer(keyfile_layer(&dir));
    let report = storage::run(
        &enc,
        &Options::default().backend("azblob (Azurite) + encrypt"),
    )
    .await;
    check("azblob + encrypt", &report, &[]);
    put_secret(&enc, &raw, "민원/secret.txt").await;
    enc.delete("민원/secret.txt").await.unwrap();
    raw.admin().unwrap().delete_bucket(&name).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_queue_encrypted_conformance() {
    if env::azurite("AZURITE_QUEUE_STORAGE_URL").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = env::unique("gcf-encq");
    let raw = gureum::open_queue(&format!("azqueue://{name}?emulator=true&create=true"))
        .await
        .unwrap();
    let q = raw.clone().layer(keyfile_layer(&dir));
    let report = queue_suite::run(
        &q,
        &Options::default().backend("azqueue (Azurite) + encrypt"),
    )
    .await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "{:?}", report.failures());
    assert!(report.cases().count() >= 30);
    q.send(Message::new(SECRET)).await.unwrap();
    let got = raw.receive(1).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(!got[0]
        .body
        .windows(12)
        .any(|w| w == &SECRET.as_bytes()[..12]));
    raw.ack(&got[0]).await.unwrap();
    raw.admin().unwrap().delete_queue(&name).await.ok();
}

/// A bucket in a temporary directory (file://) for the key provider tests.
async fn file_bucket(dir: &tempfile::TempDir) -> Bucket {
    let d = dir.path().join("bucket");
    std::fs::create_dir_all(&d).unwrap();
    gureum::open_bucket(&format!("file://{}", d.display()))
        .await
        .unwrap()
}

async fn bao(
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let addr = std::env::var("BAO_ADDR").unwrap();
    let token = std::env::var("BAO_TOKEN").unwrap();
    let mut r = reqwest::Client::new()
        .request(method, format!("{addr}/v1/{path}"))
        .header("X-Vault-Token", token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    assert!(
        resp.status().is_success(),
        "openbao {path}: {}",
        resp.status()
    );
    resp.json().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbao_transit_round_trip_wrong_key_tamper_and_rotation() {
    let Some(addr) = env::var("BAO_ADDR") else {
        return;
    };
    env::assert_loopback(&addr);
    if env::var("BAO_TOKEN").is_none() {
        return;
    }
    let hostport = addr.trim_start_matches("http://").trim_end_matches('/');
    let key = env::unique("gt-kek");
    bao(
        reqwest::Method::POST,
        &format!("transit/keys/{key}"),
        Some(serde_json::json!({"type": "aes256-gcm96"})),
    )
    .await;
    let url = format!("openbao://{hostport}/transit/{key}?cache_uses=1");
    let layer = EncryptionLayer::open(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let raw = file_bucket(&dir).await;
    let enc = raw.clone().layer(layer.clone());
    put_secret(&enc, &raw, "a.txt").await;
    enc.put("b.txt", "second").await.unwrap();
    assert_eq!(
        layer.keys().cache.stats().wraps,
        2,
        "cache_uses=1: one data key per object"
    );
    let h = raw.head("a.txt").await.unwrap();
    assert_eq!(
        h.metadata.get("gureum-kek").map(String::as_str),
        Some(&*format!("openbao:transit/{key}"))
    );
    assert_eq!(
        h.metadata.get("gureum-kek-version").map(String::as_str),
        Some("1")
    );
    // Queue bodies too.
    let qdir = tempfile::tempdir().unwrap();
    let q = gureum::open_queue(&format!(
        "sqlite://{}/q.db?queue=enc",
        qdir.path().display()
    ))
    .await
    .unwrap()
    .layer(layer.clone());
    q.send(Message::new(SECRET)).await.unwrap();
    let m = q.receive(1).await.unwrap();
    assert_eq!(&m[0].body[..], SECRET.as_bytes());
    q.ack(&m[0]).await.unwrap();

    // Wrong key: another transit key.
    let other = env::unique("gt-kek");
    bao(
        reqwest::Method::POST,
        &format!("transit/keys/{other}"),
        None,
    )
    .await;
    let wrong = raw.clone().layer(
        EncryptionLayer::open(&format!("openbao://{hostport}/transit/{other}"))
            .await
            .unwrap(),
    );
    assert_eq!(
        wrong.get("a.txt").await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // A token without rights: PermissionDenied from the server.
    let policy_token = bao(
        reqwest::Method::POST,
        "auth/token/create",
        Some(serde_json::json!({"policies": ["default"], "ttl": "5m"})),
    )
    .await["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    std::env::set_var("GT_WEAK_TOKEN", &policy_token);
    let weak = raw.clone().layer(
        EncryptionLayer::open(&format!(
            "openbao://{hostport}/transit/{key}?token_env=GT_WEAK_TOKEN"
        ))
        .await
        .unwrap(),
    );
    assert_eq!(
        weak.get("a.txt").await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // Tampered wrapped key (inside the header): the server's authentication fails.
    let store: EncryptedStore = layer.store(raw.object_store(), raw.name());
    let mut stored = raw.get("a.txt").await.unwrap().to_vec();
    let h = store.read_header(&Path::from("a.txt")).await.unwrap();
    let blob_at = stored
        .windows(h.key.blob.len())
        .position(|w| w == &h.key.blob[..])
        .unwrap();
    // Flip a character of the base64 ciphertext (after "vault:v1:").
    let i = blob_at + 20;
    stored[i] = if stored[i] == b'A' { b'B' } else { b'A' };
    raw.put("t.txt", stored).await.unwrap();
    let fresh = raw
        .clone()
        .layer(EncryptionLayer::open(&url).await.unwrap());
    let e = fresh.get("t.txt").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");

    // KEK rotation on the server, then rewrap without re-encrypting.
    bao(
        reqwest::Method::POST,
        &format!("transit/keys/{key}/rotate"),
        None,
    )
    .await;
    let layer2 = EncryptionLayer::open(&url).await.unwrap();
    let store2 = layer2.store(raw.object_store(), raw.name());
    let before = raw.get("a.txt").await.unwrap();
    let (old, new) = store2.rewrap(&Path::from("a.txt")).await.unwrap().unwrap();
    assert_eq!((old.version, new.version), (1, 2));
    let after = raw.get("a.txt").await.unwrap();
    assert_eq!(before[512..], after[512..], "data not re-encrypted");
    let enc2 = raw.clone().layer(layer2);
    assert_eq!(enc2.get("a.txt").await.unwrap(), secret_body());
    // With version 1 retired on the server, the rewrapped object reads, the other does not.
    bao(
        reqwest::Method::POST,
        &format!("transit/keys/{key}/config"),
        Some(serde_json::json!({"min_decryption_version": 2})),
    )
    .await;
    let enc3 = raw
        .clone()
        .layer(EncryptionLayer::open(&url).await.unwrap());
    assert_eq!(enc3.get("a.txt").await.unwrap(), secret_body());
    assert!(enc3.get("b.txt").await.is_err());
}

fn kms_create_key(ep: &str) -> String {
    let out = python(
        "import boto3,os\n\
         k=boto3.client('kms',endpoint_url=os.environ['EP'],region_name='us-east-1')\n\
         print(k.create_key(Description='gureum test KEK')['KeyMetadata']['KeyId'])",
        &[("EP", ep)],
    );
    String::from_utf8(out).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_kms_on_moto_round_trip_wrong_key_and_tamper() {
    let Some(moto) = env::moto() else { return };
    let key = kms_create_key(&moto.endpoint);
    let url = format!("awskms://{key}?region=us-east-1&endpoint={}", moto.endpoint);
    let layer = EncryptionLayer::open(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let raw = file_bucket(&dir).await;
    let enc = raw.clone().layer(layer.clone());
    put_secret(&enc, &raw, "a.txt").await;
    let big = Bytes::from(vec![7u8; 3 * 65536 + 5]);
    enc.put("big", big.clone()).await.unwrap();
    assert_eq!(
        enc.get_range("big", 65530..131080).await.unwrap(),
        big.slice(65530..131080)
    );
    // Readers in another process have no cache: a fresh layer unwraps through KMS.
    let reader = raw
        .clone()
        .layer(EncryptionLayer::open(&url).await.unwrap());
    assert_eq!(reader.get("a.txt").await.unwrap(), secret_body());
    let h = raw.head("a.txt").await.unwrap();
    assert_eq!(
        h.metadata.get("gureum-kek").map(String::as_str),
        Some(&*format!("awskms:{key}"))
    );
    // Queue bodies.
    let qdir = tempfile::tempdir().unwrap();
    let q = gureum::open_queue(&format!(
        "sqlite://{}/q.db?queue=enc",
        qdir.path().display()
    ))
    .await
    .unwrap()
    .layer(layer.clone());
    q.send(Message::new(SECRET)).await.unwrap();
    let m = q.receive(1).await.unwrap();
    assert_eq!(&m[0].body[..], SECRET.as_bytes());
    q.ack(&m[0]).await.unwrap();

    // Wrong key: another KMS key.
    let key2 = kms_create_key(&moto.endpoint);
    let url2 = format!(
        "awskms://{key2}?region=us-east-1&endpoint={}",
        moto.endpoint
    );
    let wrong = raw
        .clone()
        .layer(EncryptionLayer::open(&url2).await.unwrap());
    assert_eq!(
        wrong.get("a.txt").await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // Tampered wrapped key: KMS refuses the ciphertext.
    let store = layer.store(raw.object_store(), raw.name());
    let h = store.read_header(&Path::from("a.txt")).await.unwrap();
    let mut stored = raw.get("a.txt").await.unwrap().to_vec();
    let at = stored
        .windows(h.key.blob.len())
        .position(|w| w == &h.key.blob[..])
        .unwrap();
    let n = h.key.blob.len();
    stored[at + n - 3] ^= 0x55;
    raw.put("t.txt", stored).await.unwrap();
    let fresh = raw
        .clone()
        .layer(EncryptionLayer::open(&url).await.unwrap());
    let e = fresh.get("t.txt").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Integrity | ErrorKind::PermissionDenied),
        "{e}"
    );

    // Rotation to a new KMS key: the new key alone cannot unwrap old data keys; rewrapping
    // with the old key as the source moves the object over without re-encrypting it.
    let new_layer = EncryptionLayer::open(&url2).await.unwrap();
    let new_store = new_layer.store(raw.object_store(), raw.name());
    let p = Path::from("a.txt");
    assert_eq!(
        new_store.rewrap(&p).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let before = raw.get("a.txt").await.unwrap();
    let (old, new) = new_store
        .rewrap_from(&p, Some(layer.keys()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.kek_id.as_str(), new.kek_id.as_str()),
        (key.as_str(), key2.as_str())
    );
    let after = raw.get("a.txt").await.unwrap();
    assert_eq!(before[512..], after[512..], "data not re-encrypted");
    let on_new = raw
        .clone()
        .layer(EncryptionLayer::open(&url2).await.unwrap());
    assert_eq!(on_new.get("a.txt").await.unwrap(), secret_body());
    let on_old = raw
        .clone()
        .layer(EncryptionLayer::open(&url).await.unwrap());
    assert_eq!(
        on_old.get("a.txt").await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}
