//! Placement policy: which classes of data may live in which zones.
//!
//! Data carries a **class** (`public`, `internal`, `personal`, `sensitive`, or any class a
//! policy file adds); every backend sits in a **zone** (`on-prem`, `domestic-csap`,
//! `foreign`) declared by its scheme or preset and overridable by configuration. A
//! [`Policy`] says which classes may live in which zones, optionally only when the client
//! encrypts (a stacked encryption layer). Writing against the policy fails with
//! [`ErrorKind::PolicyViolation`] naming the rule, the class and the zone, before any byte
//! leaves.
//!
//! Where the rules come from, first match wins:
//! 1. the `policy=PATH` URL / profile parameter (a TOML file);
//! 2. the `GUREUM_POLICY` environment variable (a TOML file);
//! 3. the `[policy]` table of the profile file `gureum.toml`;
//! 4. the built-in safe default ([`Policy::default`]): `public` anywhere, `internal` on-prem
//!    or domestic-csap, `personal` and `sensitive` on-prem only.
//!
//! A file's classes are laid over the defaults, so a file that does not mention `personal`
//! still keeps personal data on-prem.
//!
//! ```toml
//! # policy.toml
//! [classes]
//! internal  = { zones = ["on-prem", "domestic-csap"] }
//! sensitive = { zones = ["on-prem"], encrypted_zones = ["domestic-csap"] }
//! health    = { zones = ["on-prem"] }          # a class of the city's own
//!
//! [zones]                                      # zone overrides: scheme, or URL prefix
//! "s3://city-archive" = "on-prem"              # the city's own S3-compatible store
//!
//! metadata = "classification"                  # object metadata naming a class
//! [[prefix]]                                   # key prefixes naming a class
//! prefix = "민원/"
//! class = "personal"
//! ```
//!
//! A bucket or queue is classified with `class=` (URL, profile) or [`classify_bucket`] /
//! [`classify_queue`]; objects are classified by the `[[prefix]]` rules and by the metadata
//! named `metadata` (default `classification`), so a mixed bucket is policed per object.
//! Sync and plan tools call [`check_destination`] to refuse a forbidden destination up
//! front, and [`Placement::check_object`] per object.

use crate::{BucketLayerExt, Layer, QueueLayerExt};
use async_trait::async_trait;
use futures::stream::BoxStream;
use gureum_core::config::ConfigFile;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, Attribute, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use gureum_core::{
    Bucket, Error, ErrorKind, LayerOpener, LayerParams, LayerSlot, Message, OpenTarget, Queue,
    QueueCapabilities, QueueDriver, ReceiveOptions, ReceivedMessage, Registry, ResourceUrl, Result,
    Service, Zone,
};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// URL / profile parameter: the class of everything in the bucket or queue.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use gureum_core::ErrorKind;
/// use gureum_layers::policy::PARAM_CLASS;
/// // mem:// is on-prem: personal data may live there ...
/// let url = format!("mem://class-doc?{PARAM_CLASS}=personal");
/// assert!(gureum::open_bucket(&url).await.is_ok());
/// // ... but a class must be one the policy knows.
/// let e = gureum::open_bucket("mem://class-doc?class=secretish").await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// # }
/// ```
pub const PARAM_CLASS: &str = "class";
/// URL / profile parameter: path of a policy TOML file.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_layers::policy::{Policy, PARAM_POLICY};
/// let tmp = tempfile::tempdir()?;
/// let file = tmp.path().join("policy.toml");
/// std::fs::write(&file, "[classes]\nhealth = { zones = [\"on-prem\"] }\n")?;
/// // What a `policy=PATH` parameter loads.
/// let p = Policy::load(Some(file.to_str().unwrap()))?;
/// assert!(p.class_rule("health").is_some());
/// assert_eq!(PARAM_POLICY, "policy");
/// # Ok(()) }
/// ```
pub const PARAM_POLICY: &str = "policy";
/// Environment variable: path of a policy TOML file.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_layers::policy::{Policy, ENV_POLICY};
/// let tmp = tempfile::tempdir()?;
/// let file = tmp.path().join("policy.toml");
/// std::fs::write(&file, "[classes]\ntraffic = { zones = [\"foreign\"] }\n")?;
/// std::env::set_var(ENV_POLICY, &file);
/// assert!(Policy::configured());
/// assert!(Policy::load(None)?.class_rule("traffic").is_some());
/// # Ok(()) }
/// ```
pub const ENV_POLICY: &str = "GUREUM_POLICY";
/// Default metadata name whose value classifies an object.
///
/// ```
/// use gureum_layers::policy::{Policy, DEFAULT_METADATA};
/// assert_eq!(Policy::default().metadata_name(), DEFAULT_METADATA);
/// assert_eq!(DEFAULT_METADATA, "classification");
/// ```
pub const DEFAULT_METADATA: &str = "classification";

