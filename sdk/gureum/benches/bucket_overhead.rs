//! Bucket overhead vs raw `object_store` on the same backend (InMemory), 4 KiB objects.
//!
//! ```text
//! cargo bench -p gureum --bench bucket_overhead
//! ```
//!
//! A benchmark, not a timed test: it prints numbers and never fails on them. Both sides start
//! from a `&str` key and a 4 KiB `Bytes` body (raw: `Path::from(key)` + `put`/`get` +
//! `bytes()`; gureum: `Bucket::put` / `Bucket::get`, which add portable-key encoding,
//! options, the size check and error mapping). Rounds interleave the two sides, alternating
//! which goes first, in one process and one current-thread runtime. Reported per operation:
//! the median ns/op of each side over the rounds, and the median of the per-round ratios
//! (gureum / raw), which cancels slow drift of the machine.
//!
//! Knobs: `BENCH_ROUNDS` (default 101), `BENCH_OPS` (operations per side per round, default
//! 2000), `BENCH_KEYS` (distinct keys, default 1024). Results: docs/benchmarks/bucket-overhead.md.

use gureum::object_store::memory::InMemory;
use gureum::object_store::path::Path;
use gureum::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use gureum::{Bucket, Bytes};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// CPU time of this thread in nanoseconds: unlike wall time it does not count time the
/// thread spent preempted by other processes, which matters on a shared 2-core machine.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Wall and thread-CPU nanoseconds per operation of one sample.
#[derive(Clone, Copy, Debug)]
struct Sample {
    wall: f64,
    cpu: f64,
}

struct Timer {
    wall: Instant,
    cpu: u128,
}

impl Timer {
    fn start() -> Self {
        Timer {
            wall: Instant::now(),
            cpu: thread_cpu_ns(),
        }
    }
    fn per_op(self, ops: usize) -> Sample {
        Sample {
            wall: self.wall.elapsed().as_nanos() as f64 / ops as f64,
            cpu: (thread_cpu_ns() - self.cpu) as f64 / ops as f64,
        }
    }
}

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Put,
    Get,
}

/// The ways an operation is issued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// object_store directly: `Path::from(key)` + `put`/`get`.
    Raw,
    /// object_store directly, but with gureum's portable key mapping (`encode_key`: the key
    /// rules checked, then the verbatim `Path`): the difference to `Bucket` is the wrapper
    /// itself.
    RawEncodeKey,
    /// object_store directly with `Path::parse(key)` and no gureum key rules: the cost of
    /// the rules is the difference to `RawEncodeKey` (identical output for portable keys).
    RawParse,
    /// `Bucket::put` / `Bucket::get`.
    Bucket,
}

const VARIANTS: [Variant; 4] = [
    Variant::Raw,
    Variant::RawEncodeKey,
    Variant::RawParse,
    Variant::Bucket,
];

/// `gureum_core::key::encode_key` without gureum's key rules: object_store's own
/// `Path::parse`, which stores a portable key verbatim. Same output for portable keys.
fn path_parse(key: &str) -> Path {
    Path::parse(key).expect("a portable key is a valid Path")
}

struct Sides {
    raw: Arc<dyn ObjectStore>,
    bucket: Bucket,
    keys: Vec<String>,
    body: Bytes,
}

impl Sides {
    async fn run(&self, v: Variant, op: Op, ops: usize) -> Sample {
        let t = Timer::start();
        for i in 0..ops {
            let key = &self.keys[i % self.keys.len()];
            let path = match v {
                Variant::Raw => Path::from(key.as_str()),
                Variant::RawEncodeKey => gureum::key::encode_key(key).unwrap(),
                Variant::RawParse => path_parse(key),
                Variant::Bucket => {
                    match op {
                        Op::Put => {
                            black_box(self.bucket.put(key, self.body.clone()).await.unwrap());
                        }
                        Op::Get => {
                            black_box(self.bucket.get(key).await.unwrap());
                        }
                    }
                    continue;
                }
            };
            match op {
                Op::Put => {
                    let r = self
                        .raw
                        .put(&path, PutPayload::from_bytes(self.body.clone()))
                        .await
                        .unwrap();
                    black_box(r);
                }
                Op::Get => {
                    let r = self.raw.get(&path).await.unwrap();
                    black_box(r.bytes().await.unwrap());
                }
            }
        }
        t.per_op(ops)
    }
}

