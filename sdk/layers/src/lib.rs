//! # gureum-layers
//!
//! Layers stack behaviour over a [`Bucket`] or a [`Queue`] without the application or the
//! provider knowing: the sovereignty features (placement policy, encryption, audit, mirroring)
//! are built as layers on this foundation. The model is OpenDAL's `Layer`: a layer takes the
//! inner service and returns a service of the same kind that wraps it.
//!
//! * Storage: a layer wraps the bucket's `Arc<dyn ObjectStore>` ([`Layer::wrap_store`]), so it
//!   sees every operation of every path into the bucket, `Bucket`'s own methods as well as
//!   `bucket.object_store()` handed to DataFusion or Polars.
//! * Queues: a layer may wrap the queue's `Arc<dyn QueueDriver>` ([`Layer::wrap_queue`]); the
//!   default leaves queues untouched.
//!
//! Stacking keeps everything else of the handle: name, capabilities, backend info (scheme,
//! provider, zone), admin driver, presigner, and the escape hatch (`native::<T>()` still hands
//! out the vendor client underneath every layer). The store or driver underneath is not
//! changed; a layer only holds it.
//!
//! Order: `bucket.layer(a).layer(b)` puts `b` outermost, so a call runs `b`, then `a`, then the
//! backend, and results come back the other way (as in OpenDAL and tower).
//!
//! ```
//! use gureum_core::object_store::{memory::InMemory, ObjectStore};
//! use gureum_core::Bucket;
//! use gureum_layers::{BucketLayerExt, Layer};
//! use std::sync::Arc;
//!
//! /// A layer that changes nothing (a real one returns a wrapper around `inner`).
//! #[derive(Debug)]
//! struct Identity;
//! impl Layer for Identity {
//!     fn name(&self) -> &str {
//!         "identity"
//!     }
//!     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
//!         inner
//!     }
//! }
//!
//! let bucket = Bucket::new("reports", Arc::new(InMemory::new())).layer(Identity);
//! assert_eq!(bucket.name(), "reports");
//! ```
//!
//! ## Layers from URL and profile parameters
//!
//! [`register`] adds this crate's layers to a [`Registry`]: the facade's `gureum::registry()`
//! calls it, so `open_bucket("s3://b?class=personal&audit=file:///var/log/gureum/a.jsonl")`
//! stacks the placement policy and the access record, and the provider never sees those
//! parameters (see `gureum_core::layering`). Stacking order, outermost first: policy, audit,
//! encryption, backend.
#![deny(missing_docs)]

pub mod audit;
pub mod mirror;
pub mod policy;

use gureum_core::object_store::ObjectStore;
use gureum_core::{Bucket, Queue, QueueDriver, Registry};
use std::fmt;
use std::sync::Arc;

/// Register every layer of this crate with `registry`, so their URL / profile parameters
/// stack them: `class=` / `policy=` (placement policy, [`policy::PolicyOpener`]) and
/// `audit=` / `audit_*` (access record, [`audit::AuditOpener`], which opens `bucket+URL`
/// sinks with the providers already in `registry`). A new layer adds one line here with its
/// [`gureum_core::LayerOpener`]; a layer crate of its own (`gureum-crypto`) registers from
/// the facade's `gureum::registry()`.
///
/// # Examples
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_layers::register(&mut registry);
/// let params = registry.layer_params();
/// assert!(params.contains(&"class") && params.contains(&"audit"));
/// ```
pub fn register(registry: &mut Registry) {
    let audit = audit::AuditOpener::new(registry.clone());
    registry.register_layer(Arc::new(audit));
    registry.register_layer(Arc::new(policy::PolicyOpener));
}

/// Behaviour stacked over a bucket's store and, optionally, a queue's driver.
///
/// ```
/// use gureum_core::object_store::{memory::InMemory, ObjectStore};
/// use gureum_core::Bucket;
/// use gureum_layers::{BucketLayerExt, Layer};
/// use std::sync::Arc;
/// /// Hands the inner store through; a real layer returns a wrapper that forwards to it.
/// #[derive(Debug)]
/// struct PassThrough;
/// impl Layer for PassThrough {
///     fn name(&self) -> &str { "pass-through" }
///     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
/// }
/// let bucket = Bucket::new("b", Arc::new(InMemory::new())).layer(PassThrough);
/// assert_eq!(bucket.layers(), ["pass-through"]);
/// assert!(!bucket.is_encrypted()); // `encrypts()` defaults to false
/// ```
pub trait Layer: Send + Sync + fmt::Debug {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Wrap the store of a bucket. The returned store must forward to `inner` for whatever it
    /// does not change itself.
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>;

