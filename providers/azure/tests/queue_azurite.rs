//! Queue Storage against Azurite (needs AZURITE_QUEUE_STORAGE_URL).

use gureum_azure::queue::AzureQueue;
use gureum_core::{DeadLetter, ErrorKind, Message, QueueConfig, ReceiveOptions, Registry};
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

fn opts(max: usize, vis_secs: u64) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: max,
        visibility: Duration::from_secs(vis_secs),
        wait: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn queue_send_receive_ack_nack_extend_depth() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_QUEUE_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gq");
    let q = registry()
        .open_queue(Some(&format!("azqueue://{name}?emulator=true")))
        .await
        .unwrap();
    let admin = q.admin().unwrap().clone();
    // receive on a missing queue: QueueNotFound with request id
    let e = q.receive_with(opts(1, 5)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.provider_code(), Some("QueueNotFound"));
    assert!(e.request_id().is_some());

    admin
        .create_queue(&name, &QueueConfig::default())
        .await
        .unwrap();
    admin
        .create_queue(&name, &QueueConfig::default())
        .await
        .unwrap(); // idempotent
    assert!(admin.list_queues().await.unwrap().contains(&name));

    // binary body round trip (base64 on the wire)
    let body: Vec<u8> = (0u8..=255).collect();
    let id = q.send(Message::new(body.clone())).await.unwrap();
    q.send(Message::new("second")).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 2);
    let az = q.native::<AzureQueue>().unwrap();
    let peeked = az.peek(32).await.unwrap();
    assert_eq!(peeked.len(), 2);
    assert_eq!(&peeked[0].body[..], &body[..]);

    let got = q.receive_with(opts(1, 30)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(&got[0].body[..], &body[..]);
    assert_eq!(got[0].receive_count, 1);
    // extend, then ack with the original receipt (pop receipt tracking)
    q.extend_visibility(&got[0], Duration::from_secs(60))
        .await
        .unwrap();
    q.ack(&got[0]).await.unwrap();
    // stale receipt after ack
    let e = q.ack(&got[0]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");

    // nack with no delay: redelivered with a higher count
    let got = q.receive_with(opts(1, 30)).await.unwrap();
    assert_eq!(&got[0].body[..], b"second");
    q.nack(&got[0], Duration::ZERO).await.unwrap();
    let again = q.receive_with(opts(1, 30)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    // nack with delay: invisible for a while
    q.nack(&again[0], Duration::from_secs(30)).await.unwrap();
    let none = q
        .receive_with(ReceiveOptions {
            wait: Duration::from_millis(300),
            ..opts(1, 30)
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    // delayed send
    q.send(Message::new("later").delay(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(az.peek(32).await.unwrap().len(), 0);

    // size limit: 48 KiB raw fits (64 KiB base64), one more byte is refused
    q.send(Message::new(vec![1u8; gureum_azure::queue::MAX_BODY_BYTES]))
        .await
        .unwrap();
    let e = q
        .send(Message::new(vec![
            1u8;
            gureum_azure::queue::MAX_BODY_BYTES + 1
        ]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = q
        .send(Message::new("x").attribute("a", "b"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);

    q.purge().await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 0);
    admin.delete_queue(&name).await.unwrap();
    let e = admin.delete_queue(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn poison_queue_after_max_dequeue_count() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_QUEUE_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gp");
    let q = registry()
        .open_queue(Some(&format!("azqueue://{name}?emulator=true")))
        .await
        .unwrap();
    let admin = q.admin().unwrap().clone();
    let poison = format!("{name}-poison");
    admin
        .create_queue(
            &name,
            &QueueConfig {
                dead_letter: Some(DeadLetter {
                    queue: poison.clone(),
                    max_receive_count: 2,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let q = admin.open(&name).await.unwrap();
    q.send(Message::new("bad")).await.unwrap();
    for i in 1..=2 {
        let m = q.receive_with(opts(1, 30)).await.unwrap();
        assert_eq!(m.len(), 1, "delivery {i}");
        assert_eq!(m[0].receive_count, i);
        q.nack(&m[0], Duration::ZERO).await.unwrap();
    }
    let m = q
        .receive_with(ReceiveOptions {
            wait: Duration::from_millis(300),
            ..opts(1, 30)
        })
        .await
        .unwrap();
    assert!(m.is_empty(), "third delivery goes to the poison queue");
    let p = admin.open(&poison).await.unwrap();
    let pm = p.receive_with(opts(1, 30)).await.unwrap();
    assert_eq!(pm.len(), 1);
    assert_eq!(&pm[0].body[..], b"bad");
    admin.delete_queue(&name).await.unwrap();
    admin.delete_queue(&poison).await.unwrap();
}

#[tokio::test]
async fn account_sas_and_connection_string_auth() {
    let Some(qurl) = gureum_testkit::env::azurite("AZURITE_QUEUE_STORAGE_URL") else {
        return;
    };
    use gureum_azure::auth::{AccountKey, AccountSas, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY};
    let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
    let sas = AccountSas {
        services: "q".into(),
        resource_types: "sco".into(),
        permissions: "rwdlacup".into(),
        start: None,
        expiry: chrono::Utc::now() + chrono::Duration::hours(1),
    }
    .sign(EMULATOR_ACCOUNT, &key);
    let name = gureum_testkit::unique("gs");
    let endpoint = format!("{}/{EMULATOR_ACCOUNT}", qurl.trim_end_matches('/'));
    let u = format!(
        "azqueue://{name}?account={EMULATOR_ACCOUNT}&queue_endpoint={}&sas_token={}&create=true",
        enc(&endpoint),
        enc(&sas)
    );
    let q = registry().open_queue(Some(&u)).await.unwrap();
    q.send(Message::new("via sas")).await.unwrap();
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName={EMULATOR_ACCOUNT};AccountKey={EMULATOR_ACCOUNT_KEY};QueueEndpoint={endpoint};"
    );
    let q2 = registry()
        .open_queue(Some(&format!(
            "azqueue://{name}?connection_string={}",
            enc(&cs)
        )))
        .await
        .unwrap();
    let m = q2.receive_with(opts(1, 30)).await.unwrap();
    assert_eq!(&m[0].body[..], b"via sas");
    q2.ack(&m[0]).await.unwrap();
    q2.admin().unwrap().delete_queue(&name).await.unwrap();
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
