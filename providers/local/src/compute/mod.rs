//! `local://` compute: instances are supervised local processes.
//!
//! URL: `local:///abs/state/dir` (default: `gureum_core::url::data_dir()/compute`), with
//! optional parameters `images=PATH` (an images file; default `images.toml` in the state
//! directory) and `grace_ms=N` (how long a stop waits after SIGTERM before SIGKILL; default
//! 5000).
//!
//! * An **image** is a command template ([`images`]); the built-in `local-idle` image (aliases
//!   `ubuntu-22.04`, `ubuntu-24.04`, ...) is an idle process, so portable code that asks for
//!   `ubuntu-22.04` runs unchanged.
//! * **Sizes** are a fixed table (`local.small` 1 vCPU / 1 GiB ... `local.xlarge` 8 / 32). They
//!   are advisory: no CPU or memory limit is enforced on the process.
//! * An **instance** is the image's command started in its own process group, with stdout and
//!   stderr appended to `instances/ID/console.log` and the user data in
//!   `instances/ID/user-data` (passed as `{user_data_file}` and `$GUREUM_USER_DATA_FILE`).
//!   Stop sends SIGTERM to the group, then SIGKILL after the grace period.
//! * **State** is kept in JSON files under the state directory (atomic rename, `flock` for
//!   changes), so another process (or another driver on the same directory) lists, reads and
//!   stops the same instances. A process that is gone while it should run is detected (pid
//!   reuse is detected by the process start time): exit code 0 → `Stopped`, a failure exit or
//!   an outside kill → `Error`.
//!
//! ```no_run
//! # async fn demo() -> gureum_core::Result<()> {
//! use gureum_core::compute::{InstanceSpec, InstanceState};
//! let compute = gureum_local::compute::open_local("/tmp/gureum-compute-demo", None)?;
//! let vm = compute.create(InstanceSpec::new("worker").image("ubuntu-22.04")).await?;
//! compute.wait_until(&vm.id, InstanceState::Running, std::time::Duration::from_secs(10)).await?;
//! compute.terminate(&vm.id).await?;
//! # Ok(()) }
//! ```

pub mod images;
pub mod process;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use gureum_core::compute::{
    resolve_size, Compute, ComputeCapabilities, ComputeDriver, ImageInfo, Instance, InstanceSpec,
    InstanceState, ListFilter, SizeInfo,
};
use gureum_core::url::{ComputeOpener, ResourceUrl};
use gureum_core::{Error, ErrorKind, Registry, Result};
use images::ImageDef;
use process::ProcId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default grace period between SIGTERM and SIGKILL.
///
/// ```
/// use gureum_local::compute::DEFAULT_GRACE;
/// assert_eq!(DEFAULT_GRACE.as_secs(), 5); // SIGTERM, then SIGKILL after 5 s
/// ```
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How long terminated instances stay listed (with `include_terminated`) before their records
/// are removed.
///
/// ```
/// use gureum_local::compute::TERMINATED_RETENTION;
/// assert_eq!(TERMINATED_RETENTION.as_secs(), 3600);
/// ```
pub const TERMINATED_RETENTION: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Desired {
    Running,
    Stopped,
    Terminated,
}

/// The persisted record of one instance.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Record {
    id: String,
    name: String,
    image: String,
    size: String,
    tags: BTreeMap<String, String>,
    created_at: DateTime<Utc>,
    token: Option<String>,
    desired: Desired,
    state: InstanceState,
    phase: String,
    proc_id: Option<ProcId>,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    has_user_data: bool,
    boots: u32,
    terminated_at: Option<DateTime<Utc>>,
}

impl Record {
    fn to_instance(&self) -> Instance {
        Instance {
            id: self.id.clone(),
            name: self.name.clone(),
            state: self.state,
            provider_state: self.phase.clone(),
            size: Some(self.size.clone()),
            image: Some(self.image.clone()),
            tags: self.tags.clone(),
            addresses: if self.state == InstanceState::Terminated {
                vec![]
            } else {
                vec!["127.0.0.1".to_string()]
            },
            created_at: Some(self.created_at),
        }
    }
}

