//! Configuration like the OpenStack CLI: `clouds.yaml` (+ `secure.yaml`), `OS_*` environment
//! variables, URL query parameters, and presets.
//!
//! Order: the URL's own parameters win; then the named cloud (`?cloud=NAME`, else
//! `OS_CLOUD`) from clouds.yaml; then `OS_*` variables when no cloud is named; a preset
//! (`?preset=nhn` or clouds.yaml `profile: nhn`) fills what is still missing.
//!
//! clouds.yaml is searched at `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`; `secure.yaml` next to
//! it is merged in (secrets kept apart).

use crate::auth::{AuthOptions, Credential, Interface, Scope};
use crate::presets::{self, IdentityApi, Preset};
use gureum_core::url::ResourceUrl;
use gureum_core::{Error, Result, Zone};
use secrecy::SecretString;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// A resolved cloud: how to authenticate, plus the preset and the remaining options.
///
/// ```
/// use gureum_openstack::config::CloudConfig;
/// use std::collections::BTreeMap;
/// let settings = BTreeMap::from([
///     ("auth_url".to_string(), "http://127.0.0.1:15001/v3".to_string()),
///     ("username".to_string(), "civic".to_string()),
///     ("password".to_string(), "s3cret".to_string()),
///     ("project_name".to_string(), "records".to_string()),
///     ("region_name".to_string(), "RegionOne".to_string()),
/// ]);
/// let c = CloudConfig::from_settings(settings, None).unwrap();
/// assert_eq!(c.preset.name, "openstack");
/// assert_eq!(c.auth.region.as_deref(), Some("RegionOne"));
/// ```
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Authentication and endpoint selection.
    pub auth: AuthOptions,
    /// The preset (the generic `openstack` one when none is named).
    pub preset: &'static Preset,
    /// Government variant of the preset.
    pub gov: bool,
    /// Placement zone (preset's, or `zone=` override).
    pub zone: Zone,
    /// The cloud name from clouds.yaml, if any.
    pub cloud_name: Option<String>,
    /// Every non-auth setting (temp_url_key, microversion, ...).
    pub extra: BTreeMap<String, String>,
}

/// Flat key → value view over the sources, with the auth sub-table flattened.
#[derive(Debug, Default, Clone)]
struct Flat(BTreeMap<String, String>);

