//! Portable compute: the [`ComputeDriver`] trait and the [`Compute`] type.
//!
//! Every provider's instance states map to one state machine, [`InstanceState`]. Sizes are
//! portable (vCPU + memory) and resolve to the smallest provider flavor that fits; images are
//! aliases (`ubuntu-22.04`) that resolve to provider images. Provider-specific size and image
//! ids pass through unchanged.

use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The portable instance state machine.
///
/// `Pending → Running ⇄ (Stopping → Stopped)`, any → `Terminating → Terminated`, and
/// `Error` for provider failure states.
///
/// # Examples
///
/// ```
/// use gureum_core::InstanceState;
/// assert!(InstanceState::Running.is_stable());
/// assert!(!InstanceState::Pending.is_stable()); // still changing: keep waiting
/// assert_eq!(InstanceState::Stopped.to_string(), "stopped");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InstanceState {
    /// Being created or started.
    Pending,
    /// Running.
    Running,
    /// Being stopped.
    Stopping,
    /// Stopped (not billed for compute on most clouds).
    Stopped,
    /// Being deleted.
    Terminating,
    /// Deleted.
    Terminated,
    /// Failed.
    Error,
}

impl InstanceState {
    /// Whether no further transition happens without a request.
    ///
    /// ```
    /// use gureum_core::InstanceState;
    /// assert!(InstanceState::Stopped.is_stable());
    /// assert!(!InstanceState::Stopping.is_stable());
    /// ```
    pub fn is_stable(self) -> bool {
        matches!(
            self,
            InstanceState::Running
                | InstanceState::Stopped
                | InstanceState::Terminated
                | InstanceState::Error
        )
    }
    /// Lowercase name.
    ///
    /// ```
    /// use gureum_core::InstanceState;
    /// assert_eq!(InstanceState::Terminating.as_str(), "terminating");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::Terminating => "terminating",
            InstanceState::Terminated => "terminated",
            InstanceState::Error => "error",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A portable size: at least this many vCPUs and this much memory.
///
/// # Examples
///
/// ```
/// use gureum_core::Size;
/// let s = Size::vcpus(2); // 1 GiB per vCPU unless memory is given
/// assert_eq!(s.memory_mib, 2048);
/// assert_eq!(Size::vcpus(2).memory_gib(8).memory_mib, 8192);
/// assert_eq!(Size::vcpus(1).memory_mib(512).memory_mib, 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Size {
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

impl Size {
    /// A size with `n` vCPUs and 1 GiB per vCPU; adjust with [`Size::memory_gib`].
    ///
    /// ```
    /// use gureum_core::{InstanceSpec, Size};
    /// // 2 vCPUs, 4 GiB, on the image every provider maps `ubuntu-22.04` to.
    /// let spec = InstanceSpec::new("ocr-worker")
    ///     .size(Size::vcpus(2).memory_gib(4))
    ///     .image("ubuntu-22.04")
    ///     .tag("role", "ocr");
    /// assert_eq!(spec.name, "ocr-worker");
    /// ```
    pub fn vcpus(n: u32) -> Self {
        Size {
            vcpus: n,
            memory_mib: n as u64 * 1024,
        }
    }
    /// Set memory in GiB.
    ///
    /// ```
    /// use gureum_core::Size;
    /// assert_eq!(Size::vcpus(4).memory_gib(16), Size { vcpus: 4, memory_mib: 16 * 1024 });
    /// ```
    pub fn memory_gib(mut self, g: u64) -> Self {
        self.memory_mib = g * 1024;
        self
    }
    /// Set memory in MiB.
    ///
    /// ```
    /// use gureum_core::Size;
    /// assert_eq!(Size::vcpus(1).memory_mib(768).memory_mib, 768);
    /// ```
    pub fn memory_mib(mut self, m: u64) -> Self {
        self.memory_mib = m;
        self
    }
}

/// A size request: portable or the provider's own flavor id.
///
/// ```
/// use gureum_core::{Size, SizeSpec};
/// assert_eq!(SizeSpec::from(Size::vcpus(2)), SizeSpec::Portable(Size::vcpus(2)));
/// assert_eq!(SizeSpec::from("t3.micro"), SizeSpec::Native("t3.micro".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SizeSpec {
    /// Smallest provider size with at least these resources.
    Portable(Size),
    /// Provider flavor / instance type id, passed through.
    Native(String),
}

