//! gureum-kakao-pubsub against the **spec-simulated** Kakao Pub/Sub
//! (`gureum_testkit::sim::kakao_pubsub`): the queue conformance suite, ack deadlines and
//! redelivery with delivery attempts, stale ack ids, error-code mapping, the credential
//! headers, retries of code 14, and the `kakao-pubsub://` URL through the facade registry
//! path (`KakaoPubSubOpener`).

use gureum_conformance::{queue, Options};
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{ErrorKind, Message, Queue, QueueAdmin, QueueConfig, ReceiveOptions};
use gureum_kakao_pubsub::{
    open_kakao_pubsub, KakaoPubSubAdmin, KakaoPubSubConfig, KakaoPubSubOpener, KakaoPubSubQueue,
};
use gureum_testkit::sim::kakao_pubsub::{KakaoPubSubSim, KakaoPubSubSimConfig};
use secrecy::SecretString;
use std::time::{Duration, Instant};

async fn sim() -> KakaoPubSubSim {
    KakaoPubSubSim::start(KakaoPubSubSimConfig::default())
        .await
        .unwrap()
}

fn config(sim: &KakaoPubSubSim, name: &str) -> KakaoPubSubConfig {
    let (id, secret, domain, project) = sim.access_key();
    KakaoPubSubConfig::new(
        &sim.endpoint(),
        &domain,
        &project,
        name,
        &id,
        SecretString::from(secret),
    )
    .unwrap()
    .http(
        gureum_core::http::HttpConfig::default()
            .backoff(Duration::from_millis(5), Duration::from_millis(50)),
    )
}

async fn fresh(sim: &KakaoPubSubSim, name: &str) -> Queue {
    open_kakao_pubsub(config(sim, name).create(true))
        .await
        .unwrap()
}

