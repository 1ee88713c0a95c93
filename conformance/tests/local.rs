//! The whole suite against the embedded local backends: mem:// and file:// storage,
//! sqlite:// and mem:// queues, local:// compute.
//!
//! Regenerate docs/conformance/local.md with:
//!
//! ```text
//! GUREUM_CONFORMANCE_MD=$PWD/docs/conformance/local.md \
//!   cargo test -p gureum-conformance --test local -- --nocapture
//! ```

use gureum_conformance::{compute, queue, storage, Options, Report};
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::register(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backends_conform() {
    let reg = registry();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let base = Options::default().target(gureum_conformance::certify::Target::Embedded);
    let mut report = Report::new(base.run_id.clone());

    let mem = format!("mem://conformance-{}", uuid::Uuid::new_v4().simple());
    let file = format!("file://{d}/storage/bucket");
    for (label, url) in [("mem:// (local)", mem), ("file:// (local)", file)] {
        let b = reg.open_bucket(Some(&url)).await.unwrap();
        report.merge(
            storage::run(
                &b,
                &Options {
                    backend: Some(label.into()),
                    ..base.clone()
                },
            )
            .await,
        );
        assert!(
            b.list_all(None).await.unwrap().is_empty(),
            "{label}: objects left behind"
        );
    }

    let sqlite = format!("sqlite://{d}/queue.db?queue=conformance");
    let memq = format!("mem://conformance-{}", uuid::Uuid::new_v4().simple());
    for (label, url) in [
        ("sqlite:// (local)", sqlite),
        ("mem:// queue (local)", memq),
    ] {
        let q = reg.open_queue(Some(&url)).await.unwrap();
        report.merge(
            queue::run(
                &q,
                &Options {
                    backend: Some(label.into()),
                    ..base.clone()
                },
            )
            .await,
        );
    }

    let c = reg
        .open_compute(Some(&format!("local://{d}/compute")))
        .await
        .unwrap();
    report.merge(
        compute::run(
            &c,
            &Options {
                backend: Some("local:// (processes)".into()),
                ..base.clone()
            },
        )
        .await,
    );
    assert!(c.list().await.unwrap().is_empty(), "instances left running");

    println!("{}", report.to_text());
    if let Ok(path) = std::env::var("GUREUM_CONFORMANCE_MD") {
        let body = report.to_markdown();
        let (title, rest) = body.split_once('\n').unwrap_or((&body, ""));
        let md = format!(
            "{title}\n\nBackends: `mem://` and `file://` storage, `sqlite://` and `mem://` queues, \
             `local://` compute (crate gureum-local), on this machine. Generated with:\n\n\
             ```sh\nGUREUM_CONFORMANCE_MD=$PWD/docs/conformance/local.md \\\n  \
             cargo test -p gureum-conformance --test local -- --nocapture\n```\n{rest}"
        );
        std::fs::write(&path, md).unwrap();
    }
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
}
