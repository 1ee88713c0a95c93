//! object_store's own integration tests (through gureum-conformance's runner) on the
//! `ObjectStore` that an `azblob://` bucket hands out (`Bucket::object_store()`, the
//! `AzureStore` wrapper), against Azurite. Needs AZURITE_BLOB_STORAGE_URL. Every test passes;
//! none is `NotImplemented`.

use gureum_conformance::object_store_integration::{self as osi, IntegrationOptions};
use gureum_core::Registry;

#[tokio::test]
async fn azure_store_passes_object_store_integration() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    // The tests delete everything in the store: a fresh container of their own.
    let name = gureum_testkit::unique("osi");
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    let b = r
        .open_bucket(Some(&format!("azblob://{name}?emulator=true")))
        .await
        .unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    // Committing a block list discards the other uploads' uncommitted blocks, so of two racing
    // uploads the one completed first wins and the second fails (object_store runs its own
    // Azure tests with `last_writer_wins = false` too).
    let opts = IntegrationOptions {
        last_writer_wins: false,
        ..Default::default()
    };
    let report = osi::run_with(b.object_store(), &opts).await;
    println!("azblob://\n{report}");
    report.assert_ok();
    assert!(report.not_implemented().is_empty(), "{report}");
    b.admin().unwrap().delete_bucket(&name).await.ok();
}
