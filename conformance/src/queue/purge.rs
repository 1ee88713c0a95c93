//! Queue cases: purge and depth.

use super::*;

/// The purge and depth cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.purge", [purge], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..5).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        q.purge().await.ctx("purge")?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: s.opts.scaled(Duration::from_secs(1)),
            })
            .await
            .ctx("receive")?;
        ensure!(got.is_empty(), "{} messages survived a purge", got.len());
        Ok(())
    }));
    v.push(case!("queue.depth", [depth], |s| {
        let q = s.fresh().await?;
        ensure_eq!(q.depth().await.ctx("depth")?, 0, "depth of a new queue");
        q.send_batch((0..7).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let deadline = Instant::now() + s.patience();
        let mut d = 0;
        while Instant::now() < deadline {
            d = q.depth().await.ctx("depth")?;
            if d == 7 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drain(&q, s.vis()).await.ctx("drain")?;
        ensure_eq!(d, 7, "depth after sending 7 (approximate, polled)");
        Ok(())
    }));
    v.push(case!("queue.depth_counts_in_flight", [depth], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..3).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s.collect(&q, &ids_of(&ids), 3, s.vis() * 10).await?;
        let d = q.depth().await.ctx("depth")?;
        q.ack_all(&got).await.ctx("ack")?;
        ensure_eq!(d, 3, "depth with 3 messages in flight");
        let deadline = Instant::now() + s.patience();
        let mut after = u64::MAX;
        while Instant::now() < deadline {
            after = q.depth().await.ctx("depth")?;
            if after == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        ensure_eq!(after, 0, "depth after acking everything");
        Ok(())
    }));
    v
}
