//! Storage cases: head, metadata, content type.

use super::*;

/// The head, metadata, content type cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.head_size_and_mtime", [], |s| {
        let before = chrono::Utc::now() - chrono::Duration::minutes(10);
        let k = s.put("h", "12345").await?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(h.size, 5, "size");
        ensure_eq!(h.key, k, "key");
        ensure!(
            h.last_modified > before,
            "last_modified {} is more than 10 minutes old",
            h.last_modified
        );
        ensure!(
            h.last_modified < chrono::Utc::now() + chrono::Duration::minutes(10),
            "last_modified is in the future"
        );
        Ok(())
    }));
    v.push(case!("storage.head_missing_not_found", [], |s| {
        expect_kind(
            s.b().head(&s.key("missing")).await,
            ErrorKind::NotFound,
            "head of a missing key",
        )
    }));
    v.push(case!("storage.metadata_round_trip", [user_metadata], |s| {
        let k = s.key("m");
        let o = PutOptions::default()
            .metadata("owner", "seoul-city")
            .metadata("case-id", "c-1041");
        s.b().put_with(&k, "v", &o).await.ctx("put_with")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(
            h.metadata.get("owner").map(String::as_str),
            Some("seoul-city"),
            "metadata owner"
        );
        ensure_eq!(
            h.metadata.get("case-id").map(String::as_str),
            Some("c-1041"),
            "metadata case-id"
        );
        Ok(())
    }));
    v.push(case!(
        "storage.metadata_in_get_with_info",
        [user_metadata],
        |s| {
            let k = s.key("m");
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("k", "v1"))
                .await
                .ctx("put_with")?;
            let (i, _) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
            s.cleanup().await;
            ensure_eq!(
                i.metadata.get("k").map(String::as_str),
                Some("v1"),
                "metadata from get"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.metadata_uppercase_name_rejected", [], |s| {
        // Clouds fold the case of metadata names; gureum refuses upper case rather than
        // returning a name other than the one written.
        let k = s.key("m");
        let r = s
            .b()
            .put_with(&k, "v", &PutOptions::default().metadata("Dept", "Water"))
            .await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "metadata name with upper case",
        )
    }));
    v.push(case!(
        "storage.metadata_replaced_on_overwrite",
        [user_metadata],
        |s| {
            let k = s.key("m");
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("a", "1"))
                .await
                .ctx("put_with")?;
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("b", "2"))
                .await
                .ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure!(
                !h.metadata.contains_key("a"),
                "old metadata survived an overwrite: {:?}",
                h.metadata
            );
            ensure_eq!(
                h.metadata.get("b").map(String::as_str),
                Some("2"),
                "new metadata"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.metadata_invalid_name_rejected", [], |s| {
        let k = s.key("m");
        let r = s
            .b()
            .put_with(&k, "v", &PutOptions::default().metadata("bad name!", "x"))
            .await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "metadata name with a space")
    }));
    v.push(case!(
        "storage.content_type_round_trip",
        [content_type],
        |s| {
            let k = s.key("doc.json");
            s.b()
                .put_with(
                    &k,
                    "{}",
                    &PutOptions::default().content_type("application/json"),
                )
                .await
                .ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.content_type.as_deref(),
                Some("application/json"),
                "content type"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.content_type_with_parameters",
        [content_type],
        |s| {
            let k = s.key("page.html");
            s.b()
                .put_with(
                    &k,
                    "<p>",
                    &PutOptions::default().content_type("text/html; charset=utf-8"),
                )
                .await
                .ctx("put_with")?;
            let (i, _) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
            s.cleanup().await;
            ensure_eq!(
                i.content_type.as_deref(),
                Some("text/html; charset=utf-8"),
                "content type from get"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.etag_reported", [], |s| {
        let k = s.key("e");
        let w = s.b().put(&k, "v").await.ctx("put")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure!(
            w.etag.is_some() || h.etag.is_some(),
            "neither put nor head reported an etag"
        );
        if let (Some(a), Some(b)) = (&w.etag, &h.etag) {
            ensure_eq!(
                a.trim_matches('"'),
                b.trim_matches('"'),
                "etag from put vs head"
            );
        }
        Ok(())
    }));
    v.push(case!("storage.etag_changes_on_overwrite", [], |s| {
        let k = s.key("e");
        s.b().put(&k, "one").await.ctx("put")?;
        let a = s.b().head(&k).await.ctx("head")?.etag;
        s.b().put(&k, "two!").await.ctx("put")?;
        let b = s.b().head(&k).await.ctx("head")?.etag;
        s.cleanup().await;
        ensure!(a.is_some() && b.is_some(), "no etag reported");
        ensure!(a != b, "etag did not change when the content changed");
        Ok(())
    }));
    v
}
