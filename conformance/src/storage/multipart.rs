//! Storage cases: multipart.

use super::*;

/// The multipart cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.multipart_writer_round_trip",
        [multipart],
        |s| {
            // Two full 8 MiB parts and a tail: a real multipart upload everywhere.
            let total = 2 * gureum_core::storage::DEFAULT_PART_SIZE + 12_345;
            let data = pattern(total, 7);
            let k = s.key("multi.bin");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            for chunk in data.chunks(1024 * 1024 + 17) {
                w.write(chunk).await.ctx("writer.write")?;
            }
            ensure_eq!(w.bytes_written(), total as u64, "bytes_written");
            w.finish().await.ctx("writer.finish")?;
            let got = s.b().get(&k).await.ctx("get")?;
            ensure_eq!(got.len(), total, "size after multipart upload");
            ensure!(got == data, "multipart object content differs");
            let h = s.b().head(&k).await.ctx("head")?;
            ensure_eq!(h.size, total as u64, "head size");
            s.cleanup().await;
            Ok(())
        }
    ));
    v.push(case!("storage.multipart_writer_small", [multipart], |s| {
        let k = s.key("tiny.bin");
        let mut w = s
            .b()
            .writer(&k, &PutOptions::default())
            .await
            .ctx("writer")?;
        w.write(b"abc").await.ctx("write")?;
        w.write(b"def").await.ctx("write")?;
        w.finish().await.ctx("finish")?;
        ensure_eq!(
            s.b().get(&k).await.ctx("get")?,
            Bytes::from_static(b"abcdef"),
            "content"
        );
        s.cleanup().await;
        Ok(())
    }));
    v.push(case!("storage.multipart_writer_empty", [multipart], |s| {
        let k = s.key("nothing.bin");
        let w = s
            .b()
            .writer(&k, &PutOptions::default())
            .await
            .ctx("writer")?;
        w.finish().await.ctx("finish")?;
        ensure_eq!(
            s.b().get(&k).await.ctx("get")?.len(),
            0,
            "size of an empty multipart object"
        );
        s.cleanup().await;
        Ok(())
    }));
    v.push(case!(
        "storage.multipart_abort_leaves_nothing",
        [multipart],
        |s| {
            let k = s.key("aborted.bin");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            w.write(&pattern(1024, 1)).await.ctx("write")?;
            w.abort().await.ctx("abort")?;
            ensure!(
                !s.b().exists(&k).await.ctx("exists")?,
                "aborted upload left an object at {k:?}"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.multipart_writer_metadata",
        [multipart, user_metadata, content_type],
        |s| {
            let k = s.key("meta.bin");
            let o = PutOptions::default()
                .content_type("application/x-gureum")
                .metadata("owner", "city");
            let mut w = s.b().writer(&k, &o).await.ctx("writer")?;
            w.write(b"payload").await.ctx("write")?;
            w.finish().await.ctx("finish")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.content_type.as_deref(),
                Some("application/x-gureum"),
                "content type"
            );
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("city"),
                "metadata owner"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.writer_rejects_conditional_mode", [], |s| {
        let k = s.key("cond");
        let r = s
            .b()
            .writer(&k, &PutOptions::default().mode(WriteMode::CreateOnly))
            .await
            .map(|_| ());
        expect_kind(r, ErrorKind::Unsupported, "writer with CreateOnly")
    }));
    v
}
