//! The encryption layer over the embedded backends (file://, mem://, sqlite://) with a key
//! file: conformance with the layer on, only ciphertext stored, tamper / truncate / reorder /
//! swap / wrong key, sizes, rotation, the data-key cache.

use bytes::Bytes;
use gureum::layers::{BucketLayerExt, QueueLayerExt};
use gureum::object_store::path::Path;
use gureum::object_store::ObjectStoreExt;
use gureum::{Bucket, ByteRange, ErrorKind, Message, PutOptions};
use gureum_conformance::{queue as queue_suite, storage, Options, Status};
use gureum_crypto::format::{plain_size, stored_size, HEADER_LEN, SEGMENT_LEN, STORED_SEGMENT_LEN};
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::{CacheLimits, EncryptedStore, EncryptionLayer};
use std::sync::Arc;

fn pattern(n: usize, seed: u8) -> Bytes {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_be_bytes()[0] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let key = root.join("city.key");
    KeyFile::create(&key, "seoul-records").unwrap();
    Fixture {
        _dir: dir,
        root,
        key,
    }
}

impl Fixture {
    fn layer(&self) -> EncryptionLayer {
        EncryptionLayer::new(KeyFile::open(&self.key).unwrap())
    }
    async fn raw(&self, name: &str) -> Bucket {
        let dir = self.root.join("storage").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        gureum::open_bucket(&format!("file://{}", dir.display()))
            .await
            .unwrap()
    }
    async fn enc(&self, name: &str) -> Bucket {
        self.raw(name).await.layer(self.layer())
    }
    /// The raw bucket `name` on file:// (`mem` false) or on a mem:// store of this fixture.
    async fn raw_on(&self, name: &str, mem: bool) -> Bucket {
        if !mem {
            return self.raw(name).await;
        }
        let tag = self.root.file_name().unwrap().to_string_lossy().to_string();
        gureum::open_bucket(&format!("mem://{tag}-{name}"))
            .await
            .unwrap()
    }
    async fn enc_on(&self, name: &str, mem: bool) -> Bucket {
        self.raw_on(name, mem).await.layer(self.layer())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_conformance_with_encryption_on_file_and_mem() {
    let f = fixture();
    for (label, b) in [
        ("file:// + encrypt", f.enc("conformance").await),
        (
            "mem:// + encrypt",
            gureum::open_bucket(&format!("mem://enc-{}", uuid::Uuid::new_v4().simple()))
                .await
                .unwrap()
                .layer(f.layer()),
        ),
    ] {
        let report = storage::run(&b, &Options::default().backend(label)).await;
        println!("{}", report.to_text());
        assert_eq!(report.failed(), 0, "{label}: {:?}", report.failures());
        assert!(report.cases().count() >= 100, "{label}");
        // Presigned URLs would hand out ciphertext: the layer removes them.
        assert_eq!(
            report.status("storage.presign_get"),
            Some(Status::Unsupported)
        );
        assert!(
            b.list_all(None).await.unwrap().is_empty(),
            "{label}: left objects"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_conformance_with_encrypted_bodies_on_sqlite() {
    let f = fixture();
    let url = format!("sqlite://{}/queue.db?queue=conformance", f.root.display());
    let raw = gureum::open_queue(&url).await.unwrap();
    let q = raw.clone().layer(f.layer());
    let report = queue_suite::run(&q, &Options::default().backend("sqlite:// + encrypt")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "{:?}", report.failures());
    assert!(report.cases().count() >= 30);

    // Only ciphertext in the queue underneath.
    let secret = b"resident registration 900101-1234567";
    q.send(Message::new(&secret[..]).attribute("kind", "record"))
        .await
        .unwrap();
    let got = raw.receive(1).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(!got[0].body.windows(10).any(|w| w == &secret[..10]));
    assert!(got[0].body.starts_with(b"GRMQ"));
    assert_eq!(
        got[0].attributes.get("kind").map(String::as_str),
        Some("record")
    );
    raw.nack(&got[0], std::time::Duration::ZERO).await.unwrap();
    let m = q.receive(1).await.unwrap();
    assert_eq!(&m[0].body[..], &secret[..]);
    q.ack(&m[0]).await.unwrap();

    // A tampered body is Integrity; a body from another key file is PermissionDenied.
    let sealed = gureum_crypto::EncryptedQueue::new(raw.driver().clone(), f.layer().keys().clone())
        .seal(b"x")
        .await
        .unwrap();
    let mut bad = sealed.to_vec();
    let n = bad.len();
    bad[n - 20] ^= 1;
    raw.send(Message::new(bad)).await.unwrap();
    let e = q.receive(1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    raw.purge().await.unwrap();
    let other = f.root.join("other.key");
    KeyFile::create(&other, "seoul-records").unwrap();
    q.send(Message::new(&b"x"[..])).await.unwrap();
    let q2 = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&other).unwrap()));
    let e = q2.receive(1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    raw.purge().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_ciphertext_reaches_the_store_and_sizes_are_plaintext() {
    let f = fixture();
    let enc = f.enc("plain-check").await;
    let raw = f.raw("plain-check").await;
    let secret = "주민등록번호 900101-1234567, 서울특별시 중구 세종대로 110".repeat(5000);
    let sizes = [
        0usize,
        1,
        100,
        SEGMENT_LEN - 1,
        SEGMENT_LEN,
        SEGMENT_LEN + 1,
        secret.len(),
    ];
    for n in sizes {
        let data = Bytes::copy_from_slice(&secret.as_bytes()[..n]);
        let k = format!("민원/{n}.txt");
        enc.put_with(
            &k,
            data.clone(),
            &PutOptions::default()
                .content_type("text/plain")
                .metadata("owner", "seoul"),
        )
        .await
        .unwrap();
        assert_eq!(enc.get(&k).await.unwrap(), data, "{n}");
        let h = enc.head(&k).await.unwrap();
        assert_eq!(h.size, n as u64);
        assert_eq!(h.content_type.as_deref(), Some("text/plain"));
        assert_eq!(h.metadata.get("owner").map(String::as_str), Some("seoul"));
        assert!(
            !h.metadata.contains_key("gureum-kek"),
            "layer metadata leaked: {:?}",
            h.metadata
        );
        // The file on disk: header, no plaintext, stored size.
        let stored = raw.get(&k).await.unwrap();
        assert_eq!(stored.len() as u64, stored_size(n as u64));
        assert_eq!(plain_size(stored.len() as u64), Some(n as u64));
        assert!(stored.starts_with(b"GRMCRYPT"));
        if n >= 16 {
            let probe = &data[..16];
            assert!(
                !stored.windows(16).any(|w| w == probe),
                "plaintext found in {k}"
            );
        }
        let rh = raw.head(&k).await.unwrap();
        assert_eq!(
            rh.metadata.get("gureum-kek").map(String::as_str),
            Some("keyfile:seoul-records")
        );
        assert_eq!(
            rh.metadata.get("gureum-kek-version").map(String::as_str),
            Some("1")
        );
    }
    // Also no plaintext anywhere in the files under the bucket directory.
    let mut files = vec![f.root.join("storage/plain-check")];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let b = std::fs::read(&p).unwrap();
            assert!(
                !b.windows(18).any(|w| w == "주민등록번호".as_bytes()),
                "{}",
                p.display()
            );
        }
    }
    let listed = enc.list_all(Some("민원/")).await.unwrap();
    let mut want: Vec<u64> = sizes.iter().map(|n| *n as u64).collect();
    want.sort();
    let mut got: Vec<u64> = listed.iter().map(|o| o.size).collect();
    got.sort();
    assert_eq!(got, want, "listing reports plaintext sizes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_decrypt_only_touched_segments_and_stream_large_objects() {
    let f = fixture();
    let enc = f.enc("ranges").await;
    let raw = f.raw("ranges").await;
    let data = pattern(20 * 1024 * 1024 + 12345, 9);
    // Multipart writer (streaming, bounded memory), 1 MiB + 17 byte writes.
    let mut w = enc.writer("big", &PutOptions::default()).await.unwrap();
    for c in data.chunks(1024 * 1024 + 17) {
        w.write(c).await.unwrap();
    }
    w.finish().await.unwrap();
    assert_eq!(enc.head("big").await.unwrap().size, data.len() as u64);
    assert_eq!(
        raw.head("big").await.unwrap().size,
        stored_size(data.len() as u64)
    );
    for (a, b) in [
        (0u64, 1u64),
        (5, 70_000),
        (65_535, 65_537),
        (10_000_000, 10_000_001),
        (data.len() as u64 - 3, data.len() as u64),
    ] {
        let g = enc.get_range("big", a..b).await.unwrap();
        assert_eq!(g, data.slice(a as usize..b as usize), "{a}..{b}");
    }
    let g = enc
        .get_range("big", ByteRange::Suffix(100_000))
        .await
        .unwrap();
    assert_eq!(g, data.slice(data.len() - 100_000..));
    let g = enc
        .get_range("big", ByteRange::From(20 * 1024 * 1024))
        .await
        .unwrap();
    assert_eq!(g, data.slice(20 * 1024 * 1024..));
    // Streaming read equals the data.
    let mut s = enc.get_stream("big").await.unwrap();
    let mut n = 0usize;
    use futures::StreamExt;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        assert!(c.len() <= SEGMENT_LEN);
        assert_eq!(c, data.slice(n..n + c.len()));
        n += c.len();
    }
    assert_eq!(n, data.len());

    // A damaged segment far from a range does not affect that range; a range over it fails.
    let path = Path::from("big");
    let mut stored = raw.get("big").await.unwrap().to_vec();
    let seg = 100usize;
    stored[HEADER_LEN + seg * STORED_SEGMENT_LEN + 5] ^= 0x40;
    raw.put("big", stored).await.unwrap();
    assert_eq!(
        enc.get_range("big", 0..1000).await.unwrap(),
        data.slice(0..1000)
    );
    let a = (seg * SEGMENT_LEN) as u64;
    let e = enc.get_range("big", a..a + 10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let e = enc.get("big").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let _ = path;
}

/// Store `stored` raw under `key` and expect reading it through the layer to fail with `kind`.
async fn expect_read_fails(
    enc: &Bucket,
    raw: &Bucket,
    key: &str,
    stored: Vec<u8>,
    kind: ErrorKind,
    what: &str,
) {
    raw.put(key, stored).await.unwrap();
    let e = enc.get(key).await.expect_err(what);
    assert_eq!(e.kind(), kind, "{what}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_truncate_reorder_swap_and_wrong_key_are_detected() {
    // file:// reads through the layer's file path (blocks decrypted on blocking threads),
    // mem:// through its stream path: both must catch every attack.
    attacks(&fixture(), false).await;
    attacks(&fixture(), true).await;
}

async fn attacks(f: &Fixture, mem: bool) {
    let enc = f.enc_on("attacks", mem).await;
    let raw = f.raw_on("attacks", mem).await;
    let data = pattern(3 * SEGMENT_LEN + 100, 1);
    enc.put("a", data.clone()).await.unwrap();
    enc.put("b", pattern(3 * SEGMENT_LEN + 100, 2))
        .await
        .unwrap();
    let good = raw.get("a").await.unwrap().to_vec();
    let seg = |i: usize| HEADER_LEN + i * STORED_SEGMENT_LEN;

    // Tampering: a flipped bit anywhere (header field, header padding, key block, segment,
    // tag) is caught.
    for (off, what) in [
        (20, "salt"),
        (48, "nonce prefix"),
        (55, "header tag"),
        (HEADER_LEN - 1, "header padding"),
        (seg(0) + 3, "segment 0"),
        (seg(2) + STORED_SEGMENT_LEN - 1, "tag of segment 2"),
        (good.len() - 1, "last tag"),
    ] {
        let mut t = good.clone();
        t[off] ^= 1;
        expect_read_fails(&enc, &raw, "t", t, ErrorKind::Integrity, what).await;
    }
    // Not encrypted at all.
    expect_read_fails(
        &enc,
        &raw,
        "t",
        b"plain text".to_vec(),
        ErrorKind::Integrity,
        "plaintext object",
    )
    .await;
    // Truncation: at a segment boundary (the remaining last segment was not sealed as last),
    // inside a segment, inside the header.
    expect_read_fails(
        &enc,
        &raw,
        "t",
        good[..seg(3)].to_vec(),
        ErrorKind::Integrity,
        "cut at a segment boundary",
    )
    .await;
    expect_read_fails(
        &enc,
        &raw,
        "t",
        good[..seg(2) + 100].to_vec(),
        ErrorKind::Integrity,
        "cut inside a segment",
    )
    .await;
    expect_read_fails(
        &enc,
        &raw,
        "t",
        good[..100].to_vec(),
        ErrorKind::Integrity,
        "cut inside the header",
    )
    .await;
    // Cut down to the header and one tag: the size of an empty object, but its one segment
    // was not sealed empty.
    expect_read_fails(
        &enc,
        &raw,
        "t",
        good[..seg(0) + 16].to_vec(),
        ErrorKind::Integrity,
        "cut to the size of an empty object",
    )
    .await;
    // Appended garbage.
    let mut longer = good.clone();
    longer.extend_from_slice(&[0u8; 40]);
    expect_read_fails(&enc, &raw, "t", longer, ErrorKind::Integrity, "extended").await;
    // Reordering: segments 0 and 1 swapped.
    let mut r = good.clone();
    let (s0, s1) = (good[seg(0)..seg(1)].to_vec(), good[seg(1)..seg(2)].to_vec());
    r[seg(0)..seg(1)].copy_from_slice(&s1);
    r[seg(1)..seg(2)].copy_from_slice(&s0);
    expect_read_fails(
        &enc,
        &raw,
        "t",
        r,
        ErrorKind::Integrity,
        "reordered segments",
    )
    .await;
    // A segment of another object spliced in.
    let other = raw.get("b").await.unwrap();
    let mut sp = good.clone();
    sp[seg(1)..seg(2)].copy_from_slice(&other[seg(1)..seg(2)]);
    expect_read_fails(
        &enc,
        &raw,
        "t",
        sp,
        ErrorKind::Integrity,
        "segment from another object",
    )
    .await;
    // Swapping: object a's bytes stored under key b (same bucket), and under the same key in
    // another bucket.
    expect_read_fails(
        &enc,
        &raw,
        "b",
        good.clone(),
        ErrorKind::Integrity,
        "object moved to another key",
    )
    .await;
    let enc2 = f.enc_on("attacks-elsewhere", mem).await;
    let raw2 = f.raw_on("attacks-elsewhere", mem).await;
    expect_read_fails(
        &enc2,
        &raw2,
        "a",
        good.clone(),
        ErrorKind::Integrity,
        "object moved to another bucket",
    )
    .await;
    // ...unless the layer is told the binding it was written with.
    let rebound = f
        .raw_on("attacks-elsewhere", mem)
        .await
        .layer(f.layer().binding(raw.name()));
    assert_eq!(rebound.get("a").await.unwrap(), data);
    // Range reads hit the same checks.
    raw.put("t", good[..seg(3)].to_vec()).await.unwrap();
    let e = enc
        .get_range("t", (2 * SEGMENT_LEN) as u64..(2 * SEGMENT_LEN + 5) as u64)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");

    // Wrong key: another key file (same KEK id, other secret), another KEK id, a missing
    // version.
    let other = f.root.join("other.key");
    KeyFile::create(&other, "seoul-records").unwrap();
    let wrong = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&other).unwrap()));
    let e = wrong.get("a").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let e = wrong.get_range("a", 5..10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let third = f.root.join("third.key");
    KeyFile::create(&third, "busan-records").unwrap();
    let wrong = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&third).unwrap()));
    let e = wrong.get("a").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(!e.to_string().contains("secret ="), "{e}");
    // The right key still reads it.
    assert_eq!(enc.get("a").await.unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_without_reencrypting_and_the_cache_has_limits() {
    let f = fixture();
    let raw = f.raw("rotate").await;
    let layer = EncryptionLayer::with_provider(
        Arc::new(KeyFile::open(&f.key).unwrap()),
        CacheLimits {
            max_uses: 2,
            ..CacheLimits::default()
        },
    );
    let enc = raw.clone().layer(layer.clone());
    for i in 0..5 {
        enc.put(&format!("o{i}"), pattern(100_000 + i, i as u8))
            .await
            .unwrap();
    }
    // 5 objects, at most 2 per data key: 3 data keys wrapped.
    assert_eq!(layer.keys().cache.stats().wraps, 3);
    let before = raw.get("o3").await.unwrap();

    // A new KEK version; objects still read; rewrap moves them to version 2.
    let mut kf = KeyFile::open(&f.key).unwrap();
    assert_eq!(kf.add_version().unwrap(), 2);
    let layer2 = EncryptionLayer::new(KeyFile::open(&f.key).unwrap());
    let enc2 = raw.clone().layer(layer2.clone());
    assert_eq!(enc2.get("o3").await.unwrap(), pattern(100_003, 3));
    let store: EncryptedStore = layer2.store(raw.object_store(), "rotate");
    let p = Path::from("o3");
    assert_eq!(store.read_header(&p).await.unwrap().key.version, 1);
    let (old, new) = store
        .rewrap(&p)
        .await
        .unwrap()
        .expect("stale object rewrapped");
    assert_eq!((old.version, new.version), (1, 2));
    assert!(
        store.rewrap(&p).await.unwrap().is_none(),
        "second rewrap is a no-op"
    );
    let after = raw.get("o3").await.unwrap();
    assert_eq!(before.len(), after.len());
    assert_ne!(
        before[..HEADER_LEN],
        after[..HEADER_LEN],
        "header rewritten"
    );
    assert_eq!(
        before[HEADER_LEN..],
        after[HEADER_LEN..],
        "data not re-encrypted"
    );
    assert_eq!(
        raw.head("o3")
            .await
            .unwrap()
            .metadata
            .get("gureum-kek-version")
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(enc2.get("o3").await.unwrap(), pattern(100_003, 3));
    // Once every object is rewrapped, version 1 can go: a key file with only version 2 still
    // reads the rewrapped object but not the others (PermissionDenied names the version).
    let text = std::fs::read_to_string(&f.key).unwrap();
    let v2_only: String = {
        let i = text.find("[[key]]").unwrap();
        let j = text[i + 7..].find("[[key]]").unwrap() + i + 7;
        format!("{}{}", &text[..i], &text[j..])
    };
    let k2 = f.root.join("v2-only.key");
    std::fs::write(&k2, v2_only).unwrap();
    let only2 = raw
        .clone()
        .layer(EncryptionLayer::new(KeyFile::open(&k2).unwrap()));
    assert_eq!(only2.get("o3").await.unwrap(), pattern(100_003, 3));
    let e = only2.get("o1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(e.to_string().contains("version 1"), "{e}");
    let _ = raw.object_store().head(&p).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_url_parameter_stacks_the_layer_on_buckets_and_queues() {
    let f = fixture();
    let key = format!("keyfile://{}", f.key.display());
    let enc_param: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let dir = f.root.join("storage").join("by-url");
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("file://{}?encrypt={enc_param}", dir.display());
    let b = gureum::open_bucket(&url).await.unwrap();
    assert!(b.is_encrypted());
    assert!(!b.capabilities().presign);
    b.put("민원/a.txt", "주민등록번호 900101-1234567")
        .await
        .unwrap();
    assert_eq!(
        &b.get("민원/a.txt").await.unwrap()[..],
        "주민등록번호 900101-1234567".as_bytes()
    );
    let raw = f.raw("by-url").await;
    assert!(!raw.is_encrypted());
    let stored = raw.get("민원/a.txt").await.unwrap();
    assert!(stored.starts_with(b"GRMCRYPT"));
    // A malformed key provider URL fails at open.
    let bad = format!("file://{}?encrypt=nonsense", dir.display());
    assert_eq!(
        gureum::open_bucket(&bad).await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let missing = format!(
        "file://{}?encrypt=keyfile%3A%2F%2F%2Fno%2Fsuch.key",
        dir.display()
    );
    assert_eq!(
        gureum::open_bucket(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Queues.
    let qurl = format!(
        "sqlite://{}/q.db?queue=by-url&encrypt={enc_param}",
        f.root.display()
    );
    let q = gureum::open_queue(&qurl).await.unwrap();
    assert!(q.is_encrypted());
    q.send(Message::new(&b"secret body"[..])).await.unwrap();
    let rawq = gureum::open_queue(&format!("sqlite://{}/q.db?queue=by-url", f.root.display()))
        .await
        .unwrap();
    let m = rawq.receive(1).await.unwrap();
    assert!(m[0].body.starts_with(b"GRMQ"));
    rawq.nack(&m[0], std::time::Duration::ZERO).await.unwrap();
    let m = q.receive(1).await.unwrap();
    assert_eq!(&m[0].body[..], b"secret body");
    q.ack(&m[0]).await.unwrap();
}
