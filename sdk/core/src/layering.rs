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
pub const PARAM_ZONE: &str = "zone";

/// Where a layer sits in the stack. Layers are stacked innermost first in this order, so
/// [`LayerSlot::Policy`] is outermost: a call runs policy → access record → encryption →
/// backend.
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerParams {
    params: BTreeMap<String, String>,
}

impl LayerParams {
    /// Parameters from a map.
    pub fn new(params: BTreeMap<String, String>) -> Self {
        LayerParams { params }
    }
    /// One parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
    /// Whether any of `names` is present.
    pub fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.params.contains_key(*n))
    }
    /// All of them.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.params
    }
}

/// A layer that the registry stacks over buckets and queues when its URL / profile
/// parameters are present. Implemented by layer crates (`gureum-layers`); see the module
/// documentation for the order of events.
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
