//! Storage cases: read-after-write, read-after-overwrite, read-after-delete and
//! list-after-write consistency (what eventually consistent clouds and caching gateways get
//! wrong: a stale body after an overwrite, a deleted object still readable, a fresh key
//! missing from the listing).

use super::*;

/// The consistency cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.read_after_overwrite_many", [], |s| {
        let k = s.key("o");
        // Sizes change every time, so a stale cached body is always detectable.
        for (i, len) in [3usize, 700, 1, 4096, 65].into_iter().enumerate() {
            let data = pattern(len, i as u8 + 1);
            s.b().put(&k, data.clone()).await.ctx("put")?;
            let got = s.b().get(&k).await.ctx("get")?;
            ensure!(
                got == data,
                "read after overwrite #{i}: got {} bytes, expected the {} just written",
                got.len(),
                len
            );
        }
        s.cleanup().await;
        Ok(())
    }));
    v.push(case!("storage.read_after_delete_not_found", [], |s| {
        let k = s.put("gone", "soon").await?;
        let _warm = s.b().get(&k).await.ctx("get before delete")?;
        s.b().delete(&k).await.ctx("delete")?;
        expect_kind(s.b().get(&k).await, ErrorKind::NotFound, "get after delete")?;
        expect_kind(
            s.b().head(&k).await,
            ErrorKind::NotFound,
            "head after delete",
        )?;
        expect_kind(
            s.b().get_range(&k, 0..2).await,
            ErrorKind::NotFound,
            "range read after delete",
        )
    }));
    v.push(case!("storage.read_after_delete_and_recreate", [], |s| {
        let k = s.put("phoenix", "first life").await?;
        s.b().delete(&k).await.ctx("delete")?;
        s.b().put(&k, "second").await.ctx("recreate")?;
        let got = s.b().get(&k).await.ctx("get")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(got, Bytes::from_static(b"second"), "body after recreate");
        ensure_eq!(h.size, 6, "head size after recreate");
        Ok(())
    }));
    v.push(case!("storage.list_after_write_immediate", [], |s| {
        let mut want = Vec::new();
        for i in 0..25 {
            want.push(s.put(&format!("w{i:02}"), "v").await?);
        }
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(got, want, "listing right after 25 writes");
        Ok(())
    }));
    v.push(case!("storage.list_after_delete_immediate", [], |s| {
        let mut keep = Vec::new();
        for i in 0..20 {
            let k = s.put(&format!("d{i:02}"), "v").await?;
            if i % 2 == 0 {
                keep.push(k);
            } else {
                s.b().delete(&k).await.ctx("delete")?;
            }
        }
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(got, keep, "listing right after deleting every other key");
        Ok(())
    }));
    v.push(case!("storage.list_after_overwrite_size", [], |s| {
        let k = s.put("grow", "12345").await?;
        s.b().put(&k, "12345678901").await.ctx("overwrite")?;
        let l = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        ensure_eq!(l.len(), 1, "objects listed");
        ensure_eq!(l[0].size, 11, "listed size after overwrite");
        Ok(())
    }));
    v.push(case!("storage.head_after_overwrite", [], |s| {
        let k = s.put("h", "short").await?;
        let h1 = s.b().head(&k).await.ctx("head 1")?;
        s.b().put(&k, "a longer body").await.ctx("overwrite")?;
        let h2 = s.b().head(&k).await.ctx("head 2")?;
        s.cleanup().await;
        ensure_eq!(h2.size, 13, "head size after overwrite");
        if let (Some(a), Some(b)) = (&h1.etag, &h2.etag) {
            ensure!(a != b, "head etag did not change after overwrite ({a})");
        }
        ensure!(
            h2.last_modified >= h1.last_modified,
            "last_modified went backwards: {} then {}",
            h1.last_modified,
            h2.last_modified
        );
        Ok(())
    }));
    v.push(case!("storage.get_with_info_consistent", [], |s| {
        let k = s.put("i", "first").await?;
        s.b().put(&k, "second body").await.ctx("overwrite")?;
        let (info, body) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
        s.cleanup().await;
        ensure_eq!(body, Bytes::from_static(b"second body"), "body");
        ensure_eq!(info.size, body.len() as u64, "info size vs body length");
        Ok(())
    }));
    v.push(case!("storage.range_after_overwrite", [], |s| {
        let k = s.put("r", "aaaaaaaaaa").await?;
        let _warm = s.b().get_range(&k, 2..6).await.ctx("range before")?;
        s.b().put(&k, "0123456789").await.ctx("overwrite")?;
        let g = s.b().get_range(&k, 2..6).await.ctx("range after")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"2345"), "range after overwrite");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_after_overwrite_copies_latest",
        [copy],
        |s| {
            let src = s.put("src", "old").await?;
            s.b().put(&src, "new content").await.ctx("overwrite")?;
            let dst = s.key("dst");
            s.b().copy(&src, &dst).await.ctx("copy")?;
            let got = s.b().get(&dst).await.ctx("get copy")?;
            s.cleanup().await;
            ensure_eq!(got, Bytes::from_static(b"new content"), "copied body");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.rename_listing_shows_only_destination",
        [copy],
        |s| {
            let a = s.put("from", "x").await?;
            let b = s.key("to");
            s.b().rename(&a, &b).await.ctx("rename")?;
            let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
            s.cleanup().await;
            ensure_eq!(got, vec![b], "listing after rename");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.copy_source_overwrite_leaves_copy",
        [copy],
        |s| {
            let src = s.put("src", "original").await?;
            let dst = s.key("dst");
            s.b().copy(&src, &dst).await.ctx("copy")?;
            s.b().put(&src, "changed").await.ctx("overwrite source")?;
            s.b().delete(&src).await.ctx("delete source")?;
            let got = s.b().get(&dst).await.ctx("get copy")?;
            s.cleanup().await;
            ensure_eq!(
                got,
                Bytes::from_static(b"original"),
                "copy after its source changed and was deleted"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.copy_empty_object", [copy], |s| {
        let src = s.put("empty", "").await?;
        let dst = s.key("empty-copy");
        s.b().copy(&src, &dst).await.ctx("copy")?;
        let h = s.b().head(&dst).await.ctx("head")?;
        let g = s.b().get(&dst).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(h.size, 0, "size of a copied empty object");
        ensure!(g.is_empty(), "copied empty object has {} bytes", g.len());
        Ok(())
    }));
    v
}
