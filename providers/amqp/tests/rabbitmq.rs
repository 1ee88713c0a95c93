//! gureum-amqp against a real RabbitMQ (AMQP_ADDR, started by scripts/emulators.sh): the queue
//! conformance suite, dead-lettering after max receives, delayed nack, reconnect after the
//! connection was cut (through a loopback proxy, so the shared broker is never touched), and a
//! consumer killed with SIGKILL.

use gureum_amqp::{open_amqp, AmqpAdmin, AmqpConfig, AmqpQueue};
use gureum_conformance::{queue, Options};
use gureum_core::{DeadLetter, ErrorKind, Message, Queue, ReceiveOptions};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

fn broker() -> Option<String> {
    let a = gureum_testkit::env::var("AMQP_ADDR")?;
    gureum_testkit::env::assert_loopback(&a.replace("amqp://", "http://"));
    Some(a)
}

async fn fresh(addr: &str, prefix: &str) -> Queue {
    let name = gureum_testkit::env::unique(prefix);
    open_amqp(AmqpConfig::new(addr, name).unwrap().create(true))
        .await
        .unwrap()
}

async fn cleanup(q: &Queue) {
    let d = q.native::<AmqpQueue>().unwrap();
    gureum_core::QueueAdmin::delete_queue(&AmqpAdmin::new(d.config().clone()), q.name())
        .await
        .ok();
}

fn ro(max: usize, vis: Duration, wait: Duration) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: max,
        visibility: vis,
        wait,
    }
}

