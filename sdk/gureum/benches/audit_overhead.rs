//! Access-record overhead: 4 KiB puts to `file://` with and without `audit=file://...`
//! stacked (goal: at most 10 % slower).
//!
//! ```text
//! cargo bench -p gureum --bench audit_overhead
//! ```
//!
//! A benchmark, not a timed test: it prints numbers and never fails on them. Both buckets are
//! opened through `gureum::open_bucket` on the same file system, one plain and one with
//! `audit=file://…&audit_key=…` (the record on the same disk, a signed checkpoint every 64
//! entries, the default). Rounds interleave the two sides, alternating which goes first;
//! reported: the median wall ns/op of each side and the median of the per-round ratios
//! (audited / plain), which cancels slow drift of the shared machine.
//!
//! Knobs: `BENCH_ROUNDS` (default 31), `BENCH_OPS` (puts per side per round, default 500),
//! `BENCH_AUDIT_KEY=ed25519` (sign checkpoints with an Ed25519 key instead of HMAC-SHA256).
//! Results: docs/benchmarks.md, "access record overhead".

use gureum::Bytes;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

async fn puts(b: &gureum::Bucket, body: &Bytes, ops: usize, round: usize) -> f64 {
    let t = Instant::now();
    for i in 0..ops {
        // Overwrite a bounded key set: the file system's work stays the same every round.
        let key = format!("bench/{:04}.bin", (i + round) % 256);
        std::hint::black_box(b.put(&key, body.clone()).await.unwrap());
    }
    t.elapsed().as_nanos() as f64 / ops as f64
}

fn main() {
    let as_bench = std::env::args().any(|a| a == "--bench");
    let rounds = if as_bench {
        env_usize("BENCH_ROUNDS", 31)
    } else {
        3
    };
    let ops = if as_bench {
        env_usize("BENCH_OPS", 500)
    } else {
        20
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let ed25519 = std::env::var("BENCH_AUDIT_KEY").is_ok_and(|v| v == "ed25519");
    let key = if ed25519 {
        format!("ed25519-secret:{}", "5a".repeat(32))
    } else {
        "bench-audit-key-0123456789abcdef".to_string()
    };
    std::fs::write(dir.path().join("k"), key).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let plain = gureum::open_bucket(&format!("file://{d}/plain"))
            .await
            .unwrap();
        let audited = gureum::open_bucket(&format!(
            "file://{d}/audited?audit=file://{d}/audit.jsonl&audit_key=file://{d}/k"
        ))
        .await
        .unwrap();
        assert_eq!(audited.layers(), ["audit"]);
        let body = Bytes::from(vec![0x5au8; 4096]);
        // Warm up both (directories, page cache).
        puts(&plain, &body, ops, 0).await;
        puts(&audited, &body, ops, 0).await;
        let (mut p, mut a, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let (x, y) = if r % 2 == 0 {
                let x = puts(&plain, &body, ops, r).await;
                (x, puts(&audited, &body, ops, r).await)
            } else {
                let y = puts(&audited, &body, ops, r).await;
                (puts(&plain, &body, ops, r).await, y)
            };
            p.push(x);
            a.push(y);
            ratio.push(y / x);
        }
        let (pm, am, rm) = (median(&mut p), median(&mut a), median(&mut ratio));
        println!(
            "4 KiB put to file://: plain {:.1} µs/op, with audit ({}) {:.1} µs/op, ratio {:.3} \
             (overhead {:+.1} %; {rounds} rounds x {ops} puts; goal <= +10 %)",
            pm / 1000.0,
            if ed25519 { "Ed25519" } else { "HMAC" },
            am / 1000.0,
            rm,
            (rm - 1.0) * 100.0
        );
    });
}
