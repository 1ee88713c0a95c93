//! [`KafkaConfig`]: what a `kafka://`, `ncloud-cdss://` or `nhn-easyqueue://` URL says, and
//! the librdkafka settings it becomes.

use gureum_core::secrecy::{ExposeSecret, SecretString};
use gureum_core::url::ResourceUrl;
use gureum_core::{DeadLetter, Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// NHN Cloud's OAuth token endpoint for User Access Keys (Public API, "User Access Key Token").
///
/// ```
/// use gureum_kafka::config::NHN_TOKEN_ENDPOINT;
/// assert!(NHN_TOKEN_ENDPOINT.starts_with("https://"));
/// ```
pub const NHN_TOKEN_ENDPOINT: &str = "https://oauth.api.nhncloudservice.com/oauth2/token/create";
/// EasyQueue's bootstrap port.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kafka::{config::NHN_EASYQUEUE_PORT, KafkaConfig};
/// std::env::set_var("NHN_USER_ACCESS_KEY_ID", "doc-id");
/// std::env::set_var("NHN_SECRET_ACCESS_KEY", "doc-secret");
/// let c = KafkaConfig::from_url(&ResourceUrl::parse("nhn-easyqueue://kr1-c1/orders?group=ocr&app_key=APPKEY").unwrap()).unwrap();
/// assert!(c.bootstrap.ends_with(&format!(":{NHN_EASYQUEUE_PORT}")));
/// ```
pub const NHN_EASYQUEUE_PORT: u16 = 30000;

/// Which service the URL names.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kafka::{config::Preset, KafkaConfig};
/// let c = KafkaConfig::from_url(&ResourceUrl::parse("ncloud-cdss://10.0.0.5:9092/orders?group=ocr&allow_plaintext=true").unwrap()).unwrap();
/// assert_eq!(c.preset, Preset::NcloudCdss);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Any Kafka cluster (`kafka://`).
    Kafka,
    /// Naver Cloud Cloud Data Streaming Service (managed Kafka in the customer's VPC).
    NcloudCdss,
    /// NHN Cloud EasyQueue (shared Kafka; SASL_SSL + OAUTHBEARER, `{APP_KEY}.` name prefixes).
    NhnEasyQueue,
}

