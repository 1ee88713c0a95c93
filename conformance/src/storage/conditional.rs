//! Storage cases: conditional writes.

use super::*;

/// The conditional writes cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.create_only_new_key",
        [conditional_create],
        |s| {
            let k = s.key("c");
            s.b()
                .put_with(&k, "v", &PutOptions::default().mode(WriteMode::CreateOnly))
                .await
                .ctx("create-only put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v"), "content");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.create_only_existing_already_exists",
        [conditional_create],
        |s| {
            let k = s.put("c", "original").await?;
            let r = s
                .b()
                .put_with(
                    &k,
                    "new",
                    &PutOptions::default().mode(WriteMode::CreateOnly),
                )
                .await;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::AlreadyExists,
                "create-only put over an existing object",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"original"),
                "content after a refused create-only put"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_current_etag",
        [conditional_update],
        |s| {
            let k = s.key("u");
            let w = s.b().put(&k, "v1").await.ctx("put")?;
            let etag =
                match w.etag {
                    Some(e) => e,
                    None => s.b().head(&k).await.ctx("head")?.etag.ok_or_else(|| {
                        crate::harness::CaseError::Fail("no etag reported".into())
                    })?,
                };
            s.b()
                .put_with(
                    &k,
                    "v2",
                    &PutOptions::default().mode(WriteMode::IfMatch(etag)),
                )
                .await
                .ctx("if-match put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v2"), "content after if-match");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_stale_etag_precondition_failed",
        [conditional_update],
        |s| {
            let k = s.key("u");
            let w = s.b().put(&k, "v1").await.ctx("put")?;
            let old = w.etag.or(s.b().head(&k).await.ctx("head")?.etag);
            s.b().put(&k, "v2-other-writer").await.ctx("put")?;
            let Some(old) = old else {
                s.cleanup().await;
                return fail("no etag reported");
            };
            let r = s
                .b()
                .put_with(
                    &k,
                    "v3",
                    &PutOptions::default().mode(WriteMode::IfMatch(old)),
                )
                .await;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::PreconditionFailed,
                "if-match with a stale etag",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"v2-other-writer"),
                "content after a refused if-match"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_missing_object",
        [conditional_update],
        |s| {
            let k = s.key("never");
            let r = s
                .b()
                .put_with(
                    &k,
                    "v",
                    &PutOptions::default().mode(WriteMode::IfMatch("\"abc\"".into())),
                )
                .await;
            let e = s.b().exists(&k).await.ctx("exists")?;
            s.cleanup().await;
            expect_kinds(
                r,
                &[ErrorKind::PreconditionFailed, ErrorKind::NotFound],
                "if-match on a missing object",
            )?;
            ensure!(!e, "if-match on a missing key created it");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.concurrent_create_only_one_wins",
        [conditional_create],
        |s| {
            let k = s.key("race");
            let mut tasks = Vec::new();
            for i in 0..8u8 {
                let (b, k) = (s.b().clone(), k.clone());
                tasks.push(tokio::spawn(async move {
                    b.put_with(
                        &k,
                        vec![i; 16],
                        &PutOptions::default().mode(WriteMode::CreateOnly),
                    )
                    .await
                }));
            }
            let mut ok = 0;
            for t in tasks {
                match t.await {
                    Ok(Ok(_)) => ok += 1,
                    Ok(Err(e))
                        if e.kind() == ErrorKind::AlreadyExists
                            || e.kind() == ErrorKind::PreconditionFailed => {}
                    Ok(Err(e)) => {
                        s.cleanup().await;
                        return fail(format!(
                            "create-only racer failed with {} error: {e}",
                            e.kind()
                        ));
                    }
                    Err(e) => return fail(format!("task: {e}")),
                }
            }
            s.cleanup().await;
            ensure_eq!(ok, 1, "create-only racers that succeeded");
            Ok(())
        }
    ));
    v
}
