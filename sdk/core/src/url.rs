//! Resource URLs, layered configuration and the scheme → opener registry.
//!
//! A backend is chosen by URL (`s3://bucket?region=...`, `sqlite:///var/lib/app/q.db?queue=jobs`).
//! Where no URL is given, [`resolve_url`] looks in this order: the explicit URL, then the
//! environment (`GUREUM_STORAGE_URL`, `GUREUM_QUEUE_URL`, `GUREUM_COMPUTE_URL`), then the
//! profile file (`gureum.toml`, profile from `GUREUM_PROFILE`, default `default`), then the
//! embedded defaults under the data directory. Parameters of an opened URL come from its
//! query first, then the profile's `params` table ([`ResourceUrl::param`]).
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

use crate::compute::Compute;
use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::storage::Bucket;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The three services.
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
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Storage => "storage",
            Service::Queue => "queue",
            Service::Compute => "compute",
        }
    }
    /// The environment variable that holds this service's URL.
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

/// Every scheme gureum knows, with the service and the cargo feature of the `gureum` crate
/// that enables it. Used for the "unknown scheme" error.
pub const KNOWN_SCHEMES: &[(&str, Service, &str)] = &[
    ("mem", Service::Storage, "local"),
    ("file", Service::Storage, "local"),
    ("mem", Service::Queue, "local"),
    ("sqlite", Service::Queue, "local"),
    ("local", Service::Compute, "local"),
    ("s3", Service::Storage, "aws"),
    ("sqs", Service::Queue, "aws"),
    ("ec2", Service::Compute, "aws"),
    ("azblob", Service::Storage, "azure"),
    ("azqueue", Service::Queue, "azure"),
    ("azvm", Service::Compute, "azure"),
    ("swift", Service::Storage, "openstack"),
    ("nova", Service::Compute, "openstack"),
    ("nhn-s3", Service::Storage, "openstack"),
    ("kakao-s3", Service::Storage, "openstack"),
    ("ncloud", Service::Storage, "ncloud"),
    ("ncloud-server", Service::Compute, "ncloud"),
    ("amqp", Service::Queue, "amqp"),
];

/// A parsed resource URL with profile parameters layered under its query.
#[derive(Clone)]
pub struct ResourceUrl {
    url: url::Url,
    params: BTreeMap<String, String>,
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "secret", "password", "token", "sig", "credential"]
        .iter()
        .any(|s| n.contains(s))
}

impl fmt::Debug for ResourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}
impl fmt::Display for ResourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl ResourceUrl {
    /// Parse a URL. Malformed input gives `InvalidArgument` naming the bad part.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::invalid("empty URL"));
        }
        let Some((scheme, _)) = s.split_once("://") else {
            return Err(Error::invalid(format!(
                "URL {:?} has no scheme: expected SCHEME://..., e.g. file:///data or s3://bucket",
                redact_str(s)
            )));
        };
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+' || c == '.')
        {
            return Err(Error::invalid(format!(
                "URL scheme {scheme:?} is malformed"
            )));
        }
        let url = url::Url::parse(s)
            .map_err(|e| Error::invalid(format!("URL {:?} is malformed: {e}", redact_str(s))))?;
        let mut params = BTreeMap::new();
        for (k, v) in url.query_pairs() {
            if params.insert(k.to_string(), v.to_string()).is_some() {
                return Err(Error::invalid(format!(
                    "URL query parameter {k:?} is given twice"
                )));
            }
        }
        Ok(ResourceUrl { url, params })
    }

    /// Layer profile parameters under the URL's own query (query wins).
    pub fn with_defaults(mut self, defaults: &BTreeMap<String, String>) -> Self {
        for (k, v) in defaults {
            self.params.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
    /// Scheme.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }
    /// Host (bucket, queue, region, ...), empty if none.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
    /// Path after the host, percent-decoded.
    pub fn path(&self) -> String {
        percent_encoding::percent_decode_str(self.url.path())
            .decode_utf8_lossy()
            .into_owned()
    }
    /// A parameter from the query or the profile.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(|s| s.as_str())
    }
    /// All parameters.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }
    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str> {
        self.param(name)
            .ok_or_else(|| Error::invalid(format!("{}: missing required parameter {name:?}", self)))
    }
    /// A boolean parameter (`true/false/1/0/yes/no`).
    pub fn bool_param(&self, name: &str) -> Result<Option<bool>> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(Error::invalid(format!(
                    "parameter {name}={v:?} is not a boolean"
                ))),
            },
        }
    }
    /// A numeric parameter.
    pub fn u64_param(&self, name: &str) -> Result<Option<u64>> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("parameter {name}={v:?} is not a number"))),
        }
    }
    /// The URL with passwords and secret-looking parameters replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.url)
    }
}

