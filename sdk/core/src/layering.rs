//! Layer parameters in URLs and profiles: how a layer crate claims parameter names and gets
//! stacked over the buckets and queues the registry opens.
//!
//! A layer (placement policy, access record, client-side encryption, ...) is configured by
//! parameters that belong to no provider: `class=personal`, `audit=file:///var/log/a.jsonl`,
//! `encrypt=keyfile:///etc/gureum/k`. A layer crate implements [`LayerOpener`] and registers
//! it with [`Registry::register_layer`](crate::Registry::register_layer), naming the
//! parameters it owns ([`LayerOpener::params`]). Then
//! [`Registry::open_bucket`](crate::Registry::open_bucket) and
//! [`Registry::open_queue`](crate::Registry::open_queue):
//!
//! 1. take the owned parameters out of the URL's query and the profile's `params`, so the
//!    provider never sees them (its own unknown-parameter checks stay strict);
//! 2. ask every engaged opener ([`LayerOpener::engaged`]) to
//!    [check the target before anything is opened](LayerOpener::check_open) (the placement
//!    policy refuses a forbidden zone here, before a byte leaves);
//! 3. open the backend with the remaining URL;
//! 4. apply a `zone=` parameter ([`PARAM_ZONE`]) to the backend's
//!    [`BackendInfo`](crate::BackendInfo);
//! 5. stack the engaged layers in [`LayerSlot`] order, innermost first: encryption, then the
//!    access record, then the placement policy outermost. A call thus passes the policy first,
//!    is recorded, is encrypted, and reaches the backend.
//!
//! Each stacked layer is recorded on the handle ([`Bucket::layers`](crate::Bucket::layers),
//! [`Bucket::is_encrypted`](crate::Bucket::is_encrypted), same on [`Queue`](crate::Queue)),
//! so an outer layer (the policy) can require an inner one (encryption).

use crate::error::Result;
use crate::queue::Queue;
use crate::registry::Service;
use crate::storage::Bucket;
use crate::Zone;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;

/// URL / profile parameter valid on every storage and queue scheme: the placement zone of the
/// backend (`on-prem`, `domestic-csap`, `foreign`), overriding the scheme's or preset's
/// default (a city's own S3-compatible store is `zone=on-prem`). The registry does not strip
/// it (providers that read a zone themselves still see it) and sets it on the opened handle's
/// [`BackendInfo`](crate::BackendInfo).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{layering::PARAM_ZONE, Registry, Zone};
/// let mut registry = Registry::new();
/// gureum_local::register(&mut registry);
/// let url = format!("mem://zone-doc?{PARAM_ZONE}=domestic-csap");
/// let bucket = registry.open_bucket(Some(&url)).await?;
/// assert_eq!(bucket.info().zone, Zone::DomesticCsap);
/// # Ok(()) }
/// ```
pub const PARAM_ZONE: &str = "zone";

/// Where a layer sits in the stack. Layers are stacked innermost first in this order, so
/// [`LayerSlot::Policy`] is outermost: a call runs policy → access record → encryption →
/// backend.
///
/// ```
/// use gureum_core::LayerSlot;
/// // Sorted innermost first: encryption, access record, policy.
/// let mut slots = vec![LayerSlot::Policy, LayerSlot::Encryption, LayerSlot::Audit];
/// slots.sort();
/// assert_eq!(slots, [LayerSlot::Encryption, LayerSlot::Audit, LayerSlot::Policy]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerSlot {
    /// Client-side encryption (innermost: the access record sees plaintext sizes and keys,
    /// the backend only ciphertext).
    Encryption,
    /// The access record.
    Audit,
    /// The placement policy (outermost: a refused call is never recorded as sent, nothing is
    /// encrypted or sent).
    Policy,
}

/// What the registry knows about a bucket or queue before it is opened, for
/// [`LayerOpener::check_open`].
///
/// ```
/// use gureum_core::{OpenTarget, Service, Zone};
/// let target = OpenTarget {
///     service: Service::Storage,
///     scheme: "s3".into(),
///     url: "s3://complaints".into(),
///     zone: Zone::Foreign,
///     encrypted: false,
/// };
/// // What a placement policy checks before anything is opened.
/// assert!(target.zone == Zone::Foreign && !target.encrypted);
/// ```
#[derive(Debug, Clone)]
pub struct OpenTarget {
    /// Storage or queue.
    pub service: Service,
    /// The URL scheme.
    pub scheme: String,
    /// The URL for messages, secrets redacted, layer parameters removed.
    pub url: String,
    /// The backend's zone as far as known before opening: the `zone=` parameter, else the
    /// scheme's declared default. (Providers that read a zone from their own configuration,
    /// such as a `clouds.yaml` entry, report it on the opened handle; layers check again
    /// there.)
    pub zone: Zone,
    /// Whether an encrypting layer ([`LayerOpener::encrypts`]) will be stacked.
    pub encrypted: bool,
}