impl Flat {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }
    fn first(&self, ks: &[&str]) -> Option<String> {
        ks.iter().find_map(|k| self.get(k)).map(str::to_string)
    }
    fn under(&mut self, other: &Flat) {
        for (k, v) in &other.0 {
            self.0.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn yaml_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flatten_cloud(v: &Value, out: &mut Flat) {
    let Some(m) = v.as_mapping() else { return };
    for (k, val) in m {
        let Some(k) = k.as_str() else { continue };
        if k == "auth" {
            if let Some(am) = val.as_mapping() {
                for (ak, av) in am {
                    if let (Some(ak), Some(av)) = (ak.as_str(), yaml_str(av)) {
                        out.0.entry(ak.to_string()).or_insert(av);
                    }
                }
            }
        } else if let Some(s) = yaml_str(val) {
            out.0.entry(k.to_string()).or_insert(s);
        }
    }
}

fn clouds_paths() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(p) = std::env::var("OS_CLIENT_CONFIG_FILE") {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from("clouds.yaml"));
    if let Ok(h) = std::env::var("HOME") {
        v.push(PathBuf::from(h).join(".config/openstack/clouds.yaml"));
    }
    v.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    v
}

/// Load cloud `name` from clouds.yaml text (and optional secure.yaml text).
///
/// ```
/// use gureum_openstack::config::cloud_from_yaml;
/// let yaml = "clouds:\n  city:\n    auth:\n      auth_url: http://127.0.0.1:15001/v3\n      username: civic\n      project_name: records\n    region_name: RegionOne\n";
/// let secure = "clouds:\n  city:\n    auth:\n      password: s3cret\n";
/// let flat = cloud_from_yaml(yaml, Some(secure), "city").unwrap();
/// assert_eq!(flat["username"], "civic");
/// assert_eq!(flat["password"], "s3cret"); // merged from secure.yaml
/// assert!(cloud_from_yaml(yaml, None, "other").is_err());
/// ```
pub fn cloud_from_yaml(
    clouds: &str,
    secure: Option<&str>,
    name: &str,
) -> Result<BTreeMap<String, String>> {
    let v: Value =
        serde_norway::from_str(clouds).map_err(|e| Error::invalid(format!("clouds.yaml: {e}")))?;
    let entry = v.get("clouds").and_then(|c| c.get(name));
    let mut flat = Flat::default();
    if let Some(s) = secure {
        let sv: Value =
            serde_norway::from_str(s).map_err(|e| Error::invalid(format!("secure.yaml: {e}")))?;
        if let Some(se) = sv.get("clouds").and_then(|c| c.get(name)) {
            flatten_cloud(se, &mut flat);
        }
    }
    let Some(entry) = entry else {
        let names: Vec<String> = v
            .get("clouds")
            .and_then(|c| c.as_mapping())
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        return Err(Error::invalid(format!(
            "cloud {name:?} is not in clouds.yaml (have: {})",
            names.join(", ")
        )));
    };
    let mut base = Flat::default();
    flatten_cloud(entry, &mut base);
    // secure.yaml values override clouds.yaml ones.
    flat.under(&base);
    Ok(flat.0)
}

fn load_cloud(name: &str) -> Result<BTreeMap<String, String>> {
    for p in clouds_paths() {
        match std::fs::read_to_string(&p) {
            Ok(text) => {
                let secure = p
                    .parent()
                    .map(|d| d.join("secure.yaml"))
                    .and_then(|s| std::fs::read_to_string(s).ok());
                return cloud_from_yaml(&text, secure.as_deref(), name)
                    .map_err(|e| e.context_message(p.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::from(e).context_message(format!("reading {}", p.display())))
            }
        }
    }
    Err(Error::invalid(format!("cloud {name:?}: no clouds.yaml found (searched OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)")))
}

/// `OS_*` variables (and the swift CLI's `ST_AUTH`/`ST_USER`/`ST_KEY`) as flat keys.
///
/// ```
/// use gureum_openstack::config::env_settings;
/// std::env::set_var("OS_AUTH_URL", "http://127.0.0.1:15001/v3");
/// std::env::set_var("OS_REGION_NAME", "RegionOne");
/// let s = env_settings();
/// assert_eq!(s["auth_url"], "http://127.0.0.1:15001/v3");
/// assert_eq!(s["region_name"], "RegionOne");
/// ```
pub fn env_settings() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in std::env::vars() {
        if let Some(rest) = k.strip_prefix("OS_") {
            let key = match rest {
                "TENANT_ID" => "tenant_id".to_string(),
                "TENANT_NAME" => "tenant_name".to_string(),
                "ENDPOINT_TYPE" => "interface".to_string(),
                other => other.to_ascii_lowercase(),
            };
            m.insert(key, v);
        }
    }
    for (e, k) in [
        ("ST_AUTH", "auth_url"),
        ("ST_USER", "user"),
        ("ST_KEY", "key"),
    ] {
        if let Ok(v) = std::env::var(e) {
            m.entry(k.to_string()).or_insert(v);
        }
    }
    m
}

const NON_AUTH: &[&str] = &[
    "temp_url_key",
    "segment_container",
    "microversion",
    "allow_http",
    "zone",
    "network",
    "networks",
    "key_name",
    "bcs_url",
];

impl CloudConfig {
    /// Resolve from a gureum URL (see the module docs for the order).
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// use gureum_openstack::config::CloudConfig;
    /// // Resolving does not authenticate: the token is fetched when the bucket is opened.
    /// let u = ResourceUrl::parse("swift://records?auth_url=http://127.0.0.1:15001/v3&username=civic&password=s3cret&project_name=records").unwrap();
    /// let c = CloudConfig::from_url(&u).unwrap();
    /// assert_eq!(c.auth.auth_url.as_str(), "http://127.0.0.1:15001/v3");
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        Self::from_url_with_preset(url, None)
    }

    /// Resolve from a gureum URL for a scheme tied to one cloud (`kakao-compute://`): that
    /// preset is used, and naming another one is an error.
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// use gureum_openstack::config::CloudConfig;
    /// let u = ResourceUrl::parse("kakao-compute://?preset=nhn&username=u&password=p&project_id=x").unwrap();
    /// assert!(CloudConfig::from_url_with_preset(&u, Some("kakao")).is_err()); // another cloud's preset
    /// ```
    pub fn from_url_with_preset(url: &ResourceUrl, preset: Option<&str>) -> Result<Self> {
        let mut flat = Flat(url.params().clone());
        let cloud_name = url
            .param("cloud")
            .map(str::to_string)
            .or_else(|| std::env::var("OS_CLOUD").ok().filter(|s| !s.is_empty()));
        if let Some(name) = &cloud_name {
            flat.under(&Flat(load_cloud(name)?));
        } else if flat.get("auth_url").is_none() {
            flat.under(&Flat(env_settings()));
        }
        if let Some(p) = preset {
            let want = presets::find(p).map(|x| x.name);
            if let Some(given) = flat.first(&["preset", "profile"]) {
                if presets::find(&given).map(|x| x.name) != want {
                    return Err(Error::invalid(format!(
                        "{}: preset {given:?} does not fit this scheme (it is always {p:?})",
                        url.scheme()
                    )));
                }
            }
            flat.0.insert("preset".into(), p.to_string());
        }
        Self::from_settings(flat.0, cloud_name)
    }

    /// Resolve from flat settings (clouds.yaml keys, auth keys flattened).
    ///
    /// ```
    /// use gureum_openstack::config::CloudConfig;
    /// use std::collections::BTreeMap;
    /// let bad = BTreeMap::from([("preset".to_string(), "nimbus".to_string())]);
    /// assert!(CloudConfig::from_settings(bad, None).is_err()); // unknown preset, listing the known ones
    /// ```
    pub fn from_settings(
        settings: BTreeMap<String, String>,
        cloud_name: Option<String>,
    ) -> Result<Self> {
        let f = Flat(settings);
        let preset_name = f
            .first(&["preset", "profile"])
            .unwrap_or_else(|| "openstack".into());
        let preset = presets::find(&preset_name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown preset {preset_name:?} (known: nhn, ktcloud, kakao, openstack)"
            ))
        })?;
        let region_given = f.first(&["region_name", "region"]);
        let gov = match f.get("gov").map(|s| s.to_ascii_lowercase()) {
            Some(s) => s == "true" || s == "1" || s == "yes",
            // A region that only the gov cloud has (`kr-gov-central-1`) means the gov cloud.
            None => region_given.as_deref().is_some_and(|r| {
                preset.knows_region(r, true)
                    && !preset.gov_regions.is_empty()
                    && !preset.regions.iter().any(|x| x.eq_ignore_ascii_case(r))
            }),
        };
        let region = f
            .first(&["region_name", "region"])
            .or_else(|| preset.default_region(gov).map(str::to_string));
        if let Some(r) = &region {
            if !preset.knows_region(r, gov) {
                return Err(Error::invalid(format!(
                    "region {r:?} is not a known {}{} region (known: {})",
                    preset.display,
                    if gov { " gov" } else { "" },
                    if gov {
                        preset.gov_regions.join(", ")
                    } else {
                        preset.regions.join(", ")
                    }
                )));
            }
        }
        let auth_url = f
            .get("auth_url")
            .map(str::to_string)
            .or_else(|| preset.auth_url(gov).map(str::to_string))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no auth_url: give ?cloud=NAME (clouds.yaml), ?auth_url=..., or OS_AUTH_URL{}",
                    if gov && preset.auth_url.public.is_some() {
                        " (the gov identity endpoint of this preset is not confirmed)"
                    } else {
                        ""
                    }
                ))
            })?;
        let auth_url =
            Url::parse(&auth_url).map_err(|e| Error::invalid(format!("auth_url: {e}")))?;
        let secret = |k: &[&str]| f.first(k).map(SecretString::from);
        let auth_type = f.get("auth_type").map(|s| s.to_ascii_lowercase());
        let version = f.get("identity_api_version").map(str::to_string);
        let path = auth_url.path().to_ascii_lowercase();
        let is_v1 = matches!(auth_type.as_deref(), Some("v1password") | Some("tempauth"))
            || path.contains("/auth/v1")
            || (f.get("user").is_some() && f.get("key").is_some());
        let is_v2 = !is_v1
            && (matches!(auth_type.as_deref(), Some("v2password") | Some("v2token"))
                || version.as_deref().is_some_and(|v| v.starts_with('2'))
                || path.contains("/v2.0")
                || (version.is_none()
                    && auth_type.is_none()
                    && preset.identity == IdentityApi::V2));
        let credential = if is_v1 {
            Credential::TempAuth {
                user: f
                    .first(&["user", "username"])
                    .ok_or_else(|| Error::invalid("tempauth needs user"))?,
                key: secret(&["key", "password"])
                    .ok_or_else(|| Error::invalid("tempauth needs key"))?,
            }
        } else if is_v2 {
            Credential::V2Password {
                username: f
                    .first(&["username", "user"])
                    .ok_or_else(|| Error::invalid("Keystone v2.0 needs username"))?,
                password: secret(&["password", "api_password"])
                    .ok_or_else(|| Error::invalid("Keystone v2.0 needs password"))?,
                tenant_id: f.first(&["tenant_id", "project_id"]),
                tenant_name: f.first(&["tenant_name", "project_name"]),
            }
        } else if f.get("application_credential_secret").is_some()
            || matches!(
                auth_type.as_deref(),
                Some("v3applicationcredential") | Some("application_credential")
            )
        {
            Credential::V3ApplicationCredential {
                id: f.first(&["application_credential_id"]),
                name: f.first(&["application_credential_name"]),
                user_id: f.first(&["user_id"]),
                username: f.first(&["username"]),
                user_domain_name: f.first(&["user_domain_name"]),
                secret: secret(&["application_credential_secret"])
                    .ok_or_else(|| Error::invalid("application credential needs a secret"))?,
            }
        } else if f.get("password").is_none() && f.get("token").is_some() {
            Credential::V3Token {
                token: secret(&["token"]).unwrap_or_else(|| SecretString::from(String::new())),
            }
        } else {
            Credential::V3Password {
                user_id: f.first(&["user_id"]),
                username: f.first(&["username"]),
                user_domain_id: f.first(&["user_domain_id", "domain_id"]),
                user_domain_name: f.first(&["user_domain_name", "domain_name"]),
                password: secret(&["password"]).ok_or_else(|| Error::invalid("Keystone v3 password auth needs a password (or give application_credential_id/secret)"))?,
            }
        };
        let scope = Scope {
            project_id: f.first(&["project_id", "tenant_id"]),
            project_name: f.first(&["project_name", "tenant_name"]),
            project_domain_id: f.first(&["project_domain_id", "domain_id"]),
            project_domain_name: f.first(&["project_domain_name", "domain_name"]),
            domain_id: f.first(&["domain_id"]),
            domain_name: f.first(&["domain_name"]),
        };
        let mut auth = AuthOptions::new(auth_url, credential);
        auth.scope = scope;
        auth.region = region;
        if let Some(i) = f.get("interface") {
            auth.interface = Interface::parse(i)?;
        }
        auth.allow_http = matches!(f.get("allow_http").map(|s| s.to_ascii_lowercase()), Some(ref s) if s == "true" || s == "1" || s == "yes");
        auth.cacert = f.get("cacert").map(PathBuf::from);
        let http_params: BTreeMap<String, String> = gureum_core::http::PARAMS
            .iter()
            .filter_map(|k| f.get(k).map(|v| (k.to_string(), v.to_string())))
            .collect();
        auth.http = auth.http.clone().with_params(&http_params)?;
        if let Some(v) = f.get("verify") {
            if v.eq_ignore_ascii_case("false") {
                return Err(Error::invalid("verify: false (TLS verification off) is not supported; give cacert: with the city's CA bundle"));
            }
        }
        for (svc, keys) in [
            (
                "object-store",
                ["object_store_endpoint_override", "storage_url"],
            ),
            ("compute", ["compute_endpoint_override", "compute_url"]),
            ("image", ["image_endpoint_override", "image_url"]),
        ] {
            if let Some(u) = f.first(&keys) {
                auth.endpoint_override.insert(
                    svc.into(),
                    Url::parse(&u).map_err(|e| Error::invalid(format!("{}: {e}", keys[0])))?,
                );
            }
        }
        let pick = |e: &presets::Endpoints| if gov { e.gov } else { e.public };
        for (svc, e) in [
            ("object-store", &preset.swift),
            ("compute", &preset.compute),
            ("image", &preset.image),
        ] {
            if let Some(t) = pick(e) {
                auth.endpoint_fallback.insert(svc.into(), t.to_string());
            }
        }
        let zone = match f.get("zone") {
            None => preset.zone,
            Some("on-prem") | Some("onprem") => Zone::OnPrem,
            Some("domestic-csap") => Zone::DomesticCsap,
            Some("foreign") => Zone::Foreign,
            Some(z) => {
                return Err(Error::invalid(format!(
                    "zone {z:?}: use on-prem, domestic-csap or foreign"
                )))
            }
        };
        let extra =
            f.0.iter()
                .filter(|(k, _)| NON_AUTH.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        Ok(CloudConfig {
            auth,
            preset,
            gov,
            zone,
            cloud_name,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUDS: &str = r#"
clouds:
  sdc:
    auth:
      auth_url: https://keystone.sdc.example:5000/v3
      username: ocr
      project_name: civic
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
  nhn-gov:
    profile: nhn
    gov: true
    region_name: KR2
    auth:
      username: someone@city.example
      tenant_id: 0123456789abcdef0123456789abcdef
  kakao:
    profile: kakao
    auth_type: v3applicationcredential
    auth:
      application_credential_id: ak
      application_credential_secret: from-clouds
"#;
    const SECURE: &str = r#"
clouds:
  sdc:
    auth:
      password: s3cret
  nhn-gov:
    auth:
      password: api-pass
"#;

    fn cfg(name: &str) -> CloudConfig {
        let m = cloud_from_yaml(CLOUDS, Some(SECURE), name).unwrap();
        CloudConfig::from_settings(m, Some(name.into())).unwrap()
    }

    #[test]
    fn generic_v3_password() {
        let c = cfg("sdc");
        assert!(matches!(c.auth.credential, Credential::V3Password { .. }));
        assert_eq!(c.auth.region.as_deref(), Some("RegionOne"));
        assert_eq!(c.auth.interface, Interface::Internal);
        assert_eq!(c.zone, Zone::OnPrem);
        assert_eq!(c.auth.scope.project_name.as_deref(), Some("civic"));
        assert!(!format!("{:?}", c).contains("s3cret"));
    }

    #[test]
    fn nhn_gov_v2() {
        let c = cfg("nhn-gov");
        assert_eq!(
            c.auth.auth_url.as_str(),
            "https://api-identity-infrastructure.gov-nhncloudservice.com/v2.0"
        );
        match &c.auth.credential {
            Credential::V2Password { tenant_id, .. } => assert_eq!(
                tenant_id.as_deref(),
                Some("0123456789abcdef0123456789abcdef")
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.zone, Zone::DomesticCsap);
        assert!(c.auth.endpoint_fallback["object-store"].contains("gov-nhncloudservice.com"));
        let mut m = cloud_from_yaml(CLOUDS, Some(SECURE), "nhn-gov").unwrap();
        m.insert("region_name".into(), "KR3".into());
        assert!(CloudConfig::from_settings(m, None).is_err());
    }

    #[test]
    fn kakao_app_cred() {
        let c = cfg("kakao");
        assert!(matches!(
            c.auth.credential,
            Credential::V3ApplicationCredential { .. }
        ));
        assert_eq!(c.auth.region.as_deref(), Some("kr-central-2"));
        assert_eq!(
            c.auth.auth_url.as_str(),
            "https://iam.kakaocloud.com/identity/v3"
        );
    }

    #[test]
    fn tempauth_from_params() {
        let u = ResourceUrl::parse(
            "swift://c?auth_url=http://127.0.0.1:8080/auth/v1.0&user=test:tester&key=testing",
        )
        .unwrap();
        let c = CloudConfig::from_url(&u).unwrap();
        assert!(matches!(c.auth.credential, Credential::TempAuth { .. }));
        let e = CloudConfig::from_settings(cloud_from_yaml(CLOUDS, None, "sdc").unwrap(), None)
            .unwrap_err();
        assert!(e.message().contains("password"), "{e}");
        assert!(cloud_from_yaml(CLOUDS, None, "nope")
            .unwrap_err()
            .message()
            .contains("sdc"));
    }
}
