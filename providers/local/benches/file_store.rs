//! file:// storage: `FileStore` (what `file://` buckets use) vs raw `object_store`
//! `LocalFileSystem` on the same disk, and `Bucket` over each.
//!
//! `cargo bench -p gureum-local --bench file_store`
//!
//! Knobs: `FS_BENCH_OPS` (objects per variant, default 2000), `FS_BENCH_SIZE` (bytes, default
//! 4096), `FS_BENCH_DIR` (where to create the temporary directories, default the system temp
//! directory). Without `--bench` (e.g. `cargo test --benches`) it does a tiny smoke run.
//!
//! It then measures the cost of durable writes (`file://...?durable=true`: the data file and
//! its directory fsynced before a put returns): puts of 4 KiB and 1 MiB, durable vs not,
//! `FS_BENCH_DURABLE_OPS` objects per size (default 300 for 4 KiB, 60 for 1 MiB).

use bytes::Bytes;
use gureum_local::storage::FileStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Times {
    put: Duration,
    get: Duration,
    list: Duration,
    delete: Duration,
}

async fn run(store: Arc<dyn ObjectStore>, ops: usize, body: &Bytes) -> Times {
    let keys: Vec<Path> = (0..ops)
        .map(|i| Path::from(format!("d{:02}/obj-{i:06}", i % 16)))
        .collect();
    let t = Instant::now();
    for k in &keys {
        store
            .put(k, PutPayload::from_bytes(body.clone()))
            .await
            .unwrap();
    }
    let put = t.elapsed();
    let t = Instant::now();
    for k in &keys {
        let b = store.get(k).await.unwrap().bytes().await.unwrap();
        assert_eq!(b.len(), body.len());
    }
    let get = t.elapsed();
    let t = Instant::now();
    use futures::TryStreamExt;
    let n = store
        .list(None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, ops);
    let list = t.elapsed();
    let t = Instant::now();
    for k in &keys {
        store.delete(k).await.unwrap();
    }
    let delete = t.elapsed();
    Times {
        put,
        get,
        list,
        delete,
    }
}

fn per_op(d: Duration, ops: usize) -> f64 {
    d.as_secs_f64() * 1e6 / ops as f64
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let ops = if bench {
        env_usize("FS_BENCH_OPS", 2000)
    } else {
        20
    };
    let size = env_usize("FS_BENCH_SIZE", 4096);
    let body = Bytes::from(vec![0x5au8; size]);
    let base = std::env::var("FS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let d1 = tempfile::tempdir_in(&base).unwrap();
        let d2 = tempfile::tempdir_in(&base).unwrap();
        let raw: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(d1.path()).unwrap());
        let ours: Arc<dyn ObjectStore> = Arc::new(FileStore::new(d2.path()).unwrap());
        // Warm up both once, then alternate to share disk/cache effects.
        let _ = run(raw.clone(), ops.min(100), &body).await;
        let _ = run(ours.clone(), ops.min(100), &body).await;
        let rounds = if bench { 3 } else { 1 };
        let mut r = Vec::new();
        let mut o = Vec::new();
        for _ in 0..rounds {
            r.push(run(raw.clone(), ops, &body).await);
            o.push(run(ours.clone(), ops, &body).await);
        }
        let best = |v: &[Times], f: fn(&Times) -> Duration| v.iter().map(f).min().unwrap();
        println!(
            "file_store bench: {ops} objects of {size} bytes, best of {rounds} rounds, dir {}",
            base.display()
        );
        println!(
            "{:<8} {:>14} {:>14} {:>8}",
            "op", "LocalFS µs/op", "FileStore µs/op", "ratio"
        );
        for (name, f) in [
            ("put", (|t: &Times| t.put) as fn(&Times) -> Duration),
            ("get", |t: &Times| t.get),
            ("list", |t: &Times| t.list),
            ("delete", |t: &Times| t.delete),
        ] {
            let a = per_op(best(&r, f), ops);
            let b = per_op(best(&o, f), ops);
            println!("{name:<8} {a:>14.2} {b:>14.2} {:>7.2}x", b / a);
        }
        durable_cost(&base, bench).await;
    });
}

/// Puts of 4 KiB and 1 MiB on `FileStore` with and without durability (fsync of the file
/// and its directory), alternating, best of 3 rounds.
async fn durable_cost(base: &std::path::Path, bench: bool) {
    println!(
        "durable puts (fsync file + directory) vs plain, best of 3 rounds, dir {}",
        base.display()
    );
    println!(
        "{:<8} {:>6} {:>14} {:>14} {:>8}",
        "size", "ops", "plain µs/op", "durable µs/op", "ratio"
    );
    for (label, size, default_ops) in [("4 KiB", 4096usize, 300usize), ("1 MiB", 1 << 20, 60)] {
        let ops = if bench {
            env_usize("FS_BENCH_DURABLE_OPS", default_ops)
        } else {
            3
        };
        let body = Bytes::from(vec![0xa5u8; size]);
        let mut best = [Duration::MAX, Duration::MAX];
        for round in 0..if bench { 3 } else { 1 } {
            for (i, durable) in [false, true].into_iter().enumerate() {
                let d = tempfile::tempdir_in(base).unwrap();
                let store = FileStore::with_durability(d.path(), durable).unwrap();
                assert_eq!(store.is_durable(), durable);
                let t = Instant::now();
                for k in 0..ops {
                    store
                        .put(
                            &Path::from(format!("r{round}/obj-{k:05}")),
                            PutPayload::from_bytes(body.clone()),
                        )
                        .await
                        .unwrap();
                }
                best[i] = best[i].min(t.elapsed());
            }
        }
        let (a, b) = (per_op(best[0], ops), per_op(best[1], ops));
        println!("{label:<8} {ops:>6} {a:>14.1} {b:>14.1} {:>7.2}x", b / a);
    }
}
