//! Queue moves between real backends: the embedded sqlite queue, SQS (moto) and Azure Queue
//! (Azurite). Emulator cases skip without their server, and fail when
//! GUREUM_REQUIRE_EMULATORS=1 (scripts/test.sh).

use gureum::{ErrorKind, Message, Queue};
use gureum_migrate::queue_move::{drain, move_messages, JsonLinesSink, MoveOptions};
use gureum_testkit::env::{unique, var};
use std::collections::BTreeMap;

async fn open(url: &str) -> Queue {
    gureum::registry().open_queue(Some(url)).await.unwrap()
}

fn sqlite(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}/q.db?queue={name}", dir.display())
}

/// 25 messages: Hangul text with attributes, binary bodies, an empty-attribute one.
fn messages() -> Vec<Message> {
    (0..25u8)
        .map(|i| {
            if i % 5 == 0 {
                Message::new(vec![0xff, 0x00, i, 0xfe])
            } else {
                Message::new(format!("민원 {i}: 도로 파손 신고"))
                    .attribute("ward", "종로구")
                    .attribute("seq", i.to_string())
            }
        })
        .collect()
}

/// Receive everything from `q` (acking), as (body, attributes) sorted.
async fn take_all(q: &Queue) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    let mut empty = 0;
    // Bounded: at most 40 receive rounds.
    for _ in 0..40 {
        let got = q
            .receive_with(gureum::ReceiveOptions {
                max_messages: 10,
                visibility: std::time::Duration::from_secs(30),
                wait: std::time::Duration::from_secs(1),
            })
            .await
            .unwrap();
        if got.is_empty() {
            empty += 1;
            if empty == 2 {
                break;
            }
            continue;
        }
        for m in &got {
            out.push((m.body.to_vec(), m.attributes.clone()));
        }
        q.ack_all(&got).await.unwrap();
    }
    out.sort();
    out
}

fn expected() -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
    let mut v: Vec<_> = messages()
        .into_iter()
        .map(|m| (m.body.to_vec(), m.attributes))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn sqlite_to_sqlite_exact_and_drained() {
    let d = tempfile::tempdir().unwrap();
    let src = open(&sqlite(d.path(), "old")).await;
    let dst = open(&sqlite(d.path(), "new")).await;
    for m in messages() {
        src.send(m).await.unwrap();
    }
    let mut seen = Vec::new();
    let r = move_messages(&src, &dst, &MoveOptions::default(), |p| seen.push(p.moved))
        .await
        .unwrap();
    assert_eq!(r.moved, 25);
    assert_eq!(r.ack_failures, 0);
    assert!(
        seen.len() >= 3 && seen.windows(2).all(|w| w[0] <= w[1]),
        "{seen:?}"
    );
    assert_eq!(src.depth().await.unwrap(), 0);
    assert_eq!(take_all(&dst).await, expected());
}

