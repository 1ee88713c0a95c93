//! Queue cases: visibility, redelivery, nack.

use super::*;

/// The visibility, redelivery, nack cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.visibility_expiry_redelivers", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("again")).await?;
        let m1 = s.one(&q, &id, s.vis()).await?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            m2.receive_count > m1.receive_count,
            "receive count did not grow on redelivery: {} then {}",
            m1.receive_count,
            m2.receive_count
        );
        ensure_eq!(m2.body, m1.body, "body on redelivery");
        Ok(())
    }));
    v.push(case!("queue.not_redelivered_before_visibility", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let vis = s.vis() * 3;
        let t0 = Instant::now();
        let _m1 = s.one(&q, &id, vis).await?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= vis,
            "redelivered after {waited:?}, before the visibility timeout {vis:?}"
        );
        Ok(())
    }));
    v.push(case!("queue.nack_redelivers_now", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("n")).await?;
        let long = (s.vis() * 30).min(q.capabilities().max_visibility);
        let m1 = s.one(&q, &id, long).await?;
        q.nack(&m1, Duration::ZERO).await.ctx("nack")?;
        let t0 = Instant::now();
        let m2 = s.one(&q, &id, s.vis()).await?;
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            t0.elapsed() < long,
            "nacked message only came back after the visibility timeout"
        );
        ensure!(
            m2.receive_count > m1.receive_count,
            "receive count did not grow after nack"
        );
        Ok(())
    }));
    v.push(case!("queue.nack_with_delay", [nack_delay], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("d")).await?;
        let long = (s.vis() * 30).min(q.capabilities().max_visibility);
        let m1 = s.one(&q, &id, long).await?;
        let delay = s.vis() * 2;
        let t0 = Instant::now();
        q.nack(&m1, delay).await.ctx("nack with delay")?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= delay,
            "redelivered after {waited:?}, before the nack delay {delay:?}"
        );
        ensure!(
            waited < long,
            "redelivered only after the original visibility timeout"
        );
        Ok(())
    }));
    v.push(case!("queue.extend_visibility", [extend_visibility], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("e")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.extend_visibility(&m, (s.vis() * 8).min(q.capabilities().max_visibility))
            .await
            .ctx("extend_visibility")?;
        let r = s
            .absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(300))
            .await;
        let ack = q.ack(&m).await;
        r?;
        ack.ctx("ack with the extended receipt")?;
        Ok(())
    }));
    v.push(case!("queue.stale_receipt_ack", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("s")).await?;
        let old = s.one(&q, &id, s.vis()).await?;
        let new = s.one(&q, &id, s.vis() * 5).await?;
        let r = q.ack(&old).await;
        match &r {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
            Err(e) => {
                return fail(format!(
                "ack with a stale receipt: expected Ok or precondition_failed, got {} error: {e}",
                e.kind()
            ))
            }
        }
        // Strict: the stale ack must not have touched the current delivery. The consumer
        // holding it is still working; had the stale ack deleted the message, a crash of
        // that consumer would lose it. Prove the message is still there: return the current
        // delivery (nack), receive it again, and ack that.
        match q.nack(&new, Duration::ZERO).await {
            Ok(()) => {}
            Err(e) => {
                return fail(format!(
                    "nack of the current delivery after a stale ack failed ({} error: {e}): \
                     the stale ack deleted the redelivered message",
                    e.kind()
                ))
            }
        }
        let again = match s.one(&q, &id, s.vis() * 5).await {
            Ok(m) => m,
            Err(_) => {
                return fail(
                    "the message did not come back after the current delivery was returned: \
                     the stale ack deleted the redelivered message",
                )
            }
        };
        q.ack(&again)
            .await
            .ctx("ack with the current receipt after a stale ack")?;
        s.absent_for(&q, &id, s.vis() * 5 + Duration::from_millis(500))
            .await
    }));
    v.push(case!(
        "queue.stale_receipt_nack_keeps_message_hidden",
        [],
        |s| {
            let q = s.fresh().await?;
            let id = s.send1(&q, Message::new("s")).await?;
            let old = s.one(&q, &id, s.vis()).await?;
            let long = (s.vis() * 10).min(q.capabilities().max_visibility);
            let new = s.one(&q, &id, long).await?;
            match q.nack(&old, Duration::ZERO).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
                Err(e) => {
                    return fail(format!(
                        "nack with a stale receipt: {} error: {e}",
                        e.kind()
                    ))
                }
            }
            // A stale nack must not make the current delivery visible again.
            let r = s.absent_for(&q, &id, s.vis() * 2).await;
            q.ack(&new).await.ctx("ack")?;
            r
        }
    ));
    v.push(case!("queue.ack_twice", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("first ack")?;
        match q.ack(&m).await {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::NotFound
                ) =>
            {
                Ok(())
            }
            Err(e) => fail(format!(
                "second ack: expected Ok, precondition_failed or not_found, got {} error: {e}",
                e.kind()
            )),
        }
    }));
    v.push(case!("queue.delay_message", [delay], |s| {
        let q = s.fresh().await?;
        let delay = s.vis() * 2;
        let t0 = Instant::now();
        let id = s.send1(&q, Message::new("later").delay(delay)).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= delay,
            "delayed message arrived after {waited:?}, before its delay {delay:?}"
        );
        Ok(())
    }));
    v.push(case!(
        "queue.dead_letter_after_max_receives",
        [dead_letter, admin],
        |s| {
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
                    max_receive_count: 2,
                }),
                ..Default::default()
            };
            let q = s.fresh_with(&cfg, "").await?;
            let dlq = admin.open(&dlq_name).await.ctx("open DLQ")?;
            let id = s.send1(&q, Message::new("poison")).await?;
            let m1 = s.one(&q, &id, s.vis()).await?;
            let m2 = s.one(&q, &id, s.vis()).await?;
            ensure!(
                m2.receive_count >= 2 && m1.receive_count == 1,
                "receive counts {} and {}",
                m1.receive_count,
                m2.receive_count
            );
            // The third receive attempt must not deliver it from the main queue.
            s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
                .await?;
            let deadline = Instant::now() + s.patience();
            let mut found = None;
            while found.is_none() && Instant::now() < deadline {
                for m in dlq.receive_with(s.ro(10)).await.ctx("receive from DLQ")? {
                    if m.body == Bytes::from_static(b"poison") {
                        found = Some(m);
                    } else {
                        dlq.ack(&m).await.ok();
                    }
                }
            }
            let Some(m) = found else {
                return fail("message did not arrive in the dead-letter queue");
            };
            dlq.ack(&m).await.ctx("ack in DLQ")?;
            Ok(())
        }
    ));
    v
}
