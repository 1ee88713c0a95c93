//! Queue cases: batches.

use super::*;

/// The batches cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.send_batch_exactly_max", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_batch_send.max(1);
        let msgs: Vec<Message> = (0..max).map(|i| Message::new(format!("b{i}"))).collect();
        let ids = q
            .driver()
            .send_batch(msgs)
            .await
            .ctx("driver send_batch of exactly max_batch_send")?;
        ensure_eq!(ids.len(), max, "ids");
        let got = s.collect(&q, &ids_of(&ids), max, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), max, "received");
        Ok(())
    }));
    v.push(case!("queue.send_batch_larger_is_split", [], |s| {
        let q = s.fresh().await?;
        let n = q.capabilities().max_batch_send.max(1) * 2 + 1;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("s{i}"))).collect())
            .await
            .ctx("send_batch over the limit")?;
        ensure_eq!(ids.len(), n, "ids");
        let got = s.collect(&q, &ids_of(&ids), n, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), n, "received");
        Ok(())
    }));
    v.push(case!("queue.receive_respects_max", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..5).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 2,
                ..s.ro(2)
            })
            .await
            .ctx("receive")?;
        let n = got.len();
        q.ack_all(&got).await.ctx("ack")?;
        let rest = s.collect(&q, &ids_of(&ids), 5 - n, s.vis()).await?;
        q.ack_all(&rest).await.ctx("ack")?;
        ensure!(n <= 2, "receive(max 2) returned {n}");
        Ok(())
    }));
    v.push(case!("queue.receive_up_to_max_batch", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_batch_receive.max(1);
        let ids = q
            .send_batch((0..max + 3).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let mut biggest = 0;
        let mut all = Vec::new();
        let deadline = Instant::now() + s.patience();
        while all.len() < max + 3 && Instant::now() < deadline {
            let got = q
                .receive_with(ReceiveOptions {
                    max_messages: max + 3,
                    visibility: s.vis() * 5,
                    wait: s.opts.scaled(Duration::from_secs(1)),
                })
                .await
                .ctx("receive")?;
            biggest = biggest.max(got.len());
            all.extend(got);
        }
        q.ack_all(&all).await.ctx("ack")?;
        ensure!(
            biggest <= max,
            "one receive returned {biggest} messages, more than max_batch_receive {max}"
        );
        ensure_eq!(
            all.iter().filter(|m| ids.contains(&m.id)).count(),
            max + 3,
            "received"
        );
        Ok(())
    }));
    v.push(case!("queue.ack_all_batch", [], |s| {
        let q = s.fresh().await?;
        let n = q.capabilities().max_batch_send.max(1) + 2;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s.collect(&q, &ids_of(&ids), n, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), n, "received");
        s.absent_for(&q, &ids[0], s.vis() * 5 + Duration::from_millis(500))
            .await
    }));
    v
}
