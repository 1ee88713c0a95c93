//! What a `file://` delimiter page costs (issue 19): `Bucket::list_page` with a delimiter on
//! `file://` reads the whole directory level for every page, because a directory read
//! (`readdir`) returns names in no order: the page after a cursor can only be chosen after
//! every name of the level was read. This measures the cost on a level of 5,000 objects:
//! one page of 100, the whole level as one page, and the whole level in pages of 100, run
//! interleaved. A measurement, not a test of speed: it asserts only that nothing is lost.
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
    let page = |size: usize, token: Option<String>| ListOptions {
        prefix: Some("lvl/".into()),
        delimiter: true,
        page_size: Some(size),
        page_token: token,
    };
    let (mut first, mut whole, mut paged) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let rounds = 5;
    for _ in 0..rounds {
        let t = Instant::now();
        let p = b.list_page(&page(100, None)).await.unwrap();
        first += t.elapsed();
        assert_eq!(p.objects.len(), 100);
        let t = Instant::now();
        let p = b.list_page(&page(10_000, None)).await.unwrap();
        whole += t.elapsed();
        assert_eq!(p.objects.len(), N);
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
        assert_eq!((n, pages), (N, N / 100));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / rounds as f64;
    println!(
        "file:// level of {N}: one page of 100 {:.1} ms, the level as one page {:.1} ms (ratio {:.2}), the level in {} pages of 100 {:.1} ms ({:.1}x one whole read)",
        ms(first),
        ms(whole),
        ms(first) / ms(whole),
        N / 100,
        ms(paged),
        ms(paged) / ms(whole)
    );
}
