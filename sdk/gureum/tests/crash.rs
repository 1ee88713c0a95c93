//! Crashes (issue 19): `kill -9` of a queue consumer on every queue backend with a server
//! here (sqlite://, SQS on moto, Azure Queue on Azurite; AMQP/Kafka are the queues work's),
//! and of a process in the middle of a multipart upload (S3 on moto). Nothing is lost:
//! every message the dead consumer did not ack comes back, none it acked does, and the
//! interrupted upload leaves no object and a pending upload that `abort_incomplete_uploads`
//! removes. (A crash of the sqlite queue in the middle of a transaction is
//! `providers/local/tests/queue_process.rs::sigkill_mid_churn_loses_nothing_and_keeps_the_file_sound`.)
//!
//! The parent re-runs this test executable as the child (`child_entry` with `GC_ROLE` set).

use gureum::{Message, PutOptions, ReceiveOptions};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "GC {line}");
    let _ = out.flush();
}

/// Entry point of the child processes; a no-op when run as a normal test.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var("GC_ROLE") else {
        return;
    };
    let url = std::env::var("GC_URL").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        match role.as_str() {
            "consumer" => consumer(&url).await,
            "upload" => upload(&url).await,
            _ => say("ERR unknown role"),
        }
    });
    std::process::exit(3);
}

/// Receive every message; ack the even-numbered ones, hold the odd ones; then hang.
async fn consumer(url: &str) {
    let q = gureum::open_queue(url).await.unwrap();
    let want: usize = std::env::var("GC_N").unwrap().parse().unwrap();
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen < want && Instant::now() < deadline {
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: Duration::from_secs(4),
                wait: Duration::from_secs(1),
            })
            .await
            .unwrap();
        for m in got {
            seen += 1;
            let body = String::from_utf8_lossy(&m.body).into_owned();
            let n: usize = body.trim_start_matches('m').parse().unwrap();
            if n.is_multiple_of(2) {
                q.ack(&m).await.unwrap();
                say(&format!("ACKED {body}"));
            } else {
                say(&format!("HELD {body}"));
            }
        }
    }
    say("READY");
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Start a multipart upload, write three parts, then hang (killed before `finish`).
async fn upload(url: &str) {
    let b = gureum::open_bucket(url).await.unwrap();
    let mut w = b
        .writer("crash/big.bin", &PutOptions::default())
        .await
        .unwrap()
        .with_part_size(5 * 1024 * 1024)
        .unwrap();
    let chunk = vec![42u8; 1024 * 1024];
    for _ in 0..16 {
        w.write(&chunk).await.unwrap();
    }
    assert!(w.is_multipart());
    say("READY");
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(w);
}

struct Kid {
    child: Child,
    lines: mpsc::Receiver<String>,
}

fn spawn(role: &str, url: &str, n: usize) -> Kid {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("GC_ROLE", role)
        .env("GC_URL", url)
        .env("GC_N", n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(l) = line.find("GC ").map(|i| &line[i + 3..]) {
                if tx.send(l.to_string()).is_err() {
                    break;
                }
            }
        }
    });
    Kid { child, lines: rx }
}

impl Kid {
    fn until_ready(&self) -> Vec<String> {
        let mut v = Vec::new();
        loop {
            let l = self
                .lines
                .recv_timeout(Duration::from_secs(90))
                .expect("the child said nothing for 90 s");
            assert!(!l.starts_with("ERR"), "{l}");
            if l == "READY" {
                return v;
            }
            v.push(l);
        }
    }
    fn kill9(mut self) {
        self.child.kill().unwrap();
        let st = self.child.wait().unwrap();
        assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    }
}

fn env(v: &str) -> Option<String> {
    gureum_testkit::env::var(v)
}

async fn consumer_crash(label: &str, url: &str) {
    let q = gureum::open_queue(url).await.unwrap();
    const N: usize = 20;
    let sent: BTreeSet<String> = (0..N).map(|i| format!("m{i}")).collect();
    q.send_batch(sent.iter().map(|b| Message::new(b.clone())).collect())
        .await
        .unwrap();
    let kid = spawn("consumer", url, N);
    let lines = kid.until_ready();
    kid.kill9();
    let acked: BTreeSet<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ACKED ").map(str::to_string))
        .collect();
    let held: BTreeSet<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("HELD ").map(str::to_string))
        .collect();
    assert_eq!(acked.len() + held.len(), N, "{label}: {lines:?}");
    // After the dead consumer's visibility timeout, exactly the unacked messages come back.
    let mut back = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while back.len() < held.len() && Instant::now() < deadline {
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: Duration::from_secs(30),
                wait: Duration::from_secs(1),
            })
            .await
            .unwrap();
        for m in &got {
            let body = String::from_utf8_lossy(&m.body).into_owned();
            assert!(
                !acked.contains(&body),
                "{label}: acked message {body} came back"
            );
            assert!(m.receive_count >= 2, "{label}: {m:?}");
            back.insert(body);
        }
        q.ack_all(&got).await.unwrap();
    }
    assert_eq!(back, held, "{label}: unacked messages lost");
    let union: BTreeSet<String> = acked.union(&back).cloned().collect();
    assert_eq!(union, sent, "{label}");
    println!(
        "{label}: consumer killed with {} acked, {} held; all held came back",
        acked.len(),
        held.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_consumer_killed() {
    let d = tempfile::tempdir().unwrap();
    consumer_crash(
        "sqlite",
        &format!("sqlite://{}/q.db?queue=crash", d.path().display()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_consumer_killed() {
    let Some(ep) = env("AWS_ENDPOINT_URL") else {
        return;
    };
    gureum_testkit::env::aws_safe_env();
    let name = gureum_testkit::unique("crash");
    consumer_crash(
        "sqs/moto",
        &format!("sqs://{name}?endpoint={ep}&region=us-east-1&create=true"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_queue_consumer_killed() {
    let Some(_) = env("AZURITE_QUEUE_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("crash");
    consumer_crash(
        "azqueue/azurite",
        &format!("azqueue://{name}?emulator=true&create=true"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_killed() {
    let Some(ep) = env("AWS_ENDPOINT_URL") else {
        return;
    };
    gureum_testkit::env::aws_safe_env();
    let name = gureum_testkit::unique("crash");
    let url = format!("s3://{name}?endpoint={ep}&region=us-east-1");
    let b = gureum::open_bucket(&url).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let kid = spawn("upload", &url, 0);
    kid.until_ready();
    kid.kill9();
    // No object appeared (an upload is all or nothing) ...
    let e = b.get("crash/big.bin").await.unwrap_err();
    assert_eq!(e.kind(), gureum::ErrorKind::NotFound, "{e}");
    // ... and the pending upload is found and aborted.
    let n = gureum::aws::abort_incomplete_uploads(&b, Duration::ZERO)
        .await
        .unwrap();
    assert!(n >= 1, "no pending upload found");
    assert_eq!(
        gureum::aws::abort_incomplete_uploads(&b, Duration::ZERO)
            .await
            .unwrap(),
        0
    );
    b.admin().unwrap().delete_bucket(&name).await.unwrap();
}
