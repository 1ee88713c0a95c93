//! # gureum (구름)
//!
//! One vendor-neutral API for object storage, message queues and virtual machines. The code
//! never names a vendor: the backend comes from a URL, chosen by configuration.
//!
//! ```no_run
//! # async fn demo() -> gureum::Result<()> {
//! use gureum::{Message, InstanceSpec, Size};
//! // With no URL and no configuration, the embedded defaults serve (file://, sqlite://, local://).
//! let bucket = gureum::open_bucket("s3://complaints-archive?region=ap-northeast-2").await?;
//! bucket.put("2026/11/25/c-1041.json", b"{}".to_vec()).await?;
//!
//! let queue = gureum::open_queue_default().await?;           // GUREUM_QUEUE_URL, gureum.toml, or sqlite://
//! queue.send(Message::new(&b"reindex c-1041"[..])).await?;
//!
//! let compute = gureum::open_compute("local://").await?;
//! let vm = compute.create(InstanceSpec::new("ocr-worker").size(Size::vcpus(1)).image("sleep")).await?;
//! # Ok(()) }
//! ```
//!
//! Cargo features enable providers: `local` (default), `aws`, `azure`, `openstack`, `ncloud`,
//! or `full`. Opening a URL whose provider is not compiled in fails with an
//! `InvalidArgument` error naming the feature to enable.
#![warn(missing_docs)]

pub use gureum_core::*;

#[cfg(feature = "aws")]
pub use gureum_aws as aws;
#[cfg(feature = "azure")]
pub use gureum_azure as azure;
#[cfg(feature = "local")]
pub use gureum_local as local;
#[cfg(feature = "ncloud")]
pub use gureum_ncloud as ncloud;
#[cfg(feature = "openstack")]
pub use gureum_openstack as openstack;

/// A registry with every provider enabled in this build.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut r = Registry::new();
    #[cfg(feature = "local")]
    gureum_local::register(&mut r);
    #[cfg(feature = "aws")]
    gureum_aws::register(&mut r);
    #[cfg(feature = "azure")]
    gureum_azure::register(&mut r);
    #[cfg(feature = "openstack")]
    gureum_openstack::register(&mut r);
    #[cfg(feature = "ncloud")]
    gureum_ncloud::register(&mut r);
    r
}

/// Open the bucket a URL names (`file:///data/x`, `s3://b?region=...`, ...).
pub async fn open_bucket(url: &str) -> Result<Bucket> {
    registry().open_bucket(Some(url)).await
}
/// Open the queue a URL names.
pub async fn open_queue(url: &str) -> Result<Queue> {
    registry().open_queue(Some(url)).await
}
/// Open the compute service a URL names.
pub async fn open_compute(url: &str) -> Result<Compute> {
    registry().open_compute(Some(url)).await
}
/// Open the configured bucket: `GUREUM_STORAGE_URL`, then `gureum.toml`, then `file://` under the data dir.
pub async fn open_bucket_default() -> Result<Bucket> {
    registry().open_bucket(None).await
}
/// Open the configured queue: `GUREUM_QUEUE_URL`, then `gureum.toml`, then `sqlite://` under the data dir.
pub async fn open_queue_default() -> Result<Queue> {
    registry().open_queue(None).await
}
/// Open the configured compute: `GUREUM_COMPUTE_URL`, then `gureum.toml`, then `local://`.
pub async fn open_compute_default() -> Result<Compute> {
    registry().open_compute(None).await
}