/// Where a class may live.
///
/// ```
/// use gureum_core::Zone;
/// use gureum_layers::policy::Policy;
/// let p = Policy::default();
/// let personal = p.class_rule("personal").unwrap();
/// assert_eq!(personal.zones, [Zone::OnPrem]);
/// assert!(personal.encrypted_zones.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    /// Zones where the class may live in any form.
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Zones where the class may live only when encrypted on the client (an encryption layer
    /// is stacked).
    #[serde(default)]
    pub encrypted_zones: Vec<Zone>,
}

/// A key-prefix classification rule.
///
/// ```
/// use gureum_layers::policy::{ClassSource, Policy};
/// let p = Policy::parse("[[prefix]]\nprefix = \"민원/\"\nclass = \"personal\"\n", "p.toml").unwrap();
/// let classes = p.classify_object("민원/c-1.json", &Default::default());
/// assert_eq!(classes, [("personal".to_string(), ClassSource::Prefix("민원/".into()))]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRule {
    /// Key prefix (character prefix, as listing uses).
    pub prefix: String,
    /// Class of every object under it.
    pub class: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    classes: BTreeMap<String, ClassRule>,
    #[serde(default)]
    zones: BTreeMap<String, Zone>,
    #[serde(default)]
    metadata: Option<String>,
    #[serde(default)]
    prefix: Vec<PrefixRule>,
}

/// A placement policy: classes → allowed zones, zone overrides, per-object rules.
///
/// ```
/// use gureum_core::Zone;
/// use gureum_layers::policy::{ClassSource, Policy};
/// let p = Policy::default();
/// let h = ClassSource::Handle;
/// assert!(p.check("public", Zone::Foreign, false, &h, "s3://open-data").is_ok());
/// assert!(p.check("internal", Zone::DomesticCsap, false, &h, "ncloud://b").is_ok());
/// assert!(p.check("personal", Zone::DomesticCsap, false, &h, "ncloud://b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    classes: BTreeMap<String, ClassRule>,
    zones: BTreeMap<String, Zone>,
    metadata: String,
    prefixes: Vec<PrefixRule>,
    source: String,
}

impl Default for Policy {
    /// The safe default: `public` anywhere, `internal` on-prem or domestic-csap, `personal`
    /// and `sensitive` on-prem only; no zone overrides, no object rules.
    fn default() -> Self {
        let rule = |z: &[Zone]| ClassRule {
            zones: z.to_vec(),
            encrypted_zones: Vec::new(),
        };
        let classes = [
            ("public", rule(&Zone::ALL)),
            ("internal", rule(&[Zone::OnPrem, Zone::DomesticCsap])),
            ("personal", rule(&[Zone::OnPrem])),
            ("sensitive", rule(&[Zone::OnPrem])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Policy {
            classes,
            zones: BTreeMap::new(),
            metadata: DEFAULT_METADATA.to_string(),
            prefixes: Vec::new(),
            source: "built-in default".to_string(),
        }
    }
}

/// What decided an object's or a handle's class.
///
/// ```
/// use gureum_layers::policy::ClassSource;
/// assert_eq!(ClassSource::Handle.to_string(), "class of the bucket/queue");
/// assert_eq!(ClassSource::Metadata("classification".into()).to_string(), "metadata \"classification\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassSource {
    /// `class=` on the URL / profile, or the API.
    Handle,
    /// A `[[prefix]]` rule.
    Prefix(String),
    /// The object's metadata (name).
    Metadata(String),
}

impl fmt::Display for ClassSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassSource::Handle => f.write_str("class of the bucket/queue"),
            ClassSource::Prefix(p) => write!(f, "prefix rule {p:?}"),
            ClassSource::Metadata(m) => write!(f, "metadata {m:?}"),
        }
    }
}

