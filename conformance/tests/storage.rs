//! The storage suite against object_store's InMemory store, and against deliberately broken
//! wrappers of it, to prove the cases can fail.

use futures::stream::BoxStream;
use gureum_conformance::{storage, Options, Status};
use gureum_core::object_store::{
    self, memory::InMemory, path::Path, Attributes, CopyOptions, GetOptions, GetResult, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};
use gureum_core::{Bucket, StorageCapabilities};
use std::sync::Arc;

fn mem_bucket() -> Bucket {
    Bucket::new("conformance", Arc::new(InMemory::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_passes_every_required_case() {
    let b = mem_bucket();
    let report = storage::run(&b, &Options::default().backend("object_store InMemory")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
    assert!(report.cases().count() >= 90);
    // InMemory has no presigner: reported unsupported, not skipped.
    assert_eq!(
        report.status("storage.presign_get"),
        Some(Status::Unsupported)
    );
    // It lists in order without advertising it.
    assert_eq!(
        report.status("storage.list_stream_native_order"),
        Some(Status::UnexpectedlyWorks)
    );
    // Nothing is left behind.
    assert!(b.list_all(None).await.unwrap().is_empty());
}

/// A store that forgets attributes (content type and user metadata) on write.
#[derive(Debug)]
struct DropsMetadata(InMemory);

impl std::fmt::Display for DropsMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DropsMetadata")
    }
}

#[async_trait::async_trait]
impl ObjectStore for DropsMetadata {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        opts.attributes = Attributes::new();
        self.0.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        mut opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        opts.attributes = Attributes::new();
        self.0.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.0.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Path, to: &Path, o: CopyOptions) -> object_store::Result<()> {
        self.0.copy_opts(from, to, o).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_that_drops_metadata_fails_metadata_cases() {
    let b = Bucket::new("broken", Arc::new(DropsMetadata(InMemory::new())));
    let report = storage::run(&b, &Options::default().only("metadata,content_type")).await;
    println!("{}", report.to_text());
    for case in [
        "storage.metadata_round_trip",
        "storage.metadata_in_get_with_info",
        "storage.content_type_round_trip",
        "storage.multipart_writer_metadata",
    ] {
        assert_eq!(report.status(case), Some(Status::Failed), "{case}");
    }
    // The same store, honestly advertising no metadata support, is "unsupported" instead.
    let caps = StorageCapabilities {
        user_metadata: false,
        content_type: false,
        ..Default::default()
    };
    let b = b.with_capabilities(caps);
    let report = storage::run(&b, &Options::default().only("metadata,content_type")).await;
    assert_eq!(
        report.status("storage.metadata_round_trip"),
        Some(Status::Unsupported)
    );
    assert_eq!(report.failed(), 0, "{:?}", report.failures());
}