#[tokio::test]
async fn moving_a_queue_into_itself_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let q = open(&sqlite(d.path(), "same")).await;
    let e = move_messages(&q, &q, &MoveOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[tokio::test]
async fn max_messages_moves_only_that_many() {
    let d = tempfile::tempdir().unwrap();
    let src = open(&sqlite(d.path(), "old")).await;
    let dst = open(&sqlite(d.path(), "new")).await;
    for m in messages() {
        src.send(m).await.unwrap();
    }
    let opts = MoveOptions {
        max_messages: Some(7),
        batch: 3,
        ..Default::default()
    };
    let r = move_messages(&src, &dst, &opts, |_| {}).await.unwrap();
    assert_eq!(r.moved, 7);
    assert_eq!(dst.depth().await.unwrap(), 7);
    assert_eq!(src.depth().await.unwrap(), 18);
}

#[tokio::test]
async fn drain_writes_json_lines_then_acks() {
    let d = tempfile::tempdir().unwrap();
    let src = open(&sqlite(d.path(), "old")).await;
    for m in messages() {
        src.send(m).await.unwrap();
    }
    let mut sink = JsonLinesSink::new(Vec::new());
    let r = drain(&src, &mut sink, &MoveOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.moved, 25);
    let text = String::from_utf8(sink.into_inner()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 25);
    assert_eq!(
        lines
            .iter()
            .filter(|v| v.get("body_base64").is_some())
            .count(),
        5
    );
    assert!(lines
        .iter()
        .any(|v| v["body"] == "민원 3: 도로 파손 신고" && v["attributes"]["ward"] == "종로구"));
    assert_eq!(src.depth().await.unwrap(), 0);
}

/// sqlite → SQS → sqlite with attributes, and sqlite → Azure Queue → sqlite for bodies (Azure
/// Queue messages have no attributes: moving attributed messages there is refused up front,
/// with nothing lost).
#[tokio::test]
async fn across_sqlite_sqs_and_azure_queue() {
    let Some(ep) = var("AWS_ENDPOINT_URL") else {
        return;
    };
    if var("AZURITE_QUEUE_STORAGE_URL").is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let a = open(&sqlite(d.path(), "a")).await;
    let sqs = open(&format!(
        "sqs://{}?region=us-east-1&endpoint={ep}&allow_http=true&create=true",
        unique("gu-move")
    ))
    .await;
    let az = open(&format!(
        "azqueue://{}?emulator=true&create=true",
        unique("gu-move")
    ))
    .await;
    let b = open(&sqlite(d.path(), "b")).await;
    let opts = MoveOptions::default();

    for m in messages() {
        a.send(m).await.unwrap();
    }
    // Attributes cannot go to Azure Queue: refused before anything is sent.
    let e = move_messages(&a, &az, &opts, |_| {}).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(take_all(&az).await, vec![]);
    for (src, dst) in [(&a, &sqs), (&sqs, &b)] {
        let r = move_messages(src, dst, &opts, |_| {}).await.unwrap();
        assert_eq!(r.moved, 25, "{} -> {}", src.name(), dst.name());
        assert_eq!(r.ack_failures, 0);
    }
    assert_eq!(take_all(&sqs).await, vec![], "SQS still holds messages");
    assert_eq!(take_all(&b).await, expected());

    // Bodies only (text and binary) through Azure Queue.
    let bodies: Vec<Vec<u8>> = messages().into_iter().map(|m| m.body.to_vec()).collect();
    for body in &bodies {
        a.send(Message::new(body.clone())).await.unwrap();
    }
    for (src, dst) in [(&a, &az), (&az, &b)] {
        let r = move_messages(src, dst, &opts, |_| {}).await.unwrap();
        assert_eq!(r.moved, 25, "{} -> {}", src.name(), dst.name());
    }
    assert_eq!(take_all(&az).await, vec![], "Azure still holds messages");
    let mut want: Vec<_> = bodies.into_iter().map(|b| (b, BTreeMap::new())).collect();
    want.sort();
    assert_eq!(take_all(&b).await, want);
}

/// A destination that refuses a message stops the move; nothing is lost: every message is
/// either still on the source or on the destination.
#[tokio::test]
async fn refused_message_stops_the_move_and_loses_nothing() {
    if var("AZURITE_QUEUE_STORAGE_URL").is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let src = open(&sqlite(d.path(), "big")).await;
    let az = open(&format!(
        "azqueue://{}?emulator=true&create=true",
        unique("gu-refuse")
    ))
    .await;
    for i in 0..12u32 {
        src.send(Message::new(format!("small {i}"))).await.unwrap();
    }
    // Azure Queue takes at most 64 KiB per message.
    src.send(Message::new(vec![b'x'; 100 * 1024]))
        .await
        .unwrap();
    let e = move_messages(&src, &az, &MoveOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("stopped after"), "{e}");
    let left = take_all(&src).await;
    let moved = take_all(&az).await;
    assert_eq!(
        left.len() + moved.len(),
        13,
        "left {} moved {}",
        left.len(),
        moved.len()
    );
    assert!(left.iter().any(|(b, _)| b.len() == 100 * 1024));
}
