//! `file://` delimiter pages (issue 19): paging through a directory level reads the level
//! once (its sorted names are cached while the directory is unchanged), and a page never
//! drops or repeats an entry when the directory changes between pages — by this process or
//! by another writer going straight to the files.

use gureum_core::{Bucket, ListOptions, ListPage};
use gureum_local::storage::{open_file, FileStore};
use std::collections::BTreeSet;
use std::time::Duration;

fn opts(prefix: &str, size: usize, token: Option<String>) -> ListOptions {
    ListOptions {
        prefix: Some(prefix.into()),
        delimiter: true,
        page_size: Some(size),
        page_token: token,
    }
}

fn reads(b: &Bucket) -> u64 {
    b.native::<FileStore>().expect("a file store").level_reads()
}

/// Entries of a page in order: objects as `key`, common prefixes as `key/`.
fn entries(p: &ListPage) -> Vec<String> {
    let mut v: Vec<String> = p.objects.iter().map(|o| o.key.clone()).collect();
    v.extend(p.common_prefixes.iter().cloned());
    v.sort();
    v
}

/// Every page of a level, in order.
async fn all_pages(b: &Bucket, prefix: &str, size: usize) -> Vec<ListPage> {
    let (mut token, mut out) = (None, Vec::new());
    for _ in 0..100_000 {
        let p = b.list_page(&opts(prefix, size, token)).await.unwrap();
        token = p.next_token.clone();
        out.push(p);
        if token.is_none() {
            return out;
        }
    }
    panic!("the listing did not end");
}

/// A directory changed within the last moment is read again by each page (its time stamp
/// could repeat); wait until the level's changes are old enough to be cached.
/// The level cache drops every level when any `FileStore` in the process finishes a write,
/// and the tests of this file run in one process: each counts reads while holding this lock,
/// so another test's writes cannot add a read to its count (CI pre-check flake, stop 27).
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(120)).await;
}

#[tokio::test]
async fn paging_through_a_level_reads_it_once() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let b = open_file(dir.path().join("b")).unwrap();
    let mut want = BTreeSet::new();
    for i in 0..300 {
        let k = format!("lvl/o{i:04}");
        b.put(&k, "x").await.unwrap();
        want.insert(k);
    }
    for i in 0..20 {
        b.put(&format!("lvl/p{i:02}/inner"), "y").await.unwrap();
        want.insert(format!("lvl/p{i:02}/"));
    }
    // An object and a prefix of the same name, and names around `/` in byte order.
    for k in ["lvl/o0100/child", "lvl/o0100-x", "lvl/o0100.x"] {
        b.put(k, "z").await.unwrap();
    }
    want.extend([
        "lvl/o0100/".into(),
        "lvl/o0100-x".into(),
        "lvl/o0100.x".into(),
    ]);
    settle().await;
    for size in [1usize, 7, 100] {
        let before = reads(&b);
        let pages = all_pages(&b, "lvl/", size).await;
        let got: Vec<String> = pages.iter().flat_map(entries).collect();
        let distinct: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(
            got.len(),
            distinct.len(),
            "an entry repeated (page size {size})"
        );
        assert_eq!(distinct, want, "page size {size}");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "pages out of order (page size {size})");
        let n = pages.len();
        assert!(n >= want.len().div_ceil(size), "{n} pages");
        // The first page of a level read at the previous size may still be cached: at most
        // one read for the whole level, whatever the number of pages.
        assert!(
            reads(&b) - before <= 1,
            "{} level reads for {n} pages of {size}",
            reads(&b) - before
        );
    }
    // A whole-level listing reuses the same names too.
    let before = reads(&b);
    let one = b.list_page(&opts("lvl/", 10_000, None)).await.unwrap();
    assert_eq!(entries(&one).len(), want.len());
    assert_eq!(reads(&b), before);
}

#[tokio::test]
async fn a_change_of_the_level_is_read_again() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let b = open_file(dir.path().join("b")).unwrap();
    for i in 0..30 {
        b.put(&format!("d/k{i:02}"), "x").await.unwrap();
    }
    settle().await;
    let r0 = reads(&b);
    let p = b.list_page(&opts("d/", 10, None)).await.unwrap();
    assert_eq!(reads(&b), r0 + 1);
    b.put("d/k29", "rewritten").await.unwrap();
    let p2 = b.list_page(&opts("d/", 10, p.next_token)).await.unwrap();
    assert_eq!(
        reads(&b),
        r0 + 2,
        "a write since the first page must be seen"
    );
    assert_eq!(p2.objects[0].key, "d/k10");
}

