//! Storage cases: overwrite.

use super::*;

/// The overwrite cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.overwrite_replaces", [], |s| {
        let k = s.put("o", "first").await?;
        s.b().put(&k, "second").await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"second"), "content after overwrite");
        Ok(())
    }));
    v.push(case!("storage.overwrite_with_smaller", [], |s| {
        let k = s.put("o", pattern(100_000, 1)).await?;
        s.b().put(&k, "x").await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"x"), "content");
        ensure_eq!(h.size, 1, "size after overwrite with 1 byte");
        Ok(())
    }));
    v.push(case!("storage.overwrite_with_empty", [], |s| {
        let k = s.put("o", "not empty").await?;
        s.b().put(&k, Bytes::new()).await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g.len(), 0, "size after overwrite with nothing");
        Ok(())
    }));
    v
}
