//! Every queue operation on both embedded backends (`sqlite://` and `mem://`).

use gureum_core::{DeadLetter, ErrorKind, Message, Queue, QueueConfig, ReceiveOptions, Registry};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::queue::register(&mut r);
    r
}

/// A test backend: opens queues by name.
struct Backend {
    kind: &'static str,
    _dir: Option<tempfile::TempDir>,
    base: String,
}

impl Backend {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = format!("sqlite://{}/q.db", dir.path().display());
        Backend {
            kind: "sqlite",
            _dir: Some(dir),
            base,
        }
    }
    fn mem() -> Self {
        Backend {
            kind: "mem",
            _dir: None,
            base: String::new(),
        }
    }
    fn url(&self, name: &str, extra: &str) -> String {
        match self.kind {
            "sqlite" => format!("{}?queue={name}{extra}", self.base),
            _ => {
                let extra = extra.strip_prefix('&').map(|e| format!("?{e}"));
                format!("mem://{name}{}", extra.unwrap_or_default())
            }
        }
    }
    async fn open(&self, name: &str) -> Queue {
        self.open_url(&self.url(name, "")).await
    }
    async fn open_url(&self, url: &str) -> Queue {
        registry().open_queue(Some(url)).await.unwrap()
    }
    fn all() -> Vec<Backend> {
        vec![Backend::sqlite(), Backend::mem()]
    }
}

fn ro(max: usize, vis_ms: u64, wait_ms: u64) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: max,
        visibility: Duration::from_millis(vis_ms),
        wait: Duration::from_millis(wait_ms),
    }
}

#[tokio::test]
async fn send_receive_ack_attributes() {
    for b in Backend::all() {
        let q = b.open(&unique("basic")).await;
        assert!(!q.capabilities().ordering);
        assert_eq!(q.depth().await.unwrap(), 0, "{}", b.kind);
        let id = q
            .send(
                Message::new(&b"\x00\xffbinary"[..])
                    .attribute("k", "v")
                    .attribute("유니코드", "값"),
            )
            .await
            .unwrap();
        assert_eq!(q.depth().await.unwrap(), 1);
        let got = q.receive_with(ro(10, 30_000, 0)).await.unwrap();
        assert_eq!(got.len(), 1, "{}", b.kind);
        let m = &got[0];
        assert_eq!(m.id, id);
        assert_eq!(&m.body[..], b"\x00\xffbinary");
        assert_eq!(m.attributes["k"], "v");
        assert_eq!(m.attributes["유니코드"], "값");
        assert_eq!(m.receive_count, 1);
        assert!(m.sent_at.is_some());
        // In flight: not visible, still counted in depth.
        assert!(q.receive_with(ro(10, 30_000, 0)).await.unwrap().is_empty());
        assert_eq!(q.depth().await.unwrap(), 1);
        q.ack(m).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 0);
        // Double ack: the receipt is gone.
        let e = q.ack(m).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{}: {e}", b.kind);
        // Malformed receipt.
        let e = q.driver().ack(&["garbage".to_string()]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}

#[tokio::test]
async fn batches_and_max_messages() {
    for b in Backend::all() {
        let q = b.open(&unique("batch")).await;
        let msgs: Vec<Message> = (0..25).map(|i| Message::new(format!("m{i}"))).collect();
        let ids = q.send_batch(msgs).await.unwrap();
        assert_eq!(ids.len(), 25);
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 25);
        assert_eq!(q.depth().await.unwrap(), 25);
        let mut seen = BTreeSet::new();
        for _ in 0..10 {
            let got = q.receive_with(ro(10, 30_000, 0)).await.unwrap();
            assert!(got.len() <= 10);
            if got.is_empty() {
                break;
            }
            for m in &got {
                assert!(seen.insert(m.id.clone()), "duplicate delivery");
            }
            q.ack_all(&got).await.unwrap();
        }
        assert_eq!(seen.len(), 25, "{}", b.kind);
        assert_eq!(q.depth().await.unwrap(), 0);
        // Single-sender order is kept (best effort, but deterministic here).
        let ids = q
            .send_batch((0..5).map(|i| Message::new(format!("o{i}"))).collect())
            .await
            .unwrap();
        let got = q.receive_with(ro(10, 30_000, 0)).await.unwrap();
        let got_ids: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
        assert_eq!(got_ids, ids, "{}", b.kind);
        q.ack_all(&got).await.unwrap();
    }
}

