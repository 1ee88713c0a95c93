//! Queue cases: long poll.

use super::*;

/// The long poll cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.long_poll_returns_early", [], |s| {
        let q = s.fresh().await?;
        let wait = q
            .capabilities()
            .max_wait
            .min(s.opts.scaled(Duration::from_secs(10)));
        if wait < Duration::from_secs(2) {
            return skip(format!(
                "max_wait {wait:?} is too short for a long-poll test"
            ));
        }
        let q2 = q.clone();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            q2.send(Message::new("arrived")).await
        });
        let t0 = Instant::now();
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: s.vis(),
                wait,
            })
            .await
            .ctx("long-poll receive")?;
        let took = t0.elapsed();
        let _ = sender.await;
        let n = got.len();
        q.ack_all(&got).await.ok();
        drain(&q, s.vis()).await.ok();
        ensure_eq!(n, 1, "messages returned by the long poll");
        ensure!(
            took < wait,
            "long poll returned after {took:?}, not early (wait {wait:?})"
        );
        Ok(())
    }));
    v.push(case!("queue.long_poll_times_out_empty", [], |s| {
        let q = s.fresh().await?;
        let wait = q.capabilities().max_wait.min(Duration::from_secs(1));
        let t0 = Instant::now();
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: s.vis(),
                wait,
            })
            .await
            .ctx("receive")?;
        let took = t0.elapsed();
        ensure!(got.is_empty(), "empty queue returned messages");
        ensure!(
            took < wait + s.opts.scaled(Duration::from_secs(5)),
            "long poll of {wait:?} took {took:?}"
        );
        Ok(())
    }));
    v
}
