//! The scheme → opener registry, and how providers describe the schemes they serve.
//!
//! A provider crate exports `register(&mut Registry)`, which registers one opener per URL
//! scheme, and `SCHEMES: &[SchemeInfo]`, which describes those schemes (service, the cargo
//! feature of the `gureum` facade that compiles the provider in, default placement zone, one
//! line of description). This crate names no provider: the facade tells the registry which
//! providers exist ([`ProviderEntry`]), compiled in or not, so an unknown scheme's error can
//! say which cargo feature would enable it.

use crate::compute::Compute;
use crate::config::resolve_url;
use crate::error::{Error, Result};
use crate::layering::{LayerOpener, LayerParams, OpenTarget, PARAM_ZONE};
use crate::queue::Queue;
use crate::storage::Bucket;
use crate::url::ResourceUrl;
use crate::Zone;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A resolved URL with its layer parameters taken out: the URL for the provider, the layer
/// parameters, what is known of the target, and the layers to stack.
type Split = (
    ResourceUrl,
    LayerParams,
    OpenTarget,
    Vec<Arc<dyn LayerOpener>>,
);

/// The three services.
///
/// # Examples
///
/// ```
/// use gureum_core::Service;
/// assert_eq!(Service::Queue.as_str(), "queue");
/// assert_eq!(Service::Storage.env_var(), "GUREUM_STORAGE_URL");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Object storage.
    Storage,
    /// Message queues.
    Queue,
    /// Virtual machines.
    Compute,
}

impl Service {
    /// Lowercase name.
    ///
    /// ```
    /// use gureum_core::Service;
    /// assert_eq!(Service::Compute.as_str(), "compute");
    /// assert_eq!(Service::Compute.to_string(), "compute");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Storage => "storage",
            Service::Queue => "queue",
            Service::Compute => "compute",
        }
    }
    /// The environment variable that holds this service's URL.
    ///
    /// ```
    /// use gureum_core::Service;
    /// assert_eq!(Service::Queue.env_var(), "GUREUM_QUEUE_URL");
    /// ```
    pub fn env_var(self) -> &'static str {
        match self {
            Service::Storage => "GUREUM_STORAGE_URL",
            Service::Queue => "GUREUM_QUEUE_URL",
            Service::Compute => "GUREUM_COMPUTE_URL",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One URL scheme a provider serves, as the provider crate describes it (its `SCHEMES` list).
///
/// ```
/// let sqlite = gureum_local::SCHEMES.iter().find(|s| s.scheme == "sqlite").unwrap();
/// assert_eq!(sqlite.service, gureum_core::Service::Queue);
/// assert_eq!(sqlite.feature, "local");
/// assert_eq!(sqlite.zone, gureum_core::Zone::OnPrem);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemeInfo {
    /// The URL scheme, without `://` (`"s3"`).
    pub scheme: &'static str,
    /// The service the scheme opens.
    pub service: Service,
    /// The cargo feature of the `gureum` facade crate that compiles the provider in.
    pub feature: &'static str,
    /// Where the backend runs unless the URL or profile says otherwise.
    pub zone: Zone,
    /// One line for humans (`gureum schemes`, error hints).
    pub description: &'static str,
}

/// A provider crate that is compiled in: its registration function and its own scheme list.
///
/// ```
/// use gureum_core::{CompiledProvider, ProviderEntry, Registry, Service};
/// let local = CompiledProvider { register: gureum_local::register, schemes: gureum_local::SCHEMES };
/// let entry = ProviderEntry { feature: "local", schemes: &[("mem", Service::Storage)], compiled: Some(local) };
/// let registry = Registry::from_providers(&[entry]);
/// assert!(registry.scheme_info(Service::Storage, "file").is_some());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CompiledProvider {
    /// The provider's `register`.
    pub register: fn(&mut Registry),
    /// The provider's `SCHEMES`.
    pub schemes: &'static [SchemeInfo],
}