#[tokio::test]
async fn visibility_timeout_redelivers_and_stale_receipt_fails() {
    for b in Backend::all() {
        let q = b.open(&unique("vis")).await;
        q.send(Message::new("x")).await.unwrap();
        let first = q.receive_with(ro(1, 200, 0)).await.unwrap().remove(0);
        assert_eq!(first.receive_count, 1);
        assert!(q.receive_with(ro(1, 200, 0)).await.unwrap().is_empty());
        let second = q.receive_with(ro(1, 30_000, 2_000)).await.unwrap();
        assert_eq!(second.len(), 1, "{}: redelivered after visibility", b.kind);
        let second = &second[0];
        assert_eq!(second.id, first.id);
        assert_eq!(second.receive_count, 2);
        assert_ne!(second.receipt, first.receipt);
        // The first delivery's receipt is stale now.
        for e in [
            q.ack(&first).await.unwrap_err(),
            q.nack(&first, Duration::ZERO).await.unwrap_err(),
            q.extend_visibility(&first, Duration::from_secs(1))
                .await
                .unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{}: {e}", b.kind);
        }
        q.ack(second).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn nack_with_and_without_delay() {
    for b in Backend::all() {
        let q = b.open(&unique("nack")).await;
        q.send(Message::new("n")).await.unwrap();
        let m = q.receive_with(ro(1, 30_000, 0)).await.unwrap().remove(0);
        q.nack(&m, Duration::ZERO).await.unwrap();
        let m2 = q.receive_with(ro(1, 30_000, 0)).await.unwrap().remove(0);
        assert_eq!(m2.receive_count, 2);
        // The nacked receipt is dead.
        assert_eq!(
            q.ack(&m).await.unwrap_err().kind(),
            ErrorKind::PreconditionFailed
        );
        q.nack(&m2, Duration::from_millis(400)).await.unwrap();
        assert!(q.receive_with(ro(1, 30_000, 0)).await.unwrap().is_empty());
        let t = Instant::now();
        let m3 = q.receive_with(ro(1, 30_000, 3_000)).await.unwrap();
        assert_eq!(m3.len(), 1, "{}", b.kind);
        assert!(t.elapsed() >= Duration::from_millis(250), "{}", b.kind);
        assert_eq!(m3[0].receive_count, 3);
        q.ack(&m3[0]).await.unwrap();
    }
}

#[tokio::test]
async fn extend_visibility_keeps_message_hidden() {
    for b in Backend::all() {
        let q = b.open(&unique("ext")).await;
        q.send(Message::new("e")).await.unwrap();
        let m = q.receive_with(ro(1, 300, 0)).await.unwrap().remove(0);
        q.extend_visibility(&m, Duration::from_secs(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            q.receive_with(ro(1, 300, 0)).await.unwrap().is_empty(),
            "{}: extended message must stay hidden",
            b.kind
        );
        // Shorten to zero: visible at once.
        q.extend_visibility(&m, Duration::ZERO).await.unwrap();
        let again = q.receive_with(ro(1, 30_000, 1_000)).await.unwrap();
        assert_eq!(again.len(), 1);
        q.ack(&again[0]).await.unwrap();
    }
}

#[tokio::test]
async fn per_message_delay() {
    for b in Backend::all() {
        let q = b.open(&unique("delay")).await;
        q.send(Message::new("late").delay(Duration::from_millis(500)))
            .await
            .unwrap();
        q.send(Message::new("now")).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 2);
        let got = q.receive_with(ro(10, 30_000, 0)).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].body[..], b"now");
        q.ack(&got[0]).await.unwrap();
        let t = Instant::now();
        let got = q.receive_with(ro(10, 30_000, 3_000)).await.unwrap();
        assert_eq!(got.len(), 1, "{}", b.kind);
        assert_eq!(&got[0].body[..], b"late");
        assert!(t.elapsed() <= Duration::from_millis(2_000));
        q.ack(&got[0]).await.unwrap();
    }
}

