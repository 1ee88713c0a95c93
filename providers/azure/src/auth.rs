//! Azure Storage authentication implemented once for Blob and Queue REST calls: Shared Key
//! request signing, account and service SAS generation, SAS tokens, and Entra ID bearer
//! tokens (obtained through `object_store`'s Azure credential providers).
//!
//! References: "Authorize with Shared Key", "Create an account SAS", "Create a service SAS"
//! (learn.microsoft.com/rest/api/storageservices).

use base64::prelude::{Engine, BASE64_STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use gureum_core::{Error, ErrorKind, Result};
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use object_store::azure::{AzureCredential, AzureCredentialProvider};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// The Storage REST API version this crate speaks (known to Azurite 3.35 and the service).
///
/// ```
/// assert_eq!(gureum_azure::auth::STORAGE_API_VERSION, "2023-11-03");
/// ```
pub const STORAGE_API_VERSION: &str = "2023-11-03";

/// The Azurite / storage emulator account.
///
/// ```
/// use gureum_azure::{auth::EMULATOR_ACCOUNT, config::AccountConfig};
/// use gureum_core::ResourceUrl;
/// let a = AccountConfig::from_url(&ResourceUrl::parse("azblob://complaints?emulator=true").unwrap()).unwrap();
/// assert_eq!(a.account, EMULATOR_ACCOUNT);
/// ```
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
/// The Azurite / storage emulator account key (public, documented by Microsoft).
///
/// ```
/// use gureum_azure::auth::{AccountKey, EMULATOR_ACCOUNT_KEY};
/// assert!(AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).is_ok());
/// ```
pub const EMULATOR_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A storage account key (decoded bytes), kept secret.
///
/// ```
/// use gureum_azure::auth::{AccountKey, EMULATOR_ACCOUNT_KEY};
/// let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
/// assert_eq!(format!("{key:?}"), "AccountKey(***)"); // never printed
/// ```
#[derive(Clone)]
pub struct AccountKey(Arc<SecretBox<Vec<u8>>>);

impl AccountKey {
    /// Decode a base64 account key.
    ///
    /// ```
    /// use gureum_azure::auth::AccountKey;
    /// assert!(AccountKey::from_base64("not base64!").is_err());
    /// ```
    pub fn from_base64(key: &str) -> Result<Self> {
        let bytes = BASE64_STANDARD
            .decode(key.trim())
            .map_err(|_| Error::invalid("Azure account key is not valid base64"))?;
        Ok(AccountKey(Arc::new(SecretBox::new(Box::new(bytes)))))
    }

    /// HMAC-SHA256 of `data` under this key, base64.
    ///
    /// ```
    /// use gureum_azure::auth::{AccountKey, EMULATOR_ACCOUNT_KEY};
    /// let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
    /// let sig = key.sign("GET\n\n\n");
    /// assert_eq!(sig.len(), 44); // base64 of a 32-byte HMAC-SHA256
    /// assert_eq!(sig, key.sign("GET\n\n\n"));
    /// ```
    pub fn sign(&self, data: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(data.as_bytes());
        BASE64_STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountKey(***)")
    }
}

/// How Storage REST requests are authorized.
///
/// ```
/// use gureum_azure::auth::{AccountKey, Credential, EMULATOR_ACCOUNT_KEY};
/// let c = Credential::SharedKey(AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap());
/// assert_eq!(format!("{c:?}"), "Credential::SharedKey(***)");
/// ```
#[derive(Clone)]
pub enum Credential {
    /// Shared Key (account name + key).
    SharedKey(AccountKey),
    /// A SAS token (query string, without the leading `?`).
    Sas(Arc<SecretString>),
    /// An Entra ID (Azure AD) credential provider: client secret, managed identity,
    /// workload identity or Azure CLI, as resolved by `object_store`.
    Entra(AzureCredentialProvider),
    /// No authorization (public containers).
    Anonymous,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::SharedKey(_) => "Credential::SharedKey(***)",
            Credential::Sas(_) => "Credential::Sas(***)",
            Credential::Entra(_) => "Credential::Entra",
            Credential::Anonymous => "Credential::Anonymous",
        })
    }
}