/// Changes between pages (`external`: written with std::fs, as another process would).
async fn changes_between_pages(external: bool) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("b");
    let b = open_file(&root).unwrap();
    for i in (0..60).step_by(2) {
        b.put(&format!("c/k{i:03}"), "x").await.unwrap();
    }
    b.put("c/sub050/inner", "x").await.unwrap();
    settle().await;
    let put = |k: &str, v: &str| {
        let b = b.clone();
        let (k, v, root) = (k.to_string(), v.to_string(), root.clone());
        async move {
            if external {
                let p = root.join(&k);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, v).unwrap();
            } else {
                b.put(&k, v).await.unwrap();
            }
        }
    };
    let del = |k: &str| {
        let b = b.clone();
        let (k, root) = (k.to_string(), root.clone());
        async move {
            if external {
                std::fs::remove_file(root.join(&k)).unwrap();
            } else {
                b.delete(&k).await.unwrap();
            }
        }
    };
    // Page 1: k000 … k018 (10 entries).
    let p1 = b.list_page(&opts("c/", 10, None)).await.unwrap();
    assert_eq!(p1.objects.last().unwrap().key, "c/k018");
    let mut seen: Vec<String> = entries(&p1);
    // Before the cursor: added and removed names change nothing that follows.
    put("c/k001", "new").await;
    del("c/k004").await;
    // After the cursor: a new name appears, a removed one does not, a rewritten one shows
    // its new size, a new prefix appears.
    put("c/k021", "new").await;
    del("c/k022").await;
    put("c/k024", "a longer body").await;
    put("c/sub030/inner", "x").await;
    let p2 = b.list_page(&opts("c/", 10, p1.next_token)).await.unwrap();
    let e2 = entries(&p2);
    assert_eq!(
        e2,
        [
            "c/k020", "c/k021", "c/k024", "c/k026", "c/k028", "c/k030", "c/k032", "c/k034",
            "c/k036", "c/k038"
        ]
    );
    let k024 = p2.objects.iter().find(|o| o.key == "c/k024").unwrap();
    assert_eq!(k024.size, 13, "the rewritten object's size");
    seen.extend(e2);
    // Page 3 onwards, with one more change in between (the new prefix sorts after `k`).
    put("c/k045", "new").await;
    let mut token = p2.next_token;
    while let Some(t) = token {
        let p = b.list_page(&opts("c/", 10, Some(t))).await.unwrap();
        seen.extend(entries(&p));
        token = p.next_token;
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "an entry was listed twice: {seen:?}"
    );
    let mut want: Vec<String> = (0..60)
        .step_by(2)
        .filter(|i| *i != 22)
        .map(|i| format!("c/k{i:03}"))
        .collect();
    want.retain(|k| k != "c/k004" || seen.contains(k)); // removed after page 1 had it
    want.extend(["c/k021".into(), "c/k045".into()]);
    want.extend(["c/sub030/".into(), "c/sub050/".into()]);
    want.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, want, "external writer: {external}");
    assert!(
        !seen.contains(&"c/k001".to_string()),
        "a name before the cursor"
    );
}

#[tokio::test]
async fn changes_between_pages_by_this_process() {
    let _serial = serial().await;
    changes_between_pages(false).await;
}

#[tokio::test]
async fn changes_between_pages_by_another_writer() {
    let _serial = serial().await;
    changes_between_pages(true).await;
}

#[tokio::test]
async fn the_names_cache_is_bounded_and_evicts_the_least_recently_used_level() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let b = open_file(dir.path().join("b")).unwrap();
    // More levels than the cache holds (32).
    for l in 0..40 {
        b.put(&format!("l{l:02}/a"), "x").await.unwrap();
        b.put(&format!("l{l:02}/b"), "x").await.unwrap();
    }
    settle().await;
    for l in 0..40 {
        b.list_page(&opts(&format!("l{l:02}/"), 1, None))
            .await
            .unwrap();
    }
    // The most recent levels are still cached, the oldest were evicted.
    let r = reads(&b);
    b.list_page(&opts("l39/", 1, None)).await.unwrap();
    assert_eq!(reads(&b), r, "the last level listed is cached");
    b.list_page(&opts("l00/", 1, None)).await.unwrap();
    assert_eq!(reads(&b), r + 1, "the first level listed was evicted");
}

#[tokio::test]
async fn long_names_and_foreign_names_page_like_the_whole_level() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("b");
    let b = open_file(&root).unwrap();
    let long = "가".repeat(300); // 900 bytes: stored as a chain of directories
    let keys = [
        format!("f/{long}"),
        format!("f/{long}x"),
        "f/a".into(),
        "f/z".into(),
        format!("f/{long}/child"),
    ];
    for k in &keys {
        b.put(k, "x").await.unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"not-utf8-\xff");
        std::fs::write(root.join("f").join(bad), "x").unwrap();
    }
    settle().await;
    let whole = b.list_page(&opts("f/", 1000, None)).await.unwrap();
    let pages = all_pages(&b, "f/", 1).await;
    let paged: Vec<String> = pages.iter().flat_map(entries).collect();
    assert_eq!(paged, entries(&whole));
    assert_eq!(
        paged,
        [
            "f/a".to_string(),
            "f/z".into(), // `가` (0xEA…) sorts after `z`
            format!("f/{long}"),
            format!("f/{long}/"),
            format!("f/{long}x"),
        ]
    );
    #[cfg(unix)]
    {
        assert_eq!(whole.skipped, 1, "the name that is not UTF-8");
        assert!(pages.iter().all(|p| p.skipped == 1));
    }
}
