//! Layered configuration: the profile file `gureum.toml`, the data directory of the embedded
//! defaults, and the choice of a service URL.
//!
//! Where no URL is given, [`resolve_url`] looks in this order: the explicit URL, then the
//! environment (`GUREUM_STORAGE_URL`, `GUREUM_QUEUE_URL`, `GUREUM_COMPUTE_URL`), then the
//! profile file (`gureum.toml`, profile from `GUREUM_PROFILE`, default `default`), then the
//! embedded defaults under the data directory ([`default_url`]). Parameters of an opened URL
//! come from its query first, then the profile's `params` table
//! ([`crate::ResourceUrl::param`]).
//!
//! ```toml
//! # gureum.toml
//! [profiles.default]
//! storage = "file:///var/lib/civic/storage"
//! queue = "sqlite:///var/lib/civic/queue.db?queue=jobs"
//!
//! [profiles.aws]
//! storage = "s3://complaints-archive"
//! params = { region = "ap-northeast-2" }
//! ```

use crate::error::{Error, Result};
use crate::registry::Service;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One profile of `gureum.toml`.
///
/// ```
/// use gureum_core::{config::ConfigFile, Service};
/// let cfg = ConfigFile::parse(r#"
/// [profiles.aws]
/// storage = "s3://complaints-archive"
/// params = { region = "ap-northeast-2" }
/// storage_params = { endpoint = "https://s3.city.example" }
/// "#).unwrap();
/// let p = &cfg.profiles["aws"];
/// assert_eq!(p.storage.as_deref(), Some("s3://complaints-archive"));
/// assert_eq!(p.params_for(Service::Storage).unwrap()["endpoint"], "https://s3.city.example");
/// assert!(!p.params_for(Service::Queue).unwrap().contains_key("endpoint"));
/// ```
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Profile {
    /// Storage URL.
    pub storage: Option<String>,
    /// Queue URL.
    pub queue: Option<String>,
    /// Compute URL.
    pub compute: Option<String>,
    /// Parameters layered under the query of every service's URL: only service-neutral ones
    /// belong here (`region`, `timeout`, ...). A parameter for one service (a storage
    /// `endpoint`) goes in that service's table, so it never reaches another service.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Parameters layered under storage URLs only (over [`Profile::params`]).
    #[serde(default)]
    pub storage_params: BTreeMap<String, String>,
    /// Parameters layered under queue URLs only (over [`Profile::params`]).
    #[serde(default)]
    pub queue_params: BTreeMap<String, String>,
    /// Parameters layered under compute URLs only (over [`Profile::params`]).
    #[serde(default)]
    pub compute_params: BTreeMap<String, String>,
}

/// Parameters that name one service's server or resource: refused in a profile's shared
/// `params` (they would reach the other services' URLs too).
///
/// ```
/// use gureum_core::config::SERVICE_SPECIFIC_PARAMS;
/// assert!(SERVICE_SPECIFIC_PARAMS.contains(&"endpoint"));
/// assert!(!SERVICE_SPECIFIC_PARAMS.contains(&"region")); // shared params may hold a region
/// ```
pub const SERVICE_SPECIFIC_PARAMS: &[&str] = &[
    "endpoint",
    "queue_url",
    "queue_endpoint",
    "queue",
    "images",
    "auth_url",
];

impl Profile {
    /// The parameters to layer under a URL of `service`: the shared table with the
    /// service's own table over it. A service-specific parameter
    /// ([`SERVICE_SPECIFIC_PARAMS`]) in the shared table is an error naming the table to use.
    ///
    /// # Examples
    ///
    /// ```
    /// use gureum_core::{config::ConfigFile, ErrorKind, Service};
    /// let cfg = ConfigFile::parse(r#"
    /// [profiles.bad]
    /// params = { endpoint = "https://s3.city.example" }
    /// "#).unwrap();
    /// let e = cfg.profiles["bad"].params_for(Service::Storage).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // endpoint belongs in storage_params
    /// ```
    pub fn params_for(&self, service: Service) -> Result<BTreeMap<String, String>> {
        if let Some(k) = self
            .params
            .keys()
            .find(|k| SERVICE_SPECIFIC_PARAMS.contains(&k.as_str()))
        {
            return Err(Error::invalid(format!(
                "gureum.toml: parameter {k:?} in a profile's shared `params` would reach every \
                 service's URL; put it in `storage_params`, `queue_params` or `compute_params`"
            )));
        }
        let own = match service {
            Service::Storage => &self.storage_params,
            Service::Queue => &self.queue_params,
            Service::Compute => &self.compute_params,
        };
        let mut p = self.params.clone();
        p.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(p)
    }
}

