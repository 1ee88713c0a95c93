//! object_store's own integration tests (through gureum-conformance's runner) on the
//! `ObjectStore` that a `swift://` bucket hands out (`Bucket::object_store()`), against the
//! Swift all-in-one. Needs SWIFT_AUTH_URL/SWIFT_USER/SWIFT_KEY (scripts/emulators.sh env).
//!
//! Expected `NotImplemented` (docs/providers.md): `copy_if_not_exists` (Swift does not honour
//! `If-None-Match` on a copy). `put_opts` runs with `supports_update = false` (Swift ignores
//! `If-Match` on PUT, so `PutMode::Update` is `NotImplemented`).

use gureum_conformance::object_store_integration::{self as osi, IntegrationOptions};
use gureum_core::url::ResourceUrl;
use gureum_core::ErrorKind;

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("{name} not set and GUREUM_REQUIRE_EMULATORS=1");
            }
            eprintln!("skipping: {name} not set");
            None
        }
    }
}

#[tokio::test]
async fn swift_store_passes_object_store_integration() {
    let (Some(auth), Some(user), Some(key)) =
        (env("SWIFT_AUTH_URL"), env("SWIFT_USER"), env("SWIFT_KEY"))
    else {
        return;
    };
    // The tests delete everything in the store: a fresh container of their own.
    let c = format!("osi-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let url = format!("swift://{c}?auth_url={auth}&user={user}&key={key}");
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    match b.admin().unwrap().create_bucket(&c).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create container: {e}"),
    }
    let opts = IntegrationOptions {
        expected_not_implemented: vec!["copy_if_not_exists".into()],
        supports_update: false,
        ..Default::default()
    };
    let store = b.object_store();
    let report = osi::run_with(store.clone(), &opts).await;
    println!("swift://\n{report}");
    // object_store's `copy_if_not_exists` test asserts `matches!(err, AlreadyExists)`, so its
    // panic message does not show the `NotImplemented` the store returned: check that this
    // is the only failure, and that the store does answer `NotImplemented` for it.
    for r in report.failures() {
        assert_eq!(r.name, "copy_if_not_exists", "{report}");
    }
    use object_store::ObjectStoreExt;
    let (a, z) = ("cine-a".into(), "cine-z".into());
    store.put(&a, "x".into()).await.unwrap();
    let e = store.copy_if_not_exists(&a, &z).await.unwrap_err();
    assert!(
        matches!(e, object_store::Error::NotImplemented { .. }),
        "copy_if_not_exists on Swift: {e}"
    );
    store.delete(&a).await.unwrap();
    // Leave nothing on the shared SAIO: the container and the segment container of its
    // multipart uploads (deletes take the segments of large objects; the parts of aborted
    // or failed uploads are in the segment container on their own).
    let admin = b.admin().unwrap();
    for name in [c.clone(), format!("{c}_segments")] {
        let bucket = admin.open(&name).await.unwrap();
        let keys: Vec<String> = match bucket.list_all(None).await {
            Ok(objects) => objects.into_iter().map(|o| o.key).collect(),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => panic!("list {name}: {e}"),
        };
        for r in bucket.delete_many(&keys).await.unwrap() {
            r.unwrap();
        }
        admin
            .delete_bucket(&name)
            .await
            .unwrap_or_else(|e| panic!("delete container {name} (left behind?): {e}"));
    }
    assert!(report.unexpectedly_passed().is_empty(), "{report}");
}
