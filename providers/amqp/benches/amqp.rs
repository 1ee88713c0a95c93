//! `cargo bench -p gureum-amqp --bench amqp`: gureum's `Queue` on amqp:// vs raw `lapin`
//! against the same RabbitMQ (AMQP_ADDR, from `scripts/emulators.sh env`). Both sides do the
//! same protocol work per message: publish with publisher confirms (batches of 10, persistent,
//! a message id and a timestamp), consume with prefetch 10 on a second channel of the same
//! connection kind, acknowledge each delivery, then one synchronous round trip on the consume
//! channel so the acks are known to be processed (what the adapter does for durability). Each
//! side has its own quorum queue, created by the adapter. Bounded rounds; the sides alternate
//! and the median round is compared. Prints the ratio gureum / raw (goal ≥ 0.95).
//!
//! Environment: `BENCH_ROUNDS` (5), `BENCH_OPS` (200, rounded down to batches of 10).

use futures::StreamExt;
use gureum_amqp::{open_amqp, AmqpAdmin, AmqpConfig};
use gureum_core::{Message, QueueAdmin, ReceiveOptions};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};
use std::time::{Duration, Instant};

fn env(k: &str, d: &str) -> String {
    std::env::var(k)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| d.to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

const PREFETCH: u16 = 10;

fn main() {
    // `cargo test --benches` runs us with no broker: skip then.
    let Some(addr) = std::env::var("AMQP_ADDR").ok().filter(|v| !v.is_empty()) else {
        eprintln!("skipping: AMQP_ADDR not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(addr));
}

async fn bench(addr: String) {
    let rounds: usize = env("BENCH_ROUNDS", "5").parse().unwrap_or(5).max(1);
    let ops: usize = env("BENCH_OPS", "200").parse().unwrap_or(200);
    let batches = (ops / 10).max(1);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (gname, rname) = (
        format!("bench-g-{}", &id[..8]),
        format!("bench-r-{}", &id[..8]),
    );
    let cfg = |n: &str| {
        AmqpConfig::new(&addr, n)
            .expect("config")
            .prefetch(PREFETCH)
            .create(true)
    };
    let q = open_amqp(cfg(&gname)).await.expect("open gureum queue");
    // The raw side's queue: the same kind (quorum), declared by the adapter, then left alone.
    drop(open_amqp(cfg(&rname)).await.expect("declare raw queue"));

    // Raw lapin: one connection, a confirming publish channel, a consume channel with prefetch.
    let conn = Connection::connect(&addr, ConnectionProperties::default())
        .await
        .expect("connect");
    let publish = conn.create_channel().await.expect("channel");
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm.select");
    let consume = conn.create_channel().await.expect("channel");
    consume
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .expect("qos");
    let mut consumer = consume
        .basic_consume(
            rname.as_str().into(),
            "bench-raw".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");

    let opts = ReceiveOptions {
        max_messages: 10,
        visibility: Duration::from_secs(30),
        wait: Duration::from_secs(1),
    };
    // Receive calls of the gureum side (each is followed by one acknowledging round trip):
    // more calls than batches means it returned partial batches.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gureum_round = |n_batches: usize| {
        let q = q.clone();
        let calls = calls.clone();
        async move {
            let t = Instant::now();
            for b in 0..n_batches {
                q.send_batch((0..10).map(|i| Message::new(format!("m{b}-{i}"))).collect())
                    .await
                    .expect("send");
            }
            let mut n = 0;
            for _ in 0..n_batches * 20 {
                if n >= n_batches * 10 {
                    break;
                }
                let got = q.receive_with(opts).await.expect("receive");
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                n += got.len();
                q.ack_all(&got).await.expect("ack");
            }
            assert_eq!(n, n_batches * 10, "gureum side lost messages");
            n as f64 / t.elapsed().as_secs_f64()
        }
    };
    let mut raw_round = async |n_batches: usize| {
        let t = Instant::now();
        for b in 0..n_batches {
            let mut pending = Vec::with_capacity(10);
            for i in 0..10 {
                let props = BasicProperties::default()
                    .with_message_id(uuid::Uuid::new_v4().to_string().into())
                    .with_delivery_mode(2)
                    .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
                    .with_headers(FieldTable::default());
                let c = publish
                    .basic_publish(
                        "".into(),
                        rname.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        format!("m{b}-{i}").as_bytes(),
                        props,
                    )
                    .await
                    .expect("publish");
                pending.push(c);
            }
            for c in pending {
                match c.await.expect("confirm") {
                    Confirmation::Ack(None) => {}
                    other => panic!("not confirmed: {other:?}"),
                }
            }
        }
        let mut n = 0;
        while n < n_batches * 10 {
            let mut got = Vec::with_capacity(10);
            while got.len() < 10 && n + got.len() < n_batches * 10 {
                let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
                    .await
                    .expect("raw side: no delivery within 10 s")
                    .expect("consumer ended")
                    .expect("delivery");
                got.push(d);
            }
            for d in &got {
                d.acker.ack(BasicAckOptions::default()).await.expect("ack");
            }
            consume
                .basic_qos(PREFETCH, BasicQosOptions::default())
                .await
                .expect("sync round trip");
            n += got.len();
        }
        n as f64 / t.elapsed().as_secs_f64()
    };

    // Warm-up (connections, consumer start), not measured.
    gureum_round(1).await;
    raw_round(1).await;
    calls.store(0, std::sync::atomic::Ordering::Relaxed);
    let (mut g, mut r) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            g.push(gureum_round(batches).await);
            r.push(raw_round(batches).await);
        } else {
            r.push(raw_round(batches).await);
            g.push(gureum_round(batches).await);
        }
    }
    let (gm, rm) = (median(g), median(r));
    eprintln!(
        "gureum side: {} receive calls for {} batches of 10 (each call is one acknowledging round trip)",
        calls.load(std::sync::atomic::Ordering::Relaxed),
        rounds * batches
    );
    println!(
        "amqp send+receive+ack {} msgs (batches of 10) x{rounds} rounds: gureum Queue {gm:.1} msg/s, raw lapin {rm:.1} msg/s, ratio {:.3}",
        batches * 10,
        gm / rm
    );
    drop(consumer);
    let _ = conn.close(200, "bench done".into()).await;
    let admin = AmqpAdmin::new(cfg(&gname));
    drop(q);
    for n in [&gname, &rname] {
        if let Err(e) = admin.delete_queue(n).await {
            eprintln!("could not delete {n}: {e}");
        }
    }
}