/// How the client authenticates and encrypts.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kafka::{config::Security, KafkaConfig};
/// std::env::set_var("KAFKA_PASSWORD", "s3cret");
/// let u = ResourceUrl::parse("kafka://kafka.city.example:9093/complaints?group=ocr&sasl_mechanism=scram-sha-512&username=civic").unwrap();
/// let c = KafkaConfig::from_url(&u).unwrap();
/// assert!(matches!(&c.security, Security::SaslSsl { mechanism, .. } if mechanism == "SCRAM-SHA-512"));
/// assert!(!format!("{:?}", c.security).contains("s3cret")); // the password never shows
/// ```
#[derive(Clone)]
pub enum Security {
    /// No TLS, no authentication (loopback, or a private network with `allow_plaintext`).
    Plaintext,
    /// TLS, optionally with a private CA (PEM file).
    Ssl {
        /// CA file.
        ca: Option<String>,
    },
    /// TLS + SASL/SCRAM-SHA-512 or PLAIN with a user and password.
    SaslSsl {
        /// CA file.
        ca: Option<String>,
        /// `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`.
        mechanism: String,
        /// User name.
        username: String,
        /// Password (a [`SecretString`]: redacted in `Debug`, never logged).
        password: SecretString,
    },
    /// TLS + SASL/OAUTHBEARER with client credentials (NHN EasyQueue: User Access Key).
    OAuthBearer {
        /// CA file.
        ca: Option<String>,
        /// Token endpoint (client-credentials grant).
        token_endpoint: String,
        /// Client id (User Access Key ID).
        client_id: String,
        /// Client secret (Secret Access Key; a [`SecretString`], never logged).
        client_secret: SecretString,
        /// Scope (`appKey:{APP_KEY}`).
        scope: String,
    },
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Plaintext => f.write_str("Plaintext"),
            Security::Ssl { ca } => f.debug_struct("Ssl").field("ca", ca).finish(),
            Security::SaslSsl {
                ca,
                mechanism,
                username,
                ..
            } => f
                .debug_struct("SaslSsl")
                .field("ca", ca)
                .field("mechanism", mechanism)
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Security::OAuthBearer {
                ca,
                token_endpoint,
                client_id,
                scope,
                ..
            } => f
                .debug_struct("OAuthBearer")
                .field("ca", ca)
                .field("token_endpoint", token_endpoint)
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// Settings of a Kafka-backed queue.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kafka::KafkaConfig;
/// // Parsing does not connect: the brokers are contacted when the queue is opened.
/// let c = KafkaConfig::from_url(&ResourceUrl::parse("kafka://127.0.0.1:9092/complaints?group=ocr").unwrap()).unwrap();
/// assert_eq!((c.bootstrap.as_str(), c.topic.as_str(), c.group.as_str()), ("127.0.0.1:9092", "complaints", "ocr"));
/// ```
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Which service.
    pub preset: Preset,
    /// `host:port[,host:port]`.
    pub bootstrap: String,
    /// Topic name as the broker knows it (with the EasyQueue prefix applied).
    pub topic: String,
    /// Consumer group as the broker knows it.
    pub group: String,
    /// Name prefix applied to topics and groups (`{APP_KEY}.` on EasyQueue).
    pub prefix: String,
    /// Security.
    pub security: Security,
    /// Consumer `session.timeout.ms`.
    pub session_timeout: Duration,
    /// Largest receive batch.
    pub batch: usize,
    /// Create the topic on open when missing.
    pub create: bool,
    /// Partitions of topics this client creates.
    pub partitions: i32,
    /// Replication factor of topics this client creates.
    pub replication: i32,
    /// Dead-letter topic (with its max deliveries), kept by this client.
    pub dead_letter: Option<DeadLetter>,
    /// Largest message body accepted.
    pub max_message_bytes: usize,
    /// Extra librdkafka settings (`rdkafka.NAME=VALUE` parameters).
    pub extra: BTreeMap<String, String>,
}

const PARAMS: &[&str] = &[
    "group",
    "brokers",
    "session_timeout_ms",
    "batch",
    "create",
    "partitions",
    "replication",
    "dlq",
    "max_receives",
    "max_message_bytes",
    "tls",
    "ca",
    "ca_file",
    "cacert",
    "client_cert",
    "client_key",
    "allow_http",
    "sasl_mechanism",
    "username",
    "password_env",
    "allow_plaintext",
    "app_key",
    "app_key_env",
    "access_key_env",
    "secret_key_env",
    "token_endpoint",
];

fn env_required(var: &str, what: &str) -> Result<String> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid(format!("{what}: environment variable {var} is not set")))
}

/// Kafka topic names: 1–249 of `[A-Za-z0-9._-]`.
pub(crate) fn check_topic(t: &str) -> Result<()> {
    if t.is_empty()
        || t.len() > 249
        || t == "."
        || t == ".."
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Error::invalid(format!(
            "Kafka topic name {t:?} must be 1-249 characters of A-Z a-z 0-9 . _ -"
        )));
    }
    Ok(())
}

impl KafkaConfig {
    /// A plain-Kafka config (loopback or private network; see [`KafkaConfig::from_url`]).
    ///
    /// ```
    /// use gureum_kafka::KafkaConfig;
    /// let c = KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap();
    /// assert_eq!(c.group, "gureum.jobs");
    /// assert!(KafkaConfig::new("127.0.0.1:9092", "bad topic!").is_err());
    /// ```
    pub fn new(bootstrap: impl Into<String>, topic: impl Into<String>) -> Result<Self> {
        let topic = topic.into();
        check_topic(&topic)?;
        Ok(KafkaConfig {
            preset: Preset::Kafka,
            bootstrap: bootstrap.into(),
            group: format!("gureum.{topic}"),
            topic,
            prefix: String::new(),
            security: Security::Plaintext,
            session_timeout: Duration::from_secs(45),
            batch: 10,
            create: false,
            partitions: 3,
            replication: 1,
            dead_letter: None,
            max_message_bytes: 512 * 1024,
            extra: BTreeMap::new(),
        })
    }