impl Policy {
    /// Parse a policy TOML document; `source` names it in messages. Its classes are laid
    /// over the defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use gureum_core::{ErrorKind, Zone};
    /// use gureum_layers::policy::{ClassSource, Policy};
    /// let p = Policy::parse(r#"
    /// [classes]
    /// sensitive = { zones = ["on-prem"], encrypted_zones = ["domestic-csap"] }
    /// [zones]
    /// "s3://city-archive" = "on-prem"
    /// "#, "policy.toml").unwrap();
    /// assert_eq!(p.zone_override("s3://city-archive"), Some(Zone::OnPrem));
    /// let h = ClassSource::Handle;
    /// assert!(p.check("sensitive", Zone::DomesticCsap, true, &h, "nhn-s3://b").is_ok()); // encrypted
    /// let e = p.check("sensitive", Zone::DomesticCsap, false, &h, "nhn-s3://b").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    /// // The built-in classes stay: personal data is on-prem only.
    /// assert!(p.check("personal", Zone::Foreign, false, &h, "s3://b").is_err());
    /// // A typo never weakens a policy silently.
    /// assert!(Policy::parse("[classes]\nhealth = { zone = [\"foreign\"] }", "typo.toml").is_err());
    /// ```
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| Error::invalid(format!("policy {source}: {e}")))?;
        Self::from_table(table, source)
    }

    /// A policy from a parsed TOML table (the `[policy]` table of `gureum.toml`).
    ///
    /// ```
    /// use gureum_core::config::ConfigFile;
    /// use gureum_layers::policy::Policy;
    /// let cfg = ConfigFile::parse("[policy.classes]\nhealth = { zones = [\"on-prem\"] }\n").unwrap();
    /// let p = Policy::from_table(cfg.policy.unwrap(), "gureum.toml [policy]").unwrap();
    /// assert_eq!(p.source(), "gureum.toml [policy]");
    /// assert!(p.class_rule("health").is_some());
    /// ```
    pub fn from_table(table: toml::Table, source: &str) -> Result<Self> {
        let f: PolicyFile = toml::Value::Table(table)
            .try_into()
            .map_err(|e| Error::invalid(format!("policy {source}: {e}")))?;
        let mut p = Policy {
            source: source.to_string(),
            ..Policy::default()
        };
        p.classes.extend(f.classes);
        p.zones = f.zones;
        if let Some(m) = f.metadata {
            p.metadata = m;
        }
        for r in &f.prefix {
            if !p.classes.contains_key(&r.class) {
                return Err(Error::invalid(format!(
                    "policy {source}: prefix rule {:?} names unknown class {:?}; classes: {}",
                    r.prefix,
                    r.class,
                    p.class_names().join(", ")
                )));
            }
        }
        p.prefixes = f.prefix;
        Ok(p)
    }

    /// Read a policy file.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::policy::Policy;
    /// let tmp = tempfile::tempdir()?;
    /// let file = tmp.path().join("policy.toml");
    /// std::fs::write(&file, "metadata = \"data-class\"\n")?;
    /// let p = Policy::from_file(file.to_str().unwrap())?;
    /// assert_eq!(p.metadata_name(), "data-class");
    /// assert!(Policy::from_file("/nonexistent/policy.toml").is_err());
    /// # Ok(()) }
    /// ```
    pub fn from_file(path: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from(e).context_message(format!("reading policy file {path}")))?;
        Self::parse(&text, path)
    }

    /// The policy in force: `policy_param` (a path), else `GUREUM_POLICY`, else the
    /// `[policy]` table of `gureum.toml`, else the default.
    ///
    /// ```
    /// # std::env::remove_var("GUREUM_POLICY"); std::env::set_var("GUREUM_CONFIG", "/nonexistent/gureum.toml");
    /// use gureum_layers::policy::Policy;
    /// // No parameter, no GUREUM_POLICY, no [policy] table: the built-in default.
    /// let p = Policy::load(None).unwrap();
    /// assert_eq!(p, Policy::default());
    /// ```
    pub fn load(policy_param: Option<&str>) -> Result<Self> {
        if let Some(p) = policy_param {
            return Self::from_file(p);
        }
        if let Ok(p) = std::env::var(ENV_POLICY) {
            if !p.is_empty() {
                return Self::from_file(&p);
            }
        }
        if let Some(t) = ConfigFile::load()?.and_then(|c| c.policy) {
            return Self::from_table(t, "gureum.toml [policy]");
        }
        Ok(Self::default())
    }

    /// Whether a policy is configured outside URLs (`GUREUM_POLICY` or `[policy]` in
    /// `gureum.toml`): then every bucket and queue is policed, classified or not.
    ///
    /// ```
    /// # std::env::set_var("GUREUM_CONFIG", "/nonexistent/gureum.toml");
    /// use gureum_layers::policy::Policy;
    /// std::env::remove_var("GUREUM_POLICY");
    /// assert!(!Policy::configured()); // only URLs with class=/policy= are policed
    /// ```
    pub fn configured() -> bool {
        std::env::var(ENV_POLICY).is_ok_and(|p| !p.is_empty())
            || ConfigFile::load()
                .ok()
                .flatten()
                .is_some_and(|c| c.policy.is_some())
    }

    /// Where the rules came from.
    ///
    /// ```
    /// use gureum_layers::policy::Policy;
    /// assert_eq!(Policy::default().source(), "built-in default");
    /// assert_eq!(Policy::parse("", "city.toml").unwrap().source(), "city.toml");
    /// ```
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Known class names.
    ///
    /// ```
    /// use gureum_layers::policy::Policy;
    /// assert_eq!(Policy::default().class_names(), ["internal", "personal", "public", "sensitive"]);
    /// ```
    pub fn class_names(&self) -> Vec<String> {
        self.classes.keys().cloned().collect()
    }
    /// The rule of a class.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::Policy;
    /// assert_eq!(Policy::default().class_rule("public").unwrap().zones, Zone::ALL);
    /// assert!(Policy::default().class_rule("health").is_none());
    /// ```
    pub fn class_rule(&self, class: &str) -> Option<&ClassRule> {
        self.classes.get(class)
    }
    /// The metadata name that classifies objects.
    ///
    /// ```
    /// use gureum_layers::policy::Policy;
    /// assert_eq!(Policy::parse("metadata = \"class\"", "p.toml").unwrap().metadata_name(), "class");
    /// ```
    pub fn metadata_name(&self) -> &str {
        &self.metadata
    }

    /// The zone override for a URL from the `[zones]` table: the longest key that is the
    /// URL's scheme or a prefix of the URL (`"s3://city-archive"`).
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::Policy;
    /// let p = Policy::parse("[zones]\ns3 = \"foreign\"\n\"s3://city-archive\" = \"on-prem\"\n", "p.toml").unwrap();
    /// assert_eq!(p.zone_override("s3://city-archive/x"), Some(Zone::OnPrem)); // longest key wins
    /// assert_eq!(p.zone_override("s3://other"), Some(Zone::Foreign));
    /// assert_eq!(p.zone_override("mem://b"), None);
    /// ```
    pub fn zone_override(&self, url: &str) -> Option<Zone> {
        let scheme = url.split("://").next().unwrap_or("");
        self.zones
            .iter()
            .filter(|(k, _)| *k == scheme || (k.contains("://") && url.starts_with(k.as_str())))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, z)| *z)
    }

    /// Check that `class` may live in `zone` (`encrypted`: an encryption layer is stacked).
    /// The error is `PolicyViolation` naming rule, class and zone; an unknown class is
    /// `InvalidArgument` listing the known ones.
    ///
    /// ```
    /// use gureum_core::{ErrorKind, Zone};
    /// use gureum_layers::policy::{ClassSource, Policy};
    /// let p = Policy::default();
    /// let e = p.check("personal", Zone::Foreign, false, &ClassSource::Handle, "s3://b").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    /// assert!(e.message().contains("classes.personal"));
    /// let e = p.check("nope", Zone::OnPrem, false, &ClassSource::Handle, "file:///b").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // unknown class
    /// ```
    pub fn check(
        &self,
        class: &str,
        zone: Zone,
        encrypted: bool,
        source: &ClassSource,
        resource: &str,
    ) -> Result<()> {
        let rule = self.classes.get(class).ok_or_else(|| {
            Error::invalid(format!(
                "unknown data class {class:?} ({source}); classes in policy {}: {}",
                self.source,
                self.class_names().join(", ")
            ))
        })?;
        if rule.zones.contains(&zone) || (encrypted && rule.encrypted_zones.contains(&zone)) {
            return Ok(());
        }
        let allowed: Vec<&str> = rule.zones.iter().map(|z| z.as_str()).collect();
        let mut msg = format!(
            "policy rule classes.{class} (policy {}) forbids class {class:?} in zone {:?}: \
             {resource} ({source}); allowed zones: {}",
            self.source,
            zone.as_str(),
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        );
        if rule.encrypted_zones.contains(&zone) {
            msg.push_str(&format!(
                "; {} only with client-side encryption (encrypt=)",
                zone.as_str()
            ));
        }
        Err(Error::new(ErrorKind::PolicyViolation, msg))
    }

    /// The classes an object gets from the per-object rules: the longest matching
    /// `[[prefix]]` rule and the classifying metadata value.
    ///
    /// ```
    /// use gureum_layers::policy::{ClassSource, Policy};
    /// use std::collections::BTreeMap;
    /// let p = Policy::default();
    /// let meta = BTreeMap::from([("classification".to_string(), "sensitive".to_string())]);
    /// assert_eq!(p.classify_object("a.json", &meta), [("sensitive".to_string(), ClassSource::Metadata("classification".into()))]);
    /// assert!(p.classify_object("a.json", &BTreeMap::new()).is_empty());
    /// ```
    pub fn classify_object(
        &self,
        key: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Vec<(String, ClassSource)> {
        let mut out = Vec::new();
        if let Some(r) = self
            .prefixes
            .iter()
            .filter(|r| key.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
        {
            out.push((r.class.clone(), ClassSource::Prefix(r.prefix.clone())));
        }
        if let Some(v) = metadata.get(&self.metadata) {
            out.push((v.clone(), ClassSource::Metadata(self.metadata.clone())));
        }
        out
    }

    /// Whether the policy has per-object rules.
    ///
    /// ```
    /// use gureum_layers::policy::Policy;
    /// assert!(!Policy::default().has_object_rules());
    /// assert!(Policy::parse("[[prefix]]\nprefix = \"hr/\"\nclass = \"personal\"", "p").unwrap().has_object_rules());
    /// ```
    pub fn has_object_rules(&self) -> bool {
        !self.prefixes.is_empty()
    }
}

/// The placement of one bucket or queue: the policy, its zone, its class and whether it is
/// encrypted. What the policy layer enforces, and what sync/plan use to check a destination
/// and each object before copying.
///
/// ```
/// use gureum_core::Zone;
/// use gureum_layers::policy::{Placement, Policy};
/// use std::sync::Arc;
/// let p = Placement::new(Arc::new(Policy::default()), Zone::DomesticCsap, Some("internal".into()), false, "ncloud://b").unwrap();
/// let meta = [("classification".to_string(), "personal".to_string())].into();
/// assert!(p.check_object("a.json", &Default::default()).is_ok());
/// assert!(p.check_object("b.json", &meta).is_err()); // this object is personal
/// ```
#[derive(Debug, Clone)]
pub struct Placement {
    policy: Arc<Policy>,
    zone: Zone,
    class: Option<String>,
    encrypted: bool,
    resource: String,
}

impl Placement {
    /// A placement; checks the handle's class (if any) right away.
    ///
    /// ```
    /// use gureum_core::{ErrorKind, Zone};
    /// use gureum_layers::policy::{Placement, Policy};
    /// use std::sync::Arc;
    /// let policy = Arc::new(Policy::default());
    /// assert!(Placement::new(policy.clone(), Zone::OnPrem, Some("personal".into()), false, "file:///b").is_ok());
    /// let e = Placement::new(policy, Zone::Foreign, Some("personal".into()), false, "s3://b").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PolicyViolation); // the handle's class is checked at once
    /// ```
    pub fn new(
        policy: Arc<Policy>,
        zone: Zone,
        class: Option<String>,
        encrypted: bool,
        resource: impl Into<String>,
    ) -> Result<Self> {
        let p = Placement {
            policy,
            zone,
            class,
            encrypted,
            resource: resource.into(),
        };
        if let Some(c) = &p.class {
            p.policy
                .check(c, p.zone, p.encrypted, &ClassSource::Handle, &p.resource)?;
        }
        Ok(p)
    }
    /// The zone.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::{Placement, Policy};
    /// let p = Placement::new(std::sync::Arc::new(Policy::default()), Zone::Foreign, None, false, "s3://b").unwrap();
    /// assert_eq!(p.zone(), Zone::Foreign);
    /// ```
    pub fn zone(&self) -> Zone {
        self.zone
    }
    /// The class of the handle.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::{Placement, Policy};
    /// let p = Placement::new(std::sync::Arc::new(Policy::default()), Zone::OnPrem, Some("internal".into()), false, "file:///b").unwrap();
    /// assert_eq!(p.class(), Some("internal"));
    /// ```
    pub fn class(&self) -> Option<&str> {
        self.class.as_deref()
    }
    /// Whether the destination is encrypted on the client.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::{Placement, Policy};
    /// let policy = Policy::parse("[classes]\nsensitive = { zones = [\"on-prem\"], encrypted_zones = [\"domestic-csap\"] }", "p").unwrap();
    /// let p = Placement::new(std::sync::Arc::new(policy), Zone::DomesticCsap, Some("sensitive".into()), true, "ncloud://b").unwrap();
    /// assert!(p.encrypted()); // allowed only because the client encrypts
    /// ```
    pub fn encrypted(&self) -> bool {
        self.encrypted
    }
    /// The policy.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::{Placement, Policy};
    /// let p = Placement::new(std::sync::Arc::new(Policy::default()), Zone::OnPrem, None, false, "file:///b").unwrap();
    /// assert_eq!(p.policy().source(), "built-in default");
    /// ```
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    /// Check writing `key` with `metadata`: the handle's class, the prefix rule and the
    /// classifying metadata must each be allowed in the zone.
    ///
    /// ```
    /// use gureum_core::{ErrorKind, Zone};
    /// use gureum_layers::policy::{Placement, Policy};
    /// use std::sync::Arc;
    /// let policy = Policy::parse("[[prefix]]\nprefix = \"민원/\"\nclass = \"personal\"", "p.toml").unwrap();
    /// let p = Placement::new(Arc::new(policy), Zone::Foreign, None, false, "s3://mixed").unwrap();
    /// assert!(p.check_object("stats/2026.csv", &Default::default()).is_ok());
    /// let e = p.check_object("민원/c-1.json", &Default::default()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    /// ```
    pub fn check_object(&self, key: &str, metadata: &BTreeMap<String, String>) -> Result<()> {
        let resource = format!("{}#{key}", self.resource);
        if let Some(c) = &self.class {
            self.policy.check(
                c,
                self.zone,
                self.encrypted,
                &ClassSource::Handle,
                &resource,
            )?;
        }
        for (class, source) in self.policy.classify_object(key, metadata) {
            self.policy
                .check(&class, self.zone, self.encrypted, &source, &resource)?;
        }
        Ok(())
    }
}

/// The zone a URL's backend sits in, as far as known without opening it: the policy's
/// `[zones]` override, else the URL's `zone=` parameter, else the scheme's declared zone.
///
/// ```
/// # std::env::remove_var("GUREUM_POLICY"); std::env::set_var("GUREUM_CONFIG", "/nonexistent/gureum.toml");
/// use gureum_core::{Registry, Service, Zone};
/// use gureum_layers::policy::zone_of_url;
/// let mut registry = Registry::new();
/// registry.describe(&[gureum_core::SchemeInfo { scheme: "mem", service: Service::Storage, feature: "local", zone: Zone::OnPrem, description: "" }]);
/// assert_eq!(zone_of_url(&registry, Service::Storage, "mem://b").unwrap(), Zone::OnPrem);
/// assert_eq!(zone_of_url(&registry, Service::Storage, "mem://b?zone=foreign").unwrap(), Zone::Foreign);
/// ```
pub fn zone_of_url(registry: &Registry, service: Service, url: &str) -> Result<Zone> {
    let ru = ResourceUrl::parse(url)?;
    let policy_zone = Policy::load(ru.param(PARAM_POLICY))?.zone_override(&ru.redacted());
    resolve_zone(registry, service, &ru, policy_zone)
}

fn resolve_zone(
    registry: &Registry,
    service: Service,
    ru: &ResourceUrl,
    policy_zone: Option<Zone>,
) -> Result<Zone> {
    if let Some(z) = policy_zone {
        return Ok(z);
    }
    if let Some(z) = ru.param(gureum_core::layering::PARAM_ZONE) {
        return Zone::parse(z);
    }
    registry
        .scheme_info(service, ru.scheme())
        .map(|i| i.zone)
        .ok_or_else(|| {
            Error::invalid(format!(
                "{}: no {service} scheme {:?} in this build, so its zone is unknown",
                ru.redacted(),
                ru.scheme()
            ))
        })
}

/// Check a destination before anything is opened or copied (`gureum sync`, `gureum plan`,
/// `gureum policy check`): the policy in force (the URL's `policy=`, `GUREUM_POLICY`,
/// `gureum.toml`, or the default), the destination's zone ([`zone_of_url`]), and `class`
/// (else the URL's `class=`). The URL's `encrypt=` parameter counts as encrypted. Returns
/// the [`Placement`] to check each object with ([`Placement::check_object`]), or
/// `PolicyViolation` naming the rule, class and zone.
///
/// ```
/// let reg = gureum_core::Registry::new();
/// // No scheme registered: the zone is unknown, which is an error, not a pass.
/// assert!(gureum_layers::policy::check_destination(&reg, gureum_core::Service::Storage,
///     "s3://b", Some("personal")).is_err());
/// ```
pub fn check_destination(
    registry: &Registry,
    service: Service,
    url: &str,
    class: Option<&str>,
) -> Result<Placement> {
    let ru = ResourceUrl::parse(url)?;
    let policy = Arc::new(Policy::load(ru.param(PARAM_POLICY))?);
    let zone = resolve_zone(registry, service, &ru, policy.zone_override(&ru.redacted()))?;
    let class = class.or(ru.param(PARAM_CLASS)).map(str::to_string);
    let encrypted = ru.param("encrypt").is_some()
        || registry
            .layers()
            .iter()
            .any(|l| l.encrypts() && l.params().iter().any(|p| ru.param(p).is_some()));
    let mut shown = ru.clone();
    shown.take_params(&[PARAM_CLASS, PARAM_POLICY]);
    Placement::new(policy, zone, class, encrypted, shown.redacted())
}

/// Stack the policy layer over a bucket through the API: `class` for every object (or
/// `None` for per-object rules only). The bucket's zone (from its backend info, or the
/// policy's override for `url`) is checked now; writes are checked per object.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, BackendInfo, Bucket, ErrorKind, Zone};
/// use gureum_layers::policy::{classify_bucket, Policy};
/// use std::sync::Arc;
/// let bucket_in = |zone| {
///     Bucket::new("records", Arc::new(InMemory::new()))
///         .with_info(BackendInfo { scheme: "mem".into(), provider: "local".into(), zone })
/// };
/// let policy = Arc::new(Policy::parse(r#"
/// [classes]
/// health = { zones = ["on-prem"] }
/// "#, "city-policy.toml")?);
/// let records = classify_bucket(bucket_in(Zone::OnPrem), policy.clone(), Some("health"))?;
/// records.put("보건/r-1.json", b"{}".to_vec()).await?;
/// // The same class on a foreign cloud is refused before anything is written.
/// let e = classify_bucket(bucket_in(Zone::Foreign), policy, Some("health")).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
/// # Ok(()) }
/// ```
pub fn classify_bucket(bucket: Bucket, policy: Arc<Policy>, class: Option<&str>) -> Result<Bucket> {
    let resource = format!("{}://{}", bucket.info().scheme, bucket.name());
    let zone = policy
        .zone_override(&resource)
        .unwrap_or(bucket.info().zone);
    let placement = Placement::new(
        policy,
        zone,
        class.map(str::to_string),
        bucket.is_encrypted(),
        resource,
    )?;
    Ok(bucket.layer(PolicyLayer { placement }))
}

/// Stack the policy layer over a queue through the API (see [`classify_bucket`]); messages
/// are classified by the attribute named like the policy's metadata name.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # std::env::remove_var("GUREUM_POLICY"); std::env::set_var("GUREUM_CONFIG", "/nonexistent/gureum.toml");
/// use gureum_core::{BackendInfo, ErrorKind, Message, Zone};
/// use gureum_layers::policy::{classify_queue, Policy};
/// use std::sync::Arc;
/// let info = BackendInfo { scheme: "sqs".into(), provider: "aws".into(), zone: Zone::Foreign };
/// let queue = gureum::open_queue("mem://classify-queue-doc").await?.with_info(info);
/// let queue = classify_queue(queue, Arc::new(Policy::default()), Some("public"))?;
/// queue.send(Message::new("bus 7 late")).await?;
/// // A message whose attribute marks it personal may not go to a foreign zone.
/// let m = Message::new("kim, 010-...").attribute("classification", "personal");
/// assert_eq!(queue.send(m).await.unwrap_err().kind(), ErrorKind::PolicyViolation);
/// # Ok(()) }
/// ```
pub fn classify_queue(queue: Queue, policy: Arc<Policy>, class: Option<&str>) -> Result<Queue> {
    let resource = format!("{}://{}", queue.info().scheme, queue.name());
    let zone = policy.zone_override(&resource).unwrap_or(queue.info().zone);
    let placement = Placement::new(
        policy,
        zone,
        class.map(str::to_string),
        queue.is_encrypted(),
        resource,
    )?;
    Ok(queue.layer(PolicyLayer { placement }))
}

/// The policy layer: refuses writes the placement forbids.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, BackendInfo, Bucket, ErrorKind, PutOptions, Zone};
/// use gureum_layers::{policy::{Placement, Policy, PolicyLayer}, BucketLayerExt};
/// use std::sync::Arc;
/// let info = BackendInfo { scheme: "s3".into(), provider: "aws".into(), zone: Zone::Foreign };
/// let bucket = Bucket::new("open-data", Arc::new(InMemory::new())).with_info(info);
/// let placement = Placement::new(Arc::new(Policy::default()), Zone::Foreign, Some("public".into()), false, "s3://open-data")?;
/// let bucket = bucket.layer(PolicyLayer::new(placement));
/// bucket.put("stats.csv", "a,b\n").await?;
/// // An object marked personal is refused before any byte leaves.
/// let opts = PutOptions::default().metadata("classification", "personal");
/// let e = bucket.put_with("names.csv", "kim\n", &opts).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
/// assert!(!bucket.exists("names.csv").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PolicyLayer {
    placement: Placement,
}

