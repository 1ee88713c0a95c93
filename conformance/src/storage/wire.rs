//! Storage cases about the wire: clock skew between this client and the service (signed
//! requests are refused outside a window — 15 minutes for SigV4 and Azure Shared Key, 5 for
//! Naver Cloud's API gateway), bursts that real services throttle (the driver must retry
//! 503 SlowDown / 429 with Retry-After instead of surfacing them), and presigned URL expiry.

use super::*;

/// Largest clock difference tolerated without a note (the strictest signing window, Naver
/// Cloud's 5 minutes).
const SKEW_WINDOW: i64 = 300;

/// The wire cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.clock_skew_last_modified_plausible",
        [],
        |s| {
            let before = chrono::Utc::now();
            let k = s.put("clock", "tick").await?;
            let after = chrono::Utc::now();
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            // Servers store whole seconds; allow the window on either side.
            let lo = before - chrono::Duration::seconds(SKEW_WINDOW);
            let hi = after + chrono::Duration::seconds(SKEW_WINDOW);
            ensure!(
                h.last_modified >= lo && h.last_modified <= hi,
                "the service's clock differs from this machine's by more than {SKEW_WINDOW} s \
             (last_modified {}, local time {}): signed requests will start failing",
                h.last_modified,
                after
            );
            let skew = (h.last_modified - after).num_seconds();
            if skew.abs() > 2 {
                s.note(format!("service clock differs by about {skew} s"));
            }
            Ok(())
        }
    ));
    v.push(case!(
        "storage.clock_skew_presign_date_header",
        [presign],
        |s| {
            let k = s.put("date", "x").await?;
            let url = s
                .b()
                .presign(PresignMethod::Get, &k, Duration::from_secs(300))
                .await
                .ctx("presign")?;
            let r = s.http.get(url).send().await;
            s.cleanup().await;
            let r = r.map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
            ensure!(
                r.status().is_success(),
                "presigned GET: HTTP {}",
                r.status()
            );
            let Some(date) = r
                .headers()
                .get("date")
                .and_then(|d| d.to_str().ok())
                .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            else {
                return fail("the response has no parseable Date header");
            };
            let skew = (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
            ensure!(
                skew.abs() <= SKEW_WINDOW,
                "server Date is {skew} s off this machine's clock (window {SKEW_WINDOW} s)"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.presign_expired_refused", [presign], |s| {
        let k = s.put("short-lived", "x").await?;
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(1))
            .await
            .ctx("presign 1 s")?;
        tokio::time::sleep(s.opts.scaled(Duration::from_secs(3))).await;
        let r = s.http.get(url).send().await;
        s.cleanup().await;
        let r = r.map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
        let st = r.status();
        ensure!(
            st == reqwest::StatusCode::FORBIDDEN || st == reqwest::StatusCode::UNAUTHORIZED,
            "an expired presigned URL answered HTTP {st} (expected 401 or 403)"
        );
        Ok(())
    }));
    v.push(case!("storage.burst_puts_all_succeed", [], |s| {
        // 100 writes at twice the usual concurrency: real services throttle such bursts
        // (S3 503 SlowDown, Azure 503 ServerBusy, 429 with Retry-After); the driver must
        // retry them, not surface them.
        let b = s.b().clone();
        let keys: Vec<String> = (0..100).map(|i| s.key(&format!("b{i:03}"))).collect();
        let results: Vec<gureum_core::Result<gureum_core::WriteResult>> =
            futures::stream::iter(keys.clone())
                .map(|k| {
                    let b = b.clone();
                    async move { b.put(&k, Bytes::from_static(b"burst")).await }
                })
                .buffer_unordered(s.opts.concurrency.max(1) * 2)
                .collect()
                .await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| format!("{}: {e}", e.kind())))
            .collect();
        let listed = s.b().list_all(Some(&s.dir())).await.ctx("list")?.len();
        s.cleanup().await;
        ensure!(
            failed.is_empty(),
            "{} of 100 burst writes failed, first: {}",
            failed.len(),
            failed[0]
        );
        ensure_eq!(listed, 100, "objects after the burst");
        Ok(())
    }));
    v.push(case!("storage.burst_reads_all_succeed", [], |s| {
        let k = s.put("hot", "hot object").await?;
        let b = s.b().clone();
        let results: Vec<gureum_core::Result<Bytes>> = futures::stream::iter(0..150)
            .map(|_| {
                let (b, k) = (b.clone(), k.clone());
                async move { b.get(&k).await }
            })
            .buffer_unordered(s.opts.concurrency.max(1) * 2)
            .collect()
            .await;
        s.cleanup().await;
        let mut bad = 0;
        let mut first = None;
        for r in results {
            match r {
                Ok(b) if b == Bytes::from_static(b"hot object") => {}
                Ok(b) => {
                    bad += 1;
                    first.get_or_insert(format!("wrong body of {} bytes", b.len()));
                }
                Err(e) => {
                    bad += 1;
                    first.get_or_insert(format!("{}: {e}", e.kind()));
                }
            }
        }
        ensure!(
            bad == 0,
            "{bad} of 150 reads of one hot key failed, first: {}",
            first.unwrap_or_default()
        );
        Ok(())
    }));
    v
}
