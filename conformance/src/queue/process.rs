//! Queue cases: process loop.

use super::*;

/// The process loop cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.process_handles_all", [], |s| {
        let q = s.fresh().await?;
        let n = 30u64;
        q.send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let seen: Arc<Mutex<BTreeSet<Bytes>>> = Arc::default();
        let seen2 = seen.clone();
        let opts = ProcessOptions {
            concurrency: 4,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(n),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), move |m| {
                let seen = seen2.clone();
                async move {
                    seen.lock().unwrap().insert(m.body.clone());
                    Ok(())
                }
            }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not finish".into()))?
        .ctx("process")?;
        ensure_eq!(stats.acked, n, "acked");
        ensure_eq!(
            seen.lock().unwrap().len() as u64,
            n,
            "distinct messages handled"
        );
        s.absent_for(&q, "-", s.vis()).await
    }));
    v.push(case!("queue.process_graceful_shutdown", [], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..4).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let (st, fi) = (started.clone(), finished.clone());
        let opts = ProcessOptions {
            concurrency: 4,
            visibility: s.vis() * 10,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: None,
        };
        let shutdown = async move {
            let _ = rx.await;
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, shutdown, move |_m| {
                let (st, fi, tx) = (st.clone(), fi.clone(), tx.clone());
                async move {
                    st.fetch_add(1, Ordering::SeqCst);
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    fi.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not return after shutdown".into()))?
        .ctx("process")?;
        let (st, fi) = (
            started.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst),
        );
        drain(&q, s.vis()).await.ok();
        ensure!(st >= 1, "no handler ran");
        ensure_eq!(fi, st, "handlers finished before process returned");
        ensure_eq!(stats.acked as usize, fi, "acked handlers");
        Ok(())
    }));
    v.push(case!("queue.process_handler_error_redelivers", [], |s| {
        let q = s.fresh().await?;
        q.send(Message::new("flaky")).await.ctx("send")?;
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let opts = ProcessOptions {
            concurrency: 1,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(2),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), move |_m| {
                let a = a.clone();
                async move {
                    if a.fetch_add(1, Ordering::SeqCst) == 0 {
                        Err("first attempt fails".into())
                    } else {
                        Ok(())
                    }
                }
            }),
        )
        .await
        .map_err(|_| {
            CaseError::Fail("process did not finish: the failed message was not redelivered".into())
        })?
        .ctx("process")?;
        ensure_eq!(stats.failed, 1, "failed handler runs");
        ensure_eq!(stats.acked, 1, "acked after the retry");
        Ok(())
    }));
    v.push(case!("queue.process_max_messages", [], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..10).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let opts = ProcessOptions {
            concurrency: 1,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(3),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), |_m| async { Ok(()) }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not stop at max_messages".into()))?
        .ctx("process")?;
        drain(&q, s.vis()).await.ok();
        ensure_eq!(stats.acked, 3, "acked with max_messages 3");
        Ok(())
    }));
    v
}
