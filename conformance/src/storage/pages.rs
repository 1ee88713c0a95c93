//! Storage cases: listings that cross the backend's own page size.
//!
//! Clouds page listings at different sizes — S3 and the S3-compatible services at 1,000 keys,
//! Azure Blob at 5,000, Swift at 10,000 — and drivers get the continuation wrong exactly at
//! that boundary (a repeated or lost key, a marker that is not re-encoded, a token that stops
//! early). These cases share one fixture of `native page + 1` keys (written once by
//! `storage.pages_write_fixture`, deleted in bulk by `storage.pages_delete_many_bulk`), so a
//! Swift run writes 10,001 one-byte objects once rather than once per case.
//!
//! The page size comes from the backend's URL scheme ([`native_page_size`]); for backends
//! without server pages (`mem://`, `file://`) [`Options::list_keys`] keys are written.
//! [`Options::page_keys`] overrides the count (`0` skips these cases).

use super::*;

/// Largest number of entries one listing request returns on the backend behind `scheme`,
/// where the service documents one.
pub fn native_page_size(scheme: &str) -> Option<usize> {
    match scheme {
        "s3" | "ncloud" | "nhn-s3" | "kakao-s3" | "gs" | "gcs" => Some(1000),
        "azblob" | "az" | "azure" => Some(5000),
        "swift" => Some(10_000),
        _ => None,
    }
}

/// The keys of the shared page fixture.
pub(crate) enum PageFixture {
    /// Every key, in ascending order.
    Written(Vec<String>),
    /// Writing it failed (the later page cases fail at once instead of writing it again).
    Failed(String),
}

impl Scope<Ctx> {
    fn fixture_dir(&self) -> String {
        format!("{}pages-fixture/", self.root)
    }

    /// How many keys the fixture has, or why the page cases are skipped.
    fn fixture_size(&self) -> Result<(usize, Option<usize>), crate::harness::CaseError> {
        let native = native_page_size(&self.b().info().scheme);
        let n = match (self.opts.page_keys, native) {
            (Some(0), _) => return skip("page-crossing cases disabled (page_keys = 0)"),
            (Some(n), _) => n,
            (None, Some(p)) => p + 1,
            (None, None) => self.opts.list_keys.max(1001),
        };
        Ok((n, native))
    }

    /// The fixture's keys, writing them first if this run has not yet.
    async fn fixture(&self) -> Result<Vec<String>, crate::harness::CaseError> {
        let mut f = self.pages.lock().await;
        match f.as_ref() {
            Some(PageFixture::Written(keys)) => return Ok(keys.clone()),
            Some(PageFixture::Failed(m)) => return fail(format!("no page fixture: {m}")),
            None => {}
        }
        let (n, _) = self.fixture_size()?;
        let dir = self.fixture_dir();
        let half = n / 2;
        let keys: Vec<String> = (0..n)
            .map(|i| format!("{dir}{}/k{i:05}", if i < half { "a" } else { "b" }))
            .collect();
        // Stays this way if the writing below is cut short (the case timed out).
        *f = Some(PageFixture::Failed(
            "writing it did not finish (the case timed out)".into(),
        ));
        let b = self.b().clone();
        let results: Vec<(String, gureum_core::Result<gureum_core::WriteResult>)> =
            futures::stream::iter(keys.clone())
                .map(|k| {
                    let b = b.clone();
                    async move {
                        let r = b.put(&k, Bytes::from_static(b"p")).await;
                        (k, r)
                    }
                })
                .buffer_unordered(self.opts.concurrency.max(1))
                .collect()
                .await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(k, r)| r.as_ref().err().map(|e| format!("{k}: {e}")))
            .collect();
        if !failed.is_empty() {
            let m = format!(
                "{} of {n} fixture writes failed, first: {}",
                failed.len(),
                failed[0]
            );
            *f = Some(PageFixture::Failed(m.clone()));
            return fail(m);
        }
        *f = Some(PageFixture::Written(keys.clone()));
        Ok(keys)
    }

    fn native_page(&self) -> Option<usize> {
        native_page_size(&self.b().info().scheme)
    }
}

/// Page through `opts` until the end; returns objects, prefixes and the page count.
async fn page_all(
    b: &Bucket,
    mut opts: ListOptions,
    max_pages: usize,
) -> Result<(Vec<String>, Vec<String>, Vec<usize>), crate::harness::CaseError> {
    let mut objs = Vec::new();
    let mut prefixes = Vec::new();
    let mut sizes = Vec::new();
    loop {
        ensure!(
            sizes.len() < max_pages,
            "listing did not end after {max_pages} pages"
        );
        let page = b.list_page(&opts).await.ctx("list_page")?;
        sizes.push(page.objects.len() + page.common_prefixes.len());
        objs.extend(keys_of(&page.objects));
        prefixes.extend(page.common_prefixes);
        match page.next_token {
            Some(t) => opts.page_token = Some(t),
            None => break,
        }
    }
    Ok((objs, prefixes, sizes))
}