/// The profile file.
///
/// ```
/// use gureum_core::config::ConfigFile;
/// let cfg = ConfigFile::parse("[profiles.default]\nqueue = \"mem://jobs\"\n").unwrap();
/// assert_eq!(cfg.profiles["default"].queue.as_deref(), Some("mem://jobs"));
/// assert!(cfg.policy.is_none());
/// ```
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct ConfigFile {
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The placement policy (`[policy]` table), read by the policy layer of `gureum-layers`
    /// when no `policy=` parameter or `GUREUM_POLICY` file is given. Its format is
    /// described in docs/security.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<toml::Table>,
}

impl ConfigFile {
    /// Parse TOML text.
    ///
    /// ```
    /// use gureum_core::{config::ConfigFile, ErrorKind};
    /// assert!(ConfigFile::parse("").unwrap().profiles.is_empty());
    /// let e = ConfigFile::parse("[profiles.default\n").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::invalid(format!("gureum.toml: {e}")))
    }

    /// Load from `GUREUM_CONFIG`, else `./gureum.toml`, else
    /// `$XDG_CONFIG_HOME/gureum/gureum.toml` / `~/.config/gureum/gureum.toml`.
    /// No file is not an error.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::config::ConfigFile;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("gureum.toml");
    /// std::fs::write(&path, "[profiles.default]\nstorage = \"mem://b\"\n")?;
    /// std::env::set_var("GUREUM_CONFIG", &path);
    /// let cfg = ConfigFile::load()?.expect("the file exists");
    /// assert_eq!(cfg.profiles["default"].storage.as_deref(), Some("mem://b"));
    /// std::env::set_var("GUREUM_CONFIG", tmp.path().join("none.toml"));
    /// assert!(ConfigFile::load()?.is_none()); // no file is not an error
    /// # Ok(()) }
    /// ```
    pub fn load() -> Result<Option<Self>> {
        let candidates: Vec<PathBuf> = if let Ok(p) = std::env::var("GUREUM_CONFIG") {
            vec![PathBuf::from(p)]
        } else {
            let mut v = vec![PathBuf::from("gureum.toml")];
            if let Ok(x) = std::env::var("XDG_CONFIG_HOME") {
                v.push(PathBuf::from(x).join("gureum/gureum.toml"));
            } else if let Ok(h) = std::env::var("HOME") {
                v.push(PathBuf::from(h).join(".config/gureum/gureum.toml"));
            }
            v
        };
        for p in candidates {
            match std::fs::read_to_string(&p) {
                Ok(t) => return Self::parse(&t).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(Error::from(e).context_message(format!("reading {}", p.display())))
                }
            }
        }
        Ok(None)
    }

    /// The selected profile (`GUREUM_PROFILE`, default `default`).
    ///
    /// ```
    /// use gureum_core::config::ConfigFile;
    /// let cfg = ConfigFile::parse("[profiles.default]\nstorage = \"mem://a\"\n[profiles.ncp]\nstorage = \"ncloud://b\"\n").unwrap();
    /// std::env::set_var("GUREUM_PROFILE", "ncp");
    /// assert_eq!(cfg.selected().unwrap().storage.as_deref(), Some("ncloud://b"));
    /// std::env::remove_var("GUREUM_PROFILE");
    /// assert_eq!(cfg.selected().unwrap().storage.as_deref(), Some("mem://a"));
    /// ```
    pub fn selected(&self) -> Option<&Profile> {
        let name = std::env::var("GUREUM_PROFILE").unwrap_or_else(|_| "default".into());
        self.profiles.get(&name)
    }
}

/// The data directory of the embedded defaults: `GUREUM_DATA_DIR`, else
/// `$XDG_DATA_HOME/gureum`, else `~/.local/share/gureum`, else `./.gureum`.
///
/// ```
/// use gureum_core::config::data_dir;
/// std::env::set_var("GUREUM_DATA_DIR", "/srv/civic");
/// assert_eq!(data_dir(), std::path::Path::new("/srv/civic"));
/// ```
pub fn data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("GUREUM_DATA_DIR") {
        return PathBuf::from(d);
    }
    if let Ok(x) = std::env::var("XDG_DATA_HOME") {
        return PathBuf::from(x).join("gureum");
    }
    if let Ok(h) = std::env::var("HOME") {
        return PathBuf::from(h).join(".local/share/gureum");
    }
    PathBuf::from(".gureum")
}