impl Credential {
    /// A short name of the credential kind, for logs and `doctor` output.
    ///
    /// ```
    /// use gureum_azure::auth::Credential;
    /// assert_eq!(Credential::Anonymous.kind(), "anonymous");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::SharedKey(_) => "shared-key",
            Credential::Sas(_) => "sas",
            Credential::Entra(_) => "entra-id",
            Credential::Anonymous => "anonymous",
        }
    }

    /// Authorize a request about to be sent: adds `x-ms-date`/`x-ms-version` and either the
    /// `Authorization` header or the SAS query.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_azure::auth::{AccountKey, Credential, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY};
    /// let cred = Credential::SharedKey(AccountKey::from_base64(EMULATOR_ACCOUNT_KEY)?);
    /// let mut url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/c?restype=container").unwrap();
    /// let mut headers = http::HeaderMap::new();
    /// cred.authorize(EMULATOR_ACCOUNT, &http::Method::PUT, &mut url, &mut headers).await?;
    /// assert!(headers["authorization"].to_str().unwrap().starts_with("SharedKey devstoreaccount1:"));
    /// assert!(headers.contains_key("x-ms-date") && headers.contains_key("x-ms-version"));
    /// # Ok(()) }
    /// ```
    pub async fn authorize(
        &self,
        account: &str,
        method: &Method,
        url: &mut url::Url,
        headers: &mut HeaderMap,
    ) -> Result<()> {
        let now = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert("x-ms-date", now.parse().expect("date is ASCII"));
        if !headers.contains_key("x-ms-version") {
            headers.insert(
                "x-ms-version",
                http::HeaderValue::from_static(STORAGE_API_VERSION),
            );
        }
        match self {
            Credential::SharedKey(key) => {
                let sts = shared_key_string_to_sign(account, method, url, headers);
                let sig = key.sign(&sts);
                headers.insert(
                    http::header::AUTHORIZATION,
                    format!("SharedKey {account}:{sig}")
                        .parse()
                        .map_err(|_| Error::invalid("account name is not a valid header value"))?,
                );
            }
            Credential::Sas(token) => append_query(url, token.expose_secret()),
            Credential::Entra(provider) => {
                let c = provider.get_credential().await.map_err(|e| {
                    Error::new(ErrorKind::Unauthenticated, "Entra ID token request failed")
                        .with_source(e)
                })?;
                match c.as_ref() {
                    AzureCredential::BearerToken(t) => {
                        let mut v: http::HeaderValue =
                            format!("Bearer {t}").parse().map_err(|_| {
                                Error::new(ErrorKind::Unauthenticated, "malformed token")
                            })?;
                        v.set_sensitive(true);
                        headers.insert(http::header::AUTHORIZATION, v);
                    }
                    AzureCredential::SASToken(pairs) => {
                        url.query_pairs_mut().extend_pairs(pairs.iter());
                    }
                    AzureCredential::AccessKey(_) => return Err(Error::new(
                        ErrorKind::Unauthenticated,
                        "credential provider returned an access key; configure it as a shared key",
                    )),
                }
            }
            Credential::Anonymous => {}
        }
        Ok(())
    }
}

fn append_query(url: &mut url::Url, token: &str) {
    let token = token.trim_start_matches('?');
    let q = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{token}"),
        _ => token.to_string(),
    };
    url.set_query(Some(&q));
}