    /// Wrap the driver of a queue. The default leaves the queue as it is.
    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        inner
    }

    /// Whether this layer encrypts on the client, so the backend stores only ciphertext.
    /// Stacking such a layer marks the handle ([`Bucket::is_encrypted`],
    /// [`Queue::is_encrypted`]), which the placement policy can require.
    fn encrypts(&self) -> bool {
        false
    }

    /// Stack this layer over a whole bucket handle. The default wraps the bucket's store with
    /// [`Layer::wrap_store`] and keeps everything else. A layer overrides it when it needs the
    /// bucket itself (its name or backend info, e.g. to bind data to the bucket) or changes
    /// what the handle offers (client-side encryption drops the presigner, whose URLs would
    /// hand out ciphertext).
    fn layer_bucket(&self, bucket: Bucket) -> Bucket {
        let store = self.wrap_store(bucket.object_store());
        bucket.with_store(store)
    }

    /// Stack this layer over a whole queue handle. The default wraps the queue's driver with
    /// [`Layer::wrap_queue`] and keeps everything else.
    fn layer_queue(&self, queue: Queue) -> Queue {
        let driver = self.wrap_queue(queue.driver().clone());
        queue.with_driver(driver)
    }
}

impl<L: Layer + ?Sized> Layer for Arc<L> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        (**self).wrap_store(inner)
    }
    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        (**self).wrap_queue(inner)
    }
    fn encrypts(&self) -> bool {
        (**self).encrypts()
    }
    fn layer_bucket(&self, bucket: Bucket) -> Bucket {
        (**self).layer_bucket(bucket)
    }
    fn layer_queue(&self, queue: Queue) -> Queue {
        (**self).layer_queue(queue)
    }
}

/// `bucket.layer(l)`: stack a layer over a [`Bucket`].
///
/// ```
/// # use gureum_core::object_store::{memory::InMemory, ObjectStore};
/// # use std::sync::Arc;
/// # #[derive(Debug)] struct Named(&'static str);
/// # impl gureum_layers::Layer for Named {
/// #     fn name(&self) -> &str { self.0 }
/// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
/// # }
/// use gureum_layers::BucketLayerExt;
/// let bucket = gureum_core::Bucket::new("b", Arc::new(InMemory::new()))
///     .layer(Named("inner"))
///     .layer(Named("outer")); // outermost: runs first
/// assert_eq!(bucket.layers(), ["inner", "outer"]);
/// ```
pub trait BucketLayerExt {
    /// The same bucket with `layer` wrapped around its store (outermost).
    fn layer(self, layer: impl Layer) -> Bucket;
}

impl BucketLayerExt for Bucket {
    fn layer(self, layer: impl Layer) -> Bucket {
        tracing::debug!(layer = layer.name(), bucket = self.name(), "layer stacked");
        layer
            .layer_bucket(self)
            .record_layer(layer.name(), layer.encrypts())
    }
}

/// `queue.layer(l)`: stack a layer over a [`Queue`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::object_store::ObjectStore;
/// # use std::sync::Arc;
/// # #[derive(Debug)] struct Named(&'static str);
/// # impl gureum_layers::Layer for Named {
/// #     fn name(&self) -> &str { self.0 }
/// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
/// # }
/// use gureum_layers::QueueLayerExt;
/// let queue = gureum::open_queue("mem://layer-ext-doc").await?.layer(Named("trace"));
/// assert_eq!(queue.layers(), ["trace"]);
/// queue.send(gureum_core::Message::new("x")).await?; // `wrap_queue` defaults to the driver itself
/// assert_eq!(queue.depth().await?, 1);
/// # Ok(()) }
/// ```
pub trait QueueLayerExt {
    /// The same queue with `layer` wrapped around its driver (outermost).
    fn layer(self, layer: impl Layer) -> Queue;
}

impl QueueLayerExt for Queue {
    fn layer(self, layer: impl Layer) -> Queue {
        tracing::debug!(layer = layer.name(), queue = self.name(), "layer stacked");
        layer
            .layer_queue(self)
            .record_layer(layer.name(), layer.encrypts())
    }
}

