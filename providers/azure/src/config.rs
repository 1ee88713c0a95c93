//! Storage account configuration: URL parameters, then environment (connection string,
//! `AZURE_STORAGE_*`, Entra ID variables), then the emulator shortcut.

use crate::auth::{
    AccountKey, ConnectionString, Credential, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY,
};
use gureum_core::http::HttpConfig;
use gureum_core::url::ResourceUrl;
use gureum_core::{Error, Result};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the account's credential comes from before it is turned into a [`Credential`].
///
/// ```
/// use gureum_azure::config::{AccountConfig, CredentialSource};
/// use gureum_core::ResourceUrl;
/// let a = AccountConfig::from_url(&ResourceUrl::parse("azblob://c?account=seoulcivic&sas_token=sv%3D2021").unwrap()).unwrap();
/// assert!(matches!(a.credential, CredentialSource::Sas(_)));
/// assert_eq!(format!("{:?}", a.credential), "Sas(***)");
/// ```
#[derive(Clone)]
pub enum CredentialSource {
    /// Shared Key with this base64 key.
    SharedKey(SecretString),
    /// SAS token.
    Sas(SecretString),
    /// Entra ID through `object_store`'s Azure config keys (client secret, managed identity,
    /// workload identity, Azure CLI); extra keys from URL parameters.
    Entra(BTreeMap<String, String>),
    /// No credential.
    Anonymous,
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::SharedKey(_) => f.write_str("SharedKey(***)"),
            CredentialSource::Sas(_) => f.write_str("Sas(***)"),
            CredentialSource::Entra(k) => {
                let keys: Vec<&String> = k.keys().collect();
                write!(f, "Entra({keys:?})")
            }
            CredentialSource::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// A resolved storage account.
///
/// ```
/// use gureum_azure::config::AccountConfig;
/// use gureum_core::ResourceUrl;
/// // Parsing does not contact the service.
/// let a = AccountConfig::from_url(&ResourceUrl::parse("azblob://complaints?account=seoulcivic&access_key=c2VjcmV0").unwrap()).unwrap();
/// assert_eq!(a.blob_endpoint.host_str(), Some("seoulcivic.blob.core.windows.net"));
/// assert_eq!(a.queue_endpoint.host_str(), Some("seoulcivic.queue.core.windows.net"));
/// assert!(!a.path_style);
/// ```
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// Account name.
    pub account: String,
    /// Blob service URL of the account (`https://NAME.blob.core.windows.net` or a
    /// path-style emulator URL `http://127.0.0.1:10000/devstoreaccount1`).
    pub blob_endpoint: url::Url,
    /// Queue service URL of the account.
    pub queue_endpoint: url::Url,
    /// The credential.
    pub credential: CredentialSource,
    /// Plain http allowed off loopback (`allow_http=true`); loopback is always allowed.
    pub allow_http: bool,
    /// Endpoints are path-style (account name in the path: emulators, custom endpoints).
    pub path_style: bool,
    /// Timeouts, deadline and retries of the Storage REST calls (container admin, queues):
    /// the `retries`, `timeout`, `connect_timeout`, `deadline` URL/profile parameters.
    pub http: HttpConfig,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_endpoint(s: &str, what: &str) -> Result<url::Url> {
    let s = s.trim_end_matches('/');
    url::Url::parse(s).map_err(|e| Error::invalid(format!("{what} {s:?} is not a URL: {e}")))
}

/// URL parameters that are passed to `object_store`'s Azure builder for Entra ID auth.
const ENTRA_PARAMS: &[&str] = &[
    "client_id",
    "client_secret",
    "tenant_id",
    "authority_id",
    "authority_host",
    "msi_endpoint",
    "object_id",
    "msi_resource_id",
    "federated_token_file",
    "use_azure_cli",
];

fn emulator_config(account_param: Option<&str>, http: HttpConfig) -> Result<AccountConfig> {
    let account = account_param.unwrap_or(EMULATOR_ACCOUNT).to_string();
    let blob = env("AZURITE_BLOB_STORAGE_URL").unwrap_or_else(|| "http://127.0.0.1:10000".into());
    let queue = env("AZURITE_QUEUE_STORAGE_URL").unwrap_or_else(|| "http://127.0.0.1:10001".into());
    let mut blob = parse_endpoint(&blob, "AZURITE_BLOB_STORAGE_URL")?;
    let mut queue = parse_endpoint(&queue, "AZURITE_QUEUE_STORAGE_URL")?;
    for u in [&mut blob, &mut queue] {
        if u.path() == "/" || u.path().is_empty() {
            u.set_path(&format!("/{account}"));
        }
    }
    Ok(AccountConfig {
        account,
        blob_endpoint: blob,
        queue_endpoint: queue,
        credential: CredentialSource::SharedKey(SecretString::from(EMULATOR_ACCOUNT_KEY)),
        allow_http: true,
        path_style: true,
        http,
    })
}

impl AccountConfig {
    /// Resolve from a resource URL (`azblob://container?...` / `azqueue://queue?...`).
    ///
    /// Parameters: `account`, `endpoint` (blob service URL), `queue_endpoint`,
    /// `emulator=true`, `access_key`, `sas_token`, `allow_http`, `credential=entra` and the
    /// Entra ID keys `client_id`, `client_secret`, `tenant_id`, `authority_host`, `msi_endpoint`,
    /// `federated_token_file`, `use_azure_cli`. Environment: `AZURE_STORAGE_CONNECTION_STRING`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`/`AZURE_STORAGE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_KEY`/
    /// `AZURE_STORAGE_KEY`, `AZURE_STORAGE_SAS_TOKEN`, then `object_store`'s `AZURE_*` Entra ID
    /// variables (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE`, `IDENTITY_ENDPOINT`, ...).
    ///
    /// ```
    /// use gureum_azure::config::AccountConfig;
    /// use gureum_core::ResourceUrl;
    /// let a = AccountConfig::from_url(&ResourceUrl::parse("azqueue://jobs?emulator=true").unwrap()).unwrap();
    /// assert!(a.queue_endpoint.as_str().starts_with("http://127.0.0.1:10001/devstoreaccount1"));
    /// assert!(a.path_style);
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let account_param = url.param("account");
        let http = HttpConfig::from_params(&url.pick(gureum_core::http::PARAMS))?;
        let allow_http_param = url.bool_param("allow_http")?.unwrap_or(false);
        if url.bool_param("emulator")?.unwrap_or(false) {
            return emulator_config(account_param, http);
        }
        // Explicit endpoint / credential in the URL.
        let url_key = url.param("access_key").or(url.param("account_key"));
        let url_sas = url.param("sas_token").or(url.param("sas"));
        let forced_entra = matches!(url.param("credential"), Some("entra" | "entra_id"));
        // Connection string (when it names the same account, or no account was given).
        let cs = match url
            .param("connection_string")
            .map(str::to_string)
            .or_else(|| env("AZURE_STORAGE_CONNECTION_STRING"))
        {
            Some(s) => Some(ConnectionString::parse(&s)?),
            None => None,
        };
        let cs = cs.filter(|c| {
            account_param.is_none()
                || c.account_name.as_deref() == account_param
                || (c.development && account_param == Some(EMULATOR_ACCOUNT))
        });
        if let Some(c) = &cs {
            if c.development {
                return emulator_config(account_param, http);
            }
        }
        let account = account_param
            .map(str::to_string)
            .or_else(|| cs.as_ref().and_then(|c| c.account_name.clone()))
            .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
            .or_else(|| env("AZURE_STORAGE_ACCOUNT"))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{url}: no storage account: add ?account=NAME, set AZURE_STORAGE_ACCOUNT_NAME or \
                     AZURE_STORAGE_CONNECTION_STRING, or use ?emulator=true"
                ))
            })?;
        if account.is_empty()
            || !account
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(Error::invalid(format!(
                "storage account name {account:?}: use lowercase letters and digits"
            )));
        }
        let protocol = cs
            .as_ref()
            .and_then(|c| c.protocol.clone())
            .unwrap_or_else(|| "https".into());
        let suffix = cs
            .as_ref()
            .and_then(|c| c.endpoint_suffix.clone())
            .unwrap_or_else(|| "core.windows.net".into());
        let blob = match url
            .param("endpoint")
            .map(str::to_string)
            .or_else(|| cs.as_ref().and_then(|c| c.blob_endpoint.clone()))
        {
            Some(e) => parse_endpoint(&e, "blob endpoint")?,
            None => parse_endpoint(
                &format!("{protocol}://{account}.blob.{suffix}"),
                "blob endpoint",
            )?,
        };
        let queue = match url
            .param("queue_endpoint")
            .map(str::to_string)
            .or_else(|| cs.as_ref().and_then(|c| c.queue_endpoint.clone()))
        {
            Some(e) => parse_endpoint(&e, "queue endpoint")?,
            None => {
                // Derive from a path-style blob endpoint if one was given (emulators, proxies).
                if url.param("endpoint").is_some()
                    || cs.as_ref().is_some_and(|c| c.blob_endpoint.is_some())
                {
                    if blob.host_str().is_some_and(|h| h.contains(".blob.")) {
                        let mut q = blob.clone();
                        let h = blob
                            .host_str()
                            .unwrap_or("")
                            .replacen(".blob.", ".queue.", 1);
                        q.set_host(Some(&h))
                            .map_err(|_| Error::invalid("queue endpoint host"))?;
                        q
                    } else {
                        parse_endpoint(
                            &format!("{protocol}://{account}.queue.{suffix}"),
                            "queue endpoint",
                        )?
                    }
                } else {
                    parse_endpoint(
                        &format!("{protocol}://{account}.queue.{suffix}"),
                        "queue endpoint",
                    )?
                }
            }
        };
        let allow_http = allow_http_param;
        let path_style = !blob
            .host_str()
            .is_some_and(|h| h.starts_with(&format!("{account}.")));
        let credential = if let Some(k) = url_key {
            CredentialSource::SharedKey(SecretString::from(k.to_string()))
        } else if let Some(s) = url_sas {
            CredentialSource::Sas(SecretString::from(s.to_string()))
        } else if forced_entra {
            CredentialSource::Entra(entra_params(url))
        } else if let Some(k) = cs.as_ref().and_then(|c| c.account_key.clone()) {
            CredentialSource::SharedKey(k)
        } else if let Some(s) = cs.as_ref().and_then(|c| c.sas.clone()) {
            CredentialSource::Sas(s)
        } else if let Some(k) =
            env("AZURE_STORAGE_ACCOUNT_KEY").or_else(|| env("AZURE_STORAGE_KEY"))
        {
            CredentialSource::SharedKey(SecretString::from(k))
        } else if let Some(s) = env("AZURE_STORAGE_SAS_TOKEN") {
            CredentialSource::Sas(SecretString::from(s))
        } else if url.bool_param("anonymous")?.unwrap_or(false) {
            CredentialSource::Anonymous
        } else {
            CredentialSource::Entra(entra_params(url))
        };
        Ok(AccountConfig {
            account,
            blob_endpoint: blob,
            queue_endpoint: queue,
            credential,
            allow_http,
            path_style,
            http,
        })
    }

    /// Check the blob endpoint against the transport rules (TLS unless loopback/allowed).
    ///
    /// ```
    /// use gureum_azure::config::AccountConfig;
    /// use gureum_core::ResourceUrl;
    /// let ok = AccountConfig::from_url(&ResourceUrl::parse("azblob://c?emulator=true").unwrap()).unwrap();
    /// assert!(ok.check_blob_endpoint().is_ok()); // plain http to loopback is allowed
    /// ```
    pub fn check_blob_endpoint(&self) -> Result<()> {
        gureum_core::transport::check_endpoint(&self.blob_endpoint, self.allow_http)
    }

    /// Check the queue endpoint against the transport rules.
    ///
    /// ```
    /// use gureum_azure::config::AccountConfig;
    /// use gureum_core::ResourceUrl;
    /// let a = AccountConfig::from_url(&ResourceUrl::parse("azqueue://q?account=a&access_key=c2VjcmV0").unwrap()).unwrap();
    /// assert!(a.check_queue_endpoint().is_ok()); // https
    /// ```
    pub fn check_queue_endpoint(&self) -> Result<()> {
        gureum_core::transport::check_endpoint(&self.queue_endpoint, self.allow_http)
    }

    /// An `object_store` Azure builder for `container` with this account's settings.
    ///
    /// ```
    /// use gureum_azure::config::AccountConfig;
    /// use gureum_core::ResourceUrl;
    /// let a = AccountConfig::from_url(&ResourceUrl::parse("azblob://c?emulator=true").unwrap()).unwrap();
    /// assert!(a.object_store_builder("complaints").unwrap().build().is_ok()); // no request is made
    /// ```
    pub fn object_store_builder(&self, container: &str) -> Result<MicrosoftAzureBuilder> {
        let base = match &self.credential {
            CredentialSource::Entra(_) => MicrosoftAzureBuilder::from_env(),
            _ => MicrosoftAzureBuilder::new(),
        };
        let mut b = base
            .with_account(&self.account)
            .with_container_name(container)
            .with_endpoint(
                self.blob_endpoint
                    .to_string()
                    .trim_end_matches('/')
                    .to_string(),
            )
            .with_allow_http(self.blob_endpoint.scheme() == "http")
            // The answers object_store buffers whole (listings, errors) are bounded.
            .with_http_connector(gureum_core::http::CappedConnector::default());
        match &self.credential {
            CredentialSource::SharedKey(k) => b = b.with_access_key(k.expose_secret()),
            CredentialSource::Sas(s) => {
                b = b.with_config(
                    AzureConfigKey::SasKey,
                    s.expose_secret().trim_start_matches('?'),
                )
            }
            CredentialSource::Entra(params) => {
                for (k, v) in params {
                    let key: AzureConfigKey = k.parse().map_err(|_| {
                        Error::invalid(format!("unknown Azure credential parameter {k:?}"))
                    })?;
                    b = b.with_config(key, v);
                }
            }
            CredentialSource::Anonymous => b = b.with_skip_signature(true),
        }
        if self.http.tls.is_custom() {
            b = b.with_http_connector(gureum_core::http::ObjectStoreConnector::new(
                self.http.tls.clone(),
                "MicrosoftAzure",
            ));
        }
        // The data path keeps object_store's own retry; explicit `retries`/`timeout`/
        // `connect_timeout`/`deadline` parameters govern it too.
        if self.http != HttpConfig::default() {
            b = b
                .with_retry(object_store::RetryConfig {
                    backoff: object_store::BackoffConfig {
                        init_backoff: self.http.retry.initial_backoff,
                        max_backoff: self.http.retry.max_backoff,
                        base: 2.0,
                    },
                    max_retries: self.http.retry.max_retries as usize,
                    retry_timeout: self.http.deadline,
                })
                .with_client_options(
                    object_store::ClientOptions::new()
                        .with_timeout(self.http.request_timeout)
                        .with_connect_timeout(self.http.connect_timeout)
                        .with_allow_http(self.blob_endpoint.scheme() == "http"),
                );
        }
        Ok(b)
    }

    /// The runtime credential for Storage REST calls.
    ///
    /// ```
    /// use gureum_azure::config::AccountConfig;
    /// use gureum_core::ResourceUrl;
    /// let a = AccountConfig::from_url(&ResourceUrl::parse("azblob://c?emulator=true").unwrap()).unwrap();
    /// assert_eq!(a.credential().unwrap().kind(), "shared-key");
    /// ```
    pub fn credential(&self) -> Result<Credential> {
        Ok(match &self.credential {
            CredentialSource::SharedKey(k) => {
                Credential::SharedKey(AccountKey::from_base64(k.expose_secret())?)
            }
            CredentialSource::Sas(s) => Credential::Sas(Arc::new(SecretString::from(
                s.expose_secret().trim_start_matches('?').to_string(),
            ))),
            CredentialSource::Entra(_) => {
                // object_store resolves client secret / managed identity / workload identity.
                let store = self
                    .object_store_builder("gureum")?
                    .build()
                    .map_err(|e| Error::from(e).context_message("Entra ID credential"))?;
                Credential::Entra(store.credentials().clone())
            }
            CredentialSource::Anonymous => Credential::Anonymous,
        })
    }
}