/// The embedded default URL of a service (no account, no server).
///
/// # Examples
///
/// ```
/// use gureum_core::{config::default_url, Service};
/// std::env::set_var("GUREUM_DATA_DIR", "/var/lib/civic");
/// assert_eq!(default_url(Service::Storage), "file:///var/lib/civic/storage");
/// assert_eq!(default_url(Service::Queue), "sqlite:///var/lib/civic/queue.db?queue=default");
/// assert_eq!(default_url(Service::Compute), "local:///var/lib/civic/compute");
/// ```
pub fn default_url(service: Service) -> String {
    let d = data_dir();
    let d = d.to_string_lossy();
    let d = if d.starts_with('/') {
        d.to_string()
    } else {
        std::env::current_dir()
            .map(|c| c.join(&*d).to_string_lossy().into_owned())
            .unwrap_or_else(|_| d.to_string())
    };
    match service {
        Service::Storage => format!("file://{d}/storage"),
        Service::Queue => format!("sqlite://{d}/queue.db?queue=default"),
        Service::Compute => format!("local://{d}/compute"),
    }
}

/// Choose a service URL: explicit, then env, then profile, then the embedded default.
/// Returns the URL and the profile parameters to layer under it
/// ([`Profile::params_for`]: the shared table and the service's own one).
///
/// With an explicit URL the profile file is read only when one was asked for
/// (`GUREUM_CONFIG` or `GUREUM_PROFILE` set): a stray or malformed `./gureum.toml` does not
/// affect code that names its URL.
///
/// ```
/// use gureum_core::{config::resolve_url, Service};
/// std::env::set_var("GUREUM_QUEUE_URL", "mem://from-env");
/// # std::env::remove_var("GUREUM_CONFIG"); std::env::remove_var("GUREUM_PROFILE");
/// let (url, _) = resolve_url(Service::Queue, None).unwrap();
/// assert_eq!(url, "mem://from-env");
/// let (url, _) = resolve_url(Service::Queue, Some("sqlite:///tmp/q.db?queue=jobs")).unwrap();
/// assert_eq!(url, "sqlite:///tmp/q.db?queue=jobs"); // explicit wins
/// ```
pub fn resolve_url(
    service: Service,
    explicit: Option<&str>,
) -> Result<(String, BTreeMap<String, String>)> {
    let env_set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    let cfg = if explicit.is_some() && !env_set("GUREUM_CONFIG") && !env_set("GUREUM_PROFILE") {
        None
    } else {
        ConfigFile::load()?
    };
    resolve_with(service, explicit, cfg.as_ref())
}

/// [`resolve_url`] with the profile file given (`None`: no file).
///
/// # Examples
///
/// ```
/// use gureum_core::{config::{resolve_with, ConfigFile}, Service};
/// let cfg = ConfigFile::parse(r#"
/// [profiles.default]
/// storage = "s3://complaints-archive"
/// queue = "sqs://complaints?create=true"
/// params = { region = "ap-northeast-2" }
/// queue_params = { visibility = "60" }
/// "#).unwrap();
/// # std::env::remove_var("GUREUM_PROFILE"); std::env::remove_var("GUREUM_QUEUE_URL");
/// let (url, params) = resolve_with(Service::Queue, None, Some(&cfg)).unwrap();
/// assert_eq!(url, "sqs://complaints?create=true");
/// assert_eq!(params["region"], "ap-northeast-2");
/// assert_eq!(params["visibility"], "60");
/// // An explicit URL wins over the profile's.
/// let (url, _) = resolve_with(Service::Queue, Some("mem://jobs"), Some(&cfg)).unwrap();
/// assert_eq!(url, "mem://jobs");
/// ```
pub fn resolve_with(
    service: Service,
    explicit: Option<&str>,
    cfg: Option<&ConfigFile>,
) -> Result<(String, BTreeMap<String, String>)> {
    let profile = match cfg {
        Some(c) => {
            let name = std::env::var("GUREUM_PROFILE")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".into());
            match c.profiles.get(&name) {
                Some(p) => p.clone(),
                None if name == "default" => Profile::default(),
                None => {
                    return Err(Error::invalid(format!(
                        "GUREUM_PROFILE={name:?}: no such profile in gureum.toml (profiles: {})",
                        c.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
        None => Profile::default(),
    };
    let from_profile = match service {
        Service::Storage => profile.storage.clone(),
        Service::Queue => profile.queue.clone(),
        Service::Compute => profile.compute.clone(),
    };
    let url = explicit
        .map(str::to_string)
        .or_else(|| {
            std::env::var(service.env_var())
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or(from_profile)
        .unwrap_or_else(|| default_url(service));
    Ok((url, profile.params_for(service)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_parses_profiles() {
        let c = ConfigFile::parse(
            "[profiles.default]\nstorage = \"mem://a\"\n[profiles.aws]\nstorage = \"s3://b\"\nparams = { region = \"ap-northeast-2\" }\n",
        )
        .unwrap();
        assert_eq!(c.profiles["aws"].params["region"], "ap-northeast-2");
        assert!(ConfigFile::parse("[profiles.x]\nstorage = 3").is_err());
    }
}