/// The Shared Key string-to-sign for Blob, Queue and File services (version 2015-02-21+).
///
/// ```
/// use gureum_azure::auth::shared_key_string_to_sign;
/// let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/c?restype=container&comp=list").unwrap();
/// let mut h = http::HeaderMap::new();
/// h.insert("x-ms-version", http::HeaderValue::from_static("2023-11-03"));
/// let s = shared_key_string_to_sign("devstoreaccount1", &http::Method::GET, &url, &h);
/// assert!(s.starts_with("GET\n")); // then the eleven standard headers, empty here
/// assert!(s.ends_with("x-ms-version:2023-11-03\n/devstoreaccount1/devstoreaccount1/c\ncomp:list\nrestype:container"));
/// ```
pub fn shared_key_string_to_sign(
    account: &str,
    method: &Method,
    url: &url::Url,
    headers: &HeaderMap,
) -> String {
    let h = |name: &str| -> String {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let content_length = match h("content-length").as_str() {
        "0" => String::new(),
        other => other.to_string(),
    };
    let mut s = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        method.as_str(),
        h("content-encoding"),
        h("content-language"),
        content_length,
        h("content-md5"),
        h("content-type"),
        "", // Date: x-ms-date is used instead
        h("if-modified-since"),
        h("if-match"),
        h("if-none-match"),
        h("if-unmodified-since"),
        h("range"),
    );
    // Canonicalized headers.
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-ms-"))
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").trim().to_string(),
            )
        })
        .collect();
    ms.sort();
    for (k, v) in ms {
        s.push_str(&k);
        s.push(':');
        s.push_str(&v);
        s.push('\n');
    }
    // Canonicalized resource.
    s.push('/');
    s.push_str(account);
    s.push_str(url.path());
    let mut q: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    q.sort();
    let mut i = 0;
    while i < q.len() {
        let k = q[i].0.clone();
        let mut vals = vec![q[i].1.clone()];
        i += 1;
        while i < q.len() && q[i].0 == k {
            vals.push(q[i].1.clone());
            i += 1;
        }
        s.push('\n');
        s.push_str(&k);
        s.push(':');
        s.push_str(&vals.join(","));
    }
    s
}

/// Fields of an account SAS.
///
/// ```
/// use gureum_azure::auth::{AccountKey, AccountSas, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY};
/// let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
/// let sas = AccountSas { services: "b".into(), resource_types: "co".into(), permissions: "rl".into(), start: None, expiry: chrono::Utc::now() + chrono::Duration::hours(1) };
/// let q = sas.sign(EMULATOR_ACCOUNT, &key);
/// assert!(q.contains("ss=b") && q.contains("sp=rl") && q.contains("sig="));
/// ```
#[derive(Debug, Clone)]
pub struct AccountSas {
    /// Services: any of `b` (blob), `q` (queue), `t` (table), `f` (file).
    pub services: String,
    /// Resource types: any of `s` (service), `c` (container/queue), `o` (object/message).
    pub resource_types: String,
    /// Permissions in canonical order: `rwdlacup`.
    pub permissions: String,
    /// Start time.
    pub start: Option<DateTime<Utc>>,
    /// Expiry time.
    pub expiry: DateTime<Utc>,
}

/// SAS version used for generated tokens.
///
/// ```
/// use gureum_azure::auth::SAS_VERSION;
/// assert_eq!(SAS_VERSION, "2021-06-08");
/// ```
pub const SAS_VERSION: &str = "2021-06-08";

