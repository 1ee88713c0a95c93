//! `cargo bench -p gureum-azure`: gureum's `Queue` (azqueue://) against the raw Queue REST
//! client, and gureum's `Bucket` (azblob://) against raw `object_store` `MicrosoftAzure`,
//! both on Azurite. Bounded iterations; prints medians and ratios (gureum / raw).
//!
//! Needs AZURITE_BLOB_STORAGE_URL / AZURITE_QUEUE_STORAGE_URL (scripts/emulators.sh env).
//! GUREUM_BENCH_ROUNDS (default 7) and GUREUM_BENCH_OPS (default 96) bound the work.

use bytes::Bytes;
use gureum_azure::config::AccountConfig;
use gureum_azure::queue::QueueRest;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{ObjectStoreExt, PutPayload};
use gureum_core::url::ResourceUrl;
use gureum_core::{Message, QueueConfig, ReceiveOptions, Registry};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, ops: usize, gureum: Vec<Duration>, raw: Vec<Duration>) {
    let (g, r) = (median(gureum), median(raw));
    let rate = |d: Duration| ops as f64 / d.as_secs_f64();
    println!(
        "{what:<44} gureum {:>9.1} ops/s   raw {:>9.1} ops/s   time ratio gureum/raw = {:.3}",
        rate(g),
        rate(r),
        g.as_secs_f64() / r.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var("AZURITE_BLOB_STORAGE_URL").is_err()
        || std::env::var("AZURITE_QUEUE_STORAGE_URL").is_err()
    {
        println!("skipping: AZURITE_BLOB_STORAGE_URL / AZURITE_QUEUE_STORAGE_URL not set");
        return;
    }
    let rounds = env_usize("GUREUM_BENCH_ROUNDS", 7).clamp(1, 100);
    let ops = env_usize("GUREUM_BENCH_OPS", 96).clamp(32, 10_000) / 32 * 32;
    let mut reg = Registry::new();
    gureum_azure::register(&mut reg);
    println!("gureum-azure benchmark on Azurite: {rounds} rounds × {ops} operations, medians");

    // ---------------- queue ----------------
    let qname = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let queue = reg
        .open_queue(Some(&format!("azqueue://{qname}?emulator=true")))
        .await
        .unwrap();
    queue
        .admin()
        .unwrap()
        .create_queue(&qname, &QueueConfig::default())
        .await
        .unwrap();
    let cfg =
        AccountConfig::from_url(&ResourceUrl::parse("azqueue://x?emulator=true").unwrap()).unwrap();
    let raw = QueueRest::new(&cfg).unwrap();
    let body = Bytes::from(vec![b'x'; 1024]);
    let text = {
        use base64::prelude::{Engine, BASE64_STANDARD};
        BASE64_STANDARD.encode(&body)
    };
    let (mut g_times, mut r_times) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let (g, r) = if round % 2 == 0 {
            let g = g_queue(&queue, &body, ops).await;
            (g, r_queue(&raw, &qname, &text, ops).await)
        } else {
            let r = r_queue(&raw, &qname, &text, ops).await;
            (g_queue(&queue, &body, ops).await, r)
        };
        if round > 0 {
            // round 0 warms up connections
            g_times.push(g);
            r_times.push(r);
        }
    }
    report(
        "queue send+receive+ack, 1 KiB, batches of 32",
        ops,
        g_times,
        r_times,
    );
    queue.admin().unwrap().delete_queue(&qname).await.unwrap();

    // ---------------- blob ----------------
    let cname = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let bucket = reg
        .open_bucket(Some(&format!("azblob://{cname}?emulator=true&create=true")))
        .await
        .unwrap();
    let raw_store = cfg.object_store_builder(&cname).unwrap().build().unwrap();
    let data = Bytes::from(vec![7u8; 64 * 1024]);
    let (mut gp, mut rp, mut gg, mut rg) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        // Alternate which side goes first so drift and cache effects cancel out.
        let (g_put, r_put, g_get, r_get) = if round % 2 == 0 {
            let a = g_put(&bucket, &data, ops).await;
            let b = r_put(&raw_store, &data, ops).await;
            let c = g_get(&bucket, ops).await;
            let d = r_get(&raw_store, ops).await;
            (a, b, c, d)
        } else {
            let b = r_put(&raw_store, &data, ops).await;
            let a = g_put(&bucket, &data, ops).await;
            let d = r_get(&raw_store, ops).await;
            let c = g_get(&bucket, ops).await;
            (a, b, c, d)
        };
        if round > 0 {
            gp.push(g_put);
            rp.push(r_put);
            gg.push(g_get);
            rg.push(r_get);
        }
    }
    report("blob put 64 KiB (all concurrent)", ops, gp, rp);
    report("blob get 64 KiB (all concurrent)", ops, gg, rg);
    for o in bucket.list_all(None).await.unwrap() {
        bucket.delete(&o.key).await.unwrap();
    }
    bucket.admin().unwrap().delete_bucket(&cname).await.unwrap();
}

