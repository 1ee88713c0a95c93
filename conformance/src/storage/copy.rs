//! Storage cases: copy and rename.

use super::*;

/// The copy and rename cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.copy_round_trip", [copy], |s| {
        let a = s.put("src", "copied").await?;
        let b = s.key("dst");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let (ga, gb) = (
            s.b().get(&a).await.ctx("get src")?,
            s.b().get(&b).await.ctx("get dst")?,
        );
        s.cleanup().await;
        ensure_eq!(gb, Bytes::from_static(b"copied"), "destination");
        ensure_eq!(ga, Bytes::from_static(b"copied"), "source after copy");
        Ok(())
    }));
    v.push(case!("storage.copy_overwrites_destination", [copy], |s| {
        let a = s.put("src", "new").await?;
        let b = s.put("dst", "old").await?;
        s.b().copy(&a, &b).await.ctx("copy")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"new"), "destination after copy");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_missing_source_not_found",
        [copy],
        |s| {
            let r = s.b().copy(&s.key("missing"), &s.key("dst")).await;
            s.cleanup().await;
            expect_kind(r, ErrorKind::NotFound, "copy of a missing source")
        }
    ));
    v.push(case!("storage.copy_odd_keys", [copy], |s| {
        let a = s.put("원본 a+b%c", "odd").await?;
        let b = s.key("사본/x?y#z");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"odd"), "destination");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_preserves_metadata",
        [copy, user_metadata],
        |s| {
            let a = s.key("src");
            s.b()
                .put_with(&a, "v", &PutOptions::default().metadata("owner", "x"))
                .await
                .ctx("put_with")?;
            let b = s.key("dst");
            s.b().copy(&a, &b).await.ctx("copy")?;
            let h = s.b().head(&b).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("x"),
                "metadata of the copy"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.copy_large_object", [copy], |s| {
        let data = pattern(5 * 1024 * 1024 + 1, 2);
        let a = s.put("src", data.clone()).await?;
        let b = s.key("dst");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure!(g == data, "copy of 5 MiB+1 differs");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_if_not_exists_new",
        [copy_if_not_exists],
        |s| {
            let a = s.put("src", "v").await?;
            let b = s.key("dst");
            s.b()
                .copy_if_not_exists(&a, &b)
                .await
                .ctx("copy_if_not_exists")?;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v"), "destination");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.copy_if_not_exists_existing",
        [copy_if_not_exists],
        |s| {
            let a = s.put("src", "new").await?;
            let b = s.put("dst", "old").await?;
            let r = s.b().copy_if_not_exists(&a, &b).await;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::AlreadyExists,
                "copy_if_not_exists onto an existing key",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"old"),
                "destination after a refused copy"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.rename_moves", [copy], |s| {
        let a = s.put("from", "moved").await?;
        let b = s.key("to");
        s.b().rename(&a, &b).await.ctx("rename")?;
        let ea = s.b().exists(&a).await.ctx("exists")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure!(!ea, "source still exists after rename");
        ensure_eq!(g, Bytes::from_static(b"moved"), "destination");
        Ok(())
    }));
    v.push(case!(
        "storage.rename_overwrites_destination",
        [copy],
        |s| {
            let a = s.put("from", "new").await?;
            let b = s.put("to", "old").await?;
            s.b().rename(&a, &b).await.ctx("rename")?;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"new"), "destination after rename");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.rename_missing_source_not_found",
        [copy],
        |s| {
            let r = s.b().rename(&s.key("missing"), &s.key("to")).await;
            s.cleanup().await;
            expect_kind(r, ErrorKind::NotFound, "rename of a missing source")
        }
    ));
    v
}