impl From<Size> for SizeSpec {
    fn from(s: Size) -> Self {
        SizeSpec::Portable(s)
    }
}
impl From<&str> for SizeSpec {
    fn from(s: &str) -> Self {
        SizeSpec::Native(s.to_string())
    }
}

/// What to create.
///
/// # Examples
///
/// ```
/// use gureum_core::{InstanceSpec, Size, SizeSpec};
/// let spec = InstanceSpec::new("batch-7")
///     .size(Size::vcpus(4).memory_gib(16)) // portable; or .size("m6i.xlarge") for a native one
///     .image("ubuntu-24.04")
///     .tag("fleet", "nightly")
///     .user_data(&b"#cloud-config\n"[..])
///     .idempotency_token("nightly-2026-11-27-7");
/// assert_eq!(spec.size, SizeSpec::Portable(Size { vcpus: 4, memory_mib: 16384 }));
/// assert_eq!(spec.tags["fleet"], "nightly");
/// assert_eq!(InstanceSpec::new("x").size("t3.micro").size, SizeSpec::Native("t3.micro".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// Instance name.
    pub name: String,
    /// Size.
    pub size: SizeSpec,
    /// Image alias (`ubuntu-22.04`) or provider image id.
    pub image: String,
    /// Tags / labels / metadata.
    pub tags: BTreeMap<String, String>,
    /// User data (cloud-init etc.).
    pub user_data: Option<Bytes>,
    /// Idempotency token: a create with the same token returns the same instance.
    pub idempotency_token: Option<String>,
}

impl InstanceSpec {
    /// A spec with a name, 1 vCPU / 1 GiB and image `ubuntu-22.04`.
    ///
    /// ```
    /// use gureum_core::{InstanceSpec, Size, SizeSpec};
    /// let spec = InstanceSpec::new("w");
    /// assert_eq!(spec.size, SizeSpec::Portable(Size::vcpus(1)));
    /// assert_eq!(spec.image, "ubuntu-22.04");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        InstanceSpec {
            name: name.into(),
            size: SizeSpec::Portable(Size::vcpus(1)),
            image: "ubuntu-22.04".into(),
            tags: BTreeMap::new(),
            user_data: None,
            idempotency_token: None,
        }
    }
    /// Set the size.
    ///
    /// ```
    /// use gureum_core::{InstanceSpec, SizeSpec};
    /// assert_eq!(InstanceSpec::new("w").size("m6i.large").size, SizeSpec::Native("m6i.large".into()));
    /// ```
    pub fn size(mut self, s: impl Into<SizeSpec>) -> Self {
        self.size = s.into();
        self
    }
    /// Set the image.
    ///
    /// ```
    /// use gureum_core::InstanceSpec;
    /// assert_eq!(InstanceSpec::new("w").image("rocky-9").image, "rocky-9");
    /// ```
    pub fn image(mut self, i: impl Into<String>) -> Self {
        self.image = i.into();
        self
    }
    /// Add a tag.
    ///
    /// ```
    /// use gureum_core::InstanceSpec;
    /// let spec = InstanceSpec::new("w").tag("fleet", "nightly").tag("owner", "traffic");
    /// assert_eq!(spec.tags.len(), 2);
    /// ```
    pub fn tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.insert(k.into(), v.into());
        self
    }
    /// Set user data.
    ///
    /// ```
    /// use gureum_core::InstanceSpec;
    /// let spec = InstanceSpec::new("w").user_data("#cloud-config\n");
    /// assert_eq!(spec.user_data.as_deref(), Some(&b"#cloud-config\n"[..]));
    /// ```
    pub fn user_data(mut self, d: impl Into<Bytes>) -> Self {
        self.user_data = Some(d.into());
        self
    }
    /// Set the idempotency token.
    ///
    /// ```
    /// use gureum_core::InstanceSpec;
    /// let spec = InstanceSpec::new("w").idempotency_token("nightly-2026-11-27-1");
    /// assert_eq!(spec.idempotency_token.as_deref(), Some("nightly-2026-11-27-1"));
    /// ```
    pub fn idempotency_token(mut self, t: impl Into<String>) -> Self {
        self.idempotency_token = Some(t.into());
        self
    }
}

