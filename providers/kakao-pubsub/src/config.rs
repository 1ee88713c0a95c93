//! [`KakaoPubSubConfig`]: endpoint, project, topic / subscription names and the access key,
//! from a `kakao-pubsub://` URL or built in code.

use gureum_core::http::HttpConfig;
use gureum_core::url::ResourceUrl;
use gureum_core::{Error, Result};
use secrecy::SecretString;
use std::fmt;
use std::time::Duration;

/// The public endpoint template (documented for `kr-central-2`).
///
/// ```
/// use gureum_kakao_pubsub::config::{DEFAULT_REGION, ENDPOINT_TEMPLATE};
/// assert_eq!(ENDPOINT_TEMPLATE.replace("{region}", DEFAULT_REGION), "https://pub-sub.kr-central-2.kakaocloud.com");
/// ```
pub const ENDPOINT_TEMPLATE: &str = "https://pub-sub.{region}.kakaocloud.com";
/// The default region.
///
/// ```
/// assert_eq!(gureum_kakao_pubsub::config::DEFAULT_REGION, "kr-central-2");
/// ```
pub const DEFAULT_REGION: &str = "kr-central-2";
/// Default environment variable of the access key id (`Credential-ID`).
///
/// ```
/// assert_eq!(gureum_kakao_pubsub::config::ENV_CREDENTIAL_ID, "KAKAO_CREDENTIAL_ID");
/// ```
pub const ENV_CREDENTIAL_ID: &str = "KAKAO_CREDENTIAL_ID";
/// Default environment variable of the secret access key (`Credential-Secret`).
///
/// ```
/// assert_eq!(gureum_kakao_pubsub::config::ENV_CREDENTIAL_SECRET, "KAKAO_CREDENTIAL_SECRET");
/// ```
pub const ENV_CREDENTIAL_SECRET: &str = "KAKAO_CREDENTIAL_SECRET";
/// Shortest acknowledgement deadline of a pull subscription (Kakao: 10 s).
///
/// ```
/// use gureum_kakao_pubsub::config::{KakaoPubSubConfig, MIN_ACK_DEADLINE};
/// use std::time::Duration;
/// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "secret".into()).unwrap();
/// assert!(c.clone().ack_deadline(MIN_ACK_DEADLINE).is_ok());
/// assert!(c.ack_deadline(Duration::from_secs(5)).is_err());
/// ```
pub const MIN_ACK_DEADLINE: Duration = Duration::from_secs(10);
/// Longest acknowledgement deadline (Kakao: 600 s).
///
/// ```
/// use gureum_kakao_pubsub::config::{KakaoPubSubConfig, MAX_ACK_DEADLINE};
/// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "secret".into()).unwrap();
/// assert_eq!(c.ack_deadline(MAX_ACK_DEADLINE).unwrap().ack_deadline.as_secs(), 600);
/// ```
pub const MAX_ACK_DEADLINE: Duration = Duration::from_secs(600);

/// The URL parameters of `kakao-pubsub://` (besides the shared HTTP ones).
///
/// Example: see [`KakaoPubSubConfig`].
pub const PARAMS: &[&str] = &[
    "region",
    "endpoint",
    "topic",
    "subscription",
    "credential_id",
    "credential_id_env",
    "credential_secret_env",
    "ack_deadline",
    "create",
];

/// Settings of one Kakao Pub/Sub queue (a topic and a pull subscription of it).
///
/// # Examples
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kakao_pubsub::config::{KakaoPubSubConfig, PARAMS};
/// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s3cret".to_string().into()).unwrap();
/// assert_eq!((c.topic.as_str(), c.subscription.as_str()), ("jobs", "jobs")); // both named after the queue
/// assert!(!format!("{c:?}").contains("s3cret"));
/// assert!(PARAMS.contains(&"ack_deadline"));
/// std::env::set_var("DOC_KP_SECRET", "s3cret");
/// let u = ResourceUrl::parse("kakao-pubsub://d1/p1/jobs?ack_deadline=30&credential_id=id&credential_secret_env=DOC_KP_SECRET").unwrap();
/// let c = KakaoPubSubConfig::from_url(&u).unwrap();
/// assert_eq!(c.ack_deadline.as_secs(), 30);
/// ```
#[derive(Clone)]
pub struct KakaoPubSubConfig {
    /// Base URL (`https://pub-sub.kr-central-2.kakaocloud.com`).
    pub endpoint: url::Url,
    /// Organization (domain) id of the project.
    pub domain_id: String,
    /// Project id.
    pub project_id: String,
    /// Queue name (the topic and subscription names default to it).
    pub name: String,
    /// Topic that `send` publishes to.
    pub topic: String,
    /// Pull subscription that `receive` pulls from.
    pub subscription: String,
    /// Access key id (`Credential-ID`).
    pub credential_id: String,
    /// Secret access key (`Credential-Secret`); never printed.
    pub credential_secret: SecretString,
    /// Acknowledgement deadline the subscription is created with (10–600 s), and the
    /// visibility a receive needs no deadline change for.
    pub ack_deadline: Duration,
    /// Create the topic and subscription on open when missing.
    pub create: bool,
    /// HTTP policy (timeouts, retries).
    pub http: HttpConfig,
}

