//! Resource URLs: parsing, parameters and redaction.
//!
//! A backend is chosen by URL (`s3://bucket?region=...`, `sqlite:///var/lib/app/q.db?queue=jobs`).
//! [`ResourceUrl`] parses one and layers profile parameters under its query
//! ([`ResourceUrl::param`]); its `Debug`/`Display` forms hide passwords and secret-looking
//! parameters.
//!
//! Configuration (profiles, `gureum.toml`, the data directory, URL resolution) lives in
//! [`crate::config`], the scheme → opener registry in [`crate::registry`]. Their items are
//! re-exported here too, so the paths `gureum_core::url::{Registry, Service, StorageOpener,
//! resolve_url, ...}` of earlier releases keep working.

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

pub use crate::config::{data_dir, default_url, resolve_url, ConfigFile, Profile};
pub use crate::registry::{ComputeOpener, QueueOpener, Registry, Service, StorageOpener};

/// A parsed resource URL with profile parameters layered under its query.
///
/// The parameter names an opener asks for are recorded, so that the registry can reject a
/// query parameter no opener read (`?regoin=kr`) and list the valid ones
/// ([`ResourceUrl::check_unknown`]). Clones share that record.
///
/// ```
/// use gureum_core::ResourceUrl;
/// let u = ResourceUrl::parse("s3://complaints?region=ap-northeast-2&secret_key=abc").unwrap();
/// assert_eq!(u.param("region"), Some("ap-northeast-2"));
/// assert!(!u.to_string().contains("abc")); // secrets are redacted in Display and Debug
/// ```
#[derive(Clone)]
pub struct ResourceUrl {
    url: url::Url,
    params: BTreeMap<String, String>,
    access: Arc<Mutex<Access>>,
}

