//! Storage cases: ranges.

use super::*;

/// The ranges cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.range_bounded", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s.b().get_range(&k, 2..5).await.ctx("get_range 2..5")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"234"), "range 2..5");
        Ok(())
    }));
    v.push(case!("storage.range_from_offset", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::From(7))
            .await
            .ctx("get_range 7..")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"789"), "range 7..");
        Ok(())
    }));
    v.push(case!("storage.range_suffix", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::Suffix(4))
            .await
            .ctx("get_range suffix 4")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"6789"), "last 4 bytes");
        Ok(())
    }));
    v.push(case!("storage.range_suffix_longer_than_object", [], |s| {
        let k = s.put("r", "0123").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::Suffix(100))
            .await
            .ctx("get_range suffix 100")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"0123"),
            "suffix longer than the object"
        );
        Ok(())
    }));
    v.push(case!("storage.range_end_clamped", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s.b().get_range(&k, 8..100).await.ctx("get_range 8..100")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"89"),
            "range past the end is clamped"
        );
        Ok(())
    }));
    v.push(case!("storage.range_single_byte", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let first = s.b().get_range(&k, 0..1).await.ctx("get_range 0..1")?;
        let last = s.b().get_range(&k, 9..10).await.ctx("get_range 9..10")?;
        s.cleanup().await;
        ensure_eq!(first, Bytes::from_static(b"0"), "first byte");
        ensure_eq!(last, Bytes::from_static(b"9"), "last byte");
        Ok(())
    }));
    v.push(case!("storage.range_start_out_of_range", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let r = s.b().get_range(&k, 20..30).await;
        let r2 = s.b().get_range(&k, ByteRange::From(11)).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "range 20..30 of a 10-byte object",
        )?;
        expect_kind(
            r2,
            ErrorKind::InvalidArgument,
            "range 11.. of a 10-byte object",
        )
    }));
    v.push(case!("storage.range_inverted_rejected", [], |s| {
        let k = s.put("r", "0123456789").await?;
        #[allow(clippy::reversed_empty_ranges)]
        let r = s.b().get_range(&k, 5..2).await;
        let r0 = s.b().get_range(&k, 3..3).await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "inverted range 5..2")?;
        expect_kind(r0, ErrorKind::InvalidArgument, "empty range 3..3")
    }));
    v.push(case!("storage.range_of_missing_object", [], |s| {
        expect_kind(
            s.b().get_range(&s.key("missing"), 0..1).await,
            ErrorKind::NotFound,
            "range of a missing object",
        )
    }));
    v.push(case!("storage.range_large_object_middle", [], |s| {
        let data = pattern(6 * 1024 * 1024, 3);
        let k = s.put("big", data.clone()).await?;
        let start = 5 * 1024 * 1024 - 7;
        let g = s
            .b()
            .get_range(&k, start as u64..(start + 100_000) as u64)
            .await
            .ctx("get_range")?;
        s.cleanup().await;
        ensure!(
            g == data.slice(start..start + 100_000),
            "range content differs"
        );
        Ok(())
    }));
    v
}