#[tokio::test]
async fn long_poll_returns_early_when_a_message_arrives() {
    for b in Backend::all() {
        let q = b.open(&unique("poll")).await;
        // Empty wait times out after about the wait.
        let t = Instant::now();
        assert!(q.receive_with(ro(1, 1_000, 300)).await.unwrap().is_empty());
        let el = t.elapsed();
        assert!(
            el >= Duration::from_millis(280) && el < Duration::from_secs(3),
            "{el:?}"
        );
        // A message sent while waiting ends the wait early.
        let q2 = q.clone();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            q2.send(Message::new("wake")).await.unwrap();
        });
        let t = Instant::now();
        let got = q.receive_with(ro(1, 30_000, 10_000)).await.unwrap();
        let el = t.elapsed();
        sender.await.unwrap();
        assert_eq!(got.len(), 1, "{}", b.kind);
        assert!(el < Duration::from_secs(2), "{}: waited {el:?}", b.kind);
        q.ack(&got[0]).await.unwrap();
    }
}

#[tokio::test]
async fn long_poll_wakes_for_another_handle_of_the_same_queue() {
    for b in Backend::all() {
        let name = unique("poll2");
        let a = b.open(&name).await;
        let c = b.open(&name).await;
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            c.send(Message::new("hi")).await.unwrap();
        });
        let t = Instant::now();
        let got = a.receive_with(ro(1, 30_000, 5_000)).await.unwrap();
        sender.await.unwrap();
        assert_eq!(got.len(), 1);
        assert!(t.elapsed() < Duration::from_secs(2));
        a.ack(&got[0]).await.unwrap();
    }
}

