//! How the example apps choose their backends: never by vendor, only by configuration.
//!
//! For each service the app asks gureum to resolve the URL (`GUREUM_STORAGE_URL`,
//! `GUREUM_QUEUE_URL`, `GUREUM_COMPUTE_URL`, then the `gureum.toml` profile chosen by
//! `GUREUM_PROFILE`, then the embedded defaults under `GUREUM_DATA_DIR`). With none of that
//! set — zero configuration — the embedded defaults go to a fresh temporary directory that is
//! removed at exit, so a demo run leaves nothing behind.

use gureum::{Bucket, Compute, Queue, Result, Service};
use std::path::{Path, PathBuf};

/// The backends of one app run.
#[derive(Debug)]
pub struct Backends {
    tmp: Option<tempfile::TempDir>,
    queue_name: String,
}

impl Backends {
    /// Backends for an app whose embedded queue is called `queue_name`.
    pub fn new(queue_name: &str) -> Result<Self> {
        let tmp = if std::env::var_os("GUREUM_DATA_DIR").is_none() {
            Some(tempfile::tempdir()?)
        } else {
            None
        };
        Ok(Backends {
            tmp,
            queue_name: queue_name.to_string(),
        })
    }

    /// The temporary directory of a zero-configuration run, if this is one.
    pub fn temp_dir(&self) -> Option<&Path> {
        self.tmp.as_ref().map(|t| t.path())
    }

    /// Whether the environment or the selected profile names a URL for `service`.
    pub fn configured(service: Service) -> Result<bool> {
        if std::env::var(service.env_var()).is_ok_and(|v| !v.is_empty()) {
            return Ok(true);
        }
        let profile = gureum::config::ConfigFile::load()?;
        let p = profile.as_ref().and_then(|c| c.selected());
        Ok(match service {
            Service::Storage => p.is_some_and(|p| p.storage.is_some()),
            Service::Queue => p.is_some_and(|p| p.queue.is_some()),
            Service::Compute => p.is_some_and(|p| p.compute.is_some()),
        })
    }

    /// The URL to open: `None` lets gureum resolve it (configured, or the embedded default
    /// under `GUREUM_DATA_DIR`); in a zero-configuration run, the embedded default under the
    /// temporary directory.
    pub fn url(&self, service: Service) -> Result<Option<String>> {
        if Self::configured(service)? {
            return Ok(None);
        }
        let Some(dir) = self.temp_dir().map(PathBuf::from) else {
            return Ok(None);
        };
        let d = dir.display();
        Ok(Some(match service {
            Service::Storage => format!("file://{d}/storage"),
            Service::Queue => format!("sqlite://{d}/queue.db?queue={}", self.queue_name),
            Service::Compute => format!("local://{d}/compute"),
        }))
    }

    /// The scheme of the URL that `service` resolves to (`file`, `s3`, `local`, `ec2`, ...),
    /// for reports.
    pub fn scheme(&self, service: Service) -> Result<String> {
        let (url, _) = gureum::config::resolve_url(service, self.url(service)?.as_deref())?;
        Ok(url.split("://").next().unwrap_or_default().to_string())
    }

    /// Open the bucket.
    pub async fn bucket(&self) -> Result<Bucket> {
        gureum::registry()
            .open_bucket(self.url(Service::Storage)?.as_deref())
            .await
    }

    /// Open the queue.
    pub async fn queue(&self) -> Result<Queue> {
        gureum::registry()
            .open_queue(self.url(Service::Queue)?.as_deref())
            .await
    }

    /// Open the compute service.
    pub async fn compute(&self) -> Result<Compute> {
        gureum::registry()
            .open_compute(self.url(Service::Compute)?.as_deref())
            .await
    }
}

/// Seconds from an environment variable, or `default`.
pub fn secs_from_env(var: &str, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}