/// An instance as the provider reports it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # let tmp = tempfile::tempdir()?;
/// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
/// let vm: gureum_core::Instance = compute.create(gureum_core::InstanceSpec::new("w").image("idle")).await?;
/// assert_eq!(vm.name, "w");
/// assert!(!vm.id.is_empty());
/// compute.terminate(&vm.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Portable state.
    pub state: InstanceState,
    /// The provider's own state string.
    pub provider_state: String,
    /// Provider size id.
    pub size: Option<String>,
    /// Provider image id.
    pub image: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// IP addresses.
    pub addresses: Vec<String>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
}

/// A provider size (flavor / instance type).
///
/// ```
/// use gureum_core::{compute::resolve_size, Size, SizeInfo, SizeSpec};
/// let sizes = vec![SizeInfo { id: "small".into(), vcpus: 1, memory_mib: 2048 }];
/// assert_eq!(resolve_size(&SizeSpec::Portable(Size::vcpus(1)), &sizes).unwrap().id, "small");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SizeInfo {
    /// Provider id.
    pub id: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

/// A provider image.
///
/// ```
/// use gureum_core::ImageInfo;
/// let img = ImageInfo { id: "img-1".into(), name: "Ubuntu 22.04".into(), alias: Some("ubuntu-22.04".into()) };
/// assert_eq!(img.alias.as_deref(), Some("ubuntu-22.04"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageInfo {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Portable alias, if it maps to one.
    pub alias: Option<String>,
}

/// Filter for [`ComputeDriver::list`].
///
/// ```
/// use gureum_core::ListFilter;
/// let f = ListFilter { tags: [("fleet".to_string(), "nightly".to_string())].into(), ..Default::default() };
/// assert!(!f.include_terminated);
/// assert_eq!(f.tags["fleet"], "nightly");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Every tag here must match.
    pub tags: BTreeMap<String, String>,
    /// Include terminated instances the provider still reports.
    pub include_terminated: bool,
}

/// What a compute backend can do.
///
/// ```
/// use gureum_core::ComputeCapabilities;
/// let caps = ComputeCapabilities::default(); // everything on; drivers turn off what they lack
/// assert!(caps.stop_start && caps.idempotent_create);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComputeCapabilities {
    /// Stop and start.
    pub stop_start: bool,
    /// Reboot.
    pub reboot: bool,
    /// User data delivered to the instance.
    pub user_data: bool,
    /// Tags and list-by-tag.
    pub tags: bool,
    /// Idempotent create by token.
    pub idempotent_create: bool,
}

impl Default for ComputeCapabilities {
    fn default() -> Self {
        ComputeCapabilities {
            stop_start: true,
            reboot: true,
            user_data: true,
            tags: true,
            idempotent_create: true,
        }
    }
}

