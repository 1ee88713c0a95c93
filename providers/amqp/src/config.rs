//! [`AmqpConfig`]: what an `amqp://` / `amqps://` URL says.

use gureum_core::secrecy::{ExposeSecret, SecretString};
use gureum_core::url::ResourceUrl;
use gureum_core::{DeadLetter, Error, Result};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default prefetch (= the largest receive batch).
///
/// ```
/// use gureum_amqp::{config::DEFAULT_PREFETCH, AmqpConfig};
/// assert_eq!(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr").unwrap().prefetch, DEFAULT_PREFETCH);
/// ```
pub const DEFAULT_PREFETCH: u16 = 10;
/// Default largest message body (the broker allows more; see the provider page).
///
/// ```
/// use gureum_amqp::{config::DEFAULT_MAX_MESSAGE_BYTES, AmqpConfig};
/// let c = AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr").unwrap();
/// assert_eq!(c.max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES);
/// ```
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Longest visibility timeout: below RabbitMQ's default `consumer_timeout` (30 min), after
/// which the broker closes a channel that holds an unacknowledged delivery.
///
/// ```
/// use gureum_amqp::config::DEFAULT_MAX_VISIBILITY;
/// assert_eq!(DEFAULT_MAX_VISIBILITY.as_secs(), 25 * 60); // below RabbitMQ's consumer_timeout
/// ```
pub const DEFAULT_MAX_VISIBILITY: Duration = Duration::from_secs(25 * 60);

/// Connection and queue settings of an AMQP 0-9-1 queue.
///
/// ```
/// use gureum_amqp::AmqpConfig;
/// use gureum_core::ResourceUrl;
/// // Parsing does not connect: the broker is contacted when the queue is opened.
/// let u = ResourceUrl::parse("amqps://civic:s3cret@mq.city.example:5671/prod?queue=ocr&prefetch=50&ca=/etc/city-ca.pem").unwrap();
/// let c = AmqpConfig::from_url(&u).unwrap();
/// assert_eq!((c.queue.as_str(), c.prefetch), ("ocr", 50));
/// assert!(!format!("{c:?}").contains("s3cret")); // the password never shows
/// ```
#[derive(Clone)]
pub struct AmqpConfig {
    /// `amqp://` or `amqps://` URI without our parameters (user, password, host, port, vhost
    /// and lapin's own parameters such as `heartbeat`). Holds the password, so it is a
    /// [`SecretString`] (redacted in `Debug`); only [`connect`](crate::queue) exposes it.
    pub(crate) uri: SecretString,
    /// Host, for messages.
    pub(crate) host: String,
    /// Queue name.
    pub queue: String,
    /// PEM file with the CA certificate(s) to trust for `amqps://` (a city CA).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (`amqps://`, with [`client_key`](Self::client_key)).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of [`client_cert`](Self::client_cert).
    pub client_key: Option<PathBuf>,
    /// Prefetch count = the largest receive batch; at most this many deliveries are held
    /// unacknowledged by one queue handle.
    pub prefetch: u16,
    /// Declare the queue (quorum, durable) on open when it does not exist.
    pub create: bool,
    /// Dead-letter settings used when this handle declares the queue.
    pub dead_letter: Option<DeadLetter>,
    /// Largest body accepted.
    pub max_message_bytes: usize,
    /// Longest visibility timeout accepted.
    pub max_visibility: Duration,
    /// How long an operation keeps reconnecting after the connection was lost.
    pub reconnect_deadline: Duration,
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("uri", &self.redacted_uri())
            .field("queue", &self.queue)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("prefetch", &self.prefetch)
            .field("create", &self.create)
            .field("dead_letter", &self.dead_letter)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_visibility", &self.max_visibility)
            .field("reconnect_deadline", &self.reconnect_deadline)
            .finish()
    }
}

/// The URI with its password replaced by `***`.
pub(crate) fn redact(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => gureum_core::url::redact_url(&u),
        Err(_) => "<unparseable AMQP URI>".into(),
    }
}

/// Our parameters (removed from the URI handed to lapin).
const OUR_PARAMS: &[&str] = &[
    "queue",
    "ca",
    "ca_file",
    "cacert",
    "client_cert",
    "client_key",
    "allow_http",
    "prefetch",
    "create",
    "dlq",
    "max_receives",
    "max_message_bytes",
    "password_env",
    "allow_plaintext",
    "reconnect_deadline",
];

