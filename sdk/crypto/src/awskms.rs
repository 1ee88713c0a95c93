//! AWS KMS (or a KMS-compatible server) as the key manager: data keys are wrapped with
//! `Encrypt` and unwrapped with `Decrypt` under a KMS key, with the encryption context
//! `{"gureum": "envelope-v1"}`.
//!
//! URL: `awskms://KEY?region=ap-northeast-2` where KEY is a key id, a key ARN or
//! `alias/NAME`; `endpoint=http://127.0.0.1:5000` for a KMS-compatible server (plain HTTP only
//! to loopback); `profile=` picks a profile of the AWS config files. Credentials come from the
//! AWS default chain (environment, profile, web identity, instance role).
//!
//! KMS rotates a key's backing material itself (`EnableKeyRotation`) and keeps every old one,
//! so the KEK version written into objects is 0; moving objects to a *new* KMS key (a new
//! `KEY` in the URL) is what `gureum encrypt rotate` does.

use crate::format::integrity;
use crate::keys::{DataKey, KekInfo, KeyProvider, WrappedKey};
use crate::url::ProviderUrl;
use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use gureum_core::{Error, ErrorKind, Result};
use std::fmt;
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

/// The provider kind of AWS KMS keys.
///
/// ```
/// assert_eq!(gureum_crypto::awskms::KIND, "awskms");
/// ```
pub const KIND: &str = "awskms";

const CONTEXT_KEY: &str = "gureum";
const CONTEXT_VALUE: &str = "envelope-v1";

/// A KMS key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{awskms::Kms, url::ProviderUrl, KeyProvider};
/// // Opening reads the AWS configuration only; wrap/unwrap call KMS (moto on :5000 in CI).
/// let u = ProviderUrl::parse("awskms://alias/seoul-records?region=ap-northeast-2&endpoint=http://127.0.0.1:5000").unwrap();
/// let kms = Kms::from_url(&u).await?;
/// assert_eq!(kms.kind(), "awskms");
/// # Ok(()) }
/// ```
pub struct Kms {
    key_id: String,
    region: String,
    endpoint: String,
    creds: SharedCredentialsProvider,
    http: reqwest::Client,
}

impl fmt::Debug for Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kms")
            .field("key_id", &self.key_id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

fn is_loopback_url(u: &str) -> bool {
    url::Url::parse(u)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .map(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']').to_string();
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .map(|ip| ip.is_loopback())
                    .unwrap_or(false)
        })
        .unwrap_or(false)
}