/// The driver trait a compute backend implements. Applications use [`Compute`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # let tmp = tempfile::tempdir()?;
/// // Applications call drivers through `Compute`; the driver is reachable for tests.
/// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
/// let driver = compute.driver();
/// assert!(driver.capabilities().tags);
/// assert!(driver.list(&Default::default()).await?.is_empty());
/// # Ok(()) }
/// ```
#[async_trait]
pub trait ComputeDriver: Any + Send + Sync + fmt::Debug {
    /// Capability flags.
    fn capabilities(&self) -> ComputeCapabilities;
    /// Create an instance. Invalid size/image gives [`ErrorKind::InvalidArgument`]; a
    /// repeated token returns the instance created first.
    async fn create(&self, spec: &InstanceSpec) -> Result<Instance>;
    /// Get one instance; missing gives [`ErrorKind::NotFound`].
    async fn get(&self, id: &str) -> Result<Instance>;
    /// List instances matching the filter.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>>;
    /// Start a stopped instance.
    async fn start(&self, id: &str) -> Result<()>;
    /// Stop a running instance.
    async fn stop(&self, id: &str) -> Result<()>;
    /// Reboot a running instance.
    async fn reboot(&self, id: &str) -> Result<()>;
    /// Terminate; terminating a terminated or missing instance succeeds.
    async fn terminate(&self, id: &str) -> Result<()>;
    /// Available sizes.
    async fn sizes(&self) -> Result<Vec<SizeInfo>>;
    /// Available images.
    async fn images(&self) -> Result<Vec<ImageInfo>>;
    /// The user data the instance was created with, as the provider reports it back
    /// (EC2 `DescribeInstanceAttribute userData`, Nova `OS-EXT-SRV-ATTR:user_data`, ...).
    /// Backends that cannot read it back return [`ErrorKind::Unsupported`].
    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let _ = id;
        Err(Error::unsupported("reading back user data"))
    }
    /// The driver as `Any`. No longer needed: [`Compute::native`] reaches the driver through
    /// trait upcasting (`ComputeDriver: Any`), the same attached-native mechanism as `Bucket::native`.
    #[deprecated(
        since = "0.1.0",
        note = "Compute::native upcasts the driver; implementations can drop this method"
    )]
    fn as_any(&self) -> &dyn Any
    where
        Self: Sized,
    {
        self
    }
}

/// Pick the smallest size with at least the requested resources.
///
/// # Examples
///
/// ```
/// use gureum_core::{compute::resolve_size, Size, SizeInfo, SizeSpec};
/// let sizes = [("s", 1, 1024), ("m", 2, 4096), ("l", 4, 16384)]
///     .map(|(id, vcpus, memory_mib)| SizeInfo { id: id.into(), vcpus, memory_mib });
/// let spec = SizeSpec::Portable(Size::vcpus(2).memory_gib(3));
/// assert_eq!(resolve_size(&spec, &sizes).unwrap().id, "m"); // smallest that fits
/// assert!(resolve_size(&SizeSpec::Portable(Size::vcpus(64)), &sizes).is_err());
/// ```
pub fn resolve_size(spec: &SizeSpec, sizes: &[SizeInfo]) -> Result<SizeInfo> {
    match spec {
        SizeSpec::Native(id) => sizes
            .iter()
            .find(|s| &s.id == id)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("unknown size {id:?}"))),
        SizeSpec::Portable(want) => sizes
            .iter()
            .filter(|s| s.vcpus >= want.vcpus && s.memory_mib >= want.memory_mib)
            .min_by_key(|s| (s.vcpus, s.memory_mib, s.id.clone()))
            .cloned()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no size with at least {} vCPU and {} MiB",
                    want.vcpus, want.memory_mib
                ))
            }),
    }
}

/// Find an image by alias, id or name.
///
/// # Examples
///
/// ```
/// use gureum_core::{compute::resolve_image, ImageInfo};
/// let images = [ImageInfo { id: "ami-0abc".into(), name: "Ubuntu Server 22.04 LTS".into(), alias: Some("ubuntu-22.04".into()) }];
/// assert_eq!(resolve_image("ubuntu-22.04", &images).unwrap().id, "ami-0abc");
/// assert_eq!(resolve_image("ami-0abc", &images).unwrap().alias.as_deref(), Some("ubuntu-22.04"));
/// assert!(resolve_image("windows-2022", &images).is_err());
/// ```
pub fn resolve_image(image: &str, images: &[ImageInfo]) -> Result<ImageInfo> {
    images
        .iter()
        .find(|i| i.alias.as_deref() == Some(image))
        .or_else(|| images.iter().find(|i| i.id == image))
        .or_else(|| images.iter().find(|i| i.name == image))
        .cloned()
        .ok_or_else(|| Error::invalid(format!("unknown image {image:?}")))
}