/// lapin's own URI parameters, passed through.
const LAPIN_PARAMS: &[&str] = &[
    "heartbeat",
    "connection_timeout",
    "channel_max",
    "frame_max",
    "auth_mechanism",
];

impl AmqpConfig {
    /// The broker URI with its password replaced by `***` (for messages and `Debug`).
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// let c = AmqpConfig::new("amqp://civic:s3cret@127.0.0.1:5672/%2f", "jobs").unwrap();
    /// assert!(c.redacted_uri().contains("***") && !c.redacted_uri().contains("s3cret"));
    /// ```
    pub fn redacted_uri(&self) -> String {
        redact(self.uri.expose_secret())
    }

    /// A config for `uri` (`amqp://user:password@host:5672/vhost`) and `queue`.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// let c = AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "jobs").unwrap();
    /// assert_eq!(c.queue, "jobs");
    /// assert!(AmqpConfig::new("http://127.0.0.1", "jobs").is_err()); // not an AMQP URI
    /// ```
    pub fn new(uri: impl Into<String>, queue: impl Into<String>) -> Result<Self> {
        let uri = uri.into();
        let u = url::Url::parse(&uri)
            .map_err(|e| Error::invalid(format!("AMQP URI {} is malformed: {e}", redact(&uri))))?;
        if !matches!(u.scheme(), "amqp" | "amqps") {
            return Err(Error::invalid(format!(
                "AMQP URI scheme must be amqp or amqps, not {:?}",
                u.scheme()
            )));
        }
        let queue = queue.into();
        check_queue_name(&queue)?;
        Ok(AmqpConfig {
            host: u.host_str().unwrap_or("").to_string(),
            uri: SecretString::from(uri),
            queue,
            ca_file: None,
            client_cert: None,
            client_key: None,
            prefetch: DEFAULT_PREFETCH,
            create: false,
            dead_letter: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_visibility: DEFAULT_MAX_VISIBILITY,
            reconnect_deadline: Duration::from_secs(30),
        })
    }

