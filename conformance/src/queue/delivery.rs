//! Queue cases: redelivery timing under jitter, ids and receive counts across redeliveries,
//! dead-letter counts, and ordering promises per capability (FIFO across a batch send).

use super::*;

/// Create a dead-letter queue and a queue that moves a message there after
/// `max_receive_count` receives.
async fn dlq_pair(s: &Scope<Ctx>, max_receive_count: u32) -> R<(Queue, Queue)> {
    let Some(admin) = s.admin.clone() else {
        return fail("no QueueAdmin");
    };
    let dlq_name = s.queue_name("-dlq");
    s.created.lock().unwrap().push(dlq_name.clone());
    admin
        .create_queue(&dlq_name, &QueueConfig::default())
        .await
        .ctx("create DLQ")?;
    let cfg = QueueConfig {
        dead_letter: Some(DeadLetter {
            queue: dlq_name.clone(),
            max_receive_count,
        }),
        ..Default::default()
    };
    let q = s.fresh_with(&cfg, "").await?;
    let dlq = admin.open(&dlq_name).await.ctx("open DLQ")?;
    Ok((q, dlq))
}

/// Receive from `q` until `want` messages arrived or `patience` passed; acks nothing.
async fn gather(
    s: &Scope<Ctx>,
    q: &Queue,
    want: usize,
    long_vis: Duration,
) -> R<Vec<ReceivedMessage>> {
    let deadline = Instant::now() + s.patience();
    let mut out: Vec<ReceivedMessage> = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(
            q.receive_with(ReceiveOptions {
                max_messages: q.capabilities().max_batch_receive.max(1),
                visibility: long_vis,
                wait: s.opts.scaled(Duration::from_secs(1)),
            })
            .await
            .ctx("receive")?,
        );
    }
    Ok(out)
}

