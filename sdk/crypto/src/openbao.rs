//! OpenBao / HashiCorp Vault transit engine as the key manager: the KEK never leaves the
//! server; data keys are wrapped with `transit/encrypt` and unwrapped with `transit/decrypt`.
//!
//! URL: `openbao://HOST:PORT/MOUNT/KEY` (e.g. `openbao://127.0.0.1:18200/transit/seoul-records`).
//! Plain HTTP is used for loopback hosts only, HTTPS otherwise (`tls=true|false` overrides;
//! `tls=false` to a non-loopback host is refused). The token comes from the environment:
//! `BAO_TOKEN`, then `VAULT_TOKEN`, or the variable named by `token_env=`. `namespace=` sets
//! the `X-Vault-Namespace` header.
//!
//! KEK rotation is the server's: `bao write -f transit/keys/KEY/rotate` makes a new version
//! that wraps new data keys; old versions keep unwrapping until `min_decryption_version` is
//! raised. `gureum encrypt rotate` rewraps objects onto the newest version.

use crate::format::integrity;
use crate::keys::{DataKey, KekInfo, KeyProvider, WrappedKey};
use crate::url::ProviderUrl;
use async_trait::async_trait;
use base64::Engine;
use gureum_core::{Error, ErrorKind, Result};
use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// The provider kind of OpenBao/Vault transit keys.
///
/// ```
/// assert_eq!(gureum_crypto::openbao::KIND, "openbao");
/// ```
pub const KIND: &str = "openbao";

/// A transit key on an OpenBao or Vault server.
///
/// ```
/// use gureum_crypto::{openbao::Transit, KeyProvider};
/// // Building the provider does not contact the server; wrap/unwrap do (OpenBao on :18200 in CI).
/// let t = Transit::new("http://127.0.0.1:18200", "transit", "seoul-records", "token".into()).unwrap();
/// assert_eq!(t.kind(), "openbao");
/// assert!(!format!("{t:?}").contains("token")); // the token is never printed
/// ```
pub struct Transit {
    base: String,
    mount: String,
    key: String,
    token: Zeroizing<String>,
    namespace: Option<String>,
    http: reqwest::Client,
}

impl fmt::Debug for Transit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transit")
            .field("base", &self.base)
            .field("mount", &self.mount)
            .field("key", &self.key)
            .finish()
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl Transit {
    /// A transit key at `base` (`http://127.0.0.1:18200`), mount and key name, with a token.
    ///
    /// ```
    /// use gureum_crypto::openbao::Transit;
    /// assert!(Transit::new("http://127.0.0.1:18200", "transit", "records", "t".into()).is_ok());
    /// assert!(Transit::new("http://127.0.0.1:18200", "transit", "../sys", "t".into()).is_err());
    /// ```
    pub fn new(base: &str, mount: &str, key: &str, token: String) -> Result<Self> {
        if !segment_ok(mount) || !segment_ok(key) {
            return Err(Error::invalid(
                "openbao: mount and key names are letters, digits, '-', '_' and '.'",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::other(format!("openbao: HTTP client: {e}")))?;
        Ok(Transit {
            base: base.trim_end_matches('/').to_string(),
            mount: mount.into(),
            key: key.into(),
            token: Zeroizing::new(token),
            namespace: None,
            http,
        })
    }

    /// The transit key a parsed `openbao://` URL names.
    ///
    /// ```
    /// use gureum_crypto::{openbao::Transit, url::ProviderUrl};
    /// std::env::set_var("BAO_TOKEN", "doc-token");
    /// let u = ProviderUrl::parse("openbao://127.0.0.1:18200/transit/seoul-records").unwrap();
    /// assert!(Transit::from_url(&u).is_ok()); // loopback: plain http allowed
    /// let bad = ProviderUrl::parse("openbao://127.0.0.1:18200/transit").unwrap();
    /// assert!(Transit::from_url(&bad).is_err()); // needs MOUNT/KEY
    /// ```
    pub fn from_url(u: &ProviderUrl) -> Result<Self> {
        u.check_params(&["tls", "token_env", "namespace"])?;
        let (hostport, path) = u
            .rest
            .split_once('/')
            .ok_or_else(|| Error::invalid("openbao URL: openbao://HOST:PORT/MOUNT/KEY"))?;
        let (mount, key) = path
            .trim_end_matches('/')
            .rsplit_once('/')
            .ok_or_else(|| Error::invalid("openbao URL: openbao://HOST:PORT/MOUNT/KEY"))?;
        let host = hostport
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(hostport);
        let tls = match u.params.get("tls").map(String::as_str) {
            None => !is_loopback(host),
            Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(Error::invalid("openbao URL: tls is true or false")),
        };
        if !tls && !is_loopback(host) {
            return Err(Error::invalid(
                "openbao URL: plain HTTP is allowed only to a loopback host",
            ));
        }
        let token = match u.params.get("token_env") {
            Some(var) => std::env::var(var).map_err(|_| {
                Error::new(
                    ErrorKind::Unauthenticated,
                    format!("openbao: environment variable {var} (token_env) is not set"),
                )
            })?,
            None => std::env::var("BAO_TOKEN")
                .or_else(|_| std::env::var("VAULT_TOKEN"))
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Unauthenticated,
                        "openbao: no token (set BAO_TOKEN or VAULT_TOKEN, or token_env=VAR)",
                    )
                })?,
        };
        let base = format!("{}://{hostport}", if tls { "https" } else { "http" });
        let mut t = Transit::new(&base, mount, key, token)?;
        t.namespace = u.params.get("namespace").cloned();
        Ok(t)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        op: &str,
    ) -> Result<serde_json::Value> {
        let url = format!("{}/v1/{}/{path}", self.base, self.mount);
        let mut req = self
            .http
            .request(method, &url)
            .header("X-Vault-Token", self.token.as_str());
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            Error::new(kind, format!("openbao {op}: {}", without_url(&e)))
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return serde_json::from_str(&text)
                .map_err(|_| Error::other(format!("openbao {op}: the answer is not JSON")));
        }
        // Vault errors: {"errors": ["..."]}; they name keys and causes, never secrets.
        let msg = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v["errors"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .unwrap_or_default();
        let low = msg.to_ascii_lowercase();
        let kind = match status {
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::PermissionDenied,
            429 => ErrorKind::RateLimited,
            400 if low.contains("message authentication failed")
                || low.contains("invalid ciphertext")
                || low.contains("unable to decode") =>
            {
                ErrorKind::Integrity
            }
            400 if low.contains("not found") || low.contains("no existing key") => {
                ErrorKind::PermissionDenied
            }
            s if s >= 500 => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        };
        Err(Error::new(
            kind,
            format!(
                "openbao {op} (key {}/{}): HTTP {status}: {msg}",
                self.mount, self.key
            ),
        ))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<openbao>");
    }
    s
}