    /// Parse `amqp[s]://user[:password]@host[:port]/vhost?queue=NAME&...`.
    ///
    /// Parameters: `queue` (required), `ca=/path/ca.pem` (amqps), `prefetch` (1–1000, default
    /// 10), `create=true`, `dlq=NAME&max_receives=N` (with `create`), `max_message_bytes`,
    /// `password_env=VAR` (password from the environment; default `AMQP_PASSWORD` when the
    /// URL has none), `allow_plaintext=true` (amqp:// to a non-loopback host),
    /// `reconnect_deadline=SECONDS`, and lapin's `heartbeat`, `connection_timeout`,
    /// `channel_max`, `frame_max`, `auth_mechanism`.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// use gureum_core::ResourceUrl;
    /// let u = ResourceUrl::parse("amqp://guest:guest@127.0.0.1:5672/%2f?queue=ocr&create=true&dlq=ocr-dead&max_receives=5").unwrap();
    /// let c = AmqpConfig::from_url(&u).unwrap();
    /// assert!(c.create);
    /// assert_eq!(c.dead_letter.unwrap().max_receive_count, 5);
    /// // Plain amqp:// to another host needs allow_plaintext=true.
    /// assert!(AmqpConfig::from_url(&ResourceUrl::parse("amqp://u:p@mq.city.example/%2f?queue=q").unwrap()).is_err());
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let mut u = url.url().clone();
        let host = u.host_str().unwrap_or("").to_string();
        if host.is_empty() {
            return Err(Error::invalid(format!("{url}: missing broker host")));
        }
        let plaintext = u.scheme() == "amqp";
        if plaintext
            && !gureum_core::transport::is_loopback_host(&host)
            && !gureum_core::transport::allow_plaintext(url)?
        {
            return Err(Error::new(
                gureum_core::ErrorKind::PolicyViolation,
                format!(
                    "{url}: amqp:// sends the password in clear text to a non-loopback host; use \
                     amqps:// (with ca_file=/path/ca.pem for a private CA) or allow_http=true \
                     (alias allow_plaintext) only for a network you trust"
                ),
            ));
        }
        if u.password().is_none() && !u.username().is_empty() {
            let var = url.param("password_env").unwrap_or("AMQP_PASSWORD");
            if let Ok(p) = std::env::var(var) {
                u.set_password(Some(&p))
                    .map_err(|_| Error::invalid("cannot set the AMQP password"))?;
            } else if url.param("password_env").is_some() {
                return Err(Error::invalid(format!(
                    "{url}: password_env names {var}, which is not set"
                )));
            }
        }
        // Keep lapin's own parameters; refuse anything nobody knows.
        let mut keep = Vec::new();
        for (k, v) in url.url().query_pairs() {
            if LAPIN_PARAMS.contains(&k.as_ref()) {
                keep.push((k.to_string(), v.to_string()));
            } else if !OUR_PARAMS.contains(&k.as_ref()) && !is_layer_param(&k) {
                let mut valid: Vec<&str> = OUR_PARAMS.to_vec();
                valid.extend(LAPIN_PARAMS);
                return Err(Error::invalid(format!(
                    "{url}: unknown parameter {k:?}; valid: {}",
                    valid.join(", ")
                )));
            }
        }
        u.set_query(None);
        if !keep.is_empty() {
            u.query_pairs_mut().extend_pairs(keep);
        }
        let queue = url.require("queue")?.to_string();
        let mut c = AmqpConfig::new(u.to_string(), queue)?;
        let tls = gureum_core::tls::TlsConfig::from_params(url.params())?;
        if tls.is_custom() && plaintext {
            return Err(Error::invalid(format!(
                "{url}: ca_file= / client_cert= need amqps:// (TLS)"
            )));
        }
        c.ca_file = tls.ca_file;
        c.client_cert = tls.client_cert;
        c.client_key = tls.client_key;
        if let Some(p) = url.u64_param("prefetch")? {
            if !(1..=1000).contains(&p) {
                return Err(Error::invalid(format!(
                    "prefetch={p} is out of range 1..=1000"
                )));
            }
            c.prefetch = p as u16;
        }
        c.create = url.bool_param("create")?.unwrap_or(false);
        match (url.param("dlq"), url.u64_param("max_receives")?) {
            (Some(q), Some(n)) if n >= 1 && n <= u32::MAX as u64 => {
                check_queue_name(q)?;
                c.dead_letter = Some(DeadLetter {
                    queue: q.to_string(),
                    max_receive_count: n as u32,
                });
            }
            (None, None) => {}
            _ => {
                return Err(Error::invalid(
                    "dlq=NAME and max_receives=N (N >= 1) go together",
                ))
            }
        }
        if let Some(m) = url.u64_param("max_message_bytes")? {
            if m < 1024 {
                return Err(Error::invalid("max_message_bytes must be at least 1024"));
            }
            c.max_message_bytes = m as usize;
        }
        if let Some(s) = url.u64_param("reconnect_deadline")? {
            c.reconnect_deadline = Duration::from_secs(s);
        }
        Ok(c)
    }

    /// Set the CA file for `amqps://`.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// let c = AmqpConfig::new("amqps://u:p@mq.city.example:5671/%2f", "q").unwrap().ca_file("/etc/city-ca.pem");
    /// assert_eq!(c.ca_file.unwrap(), std::path::Path::new("/etc/city-ca.pem"));
    /// ```
    pub fn ca_file(mut self, p: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(p.into());
        self
    }
    /// Set the client certificate and key for mutual TLS (`amqps://`).
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// let c = AmqpConfig::new("amqps://mq.city.example:5671/%2f", "q").unwrap().client_identity("/etc/app.crt", "/etc/app.key");
    /// assert!(c.client_cert.is_some() && c.client_key.is_some());
    /// ```
    pub fn client_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some(cert.into());
        self.client_key = Some(key.into());
        self
    }
    /// Set the prefetch (= largest receive batch).
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// let c = AmqpConfig::new("amqp://127.0.0.1/%2f", "q").unwrap();
    /// assert_eq!(c.clone().prefetch(100).prefetch, 100);
    /// assert_eq!(c.prefetch(0).prefetch, 1); // at least one
    /// ```
    pub fn prefetch(mut self, n: u16) -> Self {
        self.prefetch = n.max(1);
        self
    }
    /// Declare the queue on open.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// assert!(AmqpConfig::new("amqp://127.0.0.1/%2f", "q").unwrap().create(true).create);
    /// ```
    pub fn create(mut self, v: bool) -> Self {
        self.create = v;
        self
    }
    /// Dead-letter settings for a queue this handle declares.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// use gureum_core::DeadLetter;
    /// let c = AmqpConfig::new("amqp://127.0.0.1/%2f", "ocr").unwrap()
    ///     .create(true)
    ///     .dead_letter(DeadLetter { queue: "ocr-dead".into(), max_receive_count: 3 });
    /// assert_eq!(c.dead_letter.unwrap().queue, "ocr-dead");
    /// ```
    pub fn dead_letter(mut self, d: DeadLetter) -> Self {
        self.dead_letter = Some(d);
        self
    }
    /// How long operations keep reconnecting.
    ///
    /// ```
    /// use gureum_amqp::AmqpConfig;
    /// use std::time::Duration;
    /// let c = AmqpConfig::new("amqp://127.0.0.1/%2f", "q").unwrap().reconnect_deadline(Duration::from_secs(10));
    /// assert_eq!(c.reconnect_deadline, Duration::from_secs(10));
    /// ```
    pub fn reconnect_deadline(mut self, d: Duration) -> Self {
        self.reconnect_deadline = d;
        self
    }
    /// The same connection settings for another queue.
    pub(crate) fn for_queue(&self, name: &str) -> Self {
        let mut c = self.clone();
        c.queue = name.to_string();
        c.dead_letter = None;
        c.create = false;
        c
    }
}