/// The `local://` compute driver.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Compute, InstanceSpec, InstanceState};
/// use gureum_local::compute::LocalCompute;
/// use std::{sync::Arc, time::Duration};
/// let tmp = tempfile::tempdir()?;
/// let driver = LocalCompute::new(tmp.path(), None)?.with_grace(Duration::from_secs(1));
/// let compute = Compute::new(Arc::new(driver));
/// let vm = compute.create(InstanceSpec::new("w").image("idle")).await?;
/// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
/// compute.terminate(&vm.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LocalCompute {
    dir: PathBuf,
    images_file: Option<PathBuf>,
    images_required: bool,
    grace: Duration,
}

/// Held state-directory lock; released on drop.
struct StateLock {
    _f: std::fs::File,
}

fn valid_id(id: &str) -> bool {
    id.len() == 19
        && id.starts_with("li-")
        && id[3..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&tmp, data)
        .map_err(|e| Error::from(e).context_message(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::from(e).context_message(format!("renaming to {}", path.display()))
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::other(format!("local compute task failed: {e}")))?
}

impl LocalCompute {
    /// A driver on the state directory `dir` (created if missing). `images_file` overrides
    /// `dir/images.toml`; when given, it must exist.
    ///
    /// ```
    /// use gureum_local::compute::LocalCompute;
    /// assert!(LocalCompute::new("relative/dir", None).is_err()); // an absolute directory only
    /// ```
    pub fn new(dir: impl Into<PathBuf>, images_file: Option<PathBuf>) -> Result<Self> {
        let dir: PathBuf = dir.into();
        if !dir.is_absolute() {
            return Err(Error::invalid(format!(
                "local:// needs an absolute state directory, got {:?}",
                dir.display().to_string()
            )));
        }
        std::fs::create_dir_all(dir.join("instances")).map_err(|e| {
            Error::from(e).context_message(format!("creating state directory {}", dir.display()))
        })?;
        let required = images_file.is_some();
        let d = LocalCompute {
            images_file: Some(images_file.unwrap_or_else(|| dir.join("images.toml"))),
            images_required: required,
            dir,
            grace: DEFAULT_GRACE,
        };
        d.images()?; // validate the images file early
        Ok(d)
    }

    /// Set the grace period between SIGTERM and SIGKILL.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use std::time::Duration;
    /// let tmp = tempfile::tempdir()?;
    /// let d = gureum_local::compute::LocalCompute::new(tmp.path(), None)?.with_grace(Duration::from_millis(500));
    /// assert_eq!(d.state_dir(), tmp.path());
    /// # Ok(()) }
    /// ```
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The state directory.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let d = gureum_local::compute::LocalCompute::new(tmp.path(), None)?;
    /// assert!(d.state_dir().join("instances").is_dir());
    /// # Ok(()) }
    /// ```
    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of one instance (user data, console log).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let d = gureum_local::compute::LocalCompute::new(tmp.path(), None)?;
    /// assert_eq!(d.instance_dir("i-1"), tmp.path().join("instances/i-1"));
    /// # Ok(()) }
    /// ```
    pub fn instance_dir(&self, id: &str) -> PathBuf {
        self.dir.join("instances").join(id)
    }

    /// The console log (stdout and stderr) of an instance.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{Compute, InstanceSpec, InstanceState};
    /// use gureum_local::compute::LocalCompute;
    /// use std::{sync::Arc, time::Duration};
    /// # let tmp = tempfile::tempdir()?;
    /// let local = Arc::new(LocalCompute::new(tmp.path(), None)?);
    /// let compute = Compute::new(local.clone());
    /// // The built-in `echo` image prints the user data to the console log and exits.
    /// let vm = compute.create(InstanceSpec::new("hello").image("echo").user_data(&b"hello, city"[..])).await?;
    /// compute.wait_until(&vm.id, InstanceState::Stopped, Duration::from_secs(30)).await?;
    /// let log = std::fs::read_to_string(local.console_log(&vm.id))?;
    /// assert!(log.contains("hello, city"));
    /// # Ok(()) }
    /// ```
    pub fn console_log(&self, id: &str) -> PathBuf {
        self.instance_dir(id).join("console.log")
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join("instances").join(format!("{id}.json"))
    }

    fn exit_file(&self, id: &str) -> PathBuf {
        self.instance_dir(id).join("exit")
    }

    fn images(&self) -> Result<Vec<ImageDef>> {
        images::load_images(self.images_file.as_deref(), self.images_required)
    }

    fn lock(&self) -> Result<StateLock> {
        let p = self.dir.join(".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::from(e).context_message(format!("state lock {}", p.display())))?;
        crate::storage::fs::flock_exclusive(&f)
            .map_err(|e| Error::from(e).context_message("locking the state directory"))?;
        Ok(StateLock { _f: f })
    }

    fn load(&self, id: &str) -> Result<Record> {
        if !valid_id(id) {
            return Err(Error::not_found(format!("instance {id:?}")));
        }
        let p = self.record_path(id);
        let text = match std::fs::read(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found(format!("instance {id}")))
            }
            Err(e) => {
                return Err(Error::from(e).context_message(format!("reading {}", p.display())))
            }
        };
        serde_json::from_slice(&text)
            .map_err(|e| Error::other(format!("corrupt instance record {}: {e}", p.display())))
    }

    fn save(&self, r: &Record) -> Result<()> {
        let body = serde_json::to_vec_pretty(r)
            .map_err(|e| Error::other(format!("encoding instance record: {e}")))?;
        write_atomic(&self.record_path(&r.id), &body)
    }

    fn all_ids(&self) -> Result<Vec<String>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(self.dir.join("instances"))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                if valid_id(id) {
                    v.push(id.to_string());
                }
            }
        }
        v.sort();
        Ok(v)
    }

    /// Bring a record's state in line with its process. Returns whether it changed.
    fn refresh(&self, r: &mut Record) -> bool {
        let alive = r.proc_id.as_ref().map(process::is_alive).unwrap_or(false);
        let before = (r.state, r.phase.clone());
        match (r.desired, r.state) {
            (Desired::Running, InstanceState::Running | InstanceState::Pending) => {
                if alive {
                    r.state = InstanceState::Running;
                    r.phase = "running".into();
                } else {
                    match process::read_exit(&self.exit_file(&r.id)) {
                        Some(0) => {
                            r.state = InstanceState::Stopped;
                            r.phase = "exited(0)".into();
                        }
                        Some(code) => {
                            r.state = InstanceState::Error;
                            r.phase = format!("exited({code})");
                        }
                        None => {
                            r.state = InstanceState::Error;
                            r.phase = "vanished".into();
                        }
                    }
                    r.proc_id = None;
                }
            }
            (Desired::Stopped, InstanceState::Stopping) if !alive => {
                r.state = InstanceState::Stopped;
                r.phase = "stopped".into();
                r.proc_id = None;
            }
            (Desired::Terminated, InstanceState::Terminating) if !alive => {
                r.state = InstanceState::Terminated;
                r.phase = "terminated".into();
                r.proc_id = None;
            }
            _ => {}
        }
        (r.state, r.phase.clone()) != before
    }

    /// Load and refresh, persisting a changed state under the lock.
    fn get_sync(&self, id: &str) -> Result<Record> {
        let mut r = self.load(id)?;
        let mut probe = r.clone();
        if self.refresh(&mut probe) {
            let _l = self.lock()?;
            r = self.load(id)?;
            if self.refresh(&mut r) {
                self.save(&r)?;
            }
        }
        Ok(r)
    }

    fn spawn(&self, r: &mut Record) -> Result<()> {
        let idir = self.instance_dir(&r.id);
        match process::spawn(
            &r.argv,
            &r.env,
            &idir,
            &idir.join("console.log"),
            &self.exit_file(&r.id),
        ) {
            Ok(p) => {
                r.proc_id = Some(p);
                r.state = InstanceState::Running;
                r.phase = "running".into();
                r.boots += 1;
                Ok(())
            }
            Err(e) => {
                r.proc_id = None;
                r.state = InstanceState::Error;
                r.phase = "spawn-failed".into();
                Err(e)
            }
        }
    }

    fn kill(&self, r: &mut Record) -> Result<()> {
        if let Some(p) = r.proc_id {
            if !process::terminate(&p, self.grace, &process::instance_marker(&r.id))? {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "instance {}: process {} did not exit after SIGKILL",
                        r.id, p.pid
                    ),
                ));
            }
        }
        r.proc_id = None;
        Ok(())
    }

    fn gc_terminated(&self) {
        let Ok(ids) = self.all_ids() else { return };
        let now = Utc::now();
        for id in ids {
            if let Ok(r) = self.load(&id) {
                if let Some(t) = r.terminated_at {
                    let age = (now - t).to_std().unwrap_or_default();
                    if age > TERMINATED_RETENTION {
                        let _ = std::fs::remove_file(self.record_path(&id));
                        let _ = std::fs::remove_dir_all(self.instance_dir(&id));
                    }
                }
            }
        }
    }

    fn create_sync(&self, spec: InstanceSpec) -> Result<Record> {
        if spec.name.is_empty() {
            return Err(Error::invalid("instance name is empty"));
        }
        let size = resolve_size(&spec.size, &images::sizes())?;
        let imgs = self.images()?;
        let image = images::find_image(&imgs, &spec.image)?.clone();
        let _l = self.lock()?;
        if let Some(tok) = &spec.idempotency_token {
            for id in self.all_ids()? {
                if let Ok(mut r) = self.load(&id) {
                    if r.token.as_deref() == Some(tok.as_str()) {
                        if self.refresh(&mut r) {
                            self.save(&r)?;
                        }
                        return Ok(r);
                    }
                }
            }
        }
        self.gc_terminated();
        let id = format!("li-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let idir = self.instance_dir(&id);
        std::fs::create_dir_all(&idir)?;
        let ud_file = idir.join("user-data");
        write_atomic(&ud_file, spec.user_data.as_deref().unwrap_or(&[]))?;
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        vars.insert("id", id.clone());
        vars.insert("name", spec.name.clone());
        vars.insert("user_data_file", ud_file.to_string_lossy().into_owned());
        vars.insert("instance_dir", idir.to_string_lossy().into_owned());
        vars.insert("state_dir", self.dir.to_string_lossy().into_owned());
        let argv: Vec<String> = image
            .command
            .iter()
            .map(|a| images::expand(a, &vars))
            .collect();
        let mut env: BTreeMap<String, String> = image
            .env
            .iter()
            .map(|(k, v)| (k.clone(), images::expand(v, &vars)))
            .collect();
        env.insert("GUREUM_INSTANCE_ID".into(), id.clone());
        env.insert("GUREUM_INSTANCE_NAME".into(), spec.name.clone());
        env.insert(
            "GUREUM_USER_DATA_FILE".into(),
            vars["user_data_file"].clone(),
        );
        env.insert("GUREUM_INSTANCE_DIR".into(), vars["instance_dir"].clone());
        let mut r = Record {
            id: id.clone(),
            name: spec.name.clone(),
            image: image.name.clone(),
            size: size.id,
            tags: spec.tags.clone(),
            created_at: Utc::now(),
            token: spec.idempotency_token.clone(),
            desired: Desired::Running,
            state: InstanceState::Pending,
            phase: "starting".into(),
            proc_id: None,
            argv,
            env,
            has_user_data: spec.user_data.is_some(),
            boots: 0,
            terminated_at: None,
        };
        self.save(&r)?;
        let spawned = self.spawn(&mut r);
        self.save(&r)?;
        spawned?;
        tracing::info!(id = %r.id, name = %r.name, image = %r.image, "local instance started");
        Ok(r)
    }

    fn start_sync(&self, id: &str) -> Result<()> {
        let _l = self.lock()?;
        let mut r = self.load(id)?;
        self.refresh(&mut r);
        match r.state {
            InstanceState::Running | InstanceState::Pending => return self.save(&r),
            InstanceState::Terminated | InstanceState::Terminating => {
                return Err(Error::new(
                    ErrorKind::PreconditionFailed,
                    format!("instance {id} is terminated"),
                ))
            }
            InstanceState::Stopping => {
                // A stopper in another process died mid-way; finish its stop first.
                self.kill(&mut r)?;
            }
            InstanceState::Stopped | InstanceState::Error => {}
        }
        r.desired = Desired::Running;
        let res = self.spawn(&mut r);
        self.save(&r)?;
        res
    }

    fn stop_sync(&self, id: &str) -> Result<()> {
        let _l = self.lock()?;
        let mut r = self.load(id)?;
        self.refresh(&mut r);
        match r.state {
            InstanceState::Stopped => return self.save(&r),
            InstanceState::Terminated | InstanceState::Terminating => {
                return Err(Error::new(
                    ErrorKind::PreconditionFailed,
                    format!("instance {id} is terminated"),
                ))
            }
            _ => {}
        }
        r.desired = Desired::Stopped;
        r.state = InstanceState::Stopping;
        r.phase = "stopping".into();
        self.save(&r)?;
        self.kill(&mut r)?;
        r.state = InstanceState::Stopped;
        r.phase = "stopped".into();
        self.save(&r)
    }

    fn reboot_sync(&self, id: &str) -> Result<()> {
        let _l = self.lock()?;
        let mut r = self.load(id)?;
        self.refresh(&mut r);
        if r.state != InstanceState::Running {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!(
                    "instance {id} is {}; only a running instance reboots",
                    r.state
                ),
            ));
        }
        r.state = InstanceState::Pending;
        r.phase = "rebooting".into();
        self.save(&r)?;
        self.kill(&mut r)?;
        let res = self.spawn(&mut r);
        self.save(&r)?;
        res
    }

    fn terminate_sync(&self, id: &str) -> Result<()> {
        let _l = self.lock()?;
        let mut r = match self.load(id) {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if r.state == InstanceState::Terminated {
            return Ok(());
        }
        r.desired = Desired::Terminated;
        r.state = InstanceState::Terminating;
        r.phase = "terminating".into();
        self.save(&r)?;
        self.kill(&mut r)?;
        r.state = InstanceState::Terminated;
        r.phase = "terminated".into();
        r.terminated_at = Some(Utc::now());
        self.save(&r)
    }

    fn list_sync(&self, filter: &ListFilter) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for id in self.all_ids()? {
            let r = match self.get_sync(&id) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if r.state == InstanceState::Terminated && !filter.include_terminated {
                continue;
            }
            if filter
                .tags
                .iter()
                .all(|(k, v)| r.tags.get(k).map(|x| x == v).unwrap_or(false))
            {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}

#[async_trait]
impl ComputeDriver for LocalCompute {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities {
            stop_start: true,
            reboot: true,
            user_data: true,
            tags: true,
            idempotent_create: true,
        }
    }

    async fn create(&self, spec: &InstanceSpec) -> Result<Instance> {
        let this = self.clone();
        let spec = spec.clone();
        blocking(move || this.create_sync(spec).map(|r| r.to_instance())).await
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || this.get_sync(&id).map(|r| r.to_instance())).await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let this = self.clone();
        let filter = filter.clone();
        blocking(move || {
            this.list_sync(&filter)
                .map(|v| v.iter().map(Record::to_instance).collect())
        })
        .await
    }

    async fn start(&self, id: &str) -> Result<()> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || this.start_sync(&id)).await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || this.stop_sync(&id)).await
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || this.reboot_sync(&id)).await
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || this.terminate_sync(&id)).await
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        Ok(images::sizes())
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        Ok(images::image_infos(&LocalCompute::images(self)?))
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let this = self.clone();
        let id = id.to_string();
        blocking(move || {
            let r = this.load(&id)?;
            if !r.has_user_data {
                return Ok(None);
            }
            let p = this.instance_dir(&id).join("user-data");
            let data = std::fs::read(&p)
                .map_err(|e| Error::from(e).context_message(format!("reading {}", p.display())))?;
            Ok(Some(Bytes::from(data)))
        })
        .await
    }
}

