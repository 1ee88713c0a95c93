//! Encryption layer against plaintext on the same backend:
//!
//! * `large/*`: put and get of one 64 MiB object on file:// (the issue's ≥ 80 % goal);
//! * `small/*`: put + get of one 1 KiB object on file:// and mem:// (cost per small object);
//! * `seal/*`: the AES-256-GCM segment encryption alone, in memory.
//!
//! Run: `cargo bench -p gureum-crypto --bench encrypt` (results and machine load in
//! docs/benchmarks.md). The key file provider is used, so no key manager round trip is timed;
//! with a remote provider the data-key cache makes that one call per `cache_uses` objects.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gureum::layers::BucketLayerExt;
use gureum::Bucket;
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::EncryptionLayer;
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Env {
    _dir: tempfile::TempDir,
    plain: Bucket,
    enc: Bucket,
    mem_plain: Bucket,
    mem_enc: Bucket,
}

fn env(rt: &tokio::runtime::Runtime) -> Env {
    let dir = tempfile::tempdir_in(
        std::env::var("GUREUM_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()),
    )
    .unwrap();
    let key = dir.path().join("bench.key");
    KeyFile::create(&key, "bench").unwrap();
    let layer = EncryptionLayer::new(KeyFile::open(&key).unwrap());
    rt.block_on(async {
        let open = |name: &str| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            let url = format!("file://{}", d.display());
            async move { gureum::open_bucket(&url).await }
        };
        let plain = open("plain").await.unwrap();
        let enc = open("enc").await.unwrap().layer(layer.clone());
        let mem_plain = gureum::open_bucket("mem://bench-plain").await.unwrap();
        let mem_enc = gureum::open_bucket("mem://bench-enc")
            .await
            .unwrap()
            .layer(layer.clone());
        Env {
            _dir: dir,
            plain,
            enc,
            mem_plain,
            mem_enc,
        }
    })
}

fn data(n: usize) -> Bytes {
    (0..n)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn large(c: &mut Criterion) {
    let rt = rt();
    let e = env(&rt);
    let body = data(64 * 1024 * 1024);
    let mut g = c.benchmark_group("large");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Bytes(body.len() as u64));
    for (label, b) in [("plaintext", &e.plain), ("encrypted", &e.enc)] {
        g.bench_function(BenchmarkId::new("put_64MiB_file", label), |bn| {
            bn.to_async(&rt)
                .iter(|| async { b.put("big", body.clone()).await.unwrap() })
        });
        rt.block_on(b.put("big", body.clone())).unwrap();
        g.bench_function(BenchmarkId::new("get_64MiB_file", label), |bn| {
            bn.to_async(&rt).iter(|| async {
                let got = b.get("big").await.unwrap();
                assert_eq!(got.len(), 64 * 1024 * 1024);
            })
        });
    }
    g.finish();
}

fn small(c: &mut Criterion) {
    let rt = rt();
    let e = env(&rt);
    let body = data(1024);
    let mut g = c.benchmark_group("small");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    for (label, b) in [
        ("file_plaintext", &e.plain),
        ("file_encrypted", &e.enc),
        ("mem_plaintext", &e.mem_plain),
        ("mem_encrypted", &e.mem_enc),
    ] {
        g.bench_function(BenchmarkId::new("put_get_1KiB", label), |bn| {
            bn.to_async(&rt).iter(|| async {
                b.put("small", body.clone()).await.unwrap();
                let got = b.get("small").await.unwrap();
                assert_eq!(got.len(), 1024);
            })
        });
    }
    g.finish();
}

fn seal(c: &mut Criterion) {
    use gureum_crypto::format::{Header, SegmentKeys};
    use gureum_crypto::{DataKey, WrappedKey};
    let dek = DataKey::generate().unwrap();
    let header = Header::new(WrappedKey {
        kind: "bench".into(),
        kek_id: "k".into(),
        version: 1,
        blob: vec![0; 68],
    })
    .unwrap();
    let keys = SegmentKeys::derive(&dek, &header, "b", "k").unwrap();
    let mut g = c.benchmark_group("seal");
    let n = 64 * 1024 * 1024;
    g.sample_size(10).throughput(Throughput::Bytes(n as u64));
    let plain = data(n);
    g.bench_function("segments_64MiB_one_core", |bn| {
        bn.iter(|| {
            let mut seg = Vec::with_capacity(65536 + 16);
            for (i, c) in plain.chunks(65536).enumerate() {
                seg.clear();
                seg.extend_from_slice(c);
                keys.seal_segment(i as u64, false, &mut seg).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, seal, small, large);
criterion_main!(benches);