/// Layer parameters (policy, audit, encryption) belong to the layers, not to us.
/// Parameters of the layers and of the registry (`zone=`, valid on every scheme).
fn is_layer_param(k: &str) -> bool {
    matches!(k, "class" | "audit" | "encrypt") || k == gureum_core::layering::PARAM_ZONE
}

/// AMQP queue names are short strings (≤ 255 bytes); `amq.` is reserved by the broker, and
/// our wait queues use the `.gureum-wait.` infix.
pub(crate) fn check_queue_name(q: &str) -> Result<()> {
    if q.is_empty() || q.len() > 200 {
        return Err(Error::invalid(format!(
            "AMQP queue name must be 1-200 bytes, got {}",
            q.len()
        )));
    }
    if q.starts_with("amq.") {
        return Err(Error::invalid(format!(
            "AMQP queue name {q:?}: the amq. prefix is reserved by the broker"
        )));
    }
    if q.contains(".gureum-wait.") || q.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "AMQP queue name {q:?} contains a reserved part or a control character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AmqpConfig> {
        AmqpConfig::from_url(&ResourceUrl::parse(s)?)
    }

    #[test]
    fn url_forms() {
        let c = parse("amqp://guest:guest@127.0.0.1:5672/%2f?queue=jobs&prefetch=20&heartbeat=5")
            .unwrap();
        assert_eq!(c.queue, "jobs");
        assert_eq!(c.prefetch, 20);
        let uri = c.uri.expose_secret();
        assert!(uri.contains("heartbeat=5"));
        // The registry's `zone=` is valid on every scheme (not passed to lapin).
        let c =
            parse("amqp://guest:guest@127.0.0.1:5672/%2f?queue=jobs&zone=domestic-csap").unwrap();
        assert!(!uri.contains("zone"), "{uri}");
        assert!(!uri.contains("prefetch"));
        assert!(!format!("{c:?}").contains("guest@"), "{c:?}");
        let c = parse("amqps://app@mq.city.example:5671/prod?queue=q&ca=/etc/ca.pem").unwrap();
        assert_eq!(
            c.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        let c =
            parse("amqp://u:p@localhost/v?queue=q&create=true&dlq=q-dlq&max_receives=3").unwrap();
        assert_eq!(c.dead_letter.unwrap().max_receive_count, 3);
    }

    #[test]
    fn refusals() {
        use gureum_core::ErrorKind::InvalidArgument;
        for bad in [
            "amqp://u:p@localhost/v",
            "amqp://u:p@localhost/v?queue=q&ca=/x.pem",
            "amqp://u:p@localhost/v?queue=q&prefetch=0",
            "amqp://u:p@localhost/v?queue=q&dlq=x",
            "amqp://u:p@localhost/v?queue=q&bogus=1",
            "amqp://u:p@localhost/v?queue=amq.x",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), InvalidArgument, "{bad}: {e}");
            assert!(!e.to_string().contains(":p@"), "password in {e}");
        }
        // Plaintext off loopback: the transport rule, as for http:// (PolicyViolation).
        let e = parse("amqp://u:p@mq.example/v?queue=q").unwrap_err();
        assert_eq!(e.kind(), gureum_core::ErrorKind::PolicyViolation, "{e}");
        assert!(!e.to_string().contains(":p@"), "password in {e}");
        assert!(parse("amqp://u:p@mq.example/v?queue=q&allow_plaintext=true").is_ok());
        assert!(parse("amqp://u:p@mq.example/v?queue=q&allow_http=true").is_ok());
    }
}