    /// Set the consumer group (the preset's prefix is applied).
    ///
    /// ```
    /// let c = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap().group("ocr-workers");
    /// assert_eq!(c.group, "ocr-workers");
    /// ```
    pub fn group(mut self, g: &str) -> Self {
        self.group = format!("{}{g}", self.prefix);
        self
    }
    /// Set `session.timeout.ms`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap().session_timeout(Duration::from_secs(10));
    /// assert_eq!(c.consumer_settings()["session.timeout.ms"], "10000");
    /// ```
    pub fn session_timeout(mut self, d: Duration) -> Self {
        self.session_timeout = d;
        self
    }
    /// Create the topic on open when missing.
    ///
    /// ```
    /// assert!(gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap().create(true).create);
    /// ```
    pub fn create(mut self, v: bool) -> Self {
        self.create = v;
        self
    }
    /// Dead-letter topic and max deliveries.
    ///
    /// ```
    /// use gureum_core::DeadLetter;
    /// let c = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap()
    ///     .dead_letter(DeadLetter { queue: "jobs-dead".into(), max_receive_count: 5 });
    /// assert_eq!(c.dead_letter.unwrap().queue, "jobs-dead");
    /// ```
    pub fn dead_letter(mut self, d: DeadLetter) -> Self {
        self.dead_letter = Some(d);
        self
    }

