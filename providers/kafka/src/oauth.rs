//! SASL/OAUTHBEARER with the client-credentials grant (NHN Cloud EasyQueue: a User Access Key
//! of JWT type, scope `appKey:{APP_KEY}`), fetched by this crate through `gureum_core::http`,
//! so the bundled librdkafka needs no libcurl.

use gureum_core::http::{Authorizer, HttpClient, HttpConfig, RequestOptions};
use gureum_core::secrecy::{ExposeSecret, SecretString};
use gureum_core::{Error, Result};
use rdkafka::client::OAuthToken;
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
struct ClientCredentials {
    endpoint: String,
    client_id: String,
    client_secret: SecretString,
    scope: String,
}

/// The librdkafka client context of this crate's clients: fetches OAUTHBEARER tokens when the
/// connection uses them, does nothing otherwise.
///
/// # Examples
///
/// A client-credentials token from a scripted loopback token endpoint:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_kafka::TokenContext;
/// let (base, seen) = gureum_testkit::scripted::serve(|_, _| (200, "content-type: application/json\r\n".into(),
///     r#"{"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}"#.into())).await;
/// let secret = gureum_core::secrecy::SecretString::from("s3cret".to_string());
/// let ctx = TokenContext::client_credentials(&format!("{base}/oauth2/token"), "easyqueue-app", &secret, "kafka")?;
/// assert!(!format!("{ctx:?}").contains("s3cret"));
/// let token = ctx.fetch().await?;
/// assert_eq!((token.token.as_str(), token.principal_name.as_str()), ("tok-1", "easyqueue-app"));
/// assert!(token.lifetime_ms > chrono::Utc::now().timestamp_millis());
/// let head = seen.lock().unwrap()[0].clone();
/// assert!(head.starts_with("POST /oauth2/token ") && head.contains("authorization: Basic ZWFzeXF1ZXVlLWFwcDpzM2NyZXQ="));
/// let none = TokenContext::none().fetch().await.err().map(|e| e.kind());
/// assert_eq!(none, Some(gureum_core::ErrorKind::InvalidArgument)); // no OAUTHBEARER configured
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct TokenContext {
    creds: Option<Arc<ClientCredentials>>,
    /// Where the client's TLS failures are recorded (shared with its queue or admin).
    tls: Arc<crate::error::TlsWatch>,
}

impl fmt::Debug for TokenContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.creds {
            Some(c) => f
                .debug_struct("TokenContext")
                .field("endpoint", &c.endpoint)
                .field("client_id", &c.client_id)
                .field("client_secret", &"***")
                .field("scope", &c.scope)
                .finish(),
            None => f.write_str("TokenContext(none)"),
        }
    }
}

/// `Basic base64(id:secret)`: a credential itself, so a [`SecretString`] (redacted in `Debug`).
#[derive(Debug)]
struct Basic(SecretString);

#[async_trait::async_trait]
impl Authorizer for Basic {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let mut v: http::HeaderValue = format!("Basic {}", self.0.expose_secret())
            .parse()
            .map_err(|_| Error::invalid("credentials are not a valid header value"))?;
        v.set_sensitive(true);
        req.headers_mut().insert(http::header::AUTHORIZATION, v);
        Ok(())
    }
}

impl TokenContext {
    /// No OAuth.
    ///
    /// Example: see [`TokenContext`].
    pub fn none() -> Self {
        TokenContext {
            creds: None,
            tls: Arc::default(),
        }
    }

    /// Client-credentials tokens from `endpoint`.
    ///
    /// Example: see [`TokenContext`].
    pub fn client_credentials(
        endpoint: &str,
        client_id: &str,
        client_secret: &SecretString,
        scope: &str,
    ) -> Result<Self> {
        let u = url::Url::parse(endpoint)
            .map_err(|e| Error::invalid(format!("token endpoint is malformed: {e}")))?;
        gureum_core::transport::check_endpoint(&u, false)?;
        Ok(TokenContext {
            creds: Some(Arc::new(ClientCredentials {
                endpoint: endpoint.to_string(),
                client_id: client_id.to_string(),
                client_secret: client_secret.clone(),
                scope: scope.to_string(),
            })),
            tls: Arc::default(),
        })
    }

    /// The same token source, recording TLS failures in `tls`.
    pub(crate) fn watching(mut self, tls: Arc<crate::error::TlsWatch>) -> Self {
        self.tls = tls;
        self
    }

    /// Fetch a token now (async).
    ///
    /// Example: see [`TokenContext`].
    pub async fn fetch(&self) -> Result<OAuthToken> {
        use base64::Engine as _;
        let Some(c) = &self.creds else {
            return Err(Error::invalid("no OAUTHBEARER credentials configured"));
        };
        let basic = SecretString::from(base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            c.client_id,
            c.client_secret.expose_secret()
        )));
        let client = HttpClient::builder("oauth")
            .config(HttpConfig::default())
            .auth(Arc::new(Basic(basic)))
            .build()?;
        let req = client
            .http()
            .post(&c.endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", c.scope.as_str()),
            ])
            .build()
            .map_err(|e| Error::other(format!("token request: {}", e.without_url())))?;
        let resp = client
            .send_bytes(
                req,
                &RequestOptions::new("POST oauth token").idempotent(true),
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::other(format!("token response is not JSON: {e}")))?;
        let token = v
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| Error::other("token response has no access_token"))?
            .to_string();
        let expires_in = v.get("expires_in").and_then(|e| e.as_i64()).unwrap_or(3600);
        Ok(OAuthToken {
            token,
            principal_name: c.client_id.clone(),
            lifetime_ms: chrono::Utc::now().timestamp_millis() + expires_in * 1000,
        })
    }

    /// librdkafka's refresh callback runs on a polling thread: fetch on a thread of our own.
    pub(crate) fn generate(
        &self,
        _cfg: Option<&str>,
    ) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
        let me = self.clone();
        let r = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::other(format!("token runtime: {e}")))?;
            rt.block_on(me.fetch())
        })
        .join()
        .map_err(|_| "token fetch thread panicked")?;
        r.map_err(|e| {
            tracing::warn!(error = %e, "OAUTHBEARER token fetch failed");
            Box::new(e) as Box<dyn std::error::Error>
        })
    }
}

impl rdkafka::ClientContext for TokenContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.tls.observe(error.rdkafka_error_code(), reason);
        tracing::warn!(%error, reason, "librdkafka error event");
    }
    fn generate_oauth_token(
        &self,
        cfg: Option<&str>,
    ) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
        self.generate(cfg)
    }
}
