//! Hostile input from the server side (issue 19, item 4) for Kakao Pub/Sub: a scripted
//! loopback server answers pull, publish and acknowledge with an HTML error page (as 200 and
//! as 502), bad or cut-off JSON, messages of the wrong shape or without ack id / message id,
//! a publish answer with too few ids, a wrong `content-length` both ways, a 2 MiB header, a
//! body that never ends and a reply that is not HTTP. Every call ends with a typed error
//! (never `Other`, never a panic; malformed JSON used to be `Other`, and a message without ids
//! used to be delivered), no message is invented, and an endless body is abandoned at the HTTP
//! layer's bound (64 MiB).

use gureum_core::{Message, Queue, ReceivedMessage};
use gureum_kakao_pubsub::{open_kakao_pubsub, KakaoPubSubConfig};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};
use secrecy::SecretString;
use std::time::Duration;

const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn cases() -> Vec<(&'static str, Reply)> {
    let msg =
        r#"{"ackId": "a1", "message": {"data": "aGk=", "messageId": "m1"}, "deliveryAttempt": 1}"#;
    let full = format!(r#"{{"receivedMessages": [{msg}], "messageIds": ["m1"]}}"#);
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("cut json", Reply::ok(200, JSON, full[..40].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"{"receivedMessages": {"ackId": "a1"}, "messageIds": "m1", "failure": "none"}"#,
            ),
        ),
        (
            "missing ids",
            Reply::ok(
                200,
                JSON,
                r#"{"receivedMessages": [{"ackId": "", "message": {"data": "aGk="}}], "messageIds": [""], "failure": [{"error": {}}]}"#,
            ),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() / 2),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, full.clone()),
        ),
        (
            "endless",
            Reply::endless(
                200,
                JSON,
                r#"{"receivedMessages": ["#,
                format!("{msg},"),
                ENDLESS,
            ),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ]
}

/// A delivery to acknowledge (its receipt `a1`).
fn delivery() -> ReceivedMessage {
    ReceivedMessage {
        id: "m1".into(),
        body: Default::default(),
        attributes: Default::default(),
        receipt: "a1".into(),
        receive_count: 1,
        sent_at: None,
    }
}

async fn queue_on(reply: Reply) -> (Queue, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let cfg = KakaoPubSubConfig::new(&base, "d1", "p1", "jobs", "ak", SecretString::from("sk"))
        .unwrap()
        .http(
            gureum_core::http::HttpConfig::default()
                .retries(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        );
    (open_kakao_pubsub(cfg).await.unwrap(), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kakao_pubsub_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("kakao-pubsub", bounded(3, 64 << 20))
        .run(
            cases(),
            &["receive", "send", "ack"],
            queue_on,
            async |q: &Queue, op: &str| match op {
                "receive" => q.receive(10).await.map(|v| v.len()),
                "send" => q.send(Message::new(&b"x"[..])).await.map(|_| 1),
                _ => q.ack(&delivery()).await.map(|_| 0),
            },
        )
        .await
        .finish();
}
