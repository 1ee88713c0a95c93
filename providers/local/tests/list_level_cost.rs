//! What a `file://` delimiter page costs (issue 19). A directory read (`readdir`) returns
//! names in no order, so the page after a cursor can be chosen only after every name of the
//! level was read and sorted; `FileStore` keeps the sorted names of a level while its
//! directory is unchanged and looks only at the names a page shows, so the following pages
//! do not read the level again. This measures the cost on a level of 5,000 objects: one page
//! of 100, the whole level as one page, and the whole level in pages of 100, run
//! interleaved (each round after a change of the level, so each round reads it once). A
//! measurement, not a test of speed: it asserts that nothing is lost and counts the level
//! reads (`FileStore::level_reads`).
//! Run: `cargo test -p gureum-local --test list_level_cost -- --ignored --nocapture` (add
//! `--release` for figures closer to production).

use gureum_core::ListOptions;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement (minutes in debug builds); run with --ignored"]
async fn file_delimiter_page_cost_on_a_5000_entry_level() {
    const N: usize = 5000;
    let dir = tempfile::tempdir().unwrap();
    let b = gureum_local::storage::open_file(dir.path()).unwrap();
    for i in 0..N {
        b.put(&format!("lvl/o{i:05}"), "x").await.unwrap();
    }
    let fs = b.native::<gureum_local::storage::FileStore>().unwrap();
    let page = |size: usize, token: Option<String>| ListOptions {
        prefix: Some("lvl/".into()),
        delimiter: true,
        page_size: Some(size),
        page_token: token,
    };
    let (mut first, mut whole, mut paged) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let rounds = 5;
    let mut paged_reads = 0;
    for r in 0..rounds {
        // A change of the level (a write by this process), old enough to be cached: every
        // measurement below starts without the level's names.
        b.put(&format!("other/round{r}"), "x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let t = Instant::now();
        let p = b.list_page(&page(100, None)).await.unwrap();
        first += t.elapsed();
        assert_eq!(p.objects.len(), 100);
        b.put(&format!("other/whole{r}"), "x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let t = Instant::now();
        let p = b.list_page(&page(10_000, None)).await.unwrap();
        whole += t.elapsed();
        assert_eq!(p.objects.len(), N);
        b.put(&format!("other/again{r}"), "x").await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let reads = fs.level_reads();
        let t = Instant::now();
        let (mut token, mut n, mut pages) = (None, 0, 0);
        loop {
            let p = b.list_page(&page(100, token)).await.unwrap();
            n += p.objects.len();
            pages += 1;
            token = p.next_token;
            if token.is_none() {
                break;
            }
        }
        paged += t.elapsed();
        paged_reads += fs.level_reads() - reads;
        assert_eq!((n, pages), (N, N / 100));
    }
    assert_eq!(
        paged_reads, rounds as u64,
        "one level read per paging through the level"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / rounds as f64;
    println!(
        "file:// level of {N}: one page of 100 {:.1} ms, the level as one page {:.1} ms (ratio {:.2}), the level in {} pages of 100 {:.1} ms ({:.2}x one whole read; {} level read per paging)",
        ms(first),
        ms(whole),
        ms(first) / ms(whole),
        N / 100,
        ms(paged),
        ms(paged) / ms(whole),
        paged_reads / rounds as u64
    );
}
