//! Storage cases: conditional operations under races, and etags as the condition (an etag
//! from a listing or a write result must be usable in an if-match; quoting and multipart
//! etags are where clouds and drivers differ).

use super::*;
use crate::harness::CaseError;

/// Outcome counts of racing writers.
struct RaceOutcome {
    winners: Vec<usize>,
    refused: Vec<ErrorKind>,
    other: Vec<String>,
}

async fn race(
    s: &Scope<Ctx>,
    key: &str,
    writers: usize,
    mode: WriteMode,
) -> Result<RaceOutcome, CaseError> {
    let mut tasks = Vec::new();
    for i in 0..writers {
        let (b, k, m) = (s.b().clone(), key.to_string(), mode.clone());
        tasks.push(tokio::spawn(async move {
            b.put_with(&k, format!("writer-{i}"), &PutOptions::default().mode(m))
                .await
        }));
    }
    let mut out = RaceOutcome {
        winners: vec![],
        refused: vec![],
        other: vec![],
    };
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await {
            Ok(Ok(_)) => out.winners.push(i),
            Ok(Err(e))
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                ) =>
            {
                out.refused.push(e.kind())
            }
            Ok(Err(e)) => out.other.push(format!("{}: {e}", e.kind())),
            Err(e) => return fail(format!("task: {e}")),
        }
    }
    Ok(out)
}

/// The race and etag cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.concurrent_if_match_one_wins",
        [conditional_update],
        |s| {
            let k = s.key("cas");
            let w = s.b().put(&k, "base").await.ctx("put")?;
            let Some(etag) = w.etag else {
                return fail("put returned no etag");
            };
            let r = race(&s, &k, 8, WriteMode::IfMatch(etag)).await?;
            let got = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure!(r.other.is_empty(), "unexpected errors: {:?}", r.other);
            ensure_eq!(
                r.winners.len(),
                1,
                "writers whose if-match on the same etag succeeded (lost update)"
            );
            ensure_eq!(
                got,
                Bytes::from(format!("writer-{}", r.winners[0])),
                "content is the winner's"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.concurrent_create_only_winner_content",
        [conditional_create],
        |s| {
            let k = s.key("first");
            let r = race(&s, &k, 8, WriteMode::CreateOnly).await?;
            let got = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure!(r.other.is_empty(), "unexpected errors: {:?}", r.other);
            ensure_eq!(r.winners.len(), 1, "create-only winners");
            ensure!(
                r.refused.iter().all(|k| *k == ErrorKind::AlreadyExists),
                "losers must see AlreadyExists, saw {:?}",
                r.refused
            );
            ensure_eq!(
                got,
                Bytes::from(format!("writer-{}", r.winners[0])),
                "content is the one successful creator's"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.create_only_after_delete",
        [conditional_create],
        |s| {
            let k = s.put("again", "v1").await?;
            s.b().delete(&k).await.ctx("delete")?;
            s.b()
                .put_with(&k, "v2", &PutOptions::default().mode(WriteMode::CreateOnly))
                .await
                .ctx("create-only put after delete")?;
            let got = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(got, Bytes::from_static(b"v2"), "content");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_after_delete_refused",
        [conditional_update],
        |s| {
            let k = s.key("vanished");
            let w = s.b().put(&k, "v1").await.ctx("put")?;
            let Some(etag) = w.etag else {
                return fail("put returned no etag");
            };
            s.b().delete(&k).await.ctx("delete")?;
            let r = s
                .b()
                .put_with(
                    &k,
                    "v2",
                    &PutOptions::default().mode(WriteMode::IfMatch(etag)),
                )
                .await;
            let exists = s.b().exists(&k).await.ctx("exists")?;
            s.cleanup().await;
            expect_kinds(
                r,
                &[ErrorKind::PreconditionFailed, ErrorKind::NotFound],
                "if-match put on a deleted object",
            )?;
            ensure!(!exists, "a refused if-match put created the object");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_etag_from_listing",
        [conditional_update],
        |s| {
            let k = s.put("listed", "v1").await?;
            let l = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
            let Some(etag) = l.first().and_then(|o| o.etag.clone()) else {
                s.cleanup().await;
                return fail("the listing reports no etag");
            };
            let r = s
                .b()
                .put_with(
                    &k,
                    "v2",
                    &PutOptions::default().mode(WriteMode::IfMatch(etag)),
                )
                .await;
            let got = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            r.ctx("if-match put with the etag from the listing")?;
            ensure_eq!(got, Bytes::from_static(b"v2"), "content");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_etag_from_head_after_multipart",
        [conditional_update, multipart],
        |s| {
            let k = s.key("mp");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            w.write(b"multipart body").await.ctx("write")?;
            w.finish().await.ctx("finish")?;
            let Some(etag) = s.b().head(&k).await.ctx("head")?.etag else {
                s.cleanup().await;
                return fail("head reports no etag");
            };
            let r = s
                .b()
                .put_with(
                    &k,
                    "v2",
                    &PutOptions::default().mode(WriteMode::IfMatch(etag)),
                )
                .await;
            let got = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            r.ctx("if-match put with the head etag of a multipart object")?;
            ensure_eq!(got, Bytes::from_static(b"v2"), "content");
            Ok(())
        }
    ));
    v.push(case!("storage.etag_listing_matches_head", [], |s| {
        let k = s.put("e", "etag body").await?;
        let h = s.b().head(&k).await.ctx("head")?;
        let l = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        match (l.first().and_then(|o| o.etag.clone()), h.etag) {
            (Some(a), Some(b)) => ensure_eq!(a, b, "etag in the listing vs head"),
            (a, b) => s.note(format!(
                "etag not reported everywhere: list {a:?}, head {b:?}"
            )),
        }
        Ok(())
    }));
    v.push(case!("storage.etag_put_result_matches_head", [], |s| {
        let k = s.key("p");
        let w = s.b().put(&k, "body").await.ctx("put")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        match (w.etag, h.etag) {
            (Some(a), Some(b)) => ensure_eq!(a, b, "etag from put vs head"),
            (a, b) => s.note(format!(
                "etag not reported everywhere: put {a:?}, head {b:?}"
            )),
        }
        Ok(())
    }));
    v.push(case!(
        "storage.copy_if_not_exists_race_one_wins",
        [copy_if_not_exists],
        |s| {
            let mut srcs = Vec::new();
            for i in 0..6 {
                srcs.push(s.put(&format!("src{i}"), format!("source-{i}")).await?);
            }
            let dst = s.key("dst");
            let mut tasks = Vec::new();
            for src in srcs {
                let (b, d) = (s.b().clone(), dst.clone());
                tasks.push(tokio::spawn(
                    async move { b.copy_if_not_exists(&src, &d).await },
                ));
            }
            let mut ok = 0;
            let mut other = Vec::new();
            for t in tasks {
                match t.await {
                    Ok(Ok(())) => ok += 1,
                    Ok(Err(e))
                        if matches!(
                            e.kind(),
                            ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                        ) => {}
                    Ok(Err(e)) => other.push(format!("{}: {e}", e.kind())),
                    Err(e) => return fail(format!("task: {e}")),
                }
            }
            let got = s.b().get(&dst).await.ctx("get")?;
            s.cleanup().await;
            ensure!(other.is_empty(), "unexpected errors: {other:?}");
            ensure_eq!(ok, 1, "racing copy-if-not-exists that succeeded");
            ensure!(
                got.starts_with(b"source-"),
                "destination has foreign content"
            );
            Ok(())
        }
    ));
    v
}
