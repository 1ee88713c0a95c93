//! Test helpers: the ncloud Object Storage preset opened through a `ListObjectsV2`-refusing
//! proxy ([`gureum_testkit::proxy::V1OnlyProxy`]) in front of an S3 emulator.
#![allow(dead_code)]

pub use gureum_testkit::env::S3Server as Upstream;

/// moto, or `None` (skip).
pub fn moto() -> Option<Upstream> {
    gureum_testkit::env::moto()
}

/// Swift's s3api, or `None` (skip).
pub fn swift() -> Option<Upstream> {
    gureum_testkit::env::swift_s3()
}
use gureum_testkit::proxy::V1OnlyProxy;
use gureum_testkit::unique;
use std::collections::BTreeMap;

/// `ncloud://bucket` through `proxy`, keys layered as profile parameters (not in the URL).
pub fn ncloud_url(bucket: &str, proxy: &V1OnlyProxy, up: &Upstream) -> gureum_core::ResourceUrl {
    let mut d = BTreeMap::new();
    d.insert("access_key".to_string(), up.access_key.clone());
    d.insert("secret_key".to_string(), up.secret_key.clone());
    gureum_core::ResourceUrl::parse(&format!(
        "ncloud://{bucket}?region=kr&endpoint={}&signing_region=us-east-1",
        proxy.endpoint
    ))
    .unwrap()
    .with_defaults(&d)
}

/// Open a fresh bucket through a new proxy in front of `up`.
pub async fn fresh(up: &Upstream, prefix: &str) -> (V1OnlyProxy, gureum_core::Bucket) {
    let proxy = V1OnlyProxy::start(&up.endpoint).await;
    let name = unique(prefix);
    let mut cfg = gureum_ncloud::storage::config_from_url(&ncloud_url(&name, &proxy, up)).unwrap();
    // The test servers' own metadata limits (not Naver's): moto's server (werkzeug) drops
    // request headers whose name contains `_`; Swift's s3api renames them on multipart
    // completion and stores values of at most 256 bytes. Refuse instead of losing data.
    cfg.quirks = if up.name == "moto" {
        cfg.quirks
            .metadata_underscore(false)
            .metadata_underscore_multipart(false)
    } else {
        cfg.quirks
            .metadata_underscore_multipart(false)
            .max_metadata_value_bytes(Some(256))
    };
    let bucket = gureum_aws::open_s3(cfg).await.unwrap();
    bucket.admin().unwrap().create_bucket(&name).await.unwrap();
    (proxy, bucket)
}

/// The simulator's `ncloud-server://` URL with its key pair layered as profile parameters.
pub fn sim_url(sim: &gureum_testkit::sim::ncloud::ServerSimulator) -> gureum_core::ResourceUrl {
    let mut d = BTreeMap::new();
    d.insert("access_key".to_string(), sim.options().access_key.clone());
    d.insert("secret_key".to_string(), sim.options().secret_key.clone());
    gureum_core::ResourceUrl::parse(&sim.compute_url())
        .unwrap()
        .with_defaults(&d)
}
