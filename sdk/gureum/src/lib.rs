//! # gureum (구름)
//!
//! One vendor-neutral API for object storage, message queues and virtual machines. The code
//! never names a vendor: the backend comes from a URL, chosen by configuration.
//!
//! Hello world — storage, a queue and a VM, here on the embedded backends (no account, no
//! server); change the URLs, not the code, to run it on another cloud:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
//! # let tmp = tempfile::tempdir()?; let dir = tmp.path().display();
//! use gureum::{InstanceSpec, InstanceState, Message, Size};
//! let bucket = gureum::open_bucket(&format!("file://{dir}/storage")).await?; // s3://, swift://, azblob://, ncloud://
//! bucket.put("민원/2026/c-1041.json", r#"{"status":"접수"}"#.as_bytes().to_vec()).await?;
//! let queue = gureum::open_queue(&format!("sqlite://{dir}/q.db?queue=ocr")).await?; // sqs://, azqueue://
//! queue.send(Message::new(&b"ocr c-1041"[..])).await?;
//! let compute = gureum::open_compute(&format!("local://{dir}/compute")).await?; // ec2://, nova://, ncloud-server://
//! let vm = compute.create(InstanceSpec::new("ocr-worker").size(Size::vcpus(1)).image("ubuntu-22.04")).await?;
//! compute.wait_until(&vm.id, InstanceState::Running, std::time::Duration::from_secs(30)).await?;
//! compute.terminate(&vm.id).await?;
//! assert_eq!(bucket.list_all(Some("민원/")).await?.len(), 1);
//! # Ok(()) }
//! ```
//!
//! With no URL at all, `open_bucket_default()` / `open_queue_default()` /
//! `open_compute_default()` resolve one from `GUREUM_STORAGE_URL` (…`_QUEUE_`, …`_COMPUTE_`),
//! then the `gureum.toml` profile chosen by `GUREUM_PROFILE`, then the embedded defaults under
//! the data directory (`file://`, `sqlite://`, `local://`).
//!
//! Cargo features enable providers: `local` (default), `aws`, `azure`, `openstack`, `ncloud`, `amqp`, `kafka`, `kakao-pubsub`,
//! or `full`; `layers` (default) adds `gureum::layers`, the stacking of layers over buckets and
//! queues; `encrypt` (default) adds `gureum::crypto` and the `encrypt=<key provider URL>`
//! parameter (client-side encryption; `encrypt-openbao` and `aws` add the OpenBao and AWS KMS
//! key providers). Opening a URL whose provider is not compiled in fails with an
//! `InvalidArgument` error naming the feature to enable; [`PROVIDERS`] lists every provider
//! this facade knows.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # #[cfg(not(feature = "azure"))] {
//! let e = gureum::open_bucket("azblob://complaints?account=seoulcivic").await.unwrap_err();
//! assert_eq!(e.kind(), gureum::ErrorKind::InvalidArgument);
//! assert!(e.message().contains("azure"));
//! # } }
//! ```
#![deny(missing_docs)]

pub use gureum_core::*;

/// Layers stacked over buckets and queues (`gureum-layers`, feature `layers`, on by default).
#[cfg(feature = "layers")]
pub use gureum_layers as layers;

/// Client-side envelope encryption (`gureum-crypto`, feature `encrypt`, on by default): the
/// `encrypt=<key provider URL>` layer parameter, key files, OpenBao transit and AWS KMS.
#[cfg(feature = "encrypt")]
pub use gureum_crypto as crypto;

/// Declares the providers this facade knows: for each, the module name it is re-exported
/// under, its cargo feature, its crate, and its `(scheme, service)` pairs. Expands to the
/// `pub use` re-exports of the compiled-in crates and to [`PROVIDERS`].
///
/// The scheme list is written here, not read from the crate, because a provider that is not
/// compiled in cannot be asked; `tests::provider_lines_match_the_providers` (built with the
/// `full` feature) checks each line against the crate's own `SCHEMES`.
macro_rules! providers {
    ($( $module:ident = $feature:literal => $krate:ident [ $( ($scheme:literal, $service:ident) ),* $(,)? ] ),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            pub use $krate as $module;
        )*

        /// Every provider this facade knows, in registration order, with whether it is compiled
        /// into this build. [`registry`] registers the compiled ones and remembers the others'
        /// schemes, so opening such a URL fails with `InvalidArgument` naming the feature.
        ///
        /// # Examples
        ///
        /// ```
        /// let aws = gureum::PROVIDERS.iter().find(|p| p.feature == "aws").unwrap();
        /// assert!(aws.schemes.iter().any(|(scheme, _)| *scheme == "s3"));
        /// assert_eq!(aws.compiled.is_some(), cfg!(feature = "aws"));
        /// ```
        pub const PROVIDERS: &[ProviderEntry] = &[
            $(
                ProviderEntry {
                    feature: $feature,
                    schemes: &[$( ($scheme, Service::$service) ),*],
                    compiled: {
                        #[cfg(feature = $feature)]
                        const C: Option<CompiledProvider> = Some(CompiledProvider {
                            register: $krate::register,
                            schemes: $krate::SCHEMES,
                        });
                        #[cfg(not(feature = $feature))]
                        const C: Option<CompiledProvider> = None;
                        C
                    },
                },
            )*
        ];
    };
}