/// The page-crossing cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.pages_write_fixture", [], |s| {
        let keys = s.fixture().await?;
        let (n, native) = s.fixture_size()?;
        ensure_eq!(keys.len(), n, "fixture keys written");
        s.note(match native {
            Some(p) => format!("{n} keys: one more than the backend's page of {p}"),
            None => format!("{n} keys (no server-side page size known for this backend)"),
        });
        Ok(())
    }));
    v.push(case!("storage.pages_list_all_crosses_native_page", [], |s| {
        let keys = s.fixture().await?;
        let got = keys_of(
            &s.b()
                .list_all(Some(&s.fixture_dir()))
                .await
                .ctx("list_all")?,
        );
        ensure_eq!(got.len(), keys.len(), "keys listed");
        ensure!(
            got == keys,
            "listing across the page boundary is not the written key set in order (first difference at {:?})",
            got.iter().zip(&keys).position(|(a, b)| a != b)
        );
        Ok(())
    }));
    v.push(case!("storage.pages_list_page_native_size", [], |s| {
        let keys = s.fixture().await?;
        let page = s
            .native_page()
            .unwrap_or(1000)
            .min(10_000)
            .min(keys.len() - 1);
        let (objs, _, sizes) = page_all(
            s.b(),
            ListOptions {
                prefix: Some(s.fixture_dir()),
                page_size: Some(page),
                ..Default::default()
            },
            keys.len() + 2,
        )
        .await?;
        ensure_eq!(sizes[0], page, "first page size (page_size = {page})");
        ensure!(
            sizes.iter().all(|&x| x <= page),
            "a page is larger than {page}: {sizes:?}"
        );
        ensure_eq!(
            sizes.len(),
            keys.len().div_ceil(page),
            "number of pages of {page}"
        );
        ensure!(
            objs == keys,
            "pages of {page} do not cover the keys exactly once in order"
        );
        Ok(())
    }));
    v.push(case!("storage.pages_unaligned_page_size", [], |s| {
        // 997 is prime: page boundaries of the client fall inside the server's pages.
        let keys = s.fixture().await?;
        let (objs, _, sizes) = page_all(
            s.b(),
            ListOptions {
                prefix: Some(s.fixture_dir()),
                page_size: Some(997),
                ..Default::default()
            },
            keys.len() + 2,
        )
        .await?;
        ensure!(
            sizes.iter().all(|&x| x <= 997),
            "a page is larger than 997: {sizes:?}"
        );
        ensure_eq!(objs.len(), keys.len(), "objects over pages of 997");
        ensure!(objs == keys, "pages of 997 repeat, lose or reorder keys");
        Ok(())
    }));
    v.push(case!("storage.pages_list_stream_unique", [], |s| {
        let keys = s.fixture().await?;
        let got: Vec<String> = s
            .b()
            .list_stream(Some(&s.fixture_dir()))
            .map_ok(|o| o.key)
            .try_collect()
            .await
            .ctx("list_stream")?;
        let set: BTreeSet<&String> = got.iter().collect();
        ensure_eq!(got.len(), keys.len(), "streamed entries");
        ensure_eq!(set.len(), keys.len(), "distinct streamed keys");
        Ok(())
    }));
    v.push(case!("storage.pages_prefix_subset", [], |s| {
        let keys = s.fixture().await?;
        let a = format!("{}b/", s.fixture_dir());
        let want: Vec<String> = keys.iter().filter(|k| k.starts_with(&a)).cloned().collect();
        let got = keys_of(&s.b().list_all(Some(&a)).await.ctx("list_all b/")?);
        ensure_eq!(got.len(), want.len(), "keys under b/");
        ensure!(
            got == want,
            "listing of b/ differs from the keys written under it"
        );
        Ok(())
    }));
    v.push(case!(
        "storage.pages_delimiter_over_many_objects",
        [],
        |s| {
            let keys = s.fixture().await?;
            let (objs, prefixes, _) = page_all(
                s.b(),
                ListOptions {
                    prefix: Some(s.fixture_dir()),
                    delimiter: true,
                    ..Default::default()
                },
                keys.len() + 2,
            )
            .await?;
            ensure!(objs.is_empty(), "objects at the fixture root: {objs:?}");
            ensure_eq!(
                prefixes,
                vec![
                    format!("{}a/", s.fixture_dir()),
                    format!("{}b/", s.fixture_dir())
                ],
                "common prefixes over {} keys",
                keys.len()
            );
            Ok(())
        }
    ));
    v.push(case!("storage.pages_delete_many_bulk", [], |s| {
        let keys = s.fixture().await?;
        // Bulk calls of 100 keys (S3 DeleteObjects, Azure blob batch, Swift bulk delete); a
        // single call with all 10,001 keys takes minutes on a busy Swift and times out.
        let mut bad: Vec<String> = Vec::new();
        for chunk in keys.chunks(100) {
            let results = s.b().delete_many(chunk).await.ctx("delete_many")?;
            ensure_eq!(results.len(), chunk.len(), "delete_many results");
            bad.extend(
                results
                    .iter()
                    .zip(chunk)
                    .filter_map(|(r, k)| r.as_ref().err().map(|e| format!("{k}: {e}"))),
            );
        }
        *s.pages.lock().await = None;
        ensure!(
            bad.is_empty(),
            "{} deletes failed, first: {}",
            bad.len(),
            bad[0]
        );
        let left = s
            .b()
            .list_all(Some(&s.fixture_dir()))
            .await
            .ctx("list after bulk delete")?;
        ensure!(
            left.is_empty(),
            "{} of {} keys still listed after delete_many",
            left.len(),
            keys.len()
        );
        Ok(())
    }));
    v
}
