//! Storage cases: listing.

use super::*;

/// The listing cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.list_prefix_directory", [], |s| {
        for r in ["x/1", "x/2", "x/sub/3", "y/1", "x1"] {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("x/"))).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(
            got,
            vec![s.key("x/1"), s.key("x/2"), s.key("x/sub/3")],
            "list of x/"
        );
        Ok(())
    }));
    v.push(case!("storage.list_prefix_partial_segment", [], |s| {
        for r in ["2026/11/a", "2026/12/b", "2026/1/c", "2026/2/d", "2027/1/e"] {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("2026/1"))).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(
            got,
            vec![s.key("2026/1/c"), s.key("2026/11/a"), s.key("2026/12/b")],
            "list of 2026/1 (character prefix)"
        );
        Ok(())
    }));
    v.push(case!("storage.list_prefix_no_match", [], |s| {
        s.put("present", "v").await?;
        let got = s.b().list_all(Some(&s.key("absent"))).await.ctx("list")?;
        s.cleanup().await;
        ensure!(
            got.is_empty(),
            "list of a prefix with no objects returned {}",
            got.len()
        );
        Ok(())
    }));
    v.push(case!("storage.list_delimiter", [], |s| {
        for r in ["top1", "top2", "d1/a", "d1/b", "d2/x/y"] {
            s.put(r, "v").await?;
        }
        let page = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.dir()),
                delimiter: true,
                ..Default::default()
            })
            .await
            .ctx("list_page")?;
        s.cleanup().await;
        ensure_eq!(
            keys_of(&page.objects),
            vec![s.key("top1"), s.key("top2")],
            "objects"
        );
        ensure_eq!(
            page.common_prefixes,
            vec![s.key("d1/"), s.key("d2/")],
            "common prefixes"
        );
        ensure!(page.next_token.is_none(), "unexpected next token");
        Ok(())
    }));
    v.push(case!("storage.list_delimiter_partial_prefix", [], |s| {
        for r in ["logs-a/1", "logs-b/2", "logs.txt", "other/3"] {
            s.put(r, "v").await?;
        }
        let page = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.key("logs")),
                delimiter: true,
                ..Default::default()
            })
            .await
            .ctx("list_page")?;
        s.cleanup().await;
        ensure_eq!(keys_of(&page.objects), vec![s.key("logs.txt")], "objects");
        ensure_eq!(
            page.common_prefixes,
            vec![s.key("logs-a/"), s.key("logs-b/")],
            "common prefixes"
        );
        Ok(())
    }));
    v.push(case!(
        "storage.list_delimiter_object_and_prefix_same_name",
        [],
        |s| {
            s.put("a", "file").await?;
            s.put("a/b", "inside").await?;
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    delimiter: true,
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            s.cleanup().await;
            ensure_eq!(keys_of(&page.objects), vec![s.key("a")], "objects");
            ensure_eq!(page.common_prefixes, vec![s.key("a/")], "common prefixes");
            Ok(())
        }
    ));
    v.push(case!("storage.list_pagination_past_1000", [], |s| {
        let n = s.opts.list_keys.max(1001);
        let keys: Vec<String> = (0..n).map(|i| s.key(&format!("k{i:05}"))).collect();
        let b = s.b().clone();
        let results: Vec<gureum_core::Result<gureum_core::WriteResult>> =
            futures::stream::iter(keys.clone())
                .map(|k| {
                    let b = b.clone();
                    async move { b.put(&k, Bytes::from_static(b"p")).await }
                })
                .buffer_unordered(s.opts.concurrency.max(1))
                .collect()
                .await;
        for r in results {
            r.ctx("put")?;
        }
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            pages += 1;
            ensure!(pages <= n + 2, "pagination does not terminate");
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() <= 1000,
                "a default page has {} objects (> 1000)",
                page.objects.len()
            );
            seen.extend(keys_of(&page.objects));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let all = s.b().list_all(Some(&s.dir())).await.ctx("list_all")?;
        s.cleanup().await;
        ensure!(
            pages >= 2,
            "{n} keys came back in {pages} page(s); expected at least 2"
        );
        ensure_eq!(seen.len(), n, "objects seen over all pages");
        ensure!(
            seen == keys,
            "pages are not in ascending key order or contain duplicates"
        );
        ensure_eq!(all.len(), n, "list_all count");
        Ok(())
    }));
    v.push(case!("storage.list_small_pages", [], |s| {
        let mut keys = Vec::new();
        for i in 0..23 {
            keys.push(s.put(&format!("p{i:02}"), "v").await?);
        }
        let mut seen = Vec::new();
        let mut token = None;
        for _ in 0..10 {
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    page_size: Some(5),
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() <= 5,
                "page of size 5 returned {}",
                page.objects.len()
            );
            seen.extend(keys_of(&page.objects));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        s.cleanup().await;
        ensure_eq!(seen, keys, "keys over pages of 5");
        Ok(())
    }));
    v.push(case!(
        "storage.list_page_token_round_trip_odd_keys",
        [],
        |s| {
            let mut keys = Vec::new();
            for r in ["가", "나 다", "a+b", "a%b", "a b", "z/.../y"] {
                keys.push(s.put(r, "v").await?);
            }
            let mut seen = BTreeSet::new();
            let mut token = None;
            for _ in 0..10 {
                let page = s
                    .b()
                    .list_page(&ListOptions {
                        prefix: Some(s.dir()),
                        page_size: Some(2),
                        page_token: token.clone(),
                        ..Default::default()
                    })
                    .await
                    .ctx("list_page")?;
                for k in keys_of(&page.objects) {
                    ensure!(
                        seen.insert(k.clone()),
                        "key {k:?} returned twice across pages"
                    );
                }
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
            s.cleanup().await;
            ensure_eq!(
                seen,
                keys.into_iter().collect::<BTreeSet<_>>(),
                "keys over pages of 2"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.list_all_sorted", [], |s| {
        let rels = ["m", "a", "z", "b/c", "b", "0"];
        for r in rels {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        let want: Vec<String> = ["0", "a", "b", "b/c", "m", "z"]
            .iter()
            .map(|r| s.key(r))
            .collect();
        ensure_eq!(got, want, "list_all order");
        Ok(())
    }));
    v.push(case!(
        "storage.list_stream_native_order",
        [sorted_listing],
        |s| {
            for r in ["c", "a", "b", "d/e"] {
                s.put(r, "v").await?;
            }
            let got: Vec<String> = s
                .b()
                .list_stream(Some(&s.dir()))
                .map_ok(|o| o.key)
                .try_collect()
                .await
                .ctx("list_stream")?;
            s.cleanup().await;
            let want: Vec<String> = ["a", "b", "c", "d/e"].iter().map(|r| s.key(r)).collect();
            ensure_eq!(got, want, "raw listing order");
            Ok(())
        }
    ));
    v.push(case!("storage.list_reports_sizes", [], |s| {
        s.put("s0", "").await?;
        s.put("s5", "12345").await?;
        let l = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        let sizes: Vec<u64> = l.iter().map(|o| o.size).collect();
        ensure_eq!(sizes, vec![0, 5], "listed sizes");
        Ok(())
    }));
    v.push(case!("storage.list_excludes_deleted", [], |s| {
        let a = s.put("a", "v").await?;
        s.put("b", "v").await?;
        s.b().delete(&a).await.ctx("delete")?;
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(got, vec![s.key("b")], "listing after delete");
        Ok(())
    }));
    v.push(case!("storage.list_delimiter_pagination", [], |s| {
        for i in 0..6 {
            s.put(&format!("f{i}"), "v").await?;
            s.put(&format!("d{i}/x"), "v").await?;
        }
        let mut objs = Vec::new();
        let mut prefixes = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    delimiter: true,
                    page_size: Some(4),
                    page_token: token.clone(),
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() + page.common_prefixes.len() <= 4,
                "page over size"
            );
            objs.extend(keys_of(&page.objects));
            prefixes.extend(page.common_prefixes);
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        s.cleanup().await;
        ensure_eq!(objs.len(), 6, "objects over delimiter pages");
        ensure_eq!(prefixes.len(), 6, "prefixes over delimiter pages");
        Ok(())
    }));
    v
}