#[async_trait]
impl KeyProvider for Transit {
    fn kind(&self) -> &str {
        KIND
    }

    async fn current(&self) -> Result<KekInfo> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("keys/{}", self.key),
                None,
                "read key",
            )
            .await?;
        let version = v["data"]["latest_version"]
            .as_u64()
            .ok_or_else(|| Error::other("openbao read key: no latest_version"))?;
        Ok(KekInfo {
            kind: KIND.into(),
            kek_id: format!("{}/{}", self.mount, self.key),
            version: version as u32,
        })
    }

    async fn wrap(&self, key: &DataKey) -> Result<WrappedKey> {
        let pt = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.expose()));
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("encrypt/{}", self.key),
                Some(serde_json::json!({ "plaintext": pt.as_str() })),
                "encrypt",
            )
            .await?;
        let ct = v["data"]["ciphertext"]
            .as_str()
            .ok_or_else(|| Error::other("openbao encrypt: no ciphertext"))?;
        let version = v["data"]["key_version"]
            .as_u64()
            .or_else(|| ct_version(ct).map(u64::from))
            .unwrap_or(0);
        Ok(WrappedKey {
            kind: KIND.into(),
            kek_id: format!("{}/{}", self.mount, self.key),
            version: version as u32,
            blob: ct.as_bytes().to_vec(),
        })
    }

    async fn unwrap(&self, w: &WrappedKey) -> Result<DataKey> {
        let id = format!("{}/{}", self.mount, self.key);
        if w.kind != KIND || w.kek_id != id {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "the data key was wrapped by {} key {:?}; this layer holds openbao key {id:?}",
                    w.kind, w.kek_id
                ),
            ));
        }
        let ct = std::str::from_utf8(&w.blob)
            .map_err(|_| integrity("wrapped data key: not a transit ciphertext"))?;
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("decrypt/{}", self.key),
                Some(serde_json::json!({ "ciphertext": ct })),
                "decrypt",
            )
            .await?;
        let pt = v["data"]["plaintext"]
            .as_str()
            .ok_or_else(|| Error::other("openbao decrypt: no plaintext"))?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(pt)
                .map_err(|_| integrity("openbao decrypt: plaintext is not base64"))?,
        );
        DataKey::from_slice(&bytes).ok_or_else(|| integrity("unwrapped data key is not 32 bytes"))
    }
}

/// The key version of a transit ciphertext `vault:vN:...`.
fn ct_version(ct: &str) -> Option<u32> {
    ct.strip_prefix("vault:v")?.split(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_of_ciphertexts() {
        assert_eq!(super::ct_version("vault:v12:abc"), Some(12));
        assert_eq!(super::ct_version("nope"), None);
    }
}