/// Longest interval between two polls of [`Compute::wait_until`] (unless the configured
/// poll interval is longer).
///
/// ```
/// use gureum_core::compute::MAX_POLL_INTERVAL;
/// assert_eq!(MAX_POLL_INTERVAL.as_secs(), 10);
/// ```
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// `d` plus up to 10 % (from the clock's sub-second digits; no RNG dependency in core).
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 1000) / 10_000.0)
}

/// A portable compute service.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # let tmp = tempfile::tempdir()?;
/// use gureum_core::{InstanceSpec, InstanceState, Size};
/// use std::time::Duration;
/// // The embedded backend runs instances as local processes; cloud drivers come by URL.
/// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
/// let vm = compute.create(InstanceSpec::new("batch-1").size(Size::vcpus(1)).image("idle")).await?;
/// let vm = compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
/// assert_eq!(vm.state, InstanceState::Running);
/// compute.terminate(&vm.id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Compute {
    driver: Arc<dyn ComputeDriver>,
    native: Arc<dyn Any + Send + Sync>,
    poll: Duration,
    /// One lock per idempotency token in flight: concurrent creates with one token through
    /// this `Compute` (and its clones) run one after the other, so a retry racing its own
    /// slow first attempt finds that instance instead of making a second one on services
    /// whose token check is lookup-then-create (Nova, Naver Cloud). Across processes the
    /// service's own guarantee applies.
    creating: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl fmt::Debug for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compute")
            .field("driver", &self.driver)
            .finish()
    }
}