impl PolicyLayer {
    /// A layer enforcing `placement`.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// use gureum_layers::policy::{Placement, Policy, PolicyLayer};
    /// let placement = Placement::new(std::sync::Arc::new(Policy::default()), Zone::OnPrem, None, false, "file:///b").unwrap();
    /// let layer = PolicyLayer::new(placement);
    /// assert_eq!(gureum_layers::Layer::name(&layer), "policy");
    /// ```
    pub fn new(placement: Placement) -> Self {
        PolicyLayer { placement }
    }
}

impl Layer for PolicyLayer {
    fn name(&self) -> &str {
        "policy"
    }
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(PolicyStore {
            placement: self.placement.clone(),
            inner,
        })
    }
    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        Arc::new(PolicyQueue {
            placement: self.placement.clone(),
            inner,
        })
    }
}

#[derive(Debug)]
struct PolicyStore {
    placement: Placement,
    inner: Arc<dyn ObjectStore>,
}

impl fmt::Display for PolicyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Policy({})", self.inner)
    }
}

fn metadata_of(attrs: &object_store::Attributes) -> BTreeMap<String, String> {
    attrs
        .iter()
        .filter_map(|(k, v)| match k {
            Attribute::Metadata(n) => Some((n.to_string(), v.as_ref().to_string())),
            _ => None,
        })
        .collect()
}

