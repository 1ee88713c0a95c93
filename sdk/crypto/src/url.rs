//! Key provider URLs, the value of the `encrypt=` layer parameter.
//!
//! | URL | Provider |
//! |-----|----------|
//! | `keyfile:///etc/gureum/city.key` | [`crate::keyfile::KeyFile`] |
//! | `openbao://127.0.0.1:8200/transit/seoul-records` | [`crate::openbao::Transit`] (mount `transit`, key `seoul-records`; token from `BAO_TOKEN` or `VAULT_TOKEN`, or the variable named by `token_env`) |
//! | `awskms://alias/seoul-records?region=ap-northeast-2` | [`crate::awskms::Kms`] (key id, ARN or `alias/NAME`; credentials from the AWS default chain; `endpoint=` for a KMS-compatible server) |
//!
//! Every provider URL also takes the data-key cache limits: `cache_uses=N` (objects per data
//! key, 1 = a fresh data key per object), `cache_ttl=SECONDS` and `cache_entries=N` (unwrapped
//! keys kept for reading, 0 = none). Secrets never go in the URL: tokens and AWS keys come from
//! the environment or the usual credential files.

use crate::cache::CacheLimits;
use crate::keys::KeyProvider;
use gureum_core::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Query parameters every provider URL accepts.
///
/// ```
/// use gureum_crypto::url::{ProviderUrl, CACHE_PARAMETERS};
/// let u = ProviderUrl::parse("keyfile:///etc/gureum/city.key?cache_uses=1").unwrap();
/// assert!(u.check_params(&[]).is_ok()); // cache parameters are valid on every provider
/// assert_eq!(CACHE_PARAMETERS.len(), 3);
/// ```
pub const CACHE_PARAMETERS: &[&str] = &["cache_uses", "cache_ttl", "cache_entries"];

/// A parsed key provider URL: scheme, the part between `://` and `?`, and the query.
///
/// ```
/// use gureum_crypto::url::ProviderUrl;
/// let u = ProviderUrl::parse("openbao://127.0.0.1:18200/transit/seoul-records?token_env=BAO_TOKEN").unwrap();
/// assert_eq!((u.scheme.as_str(), u.rest.as_str()), ("openbao", "127.0.0.1:18200/transit/seoul-records"));
/// assert_eq!(u.params["token_env"], "BAO_TOKEN");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrl {
    /// `keyfile`, `openbao` or `awskms`.
    pub scheme: String,
    /// Everything between `://` and `?` (a path, `host:port/mount/key`, or a key id).
    pub rest: String,
    /// Query parameters (percent-decoded).
    pub params: BTreeMap<String, String>,
}

