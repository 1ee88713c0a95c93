//! Storage cases: error kinds and interop.

use super::*;

/// The error kinds and interop cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.error_get_missing_not_found", [], |s| {
        expect_kind(
            s.b().get(&s.key("missing")).await,
            ErrorKind::NotFound,
            "get of a missing key",
        )
    }));
    v.push(case!("storage.error_get_with_info_missing", [], |s| {
        expect_kind(
            s.b().get_with_info(&s.key("missing")).await,
            ErrorKind::NotFound,
            "get_with_info of a missing key",
        )
    }));
    v.push(case!("storage.error_get_stream_missing", [], |s| {
        expect_kind(
            s.b().get_stream(&s.key("missing")).await.map(|_| ()),
            ErrorKind::NotFound,
            "get_stream of a missing key",
        )
    }));
    v.push(case!("storage.error_reader_missing", [], |s| {
        expect_kind(
            s.b().reader(&s.key("missing")).await.map(|_| ()),
            ErrorKind::NotFound,
            "reader of a missing key",
        )
    }));
    v.push(case!(
        "storage.error_missing_prefix_is_not_an_error",
        [],
        |s| {
            let l = s
                .b()
                .list_all(Some(&s.key("nothing/here/")))
                .await
                .ctx("list of an absent prefix")?;
            ensure!(l.is_empty(), "absent prefix listed {} objects", l.len());
            Ok(())
        }
    ));
    v.push(case!("storage.object_store_interop", [], |s| {
        // Objects written through Bucket are visible to plain object_store users at the
        // path of the same string, and vice versa.
        use object_store::ObjectStoreExt;
        let k = s.put("interop a+b", "via bucket").await?;
        let path = gureum_core::key::encode_key(&k).ctx("encode_key")?;
        let store = s.b().object_store();
        let raw = match store.get(&path).await {
            Ok(r) => r.bytes().await.map_err(gureum_core::Error::from),
            Err(e) => Err(gureum_core::Error::from(e)),
        };
        let k2 = s.key("raw-written");
        let p2 = gureum_core::key::encode_key(&k2).ctx("encode_key")?;
        let put = store
            .put(&p2, Bytes::from_static(b"via store").into())
            .await
            .map_err(gureum_core::Error::from);
        let g2 = s.b().get(&k2).await;
        s.cleanup().await;
        ensure_eq!(
            raw.ctx("object_store get")?,
            Bytes::from_static(b"via bucket"),
            "raw read of a Bucket write"
        );
        put.ctx("object_store put")?;
        ensure_eq!(
            g2.ctx("bucket get")?,
            Bytes::from_static(b"via store"),
            "Bucket read of a raw write"
        );
        Ok(())
    }));
    v.push(case!("storage.max_object_size_enforced", [], |s| {
        let Some(max) = s.b().capabilities().max_object_size else {
            return skip("the backend declares no max_object_size");
        };
        if max > 64 * 1024 * 1024 {
            return skip(format!("max_object_size {max} is too large to test"));
        }
        let k = s.key("too-big");
        let r = s.b().put(&k, vec![0u8; max as usize + 1]).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "put of max_object_size + 1 bytes",
        )
    }));
    v.push(case!("storage.capabilities_consistent", [], |s| {
        let c = s.b().capabilities();
        ensure!(
            !c.copy_if_not_exists || c.copy,
            "copy_if_not_exists is advertised without copy"
        );
        ensure_eq!(
            c.presign,
            s.b()
                .presign(PresignMethod::Get, &s.key("x"), Duration::from_secs(60))
                .await
                .is_ok(),
            "presign flag vs presign()"
        );
        ensure_eq!(
            c.bucket_admin,
            s.b().admin().is_ok(),
            "bucket_admin flag vs admin()"
        );
        Ok(())
    }));
    v
}