/// `u` with its password and secret-looking query parameters (`key`, `secret`, `password`,
/// `token`, `sig`, `credential` in the name) replaced by `***`: the form every message and
/// log line shows.
///
/// ```
/// let u = url::Url::parse("https://u:pw@h/p?sig=abc&comp=list").unwrap();
/// assert_eq!(gureum_core::url::redact_url(&u), "https://u:***@h/p?sig=***&comp=list");
/// ```
pub fn redact_url(u: &url::Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    "***".to_string()
                } else {
                    v.to_string()
                };
                (k.to_string(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

fn redact_str(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(u) => redact_url(&u),
        Err(_) => {
            // Cut anything after '?' and any user info.
            let s = s.split('?').next().unwrap_or("");
            match s.split_once('@') {
                Some((a, b)) => match a.split_once("://") {
                    Some((sch, _)) => format!("{sch}://***@{b}"),
                    None => format!("***@{b}"),
                },
                None => s.to_string(),
            }
        }
    }
}

/// One profile of `gureum.toml`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct Profile {
    /// Storage URL.
    pub storage: Option<String>,
    /// Queue URL.
    pub queue: Option<String>,
    /// Compute URL.
    pub compute: Option<String>,
    /// Parameters layered under every URL's query.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The profile file.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct ConfigFile {
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl ConfigFile {
    /// Parse TOML text.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::invalid(format!("gureum.toml: {e}")))
    }

    /// Load from `GUREUM_CONFIG`, else `./gureum.toml`, else
    /// `$XDG_CONFIG_HOME/gureum/gureum.toml` / `~/.config/gureum/gureum.toml`.
    /// No file is not an error.
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
    pub fn selected(&self) -> Option<&Profile> {
        let name = std::env::var("GUREUM_PROFILE").unwrap_or_else(|_| "default".into());
        self.profiles.get(&name)
    }
}

/// The data directory of the embedded defaults: `GUREUM_DATA_DIR`, else
/// `$XDG_DATA_HOME/gureum`, else `~/.local/share/gureum`, else `./.gureum`.
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
/// Returns the URL and the profile parameters to layer under it.
pub fn resolve_url(
    service: Service,
    explicit: Option<&str>,
) -> Result<(String, BTreeMap<String, String>)> {
    let cfg = ConfigFile::load()?;
    let profile = cfg
        .as_ref()
        .and_then(|c| c.selected())
        .cloned()
        .unwrap_or_default();
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
    Ok((url, profile.params))
}

/// Opens buckets for one URL scheme.
#[async_trait]
pub trait StorageOpener: Send + Sync {
    /// Open the bucket the URL names.
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket>;
}
/// Opens queues for one URL scheme.
#[async_trait]
pub trait QueueOpener: Send + Sync {
    /// Open the queue the URL names.
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue>;
}
/// Opens compute services for one URL scheme.
#[async_trait]
pub trait ComputeOpener: Send + Sync {
    /// Open the compute service the URL names.
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute>;
}

