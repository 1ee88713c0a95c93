//! Queue cases: concurrency.

use super::*;

/// The concurrency cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.concurrent_consumers_at_least_once", [], |s| {
        let q = s.fresh().await?;
        let n = 200;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("c{i}"))).collect())
            .await
            .ctx("send")?;
        let want = ids_of(&ids);
        let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let deadline = Instant::now()
            + s.patience() * 2
            + s.opts.scaled(Duration::from_millis(100)) * n as u32;
        let mut tasks = Vec::new();
        let late: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        for _ in 0..4 {
            let (q, seen, want, late) = (q.clone(), seen.clone(), want.clone(), late.clone());
            let vis = s.vis() * 5;
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    if seen.lock().unwrap().len() >= want.len() {
                        break;
                    }
                    let max = q.capabilities().max_batch_receive;
                    let got = q
                        .receive_with(ReceiveOptions {
                            max_messages: max,
                            visibility: vis,
                            wait: Duration::from_millis(500),
                        })
                        .await?;
                    for m in &got {
                        if want.contains(&m.id) {
                            *seen.lock().unwrap().entry(m.id.clone()).or_default() += 1;
                        }
                    }
                    if let Err(e) = q.ack_all(&got).await {
                        // A receipt that went stale because the visibility timeout ran out
                        // under load (the message was redelivered) is at-least-once working:
                        // ack the rest one by one; the redelivered copy is acked when seen.
                        if e.kind() != ErrorKind::PreconditionFailed {
                            return Err(e);
                        }
                        for m in &got {
                            match q.ack(m).await {
                                Ok(()) => {}
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        ErrorKind::PreconditionFailed | ErrorKind::NotFound
                                    ) =>
                                {
                                    late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
                gureum_core::Result::Ok(())
            }));
        }
        for t in tasks {
            match t.await {
                Ok(r) => r.ctx("consumer")?,
                Err(e) => return fail(format!("consumer task: {e}")),
            }
        }
        let seen = seen.lock().unwrap().clone();
        let dups: usize = seen.values().map(|c| c - 1).sum();
        ensure!(
            seen.len() == n,
            "{} of {n} messages lost under 4 concurrent consumers ({dups} duplicate deliveries)",
            n - seen.len()
        );
        // At-least-once allows duplicates; they are reported, not failed.
        let late = late.load(std::sync::atomic::Ordering::Relaxed);
        s.note(format!(
            "{n} messages, 4 consumers: none lost, {dups} duplicate deliveries, {late} acks after the visibility timeout ran out"
        ));
        Ok(())
    }));
    v.push(case!("queue.many_messages_no_loss", [], |s| {
        let q = s.fresh().await?;
        let n = 300;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s
            .collect(
                &q,
                &ids_of(&ids),
                n,
                (s.vis() * 60).min(q.capabilities().max_visibility),
            )
            .await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        let distinct: BTreeSet<&String> = got.iter().map(|m| &m.id).collect();
        ensure_eq!(distinct.len(), n, "distinct messages received of {n} sent");
        Ok(())
    }));
    v.push(case!("queue.fifo_ordering", [ordering], |s| {
        let cfg = QueueConfig {
            fifo: true,
            ..Default::default()
        };
        // SQS wants FIFO queue names to end in ".fifo"; other backends may refuse dots.
        let q = match s.fresh_with(&cfg, ".fifo").await {
            Ok(q) => q,
            Err(_) => s.fresh_with(&cfg, "").await?,
        };
        let n = 20;
        let mut ids = Vec::new();
        for i in 0..n {
            let mut m = Message::new(format!("{i}")).group("g1");
            m.dedup_id = Some(format!("{}-{i}", s.opts.run_id));
            ids.push(q.send(m).await.ctx("send")?);
        }
        let mut order = Vec::new();
        let deadline = Instant::now() + s.patience();
        while order.len() < n && Instant::now() < deadline {
            for m in q.receive_with(s.ro(1)).await.ctx("receive")? {
                order.push(m.id.clone());
                q.ack(&m).await.ctx("ack")?;
            }
        }
        ensure_eq!(order, ids, "delivery order within one group");
        Ok(())
    }));
    v
}