/// Receive until `want` messages arrived or `patience` passed.
async fn receive_n(
    q: &Queue,
    want: usize,
    vis: Duration,
    patience: Duration,
) -> Vec<gureum_core::ReceivedMessage> {
    let deadline = Instant::now() + patience;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(
            q.receive_with(ro(10, vis, Duration::from_millis(500)))
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_rabbitmq() {
    let Some(addr) = broker() else { return };
    let q = fresh(&addr, "gcf-amqp").await;
    let r = queue::run(
        &q,
        &Options {
            backend: Some("amqp (RabbitMQ 3.10, quorum queues)".into()),
            target: Some(gureum_conformance::certify::Target::Emulator),
            ..Options::default()
        },
    )
    .await;
    cleanup(&q).await;
    println!("{}", r.to_text());
    assert_eq!(r.failed(), 0, "failures {:?}", r.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_after_max_receives_and_delayed_nack() {
    let Some(addr) = broker() else { return };
    let dlq = fresh(&addr, "amqp-dlq").await;
    let name = gureum_testkit::env::unique("amqp-main");
    let q = open_amqp(
        AmqpConfig::new(&addr, &name)
            .unwrap()
            .create(true)
            .dead_letter(DeadLetter {
                queue: dlq.name().to_string(),
                max_receive_count: 3,
            }),
    )
    .await
    .unwrap();
    let id = q
        .send(Message::new("poison").attribute("k", "v"))
        .await
        .unwrap();
    let vis = Duration::from_millis(300);
    let mut counts = Vec::new();
    for _ in 0..3 {
        let m = receive_n(&q, 1, vis, Duration::from_secs(10)).await;
        assert_eq!(m.len(), 1, "delivery {} missing", counts.len() + 1);
        assert_eq!(m[0].id, id);
        counts.push(m[0].receive_count);
        // let the visibility expire: the driver returns it to the broker
    }
    assert_eq!(counts, vec![1, 2, 3]);
    // The 4th attempt must not come from the main queue but from the DLQ.
    let again = receive_n(&q, 1, vis, Duration::from_secs(2)).await;
    assert!(again.is_empty(), "delivered a 4th time: {again:?}");
    let dead = receive_n(&dlq, 1, vis, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1, "not dead-lettered");
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].body.as_ref(), b"poison");
    assert_eq!(dead[0].attributes.get("k").map(String::as_str), Some("v"));
    dlq.ack(&dead[0]).await.unwrap();

    // nack with delay: back after the delay (through the wait queue), count continues.
    let id2 = q.send(Message::new("later")).await.unwrap();
    let m = receive_n(&q, 1, Duration::from_secs(30), Duration::from_secs(10)).await;
    assert_eq!(m[0].id, id2);
    let t0 = Instant::now();
    q.nack(&m[0], Duration::from_millis(1200)).await.unwrap();
    let back = receive_n(&q, 1, Duration::from_secs(30), Duration::from_secs(10)).await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id, id2);
    assert!(
        t0.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(back[0].receive_count, 2);
    q.ack(&back[0]).await.unwrap();
    cleanup(&q).await;
    cleanup(&dlq).await;
}

/// A loopback TCP proxy whose connections can all be cut at once.
struct CutProxy {
    port: u16,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    async fn start(upstream: String) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let c2 = conns.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = l.accept().await else {
                    return;
                };
                let up = upstream.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut upc) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut upc).await;
                    }
                });
                c2.lock().unwrap().push(h);
            }
        });
        CutProxy {
            port,
            conns,
            _accept: accept,
        }
    }
    fn cut(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_connection_loss_without_losing_messages() {
    let Some(addr) = broker() else { return };
    let u = url::Url::parse(&addr).unwrap();
    let upstream = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(5672));
    let proxy = CutProxy::start(upstream).await;
    let mut via = u.clone();
    via.set_port(Some(proxy.port)).unwrap();
    let name = gureum_testkit::env::unique("amqp-reconnect");
    let q = open_amqp(AmqpConfig::new(via.as_str(), &name).unwrap().create(true))
        .await
        .unwrap();
    let ids: BTreeSet<String> = q
        .send_batch((0..6).map(|i| Message::new(format!("r{i}"))).collect())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let got = receive_n(&q, 6, Duration::from_secs(60), Duration::from_secs(10)).await;
    assert_eq!(got.len(), 6);
    q.ack_all(&got[..2]).await.unwrap();
    let acked: BTreeSet<String> = got[..2].iter().map(|m| m.id.clone()).collect();

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Receipts of the lost connection are stale; their messages come back.
    let e = q.ack(&got[3]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    // Sending works again after the reconnect.
    let extra = q.send(Message::new("after")).await.unwrap();
    let back = receive_n(&q, 5, Duration::from_secs(60), Duration::from_secs(20)).await;
    let back_ids: BTreeSet<String> = back.iter().map(|m| m.id.clone()).collect();
    let mut want: BTreeSet<String> = ids.difference(&acked).cloned().collect();
    want.insert(extra);
    assert_eq!(
        back_ids, want,
        "acked ones must stay gone, unacked ones come back"
    );
    for m in &back {
        if m.id != *want.iter().last().unwrap() && ids.contains(&m.id) {
            assert!(m.receive_count >= 2, "redelivery not counted: {m:?}");
        }
    }
    q.ack_all(&back).await.unwrap();
    assert!(q.native::<AmqpQueue>().is_some());
    let admin = AmqpAdmin::new(AmqpConfig::new(&addr, &name).unwrap());
    gureum_core::QueueAdmin::delete_queue(&admin, &name)
        .await
        .unwrap();
    proxy.cut();
}

const CHILD_ENV: &str = "GUREUM_AMQP_KILL_CHILD";

/// The consumer the kill -9 test starts in a child process (does nothing otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_consumer() {
    let Ok(name) = std::env::var(CHILD_ENV) else {
        return;
    };
    let addr = std::env::var("AMQP_ADDR").unwrap();
    let q = open_amqp(AmqpConfig::new(&addr, &name).unwrap())
        .await
        .unwrap();
    let got = receive_n(&q, 10, Duration::from_secs(600), Duration::from_secs(20)).await;
    println!();
    let (ack, hold) = got.split_at(got.len() / 2);
    q.ack_all(ack).await.unwrap();
    for m in ack {
        println!("ACKED {}", m.id);
    }
    for m in hold {
        println!("HELD {}", m.id);
    }
    println!("READY");
    use std::io::Write;
    std::io::stdout().flush().ok();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_killed_with_sigkill_loses_nothing() {
    let Some(addr) = broker() else { return };
    let q = fresh(&addr, "amqp-kill").await;
    let ids: BTreeSet<String> = q
        .send_batch((0..30).map(|i| Message::new(format!("k{i}"))).collect())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_consumer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, q.name())
        .env("AMQP_ADDR", &addr)
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
    let (mut acked, mut held) = (BTreeSet::new(), BTreeSet::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("child consumer did not get ready");
        // The test harness may print "test child_consumer ... " in front of the first line.
        if let Some((_, id)) = line.split_once("ACKED ") {
            acked.insert(id.trim().to_string());
        } else if let Some((_, id)) = line.split_once("HELD ") {
            held.insert(id.trim().to_string());
        } else if line.contains("READY") {
            break;
        }
    }
    assert!(!acked.is_empty() && !held.is_empty());
    // SIGKILL: no clean close, the broker only sees the socket go away.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();

    let rest = receive_n(
        &q,
        ids.len() - acked.len(),
        Duration::from_secs(60),
        Duration::from_secs(30),
    )
    .await;
    let rest_ids: BTreeSet<String> = rest.iter().map(|m| m.id.clone()).collect();
    let want: BTreeSet<String> = ids.difference(&acked).cloned().collect();
    assert!(acked.is_disjoint(&rest_ids), "an acked message came back");
    assert_eq!(rest_ids, want, "every unacked message is delivered again");
    for m in &rest {
        if held.contains(&m.id) {
            assert!(
                m.receive_count >= 2,
                "held message not counted as redelivered: {m:?}"
            );
        }
    }
    q.ack_all(&rest).await.unwrap();
    cleanup(&q).await;
}