#[tokio::test]
async fn dead_letter_after_max_receives() {
    for b in Backend::all() {
        let src = unique("dl-src");
        let dlq = unique("dl-dlq");
        let base = b.open(&unique("dl-admin")).await;
        let admin = base.admin().unwrap().clone();
        let cfg = QueueConfig {
            dead_letter: Some(DeadLetter {
                queue: dlq.clone(),
                max_receive_count: 2,
            }),
            ..Default::default()
        };
        admin.create_queue(&src, &cfg).await.unwrap();
        // Same settings again: fine. Other settings: AlreadyExists.
        admin.create_queue(&src, &cfg).await.unwrap();
        let e = admin
            .create_queue(&src, &QueueConfig::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{}", b.kind);
        let names = admin.list_queues().await.unwrap();
        assert!(names.contains(&src) && names.contains(&dlq), "{names:?}");

        let q = admin.open(&src).await.unwrap();
        let id = q
            .send(Message::new("poison").attribute("a", "b"))
            .await
            .unwrap();
        for n in 1..=2u32 {
            let m = q.receive_with(ro(1, 30_000, 0)).await.unwrap().remove(0);
            assert_eq!(m.receive_count, n);
            q.nack(&m, Duration::ZERO).await.unwrap();
        }
        // Third attempt: moved to the DLQ, not delivered.
        assert!(q.receive_with(ro(1, 30_000, 0)).await.unwrap().is_empty());
        assert_eq!(q.depth().await.unwrap(), 0, "{}", b.kind);
        let d = admin.open(&dlq).await.unwrap();
        assert_eq!(d.depth().await.unwrap(), 1);
        let m = d.receive_with(ro(1, 30_000, 0)).await.unwrap().remove(0);
        assert_eq!(m.id, id);
        assert_eq!(&m.body[..], b"poison");
        assert_eq!(m.attributes["a"], "b");
        assert_eq!(m.receive_count, 1);
        d.ack(&m).await.unwrap();
    }
}

#[tokio::test]
async fn dead_letter_settings_from_url_and_visibility_expiry() {
    for b in Backend::all() {
        let src = unique("dlu");
        let dlq = unique("dlu-dlq");
        let q = b
            .open_url(&b.url(&src, &format!("&dlq={dlq}&max_receives=1&visibility=30")))
            .await;
        q.send(Message::new("p")).await.unwrap();
        // Default visibility from the queue settings (30 s): not back soon.
        let m = q.receive(1).await.unwrap().remove(0);
        assert_eq!(m.receive_count, 1);
        assert!(q.receive_with(ro(1, 100, 0)).await.unwrap().is_empty());
        q.extend_visibility(&m, Duration::from_millis(100))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Visibility expired after 1 delivery: moved to the DLQ.
        assert!(q.receive_with(ro(1, 100, 0)).await.unwrap().is_empty());
        let d = q.admin().unwrap().open(&dlq).await.unwrap();
        let got = d.receive_with(ro(1, 1_000, 1_000)).await.unwrap();
        assert_eq!(got.len(), 1, "{}", b.kind);
        // Reopening with other DLQ settings is refused.
        let r = registry();
        let e = r
            .open_queue(Some(&b.url(&src, "&dlq=other&max_receives=3")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    }
}

#[tokio::test]
async fn purge_depth_delete_list_open() {
    for b in Backend::all() {
        let name = unique("adm");
        let q = b.open(&name).await;
        q.send_batch((0..7).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .unwrap();
        let _inflight = q.receive_with(ro(3, 30_000, 0)).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 7);
        q.purge().await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 0);
        assert!(q.receive_with(ro(10, 30_000, 0)).await.unwrap().is_empty());

        let admin = q.admin().unwrap().clone();
        assert!(admin.list_queues().await.unwrap().contains(&name));
        let other = unique("adm-other");
        let e = admin.open(&other).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{}", b.kind);
        admin
            .create_queue(&other, &QueueConfig::default())
            .await
            .unwrap();
        let o = admin.open(&other).await.unwrap();
        o.send(Message::new("z")).await.unwrap();
        admin.delete_queue(&other).await.unwrap();
        assert!(!admin.list_queues().await.unwrap().contains(&other));
        assert_eq!(
            admin.delete_queue(&other).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // Operations on a deleted queue: NotFound.
        assert_eq!(o.depth().await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            o.send(Message::new("z")).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // create=false refuses a missing queue.
        let r = registry();
        let e = r
            .open_queue(Some(&b.url(&unique("missing"), "&create=false")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{}", b.kind);
        // FIFO is not offered.
        let e = admin
            .create_queue(
                &unique("fifo"),
                &QueueConfig {
                    fifo: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}

#[tokio::test]
async fn limits_are_enforced() {
    for b in Backend::all() {
        let q = b.open(&unique("lim")).await;
        let caps = q.capabilities();
        let big = vec![0u8; caps.max_message_bytes + 1];
        assert_eq!(
            q.send(Message::new(big)).await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let e = q
            .driver()
            .send_batch(vec![Message::new("x"); caps.max_batch_send + 1])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = q
            .receive_with(ro(1, caps.max_visibility.as_millis() as u64 + 1, 0))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let exact = vec![7u8; caps.max_message_bytes];
        q.send(Message::new(exact.clone())).await.unwrap();
        let m = q.receive_with(ro(1, 30_000, 0)).await.unwrap().remove(0);
        assert_eq!(m.body.len(), exact.len());
        q.ack(&m).await.unwrap();
    }
}

#[tokio::test]
async fn process_loop_acks_everything() {
    for b in Backend::all() {
        let q = b.open(&unique("proc")).await;
        q.send_batch((0..30).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .unwrap();
        let stats = q
            .process(
                gureum_core::ProcessOptions {
                    concurrency: 4,
                    wait: Duration::from_millis(100),
                    max_messages: Some(30),
                    ..Default::default()
                },
                tokio::time::sleep(Duration::from_secs(20)),
                |_m| async { Ok(()) },
            )
            .await
            .unwrap();
        assert_eq!(stats.acked, 30, "{}", b.kind);
        assert_eq!(q.depth().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn sqlite_relative_path_and_reopen_keeps_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/keep.db");
    let url = format!("sqlite://{}?queue=keep", path.display());
    let r = registry();
    {
        let q = r.open_queue(Some(&url)).await.unwrap();
        q.send(Message::new("persist")).await.unwrap();
    }
    assert!(path.exists());
    let q = r.open_queue(Some(&url)).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 1);
    let m = q.receive_with(ro(1, 1_000, 0)).await.unwrap();
    assert_eq!(&m[0].body[..], b"persist");
    let native = q
        .native::<gureum_local::queue::SqliteQueue>()
        .expect("native sqlite driver");
    assert_eq!(native.path(), path.canonicalize().unwrap());
    // Missing file with create=false.
    let e = r
        .open_queue(Some(&format!(
            "sqlite://{}/nope.db?queue=x&create=false",
            dir.path().display()
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Bad URLs.
    for bad in ["sqlite://", "sqlite:///", "sqlite://h:1/x.db", "mem://"] {
        let e = r.open_queue(Some(bad)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
    }
}

#[tokio::test]
async fn sqlite_refuses_other_schema_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let url = format!("sqlite://{}?queue=v", path.display());
    {
        let q = registry().open_queue(Some(&url)).await.unwrap();
        q.send(Message::new("x")).await.unwrap();
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "UPDATE gureum_meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    }
    let e = registry().open_queue(Some(&url)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("schema version 99"), "{e}");
}