struct Stats {
    raw: f64,
    gureum: f64,
    ratio: f64,
    lo: f64,
    hi: f64,
}

fn stats(raw: &mut [f64], gur: &mut [f64], ratio: &mut [f64]) -> Stats {
    let (r, g, q) = (median(raw), median(gur), median(ratio));
    Stats {
        raw: r,
        gureum: g,
        ratio: q,
        lo: ratio[ratio.len() / 10],
        hi: ratio[ratio.len() - 1 - ratio.len() / 10],
    }
}

fn main() {
    // `cargo bench` passes `--bench`. Run any other way (`cargo test --benches`), do a tiny
    // smoke run so test runs stay fast.
    let as_bench = std::env::args().any(|a| a == "--bench");
    let rounds = if as_bench {
        env_usize("BENCH_ROUNDS", 101)
    } else {
        3
    };
    let ops = if as_bench {
        env_usize("BENCH_OPS", 2_000)
    } else {
        100
    };
    let nkeys = env_usize("BENCH_KEYS", 1024);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = Bytes::from(
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect::<Vec<u8>>(),
    );
    let sides = Sides {
        raw: Arc::new(InMemory::new()),
        bucket: Bucket::new("bench", Arc::new(InMemory::new())),
        keys: (0..nkeys)
            .map(|i| format!("bench/2026/11/obj-{i:05}.bin"))
            .collect(),
        body,
    };

    // The candidate must produce exactly the stored paths encode_key produces (keys are
    // verbatim: both are the key's own string).
    for k in sides.keys.iter().map(String::as_str).chain([
        "lead/double",
        "민원/a b+c%d#?.json",
        ".../x",
        "a%01b",
    ]) {
        assert_eq!(path_parse(k), gureum::key::encode_key(k).unwrap(), "{k:?}");
    }

    // Instruction-count mode for `valgrind --tool=callgrind`: populate, then run only
    // BENCH_SIDE (raw|encode|parse|bucket) for BENCH_OP (put|get); the difference of two
    // runs' instruction counts divided by BENCH_OPS is the extra cost per operation, free of
    // machine noise.
    if let Ok(side) = std::env::var("BENCH_SIDE") {
        let op = match std::env::var("BENCH_OP").as_deref() {
            Ok("get") => Op::Get,
            _ => Op::Put,
        };
        let v = match side.as_str() {
            "raw" => Variant::Raw,
            "encode" => Variant::RawEncodeKey,
            "parse" => Variant::RawParse,
            _ => Variant::Bucket,
        };
        rt.block_on(async {
            sides.run(Variant::Raw, Op::Put, nkeys).await;
            sides.run(Variant::Bucket, Op::Put, nkeys).await;
            let s = sides.run(v, op, ops).await;
            println!("{v:?} {op:?}: {:.0} ns/op thread CPU", s.cpu);
        });
        return;
    }

    println!(
        "bucket_overhead: InMemory, 4 KiB objects, {rounds} rounds x {ops} ops per variant, \
         {nkeys} keys of 4 segments, current-thread runtime; ns per operation, medians over rounds"
    );
    let mut table = Vec::new();
    rt.block_on(async {
        // Populate and warm up every variant (allocator, caches) before measuring.
        for op in [Op::Put, Op::Get] {
            for _ in 0..3 {
                for v in VARIANTS {
                    sides.run(v, op, ops.max(nkeys)).await;
                }
            }
        }
        for op in [Op::Put, Op::Get] {
            // cpu[v], wall[v]: per-round samples; ratios against Raw of the same round.
            let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); 4];
            let mut wall: Vec<Vec<f64>> = vec![Vec::new(); 4];
            let mut cpu_ratio: Vec<Vec<f64>> = vec![Vec::new(); 4];
            let mut wall_ratio: Vec<Vec<f64>> = vec![Vec::new(); 4];
            for r in 0..rounds {
                let mut got = [Sample { wall: 0.0, cpu: 0.0 }; 4];
                // Rotate the order every round so no variant always runs first.
                for k in 0..4 {
                    let idx = (k + r) % 4;
                    got[idx] = sides.run(VARIANTS[idx], op, ops).await;
                }
                for idx in 0..4 {
                    cpu[idx].push(got[idx].cpu);
                    wall[idx].push(got[idx].wall);
                    cpu_ratio[idx].push(got[idx].cpu / got[0].cpu);
                    wall_ratio[idx].push(got[idx].wall / got[0].wall);
                }
            }
            for idx in 1..4 {
                let (rc, rw) = (cpu[0].clone(), wall[0].clone());
                let c = stats(&mut rc.clone(), &mut cpu[idx], &mut cpu_ratio[idx]);
                let w = stats(&mut rw.clone(), &mut wall[idx], &mut wall_ratio[idx]);
                let name = format!("{:?}", VARIANTS[idx]);
                for (clock, st) in [("thread CPU", &c), ("wall", &w)] {
                    println!(
                        "{op:?} {name} vs Raw ({clock}): raw {:.0} ns, {name} {:.0} ns, ratio {:.4} \
                         (p10 {:.4}, p90 {:.4}) => {:+.2}%{}",
                        st.raw,
                        st.gureum,
                        st.ratio,
                        st.lo,
                        st.hi,
                        (st.ratio - 1.0) * 100.0,
                        if VARIANTS[idx] == Variant::Bucket {
                            if st.ratio <= 1.03 {
                                "  (goal <= 3%: met)"
                            } else {
                                "  (goal <= 3%: NOT met)"
                            }
                        } else {
                            ""
                        }
                    );
                }
                table.push((op, VARIANTS[idx], c, w));
            }
        }

        // Key encoding alone.
        let n = ops * 10;
        let mut enc = Vec::new();
        let mut parsed = Vec::new();
        let mut from = Vec::new();
        for _ in 0..rounds.min(31) {
            let t = Timer::start();
            for i in 0..n {
                black_box(gureum::key::encode_key(&sides.keys[i % nkeys]).unwrap());
            }
            enc.push(t.per_op(n).cpu);
            let t = Timer::start();
            for i in 0..n {
                black_box(path_parse(&sides.keys[i % nkeys]));
            }
            parsed.push(t.per_op(n).cpu);
            let t = Timer::start();
            for i in 0..n {
                black_box(Path::from(sides.keys[i % nkeys].as_str()));
            }
            from.push(t.per_op(n).cpu);
        }
        println!(
            "key encoding alone (thread CPU): encode_key {:.0} ns, Path::parse {:.0} ns, \
             object_store Path::from {:.0} ns",
            median(&mut enc),
            median(&mut parsed),
            median(&mut from)
        );
    });
    println!();
    println!("| operation | variant | clock | raw object_store (ns/op) | variant (ns/op) | ratio (median of rounds) | p10..p90 | overhead |");
    println!("|---|---|---|---:|---:|---:|---|---:|");
    for (op, v, cpu, wall) in table {
        for (clock, st) in [("thread CPU", cpu), ("wall", wall)] {
            println!(
                "| {} 4 KiB | {v:?} | {clock} | {:.0} | {:.0} | {:.4} | {:.3}..{:.3} | {:+.2}% |",
                format!("{op:?}").to_lowercase(),
                st.raw,
                st.gureum,
                st.ratio,
                st.lo,
                st.hi,
                (st.ratio - 1.0) * 100.0
            );
        }
    }
}