// One line per provider (module = "cargo feature" => crate [schemes]); see docs/architecture.md,
// "Adding a provider".
#[rustfmt::skip]
providers! {
    local = "local" => gureum_local [("mem", Storage), ("file", Storage), ("mem", Queue), ("sqlite", Queue), ("local", Compute)],
    aws = "aws" => gureum_aws [("s3", Storage), ("sqs", Queue), ("ec2", Compute)],
    azure = "azure" => gureum_azure [("azblob", Storage), ("azqueue", Queue), ("azvm", Compute)],
    openstack = "openstack" => gureum_openstack [("swift", Storage), ("nova", Compute), ("nhn-s3", Storage), ("kakao-s3", Storage), ("kakao-compute", Compute)],
    ncloud = "ncloud" => gureum_ncloud [("ncloud", Storage), ("ncloud-server", Compute)],
    amqp = "amqp" => gureum_amqp [("amqp", Queue), ("amqps", Queue)],
    kafka = "kafka" => gureum_kafka [("kafka", Queue), ("ncloud-cdss", Queue), ("nhn-easyqueue", Queue)],
    kakao_pubsub = "kakao-pubsub" => gureum_kakao_pubsub [("kakao-pubsub", Queue)],
}

/// A registry with every provider enabled in this build, which also knows the schemes of the
/// providers that are not (for the "enable cargo feature X" hint).
///
/// With the `layers` feature (default) the layers of `gureum-layers` are registered too, so
/// their URL / profile parameters (`class=`, `policy=`, `audit=`, ...) stack them over what
/// is opened (see `gureum_core::layering`).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// use gureum::Service;
/// let r = gureum::registry();
/// assert!(r.schemes(Service::Queue).iter().any(|s| s == "sqlite"));
/// let bucket = r.open_bucket(Some("mem://registry-demo")).await?;
/// assert_eq!((bucket.info().scheme.as_str(), bucket.info().zone), ("mem", gureum::Zone::OnPrem));
/// // A layer parameter stacks a layer over what is opened: here the placement policy.
/// let personal = r.open_bucket(Some("mem://registry-demo?class=personal")).await?;
/// assert!(personal.layers().iter().any(|l| l == "policy"));
/// # Ok(()) }
/// ```
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut r = Registry::from_providers(PROVIDERS);
    #[cfg(feature = "layers")]
    gureum_layers::register(&mut r);
    #[cfg(feature = "encrypt")]
    gureum_crypto::register(&mut r);
    // Last: mirror:// opens its two inner URLs with everything registered above.
    #[cfg(feature = "layers")]
    gureum_layers::mirror::register(&mut r);
    r
}

