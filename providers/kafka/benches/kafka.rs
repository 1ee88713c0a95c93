//! `cargo bench -p gureum-kafka --bench kafka`: gureum's `Queue` on kafka:// vs raw `rdkafka`
//! against the same broker (KAFKA_BOOTSTRAP, from `scripts/emulators.sh env`). The raw side uses
//! the adapter's own client configuration (`KafkaConfig::producer_settings` /
//! `consumer_settings`: `acks=all`, idempotence, manual commits, the same session timeout) and
//! does the same work per batch of 10: produce 10 records with the adapter's headers
//! (`gureum-id`, `gureum-sent-ms`) and wait for every delivery report, then consume 10 in the
//! consumer group and commit their offsets synchronously. Each side has its own topic
//! (3 partitions, created by the adapter) and group. Bounded rounds; the sides alternate and the
//! median round is compared. Prints the ratio gureum / raw (goal ≥ 0.95).
//!
//! Environment: `BENCH_ROUNDS` (5), `BENCH_OPS` (200, rounded down to batches of 10).

use gureum_core::{Message, ReceiveOptions};
use gureum_kafka::{open_kafka, KafkaConfig};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
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

fn client_config(settings: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in settings {
        c.set(k, v);
    }
    c
}

fn main() {
    // `cargo test --benches` runs us with no broker: skip then.
    let Some(bootstrap) = std::env::var("KAFKA_BOOTSTRAP")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        eprintln!("skipping: KAFKA_BOOTSTRAP not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(bootstrap));
}

async fn bench(bootstrap: String) {
    let rounds: usize = env("BENCH_ROUNDS", "5").parse().unwrap_or(5).max(1);
    let ops: usize = env("BENCH_OPS", "200").parse().unwrap_or(200);
    let batches = (ops / 10).max(1);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (gtopic, rtopic) = (
        format!("bench-g-{}", &id[..8]),
        format!("bench-r-{}", &id[..8]),
    );
    let cfg = |t: &str| {
        KafkaConfig::new(&bootstrap, t)
            .expect("config")
            .session_timeout(Duration::from_millis(6000))
            .create(true)
    };
    let q = open_kafka(cfg(&gtopic)).await.expect("open gureum queue");
    let admin = q.admin().expect("admin").clone();
    // The raw side's topic: created by the adapter (same partitions), then left alone.
    let rcfg = cfg(&rtopic);
    drop(open_kafka(rcfg.clone()).await.expect("create raw topic"));
    let producer: FutureProducer = client_config(&rcfg.producer_settings())
        .create()
        .expect("producer");
    let consumer: Arc<StreamConsumer> = Arc::new(
        client_config(&rcfg.consumer_settings())
            .create()
            .expect("consumer"),
    );
    consumer.subscribe(&[&rtopic]).expect("subscribe");

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
            for _ in 0..n_batches * 40 {
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
    let raw_round = |n_batches: usize| {
        let (producer, consumer, rtopic) = (producer.clone(), consumer.clone(), rtopic.clone());
        async move {
            let t = Instant::now();
            for b in 0..n_batches {
                let mut futs = Vec::with_capacity(10);
                for i in 0..10 {
                    let msg_id = uuid::Uuid::new_v4().to_string();
                    let now = chrono::Utc::now().timestamp_millis().to_string();
                    let headers = OwnedHeaders::new_with_capacity(2)
                        .insert(Header {
                            key: "gureum-id",
                            value: Some(msg_id.as_bytes()),
                        })
                        .insert(Header {
                            key: "gureum-sent-ms",
                            value: Some(now.as_bytes()),
                        });
                    let body = format!("m{b}-{i}");
                    let rec = FutureRecord::<str, [u8]>::to(&rtopic)
                        .payload(body.as_bytes())
                        .headers(headers);
                    futs.push(
                        producer
                            .send_result(rec)
                            .map_err(|(e, _)| e)
                            .expect("enqueue"),
                    );
                }
                for f in futs {
                    f.await
                        .expect("producer gone")
                        .map_err(|(e, _)| e)
                        .expect("delivery");
                }
            }
            let mut n = 0;
            while n < n_batches * 10 {
                let mut next: BTreeMap<i32, i64> = BTreeMap::new();
                let mut got = 0;
                while got < 10 && n + got < n_batches * 10 {
                    let m = tokio::time::timeout(Duration::from_secs(20), consumer.recv())
                        .await
                        .expect("raw side: no record within 20 s")
                        .expect("consume");
                    let e = next.entry(m.partition()).or_insert(0);
                    *e = (*e).max(m.offset() + 1);
                    got += 1;
                }
                let mut tpl = TopicPartitionList::new();
                for (p, o) in &next {
                    tpl.add_partition_offset(&rtopic, *p, Offset::Offset(*o))
                        .expect("tpl");
                }
                let c = consumer.clone();
                tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync))
                    .await
                    .expect("commit task")
                    .expect("commit");
                n += got;
            }
            n as f64 / t.elapsed().as_secs_f64()
        }
    };

    // Warm-up (group joins, metadata), not measured.
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
        "kafka send+receive+ack {} msgs (batches of 10) x{rounds} rounds: gureum Queue {gm:.1} msg/s, raw rdkafka {rm:.1} msg/s, ratio {:.3}",
        batches * 10,
        gm / rm
    );
    // Consumers leave their groups before the topics go (librdkafka can crash when a topic is
    // deleted under a live consumer; see docs/kafka.md).
    drop(q);
    drop(consumer);
    drop(producer);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for t in [&gtopic, &rtopic] {
        if let Err(e) = admin.delete_queue(t).await {
            eprintln!("could not delete {t}: {e}");
        }
    }
}