    /// Parse `kafka://HOST:PORT/TOPIC?group=NAME&brokers=HOST:PORT,...&...`,
    /// `ncloud-cdss://BROKER:9092/TOPIC?group=NAME` or
    /// `nhn-easyqueue://REGION-CLUSTER/TOPIC?group=NAME&app_key=APPKEY`.
    ///
    /// ```
    /// use gureum_core::{ErrorKind, ResourceUrl};
    /// use gureum_kafka::KafkaConfig;
    /// let u = ResourceUrl::parse("kafka://127.0.0.1:9092/jobs?group=g&brokers=127.0.0.2:9092&rdkafka.fetch.wait.max.ms=50").unwrap();
    /// let c = KafkaConfig::from_url(&u).unwrap();
    /// assert_eq!(c.extra["fetch.wait.max.ms"], "50"); // librdkafka settings pass through
    /// let bad = ResourceUrl::parse("kafka://127.0.0.1:9092/jobs?gruop=g").unwrap();
    /// assert_eq!(KafkaConfig::from_url(&bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let preset = match url.scheme() {
            "kafka" => Preset::Kafka,
            "ncloud-cdss" => Preset::NcloudCdss,
            "nhn-easyqueue" => Preset::NhnEasyQueue,
            s => return Err(Error::invalid(format!("not a Kafka scheme: {s}"))),
        };
        for k in url.url().query_pairs().map(|(k, _)| k) {
            if !PARAMS.contains(&k.as_ref())
                && !k.starts_with("rdkafka.")
                && !matches!(k.as_ref(), "class" | "audit" | "encrypt")
                && k != gureum_core::layering::PARAM_ZONE
            {
                return Err(Error::invalid(format!(
                    "{url}: unknown parameter {k:?}; valid: {}, rdkafka.<librdkafka setting>",
                    PARAMS.join(", ")
                )));
            }
        }
        let topic = url.path().trim_matches('/').to_string();
        if topic.is_empty() || topic.contains('/') {
            return Err(Error::invalid(format!(
                "{url}: the path must be exactly one topic name (SCHEME://BROKERS/TOPIC)"
            )));
        }
        // Brokers: the URL authority, plus `brokers=h2:p,h3:p`.
        let authority = {
            let s = url.url().as_str();
            let rest = &s[s.find("://").map(|i| i + 3).unwrap_or(0)..];
            let end = rest.find('/').unwrap_or(rest.len());
            rest[..end].to_string()
        };
        if authority.is_empty() {
            return Err(Error::invalid(format!("{url}: missing broker address")));
        }
        if authority.contains('@') {
            return Err(Error::invalid(format!(
                "{url}: credentials do not go into a Kafka URL; use username=/password_env= \
                 or the preset's environment variables"
            )));
        }
        let first_host = authority
            .split(',')
            .next()
            .unwrap_or("")
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&authority)
            .to_string();
        // Uniform TLS parameters (gureum_core::tls): ca_file (aliases ca, cacert),
        // client_cert + client_key (mutual TLS).
        let tls_files = gureum_core::tls::TlsConfig::from_params(url.params())?;
        let ca = tls_files.ca_file.as_ref().map(|p| p.display().to_string());
        let tls = url.bool_param("tls")?.unwrap_or(false) || tls_files.is_custom();
        let allow_plaintext = gureum_core::transport::allow_plaintext(url)?;

        let (bootstrap, prefix, security) = match preset {
            Preset::NhnEasyQueue => {
                let app_key = match url.param("app_key") {
                    Some(k) => k.to_string(),
                    None => env_required(
                        url.param("app_key_env").unwrap_or("NHN_EASYQUEUE_APP_KEY"),
                        "EasyQueue app key",
                    )?,
                };
                if app_key.is_empty() || !app_key.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(Error::invalid("EasyQueue app key must be alphanumeric"));
                }
                let client_id = env_required(
                    url.param("access_key_env")
                        .unwrap_or("NHN_USER_ACCESS_KEY_ID"),
                    "EasyQueue User Access Key ID",
                )?;
                let client_secret = env_required(
                    url.param("secret_key_env")
                        .unwrap_or("NHN_SECRET_ACCESS_KEY"),
                    "EasyQueue Secret Access Key",
                )?;
                // `{region}-{cluster}` expands to the documented bootstrap host.
                let bootstrap = if authority.contains('.') || authority.contains(':') {
                    authority.clone()
                } else {
                    format!(
                        "{authority}-bootstrap-easyqueue.nhncloudservice.com:{NHN_EASYQUEUE_PORT}"
                    )
                };
                let security = Security::OAuthBearer {
                    ca,
                    token_endpoint: url
                        .param("token_endpoint")
                        .unwrap_or(NHN_TOKEN_ENDPOINT)
                        .to_string(),
                    client_id,
                    client_secret: SecretString::from(client_secret),
                    scope: format!("appKey:{app_key}"),
                };
                (bootstrap, format!("{app_key}."), security)
            }
            Preset::Kafka | Preset::NcloudCdss => {
                let security = match url.param("sasl_mechanism") {
                    Some(m) => {
                        let mechanism = m.to_ascii_uppercase();
                        if !matches!(
                            mechanism.as_str(),
                            "SCRAM-SHA-512" | "SCRAM-SHA-256" | "PLAIN"
                        ) {
                            return Err(Error::invalid(format!(
                                "sasl_mechanism={m}: expected SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN"
                            )));
                        }
                        let username = url.require("username")?.to_string();
                        let password = env_required(
                            url.param("password_env").unwrap_or("KAFKA_PASSWORD"),
                            "Kafka SASL password",
                        )?;
                        Security::SaslSsl {
                            ca,
                            mechanism,
                            username,
                            password: SecretString::from(password),
                        }
                    }
                    None if tls => Security::Ssl { ca },
                    None => {
                        if !gureum_core::transport::is_loopback_host(&first_host)
                            && !allow_plaintext
                        {
                            return Err(Error::invalid(format!(
                                "{url}: a plaintext Kafka connection to a non-loopback broker; \
                                 use tls=true (ca=/path/ca.pem for a private CA), a SASL \
                                 mechanism, or allow_plaintext=true inside a private network"
                            )));
                        }
                        Security::Plaintext
                    }
                };
                let bootstrap = match url.param("brokers") {
                    Some(more) => format!("{authority},{more}"),
                    None => authority.clone(),
                };
                (bootstrap, String::new(), security)
            }
        };
        let bare_topic = topic.strip_prefix(&prefix).unwrap_or(&topic);
        let mut c = KafkaConfig::new(bootstrap, format!("{prefix}{bare_topic}"))?;
        c.preset = preset;
        c.prefix = prefix;
        c.security = security;
        c.group = match url.param("group") {
            Some(g) => {
                let g = g.strip_prefix(&c.prefix).unwrap_or(g);
                format!("{}{g}", c.prefix)
            }
            None => format!("{}gureum.{bare_topic}", c.prefix),
        };
        if preset == Preset::NcloudCdss {
            // CDSS clusters run 3+ brokers: created topics are replicated like the service's default.
            c.replication = 3;
        }
        if let Some(ms) = url.u64_param("session_timeout_ms")? {
            if !(1000..=3_600_000).contains(&ms) {
                return Err(Error::invalid("session_timeout_ms must be 1000..=3600000"));
            }
            c.session_timeout = Duration::from_millis(ms);
        }
        if let Some(b) = url.u64_param("batch")? {
            if !(1..=1000).contains(&b) {
                return Err(Error::invalid("batch must be 1..=1000"));
            }
            c.batch = b as usize;
        }
        c.create = url.bool_param("create")?.unwrap_or(false);
        if let Some(p) = url.u64_param("partitions")? {
            c.partitions = i32::try_from(p.clamp(1, 10_000)).unwrap_or(1);
        }
        if let Some(r) = url.u64_param("replication")? {
            c.replication = i32::try_from(r.clamp(1, 100)).unwrap_or(1);
        }
        match (url.param("dlq"), url.u64_param("max_receives")?) {
            (Some(q), Some(n)) if n >= 1 && n <= u64::from(u32::MAX) => {
                let q = q.strip_prefix(&c.prefix).unwrap_or(q);
                let q = format!("{}{q}", c.prefix);
                check_topic(&q)?;
                c.dead_letter = Some(DeadLetter {
                    queue: q,
                    max_receive_count: n as u32,
                });
            }
            (None, None) => {}
            _ => {
                return Err(Error::invalid(
                    "dlq=TOPIC and max_receives=N (N >= 1) go together",
                ))
            }
        }
        if let Some(m) = url.u64_param("max_message_bytes")? {
            c.max_message_bytes = usize::try_from(m.clamp(1024, 100 * 1024 * 1024)).unwrap_or(1024);
        }
        for (k, v) in url.params() {
            if let Some(name) = k.strip_prefix("rdkafka.") {
                if name.starts_with("sasl.")
                    || name.starts_with("ssl.")
                    || name == "security.protocol"
                {
                    return Err(Error::invalid(format!(
                        "{k}: security settings come from the URL's tls/ca/sasl parameters or the preset"
                    )));
                }
                c.extra.insert(name.to_string(), v.clone());
            }
        }
        if let (Some(cert), Some(key)) = (&tls_files.client_cert, &tls_files.client_key) {
            // Mutual TLS: librdkafka reads the PEM files itself (OpenSSL).
            for p in [cert, key] {
                if !p.is_file() {
                    return Err(Error::invalid(format!(
                        "client_cert/client_key: {} is not a readable file",
                        p.display()
                    )));
                }
            }
            c.extra.insert(
                "ssl.certificate.location".into(),
                cert.display().to_string(),
            );
            c.extra
                .insert("ssl.key.location".into(), key.display().to_string());
        }
        Ok(c)
    }

    /// The same connection for another topic (prefix applied).
    pub(crate) fn for_topic(&self, name: &str) -> Result<Self> {
        let bare = name.strip_prefix(&self.prefix).unwrap_or(name);
        let topic = format!("{}{bare}", self.prefix);
        check_topic(&topic)?;
        let mut c = self.clone();
        c.group = format!("{}gureum.{bare}", self.prefix);
        c.topic = topic;
        c.create = false;
        c.dead_letter = None;
        Ok(c)
    }

    /// Settings shared by producer, consumer and admin client.
    ///
    /// ```
    /// let c = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap();
    /// let s = c.common_settings();
    /// assert_eq!(s["bootstrap.servers"], "127.0.0.1:9092");
    /// assert_eq!(s["security.protocol"], "plaintext");
    /// ```
    pub fn common_settings(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("bootstrap.servers".into(), self.bootstrap.clone());
        m.insert("client.id".into(), "gureum".into());
        // Looking a topic up must never create it.
        m.insert("allow.auto.create.topics".into(), "false".into());
        let ca = match &self.security {
            Security::Plaintext => {
                m.insert("security.protocol".into(), "plaintext".into());
                None
            }
            Security::Ssl { ca } => {
                m.insert("security.protocol".into(), "ssl".into());
                ca.clone()
            }
            Security::SaslSsl {
                ca,
                mechanism,
                username,
                password,
            } => {
                m.insert("security.protocol".into(), "sasl_ssl".into());
                m.insert("sasl.mechanisms".into(), mechanism.clone());
                m.insert("sasl.username".into(), username.clone());
                m.insert("sasl.password".into(), password.expose_secret().to_string());
                ca.clone()
            }
            Security::OAuthBearer { ca, .. } => {
                // The token comes from this crate's client-credentials callback (see
                // `oauth.rs`), so librdkafka needs no libcurl.
                m.insert("security.protocol".into(), "sasl_ssl".into());
                m.insert("sasl.mechanisms".into(), "OAUTHBEARER".into());
                ca.clone()
            }
        };
        if let Some(ca) = ca {
            m.insert("ssl.ca.location".into(), ca);
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m
    }

    /// Producer settings: every message acknowledged by all in-sync replicas, idempotent.
    ///
    /// ```
    /// let s = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap().producer_settings();
    /// assert_eq!((s["acks"].as_str(), s["enable.idempotence"].as_str()), ("all", "true"));
    /// ```
    pub fn producer_settings(&self) -> BTreeMap<String, String> {
        let mut m = self.common_settings();
        m.insert("acks".into(), "all".into());
        m.insert("enable.idempotence".into(), "true".into());
        m.insert("linger.ms".into(), "1".into());
        // A send fails after 30 s instead of librdkafka's 5 min default.
        m.insert("message.timeout.ms".into(), "30000".into());
        m.insert(
            "message.max.bytes".into(),
            (self.max_message_bytes + 64 * 1024).to_string(),
        );
        m
    }

    /// Consumer settings: a group, manual commits only, from the earliest uncommitted offset.
    ///
    /// ```
    /// let s = gureum_kafka::KafkaConfig::new("127.0.0.1:9092", "jobs").unwrap().consumer_settings();
    /// assert_eq!(s["enable.auto.commit"], "false"); // commits only after ack
    /// assert_eq!(s["group.id"], "gureum.jobs");
    /// ```
    pub fn consumer_settings(&self) -> BTreeMap<String, String> {
        let mut m = self.common_settings();
        m.insert("group.id".into(), self.group.clone());
        m.insert("enable.auto.commit".into(), "false".into());
        m.insert("enable.auto.offset.store".into(), "false".into());
        m.insert("auto.offset.reset".into(), "earliest".into());
        m.insert("enable.partition.eof".into(), "false".into());
        m.insert(
            "session.timeout.ms".into(),
            self.session_timeout.as_millis().to_string(),
        );
        m.insert(
            "heartbeat.interval.ms".into(),
            (self.session_timeout.as_millis() / 3).max(100).to_string(),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<KafkaConfig> {
        KafkaConfig::from_url(&ResourceUrl::parse(s)?)
    }

    #[test]
    fn plain_kafka() {
        let c = parse("kafka://127.0.0.1:9092/jobs?group=workers&session_timeout_ms=6000").unwrap();
        assert_eq!(c.topic, "jobs");
        // The registry's `zone=` is valid on every scheme.
        assert!(parse("kafka://127.0.0.1:9092/jobs?group=w&zone=on-prem").is_ok());
        assert_eq!(c.group, "workers");
        let p = c.producer_settings();
        assert_eq!(p["acks"], "all");
        assert_eq!(p["enable.idempotence"], "true");
        let s = c.consumer_settings();
        assert_eq!(s["session.timeout.ms"], "6000");
        assert_eq!(s["enable.auto.commit"], "false");
        assert_eq!(s["security.protocol"], "plaintext");
        let c = parse("kafka://b1:9093/t?brokers=b2:9093&tls=true&ca=/etc/ca.pem").unwrap();
        assert_eq!(c.bootstrap, "b1:9093,b2:9093");
        assert_eq!(c.common_settings()["ssl.ca.location"], "/etc/ca.pem");
        assert_eq!(parse("kafka://localhost:9092/t").unwrap().group, "gureum.t");
    }

    #[test]
    fn refusals() {
        for bad in [
            "kafka://10.0.0.5:9092/t",
            "kafka://127.0.0.1:9092/",
            "kafka://127.0.0.1:9092/a/b",
            "kafka://127.0.0.1:9092/t?bogus=1",
            "kafka://127.0.0.1:9092/bad%20name",
            "kafka://u:p@127.0.0.1:9092/t",
            "kafka://127.0.0.1:9092/t?rdkafka.sasl.password=x",
            "kafka://127.0.0.1:9092/t?dlq=x",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), gureum_core::ErrorKind::InvalidArgument, "{bad}");
        }
        assert!(parse("kafka://10.0.0.5:9092/t?allow_plaintext=true").is_ok());
        assert!(parse("kafka://10.0.0.5:9092/t?allow_http=true").is_ok());
        let c = parse("kafka://127.0.0.1:9092/t?ca_file=/etc/city-ca.pem").unwrap();
        assert_eq!(c.common_settings()["ssl.ca.location"], "/etc/city-ca.pem");
        assert_eq!(c.common_settings()["security.protocol"], "ssl");
        let e = parse("kafka://127.0.0.1:9092/t?client_cert=/nonexistent.pem").unwrap_err();
        assert_eq!(e.kind(), gureum_core::ErrorKind::InvalidArgument);
    }

    #[test]
    fn ncloud_cdss_preset() {
        let c = parse("ncloud-cdss://10.1.2.3:9093/events?group=g&tls=true").unwrap();
        assert_eq!(c.preset, Preset::NcloudCdss);
        assert_eq!(c.replication, 3);
        assert_eq!(c.common_settings()["security.protocol"], "ssl");
        assert!(parse("ncloud-cdss://10.1.2.3:9092/events").is_err());
        assert_eq!(
            parse("ncloud-cdss://10.1.2.3:9092/events?allow_plaintext=true")
                .unwrap()
                .common_settings()["security.protocol"],
            "plaintext"
        );
    }

    #[test]
    fn nhn_easyqueue_preset() {
        // Environment variables are process-wide: names unique to this test.
        std::env::set_var("GT_EQ_ID", "uak-id");
        std::env::set_var("GT_EQ_SECRET", "uak-secret");
        let c = parse(
            "nhn-easyqueue://kr1-c01/orders?group=billing&app_key=AbC123\
             &access_key_env=GT_EQ_ID&secret_key_env=GT_EQ_SECRET&dlq=orders-dlq&max_receives=5",
        )
        .unwrap();
        assert_eq!(
            c.bootstrap,
            "kr1-c01-bootstrap-easyqueue.nhncloudservice.com:30000"
        );
        assert_eq!(c.topic, "AbC123.orders");
        assert_eq!(c.group, "AbC123.billing");
        assert_eq!(c.dead_letter.as_ref().unwrap().queue, "AbC123.orders-dlq");
        let s = c.consumer_settings();
        assert_eq!(s["security.protocol"], "sasl_ssl");
        assert_eq!(s["sasl.mechanisms"], "OAUTHBEARER");
        assert_eq!(s["group.id"], "AbC123.billing");
        match &c.security {
            Security::OAuthBearer {
                scope,
                client_id,
                token_endpoint,
                ..
            } => {
                assert_eq!(scope, "appKey:AbC123");
                assert_eq!(client_id, "uak-id");
                assert_eq!(token_endpoint, NHN_TOKEN_ENDPOINT);
            }
            other => panic!("{other:?}"),
        }
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("uak-secret"), "{dbg}");
        // An already prefixed name is not prefixed twice; other topics get the prefix.
        let c2 = parse(
            "nhn-easyqueue://kr1-c01/AbC123.orders?app_key=AbC123&access_key_env=GT_EQ_ID&secret_key_env=GT_EQ_SECRET",
        )
        .unwrap();
        assert_eq!(c2.topic, "AbC123.orders");
        assert_eq!(c2.group, "AbC123.gureum.orders");
        assert_eq!(c2.for_topic("audit").unwrap().topic, "AbC123.audit");
        // Missing credentials are an InvalidArgument naming the variable, not a panic.
        let e =
            parse("nhn-easyqueue://kr1-c01/t?app_key=A1&access_key_env=GT_EQ_NOPE").unwrap_err();
        assert!(e.to_string().contains("GT_EQ_NOPE"), "{e}");
    }
}