/// The delivery cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "queue.message_id_stable_across_redelivery",
        [],
        |s| {
            let q = s.fresh().await?;
            let id = s.send1(&q, Message::new("same id")).await?;
            let m1 = s.one(&q, &id, s.vis()).await?;
            let m2 = s.one(&q, &id, s.vis()).await?;
            q.ack(&m2).await.ctx("ack")?;
            ensure_eq!(m1.id, id, "id on first delivery");
            ensure_eq!(m2.id, id, "id on redelivery");
            Ok(())
        }
    ));
    v.push(case!("queue.receive_count_increments_each_time", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("count me")).await?;
        let mut counts = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let m = s.one(&q, &id, s.vis()).await?;
            counts.push(m.receive_count);
            last = Some(m);
        }
        if let Some(m) = last {
            q.ack(&m).await.ctx("ack")?;
        }
        ensure!(
            counts.windows(2).all(|w| w[1] > w[0]) && counts[0] == 1,
            "receive counts over three deliveries: {counts:?} (expected 1, then strictly growing)"
        );
        Ok(())
    }));
    v.push(case!("queue.redelivery_timing_under_jitter", [], |s| {
        // Three rounds of "receive, let the visibility lapse": every redelivery must come
        // after the visibility timeout (never early) and within the patience bound (not
        // lost), however the service's timer jitters.
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("jitter")).await?;
        let vis = s.vis();
        let mut gaps = Vec::new();
        let mut m = s.one(&q, &id, vis).await?;
        let mut t = Instant::now();
        for _ in 0..3 {
            m = s.one(&q, &id, vis).await?;
            let gap = t.elapsed();
            t = Instant::now();
            gaps.push(gap);
            ensure!(
                gap + Duration::from_millis(250) >= vis,
                "redelivered after {gap:?}, before the visibility timeout {vis:?}"
            );
        }
        q.ack(&m).await.ctx("ack")?;
        s.note(format!(
            "redelivery gaps for visibility {vis:?}: {:?}",
            gaps.iter().map(|g| g.as_millis()).collect::<Vec<_>>()
        ));
        Ok(())
    }));
    v.push(case!(
        "queue.redelivery_order_follows_visibility",
        [extend_visibility],
        |s| {
            let q = s.fresh().await?;
            let long_id = s.send1(&q, Message::new("long")).await?;
            let short_id = s.send1(&q, Message::new("short")).await?;
            let ids: BTreeSet<String> = [long_id.clone(), short_id.clone()].into();
            // Receive each once, the first with 4× the visibility of the second.
            let first = s.collect(&q, &ids, 2, s.vis()).await?;
            ensure_eq!(first.len(), 2, "messages received");
            for m in &first {
                let vis = if m.id == long_id {
                    (s.vis() * 4).min(q.capabilities().max_visibility)
                } else {
                    s.vis()
                };
                q.extend_visibility(m, vis).await.ctx("set visibility")?;
            }
            let again = s.collect(&q, &ids, 1, s.vis()).await?;
            ensure_eq!(again.len(), 1, "first redelivery");
            ensure_eq!(
                again[0].id,
                short_id,
                "the message with the shorter visibility comes back first"
            );
            q.ack(&again[0]).await.ctx("ack")?;
            let last = s.one(&q, &long_id, s.vis()).await?;
            q.ack(&last).await.ctx("ack")?;
            Ok(())
        }
    ));
    v.push(case!(
        "queue.attributes_survive_redelivery",
        [attributes],
        |s| {
            let q = s.fresh().await?;
            let id = s
                .send1(
                    &q,
                    Message::new("a")
                        .attribute("district", "jongno")
                        .attribute("n", "7"),
                )
                .await?;
            let _m1 = s.one(&q, &id, s.vis()).await?;
            let m2 = s.one(&q, &id, s.vis()).await?;
            q.ack(&m2).await.ctx("ack")?;
            ensure_eq!(
                m2.attributes.get("district").map(String::as_str),
                Some("jongno"),
                "attribute district on redelivery"
            );
            ensure_eq!(
                m2.attributes.get("n").map(String::as_str),
                Some("7"),
                "attribute n on redelivery"
            );
            Ok(())
        }
    ));
    v.push(case!("queue.nack_then_ack_new_receipt", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("retry me")).await?;
        let m1 = s.one(&q, &id, s.vis() * 10).await?;
        q.nack(&m1, Duration::ZERO).await.ctx("nack")?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        q.ack(&m2).await.ctx("ack with the new receipt")?;
        s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
            .await
    }));
    v.push(case!(
        "queue.concurrent_receivers_no_duplicate_in_flight",
        [],
        |s| {
            let q = s.fresh().await?;
            let n = 20;
            let ids = q
                .send_batch((0..n).map(|i| Message::new(format!("c{i}"))).collect())
                .await
                .ctx("send_batch")?;
            let long = (s.patience() * 2).min(q.capabilities().max_visibility);
            let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let (q, seen) = (q.clone(), seen.clone());
                let deadline = Instant::now() + s.patience();
                let wait = s.opts.scaled(Duration::from_millis(500));
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < deadline && seen.lock().unwrap().len() < n {
                        let got = q
                            .receive_with(ReceiveOptions {
                                max_messages: 5.min(q.capabilities().max_batch_receive.max(1)),
                                visibility: long,
                                wait,
                            })
                            .await?;
                        for m in got {
                            *seen.lock().unwrap().entry(m.id.clone()).or_default() += 1;
                            q.ack(&m).await?;
                        }
                    }
                    gureum_core::Result::Ok(())
                }));
            }
            for t in tasks {
                t.await
                    .map_err(|e| CaseError::Fail(format!("task: {e}")))?
                    .ctx("receiver")?;
            }
            let seen = seen.lock().unwrap().clone();
            let dup: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
            ensure!(
                dup.is_empty(),
                "messages delivered to two receivers within their visibility timeout: {dup:?}"
            );
            ensure_eq!(
                ids.iter().filter(|i| seen.contains_key(*i)).count(),
                n,
                "messages received by the four receivers"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "queue.dead_letter_counts_exact",
        [dead_letter, admin],
        |s| {
            let (q, dlq) = dlq_pair(&s, 2).await?;
            let ids = q
                .send_batch(
                    (0..3)
                        .map(|i| Message::new(format!("poison-{i}")))
                        .collect(),
                )
                .await
                .ctx("send_batch")?;
            let set = ids_of(&ids);
            // Two deliveries of each, never acknowledged.
            for round in 0..2 {
                let got = s.collect(&q, &set, 3, s.vis()).await?;
                ensure_eq!(got.len(), 3, "messages in delivery round {}", round + 1);
            }
            s.absent_for(&q, &ids[0], s.vis() * 2 + Duration::from_millis(500))
                .await?;
            let long = (s.patience() * 2).min(dlq.capabilities().max_visibility);
            let moved = gather(&s, &dlq, 3, long).await?;
            // Anything further that arrives within one more second is a duplicate.
            let extra = dlq
                .receive_with(ReceiveOptions {
                    max_messages: 10.min(dlq.capabilities().max_batch_receive.max(1)),
                    visibility: long,
                    wait: s.opts.scaled(Duration::from_secs(1)),
                })
                .await
                .ctx("receive from DLQ")?;
            let mut bodies: Vec<String> = moved
                .iter()
                .chain(extra.iter())
                .map(|m| String::from_utf8_lossy(&m.body).into_owned())
                .collect();
            bodies.sort();
            dlq.ack_all(&moved).await.ok();
            dlq.ack_all(&extra).await.ok();
            ensure_eq!(
                bodies,
                vec!["poison-0", "poison-1", "poison-2"],
                "dead-lettered messages (exactly three, no duplicates)"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "queue.dead_letter_not_before_max_receives",
        [dead_letter, admin],
        |s| {
            let (q, dlq) = dlq_pair(&s, 3).await?;
            let id = s.send1(&q, Message::new("three strikes")).await?;
            let _m1 = s.one(&q, &id, s.vis()).await?;
            let _m2 = s.one(&q, &id, s.vis()).await?;
            let early = dlq
                .receive_with(ReceiveOptions {
                    max_messages: 10.min(dlq.capabilities().max_batch_receive.max(1)),
                    visibility: s.vis(),
                    wait: Duration::ZERO,
                })
                .await
                .ctx("receive from DLQ")?;
            let m3 = s.one(&q, &id, s.vis()).await?;
            q.ack(&m3).await.ctx("ack on the third delivery")?;
            ensure!(
                early.is_empty(),
                "a message reached the DLQ after 2 of 3 allowed receives"
            );
            ensure!(
                m3.receive_count >= 3,
                "third delivery has receive count {}",
                m3.receive_count
            );
            Ok(())
        }
    ));
    v.push(case!(
        "queue.dead_letter_keeps_body_and_attributes",
        [dead_letter, admin, attributes],
        |s| {
            let (q, dlq) = dlq_pair(&s, 1).await?;
            let body = Bytes::from_static(b"\x00\xffbinary \xea\xb0\x80");
            let id = s
                .send1(&q, Message::new(body.clone()).attribute("origin", "민원"))
                .await?;
            let _m1 = s.one(&q, &id, s.vis()).await?;
            s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
                .await?;
            let long = (s.patience() * 2).min(dlq.capabilities().max_visibility);
            let got = gather(&s, &dlq, 1, long).await?;
            dlq.ack_all(&got).await.ok();
            let Some(m) = got.first() else {
                return fail("nothing arrived in the DLQ");
            };
            ensure_eq!(m.body, body, "body in the DLQ");
            ensure_eq!(
                m.attributes.get("origin").map(String::as_str),
                Some("민원"),
                "attribute in the DLQ"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "queue.fifo_order_across_batch_send",
        [ordering],
        |s| {
            let cfg = QueueConfig {
                fifo: true,
                ..Default::default()
            };
            let q = match s.fresh_with(&cfg, ".fifo").await {
                Ok(q) => q,
                Err(_) => s.fresh_with(&cfg, "").await?,
            };
            let n = q.capabilities().max_batch_send.clamp(1, 10);
            let msgs: Vec<Message> = (0..n)
                .map(|i| {
                    let mut m = Message::new(format!("{i}")).group("batch");
                    m.dedup_id = Some(format!("{}-b{i}", s.opts.run_id));
                    m
                })
                .collect();
            let ids = q.send_batch(msgs).await.ctx("send_batch")?;
            let mut order = Vec::new();
            let deadline = Instant::now() + s.patience();
            while order.len() < n && Instant::now() < deadline {
                for m in q.receive_with(s.ro(n)).await.ctx("receive")? {
                    order.push(m.id.clone());
                    q.ack(&m).await.ctx("ack")?;
                }
            }
            ensure_eq!(order, ids, "delivery order of one batch within one group");
            Ok(())
        }
    ));
    v
}