impl AccountSas {
    /// Sign the SAS with the account key; returns the query string (no `?`).
    ///
    /// ```
    /// use gureum_azure::auth::{AccountKey, AccountSas, SAS_VERSION};
    /// let key = AccountKey::from_base64("c2VjcmV0").unwrap();
    /// let sas = AccountSas { services: "q".into(), resource_types: "o".into(), permissions: "r".into(), start: None, expiry: chrono::Utc::now() };
    /// assert!(sas.sign("acct", &key).contains(&format!("sv={SAS_VERSION}")));
    /// ```
    pub fn sign(&self, account: &str, key: &AccountKey) -> String {
        let st = self
            .start
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default();
        let se = self.expiry.to_rfc3339_opts(SecondsFormat::Secs, true);
        // Version 2020-12-06 and later: ... signedversion \n signedEncryptionScope \n
        let sts = format!(
            "{account}\n{}\n{}\n{}\n{st}\n{se}\n\n\n{SAS_VERSION}\n\n",
            self.permissions, self.services, self.resource_types
        );
        let sig = key.sign(&sts);
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("sv", SAS_VERSION)
            .append_pair("ss", &self.services)
            .append_pair("srt", &self.resource_types)
            .append_pair("sp", &self.permissions);
        if !st.is_empty() {
            ser.append_pair("st", &st);
        }
        ser.append_pair("se", &se).append_pair("sig", &sig);
        ser.finish()
    }
}

/// A blob service SAS for one blob. `blob_url` is the full blob URL as requests will use it
/// (`https://acct.blob.core.windows.net/c/k` or `http://127.0.0.1:10000/devstoreaccount1/c/k`);
/// `permissions` e.g. `r` or `cw`. Returns the query string (no `?`).
///
/// ```
/// use gureum_azure::auth::{blob_service_sas, AccountKey, EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY};
/// let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
/// let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/open-data/stats.csv").unwrap();
/// let now = chrono::Utc::now();
/// let q = blob_service_sas(EMULATOR_ACCOUNT, &key, &url, true, "r", now, now + chrono::Duration::hours(1));
/// assert!(q.contains("sr=b") && q.contains("sp=r"));
/// ```
pub fn blob_service_sas(
    account: &str,
    key: &AccountKey,
    blob_url: &url::Url,
    path_style: bool,
    permissions: &str,
    start: DateTime<Utc>,
    expiry: DateTime<Utc>,
) -> String {
    let st = start.to_rfc3339_opts(SecondsFormat::Secs, true);
    let se = expiry.to_rfc3339_opts(SecondsFormat::Secs, true);
    let decoded = percent_encoding::percent_decode_str(blob_url.path()).decode_utf8_lossy();
    let canonical = if path_style {
        // the path already starts with /account
        format!("/blob{decoded}")
    } else {
        format!("/blob/{account}{decoded}")
    };
    // Version 2020-12-06 and later (adds signedEncryptionScope after signedSnapshotTime).
    let sts =
        format!("{permissions}\n{st}\n{se}\n{canonical}\n\n\n\n{SAS_VERSION}\nb\n\n\n\n\n\n\n");
    let sig = key.sign(&sts);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", SAS_VERSION)
        .append_pair("sp", permissions)
        .append_pair("st", &st)
        .append_pair("se", &se)
        .append_pair("sr", "b")
        .append_pair("sig", &sig)
        .finish()
}

/// A parsed Azure Storage connection string.
///
/// ```
/// use gureum_azure::auth::ConnectionString;
/// let c = ConnectionString::parse("DefaultEndpointsProtocol=https;AccountName=seoulcivic;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net").unwrap();
/// assert_eq!(c.account_name.as_deref(), Some("seoulcivic"));
/// assert!(c.account_key.is_some() && !c.development);
/// ```
#[derive(Clone, Default)]
pub struct ConnectionString {
    /// `AccountName`.
    pub account_name: Option<String>,
    /// `AccountKey` (base64).
    pub account_key: Option<SecretString>,
    /// `SharedAccessSignature`.
    pub sas: Option<SecretString>,
    /// `BlobEndpoint`.
    pub blob_endpoint: Option<String>,
    /// `QueueEndpoint`.
    pub queue_endpoint: Option<String>,
    /// `DefaultEndpointsProtocol` (`https` by default).
    pub protocol: Option<String>,
    /// `EndpointSuffix` (`core.windows.net` by default).
    pub endpoint_suffix: Option<String>,
    /// `UseDevelopmentStorage=true`.
    pub development: bool,
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("account_name", &self.account_name)
            .field("account_key", &self.account_key.as_ref().map(|_| "***"))
            .field("sas", &self.sas.as_ref().map(|_| "***"))
            .field("blob_endpoint", &self.blob_endpoint)
            .field("queue_endpoint", &self.queue_endpoint)
            .field("protocol", &self.protocol)
            .field("endpoint_suffix", &self.endpoint_suffix)
            .field("development", &self.development)
            .finish()
    }
}

