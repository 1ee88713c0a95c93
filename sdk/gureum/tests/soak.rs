//! Bounded soak (issue 19): concurrent put/get/list/delete and send/receive/ack on the
//! embedded backends and on every emulator whose variables are set, for
//! `GUREUM_SOAK_SECS` seconds per backend (default 60), reporting throughput, errors and the
//! process RSS every 10 s, and checking that nothing is lost: every object written reads
//! back intact, every message sent is received and acked.
//!
//! Ignored by default; `scripts/soak.sh` runs it (`cargo test -p gureum --all-features
//! --test soak -- --ignored --nocapture`).

use gureum::{Message, ReceiveOptions};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn secs() -> u64 {
    std::env::var("GUREUM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
        .clamp(1, 3600)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn id() -> String {
    let u = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("soak-{:x}", u % 0xffff_ffff_ffff)
}

#[derive(Default)]
struct Counts {
    ops: AtomicU64,
    errors: AtomicU64,
}

fn body(worker: usize, n: u64) -> Vec<u8> {
    let len = [0usize, 100, 4096, 65_536][(n % 4) as usize];
    (0..len)
        .map(|j| ((worker * 131 + n as usize * 17 + j) % 251) as u8)
        .collect()
}

/// Storage soak on one URL: `workers` tasks each put, get (verify), list and delete their
/// own keys.
async fn storage_soak(label: &str, url: &str, workers: usize) -> (u64, u64) {
    let bucket = match gureum::open_bucket(url).await {
        Ok(b) => b,
        Err(e) => panic!("{label}: open {url}: {e}"),
    };
    let prefix = id();
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(secs());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (b, c, p) = (bucket.clone(), counts.clone(), prefix.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut corrupt = 0u64;
            while Instant::now() < deadline {
                let key = format!("{p}/w{w}/{n}");
                let data = body(w, n);
                match b.put(&key, data.clone()).await {
                    Ok(_) => match b.get(&key).await {
                        Ok(got) if got[..] == data[..] => {}
                        Ok(_) => corrupt += 1,
                        Err(_) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Err(_) => {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if n % 10 == 9 {
                    let listed = b.list_all(Some(&format!("{p}/w{w}/"))).await;
                    if listed.is_err() {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    let keys: Vec<String> = (n - 9..=n).map(|i| format!("{p}/w{w}/{i}")).collect();
                    if b.delete_many(&keys).await.is_err() {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                c.ops.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            corrupt
        }));
    }
    let start = Instant::now();
    let reporter = report(label, counts.clone(), deadline);
    let mut corrupt = 0;
    for t in tasks {
        corrupt += t.await.unwrap();
    }
    reporter.abort();
    let ops = counts.ops.load(Ordering::Relaxed);
    let errors = counts.errors.load(Ordering::Relaxed);
    println!(
        "SOAK {label} storage: {ops} put+get rounds in {:.0} s = {:.1}/s, {errors} errors, \
         {corrupt} corrupted, RSS {} KiB",
        start.elapsed().as_secs_f64(),
        ops as f64 / start.elapsed().as_secs_f64(),
        rss_kib()
    );
    assert_eq!(corrupt, 0, "{label}: corrupted reads");
    // Clean up what is left.
    if let Ok(all) = bucket.list_all(Some(&format!("{prefix}/"))).await {
        let keys: Vec<String> = all.into_iter().map(|o| o.key).collect();
        let _ = bucket.delete_many(&keys).await;
    }
    (ops, errors)
}

/// Queue soak on one URL: producers send numbered messages while consumers receive and ack;
/// at the end every message sent was acked at least once.
async fn queue_soak(label: &str, url: &str) -> (u64, u64) {
    let q = match gureum::open_queue(url).await {
        Ok(q) => q,
        Err(e) => panic!("{label}: open {url}: {e}"),
    };
    let counts = Arc::new(Counts::default());
    let sent = Arc::new(Mutex::new(BTreeSet::new()));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let deadline = Instant::now() + Duration::from_secs(secs());
    let run = id();
    let mut producers = Vec::new();
    for p in 0..2 {
        let (q, c, s, run) = (q.clone(), counts.clone(), sent.clone(), run.clone());
        producers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let msgs: Vec<Message> = (0..10)
                    .map(|i| Message::new(format!("{run}/{p}/{}", n + i)))
                    .collect();
                match q.send_batch(msgs).await {
                    Ok(_) => {
                        let mut s = s.lock().unwrap();
                        for i in 0..10 {
                            s.insert(format!("{run}/{p}/{}", n + i));
                        }
                        c.ops.fetch_add(10, Ordering::Relaxed);
                    }
                    Err(_) => {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                n += 10;
                // Keep the backlog bounded (the soak measures steady state, not a flood).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let mut consumers = Vec::new();
    let drain_until = deadline + Duration::from_secs(30);
    for _ in 0..2 {
        let (q, c, s, a, run) = (
            q.clone(),
            counts.clone(),
            sent.clone(),
            acked.clone(),
            run.clone(),
        );
        consumers.push(tokio::spawn(async move {
            loop {
                let now = Instant::now();
                if now > drain_until {
                    break;
                }
                if now > deadline {
                    let (s, a) = (s.lock().unwrap().len(), a.lock().unwrap().len());
                    if a >= s {
                        break;
                    }
                }
                let got = q
                    .receive_with(ReceiveOptions {
                        max_messages: 10,
                        visibility: Duration::from_secs(30),
                        wait: Duration::from_millis(500),
                    })
                    .await;
                let Ok(got) = got else {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let mine: Vec<_> = got
                    .into_iter()
                    .filter(|m| m.body.starts_with(run.as_bytes()))
                    .collect();
                if q.ack_all(&mine).await.is_ok() {
                    let mut a = a.lock().unwrap();
                    for m in &mine {
                        a.insert(String::from_utf8_lossy(&m.body).into_owned());
                    }
                } else {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let start = Instant::now();
    let reporter = report(label, counts.clone(), deadline);
    for t in producers {
        t.await.unwrap();
    }
    for t in consumers {
        t.await.unwrap();
    }
    reporter.abort();
    let (s, a) = (sent.lock().unwrap().clone(), acked.lock().unwrap().clone());
    let lost: Vec<_> = s.difference(&a).take(5).cloned().collect();
    let ops = counts.ops.load(Ordering::Relaxed);
    let errors = counts.errors.load(Ordering::Relaxed);
    println!(
        "SOAK {label} queue: {} sent, {} acked in {:.0} s = {:.1} msg/s, {errors} errors, \
         {} lost, RSS {} KiB",
        s.len(),
        a.len(),
        start.elapsed().as_secs_f64(),
        s.len() as f64 / start.elapsed().as_secs_f64(),
        s.len() - s.intersection(&a).count(),
        rss_kib()
    );
    assert!(lost.is_empty(), "{label}: messages lost, e.g. {lost:?}");
    (ops, errors)
}

fn report(label: &str, c: Arc<Counts>, deadline: Instant) -> tokio::task::JoinHandle<()> {
    let label = label.to_string();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut last = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let ops = c.ops.load(Ordering::Relaxed);
            println!(
                "SOAK {label} t={:>4.0}s ops/s={:>7.1} errors={} rss_kib={}",
                start.elapsed().as_secs_f64(),
                (ops - last) as f64 / 10.0,
                c.errors.load(Ordering::Relaxed),
                rss_kib()
            );
            last = ops;
        }
    })
}

fn env(v: &str) -> Option<String> {
    std::env::var(v).ok().filter(|s| !s.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long; run by scripts/soak.sh"]
async fn soak() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut storage = vec![
        ("mem".to_string(), format!("mem://{}", id())),
        ("file".to_string(), format!("file://{d}/bucket")),
    ];
    let mut queues = vec![
        ("mem".to_string(), format!("mem://{}", id())),
        (
            "sqlite".to_string(),
            format!("sqlite://{d}/q.db?queue=soak"),
        ),
    ];
    if let Some(ep) = env("AWS_ENDPOINT_URL") {
        let b = id();
        let admin = gureum::open_bucket(&format!("s3://{b}?endpoint={ep}&region=us-east-1"))
            .await
            .unwrap();
        admin.admin().unwrap().create_bucket(&b).await.unwrap();
        storage.push((
            "s3/moto".into(),
            format!("s3://{b}?endpoint={ep}&region=us-east-1"),
        ));
        queues.push((
            "sqs/moto".into(),
            format!("sqs://{}?endpoint={ep}&region=us-east-1&create=true", id()),
        ));
    }
    if let Some(cs) = env("AZURE_STORAGE_CONNECTION_STRING") {
        let enc: String = url::form_urlencoded::byte_serialize(cs.as_bytes()).collect();
        storage.push((
            "azblob/azurite".into(),
            format!("azblob://{}?connection_string={enc}&create=true", id()),
        ));
        queues.push((
            "azqueue/azurite".into(),
            format!("azqueue://{}?connection_string={enc}&create=true", id()),
        ));
    }
    if let (Some(a), Some(u), Some(k)) =
        (env("SWIFT_AUTH_URL"), env("SWIFT_USER"), env("SWIFT_KEY"))
    {
        storage.push((
            "swift/saio".into(),
            format!("swift://{}?auth_url={a}&user={u}&key={k}&create=true", id()),
        ));
    }
    println!("SOAK {} s per backend, start RSS {} KiB", secs(), rss_kib());
    for (label, url) in &storage {
        storage_soak(label, url, 4).await;
    }
    for (label, url) in &queues {
        queue_soak(label, url).await;
    }
    println!("SOAK done, end RSS {} KiB", rss_kib());
}
