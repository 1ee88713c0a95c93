//! Storage cases: edges of ranges (at and past the end, on empty objects) and of listings
//! (prefixes that need encoding, tokens that outlive the key they point at, page sizes at
//! the extremes).

use super::*;

/// The range and listing edge cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.range_last_byte", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let a = s.b().get_range(&k, 9..10).await.ctx("range 9..10")?;
        let b = s
            .b()
            .get_range(&k, ByteRange::From(9))
            .await
            .ctx("range 9..")?;
        let c = s
            .b()
            .get_range(&k, ByteRange::Suffix(1))
            .await
            .ctx("suffix 1")?;
        s.cleanup().await;
        ensure_eq!(a, Bytes::from_static(b"9"), "9..10");
        ensure_eq!(b, Bytes::from_static(b"9"), "9..");
        ensure_eq!(c, Bytes::from_static(b"9"), "last byte");
        Ok(())
    }));
    v.push(case!("storage.range_whole_object_exact", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s.b().get_range(&k, 0..10).await.ctx("range 0..10")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"0123456789"), "0..len");
        Ok(())
    }));
    v.push(case!("storage.range_from_at_end_rejected", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let r = s.b().get_range(&k, ByteRange::From(10)).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "range starting exactly at the end (10.. of 10 bytes)",
        )
    }));
    v.push(case!("storage.range_bounded_at_end_rejected", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let r = s.b().get_range(&k, 10..20).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "range 10..20 of a 10-byte object",
        )
    }));
    v.push(case!("storage.range_on_empty_object_rejected", [], |s| {
        let k = s.put("empty", "").await?;
        let r = s.b().get_range(&k, 0..1).await;
        let whole = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure!(whole.is_empty(), "empty object read {} bytes", whole.len());
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "range 0..1 of an empty object",
        )
    }));
    v.push(case!("storage.range_empty_rejected", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let r = s.b().get_range(&k, 5..5).await;
        let z = s.b().get_range(&k, ByteRange::Suffix(0)).await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "empty range 5..5")?;
        expect_kind(z, ErrorKind::InvalidArgument, "suffix of 0 bytes")
    }));
    v.push(case!("storage.range_binary_content", [], |s| {
        let data = pattern(70_000, 21);
        let k = s.put("bin", data.clone()).await?;
        let g = s
            .b()
            .get_range(&k, 65_530..65_542)
            .await
            .ctx("range around 64 KiB")?;
        s.cleanup().await;
        ensure!(
            g == data.slice(65_530..65_542),
            "binary range around 64 KiB differs"
        );
        Ok(())
    }));
    v.push(case!("storage.list_prefix_needs_encoding", [], |s| {
        let inside = ["a b+c/1", "a b+c/2", "a b+c%20/3"];
        for r in inside.iter().chain(["a b/4", "a+b/5"].iter()) {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("a b+c"))).await.ctx("list")?);
        s.cleanup().await;
        let mut want: Vec<String> = inside.iter().map(|r| s.key(r)).collect();
        want.sort();
        ensure_eq!(got, want, "listing of prefix \"a b+c\"");
        Ok(())
    }));
    v.push(case!("storage.list_prefix_hangul", [], |s| {
        for r in ["서울/종로/1", "서울/중구/2", "서울시/3", "부산/4"] {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("서울/"))).await.ctx("list")?);
        let page = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.key("서울/")),
                delimiter: true,
                ..Default::default()
            })
            .await
            .ctx("list_page")?;
        s.cleanup().await;
        ensure_eq!(
            got,
            vec![s.key("서울/종로/1"), s.key("서울/중구/2")],
            "listing of 서울/"
        );
        ensure_eq!(
            page.common_prefixes,
            vec![s.key("서울/종로/"), s.key("서울/중구/")],
            "common prefixes under 서울/"
        );
        Ok(())
    }));
    v.push(case!("storage.list_token_survives_deleted_key", [], |s| {
        let mut keys = Vec::new();
        for i in 0..9 {
            keys.push(s.put(&format!("t{i}"), "v").await?);
        }
        let opts = |token: Option<String>| ListOptions {
            prefix: Some(s.dir()),
            page_size: Some(3),
            page_token: token,
            ..Default::default()
        };
        let p1 = s.b().list_page(&opts(None)).await.ctx("page 1")?;
        // Delete the key the token points at and the next one.
        s.b().delete(&keys[2]).await.ctx("delete t2")?;
        s.b().delete(&keys[3]).await.ctx("delete t3")?;
        let mut seen = keys_of(&p1.objects);
        let mut token = p1.next_token.clone();
        for _ in 0..10 {
            let Some(t) = token.take() else { break };
            let p = s.b().list_page(&opts(Some(t))).await.ctx("next page")?;
            seen.extend(keys_of(&p.objects));
            token = p.next_token;
        }
        s.cleanup().await;
        ensure!(p1.next_token.is_some(), "no token after a page of 3 of 9");
        let want: Vec<String> = keys[..3].iter().chain(keys[4..].iter()).cloned().collect();
        ensure_eq!(
            seen,
            want,
            "keys over pages after the token's key was deleted"
        );
        Ok(())
    }));
    v.push(case!("storage.list_token_sees_later_insert", [], |s| {
        for r in ["k1", "k3", "k5", "k7"] {
            s.put(r, "v").await?;
        }
        let opts = |token: Option<String>| ListOptions {
            prefix: Some(s.dir()),
            page_size: Some(2),
            page_token: token,
            ..Default::default()
        };
        let p1 = s.b().list_page(&opts(None)).await.ctx("page 1")?;
        s.put("k4", "inserted after the token").await?;
        s.put("k0", "inserted before the token").await?;
        let mut seen = keys_of(&p1.objects);
        let mut token = p1.next_token.clone();
        for _ in 0..10 {
            let Some(t) = token.take() else { break };
            let p = s.b().list_page(&opts(Some(t))).await.ctx("next page")?;
            seen.extend(keys_of(&p.objects));
            token = p.next_token;
        }
        s.cleanup().await;
        let want: Vec<String> = ["k1", "k3", "k4", "k5", "k7"]
            .iter()
            .map(|r| s.key(r))
            .collect();
        ensure_eq!(
            seen,
            want,
            "a key written after the token and behind it is listed, one before it is not"
        );
        Ok(())
    }));
    v.push(case!("storage.list_page_size_one", [], |s| {
        let mut keys = Vec::new();
        for i in 0..5 {
            keys.push(s.put(&format!("one{i}"), "v").await?);
        }
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            pages += 1;
            ensure!(pages <= 10, "pagination by 1 does not end");
            let p = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    page_size: Some(1),
                    page_token: token,
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            ensure!(p.objects.len() <= 1, "page of 1 has {}", p.objects.len());
            seen.extend(keys_of(&p.objects));
            token = p.next_token;
            if token.is_none() {
                break;
            }
        }
        s.cleanup().await;
        ensure_eq!(seen, keys, "keys over pages of 1");
        Ok(())
    }));
    v.push(case!("storage.list_oversized_page_clamped", [], |s| {
        for i in 0..3 {
            s.put(&format!("c{i}"), "v").await?;
        }
        let p = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.dir()),
                page_size: Some(1_000_000),
                ..Default::default()
            })
            .await
            .ctx("list_page with a page size of 1,000,000")?;
        s.cleanup().await;
        ensure_eq!(p.objects.len(), 3, "objects");
        ensure!(p.next_token.is_none(), "a next token after the last key");
        Ok(())
    }));
    v.push(case!("storage.list_malformed_token_rejected", [], |s| {
        let r = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.dir()),
                page_token: Some("a//b".into()),
                ..Default::default()
            })
            .await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "list_page with a malformed token",
        )
    }));
    v.push(case!("storage.large_single_put_exact", [], |s| {
        let data = pattern(4 * 1024 * 1024 + 3, 22);
        let k = s.put("big-single", data.clone()).await?;
        let h = s.b().head(&k).await.ctx("head")?;
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(h.size, data.len() as u64, "head size");
        ensure!(g == data, "4 MiB single put read back differs");
        Ok(())
    }));
    v
}
