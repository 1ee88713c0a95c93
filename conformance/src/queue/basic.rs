//! Queue cases: basics.

use super::*;

/// The basics cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.send_receive_ack", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("hello")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        ensure_eq!(m.body, Bytes::from_static(b"hello"), "body");
        q.ack(&m).await.ctx("ack")?;
        Ok(())
    }));
    v.push(case!("queue.send_returns_ids", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..5).map(|i| Message::new(format!("m{i}"))).collect())
            .await
            .ctx("send_batch")?;
        ensure_eq!(ids.len(), 5, "ids returned");
        ensure!(ids.iter().all(|i| !i.is_empty()), "an id is empty");
        ensure_eq!(ids_of(&ids).len(), 5, "distinct ids");
        let got = s.collect(&q, &ids_of(&ids), 5, s.vis()).await?;
        for m in &got {
            let i = ids.iter().position(|x| *x == m.id).unwrap_or(usize::MAX);
            ensure_eq!(
                m.body,
                Bytes::from(format!("m{i}")),
                "body of the message with id {}",
                m.id
            );
        }
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), 5, "received");
        Ok(())
    }));
    v.push(case!("queue.receive_empty_queue", [], |s| {
        let q = s.fresh().await?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: Duration::ZERO,
            })
            .await
            .ctx("receive")?;
        ensure!(
            got.is_empty(),
            "an empty queue returned {} messages",
            got.len()
        );
        Ok(())
    }));
    v.push(case!("queue.receive_count_starts_at_one", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.receive_count, 1, "receive count of a first delivery");
        Ok(())
    }));
    v.push(case!("queue.ack_deletes", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
            .await
    }));
    v.push(case!("queue.invisible_while_in_flight", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let long = (s.vis() * 10).min(q.capabilities().max_visibility);
        let m = s.one(&q, &id, long).await?;
        let r = s.absent_for(&q, &id, s.vis() * 2).await;
        q.ack(&m).await.ctx("ack")?;
        r
    }));
    v.push(case!("queue.message_ids_unique", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..50).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send_batch")?;
        let got = s.collect(&q, &ids_of(&ids), 50, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(ids_of(&ids).len(), 50, "distinct ids of 50 sends");
        ensure_eq!(got.len(), 50, "received");
        Ok(())
    }));
    v.push(case!("queue.sent_at_plausible", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("t")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        let Some(t) = m.sent_at else {
            return skip("the backend does not report sent_at");
        };
        let now = chrono::Utc::now();
        ensure!(
            t > now - chrono::Duration::minutes(10) && t < now + chrono::Duration::minutes(10),
            "sent_at {t} is not near now ({now})"
        );
        Ok(())
    }));
    v
}
