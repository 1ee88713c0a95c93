//! Throughput of the embedded queues: send + receive + ack in batches of 10.
//!
//! `cargo bench -p gureum-local --bench queue_throughput`
//!
//! Each round sends a batch of 10 messages (one transaction), receives up to 10 (one
//! transaction) and acks them (one transaction). Prints messages per second and the ratio
//! to the 10,000 msg/s goal of the design. `GQ_BENCH_MSGS` sets the messages per scenario
//! (default 50,000).

use gureum_core::{Message, Queue, ReceiveOptions, Registry};
use std::time::{Duration, Instant};

const GOAL: f64 = 10_000.0;
const BATCH: usize = 10;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::queue::register(&mut r);
    r
}

fn opts() -> ReceiveOptions {
    ReceiveOptions {
        max_messages: BATCH,
        visibility: Duration::from_secs(60),
        wait: Duration::ZERO,
    }
}

/// Time spent in each operation.
#[derive(Default, Clone, Copy)]
struct Phases {
    send: Duration,
    receive: Duration,
    ack: Duration,
    calls: u32,
}

/// One worker: `rounds` × (send 10, receive ≤ 10, ack); returns messages acked.
async fn worker(q: Queue, rounds: usize, body: usize) -> (usize, Phases) {
    let payload = vec![b'x'; body];
    let mut acked = 0;
    let mut p = Phases::default();
    for _ in 0..rounds {
        let batch: Vec<Message> = (0..BATCH)
            .map(|_| Message::new(payload.clone()).attribute("k", "v"))
            .collect();
        let t = Instant::now();
        q.send_batch(batch).await.expect("send");
        let t2 = Instant::now();
        let got = q.receive_with(opts()).await.expect("receive");
        let t3 = Instant::now();
        q.ack_all(&got).await.expect("ack");
        let t4 = Instant::now();
        p.send += t2 - t;
        p.receive += t3 - t2;
        p.ack += t4 - t3;
        p.calls += 1;
        acked += got.len();
    }
    (acked, p)
}

async fn drain(q: &Queue) -> usize {
    let mut n = 0;
    for _ in 0..1_000_000 {
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 100,
                ..opts()
            })
            .await
            .expect("receive");
        if got.is_empty() {
            break;
        }
        q.ack_all(&got).await.expect("ack");
        n += got.len();
    }
    n
}

async fn scenario(label: &str, url: &str, total: usize, workers: usize, body: usize) -> f64 {
    let q = registry().open_queue(Some(url)).await.expect("open");
    // Warm up (page cache, prepared statements, WAL file).
    worker(q.clone(), 50, body).await;
    drain(&q).await;
    let rounds = total / BATCH / workers;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        tasks.push(tokio::spawn(worker(q.clone(), rounds, body)));
    }
    let mut acked = 0;
    let mut p = Phases::default();
    for t in tasks {
        let (n, w) = t.await.expect("worker");
        acked += n;
        p.send += w.send;
        p.receive += w.receive;
        p.ack += w.ack;
        p.calls += w.calls;
    }
    acked += drain(&q).await;
    let secs = start.elapsed().as_secs_f64();
    let sent = rounds * workers * BATCH;
    assert_eq!(acked, sent, "every message acked");
    let rate = sent as f64 / secs;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(p.calls.max(1));
    println!(
        "{label:<40} {sent:>7} msgs {secs:>7.3} s {rate:>10.0} msg/s {:>6.2}x goal | per batch: send {:>5.0} us, receive {:>5.0} us, ack {:>5.0} us",
        rate / GOAL,
        us(p.send),
        us(p.receive),
        us(p.ack)
    );
    rate
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total: usize = std::env::var("GQ_BENCH_MSGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    println!(
        "queue throughput: send+receive+ack in batches of {BATCH}, goal {GOAL:.0} msg/s, {} cpus",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    rt.block_on(async {
        scenario(
            "sqlite (sync=normal, 1 worker, 100 B)",
            &format!("sqlite://{d}/a.db?queue=bench"),
            total,
            1,
            100,
        )
        .await;
        scenario(
            "sqlite (sync=normal, 4 workers, 100 B)",
            &format!("sqlite://{d}/b.db?queue=bench"),
            total,
            4,
            100,
        )
        .await;
        scenario(
            "sqlite (sync=normal, 1 worker, 4 KiB)",
            &format!("sqlite://{d}/c.db?queue=bench"),
            total,
            1,
            4096,
        )
        .await;
        scenario(
            "sqlite (sync=full, 1 worker, 100 B)",
            &format!("sqlite://{d}/e.db?queue=bench&sync=full"),
            total / 5,
            1,
            100,
        )
        .await;
        scenario("mem (1 worker, 100 B)", "mem://bench-1", total, 1, 100).await;
        scenario("mem (4 workers, 100 B)", "mem://bench-4", total, 4, 100).await;
    });
}