impl PolicyStore {
    fn check(&self, key: &Path, metadata: &BTreeMap<String, String>) -> object_store::Result<()> {
        self.placement
            .check_object(key.as_ref(), metadata)
            .map_err(|e| e.into_object_store("policy", key.as_ref()))
    }
}

#[async_trait]
impl ObjectStore for PolicyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(location, &metadata_of(&opts.attributes))?;
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(location, &metadata_of(&opts.attributes))?;
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        // A copy keeps the source's metadata: classify the destination key with it.
        let head = GetOptions {
            head: true,
            ..Default::default()
        };
        let src_meta = match self.inner.get_opts(from, head).await {
            Ok(r) => metadata_of(&r.attributes),
            // The copy itself reports a missing source.
            Err(_) => BTreeMap::new(),
        };
        self.check(to, &src_meta)?;
        self.inner.copy_opts(from, to, options).await
    }
    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.check(to, &BTreeMap::new())?;
        self.inner.rename_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct PolicyQueue {
    placement: Placement,
    inner: Arc<dyn QueueDriver>,
}

#[async_trait]
impl QueueDriver for PolicyQueue {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        for m in &messages {
            // Messages have no key: the handle's class and the classifying attribute apply.
            self.placement.check_object("", &m.attributes)?;
        }
        self.inner.send_batch(messages).await
    }
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        self.inner.receive(opts).await
    }
    async fn ack(&self, receipts: &[String]) -> Result<()> {
        self.inner.ack(receipts).await
    }
    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        self.inner.nack(receipt, delay).await
    }
    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        self.inner.extend_visibility(receipt, visibility).await
    }
    async fn depth(&self) -> Result<u64> {
        self.inner.depth().await
    }
    async fn purge(&self) -> Result<()> {
        self.inner.purge().await
    }
}

