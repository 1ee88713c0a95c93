//! SQS provider tests against moto (AWS_ENDPOINT_URL).

mod common;

use common::*;
use gureum_aws::{open_sqs, SqsQueue};
use gureum_core::{DeadLetter, ErrorKind, Message, QueueConfig, ReceiveOptions};
use std::time::Duration;

fn opts(max: usize, vis: u64, wait: u64) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: max,
        visibility: Duration::from_secs(vis),
        wait: Duration::from_secs(wait),
    }
}

#[tokio::test]
async fn send_receive_ack_nack_depth_purge() {
    let Some(ep) = moto() else { return };
    let name = unique("gu-q");
    let q = open_sqs(sqs(&ep, &name).create(true)).await.unwrap();
    assert!(q.native::<SqsQueue>().unwrap().queue_url().contains(&name));
    let caps = q.capabilities();
    assert_eq!(
        (caps.max_batch_send, caps.max_message_bytes),
        (10, gureum_aws::sqs::MAX_MESSAGE_BYTES)
    );
    assert!(!caps.ordering);

    // 15 messages → two batches; binary, empty and attributed bodies round trip
    let mut ms: Vec<Message> = (0..12).map(|i| Message::new(format!("m{i}"))).collect();
    ms.push(Message::new(vec![0u8, 255, 1, 2]));
    ms.push(Message::new(Vec::<u8>::new()));
    ms.push(Message::new("with-attr").attribute("trace-id", "t-1"));
    let ids = q.send_batch(ms).await.unwrap();
    assert_eq!(ids.len(), 15);
    assert_eq!(q.depth().await.unwrap(), 15);

    let mut got = Vec::new();
    for _ in 0..10 {
        let r = q.receive_with(opts(10, 30, 1)).await.unwrap();
        got.extend(r);
        if got.len() >= 15 {
            break;
        }
    }
    assert_eq!(got.len(), 15);
    assert!(got.iter().any(|m| m.body[..] == [0u8, 255, 1, 2]));
    assert!(got.iter().any(|m| m.body.is_empty()));
    let a = got.iter().find(|m| &m.body[..] == b"with-attr").unwrap();
    assert_eq!(
        a.attributes.get("trace-id").map(String::as_str),
        Some("t-1")
    );
    assert_eq!(a.receive_count, 1);
    assert!(a.sent_at.is_some());

    // nack one (delay 0) → redelivered with a higher receive count
    let first = got.remove(0);
    q.nack(&first, Duration::ZERO).await.unwrap();
    let again = q.receive_with(opts(1, 30, 1)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first.id);
    assert_eq!(again[0].receive_count, 2);
    q.extend_visibility(&again[0], Duration::from_secs(60))
        .await
        .unwrap();
    q.ack_all(&again).await.unwrap();
    q.ack_all(&got).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 0);

    // purge
    q.send(Message::new("x")).await.unwrap();
    q.purge().await.unwrap();
    assert!(q.receive_with(opts(10, 30, 0)).await.unwrap().is_empty());

    // too large
    let e = q
        .send(Message::new(vec![b'a'; 256 * 1024 + 1]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);

    let admin = q.admin().unwrap();
    assert!(admin.list_queues().await.unwrap().contains(&name));
    admin.delete_queue(&name).await.unwrap();
    let e = admin.delete_queue(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn dead_letter_after_max_receives() {
    let Some(ep) = moto() else { return };
    let (main, dlq) = (unique("gu-main"), unique("gu-dlq"));
    let q0 = open_sqs(sqs(&ep, &dlq).create(true)).await.unwrap();
    let admin = q0.admin().unwrap().clone();
    admin
        .create_queue(
            &main,
            &QueueConfig {
                dead_letter: Some(DeadLetter {
                    queue: dlq.clone(),
                    max_receive_count: 1,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let q = admin.open(&main).await.unwrap();
    q.send(Message::new("poison")).await.unwrap();
    let r = q.receive_with(opts(1, 0, 1)).await.unwrap();
    assert_eq!(r.len(), 1);
    // second receive exceeds maxReceiveCount = 1: the message moves to the DLQ
    let mut moved = false;
    for _ in 0..5 {
        let r = q.receive_with(opts(1, 0, 1)).await.unwrap();
        if r.is_empty() && q0.depth().await.unwrap() == 1 {
            moved = true;
            break;
        }
    }
    assert!(moved, "message reached the DLQ");
    let d = q0.receive_with(opts(1, 30, 1)).await.unwrap();
    assert_eq!(&d[0].body[..], b"poison");
    admin.delete_queue(&main).await.unwrap();
    admin.delete_queue(&dlq).await.unwrap();
}

#[tokio::test]
async fn fifo_order_and_dedup() {
    let Some(ep) = moto() else { return };
    let name = format!("{}.fifo", unique("gu-f"));
    let q = open_sqs(sqs(&ep, &name).create(true)).await.unwrap();
    assert!(q.capabilities().ordering);
    assert!(!q.capabilities().delay);
    let mut ms: Vec<Message> = (0..5)
        .map(|i| Message::new(format!("{i}")).group("g1"))
        .collect();
    let mut dup = Message::new("dup").group("g1");
    dup.dedup_id = Some("same".into());
    ms.push(dup.clone());
    ms.push(dup);
    q.send_batch(ms).await.unwrap();
    let mut bodies = Vec::new();
    for _ in 0..10 {
        let r = q.receive_with(opts(10, 30, 1)).await.unwrap();
        if r.is_empty() {
            break;
        }
        bodies.extend(
            r.iter()
                .map(|m| String::from_utf8_lossy(&m.body).to_string()),
        );
        q.ack_all(&r).await.unwrap();
    }
    assert_eq!(bodies, vec!["0", "1", "2", "3", "4", "dup"]);
    let e = q
        .send(Message::new("late").delay(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    q.admin().unwrap().delete_queue(&name).await.unwrap();
}

#[tokio::test]
async fn errors_and_url_opener() {
    let Some(ep) = moto() else { return };
    let e = open_sqs(sqs(&ep, &unique("gu-none"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.provider_code().is_some());

    let mut reg = gureum_core::Registry::new();
    gureum_aws::register(&mut reg);
    let name = unique("gu-url");
    let q = reg
        .open_queue(Some(&format!(
            "sqs://{name}?region=us-east-1&endpoint={ep}&create=true"
        )))
        .await
        .unwrap();
    q.send(Message::new("hi")).await.unwrap();
    // the queue URL form reaches the same queue
    let url = q.native::<SqsQueue>().unwrap().queue_url().to_string();
    let by_url = url.replacen("http://", "sqs://", 1);
    let q2 = reg
        .open_queue(Some(&format!("{by_url}?region=us-east-1")))
        .await
        .unwrap();
    let r = q2.receive_with(opts(1, 30, 1)).await.unwrap();
    assert_eq!(&r[0].body[..], b"hi");
    q2.ack(&r[0]).await.unwrap();
    q.admin().unwrap().delete_queue(&name).await.unwrap();
}

#[tokio::test]
async fn many_messages_distinct() {
    let Some(ep) = moto() else { return };
    let name = unique("gu-many");
    let q = open_sqs(sqs(&ep, &name).create(true)).await.unwrap();
    let ids = q
        .send_batch((0..300).map(|i| Message::new(format!("{i}"))).collect())
        .await
        .unwrap();
    let want: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(want.len(), 300, "distinct ids from send");
    let mut got = Vec::new();
    let t0 = std::time::Instant::now();
    while got.len() < 300 && t0.elapsed() < Duration::from_secs(60) {
        got.extend(q.receive_with(opts(10, 30, 1)).await.unwrap());
    }
    let distinct: std::collections::BTreeSet<&String> = got.iter().map(|m| &m.id).collect();
    println!(
        "received {} ({} distinct) in {:?}",
        got.len(),
        distinct.len(),
        t0.elapsed()
    );
    assert_eq!(distinct.len(), 300);
    assert!(got.iter().all(|m| want.contains(&m.id)));
    q.ack_all(&got).await.unwrap();
    q.admin().unwrap().delete_queue(&name).await.unwrap();
}