impl ConnectionString {
    /// Parse `Key=Value;Key=Value;...` (keys case-insensitive; values may contain `=`).
    ///
    /// ```
    /// use gureum_azure::auth::ConnectionString;
    /// assert!(ConnectionString::parse("UseDevelopmentStorage=true").unwrap().development);
    /// assert!(ConnectionString::parse("garbage").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        let mut c = ConnectionString::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| Error::invalid("connection string: every part must be Key=Value"))?;
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "accountname" => c.account_name = Some(v),
                "accountkey" => c.account_key = Some(SecretString::from(v)),
                "sharedaccesssignature" => c.sas = Some(SecretString::from(v)),
                "blobendpoint" => c.blob_endpoint = Some(v),
                "queueendpoint" => c.queue_endpoint = Some(v),
                "defaultendpointsprotocol" => c.protocol = Some(v),
                "endpointsuffix" => c.endpoint_suffix = Some(v),
                "usedevelopmentstorage" => c.development = v.eq_ignore_ascii_case("true"),
                // TableEndpoint, FileEndpoint, DevelopmentStorageProxyUri ...: not used here
                _ => {}
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_key_string_to_sign_matches_reference_layout() {
        let url = url::Url::parse(
            "http://127.0.0.1:10001/devstoreaccount1/q1/messages?numofmessages=2&visibilitytimeout=30",
        )
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-ms-date",
            "Wed, 25 Nov 2026 18:00:00 GMT".parse().unwrap(),
        );
        h.insert("x-ms-version", STORAGE_API_VERSION.parse().unwrap());
        h.insert("content-length", "0".parse().unwrap());
        let s = shared_key_string_to_sign("devstoreaccount1", &Method::GET, &url, &h);
        assert_eq!(
            s,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Wed, 25 Nov 2026 18:00:00 GMT\nx-ms-version:2023-11-03\n/devstoreaccount1/devstoreaccount1/q1/messages\nnumofmessages:2\nvisibilitytimeout:30"
        );
    }

    #[test]
    fn connection_strings_parse() {
        let c = ConnectionString::parse("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=abc==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;").unwrap();
        assert_eq!(c.account_name.as_deref(), Some("devstoreaccount1"));
        assert_eq!(c.account_key.as_ref().unwrap().expose_secret(), "abc==");
        assert_eq!(
            c.queue_endpoint.as_deref(),
            Some("http://127.0.0.1:10001/devstoreaccount1")
        );
        assert!(!format!("{c:?}").contains("abc=="));
        assert!(
            ConnectionString::parse("UseDevelopmentStorage=true")
                .unwrap()
                .development
        );
        assert!(ConnectionString::parse("garbage").is_err());
    }

    #[test]
    fn sas_tokens_are_well_formed() {
        let key = AccountKey::from_base64(EMULATOR_ACCOUNT_KEY).unwrap();
        let exp = DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let q = AccountSas {
            services: "q".into(),
            resource_types: "sco".into(),
            permissions: "rwdlacup".into(),
            start: None,
            expiry: exp,
        }
        .sign(EMULATOR_ACCOUNT, &key);
        assert!(
            q.starts_with(
                "sv=2021-06-08&ss=q&srt=sco&sp=rwdlacup&se=2099-01-01T00%3A00%3A00Z&sig="
            ),
            "{q}"
        );
        assert!(format!("{key:?}") == "AccountKey(***)");
        assert!(AccountKey::from_base64("not base64!").is_err());
    }
}