async fn g_put(b: &gureum_core::Bucket, data: &Bytes, ops: usize) -> Duration {
    let t = Instant::now();
    futures::future::try_join_all((0..ops).map(|i| b.put_with(&KEYS_G[i], data.clone(), &OPTS)))
        .await
        .unwrap();
    t.elapsed()
}

async fn r_put(s: &object_store::azure::MicrosoftAzure, data: &Bytes, ops: usize) -> Duration {
    let t = Instant::now();
    futures::future::try_join_all(
        (0..ops).map(|i| s.put(&PATHS_R[i], PutPayload::from_bytes(data.clone()))),
    )
    .await
    .unwrap();
    t.elapsed()
}

async fn g_get(b: &gureum_core::Bucket, ops: usize) -> Duration {
    let t = Instant::now();
    futures::future::try_join_all((0..ops).map(|i| b.get(&KEYS_G[i])))
        .await
        .unwrap();
    t.elapsed()
}

async fn r_get(s: &object_store::azure::MicrosoftAzure, ops: usize) -> Duration {
    let t = Instant::now();
    futures::future::try_join_all(
        (0..ops).map(|i| async move { s.get(&PATHS_R[i]).await?.bytes().await }),
    )
    .await
    .unwrap();
    t.elapsed()
}

static OPTS: std::sync::LazyLock<gureum_core::PutOptions> =
    std::sync::LazyLock::new(Default::default);
static KEYS_G: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (0..10_000).map(|i| format!("g/{i}")).collect());
static PATHS_R: std::sync::LazyLock<Vec<Path>> =
    std::sync::LazyLock::new(|| (0..10_000).map(|i| Path::from(format!("r/{i}"))).collect());

/// gureum Queue: send_batch(32) → receive(32) → ack_all.
async fn g_queue(queue: &gureum_core::Queue, body: &Bytes, ops: usize) -> Duration {
    let t = Instant::now();
    for _ in 0..ops / 32 {
        let msgs: Vec<Message> = (0..32).map(|_| Message::new(body.clone())).collect();
        queue.send_batch(msgs).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..100 {
            if got.len() >= 32 {
                break;
            }
            let opts = ReceiveOptions {
                max_messages: 32 - got.len(),
                visibility: Duration::from_secs(60),
                wait: Duration::ZERO,
            };
            got.extend(queue.receive_with(opts).await.unwrap());
        }
        queue.ack_all(&got).await.unwrap();
    }
    t.elapsed()
}

/// Raw REST: 32 concurrent Put Message → Get Messages(32) → 32 concurrent Delete Message.
async fn r_queue(raw: &QueueRest, qname: &str, text: &str, ops: usize) -> Duration {
    let t = Instant::now();
    for _ in 0..ops / 32 {
        futures::future::try_join_all(
            (0..32).map(|_| raw.put_message(qname, text, Duration::ZERO, None)),
        )
        .await
        .unwrap();
        let mut got = Vec::new();
        for _ in 0..100 {
            if got.len() >= 32 {
                break;
            }
            got.extend(
                raw.get_messages(qname, 32 - got.len(), Duration::from_secs(60))
                    .await
                    .unwrap(),
            );
        }
        futures::future::try_join_all(
            got.iter()
                .map(|m| raw.delete_message(qname, &m.id, m.pop_receipt.as_deref().unwrap_or(""))),
        )
        .await
        .unwrap();
    }
    t.elapsed()
}