fn entra_params(url: &ResourceUrl) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for k in ENTRA_PARAMS {
        if let Some(v) = url.param(k) {
            m.insert(k.to_string(), v.to_string());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_shortcut_and_explicit_account() {
        let u = ResourceUrl::parse("azblob://c1?emulator=true").unwrap();
        let c = AccountConfig::from_url(&u).unwrap();
        assert_eq!(c.account, "devstoreaccount1");
        assert!(c.blob_endpoint.path().ends_with("/devstoreaccount1"));
        assert!(c.path_style);

        let u = ResourceUrl::parse("azblob://c1?account=acct1&access_key=AAAA").unwrap();
        let c = AccountConfig::from_url(&u).unwrap();
        assert_eq!(
            c.blob_endpoint.as_str(),
            "https://acct1.blob.core.windows.net/"
        );
        assert_eq!(
            c.queue_endpoint.as_str(),
            "https://acct1.queue.core.windows.net/"
        );
        assert!(!c.path_style);
        assert!(matches!(c.credential, CredentialSource::SharedKey(_)));

        let u = ResourceUrl::parse(
            "azblob://c1?account=acct1&endpoint=http://storage.example.com&access_key=AAAA",
        )
        .unwrap();
        let c = AccountConfig::from_url(&u).unwrap();
        assert!(
            c.check_blob_endpoint().is_err(),
            "plain http off loopback is refused"
        );
        assert!(c.check_queue_endpoint().is_ok());
        let u = ResourceUrl::parse("azblob://c1?account=Bad_Name&access_key=AAAA").unwrap();
        assert!(AccountConfig::from_url(&u).is_err());
    }
}