/// Which parameters were asked for.
#[derive(Debug, Default)]
struct Access {
    /// Names asked for with `param` (and the helpers on it), present or not.
    asked: BTreeSet<String>,
    /// Name prefixes read with [`ResourceUrl::params_with_prefix`].
    prefixes: BTreeSet<String>,
    /// [`ResourceUrl::params`] handed out the whole map: the reader may use any name.
    all: bool,
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "key",
        "secret",
        "password",
        "token",
        "sig",
        "credential",
        // Azure: a connection string carries the account key; a SAS is a bearer credential.
        "connection_string",
        "connectionstring",
    ]
    .iter()
    .any(|s| n.contains(s))
        || n == "sas"
        || n.starts_with("sas_")
        || n.ends_with("_sas")
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
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// let u = ResourceUrl::parse("sqlite:///var/lib/civic/queue.db?queue=jobs").unwrap();
    /// assert_eq!((u.scheme(), u.path().as_str(), u.param("queue")), ("sqlite", "/var/lib/civic/queue.db", Some("jobs")));
    /// let u = ResourceUrl::parse("s3://complaints?region=ap-northeast-2").unwrap();
    /// assert_eq!(u.host(), "complaints");
    /// assert!(ResourceUrl::parse("no scheme").is_err());
    /// ```
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
        Ok(ResourceUrl {
            url,
            params,
            access: Arc::default(),
        })
    }

    /// Layer profile parameters under the URL's own query (query wins).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let profile = BTreeMap::from([("region".to_string(), "kr".to_string()), ("timeout".to_string(), "30s".to_string())]);
    /// let u = gureum_core::ResourceUrl::parse("s3://b?region=gov").unwrap().with_defaults(&profile);
    /// assert_eq!(u.param("region"), Some("gov")); // the URL's own query wins
    /// assert_eq!(u.param("timeout"), Some("30s"));
    /// ```
    pub fn with_defaults(mut self, defaults: &BTreeMap<String, String>) -> Self {
        for (k, v) in defaults {
            self.params.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// Take the parameters named in `names` out of both the query and the layered profile
    /// parameters: returns them, and leaves a URL whose query no longer mentions them (what a
    /// provider sees when layers own those names; see [`crate::layering`]).
    ///
    /// ```
    /// let mut u = gureum_core::ResourceUrl::parse("s3://b?region=kr&class=personal").unwrap();
    /// let taken = u.take_params(&["class", "audit"]);
    /// assert_eq!(taken.get("class").map(String::as_str), Some("personal"));
    /// assert_eq!(u.param("class"), None);
    /// assert_eq!(u.url().as_str(), "s3://b?region=kr");
    /// ```
    pub fn take_params(&mut self, names: &[&str]) -> BTreeMap<String, String> {
        let mut taken = BTreeMap::new();
        for n in names {
            if let Some(v) = self.params.remove(*n) {
                taken.insert((*n).to_string(), v);
            }
        }
        if !taken.is_empty() && self.url.query().is_some() {
            let keep: Vec<(String, String)> = self
                .url
                .query_pairs()
                .filter(|(k, _)| !taken.contains_key(k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if keep.is_empty() {
                self.url.set_query(None);
            } else {
                self.url.query_pairs_mut().clear().extend_pairs(keep);
            }
        }
        taken
    }

    /// The URL.
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("swift://civic?region=RegionOne").unwrap();
    /// assert_eq!(u.url().query(), Some("region=RegionOne"));
    /// ```
    pub fn url(&self) -> &url::Url {
        &self.url
    }
    /// Scheme.
    ///
    /// ```
    /// assert_eq!(gureum_core::ResourceUrl::parse("sqlite:///tmp/q.db").unwrap().scheme(), "sqlite");
    /// ```
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }
    /// Host (bucket, queue, region, ...), empty if none.
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("azblob://complaints?account=seoulcivic").unwrap();
    /// assert_eq!((u.scheme(), u.host()), ("azblob", "complaints"));
    /// let f = gureum_core::ResourceUrl::parse("file:///var/lib/civic/%EB%AF%BC%EC%9B%90").unwrap();
    /// assert_eq!((f.host(), f.path().as_str()), ("", "/var/lib/civic/민원")); // percent-decoded
    /// ```
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
    /// Path after the host, percent-decoded.
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("file:///srv/%EC%8B%9C%EB%AF%BC").unwrap();
    /// assert_eq!(u.path(), "/srv/시민");
    /// ```
    pub fn path(&self) -> String {
        percent_encoding::percent_decode_str(self.url.path())
            .decode_utf8_lossy()
            .into_owned()
    }
    /// A parameter from the query or the profile (the name is recorded as valid for this
    /// URL's scheme).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let profile = BTreeMap::from([("region".to_string(), "kr-standard".to_string())]);
    /// let u = gureum_core::ResourceUrl::parse("ncloud://b").unwrap().with_defaults(&profile);
    /// assert_eq!(u.param("region"), Some("kr-standard")); // from the profile
    /// assert_eq!(u.param("endpoint"), None);
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        if let Ok(mut a) = self.access.lock() {
            if !a.asked.contains(name) {
                a.asked.insert(name.to_string());
            }
        }
        self.params.get(name).map(|s| s.as_str())
    }
    /// All parameters. A reader of the whole map may use any name, so a URL whose opener
    /// calls this is not checked for unknown parameters; prefer [`ResourceUrl::param`],
    /// [`ResourceUrl::pick`] and [`ResourceUrl::params_with_prefix`].
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("s3://b?region=kr&retries=3").unwrap();
    /// assert_eq!(u.params().len(), 2);
    /// assert!(u.check_unknown(&[]).is_ok()); // a whole-map reader may use any name
    /// ```
    pub fn params(&self) -> &BTreeMap<String, String> {
        if let Ok(mut a) = self.access.lock() {
            a.all = true;
        }
        &self.params
    }
    /// The parameters among `names` that are set (each name recorded as valid).
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("s3://b?retries=5&timeout=30s&region=kr").unwrap();
    /// let http = u.pick(&["retries", "timeout", "deadline"]);
    /// assert_eq!(http.len(), 2);
    /// assert_eq!(http["retries"], "5");
    /// ```
    pub fn pick(&self, names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .filter_map(|n| self.param(n).map(|v| (n.to_string(), v.to_string())))
            .collect()
    }
    /// The parameters whose name starts with `prefix` (e.g. `image.`), with the prefix kept;
    /// every name with that prefix is valid.
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("ec2://ap-northeast-2?image.ubuntu-22.04=ami-1&subnet=s").unwrap();
    /// let images = u.params_with_prefix("image.");
    /// assert_eq!(images["image.ubuntu-22.04"], "ami-1");
    /// assert!(u.check_unknown(&["subnet"]).is_ok()); // every image.* name is valid
    /// ```
    pub fn params_with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        if let Ok(mut a) = self.access.lock() {
            a.prefixes.insert(prefix.to_string());
        }
        self.params
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    /// Names of the URL's own query parameters that nothing asked for: not read by the opener
    /// (through [`ResourceUrl::param`] and friends) and not in `also_valid` (parameters of
    /// the registry itself, such as those of registered layers). Empty when the opener read
    /// the whole map ([`ResourceUrl::params`]). Profile parameters are never unknown: a
    /// profile's shared parameters may be meant for other schemes.
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("s3://b?region=kr&regoin=kr&class=open").unwrap();
    /// let _ = u.param("region");
    /// assert_eq!(u.unknown_params(&["class"]), ["regoin"]);
    /// ```
    pub fn unknown_params(&self, also_valid: &[&str]) -> Vec<String> {
        let Ok(a) = self.access.lock() else {
            return vec![];
        };
        if a.all {
            return vec![];
        }
        let mut v: Vec<String> = self
            .url
            .query_pairs()
            .map(|(k, _)| k.into_owned())
            .filter(|k| {
                !a.asked.contains(k)
                    && !also_valid.contains(&k.as_str())
                    && !a.prefixes.iter().any(|p| k.starts_with(p.as_str()))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the unknown
    /// query parameters ([`ResourceUrl::unknown_params`]) and listing the valid ones, or `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gureum_core::{ErrorKind, ResourceUrl};
    /// let u = ResourceUrl::parse("s3://b?region=kr&regoin=kr").unwrap();
    /// let _ = u.param("region"); // what an opener reads
    /// let e = u.check_unknown(&[]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// assert!(e.message().contains("\"regoin\"") && e.message().contains("valid parameters: region"));
    /// ```
    pub fn check_unknown(&self, also_valid: &[&str]) -> Result<()> {
        let unknown = self.unknown_params(also_valid);
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{}://: unknown parameter{} {}; valid parameters: {}",
            self.scheme(),
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.valid_params(also_valid).join(", ")
        )))
    }
    /// The parameter names known to be valid for this URL so far: those the opener asked
    /// for, its prefixes (`image.*`) and `also_valid`, sorted.
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("ec2://r?subnet=s").unwrap();
    /// let _ = (u.param("subnet"), u.params_with_prefix("image."));
    /// assert_eq!(u.valid_params(&["zone"]), ["image.*", "subnet", "zone"]);
    /// ```
    pub fn valid_params(&self, also_valid: &[&str]) -> Vec<String> {
        let Ok(a) = self.access.lock() else {
            return vec![];
        };
        let mut v: Vec<String> = a
            .asked
            .iter()
            .cloned()
            .chain(a.prefixes.iter().map(|p| format!("{p}*")))
            .chain(also_valid.iter().map(|s| s.to_string()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
    /// A required parameter.
    ///
    /// # Examples
    ///
    /// ```
    /// use gureum_core::{ErrorKind, ResourceUrl};
    /// let u = ResourceUrl::parse("amqp://h/vhost?queue=jobs").unwrap();
    /// assert_eq!(u.require("queue").unwrap(), "jobs");
    /// assert_eq!(u.require("prefetch").unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn require(&self, name: &str) -> Result<&str> {
        self.param(name)
            .ok_or_else(|| Error::invalid(format!("{}: missing required parameter {name:?}", self)))
    }
    /// A boolean parameter (`true/false/1/0/yes/no`).
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("s3://b?path_style=yes&create=maybe").unwrap();
    /// assert_eq!(u.bool_param("path_style").unwrap(), Some(true));
    /// assert_eq!(u.bool_param("absent").unwrap(), None);
    /// assert!(u.bool_param("create").is_err());
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("sqlite:///q.db?poll_ms=20&visibility=soon").unwrap();
    /// assert_eq!(u.u64_param("poll_ms").unwrap(), Some(20));
    /// assert!(u.u64_param("visibility").is_err());
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let u = gureum_core::ResourceUrl::parse("swift://c?auth_url=https://k/v3&password=hunter2").unwrap();
    /// assert!(!u.redacted().contains("hunter2"));
    /// assert!(!format!("{u:?}").contains("hunter2"));
    /// ```
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
    fn azure_connection_string_and_sas_redacted() {
        let u = ResourceUrl::parse(
            "azblob://c?connection_string=AccountKey%3DSECRET-MARKER-CS&sas=sv%3DSECRET-MARKER-SAS&account=a",
        )
        .unwrap();
        for shown in [u.to_string(), format!("{u:?}"), u.redacted()] {
            assert!(!shown.contains("SECRET-MARKER"), "{shown}");
            assert!(shown.contains("account=a"), "{shown}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let u = ResourceUrl::parse("mq://user:hunter2@host/vh?secret_key=abc&region=kr").unwrap();
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
}