impl Compute {
    /// Wrap a driver.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// use gureum_core::Compute;
    /// let local = gureum_local::compute::open_local(tmp.path(), None)?;
    /// // Wrap any driver (here the local one) in a fresh `Compute`.
    /// let compute = Compute::new(local.driver().clone());
    /// assert!(compute.capabilities().reboot);
    /// # Ok(()) }
    /// ```
    pub fn new(driver: Arc<dyn ComputeDriver>) -> Self {
        Compute {
            native: driver.clone(),
            driver,
            poll: Duration::from_millis(200),
            creating: Arc::default(),
        }
    }
    /// Set the first polling interval of [`Compute::wait_until`] (it then grows by half per
    /// poll up to [`MAX_POLL_INTERVAL`], or to this interval if it is larger).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// use std::time::Duration;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?
    ///     .with_poll_interval(Duration::from_millis(50));
    /// assert!(compute.capabilities().stop_start);
    /// # Ok(()) }
    /// ```
    pub fn with_poll_interval(mut self, d: Duration) -> Self {
        self.poll = d;
        self
    }
    /// The driver.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// assert_eq!(compute.driver().capabilities(), compute.capabilities());
    /// # Ok(()) }
    /// ```
    pub fn driver(&self) -> &Arc<dyn ComputeDriver> {
        &self.driver
    }
    /// Replace what [`Compute::native`] hands out (by default the driver itself). The same
    /// escape hatch as `Bucket::with_native` and `Queue::with_native`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// use std::sync::Arc;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?
    ///     .with_native(Arc::new(String::from("vendor client")));
    /// assert_eq!(compute.native::<String>().map(String::as_str), Some("vendor client"));
    /// # Ok(()) }
    /// ```
    pub fn with_native(mut self, native: Arc<dyn Any + Send + Sync>) -> Self {
        self.native = native;
        self
    }
    /// The vendor object, if it is a `T` (Go CDK's `As`): by default the driver
    /// (`Ec2Driver`, `NovaDriver`, ...), or what a provider attached with
    /// [`Compute::with_native`].
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// // Asking for a type the driver is not gives None, never a panic.
    /// assert!(compute.native::<String>().is_none());
    /// # Ok(()) }
    /// ```
    pub fn native<T: Any>(&self) -> Option<&T> {
        self.native.downcast_ref::<T>()
    }
    /// Capability flags.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// let caps = compute.capabilities();
    /// assert!(caps.user_data && caps.tags);
    /// # Ok(()) }
    /// ```
    pub fn capabilities(&self) -> ComputeCapabilities {
        self.driver.capabilities()
    }
    /// Create an instance. Without a token, one is generated so that a retried call inside
    /// this method cannot create two instances.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::{InstanceSpec, InstanceState, Size};
    /// use std::time::Duration;
    /// let spec = InstanceSpec::new("ocr-worker-1")
    ///     .size(Size::vcpus(1).memory_gib(1))
    ///     .image("ubuntu-22.04")
    ///     .tag("app", "civic-ocr")
    ///     .idempotency_token("ocr-worker-1-2026-11-27");
    /// let vm = compute.create(spec.clone()).await?;
    /// // The same token gives the same instance, not a second one.
    /// assert_eq!(compute.create(spec).await?.id, vm.id);
    /// let vm = compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// assert_eq!(vm.tags["app"], "civic-ocr");
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, spec: InstanceSpec) -> Result<Instance> {
        if spec.name.is_empty() {
            return Err(Error::invalid("instance name is empty"));
        }
        let mut spec = spec;
        let Some(token) = spec.idempotency_token.clone() else {
            spec.idempotency_token = Some(uuid::Uuid::new_v4().to_string());
            return self.driver.create(&spec).await;
        };
        let lock = {
            let mut m = self.creating.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(token.clone()).or_default().clone()
        };
        let r = {
            let _serialized = lock.lock().await;
            self.driver.create(&spec).await
        };
        // Forget the lock when nobody else is waiting on it (the map holds one reference,
        // `lock` the other).
        let mut m = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&lock) == 2 {
            m.remove(&token);
        }
        r
    }
    /// Get one instance.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// use gureum_core::ErrorKind;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// let e = compute.get("no-such-instance").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Instance> {
        self.driver.get(id).await
    }
    /// List all instances.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::InstanceSpec;
    /// let vm = compute.create(InstanceSpec::new("ocr-1").image("idle")).await?;
    /// assert_eq!(compute.get(&vm.id).await?.name, "ocr-1");
    /// assert_eq!(compute.list().await?.len(), 1);
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<Instance>> {
        self.driver.list(&ListFilter::default()).await
    }
    /// List instances with all the given tags.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::InstanceSpec;
    /// use std::collections::BTreeMap;
    /// compute.create(InstanceSpec::new("a").image("idle").tag("fleet", "nightly")).await?;
    /// compute.create(InstanceSpec::new("b").image("idle").tag("fleet", "other")).await?;
    /// let tags = BTreeMap::from([("fleet".to_string(), "nightly".to_string())]);
    /// let fleet = compute.list_by_tags(&tags).await?;
    /// assert_eq!(fleet.len(), 1);
    /// assert_eq!(fleet[0].name, "a");
    /// for vm in compute.list().await? {
    ///     compute.terminate(&vm.id).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_by_tags(&self, tags: &BTreeMap<String, String>) -> Result<Vec<Instance>> {
        self.driver
            .list(&ListFilter {
                tags: tags.clone(),
                include_terminated: false,
            })
            .await
    }
    /// Start.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// use gureum_core::{InstanceSpec, InstanceState};
    /// use std::time::Duration;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
    /// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// compute.stop(&vm.id).await?;
    /// compute.wait_until(&vm.id, InstanceState::Stopped, Duration::from_secs(30)).await?;
    /// compute.start(&vm.id).await?;
    /// let vm = compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// assert_eq!(vm.state, InstanceState::Running);
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start(&self, id: &str) -> Result<()> {
        self.driver.start(id).await
    }
    /// Stop.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::{InstanceSpec, InstanceState};
    /// use std::time::Duration;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
    /// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// compute.stop(&vm.id).await?;
    /// compute.wait_until(&vm.id, InstanceState::Stopped, Duration::from_secs(30)).await?;
    /// compute.start(&vm.id).await?;
    /// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn stop(&self, id: &str) -> Result<()> {
        self.driver.stop(id).await
    }
    /// Reboot.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::{InstanceSpec, InstanceState};
    /// use std::time::Duration;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
    /// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// compute.reboot(&vm.id).await?;
    /// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reboot(&self, id: &str) -> Result<()> {
        self.driver.reboot(id).await
    }
    /// Terminate (idempotent: a missing instance is already terminated).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::{InstanceSpec, InstanceState};
    /// use std::time::Duration;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
    /// compute.terminate(&vm.id).await?;
    /// compute.wait_until(&vm.id, InstanceState::Terminated, Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn terminate(&self, id: &str) -> Result<()> {
        match self.driver.terminate(id).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
    /// The user data an instance was created with (where the backend can read it back).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::InstanceSpec;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle").user_data(&b"#!/bin/sh\necho hi\n"[..])).await?;
    /// assert_eq!(compute.user_data(&vm.id).await?.as_deref(), Some(&b"#!/bin/sh\necho hi\n"[..]));
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        self.driver.user_data(id).await
    }
    /// Sizes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// let sizes = compute.sizes().await?;
    /// assert!(sizes.iter().any(|s| s.id == "local.small" && s.vcpus == 1));
    /// # Ok(()) }
    /// ```
    pub async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        self.driver.sizes().await
    }
    /// Images.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// let images = compute.images().await?;
    /// assert!(images.iter().any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
    /// # Ok(()) }
    /// ```
    pub async fn images(&self) -> Result<Vec<ImageInfo>> {
        self.driver.images().await
    }
    /// Poll until the instance reaches `state`, or fail with [`ErrorKind::Timeout`] (or
    /// with the reached state if it is stable and different, e.g. `Error`). Waiting for
    /// `Terminated` also succeeds when the instance disappears.
    ///
    /// Polls back off: the interval starts at the poll interval (200 ms by default) and grows
    /// by half per poll up to [`MAX_POLL_INTERVAL`], with up to 10 % jitter, so many waiters
    /// do not throttle a cloud API. Any `timeout` is accepted (`Duration::MAX` waits without
    /// a deadline); the last sleep is cut to the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # let tmp = tempfile::tempdir()?;
    /// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
    /// use gureum_core::{ErrorKind, InstanceSpec, InstanceState};
    /// use std::time::Duration;
    /// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
    /// let running = compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
    /// assert_eq!(running.state, InstanceState::Running);
    /// // A state that does not come in time is a Timeout error.
    /// let e = compute.wait_until(&vm.id, InstanceState::Stopped, Duration::from_millis(300)).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// compute.terminate(&vm.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until(
        &self,
        id: &str,
        state: InstanceState,
        timeout: Duration,
    ) -> Result<Instance> {
        // `Duration::MAX` (or any timeout past the clock's range) means no deadline.
        let deadline = Instant::now().checked_add(timeout);
        let mut last: Option<InstanceState> = None;
        let mut interval = self.poll;
        let cap = MAX_POLL_INTERVAL.max(self.poll);
        loop {
            match self.driver.get(id).await {
                Ok(i) if i.state == state => return Ok(i),
                Ok(i) => {
                    if i.state == InstanceState::Error
                        || (i.state == InstanceState::Terminated
                            && state != InstanceState::Terminated)
                    {
                        return Err(Error::new(
                            ErrorKind::Other,
                            format!("instance {id} is {} (waiting for {state})", i.state),
                        )
                        .with_provider_code(i.provider_state));
                    }
                    last = Some(i.state);
                }
                Err(e) if e.kind() == ErrorKind::NotFound && state == InstanceState::Terminated => {
                    return Ok(Instance {
                        id: id.to_string(),
                        name: String::new(),
                        state: InstanceState::Terminated,
                        provider_state: "gone".into(),
                        size: None,
                        image: None,
                        tags: BTreeMap::new(),
                        addresses: vec![],
                        created_at: None,
                    })
                }
                Err(e) if e.is_retryable() => {}
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "instance {id} did not reach {state} within {timeout:?} (last seen: {})",
                        last.map(|s| s.as_str()).unwrap_or("unknown")
                    ),
                ));
            }
            let mut sleep = jitter(interval);
            if let Some(d) = deadline {
                sleep = sleep.min(d.saturating_duration_since(now));
            }
            tokio::time::sleep(sleep).await;
            interval = interval.mul_f64(1.5).min(cap);
        }
    }
}