impl fmt::Debug for KakaoPubSubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KakaoPubSubConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("domain_id", &self.domain_id)
            .field("project_id", &self.project_id)
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .field("credential_id", &self.credential_id)
            .field("credential_secret", &"<redacted>")
            .field("ack_deadline", &self.ack_deadline)
            .field("create", &self.create)
            .finish()
    }
}

/// Check a topic or subscription name (non-empty, no `/`, `?` or `#`, at most 255 bytes).
///
/// ```
/// use gureum_kakao_pubsub::config::check_name;
/// assert!(check_name("topic", "civic-complaints").is_ok());
/// assert!(check_name("topic", "a/b").is_err());
/// ```
pub fn check_name(what: &str, n: &str) -> Result<()> {
    if n.is_empty() || n.len() > 255 || n.contains(['/', '?', '#', '%']) || n.trim() != n {
        return Err(Error::invalid(format!(
            "{what} name {n:?} is not a valid Kakao Pub/Sub name"
        )));
    }
    Ok(())
}

fn check_id(what: &str, v: &str) -> Result<()> {
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid(format!(
            "{what} {v:?} is not a Kakao Cloud id (letters, digits, '-')"
        )));
    }
    Ok(())
}

fn check_deadline(d: Duration) -> Result<()> {
    if d < MIN_ACK_DEADLINE || d > MAX_ACK_DEADLINE || d.subsec_nanos() != 0 {
        return Err(Error::invalid(format!(
            "ack_deadline {d:?}: Kakao Pub/Sub takes whole seconds from 10 to 600"
        )));
    }
    Ok(())
}

impl KakaoPubSubConfig {
    /// A config for queue `name` (topic = subscription = `name`) of `domain_id`/`project_id`
    /// at `endpoint`, with an explicit access key.
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s3cr3t-value".into()).unwrap();
    /// assert_eq!((c.topic.as_str(), c.subscription.as_str()), ("jobs", "jobs"));
    /// assert!(!format!("{c:?}").contains("s3cr3t")); // the secret is never printed
    /// // Plain http off this host is refused.
    /// assert!(KakaoPubSubConfig::new("http://pub-sub.example.com", "d1", "p1", "jobs", "id", "s".into()).is_err());
    /// ```
    pub fn new(
        endpoint: &str,
        domain_id: &str,
        project_id: &str,
        name: &str,
        credential_id: &str,
        credential_secret: SecretString,
    ) -> Result<Self> {
        let endpoint = url::Url::parse(endpoint)
            .map_err(|e| Error::invalid(format!("Kakao Pub/Sub endpoint: {e}")))?;
        gureum_core::transport::check_endpoint(&endpoint, false)?;
        check_id("domain id", domain_id)?;
        check_id("project id", project_id)?;
        check_name("queue", name)?;
        if credential_id.is_empty() {
            return Err(Error::invalid("Kakao Pub/Sub needs an access key id"));
        }
        Ok(KakaoPubSubConfig {
            endpoint,
            domain_id: domain_id.into(),
            project_id: project_id.into(),
            name: name.into(),
            topic: name.into(),
            subscription: name.into(),
            credential_id: credential_id.into(),
            credential_secret,
            ack_deadline: Duration::from_secs(30),
            create: false,
            http: HttpConfig::default(),
        })
    }