/// Scheme → opener tables for the three services.
#[derive(Default, Clone)]
pub struct Registry {
    storage: BTreeMap<String, Arc<dyn StorageOpener>>,
    queue: BTreeMap<String, Arc<dyn QueueOpener>>,
    compute: BTreeMap<String, Arc<dyn ComputeOpener>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("storage", &self.storage.keys().collect::<Vec<_>>())
            .field("queue", &self.queue.keys().collect::<Vec<_>>())
            .field("compute", &self.compute.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Register a storage opener.
    pub fn register_storage(&mut self, scheme: &str, o: Arc<dyn StorageOpener>) {
        self.storage.insert(scheme.to_string(), o);
    }
    /// Register a queue opener.
    pub fn register_queue(&mut self, scheme: &str, o: Arc<dyn QueueOpener>) {
        self.queue.insert(scheme.to_string(), o);
    }
    /// Register a compute opener.
    pub fn register_compute(&mut self, scheme: &str, o: Arc<dyn ComputeOpener>) {
        self.compute.insert(scheme.to_string(), o);
    }
    /// Registered schemes of a service.
    pub fn schemes(&self, service: Service) -> Vec<String> {
        match service {
            Service::Storage => self.storage.keys().cloned().collect(),
            Service::Queue => self.queue.keys().cloned().collect(),
            Service::Compute => self.compute.keys().cloned().collect(),
        }
    }

    fn unknown(&self, service: Service, scheme: &str) -> Error {
        let enabled = self.schemes(service);
        let mut known: Vec<String> = KNOWN_SCHEMES
            .iter()
            .filter(|(_, s, _)| *s == service)
            .map(|(sch, _, feat)| {
                if enabled.iter().any(|e| e == sch) {
                    format!("{sch}:// (feature \"{feat}\", enabled)")
                } else {
                    format!("{sch}:// (feature \"{feat}\", not enabled in this build)")
                }
            })
            .collect();
        for e in &enabled {
            if !KNOWN_SCHEMES
                .iter()
                .any(|(s, sv, _)| s == e && *sv == service)
            {
                known.push(format!("{e}:// (registered)"));
            }
        }
        Error::invalid(format!(
            "unknown {service} scheme {scheme:?}; known schemes: {}",
            known.join(", ")
        ))
    }

    /// Resolve (explicit → env → profile → default) and open a bucket.
    pub async fn open_bucket(&self, url: Option<&str>) -> Result<Bucket> {
        let (u, params) = resolve_url(Service::Storage, url)?;
        let ru = ResourceUrl::parse(&u)?.with_defaults(&params);
        let o = self
            .storage
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Storage, ru.scheme()))?;
        o.open_bucket(&ru).await
    }
    /// Resolve and open a queue.
    pub async fn open_queue(&self, url: Option<&str>) -> Result<Queue> {
        let (u, params) = resolve_url(Service::Queue, url)?;
        let ru = ResourceUrl::parse(&u)?.with_defaults(&params);
        let o = self
            .queue
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Queue, ru.scheme()))?;
        o.open_queue(&ru).await
    }
    /// Resolve and open a compute service.
    pub async fn open_compute(&self, url: Option<&str>) -> Result<Compute> {
        let (u, params) = resolve_url(Service::Compute, url)?;
        let ru = ResourceUrl::parse(&u)?.with_defaults(&params);
        let o = self
            .compute
            .get(ru.scheme())
            .ok_or_else(|| self.unknown(Service::Compute, ru.scheme()))?;
        o.open_compute(&ru).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn malformed_urls_name_the_bad_part() {
        let e = ResourceUrl::parse("no-scheme-here").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("no scheme"), "{e}");
        let e = ResourceUrl::parse("s3://bucket:99999999/").unwrap_err();
        assert!(e.message().contains("port"), "{e}");
        let e = ResourceUrl::parse("s3://b?region=a&region=b").unwrap_err();
        assert!(e.message().contains("region"), "{e}");
    }

    #[test]
    fn secrets_are_redacted() {
        let u = ResourceUrl::parse("amqp://user:hunter2@host/vh?secret_key=abc&region=kr").unwrap();
        let s = format!("{u:?} {u}");
        assert!(!s.contains("hunter2") && !s.contains("abc"), "{s}");
        assert!(s.contains("region=kr"));
        let e = ResourceUrl::parse("s3://user:hunter2@host:99999999/").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn profile_params_layer_under_query() {
        let mut d = BTreeMap::new();
        d.insert("region".to_string(), "kr".to_string());
        d.insert("profile".to_string(), "x".to_string());
        let u = ResourceUrl::parse("s3://b?region=us")
            .unwrap()
            .with_defaults(&d);
        assert_eq!(u.param("region"), Some("us"));
        assert_eq!(u.param("profile"), Some("x"));
        assert_eq!(u.bool_param("nope").unwrap(), None);
    }

    #[test]
    fn config_file_parses_profiles() {
        let c = ConfigFile::parse(
            "[profiles.default]\nstorage = \"mem://a\"\n[profiles.aws]\nstorage = \"s3://b\"\nparams = { region = \"ap-northeast-2\" }\n",
        )
        .unwrap();
        assert_eq!(c.profiles["aws"].params["region"], "ap-northeast-2");
        assert!(ConfigFile::parse("[profiles.x]\nstorage = 3").is_err());
    }

    #[tokio::test]
    async fn unknown_scheme_lists_known_ones() {
        let r = Registry::new();
        let e = r.open_bucket(Some("gopher://x")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("s3:// (feature \"aws\""), "{e}");
        assert!(e.message().contains("gopher"), "{e}");
    }
}
