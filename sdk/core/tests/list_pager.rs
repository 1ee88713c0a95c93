//! `Bucket::list_page` with a delimiter and a level pager: every page starts after the page
//! token with native requests instead of a read of the whole level (issue 19), and no entry
//! is lost or repeated at page boundaries (an object `a` next to a prefix `a/`).

use async_trait::async_trait;
use gureum_core::storage::{Bucket, ListOptions};
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ListResult, ObjectStore, ObjectStoreExt};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A paginated lister over a real in-memory store: S3 semantics (`offset` = start after,
/// `/` grouping, at most `max_keys` entries, a page token to continue), counting requests
/// and the entries each request returned.
#[derive(Debug)]
struct Pager {
    store: Arc<InMemory>,
    requests: AtomicUsize,
    returned: AtomicUsize,
    /// Azure semantics instead: the page token is an opaque marker (here the last key
    /// reversed, behind `~`), and `offset` is ignored (as Azurite ignores `startFrom`).
    markers: bool,
}

#[async_trait]
impl PaginatedListStore for Pager {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: PaginatedListOptions,
    ) -> object_store::Result<PaginatedListResult> {
        use futures::TryStreamExt;
        self.requests.fetch_add(1, Ordering::SeqCst);
        let after = if self.markers {
            opts.page_token
                .map(|m| m.trim_start_matches('~').chars().rev().collect())
                .unwrap_or_default()
        } else {
            opts.page_token.or(opts.offset).unwrap_or_default()
        };
        let max = opts.max_keys.unwrap_or(1000);
        let prefix = prefix.unwrap_or("");
        let all: Vec<_> = self.store.list(None).try_collect().await?;
        let mut entries: BTreeSet<(String, bool)> = BTreeSet::new();
        for m in all {
            let k = m.location.to_string();
            let Some(rest) = k.strip_prefix(prefix) else {
                continue;
            };
            match rest.find('/') {
                Some(i) => entries.insert((format!("{prefix}{}", &rest[..=i]), true)),
                None => entries.insert((k.clone(), false)),
            };
        }
        let page: Vec<_> = entries
            .into_iter()
            .filter(|(k, _)| k.as_str() > after.as_str())
            .take(max)
            .collect();
        self.returned.fetch_add(page.len(), Ordering::SeqCst);
        let mut r = ListResult {
            common_prefixes: vec![],
            objects: vec![],
            extensions: Default::default(),
        };
        for (k, is_prefix) in &page {
            if *is_prefix {
                r.common_prefixes
                    .push(Path::parse(k.trim_end_matches('/'))?);
            } else {
                r.objects.push(self.store.head(&Path::parse(k)?).await?);
            }
        }
        let page_token = (page.len() == max).then(|| {
            let last = page.last().unwrap().0.clone();
            if self.markers {
                format!("~{}", last.chars().rev().collect::<String>())
            } else {
                last
            }
        });
        Ok(PaginatedListResult {
            result: r,
            page_token,
        })
    }
}

#[tokio::test]
async fn delimiter_pages_start_after_the_token_and_lose_nothing() {
    let store = Arc::new(InMemory::new());
    let mut want = BTreeSet::new();
    // 600 objects and 150 prefixes in one level, with objects named like prefixes.
    for i in 0..600 {
        let k = format!("lvl/o{i:04}");
        store.put(&Path::from(k.clone()), "x".into()).await.unwrap();
        want.insert(k);
    }
    for i in 0..150 {
        for j in 0..3 {
            store
                .put(&Path::from(format!("lvl/p{i:04}/x{j}")), "x".into())
                .await
                .unwrap();
        }
        // `lvl/p0000` the object and `lvl/p0000/` the prefix sort next to each other.
        if i % 10 == 0 {
            let k = format!("lvl/p{i:04}");
            store.put(&Path::from(k.clone()), "x".into()).await.unwrap();
            want.insert(k);
        }
        want.insert(format!("lvl/p{i:04}/"));
    }
    let pager = Arc::new(Pager {
        store: store.clone(),
        requests: AtomicUsize::new(0),
        returned: AtomicUsize::new(0),
        markers: false,
    });
    let b = Bucket::new("t", store.clone()).with_level_pager(pager.clone());
    for page_size in [1usize, 7, 100, 1000] {
        pager.requests.store(0, Ordering::SeqCst);
        pager.returned.store(0, Ordering::SeqCst);
        let mut got = Vec::new();
        let mut token = None;
        let mut pages = 0usize;
        loop {
            let p = b
                .list_page(&ListOptions {
                    prefix: Some("lvl/".into()),
                    delimiter: true,
                    page_size: Some(page_size),
                    page_token: token.clone(),
                })
                .await
                .unwrap();
            pages += 1;
            assert!(p.objects.len() + p.common_prefixes.len() <= page_size);
            got.extend(p.objects.into_iter().map(|o| o.key));
            got.extend(p.common_prefixes);
            token = p.next_token;
            if token.is_none() {
                break;
            }
            assert!(pages < 5000, "no end");
        }
        let set: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(
            set.len(),
            got.len(),
            "page size {page_size}: repeated entries"
        );
        assert_eq!(set, want, "page size {page_size}");
        // Each page reads about one page from the pager, not the whole level: the total read
        // stays within a small multiple of the level (a reread per page would be
        // pages × level).
        let level = want.len();
        let returned = pager.returned.load(Ordering::SeqCst);
        assert!(
            returned <= 3 * level + 2 * pages,
            "page size {page_size}: {returned} entries read for a level of {level} in {pages} pages"
        );
        assert!(pager.requests.load(Ordering::SeqCst) <= 2 * pages + level / 1000 + 2);
    }
}

