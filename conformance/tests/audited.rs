//! The storage and queue suites with the access record stacked on (through the `audit=` URL
//! parameter of the layer mechanism): the layer is transparent, every case passes as it does
//! without it, and the record the suites produced verifies.

use gureum_conformance::{queue, storage, Options, Report};
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::register(&mut r);
    gureum_layers::register(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backends_conform_with_the_access_record_stacked() {
    let reg = registry();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let key = dir.path().join("audit.key");
    std::fs::write(&key, "conformance-audit-key-0123456789").unwrap();
    let rec = |name: &str| {
        format!(
            "audit=file://{d}/{name}.jsonl&audit_key=file://{}&audit_principal=conformance",
            key.display()
        )
    };
    let base = Options::default();
    let mut report = Report::new(base.run_id.clone());
    let file = format!("file://{d}/storage/bucket?{}", rec("storage"));
    let b = reg.open_bucket(Some(&file)).await.unwrap();
    assert_eq!(b.layers(), ["audit"]);
    report.merge(
        storage::run(
            &b,
            &Options {
                backend: Some("file:// + audit".into()),
                ..base.clone()
            },
        )
        .await,
    );
    assert!(b.list_all(None).await.unwrap().is_empty());
    drop(b);

    let sqlite = format!("sqlite://{d}/queue.db?queue=conformance&{}", rec("queue"));
    let q = reg.open_queue(Some(&sqlite)).await.unwrap();
    assert_eq!(q.layers(), ["audit"]);
    report.merge(
        queue::run(
            &q,
            &Options {
                backend: Some("sqlite:// + audit".into()),
                ..base.clone()
            },
        )
        .await,
    );
    drop(q);
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());

    let k = gureum_layers::audit::load_key(&format!("file://{}", key.display())).unwrap();
    for name in ["storage", "queue"] {
        let spec = format!("file://{d}/{name}.jsonl");
        let v = gureum_layers::audit::verify_spec(&spec, Some(&k), &reg)
            .await
            .unwrap();
        assert!(v.ok(), "{name}: {v:?}");
        assert!(v.entries > 100, "{name}: only {} entries", v.entries);
    }
}