/// An ordered stack of layers, built once (for example from a profile) and applied to any
/// number of buckets and queues. The first layer pushed is innermost.
///
/// ```
/// # use gureum_core::object_store::{memory::InMemory, ObjectStore};
/// # use std::sync::Arc;
/// # #[derive(Debug)] struct Named(&'static str);
/// # impl gureum_layers::Layer for Named {
/// #     fn name(&self) -> &str { self.0 }
/// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
/// # }
/// use gureum_layers::Layers;
/// // Built once (e.g. from a profile), applied to many buckets.
/// let stack = Layers::new().push(Named("audit")).push(Named("policy"));
/// let a = stack.apply_bucket(gureum_core::Bucket::new("a", Arc::new(InMemory::new())));
/// let b = stack.apply_bucket(gureum_core::Bucket::new("b", Arc::new(InMemory::new())));
/// assert_eq!(a.layers(), b.layers());
/// assert_eq!(a.layers(), ["audit", "policy"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Layers {
    stack: Vec<Arc<dyn Layer>>,
}

impl Layers {
    /// An empty stack.
    ///
    /// ```
    /// let stack = gureum_layers::Layers::new();
    /// assert!(stack.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a layer on top (outermost so far).
    ///
    /// ```
    /// # use gureum_core::object_store::ObjectStore;
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Named(&'static str);
    /// # impl gureum_layers::Layer for Named {
    /// #     fn name(&self) -> &str { self.0 }
    /// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
    /// # }
    /// let stack = gureum_layers::Layers::new().push(Named("a")).push(Named("b"));
    /// assert_eq!(stack.len(), 2);
    /// ```
    pub fn push(mut self, layer: impl Layer + 'static) -> Self {
        self.stack.push(Arc::new(layer));
        self
    }
    /// The layers' names, innermost first.
    ///
    /// ```
    /// # use gureum_core::object_store::ObjectStore;
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Named(&'static str);
    /// # impl gureum_layers::Layer for Named {
    /// #     fn name(&self) -> &str { self.0 }
    /// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
    /// # }
    /// let stack = gureum_layers::Layers::new().push(Named("encrypt")).push(Named("audit"));
    /// assert_eq!(stack.names(), ["encrypt", "audit"]); // innermost first
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.stack.iter().map(|l| l.name()).collect()
    }
    /// Number of layers.
    ///
    /// ```
    /// assert_eq!(gureum_layers::Layers::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.stack.len()
    }
    /// Whether the stack is empty.
    ///
    /// ```
    /// # use gureum_core::object_store::ObjectStore;
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Named(&'static str);
    /// # impl gureum_layers::Layer for Named {
    /// #     fn name(&self) -> &str { self.0 }
    /// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
    /// # }
    /// assert!(gureum_layers::Layers::default().is_empty());
    /// assert!(!gureum_layers::Layers::new().push(Named("x")).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }
    /// Stack every layer over a bucket, innermost first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::object_store::{memory::InMemory, ObjectStore};
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Named(&'static str);
    /// # impl gureum_layers::Layer for Named {
    /// #     fn name(&self) -> &str { self.0 }
    /// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
    /// # }
    /// let stack = gureum_layers::Layers::new().push(Named("audit"));
    /// let bucket = stack.apply_bucket(gureum_core::Bucket::new("b", Arc::new(InMemory::new())));
    /// bucket.put("a.txt", "x").await?; // calls pass through every layer
    /// assert_eq!(bucket.layers(), ["audit"]);
    /// # Ok(()) }
    /// ```
    pub fn apply_bucket(&self, bucket: Bucket) -> Bucket {
        self.stack
            .iter()
            .fold(bucket, |b, l| BucketLayerExt::layer(b, l.clone()))
    }
    /// Stack every layer over a queue, innermost first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::object_store::ObjectStore;
    /// # use std::sync::Arc;
    /// # #[derive(Debug)] struct Named(&'static str);
    /// # impl gureum_layers::Layer for Named {
    /// #     fn name(&self) -> &str { self.0 }
    /// #     fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> { inner }
    /// # }
    /// let stack = gureum_layers::Layers::new().push(Named("audit"));
    /// let queue = stack.apply_queue(gureum::open_queue("mem://layers-apply-doc").await?);
    /// assert_eq!(queue.layers(), ["audit"]);
    /// # Ok(()) }
    /// ```
    pub fn apply_queue(&self, queue: Queue) -> Queue {
        self.stack
            .iter()
            .fold(queue, |q, l| QueueLayerExt::layer(q, l.clone()))
    }
}