/// The layer parameters found on one URL + profile, for every registered opener (each reads
/// its own; a layer may also read another's, e.g. the policy reads whether `encrypt` is set).
///
/// ```
/// use gureum_core::LayerParams;
/// use std::collections::BTreeMap;
/// let p = LayerParams::new(BTreeMap::from([("class".to_string(), "personal".to_string())]));
/// assert_eq!(p.get("class"), Some("personal"));
/// assert!(p.any(&["audit", "class"]));
/// assert_eq!(p.all().len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerParams {
    params: BTreeMap<String, String>,
}

impl LayerParams {
    /// Parameters from a map.
    ///
    /// ```
    /// use gureum_core::LayerParams;
    /// assert_eq!(LayerParams::new(Default::default()), LayerParams::default());
    /// ```
    pub fn new(params: BTreeMap<String, String>) -> Self {
        LayerParams { params }
    }
    /// One parameter.
    ///
    /// ```
    /// use gureum_core::LayerParams;
    /// let p = LayerParams::new([("encrypt".to_string(), "keyfile:///k".to_string())].into());
    /// assert_eq!(p.get("encrypt"), Some("keyfile:///k"));
    /// assert_eq!(p.get("audit"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
    /// Whether any of `names` is present.
    ///
    /// ```
    /// use gureum_core::LayerParams;
    /// let p = LayerParams::new([("audit".to_string(), "file:///var/log/a.jsonl".to_string())].into());
    /// assert!(p.any(&["audit"]));
    /// assert!(!p.any(&["class", "encrypt"]));
    /// ```
    pub fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.params.contains_key(*n))
    }
    /// All of them.
    ///
    /// ```
    /// use gureum_core::LayerParams;
    /// let p = LayerParams::new([("class".to_string(), "open".to_string())].into());
    /// assert_eq!(p.all().keys().collect::<Vec<_>>(), ["class"]);
    /// ```
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.params
    }
}

/// A layer that the registry stacks over buckets and queues when its URL / profile
/// parameters are present. Implemented by layer crates (`gureum-layers`); see the module
/// documentation for the order of events.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, Bucket, LayerOpener, LayerParams, LayerSlot, OpenTarget, Registry};
/// use std::sync::Arc;
/// /// A layer that only records itself on the handle, engaged by `tag=...`.
/// #[derive(Debug)]
/// struct Tag;
/// #[async_trait]
/// impl LayerOpener for Tag {
///     fn name(&self) -> &'static str { "tag" }
///     fn params(&self) -> &'static [&'static str] { &["tag"] }
///     fn slot(&self) -> LayerSlot { LayerSlot::Audit }
///     async fn stack_bucket(&self, b: Bucket, _: &OpenTarget, _: &LayerParams) -> gureum_core::Result<Bucket> {
///         Ok(b.record_layer("tag", false))
///     }
/// }
/// let mut registry = Registry::new();
/// gureum_local::register(&mut registry);
/// registry.register_layer(Arc::new(Tag));
/// let bucket = registry.open_bucket(Some("mem://layer-doc?tag=x")).await?;
/// assert_eq!(bucket.layers(), ["tag"]);
/// // Without its parameter the layer is not stacked.
/// assert!(registry.open_bucket(Some("mem://layer-doc")).await?.layers().is_empty());
/// # Ok(()) }
/// ```
#[async_trait]
pub trait LayerOpener: Send + Sync + fmt::Debug {
    /// A short name (`"policy"`, `"audit"`, `"encrypt"`).
    fn name(&self) -> &'static str;
    /// The URL / profile parameter names this layer owns. They are removed before the
    /// provider sees the URL, and are valid on every storage and queue scheme.
    fn params(&self) -> &'static [&'static str];
    /// Where the layer sits in the stack.
    fn slot(&self) -> LayerSlot;
    /// Whether this layer encrypts data on the client (the backend sees only ciphertext).
    fn encrypts(&self) -> bool {
        false
    }
    /// Whether the layer is stacked for these parameters. Default: when any of its own
    /// [`params`](LayerOpener::params) is present.
    fn engaged(&self, params: &LayerParams) -> bool {
        params.any(self.params())
    }
    /// Check the target before the backend is opened (no provider code has run yet). An
    /// error here means nothing was opened or sent.
    async fn check_open(&self, target: &OpenTarget, params: &LayerParams) -> Result<()> {
        let _ = (target, params);
        Ok(())
    }
    /// Stack the layer over an opened bucket (inner layers already stacked; the bucket's
    /// [`BackendInfo`](crate::BackendInfo) carries the zone the provider reported).
    async fn stack_bucket(
        &self,
        bucket: Bucket,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Bucket>;
    /// Stack the layer over an opened queue (inner layers already stacked). The default
    /// leaves the queue as it is.
    async fn stack_queue(
        &self,
        queue: Queue,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Queue> {
        let _ = (target, params);
        Ok(queue)
    }
}