    /// Publish to `topic` instead of the queue name.
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// assert_eq!(c.topic("civic-events").unwrap().topic, "civic-events");
    /// ```
    pub fn topic(mut self, topic: &str) -> Result<Self> {
        check_name("topic", topic)?;
        self.topic = topic.into();
        Ok(self)
    }
    /// Pull from `subscription` instead of the queue name.
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// assert_eq!(c.subscription("ocr-workers").unwrap().subscription, "ocr-workers");
    /// ```
    pub fn subscription(mut self, subscription: &str) -> Result<Self> {
        check_name("subscription", subscription)?;
        self.subscription = subscription.into();
        Ok(self)
    }
    /// Create the topic and subscription on open when missing.
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// assert!(c.create(true).create);
    /// ```
    pub fn create(mut self, yes: bool) -> Self {
        self.create = yes;
        self
    }
    /// Acknowledgement deadline of created subscriptions (whole seconds, 10–600).
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// use std::time::Duration;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// assert_eq!(c.ack_deadline(Duration::from_secs(30)).unwrap().ack_deadline, Duration::from_secs(30));
    /// ```
    pub fn ack_deadline(mut self, d: Duration) -> Result<Self> {
        check_deadline(d)?;
        self.ack_deadline = d;
        Ok(self)
    }
    /// Set the HTTP policy.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// assert_eq!(c.http(HttpConfig::default().retries(1)).http.retry.max_retries, 1);
    /// ```
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The same account (endpoint, project, key, policy) for queue `name`.
    ///
    /// ```
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// let c = KakaoPubSubConfig::new("https://pub-sub.kr-central-2.kakaocloud.com", "d1", "p1", "jobs", "id", "s".into()).unwrap();
    /// let other = c.for_queue("ocr").unwrap();
    /// assert_eq!((other.name.as_str(), other.project_id.as_str()), ("ocr", "p1"));
    /// ```
    pub fn for_queue(&self, name: &str) -> Result<Self> {
        check_name("queue", name)?;
        let mut c = self.clone();
        c.name = name.into();
        c.topic = name.into();
        c.subscription = name.into();
        Ok(c)
    }