impl ProviderUrl {
    /// Parse `scheme://rest?k=v&..`.
    ///
    /// ```
    /// use gureum_crypto::url::ProviderUrl;
    /// assert_eq!(ProviderUrl::parse("keyfile:///srv/%EB%AF%BC%EC%9B%90.key").unwrap().rest, "/srv/민원.key");
    /// assert!(ProviderUrl::parse("/etc/city.key").is_err()); // a URL, not a path
    /// assert!(ProviderUrl::parse("awskms://k?region=a&region=b").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Self> {
        let (scheme, after) = url.split_once("://").ok_or_else(|| {
            Error::invalid("encrypt= takes a key provider URL: keyfile:///PATH, openbao://HOST:PORT/MOUNT/KEY or awskms://KEY_ID")
        })?;
        let (rest, query) = after.split_once('?').unwrap_or((after, ""));
        let mut params = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| Error::invalid("key provider URL: a query value is not UTF-8"))
            };
            if params.insert(dec(k)?, dec(v)?).is_some() {
                return Err(Error::invalid(format!(
                    "key provider URL: parameter {k:?} given twice"
                )));
            }
        }
        Ok(ProviderUrl {
            scheme: scheme.to_ascii_lowercase(),
            rest: percent_encoding::percent_decode_str(rest)
                .decode_utf8()
                .map_err(|_| Error::invalid("key provider URL is not UTF-8"))?
                .into_owned(),
            params,
        })
    }

    /// Refuse parameters outside `allowed` (and the cache parameters), naming the valid ones.
    ///
    /// ```
    /// use gureum_crypto::url::ProviderUrl;
    /// let u = ProviderUrl::parse("awskms://alias/city?regoin=kr").unwrap();
    /// let e = u.check_params(&["region", "endpoint", "profile"]).unwrap_err();
    /// assert!(e.message().contains("\"regoin\""));
    /// ```
    pub fn check_params(&self, allowed: &[&str]) -> Result<()> {
        for k in self.params.keys() {
            if !allowed.contains(&k.as_str()) && !CACHE_PARAMETERS.contains(&k.as_str()) {
                let mut valid: Vec<&str> =
                    allowed.iter().chain(CACHE_PARAMETERS).copied().collect();
                valid.sort();
                return Err(Error::invalid(format!(
                    "{}:// key provider: unknown parameter {k:?} (valid: {})",
                    self.scheme,
                    valid.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The cache limits the URL asks for (defaults otherwise).
    ///
    /// ```
    /// use gureum_crypto::url::ProviderUrl;
    /// use std::time::Duration;
    /// let l = ProviderUrl::parse("keyfile:///k?cache_uses=10&cache_ttl=60&cache_entries=0").unwrap().cache_limits().unwrap();
    /// assert_eq!((l.max_uses, l.max_age, l.max_entries), (10, Duration::from_secs(60), 0));
    /// assert!(ProviderUrl::parse("keyfile:///k?cache_uses=0").unwrap().cache_limits().is_err());
    /// ```
    pub fn cache_limits(&self) -> Result<CacheLimits> {
        let mut l = CacheLimits::default();
        let num = |k: &str| -> Result<Option<u64>> {
            self.params
                .get(k)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        Error::invalid(format!("key provider URL: {k} must be a whole number"))
                    })
                })
                .transpose()
        };
        if let Some(n) = num("cache_uses")? {
            if n == 0 {
                return Err(Error::invalid("cache_uses must be at least 1"));
            }
            l.max_uses = n;
        }
        if let Some(n) = num("cache_ttl")? {
            l.max_age = Duration::from_secs(n);
        }
        if let Some(n) = num("cache_entries")? {
            l.max_entries = n as usize;
        }
        Ok(l)
    }
}

/// Open the key provider a URL names, with the cache limits it asks for.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, url::open_provider};
/// let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("city.key");
/// KeyFile::create(&path, "city")?;
/// let (provider, limits) = open_provider(&format!("keyfile://{}?cache_uses=5", path.display())).await?;
/// assert_eq!((provider.kind(), limits.max_uses), ("keyfile", 5));
/// assert!(open_provider("rot13://k").await.is_err());
/// # Ok(()) }
/// ```
pub async fn open_provider(url: &str) -> Result<(Arc<dyn KeyProvider>, CacheLimits)> {
    let u = ProviderUrl::parse(url)?;
    let limits = u.cache_limits()?;
    let p: Arc<dyn KeyProvider> = match u.scheme.as_str() {
        "keyfile" => {
            u.check_params(&[])?;
            if u.rest.is_empty() {
                return Err(Error::invalid(
                    "keyfile:// needs a path: keyfile:///etc/gureum/city.key",
                ));
            }
            Arc::new(crate::keyfile::KeyFile::open(&u.rest)?)
        }
        #[cfg(feature = "openbao")]
        "openbao" | "vault" => Arc::new(crate::openbao::Transit::from_url(&u)?),
        #[cfg(feature = "awskms")]
        "awskms" => Arc::new(crate::awskms::Kms::from_url(&u).await?),
        #[cfg(not(feature = "openbao"))]
        "openbao" | "vault" => {
            return Err(Error::invalid(
                "openbao:// key provider: this build lacks it (cargo feature `openbao` of gureum-crypto, `encrypt-openbao` of gureum)",
            ))
        }
        #[cfg(not(feature = "awskms"))]
        "awskms" => {
            return Err(Error::invalid(
                "awskms:// key provider: this build lacks it (cargo feature `awskms` of gureum-crypto, `aws` of gureum)",
            ))
        }
        other => {
            return Err(Error::invalid(format!(
                "unknown key provider {other}:// (known: keyfile, openbao, awskms)"
            )))
        }
    };
    Ok((p, limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let u = ProviderUrl::parse("keyfile:///etc/k%20x.toml?cache_uses=1").unwrap();
        assert_eq!(u.scheme, "keyfile");
        assert_eq!(u.rest, "/etc/k x.toml");
        assert_eq!(u.cache_limits().unwrap().max_uses, 1);
        u.check_params(&[]).unwrap();
        let u = ProviderUrl::parse("keyfile:///k?bogus=1").unwrap();
        let e = u.check_params(&[]).unwrap_err();
        assert!(e.to_string().contains("cache_uses"), "{e}");
        assert!(ProviderUrl::parse("nope").is_err());
        assert!(ProviderUrl::parse("keyfile:///k?cache_uses=0")
            .unwrap()
            .cache_limits()
            .is_err());
    }
}