/// Open the bucket a URL names (`file:///data/x`, `s3://b?region=...`, ...).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// let bucket = gureum::open_bucket("mem://open-data").await?;
/// bucket.put("traffic/2026-11-26.csv", b"segment,vehicles\n".to_vec()).await?;
/// assert_eq!(bucket.head("traffic/2026-11-26.csv").await?.size, 17);
/// // A key outside the portable key space is refused, whatever the backend.
/// let e = bucket.put("a//b", vec![]).await.unwrap_err();
/// assert_eq!(e.kind(), gureum::ErrorKind::InvalidArgument);
/// # Ok(()) }
/// ```
pub async fn open_bucket(url: &str) -> Result<Bucket> {
    registry().open_bucket(Some(url)).await
}
/// Open the queue a URL names.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// # let tmp = tempfile::tempdir()?; let dir = tmp.path().display();
/// use gureum::Message;
/// let queue = gureum::open_queue(&format!("sqlite://{dir}/q.db?queue=jobs")).await?;
/// queue.send(Message::new(&b"reindex c-1041"[..]).attribute("type", "reindex")).await?;
/// let got = queue.receive(10).await?;
/// assert_eq!(&got[0].body[..], b"reindex c-1041");
/// queue.ack(&got[0]).await?;
/// assert_eq!(queue.depth().await?, 0);
/// # Ok(()) }
/// ```
pub async fn open_queue(url: &str) -> Result<Queue> {
    registry().open_queue(Some(url)).await
}
/// Open the compute service a URL names.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// # let tmp = tempfile::tempdir()?; let dir = tmp.path().display();
/// let compute = gureum::open_compute(&format!("local://{dir}")).await?;
/// // Portable sizes resolve to the provider's smallest fitting size.
/// let sizes = compute.sizes().await?;
/// assert!(sizes.iter().any(|s| s.vcpus >= 2));
/// assert!(compute.images().await?.iter().any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
/// # Ok(()) }
/// ```
pub async fn open_compute(url: &str) -> Result<Compute> {
    registry().open_compute(Some(url)).await
}
/// Open the configured bucket: `GUREUM_STORAGE_URL`, then `gureum.toml`, then `file://` under the data dir.
///
/// ```no_run
/// # async fn demo() -> gureum::Result<()> {
/// // GUREUM_STORAGE_URL=s3://complaints?region=ap-northeast-2, or a profile, or nothing at all.
/// let bucket = gureum::open_bucket_default().await?;
/// println!("{}:// {}", bucket.info().scheme, bucket.name());
/// # Ok(()) }
/// ```
pub async fn open_bucket_default() -> Result<Bucket> {
    registry().open_bucket(None).await
}
/// Open the configured queue: `GUREUM_QUEUE_URL`, then `gureum.toml`, then `sqlite://` under the data dir.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// std::env::set_var("GUREUM_QUEUE_URL", "mem://default-demo"); // or a gureum.toml profile
/// let queue = gureum::open_queue_default().await?;
/// assert_eq!(queue.info().scheme, "mem");
/// queue.send(gureum::Message::new(&b"hello"[..])).await?;
/// assert_eq!(queue.depth().await?, 1);
/// # Ok(()) }
/// ```
pub async fn open_queue_default() -> Result<Queue> {
    registry().open_queue(None).await
}
/// Open the configured compute: `GUREUM_COMPUTE_URL`, then `gureum.toml`, then `local://`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum::Result<()> {
/// # let tmp = tempfile::tempdir()?;
/// std::env::remove_var("GUREUM_COMPUTE_URL");
/// std::env::set_var("GUREUM_DATA_DIR", tmp.path()); // nothing configured: local:// under it
/// let compute = gureum::open_compute_default().await?;
/// assert!(compute.images().await?.iter().any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
/// assert!(tmp.path().join("compute").exists());
/// # Ok(()) }
/// ```
pub async fn open_compute_default() -> Result<Compute> {
    registry().open_compute(None).await
}

#[cfg(all(test, feature = "full"))]
mod tests {
    use super::*;

    /// The facade's line of each provider equals the provider's own `SCHEMES`, and the
    /// provider's `register` registers exactly those schemes.
    #[test]
    fn provider_lines_match_the_providers() {
        for p in PROVIDERS {
            let c = p
                .compiled
                .unwrap_or_else(|| panic!("{} is not compiled in under `full`", p.feature));
            let theirs: Vec<(&str, Service)> =
                c.schemes.iter().map(|i| (i.scheme, i.service)).collect();
            assert_eq!(p.schemes, theirs.as_slice(), "provider {}", p.feature);
            for i in c.schemes {
                assert_eq!(
                    i.feature, p.feature,
                    "{}:// names another feature",
                    i.scheme
                );
                assert!(
                    !i.description.is_empty(),
                    "{}:// has no description",
                    i.scheme
                );
            }
            let mut r = Registry::new();
            (c.register)(&mut r);
            for s in [Service::Storage, Service::Queue, Service::Compute] {
                let mut want: Vec<String> = theirs
                    .iter()
                    .filter(|(_, sv)| *sv == s)
                    .map(|(x, _)| x.to_string())
                    .collect();
                want.sort();
                assert_eq!(r.schemes(s), want, "{} {s} schemes", p.feature);
            }
        }
    }

    #[test]
    fn every_provider_is_registered_and_described() {
        let r = registry();
        for p in PROVIDERS {
            for &(scheme, service) in p.schemes {
                assert!(r.schemes(service).iter().any(|s| s == scheme), "{scheme}");
                assert!(r.scheme_info(service, scheme).is_some(), "{scheme}");
            }
        }
        assert!(r.missing(Service::Storage).is_empty());
    }
}
