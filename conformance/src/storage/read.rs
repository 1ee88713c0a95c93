//! Storage cases: read.

use super::*;

/// The read cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.get_with_info", [], |s| {
        let k = s.put("info.txt", "0123456789").await?;
        let (info, data) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
        s.cleanup().await;
        ensure_eq!(info.key, k, "key");
        ensure_eq!(info.size, 10, "size");
        ensure_eq!(data, Bytes::from_static(b"0123456789"), "data");
        Ok(())
    }));
    v.push(case!("storage.streaming_reader", [], |s| {
        let data = pattern(3 * 1024 * 1024 + 3, 9);
        let k = s.put("stream.bin", data.clone()).await?;
        let mut r = s.b().reader(&k).await.ctx("reader")?;
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("read_to_end: {e}")))?;
        s.cleanup().await;
        ensure!(
            buf == data,
            "streamed {} bytes differ from the {} written",
            buf.len(),
            data.len()
        );
        Ok(())
    }));
    v.push(case!("storage.get_stream_chunks", [], |s| {
        let data = pattern(2 * 1024 * 1024 + 1, 11);
        let k = s.put("chunks.bin", data.clone()).await?;
        let chunks: Vec<Bytes> = s
            .b()
            .get_stream(&k)
            .await
            .ctx("get_stream")?
            .try_collect()
            .await
            .ctx("stream")?;
        s.cleanup().await;
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        ensure!(
            joined == data,
            "streamed chunks ({} bytes) differ from the object",
            joined.len()
        );
        Ok(())
    }));
    v.push(case!("storage.exists_true", [], |s| {
        let k = s.put("e", "1").await?;
        let e = s.b().exists(&k).await.ctx("exists")?;
        s.cleanup().await;
        ensure!(e, "exists is false for a written key");
        Ok(())
    }));
    v.push(case!("storage.exists_false", [], |s| {
        ensure!(
            !s.b().exists(&s.key("never-written")).await.ctx("exists")?,
            "exists is true for a key never written"
        );
        Ok(())
    }));
    v.push(case!("storage.exists_after_delete", [], |s| {
        let k = s.put("gone", "1").await?;
        s.b().delete(&k).await.ctx("delete")?;
        ensure!(
            !s.b().exists(&k).await.ctx("exists")?,
            "exists is true after delete"
        );
        Ok(())
    }));
    v
}