/// One provider as the facade knows it, whether or not it is compiled into this build.
///
/// A provider that is not compiled in cannot be asked for its [`SchemeInfo`] list, so the
/// facade's one line per provider carries the feature and the `(scheme, service)` pairs
/// itself; a test of the facade built with every provider checks that this line equals the
/// provider's own `SCHEMES`, so the two cannot drift.
///
/// ```
/// use gureum_core::{ProviderEntry, Registry, Service};
/// // A provider the build does not compile in is still known, for the error hint.
/// let aws = ProviderEntry { feature: "aws", schemes: &[("s3", Service::Storage)], compiled: None };
/// let registry = Registry::from_providers(&[aws]);
/// assert_eq!(registry.missing(Service::Storage)[0].feature, "aws");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProviderEntry {
    /// The facade's cargo feature that compiles the provider in.
    pub feature: &'static str,
    /// The schemes the provider serves.
    pub schemes: &'static [(&'static str, Service)],
    /// `Some` when the feature is enabled in this build.
    pub compiled: Option<CompiledProvider>,
}

/// A scheme whose provider is known but not compiled into this build.
///
/// ```
/// use gureum_core::{MissingScheme, ProviderEntry, Registry, Service};
/// let entry = ProviderEntry { feature: "azure", schemes: &[("azblob", Service::Storage)], compiled: None };
/// let registry = Registry::from_providers(&[entry]);
/// let m: &MissingScheme = registry.missing(Service::Storage)[0];
/// assert_eq!((m.scheme, m.feature), ("azblob", "azure"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingScheme {
    /// The URL scheme.
    pub scheme: &'static str,
    /// The service.
    pub service: Service,
    /// The cargo feature of the `gureum` crate that would enable it.
    pub feature: &'static str,
}

/// Opens buckets for one URL scheme.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, Bucket, Registry, ResourceUrl, StorageOpener};
/// use std::sync::Arc;
/// /// Opens `scratch://NAME` as a process-wide in-memory bucket.
/// struct Scratch;
/// #[async_trait]
/// impl StorageOpener for Scratch {
///     async fn open_bucket(&self, url: &ResourceUrl) -> gureum_core::Result<Bucket> {
///         Ok(gureum_local::storage::open_mem(url.host()))
///     }
/// }
/// let mut registry = Registry::new();
/// registry.register_storage("scratch", Arc::new(Scratch));
/// let bucket = registry.open_bucket(Some("scratch://tmp")).await?;
/// assert_eq!(bucket.name(), "tmp");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait StorageOpener: Send + Sync {
    /// Open the bucket the URL names.
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket>;
}
/// Opens queues for one URL scheme.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, Queue, QueueOpener, Registry, ResourceUrl};
/// use std::sync::Arc;
/// struct Jobs;
/// #[async_trait]
/// impl QueueOpener for Jobs {
///     async fn open_queue(&self, url: &ResourceUrl) -> gureum_core::Result<Queue> {
///         gureum_local::queue::MemQueue::open(url.host())
///     }
/// }
/// let mut registry = Registry::new();
/// registry.register_queue("jobs", Arc::new(Jobs));
/// assert_eq!(registry.open_queue(Some("jobs://ocr")).await?.name(), "ocr");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait QueueOpener: Send + Sync {
    /// Open the queue the URL names.
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue>;
}
/// Opens compute services for one URL scheme.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, Compute, ComputeOpener, Registry, ResourceUrl};
/// use std::sync::Arc;
/// struct Here;
/// #[async_trait]
/// impl ComputeOpener for Here {
///     async fn open_compute(&self, url: &ResourceUrl) -> gureum_core::Result<Compute> {
///         gureum_local::compute::open_local(url.path(), None)
///     }
/// }
/// let tmp = tempfile::tempdir()?;
/// let mut registry = Registry::new();
/// registry.register_compute("here", Arc::new(Here));
/// let compute = registry.open_compute(Some(&format!("here://{}", tmp.path().display()))).await?;
/// assert!(compute.list().await?.is_empty());
/// # Ok(()) }
/// ```
#[async_trait]
pub trait ComputeOpener: Send + Sync {
    /// Open the compute service the URL names.
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute>;
}

