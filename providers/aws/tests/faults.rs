//! S3 and SQS on moto through the fault-injection proxy (`gureum_testkit::fault`): 5xx and
//! 429 with `Retry-After`, resets before and after forwarding, truncated bodies and stalls.
//! Every operation succeeds or fails with a typed error, no corrupted object is reported as
//! a success, and no message whose send succeeded is lost (at-least-once).

mod common;

use common::*;
use gureum_core::{ErrorKind, Message, ReceiveOptions};
use gureum_testkit::fault::{FaultPlan, FaultProxy};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Error kinds a fault may surface as: anything but `Other` (an untyped error) and the
/// kinds that would mean a wrong answer (`NotFound` for an object that exists is checked
/// separately).
fn typed(kind: ErrorKind) -> bool {
    kind != ErrorKind::Other
}

fn data(i: usize) -> Vec<u8> {
    let len = match i % 4 {
        0 => 0,
        1 => 17,
        2 => 4096,
        _ => 150_000,
    };
    (0..len).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_operations_under_faults_are_typed_and_never_corrupt() {
    safe_env();
    let Some(ep) = moto() else { return };
    let name = unique("faults");
    // Create the bucket directly, then work through the proxy.
    let direct = gureum_aws::open_s3(s3(&ep, &name)).await.unwrap();
    direct.admin().unwrap().create_bucket(&name).await.unwrap();
    let proxy = FaultProxy::start(
        &ep,
        FaultPlan::all(0.3, 19).stall(Duration::from_millis(300)),
    )
    .await;
    let b = gureum_aws::open_s3(s3(&proxy.endpoint, &name))
        .await
        .unwrap();

    let n = 40;
    let mut put_ok = BTreeSet::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |op: &str, k: ErrorKind, msg: &str| {
        assert!(typed(k), "{op}: untyped error: {msg}");
        *errors.entry(format!("{op}:{k}")).or_default() += 1;
    };
    for i in 0..n {
        match b.put(&format!("k/{i:03}"), data(i)).await {
            Ok(_) => {
                put_ok.insert(i);
            }
            Err(e) => note("put", e.kind(), &e.to_string()),
        }
    }
    for i in 0..n {
        match b.get(&format!("k/{i:03}")).await {
            Ok(got) => assert_eq!(&got[..], &data(i)[..], "object {i} corrupted"),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                assert!(
                    !put_ok.contains(&i),
                    "object {i} was stored but reads NotFound"
                )
            }
            Err(e) => note("get", e.kind(), &e.to_string()),
        }
        match b.get_range(&format!("k/{i:03}"), 1..10).await {
            Ok(got) => {
                let d = data(i);
                let want = &d[1.min(d.len())..10.min(d.len())];
                assert_eq!(&got[..], want, "range of object {i} corrupted");
            }
            Err(e) => note("range", e.kind(), &e.to_string()),
        }
    }
    match b.list_all(Some("k/")).await {
        Ok(list) => {
            for o in &list {
                let i: usize = o.key[2..].parse().unwrap();
                assert_eq!(o.size, data(i).len() as u64, "listed size of {i}");
            }
            for i in &put_ok {
                assert!(
                    list.iter().any(|o| o.key == format!("k/{i:03}")),
                    "stored object {i} missing from a successful listing"
                );
            }
        }
        Err(e) => note("list", e.kind(), &e.to_string()),
    }
    // Verify without faults: every successful put is intact.
    proxy.pause();
    for i in &put_ok {
        assert_eq!(
            &b.get(&format!("k/{i:03}")).await.unwrap()[..],
            &data(*i)[..],
            "object {i} after the faults"
        );
    }
    eprintln!(
        "s3 under faults: {}; {} of {n} puts ok; errors {errors:?}",
        proxy.stats(),
        put_ok.len()
    );
    assert!(proxy.stats().total_injected() >= 10, "{}", proxy.stats());
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    for r in b.delete_many(&keys).await.unwrap() {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_under_faults_loses_no_message() {
    safe_env();
    let Some(ep) = moto() else { return };
    let name = unique("faultq");
    let admin = gureum_aws::open_sqs(sqs(&ep, &name).create(true))
        .await
        .unwrap();
    let proxy = FaultProxy::start(
        &ep,
        FaultPlan::all(0.3, 23).stall(Duration::from_millis(300)),
    )
    .await;
    let q = gureum_aws::open_sqs(sqs(&proxy.endpoint, &name))
        .await
        .unwrap();
    let n = 30;
    let mut sent = BTreeSet::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..n {
        let body = format!("m{i:03}");
        // A failed send may still have been delivered (500 after forwarding): resend until
        // one send succeeds (at-least-once allows the duplicate).
        for _attempt in 0..20 {
            match q.send(Message::new(body.clone())).await {
                Ok(_) => {
                    sent.insert(body.clone());
                    break;
                }
                Err(e) => {
                    assert!(typed(e.kind()), "send: untyped error: {e}");
                    *errors.entry(format!("send:{}", e.kind())).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(
        sent.len(),
        n,
        "some messages could not be sent in 20 attempts"
    );
    let mut acked = BTreeSet::new();
    let opts = ReceiveOptions {
        max_messages: 10,
        visibility: Duration::from_secs(2),
        wait: Duration::from_secs(1),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while acked.len() < n && std::time::Instant::now() < deadline {
        let msgs = match q.receive_with(opts).await {
            Ok(m) => m,
            Err(e) => {
                assert!(typed(e.kind()), "receive: untyped error: {e}");
                *errors.entry(format!("receive:{}", e.kind())).or_default() += 1;
                continue;
            }
        };
        for m in msgs {
            let body = String::from_utf8(m.body.to_vec()).unwrap();
            assert!(sent.contains(&body), "a message nobody sent: {body:?}");
            match q.ack(&m).await {
                Ok(()) => {
                    acked.insert(body);
                }
                Err(e) => {
                    // Not acked: it comes back after its visibility timeout.
                    assert!(typed(e.kind()), "ack: untyped error: {e}");
                    *errors.entry(format!("ack:{}", e.kind())).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "sqs under faults: {}; {} sent, {} acked; errors {errors:?}",
        proxy.stats(),
        sent.len(),
        acked.len()
    );
    assert_eq!(acked, sent, "messages lost");
    assert!(proxy.stats().total_injected() >= 10, "{}", proxy.stats());
    admin.admin().unwrap().delete_queue(&name).await.unwrap();
}
