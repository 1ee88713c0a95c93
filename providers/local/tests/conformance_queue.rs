//! The gureum conformance queue suite on the embedded `sqlite://` and `mem://` queues.

use gureum_conformance::certify::Target;
use gureum_conformance::{queue, Options};
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::queue::register(&mut r);
    r
}

async fn run(url: &str, label: &str) {
    let q = registry().open_queue(Some(url)).await.unwrap();
    let opts = Options {
        backend: Some(label.to_string()),
        target: Some(Target::Embedded),
        ..Options::default()
    };
    let report = queue::run(&q, &opts).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "{label}: conformance failures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sqlite_queue() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/conf.db?queue=conformance",
        dir.path().display()
    );
    run(&url, "sqlite:// (local)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_mem_queue() {
    run("mem://conformance-local", "mem:// queue (local)").await;
}