/// Scheme → opener tables for the three services, with the descriptions of the registered
/// schemes and the schemes of known providers that are not compiled in.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Registry;
/// let mut registry = Registry::new();
/// gureum_local::register(&mut registry);
/// let bucket = registry.open_bucket(Some("mem://registry-struct")).await?;
/// let queue = registry.open_queue(Some("mem://registry-struct")).await?;
/// assert_eq!((bucket.name(), queue.name()), ("registry-struct", "registry-struct"));
/// # Ok(()) }
/// ```
#[derive(Default, Clone)]
pub struct Registry {
    storage: BTreeMap<String, Arc<dyn StorageOpener>>,
    queue: BTreeMap<String, Arc<dyn QueueOpener>>,
    compute: BTreeMap<String, Arc<dyn ComputeOpener>>,
    described: Vec<SchemeInfo>,
    missing: Vec<MissingScheme>,
    layers: Vec<Arc<dyn LayerOpener>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("storage", &self.storage.keys().collect::<Vec<_>>())
            .field("queue", &self.queue.keys().collect::<Vec<_>>())
            .field("compute", &self.compute.keys().collect::<Vec<_>>())
            .field("missing", &self.missing)
            .field(
                "layers",
                &self.layers.iter().map(|l| l.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use gureum_core::{ErrorKind, Registry};
    /// let empty = Registry::new();
    /// let e = empty.open_bucket(Some("mem://b")).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // no scheme registered
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
    /// A registry of the given providers: the compiled ones registered and described, the
    /// others noted for the "not compiled in" hint.
    ///
    /// ```
    /// use gureum_core::{CompiledProvider, ProviderEntry, Registry, Service};
    /// let providers = [
    ///     ProviderEntry { feature: "local", schemes: &[], compiled: Some(CompiledProvider { register: gureum_local::register, schemes: gureum_local::SCHEMES }) },
    ///     ProviderEntry { feature: "aws", schemes: &[("sqs", Service::Queue)], compiled: None },
    /// ];
    /// let registry = Registry::from_providers(&providers);
    /// assert!(registry.scheme_info(Service::Queue, "sqlite").is_some());
    /// assert_eq!(registry.missing(Service::Queue)[0].scheme, "sqs");
    /// ```
    pub fn from_providers(providers: &[ProviderEntry]) -> Self {
        let mut r = Self::new();
        for p in providers {
            r.add_provider(p);
        }
        r
    }
    /// Add one provider: register and describe it if it is compiled in, else note its schemes
    /// as missing (see [`Registry::missing`]).
    ///
    /// ```
    /// use gureum_core::{ProviderEntry, Registry, Service};
    /// let mut registry = Registry::new();
    /// registry.add_provider(&ProviderEntry { feature: "kafka", schemes: &[("kafka", Service::Queue)], compiled: None });
    /// assert_eq!(registry.missing(Service::Queue).len(), 1);
    /// ```
    pub fn add_provider(&mut self, p: &ProviderEntry) {
        match &p.compiled {
            Some(c) => {
                (c.register)(self);
                self.describe(c.schemes);
            }
            None => {
                for &(scheme, service) in p.schemes {
                    self.missing.push(MissingScheme {
                        scheme,
                        service,
                        feature: p.feature,
                    });
                }
            }
        }
    }
    /// Record descriptions of schemes (a provider's `SCHEMES`), shown by [`Registry::scheme_info`]
    /// and in error hints. Describing a scheme does not register an opener for it.
    ///
    /// ```
    /// use gureum_core::{Registry, Service};
    /// let mut registry = Registry::new();
    /// registry.describe(gureum_local::SCHEMES);
    /// let info = registry.scheme_info(Service::Compute, "local").unwrap();
    /// assert_eq!(info.description, "supervised processes on this host");
    /// ```
    pub fn describe(&mut self, infos: &[SchemeInfo]) {
        for i in infos {
            self.described
                .retain(|d| !(d.scheme == i.scheme && d.service == i.service));
            self.described.push(*i);
        }
    }
    /// The description of a scheme, if its provider gave one.
    ///
    /// ```
    /// use gureum_core::{Registry, Service};
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry); // registers openers only
    /// assert!(registry.scheme_info(Service::Storage, "file").is_none());
    /// registry.describe(gureum_local::SCHEMES);
    /// assert_eq!(registry.scheme_info(Service::Storage, "file").unwrap().feature, "local");
    /// ```
    pub fn scheme_info(&self, service: Service, scheme: &str) -> Option<&SchemeInfo> {
        self.described
            .iter()
            .find(|d| d.service == service && d.scheme == scheme)
    }
    /// Schemes of a service whose provider is known but not compiled into this build.
    ///
    /// ```
    /// use gureum_core::{ProviderEntry, Registry, Service};
    /// let registry = Registry::from_providers(&[ProviderEntry { feature: "openstack", schemes: &[("swift", Service::Storage), ("nova", Service::Compute)], compiled: None }]);
    /// assert_eq!(registry.missing(Service::Compute)[0].scheme, "nova");
    /// assert!(registry.missing(Service::Queue).is_empty());
    /// ```
    pub fn missing(&self, service: Service) -> Vec<&MissingScheme> {
        self.missing
            .iter()
            .filter(|m| m.service == service && !self.is_registered(service, m.scheme))
            .collect()
    }
    /// Register a storage opener.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{async_trait, Bucket, Registry, ResourceUrl, StorageOpener};
    /// use std::sync::Arc;
    /// struct Scratch;
    /// #[async_trait]
    /// impl StorageOpener for Scratch {
    ///     async fn open_bucket(&self, url: &ResourceUrl) -> gureum_core::Result<Bucket> {
    ///         Ok(gureum_local::storage::open_mem(url.host()))
    ///     }
    /// }
    /// let mut registry = Registry::new();
    /// registry.register_storage("scratch", Arc::new(Scratch));
    /// registry.register_storage("scratch", Arc::new(Scratch)); // a second opener replaces the first
    /// assert_eq!(registry.open_bucket(Some("scratch://x")).await?.name(), "x");
    /// # Ok(()) }
    /// ```
    pub fn register_storage(&mut self, scheme: &str, o: Arc<dyn StorageOpener>) {
        self.storage.insert(scheme.to_string(), o);
    }
    /// Register a queue opener.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Registry;
    /// use std::sync::Arc;
    /// let mut registry = Registry::new();
    /// registry.register_queue("mem", Arc::new(gureum_local::queue::MemQueueOpener));
    /// assert_eq!(registry.open_queue(Some("mem://reg-queue")).await?.name(), "reg-queue");
    /// # Ok(()) }
    /// ```
    pub fn register_queue(&mut self, scheme: &str, o: Arc<dyn QueueOpener>) {
        self.queue.insert(scheme.to_string(), o);
    }
    /// Register a compute opener.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Registry;
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry); // registers `local` with register_compute
    /// let tmp = tempfile::tempdir()?;
    /// let compute = registry.open_compute(Some(&format!("local://{}", tmp.path().display()))).await?;
    /// assert!(compute.list().await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn register_compute(&mut self, scheme: &str, o: Arc<dyn ComputeOpener>) {
        self.compute.insert(scheme.to_string(), o);
    }
    /// Register a layer whose URL / profile parameters ([`LayerOpener::params`]) stack it over
    /// the buckets and queues this registry opens (see [`crate::layering`]). A second opener
    /// with the same name replaces the first.
    ///
    /// ```
    /// use gureum_core::{async_trait, Bucket, LayerOpener, LayerParams, LayerSlot, OpenTarget, Registry};
    /// use std::sync::Arc;
    /// #[derive(Debug)]
    /// struct Noop;
    /// #[async_trait]
    /// impl LayerOpener for Noop {
    ///     fn name(&self) -> &'static str { "noop" }
    ///     fn params(&self) -> &'static [&'static str] { &["noop"] }
    ///     fn slot(&self) -> LayerSlot { LayerSlot::Audit }
    ///     async fn stack_bucket(&self, b: Bucket, _: &OpenTarget, _: &LayerParams) -> gureum_core::Result<Bucket> { Ok(b) }
    /// }
    /// let mut registry = Registry::new();
    /// registry.register_layer(Arc::new(Noop));
    /// registry.register_layer(Arc::new(Noop)); // same name: replaces
    /// assert_eq!(registry.layers().len(), 1);
    /// assert_eq!(registry.layer_params(), ["noop", "zone"]);
    /// ```
    pub fn register_layer(&mut self, opener: Arc<dyn LayerOpener>) {
        self.layers.retain(|l| l.name() != opener.name());
        self.layers.push(opener);
        self.layers.sort_by_key(|l| l.slot());
    }
    /// The registered layers, innermost first.
    ///
    /// ```
    /// use gureum_core::Registry;
    /// assert!(Registry::new().layers().is_empty());
    /// ```
    pub fn layers(&self) -> &[Arc<dyn LayerOpener>] {
        &self.layers
    }
    /// Every parameter name that is valid on every storage and queue URL whatever the
    /// scheme: the registered layers' parameters and [`PARAM_ZONE`], sorted.
    ///
    /// ```
    /// use gureum_core::Registry;
    /// // Without layers only `zone` is valid on every URL.
    /// assert_eq!(Registry::new().layer_params(), ["zone"]);
    /// ```
    pub fn layer_params(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .layers
            .iter()
            .flat_map(|l| l.params().iter().copied())
            .chain([PARAM_ZONE])
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Parse a resolved URL for `service` and take the layer parameters out of it.
    fn split_layers(
        &self,
        service: Service,
        url: &str,
        profile: &BTreeMap<String, String>,
    ) -> Result<Split> {
        let mut ru = ResourceUrl::parse(url)?.with_defaults(profile);
        let names: Vec<&'static str> = self
            .layers
            .iter()
            .flat_map(|l| l.params().iter().copied())
            .collect();
        let params = LayerParams::new(ru.take_params(&names));
        let engaged: Vec<Arc<dyn LayerOpener>> = self
            .layers
            .iter()
            .filter(|l| l.engaged(&params))
            .cloned()
            .collect();
        let zone = match ru.param(PARAM_ZONE) {
            Some(z) => Zone::parse(z)?,
            None => self
                .scheme_info(service, ru.scheme())
                .map(|i| i.zone)
                .unwrap_or_default(),
        };
        let target = OpenTarget {
            service,
            scheme: ru.scheme().to_string(),
            url: ru.redacted(),
            zone,
            encrypted: engaged.iter().any(|l| l.encrypts()),
        };
        Ok((ru, params, target, engaged))
    }

    /// Registered schemes of a service.
    ///
    /// # Examples
    ///
    /// ```
    /// use gureum_core::{Registry, Service};
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry);
    /// let mut queues = registry.schemes(Service::Queue);
    /// queues.sort();
    /// assert_eq!(queues, ["mem", "sqlite"]);
    /// ```
    pub fn schemes(&self, service: Service) -> Vec<String> {
        match service {
            Service::Storage => self.storage.keys().cloned().collect(),
            Service::Queue => self.queue.keys().cloned().collect(),
            Service::Compute => self.compute.keys().cloned().collect(),
        }
    }
    fn is_registered(&self, service: Service, scheme: &str) -> bool {
        match service {
            Service::Storage => self.storage.contains_key(scheme),
            Service::Queue => self.queue.contains_key(scheme),
            Service::Compute => self.compute.contains_key(scheme),
        }
    }

    fn unknown(&self, service: Service, scheme: &str) -> Error {
        let missing = self.missing(service);
        if let Some(m) = missing.iter().find(|m| m.scheme == scheme) {
            return Error::invalid(format!(
                "{service} scheme {scheme:?} is not compiled in; enable cargo feature {:?} of \
                 the gureum crate (gureum = {{ features = [{:?}] }})",
                m.feature, m.feature
            ));
        }
        let enabled: Vec<String> = self
            .schemes(service)
            .iter()
            .map(|s| format!("{s}://"))
            .collect();
        let mut msg = format!(
            "unknown {service} scheme {scheme:?}; schemes in this build: {}",
            if enabled.is_empty() {
                "none".to_string()
            } else {
                enabled.join(", ")
            }
        );
        if !missing.is_empty() {
            let m: Vec<String> = missing
                .iter()
                .map(|m| format!("{}:// (cargo feature {:?})", m.scheme, m.feature))
                .collect();
            msg.push_str("; not compiled in: ");
            msg.push_str(&m.join(", "));
        }
        Error::invalid(msg)
    }

    /// Resolve (explicit → env → profile → default) and open a bucket, with the layers its
    /// parameters name stacked over it (see [`crate::layering`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, Registry};
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry);
    /// let bucket = registry.open_bucket(Some("mem://registry-doc")).await?;
    /// assert_eq!(bucket.info().scheme, "mem");
    /// // A misspelt parameter is refused, naming the valid ones.
    /// # let tmp = tempfile::tempdir()?;
    /// let url = format!("file://{}/b?durabel=true", tmp.path().display());
    /// let e = registry.open_bucket(Some(&url)).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// assert!(e.message().contains("durable"));
    /// // A scheme nobody registered.
    /// assert_eq!(registry.open_bucket(Some("s3://b")).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub async fn open_bucket(&self, url: Option<&str>) -> Result<Bucket> {
        let (u, profile) = resolve_url(Service::Storage, url)?;
        let (ru, params, target, engaged) = self.split_layers(Service::Storage, &u, &profile)?;
        let o = self
            .storage
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Storage, ru.scheme()))?;
        for l in &engaged {
            l.check_open(&target, &params).await?;
        }
        let mut bucket = checked_params(&ru, o.open_bucket(&ru).await)?;
        if ru.param(PARAM_ZONE).is_some() || bucket.info().scheme.is_empty() {
            let mut info = bucket.info().clone();
            if info.scheme.is_empty() {
                info.scheme = target.scheme.clone();
                info.zone = target.zone;
            }
            if ru.param(PARAM_ZONE).is_some() {
                info.zone = target.zone;
            }
            bucket = bucket.with_info(info);
        }
        for l in &engaged {
            bucket = l.stack_bucket(bucket, &target, &params).await?;
        }
        Ok(bucket)
    }
    /// Resolve and open a queue, with the layers its parameters name stacked over it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{Message, Registry};
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry);
    /// let tmp = tempfile::tempdir()?;
    /// let url = format!("sqlite://{}/q.db?queue=jobs", tmp.path().display());
    /// let queue = registry.open_queue(Some(&url)).await?;
    /// queue.send(Message::new("ocr c-1041")).await?;
    /// assert_eq!(queue.depth().await?, 1);
    /// assert_eq!(queue.info().scheme, "sqlite");
    /// # Ok(()) }
    /// ```
    pub async fn open_queue(&self, url: Option<&str>) -> Result<Queue> {
        let (u, profile) = resolve_url(Service::Queue, url)?;
        let (ru, params, target, engaged) = self.split_layers(Service::Queue, &u, &profile)?;
        let o = self
            .queue
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Queue, ru.scheme()))?;
        for l in &engaged {
            l.check_open(&target, &params).await?;
        }
        let mut queue = checked_params(&ru, o.open_queue(&ru).await)?;
        if queue.info().scheme.is_empty() || ru.param(PARAM_ZONE).is_some() {
            let mut info = queue.info().clone();
            if info.scheme.is_empty() {
                info.scheme = target.scheme.clone();
                info.provider = self
                    .scheme_info(Service::Queue, &target.scheme)
                    .map(|i| i.feature.to_string())
                    .unwrap_or_default();
            }
            info.zone = target.zone;
            queue = queue.with_info(info);
        }
        for l in &engaged {
            queue = l.stack_queue(queue, &target, &params).await?;
        }
        Ok(queue)
    }
    /// Resolve and open a compute service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, Registry};
    /// let mut registry = Registry::new();
    /// gureum_local::register(&mut registry);
    /// let tmp = tempfile::tempdir()?;
    /// let compute = registry.open_compute(Some(&format!("local://{}", tmp.path().display()))).await?;
    /// assert!(compute.capabilities().stop_start);
    /// let e = registry.open_compute(Some("ec2://ap-northeast-2")).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // not registered here
    /// # Ok(()) }
    /// ```
    pub async fn open_compute(&self, url: Option<&str>) -> Result<Compute> {
        let (u, params) = resolve_url(Service::Compute, url)?;
        let ru = ResourceUrl::parse(&u)?.with_defaults(&params);
        let o = self
            .compute
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Compute, ru.scheme()))?;
        let opened = o.open_compute(&ru).await;
        checked_params(&ru, opened)
    }
}