/// Open `local://` compute on a state directory, with an optional images file.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{InstanceSpec, InstanceState, Size};
/// use std::time::Duration;
/// let tmp = tempfile::tempdir()?;
/// let compute = gureum_local::compute::open_local(tmp.path(), None)?;
/// let spec = InstanceSpec::new("batch-0")
///     .size(Size::vcpus(2).memory_gib(4)) // resolves to local.medium
///     .image("ubuntu-22.04")              // the built-in idle image
///     .tag("fleet", "nightly")
///     .user_data(&b"shard=0"[..]);
/// let vm = compute.create(spec).await?;
/// assert_eq!(vm.size.as_deref(), Some("local.medium"));
/// compute.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(30)).await?;
/// assert_eq!(compute.user_data(&vm.id).await?.as_deref(), Some(&b"shard=0"[..]));
/// compute.terminate(&vm.id).await?;
/// compute.wait_until(&vm.id, InstanceState::Terminated, Duration::from_secs(30)).await?;
/// # Ok(()) }
/// ```
pub fn open_local(dir: impl Into<PathBuf>, images_file: Option<PathBuf>) -> Result<Compute> {
    Ok(Compute::new(Arc::new(LocalCompute::new(dir, images_file)?)))
}

struct LocalComputeOpener;

#[async_trait]
impl ComputeOpener for LocalComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        if !url.host().is_empty() && url.host() != "localhost" {
            return Err(Error::invalid(format!(
                "{url}: local:// takes a state directory path: local:///abs/dir (or local:// for the default)"
            )));
        }
        let path = url.path();
        let path = path.trim_end_matches('/');
        let dir = if path.is_empty() {
            gureum_core::url::data_dir().join("compute")
        } else {
            PathBuf::from(path)
        };
        let dir = if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir()?.join(dir)
        };
        let images = url.param("images").map(PathBuf::from);
        let grace = url
            .u64_param("grace_ms")?
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_GRACE);
        let d = tokio::task::spawn_blocking(move || LocalCompute::new(dir, images))
            .await
            .map_err(|e| Error::other(format!("open local compute task: {e}")))??;
        Ok(Compute::new(Arc::new(d.with_grace(grace))))
    }
}

/// Register the `local` compute opener.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let mut registry = gureum_core::Registry::new();
/// gureum_local::compute::register(&mut registry);
/// let tmp = tempfile::tempdir()?;
/// let compute = registry.open_compute(Some(&format!("local://{}", tmp.path().display()))).await?;
/// assert!(compute.list().await?.is_empty());
/// # Ok(()) }
/// ```
pub fn register(registry: &mut Registry) {
    registry.register_compute("local", Arc::new(LocalComputeOpener));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(valid_id("li-0123456789abcdef"));
        assert!(!valid_id("li-../../etc/passwd"));
        assert!(!valid_id("li-0123456789ABCDEF"));
    }
}