/// A store wrapped by a layer (`with_store`) drops the pager: listings go through the layer.
#[tokio::test]
async fn with_store_drops_the_pager() {
    let store = Arc::new(InMemory::new());
    store.put(&Path::from("a/b"), "x".into()).await.unwrap();
    let pager = Arc::new(Pager {
        store: store.clone(),
        requests: AtomicUsize::new(0),
        returned: AtomicUsize::new(0),
        markers: false,
    });
    let b = Bucket::new("t", store.clone())
        .with_level_pager(pager.clone())
        .with_store(store.clone() as Arc<dyn ObjectStore>);
    let p = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.common_prefixes, vec!["a/".to_string()]);
    assert_eq!(pager.requests.load(Ordering::SeqCst), 0);
}

/// A marker pager (`Bucket::with_marker_pager`, Azure semantics): every page is exactly one
/// native request continued from the previous page's marker, carried in the page token, and
/// nothing is lost or repeated, also under a character prefix that filters the level.
#[tokio::test]
async fn marker_pages_are_one_request_each_and_lose_nothing() {
    let store = Arc::new(InMemory::new());
    let mut want = BTreeSet::new();
    for i in 0..300 {
        let k = format!("lvl/o{i:04}");
        store.put(&Path::from(k.clone()), "x".into()).await.unwrap();
        want.insert(k);
    }
    for i in 0..60 {
        store
            .put(&Path::from(format!("lvl/p{i:04}/x")), "x".into())
            .await
            .unwrap();
        if i % 10 == 0 {
            let k = format!("lvl/p{i:04}");
            store.put(&Path::from(k.clone()), "x".into()).await.unwrap();
            want.insert(k);
        }
        want.insert(format!("lvl/p{i:04}/"));
    }
    let pager = Arc::new(Pager {
        store: store.clone(),
        requests: AtomicUsize::new(0),
        returned: AtomicUsize::new(0),
        markers: true,
    });
    let b = Bucket::new("t", store.clone()).with_marker_pager(pager.clone());
    for (prefix, page_size) in [
        ("lvl/", 1usize),
        ("lvl/", 7),
        ("lvl/", 100),
        ("lvl/", 1000),
        ("lvl/p00", 3),
    ] {
        pager.requests.store(0, Ordering::SeqCst);
        let mut got = Vec::new();
        let mut token = None;
        let mut pages = 0usize;
        loop {
            let p = b
                .list_page(&ListOptions {
                    prefix: Some(prefix.into()),
                    delimiter: true,
                    page_size: Some(page_size),
                    page_token: token.clone(),
                })
                .await
                .unwrap();
            pages += 1;
            assert!(p.objects.len() + p.common_prefixes.len() <= page_size);
            got.extend(p.objects.into_iter().map(|o| o.key));
            got.extend(p.common_prefixes);
            token = p.next_token;
            if let Some(t) = &token {
                assert!(t.starts_with("//gm1/"), "{t}");
            } else {
                break;
            }
            assert!(pages < 5000, "no end");
        }
        let want: BTreeSet<String> = want
            .iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        let set: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(
            set.len(),
            got.len(),
            "{prefix} {page_size}: repeated entries"
        );
        assert_eq!(set, want, "{prefix} {page_size}");
        let requests = pager.requests.load(Ordering::SeqCst);
        if prefix == "lvl/" {
            assert_eq!(
                requests, pages,
                "page size {page_size}: one request per page"
            );
        } else {
            // The character prefix filters the level: more requests, still bounded by it.
            assert!(requests <= 360 + pages, "{requests} requests");
        }
    }
}