/// The opener's result, or an error naming the URL's query parameters that the opener did
/// not read ([`ResourceUrl::check_unknown`]) and listing the valid ones. A failed open keeps
/// its error, with the unknown parameters added (a misspelt `regoin` is often why a
/// required `region` is missing).
fn checked_params<T>(ru: &ResourceUrl, opened: Result<T>) -> Result<T> {
    match opened {
        Ok(x) => {
            ru.check_unknown(&[])?;
            Ok(x)
        }
        Err(e) => match ru.check_unknown(&[]) {
            Ok(()) => Err(e),
            Err(u) => Err(e.context_message(u.message())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[derive(Debug)]
    struct NoStorage;
    #[async_trait]
    impl StorageOpener for NoStorage {
        async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
            Err(Error::unsupported(format!("{url}: test opener")))
        }
    }

    const DESC: &[SchemeInfo] = &[SchemeInfo {
        scheme: "here",
        service: Service::Storage,
        feature: "here-feature",
        zone: Zone::OnPrem,
        description: "a test scheme",
    }];

    fn register_here(r: &mut Registry) {
        r.register_storage("here", Arc::new(NoStorage));
    }

    fn providers() -> [ProviderEntry; 2] {
        [
            ProviderEntry {
                feature: "here-feature",
                schemes: &[("here", Service::Storage)],
                compiled: Some(CompiledProvider {
                    register: register_here,
                    schemes: DESC,
                }),
            },
            ProviderEntry {
                feature: "far",
                schemes: &[("far", Service::Storage), ("farq", Service::Queue)],
                compiled: None,
            },
        ]
    }

    #[tokio::test]
    async fn unknown_scheme_lists_this_build_and_the_missing_features() {
        let r = Registry::from_providers(&providers());
        let e = r.open_bucket(Some("gopher://x")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let m = e.message();
        assert!(m.contains("gopher"), "{m}");
        assert!(m.contains("schemes in this build: here://"), "{m}");
        assert!(m.contains("far:// (cargo feature \"far\")"), "{m}");
        assert!(!m.contains("farq"), "a queue scheme in a storage hint: {m}");
        let e = Registry::new()
            .open_queue(Some("gopher://x"))
            .await
            .unwrap_err();
        assert!(e.message().contains("schemes in this build: none"), "{e}");
    }

    #[tokio::test]
    async fn a_scheme_that_is_not_compiled_in_names_its_feature() {
        let r = Registry::from_providers(&providers());
        let e = r.open_queue(Some("farq://q")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("not compiled in"), "{e}");
        assert!(e.message().contains("cargo feature \"far\""), "{e}");
        // The compiled provider is registered and described.
        let e = r.open_bucket(Some("here://b")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "the opener ran: {e}");
        assert_eq!(r.scheme_info(Service::Storage, "here"), Some(&DESC[0]));
        assert_eq!(r.missing(Service::Storage).len(), 1);
        assert!(r.missing(Service::Compute).is_empty());
    }

    /// Storage opener that remembers the URL it saw and opens an in-memory bucket.
    #[derive(Debug, Default)]
    struct Seen(std::sync::Mutex<Vec<String>>);
    #[async_trait]
    impl StorageOpener for Seen {
        async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
            let params: Vec<String> = url.params().keys().cloned().collect();
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", url.url(), params.join(",")));
            Ok(Bucket::new(
                "b",
                Arc::new(object_store::memory::InMemory::new()),
            ))
        }
    }

    /// A layer opener that records its calls in a shared log.
    #[derive(Debug)]
    struct Tag {
        name: &'static str,
        params: &'static [&'static str],
        slot: crate::LayerSlot,
        encrypts: bool,
        log: Arc<std::sync::Mutex<Vec<String>>>,
    }
    #[async_trait]
    impl LayerOpener for Tag {
        fn name(&self) -> &'static str {
            self.name
        }
        fn params(&self) -> &'static [&'static str] {
            self.params
        }
        fn slot(&self) -> crate::LayerSlot {
            self.slot
        }
        fn encrypts(&self) -> bool {
            self.encrypts
        }
        async fn check_open(&self, t: &OpenTarget, p: &LayerParams) -> Result<()> {
            self.log.lock().unwrap().push(format!(
                "check {} zone={} encrypted={}",
                self.name, t.zone, t.encrypted
            ));
            if p.get("class") == Some("forbidden") {
                return Err(Error::new(crate::ErrorKind::PolicyViolation, "no"));
            }
            Ok(())
        }
        async fn stack_bucket(&self, b: Bucket, _: &OpenTarget, p: &LayerParams) -> Result<Bucket> {
            let mine: Vec<String> = self
                .params
                .iter()
                .filter_map(|n| p.get(n).map(|v| format!("{n}={v}")))
                .collect();
            self.log
                .lock()
                .unwrap()
                .push(format!("stack {} {}", self.name, mine.join(",")));
            Ok(b.record_layer(self.name, self.encrypts))
        }
    }

    #[tokio::test]
    async fn layer_params_are_stripped_checked_and_stacked_in_order() {
        let seen = Arc::new(Seen::default());
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut r = Registry::new();
        r.register_storage("here", seen.clone());
        r.describe(DESC);
        // Registered out of order on purpose: the slot decides.
        for (name, params, slot, encrypts) in [
            ("policy", &["class"][..], crate::LayerSlot::Policy, false),
            (
                "encrypt",
                &["encrypt"][..],
                crate::LayerSlot::Encryption,
                true,
            ),
            ("audit", &["audit"][..], crate::LayerSlot::Audit, false),
        ] {
            let params: &'static [&'static str] = Box::leak(params.to_vec().into_boxed_slice());
            r.register_layer(Arc::new(Tag {
                name,
                params,
                slot,
                encrypts,
                log: log.clone(),
            }));
        }
        assert_eq!(r.layer_params(), vec!["audit", "class", "encrypt", "zone"]);
        let b = r
            .open_bucket(Some(
                "here://b?region=kr&class=personal&encrypt=keyfile:///k&zone=foreign",
            ))
            .await
            .unwrap();
        assert_eq!(
            seen.0.lock().unwrap().as_slice(),
            ["here://b?region=kr&zone=foreign region,zone"],
            "the provider saw no layer parameter"
        );
        assert_eq!(
            log.lock().unwrap().as_slice(),
            [
                "check encrypt zone=foreign encrypted=true",
                "check policy zone=foreign encrypted=true",
                "stack encrypt encrypt=keyfile:///k",
                "stack policy class=personal",
            ]
        );
        assert_eq!(b.layers(), ["encrypt", "policy"]);
        assert!(b.is_encrypted());
        assert_eq!(b.info().zone, Zone::Foreign);
        assert_eq!(b.info().scheme, "here");

        // A refusal in check_open: the provider is never called.
        log.lock().unwrap().clear();
        let e = r
            .open_bucket(Some("here://b?class=forbidden"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::PolicyViolation);
        assert_eq!(
            seen.0.lock().unwrap().len(),
            1,
            "the provider was not called"
        );
        // Without layer parameters nothing is stacked; the scheme's zone is the default.
        let b = r.open_bucket(Some("here://b")).await.unwrap();
        assert!(b.layers().is_empty() && !b.is_encrypted());
        assert_eq!(b.info().zone, Zone::OnPrem);
        assert!(r.open_bucket(Some("here://b?zone=mars")).await.is_err());
    }
}