fn ro(vis: Duration, wait: Duration) -> ReceiveOptions {
    ReceiveOptions {
        max_messages: 10,
        visibility: vis,
        wait,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_the_spec_simulator() {
    let sim = sim().await;
    let q = fresh(&sim, "gcf-kakao").await;
    let r = queue::run(
        &q,
        &Options {
            backend: Some("kakao-pubsub (spec simulator)".into()),
            target: Some(gureum_conformance::certify::Target::Simulator),
            ..Options::default()
        },
    )
    .await;
    println!("{}", r.to_text());
    assert_eq!(r.failed(), 0, "failures {:?}", r.failures());
    assert!(r.passed() >= 20, "only {} cases passed", r.passed());
}

#[tokio::test]
async fn ack_deadline_redelivery_and_delivery_attempts() {
    let sim = sim().await;
    let q = fresh(&sim, "jobs").await;
    q.send(Message::new(&b"c-1041"[..]).attribute("type", "reindex"))
        .await
        .unwrap();
    let first = q
        .receive_with(ro(Duration::from_secs(1), Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert_eq!(&first[0].body[..], b"c-1041");
    assert_eq!(first[0].attributes["type"], "reindex");
    assert!(first[0].sent_at.is_some());
    // Invisible before its 1 s deadline, back after it with the next delivery attempt.
    assert!(q
        .receive_with(ro(Duration::from_secs(1), Duration::ZERO))
        .await
        .unwrap()
        .is_empty());
    let again = q
        .receive_with(ro(Duration::from_secs(30), Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].receive_count, 2);
    // The first delivery's ack id is stale now.
    let e = q.ack(&first[0]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(e.provider_code(), Some("INVALID_ARGUMENT"));
    // nack(0) makes it visible at once; then ack for good.
    q.nack(&again[0], Duration::ZERO).await.unwrap();
    let third = q
        .receive_with(ro(Duration::from_secs(30), Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(third[0].receive_count, 3);
    q.ack(&third[0]).await.unwrap();
    assert_eq!(sim.backlog("jobs"), 0);
    // Limits are refused before any request.
    let e = q
        .nack(&third[0], Duration::from_secs(601))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = q
        .receive_with(ro(Duration::from_secs(601), Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn extend_visibility_keeps_the_message_away() {
    let sim = sim().await;
    let q = fresh(&sim, "long-jobs").await;
    q.send(Message::new(&b"x"[..])).await.unwrap();
    let m = q
        .receive_with(ro(Duration::from_secs(1), Duration::from_secs(2)))
        .await
        .unwrap()
        .remove(0);
    q.extend_visibility(&m, Duration::from_secs(20))
        .await
        .unwrap();
    let t = Instant::now();
    let got = q
        .receive_with(ro(Duration::from_secs(1), Duration::from_millis(1800)))
        .await
        .unwrap();
    assert!(got.is_empty(), "redelivered after {:?}", t.elapsed());
    q.ack(&m).await.unwrap();
}

#[tokio::test]
async fn credentials_errors_and_retries() {
    let sim = sim().await;
    let q = fresh(&sim, "errs").await;
    // Wrong secret: code 7.
    let (id, _, domain, project) = sim.access_key();
    let bad = KakaoPubSubConfig::new(
        &sim.endpoint(),
        &domain,
        &project,
        "errs",
        &id,
        SecretString::from("wrong-secret".to_string()),
    )
    .unwrap();
    let bq = open_kakao_pubsub(bad.clone()).await.unwrap();
    let e = bq.send(Message::new(&b"x"[..])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(e.provider_code(), Some("PERMISSION_DENIED"));
    assert!(!e.to_string().contains("wrong-secret"));
    assert!(!format!("{bad:?}").contains("wrong-secret"));
    // Missing topic: code 5.
    let missing = open_kakao_pubsub(config(&sim, "no-such-queue"))
        .await
        .unwrap();
    let e = missing.send(Message::new(&b"x"[..])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = missing
        .receive_with(ro(Duration::from_secs(30), Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Code 14 is retried (pull and ack are idempotent).
    q.send(Message::new(&b"y"[..])).await.unwrap();
    sim.unavailable_next(2);
    let got = q
        .receive_with(ro(Duration::from_secs(30), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    sim.unavailable_next(1);
    q.ack(&got[0]).await.unwrap();
    // ... and surfaces as Unavailable (retryable) once the retries are spent.
    let once = open_kakao_pubsub(
        config(&sim, "errs").http(gureum_core::http::HttpConfig::default().retries(0)),
    )
    .await
    .unwrap();
    sim.unavailable_next(1);
    let e = once
        .receive_with(ro(Duration::from_secs(30), Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_retryable());
    // Unsupported features say so.
    assert_eq!(q.depth().await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert_eq!(q.purge().await.unwrap_err().kind(), ErrorKind::Unsupported);
    let e = q
        .send(Message::new(&b"z"[..]).delay(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn admin_creates_lists_and_deletes() {
    let sim = sim().await;
    let admin = KakaoPubSubAdmin::new(config(&sim, "unused")).unwrap();
    admin
        .create_queue("alpha", &QueueConfig::default())
        .await
        .unwrap();
    // Creating again is not an error.
    admin
        .create_queue("alpha", &QueueConfig::default())
        .await
        .unwrap();
    admin
        .create_queue("beta", &QueueConfig::default())
        .await
        .unwrap();
    assert_eq!(admin.list_queues().await.unwrap(), vec!["alpha", "beta"]);
    let q = admin.open("beta").await.unwrap();
    q.send(Message::new(&b"hi"[..])).await.unwrap();
    assert_eq!(
        q.native::<KakaoPubSubQueue>()
            .unwrap()
            .config()
            .subscription,
        "beta"
    );
    let dl = QueueConfig {
        dead_letter: Some(gureum_core::DeadLetter {
            queue: "dlq".into(),
            max_receive_count: 3,
        }),
        ..QueueConfig::default()
    };
    assert_eq!(
        admin.create_queue("gamma", &dl).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    admin.delete_queue("alpha").await.unwrap();
    assert_eq!(
        admin.delete_queue("alpha").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(admin.list_queues().await.unwrap(), vec!["beta"]);
}

#[tokio::test]
async fn opens_from_a_url() {
    let sim = sim().await;
    let (id, secret, domain, project) = sim.access_key();
    // The secret only through the environment; a variable name unique to this test.
    std::env::set_var("GUREUM_TEST_KAKAO_PS_SECRET", &secret);
    let url = ResourceUrl::parse(&format!(
        "kakao-pubsub://{domain}/{project}/from-url?endpoint={}&credential_id={id}\
         &credential_secret_env=GUREUM_TEST_KAKAO_PS_SECRET&create=true&ack_deadline=20s",
        sim.endpoint()
    ))
    .unwrap();
    let q = KakaoPubSubOpener.open_queue(&url).await.unwrap();
    let id1 = q.send(Message::new(&b"via url"[..])).await.unwrap();
    // visibility == the subscription's deadline: no modifyAckDeadline after the pull.
    let before = sim.requests();
    let got = q
        .receive_with(ro(Duration::from_secs(20), Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(sim.requests() - before, 1);
    assert_eq!(got[0].id, id1);
    q.ack(&got[0]).await.unwrap();
}