impl Kms {
    /// The KMS key a parsed `awskms://` URL names.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use gureum_crypto::{awskms::Kms, url::ProviderUrl};
    /// let u = ProviderUrl::parse("awskms://alias/k?region=kr&colour=blue").unwrap();
    /// assert!(Kms::from_url(&u).await.is_err()); // unknown parameter, refused before any call
    /// # }
    /// ```
    pub async fn from_url(u: &ProviderUrl) -> Result<Self> {
        u.check_params(&["region", "endpoint", "profile"])?;
        let key_id = u.rest.trim_end_matches('/').to_string();
        if key_id.is_empty() || key_id.len() > 256 {
            return Err(Error::invalid(
                "awskms URL: awskms://KEY_ID, awskms://alias/NAME or awskms://arn:aws:kms:..",
            ));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = u.params.get("region") {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = u.params.get("profile") {
            loader = loader.profile_name(p);
        }
        let sdk = loader.load().await;
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".into());
        if !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid("awskms URL: malformed region"));
        }
        let endpoint = match u
            .params
            .get("endpoint")
            .cloned()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_KMS").ok())
        {
            Some(e) => {
                if e.starts_with("http://") && !is_loopback_url(&e) {
                    return Err(Error::invalid(
                        "awskms URL: plain HTTP endpoints are allowed only on loopback",
                    ));
                }
                e.trim_end_matches('/').to_string()
            }
            None => format!("https://kms.{region}.amazonaws.com"),
        };
        let creds = sdk.credentials_provider().ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                "awskms: no AWS credentials provider",
            )
        })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::other(format!("awskms: HTTP client: {e}")))?;
        Ok(Kms {
            key_id,
            region,
            endpoint,
            creds,
            http,
        })
    }

    async fn call(&self, action: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        let body = serde_json::to_vec(&body).map_err(|e| Error::other(e.to_string()))?;
        let body = Zeroizing::new(body);
        let creds = self.creds.provide_credentials().await.map_err(|e| {
            Error::new(
                ErrorKind::Unauthenticated,
                "awskms: no usable AWS credentials",
            )
            .with_source(e)
        })?;
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Error::other(format!("SigV4 parameters: {e}")))?
            .into();
        let url = format!("{}/", self.endpoint);
        let parsed = url::Url::parse(&url).map_err(|_| Error::invalid("awskms: bad endpoint"))?;
        let host = match parsed.port() {
            Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
            None => parsed.host_str().unwrap_or_default().to_string(),
        };
        let target = format!("TrentService.{action}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", host.as_str()),
            ("x-amz-target", target.as_str()),
        ];
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| Error::other(format!("SigV4: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::other(format!("SigV4: {e}")))?
            .into_parts();
        let mut req = self
            .http
            .post(&url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", &target)
            .body(body.to_vec());
        for (k, v) in instructions.headers() {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            Error::new(
                kind,
                format!("awskms {action}: request failed ({})", e.without_url()),
            )
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(v);
        }
        let code = v["__type"]
            .as_str()
            .unwrap_or("")
            .rsplit('#')
            .next()
            .unwrap_or("")
            .to_string();
        let msg = v["message"]
            .as_str()
            .or_else(|| v["Message"].as_str())
            .unwrap_or("")
            .to_string();
        let kind = match code.as_str() {
            "InvalidCiphertextException" => ErrorKind::Integrity,
            "AccessDeniedException"
            | "IncorrectKeyException"
            | "NotFoundException"
            | "DisabledException"
            | "KMSInvalidStateException"
            | "InvalidKeyUsageException" => ErrorKind::PermissionDenied,
            "UnrecognizedClientException" | "InvalidSignatureException" => {
                ErrorKind::Unauthenticated
            }
            "ThrottlingException" | "LimitExceededException" => ErrorKind::RateLimited,
            "KMSInternalException" | "DependencyTimeoutException" => ErrorKind::Unavailable,
            _ if status >= 500 => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        };
        Err(Error::new(
            kind,
            format!("awskms {action} (key {}): {msg}", self.key_id),
        )
        .with_provider_code(code))
    }
}

#[async_trait]
impl KeyProvider for Kms {
    fn kind(&self) -> &str {
        KIND
    }

    async fn current(&self) -> Result<KekInfo> {
        Ok(KekInfo {
            kind: KIND.into(),
            kek_id: self.key_id.clone(),
            version: 0,
        })
    }

    async fn wrap(&self, key: &DataKey) -> Result<WrappedKey> {
        let pt = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.expose()));
        let v = self
            .call(
                "Encrypt",
                serde_json::json!({
                    "KeyId": self.key_id,
                    "Plaintext": pt.as_str(),
                    "EncryptionContext": { CONTEXT_KEY: CONTEXT_VALUE },
                }),
            )
            .await?;
        let blob = v["CiphertextBlob"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or_else(|| Error::other("awskms Encrypt: no CiphertextBlob"))?;
        Ok(WrappedKey {
            kind: KIND.into(),
            kek_id: self.key_id.clone(),
            version: 0,
            blob,
        })
    }

    async fn unwrap(&self, w: &WrappedKey) -> Result<DataKey> {
        if w.kind != KIND || w.kek_id != self.key_id {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "the data key was wrapped by {} key {:?}; this layer holds awskms key {:?}",
                    w.kind, w.kek_id, self.key_id
                ),
            ));
        }
        let v = self
            .call(
                "Decrypt",
                serde_json::json!({
                    "KeyId": self.key_id,
                    "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(&w.blob),
                    "EncryptionContext": { CONTEXT_KEY: CONTEXT_VALUE },
                }),
            )
            .await?;
        let pt = v["Plaintext"]
            .as_str()
            .ok_or_else(|| Error::other("awskms Decrypt: no Plaintext"))?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(pt)
                .map_err(|_| integrity("awskms Decrypt: plaintext is not base64"))?,
        );
        DataKey::from_slice(&bytes).ok_or_else(|| integrity("unwrapped data key is not 32 bytes"))
    }
}
