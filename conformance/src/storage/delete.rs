//! Storage cases: delete.

use super::*;

/// The delete cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.delete_removes", [], |s| {
        let k = s.put("d", "v").await?;
        s.b().delete(&k).await.ctx("delete")?;
        expect_kind(s.b().get(&k).await, ErrorKind::NotFound, "get after delete")
    }));
    v.push(case!("storage.delete_missing_is_ok", [], |s| {
        s.b()
            .delete(&s.key("never-written"))
            .await
            .ctx("delete of a missing key")?;
        Ok(())
    }));
    v.push(case!("storage.delete_twice_is_ok", [], |s| {
        let k = s.put("d", "v").await?;
        s.b().delete(&k).await.ctx("first delete")?;
        s.b().delete(&k).await.ctx("second delete")?;
        Ok(())
    }));
    v.push(case!("storage.delete_many", [], |s| {
        let mut keys = Vec::new();
        for i in 0..25 {
            keys.push(s.put(&format!("m{i}"), "v").await?);
        }
        s.put("keep", "v").await?;
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        ensure_eq!(rs.len(), keys.len(), "results");
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        let left = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(left, vec![s.key("keep")], "keys left after delete_many");
        Ok(())
    }));
    v.push(case!("storage.delete_many_with_missing", [], |s| {
        let a = s.put("a", "v").await?;
        let keys = vec![a.clone(), s.key("missing-1"), s.key("missing-2")];
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        ensure!(
            !s.b().exists(&a).await.ctx("exists")?,
            "existing key survived delete_many"
        );
        Ok(())
    }));
    v.push(case!("storage.delete_many_empty", [], |s| {
        let rs = s.b().delete_many(&[]).await.ctx("delete_many of nothing")?;
        ensure!(
            rs.is_empty(),
            "delete_many of nothing returned {} results",
            rs.len()
        );
        Ok(())
    }));
    v.push(case!("storage.delete_many_odd_keys", [], |s| {
        let mut keys = Vec::new();
        for r in ["가 나", "a+b", "a%b", "a%2F%2Fb", "x/y"] {
            keys.push(s.put(r, "v").await?);
        }
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        let left = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        ensure!(left.is_empty(), "delete_many left {:?}", keys_of(&left));
        Ok(())
    }));
    v.push(case!("storage.delete_many_invalid_key_rejected", [], |s| {
        let keys = vec![s.key("ok"), String::new()];
        expect_kind(
            s.b().delete_many(&keys).await.map(|_| ()),
            ErrorKind::InvalidArgument,
            "delete_many with an empty key",
        )
    }));
    v.push(case!("storage.delete_leaves_siblings", [], |s| {
        let a = s.put("dir/a", "v").await?;
        s.put("dir/b", "v").await?;
        s.put("dir", "v").await?;
        s.b().delete(&a).await.ctx("delete")?;
        let left = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(left, vec![s.key("dir"), s.key("dir/b")], "keys left");
        Ok(())
    }));
    v
}