    /// Parse `kakao-pubsub://DOMAIN_ID/PROJECT_ID/NAME?region=kr-central-2&topic=T&
    /// subscription=S&create=true&ack_deadline=30s`. The endpoint is
    /// `https://pub-sub.{region}.kakaocloud.com` unless `endpoint=` is given; the access
    /// key id comes from `credential_id=` or the environment (`credential_id_env=`, default
    /// `KAKAO_CREDENTIAL_ID`), the secret only from the environment (`credential_secret_env=`,
    /// default `KAKAO_CREDENTIAL_SECRET`). HTTP parameters: `retries`, `timeout`,
    /// `connect_timeout`, `deadline`, `max_response_bytes`.
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
    /// std::env::set_var("KAKAO_CREDENTIAL_ID", "doc-id");
    /// std::env::set_var("KAKAO_CREDENTIAL_SECRET", "doc-secret");
    /// // Parsing does not contact the service.
    /// let c = KakaoPubSubConfig::from_url(&ResourceUrl::parse("kakao-pubsub://d1/p1/jobs?create=true").unwrap()).unwrap();
    /// assert_eq!(c.endpoint.as_str(), "https://pub-sub.kr-central-2.kakaocloud.com/");
    /// assert!(c.create);
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        if url.scheme() != "kakao-pubsub" {
            return Err(Error::invalid(format!(
                "not a kakao-pubsub URL: {}://",
                url.scheme()
            )));
        }
        if !url.url().username().is_empty() || url.url().password().is_some() {
            return Err(Error::invalid(
                "kakao-pubsub://: credentials do not go into the URL; use the environment \
                 (KAKAO_CREDENTIAL_ID / KAKAO_CREDENTIAL_SECRET)",
            ));
        }
        let domain = url.host().to_string();
        let path = url.path();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if domain.is_empty() || parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::invalid(
                "kakao-pubsub:// needs DOMAIN_ID/PROJECT_ID/NAME \
                 (kakao-pubsub://DOMAIN_ID/PROJECT_ID/QUEUE)",
            ));
        }
        let (project, name) = (parts[0], parts[1]);
        let endpoint = match (url.param("endpoint"), url.param("region")) {
            (Some(e), _) => e.to_string(),
            (None, r) => ENDPOINT_TEMPLATE.replace("{region}", r.unwrap_or(DEFAULT_REGION)),
        };
        let id_env = url.param("credential_id_env").unwrap_or(ENV_CREDENTIAL_ID);
        let secret_env = url
            .param("credential_secret_env")
            .unwrap_or(ENV_CREDENTIAL_SECRET);
        let credential_id = match url.param("credential_id") {
            Some(v) => v.to_string(),
            None => std::env::var(id_env).map_err(|_| {
                Error::new(
                    gureum_core::ErrorKind::Unauthenticated,
                    format!("kakao-pubsub://: no access key id: set {id_env} or credential_id="),
                )
            })?,
        };
        let secret = std::env::var(secret_env).map_err(|_| {
            Error::new(
                gureum_core::ErrorKind::Unauthenticated,
                format!("kakao-pubsub://: no secret access key: set {secret_env}"),
            )
        })?;
        let mut c = KakaoPubSubConfig::new(
            &endpoint,
            &domain,
            project,
            name,
            &credential_id,
            SecretString::from(secret),
        )?;
        if let Some(t) = url.param("topic") {
            c = c.topic(t)?;
        }
        if let Some(s) = url.param("subscription") {
            c = c.subscription(s)?;
        }
        if let Some(d) = url.param("ack_deadline") {
            c = c.ack_deadline(gureum_core::http::parse_duration("ack_deadline", d)?)?;
        }
        c.create = url.bool_param("create")?.unwrap_or(false);
        c.http = HttpConfig::from_params(&url.pick(gureum_core::http::PARAMS))?;
        url.check_unknown(&["class", "audit", "encrypt", "zone"])?;
        Ok(c)
    }

    /// `{endpoint}/v1/domains/{domain}/projects/{project}/{rest}`.
    pub(crate) fn url(&self, rest: &str) -> Result<url::Url> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        url::Url::parse(&format!(
            "{base}/v1/domains/{}/projects/{}/{rest}",
            self.domain_id, self.project_id
        ))
        .map_err(|e| Error::invalid(format!("Kakao Pub/Sub URL: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(s: &str) -> Result<KakaoPubSubConfig> {
        KakaoPubSubConfig::from_url(&ResourceUrl::parse(s)?)
    }

    #[test]
    fn url_forms() {
        let c = parse(
            "kakao-pubsub://dom1/proj1/jobs?credential_id=ak&credential_secret_env=PATH\
             &subscription=jobs-pull&ack_deadline=45s&create=true&retries=2",
        )
        .unwrap();
        assert_eq!(
            c.endpoint.as_str(),
            "https://pub-sub.kr-central-2.kakaocloud.com/"
        );
        assert_eq!(
            (c.domain_id.as_str(), c.project_id.as_str()),
            ("dom1", "proj1")
        );
        assert_eq!(
            (c.topic.as_str(), c.subscription.as_str()),
            ("jobs", "jobs-pull")
        );
        assert_eq!(c.ack_deadline, Duration::from_secs(45));
        assert!(c.create);
        assert_eq!(c.http.retry.max_retries, 2);
        assert_eq!(
            c.credential_secret.expose_secret(),
            std::env::var("PATH").unwrap()
        );
        assert_eq!(
            c.url("topics/jobs/publish").unwrap().as_str(),
            "https://pub-sub.kr-central-2.kakaocloud.com/v1/domains/dom1/projects/proj1/topics/jobs/publish"
        );
        let c = parse(
            "kakao-pubsub://d/p/q?credential_id=ak&credential_secret_env=PATH&region=kr-central-9",
        )
        .unwrap();
        assert_eq!(
            c.endpoint.host_str(),
            Some("pub-sub.kr-central-9.kakaocloud.com")
        );
        let dbg = format!("{c:?}");
        assert!(dbg.contains("<redacted>") && !dbg.contains(&std::env::var("PATH").unwrap()));
    }

    #[test]
    fn bad_urls_are_invalid_argument() {
        for u in [
            "kakao-pubsub://d/p?credential_id=a&credential_secret_env=PATH",
            "kakao-pubsub://d/p/q/extra?credential_id=a&credential_secret_env=PATH",
            "kakao-pubsub://d/p/q?credential_id=a&credential_secret_env=PATH&ack_deadline=5s",
            "kakao-pubsub://d/p/q?credential_id=a&credential_secret_env=PATH&ack_deadline=601s",
            "kakao-pubsub://d/p/q?credential_id=a&credential_secret_env=PATH&bogus=1",
            "kakao-pubsub://d/p/q?credential_id=a&credential_secret_env=PATH&endpoint=http://pubsub.example.com",
            "kakao-pubsub://user:pw@d/p/q",
        ] {
            let e = parse(u).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    gureum_core::ErrorKind::InvalidArgument
                        | gureum_core::ErrorKind::PolicyViolation
                ),
                "{u}: {e}"
            );
        }
        let e = parse(
            "kakao-pubsub://d/p/q?credential_id=a&credential_secret_env=GUREUM_SURELY_UNSET_VAR",
        )
        .unwrap_err();
        assert_eq!(e.kind(), gureum_core::ErrorKind::Unauthenticated);
    }
}