/// The registry hook: `class=` and `policy=` parameters (or a configured policy) stack the
/// policy layer outermost.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # std::env::remove_var("GUREUM_POLICY"); std::env::set_var("GUREUM_CONFIG", "/nonexistent/gureum.toml");
/// use gureum_core::ErrorKind;
/// let registry = gureum::registry(); // registers the PolicyOpener with the other layers
/// assert!(registry.layers().iter().any(|l| l.name() == "policy"));
/// let bucket = registry.open_bucket(Some("mem://policy-opener-doc?class=personal")).await.unwrap();
/// assert_eq!(bucket.layers(), ["policy"]);
/// // A forbidden zone is refused before the backend is opened.
/// let e = registry.open_bucket(Some("mem://policy-opener-doc?class=personal&zone=foreign")).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::PolicyViolation);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct PolicyOpener;

#[async_trait]
impl LayerOpener for PolicyOpener {
    fn name(&self) -> &'static str {
        "policy"
    }
    fn params(&self) -> &'static [&'static str] {
        &[PARAM_CLASS, PARAM_POLICY]
    }
    fn slot(&self) -> LayerSlot {
        LayerSlot::Policy
    }
    fn engaged(&self, params: &LayerParams) -> bool {
        params.any(self.params()) || Policy::configured()
    }
    async fn check_open(&self, target: &OpenTarget, params: &LayerParams) -> Result<()> {
        let policy = Policy::load(params.get(PARAM_POLICY))?;
        let zone = policy.zone_override(&target.url).unwrap_or(target.zone);
        if let Some(class) = params.get(PARAM_CLASS) {
            policy.check(
                class,
                zone,
                target.encrypted,
                &ClassSource::Handle,
                &target.url,
            )?;
        }
        Ok(())
    }
    async fn stack_bucket(
        &self,
        bucket: Bucket,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Bucket> {
        let policy = Arc::new(Policy::load(params.get(PARAM_POLICY))?);
        let zone = policy
            .zone_override(&target.url)
            .unwrap_or(bucket.info().zone);
        let placement = Placement::new(
            policy,
            zone,
            params.get(PARAM_CLASS).map(str::to_string),
            bucket.is_encrypted(),
            target.url.clone(),
        )?;
        Ok(bucket.layer(PolicyLayer { placement }))
    }
    async fn stack_queue(
        &self,
        queue: Queue,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Queue> {
        let policy = Arc::new(Policy::load(params.get(PARAM_POLICY))?);
        let zone = policy
            .zone_override(&target.url)
            .unwrap_or(queue.info().zone);
        let placement = Placement::new(
            policy,
            zone,
            params.get(PARAM_CLASS).map(str::to_string),
            queue.is_encrypted(),
            target.url.clone(),
        )?;
        Ok(queue.layer(PolicyLayer { placement }))
    }
}
