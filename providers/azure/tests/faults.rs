//! Blob and Queue Storage on Azurite through the fault-injection proxy
//! (`gureum_testkit::fault`): every operation succeeds or fails with a typed error, no
//! corrupted blob is reported as a success, no message whose send succeeded is lost.

use gureum_core::{ErrorKind, Message, ReceiveOptions, Registry};
use gureum_testkit::fault::{FaultPlan, FaultProxy};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

/// The Azurite connection string with the blob or queue endpoint moved to `proxy`.
fn via(proxy: &str, which: &str) -> Option<String> {
    let cs = gureum_testkit::env::var("AZURE_STORAGE_CONNECTION_STRING")?;
    let parts: Vec<String> = cs
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if k == which => {
                let u = url::Url::parse(v).unwrap();
                format!("{k}={proxy}{}", u.path())
            }
            _ => p.to_string(),
        })
        .collect();
    let cs = parts.join(";");
    Some(url::form_urlencoded::byte_serialize(cs.as_bytes()).collect())
}

fn upstream(which: &str) -> Option<String> {
    let cs = gureum_testkit::env::var("AZURE_STORAGE_CONNECTION_STRING")?;
    cs.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == which).then(|| {
            let u = url::Url::parse(v).unwrap();
            format!("http://{}", u.authority())
        })
    })
}

fn data(i: usize) -> Vec<u8> {
    let len = [0usize, 33, 5000, 120_000][i % 4];
    (0..len).map(|j| ((i * 13 + j * 5) % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_under_faults_are_typed_and_never_corrupt() {
    let Some(up) = upstream("BlobEndpoint") else {
        return;
    };
    let proxy = FaultProxy::start(
        &up,
        FaultPlan::all(0.3, 31).stall(Duration::from_millis(300)),
    )
    .await;
    let Some(cs) = via(&proxy.endpoint, "BlobEndpoint") else {
        return;
    };
    let name = gureum_testkit::unique("faults");
    proxy.pause();
    let b = registry()
        .open_bucket(Some(&format!("azblob://{name}?connection_string={cs}")))
        .await
        .unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    proxy.resume();
    let n = 40;
    let mut ok = BTreeSet::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |op: &str, k: ErrorKind, m: String| {
        assert_ne!(k, ErrorKind::Other, "{op}: untyped error: {m}");
        *errors.entry(format!("{op}:{k}")).or_default() += 1;
    };
    for i in 0..n {
        match b.put(&format!("k/{i:03}"), data(i)).await {
            Ok(_) => {
                ok.insert(i);
            }
            Err(e) => note("put", e.kind(), e.to_string()),
        }
    }
    for i in 0..n {
        match b.get(&format!("k/{i:03}")).await {
            Ok(got) => assert_eq!(&got[..], &data(i)[..], "blob {i} corrupted"),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                assert!(!ok.contains(&i), "blob {i} was stored but reads NotFound")
            }
            Err(e) => note("get", e.kind(), e.to_string()),
        }
    }
    match b.list_all(Some("k/")).await {
        Ok(list) => {
            for i in &ok {
                assert!(
                    list.iter().any(|o| o.key == format!("k/{i:03}")),
                    "{i} not listed"
                );
            }
        }
        Err(e) => note("list", e.kind(), e.to_string()),
    }
    proxy.pause();
    for i in &ok {
        assert_eq!(
            &b.get(&format!("k/{i:03}")).await.unwrap()[..],
            &data(*i)[..]
        );
    }
    eprintln!(
        "azblob under faults: {}; {} of {n} puts ok; {errors:?}",
        proxy.stats(),
        ok.len()
    );
    assert!(proxy.stats().total_injected() >= 10, "{}", proxy.stats());
    b.admin().unwrap().delete_bucket(&name).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_under_faults_loses_no_message() {
    let Some(up) = upstream("QueueEndpoint") else {
        return;
    };
    let proxy = FaultProxy::start(
        &up,
        FaultPlan::all(0.3, 37).stall(Duration::from_millis(300)),
    )
    .await;
    let Some(cs) = via(&proxy.endpoint, "QueueEndpoint") else {
        return;
    };
    let name = gureum_testkit::unique("faultq");
    proxy.pause();
    let q = registry()
        .open_queue(Some(&format!(
            "azqueue://{name}?connection_string={cs}&create=true"
        )))
        .await
        .unwrap();
    proxy.resume();
    let n = 30;
    let mut sent = BTreeSet::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..n {
        let body = format!("m{i:03}");
        for _ in 0..20 {
            match q.send(Message::new(body.clone())).await {
                Ok(_) => {
                    sent.insert(body.clone());
                    break;
                }
                Err(e) => {
                    assert_ne!(e.kind(), ErrorKind::Other, "send: untyped error: {e}");
                    *errors.entry(format!("send:{}", e.kind())).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(sent.len(), n);
    let mut acked = BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while acked.len() < n && std::time::Instant::now() < deadline {
        let got = match q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: Duration::from_secs(2),
                wait: Duration::from_secs(1),
            })
            .await
        {
            Ok(m) => m,
            Err(e) => {
                assert_ne!(e.kind(), ErrorKind::Other, "receive: untyped error: {e}");
                *errors.entry(format!("receive:{}", e.kind())).or_default() += 1;
                continue;
            }
        };
        for m in got {
            let body = String::from_utf8(m.body.to_vec()).unwrap();
            assert!(sent.contains(&body), "{body:?} was never sent");
            match q.ack(&m).await {
                Ok(()) => {
                    acked.insert(body);
                }
                // The delete reached the server but its answer was faulted: the retried
                // delete finds the receipt gone (precondition failed / not found). The message
                // was delivered and is deleted, not lost; had the delete not happened, it
                // would be received again.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::PreconditionFailed | ErrorKind::NotFound
                    ) =>
                {
                    *errors.entry(format!("ack:{}", e.kind())).or_default() += 1;
                    acked.insert(body);
                }
                Err(e) => {
                    assert_ne!(e.kind(), ErrorKind::Other, "ack: untyped error: {e}");
                    *errors.entry(format!("ack:{}", e.kind())).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "azqueue under faults: {}; {} sent, {} acked; {errors:?}",
        proxy.stats(),
        sent.len(),
        acked.len()
    );
    assert_eq!(acked, sent, "messages lost");
    assert!(proxy.stats().total_injected() >= 10, "{}", proxy.stats());
    proxy.pause();
    q.admin().unwrap().delete_queue(&name).await.ok();
}
