//! [`HttpConfig`]: timeouts, deadline, retry policy and body bound, from code or from URL /
//! profile parameters.

use crate::error::{Error, Result};
use crate::tls::TlsConfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// URL / profile parameter: retries after the first attempt (`0` disables retrying).
///
/// ```
/// use gureum_core::http::{HttpConfig, PARAM_RETRIES};
/// let c = HttpConfig::from_params(&[(PARAM_RETRIES.to_string(), "0".to_string())].into()).unwrap();
/// assert_eq!(c.retry.max_retries, 0); // retrying off
/// ```
pub const PARAM_RETRIES: &str = "retries";
/// URL / profile parameter: timeout of one attempt, connect to last body byte.
///
/// ```
/// use gureum_core::http::{HttpConfig, PARAM_TIMEOUT};
/// let c = HttpConfig::from_params(&[(PARAM_TIMEOUT.to_string(), "2m".to_string())].into()).unwrap();
/// assert_eq!(c.request_timeout.as_secs(), 120);
/// ```
pub const PARAM_TIMEOUT: &str = "timeout";
/// URL / profile parameter: TCP + TLS connect timeout.
///
/// ```
/// use gureum_core::http::{HttpConfig, PARAM_CONNECT_TIMEOUT};
/// let c = HttpConfig::from_params(&[(PARAM_CONNECT_TIMEOUT.to_string(), "250ms".to_string())].into()).unwrap();
/// assert_eq!(c.connect_timeout.as_millis(), 250);
/// ```
pub const PARAM_CONNECT_TIMEOUT: &str = "connect_timeout";
/// URL / profile parameter: total deadline of one call, all attempts and back-off included.
///
/// ```
/// use gureum_core::http::{HttpConfig, PARAM_DEADLINE};
/// let c = HttpConfig::from_params(&[(PARAM_DEADLINE.to_string(), "1h".to_string())].into()).unwrap();
/// assert_eq!(c.deadline.as_secs(), 3600);
/// ```
pub const PARAM_DEADLINE: &str = "deadline";
/// URL / profile parameter: largest buffered response body in bytes.
///
/// ```
/// use gureum_core::http::{HttpConfig, PARAM_MAX_RESPONSE_BYTES};
/// let c = HttpConfig::from_params(&[(PARAM_MAX_RESPONSE_BYTES.to_string(), "1048576".to_string())].into()).unwrap();
/// assert_eq!(c.max_response_bytes, 1 << 20);
/// ```
pub const PARAM_MAX_RESPONSE_BYTES: &str = "max_response_bytes";

/// Every parameter [`HttpConfig::from_params`] reads (the TLS ones of
/// [`tls::PARAMS`](crate::tls::PARAMS) included).
///
/// ```
/// use gureum_core::http::PARAMS;
/// assert!(PARAMS.contains(&"deadline") && PARAMS.contains(&"ca_file"));
/// ```
pub const PARAMS: &[&str] = &[
    PARAM_RETRIES,
    PARAM_TIMEOUT,
    PARAM_CONNECT_TIMEOUT,
    PARAM_DEADLINE,
    PARAM_MAX_RESPONSE_BYTES,
    crate::tls::PARAM_CA_FILE,
    "cacert",
    "ca",
    crate::tls::PARAM_CLIENT_CERT,
    crate::tls::PARAM_CLIENT_KEY,
];

/// Exponential back-off with full jitter: before retry `n` (1-based) the client sleeps a
/// uniformly random time in `[0, min(max_backoff, initial_backoff * 2^(n-1))]`, or what the
/// server asked for in `Retry-After` when that is longer.
///
/// ```
/// use gureum_core::http::{backoff_cap, RetryConfig};
/// use std::time::Duration;
/// let r = RetryConfig::default();
/// assert_eq!((r.max_retries, r.initial_backoff), (3, Duration::from_millis(100)));
/// assert_eq!(backoff_cap(&r, 3), Duration::from_millis(400)); // 100 ms * 2^2
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Upper bound of the first back-off.
    pub initial_backoff: Duration,
    /// Upper bound of any computed back-off (a server's `Retry-After` may ask for more, up
    /// to the deadline).
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
        }
    }
}

/// Configuration of an [`HttpClient`](super::HttpClient).
///
/// Defaults: 3 retries, 60 s per attempt, 10 s to connect, 180 s deadline per call, 64 MiB
/// buffered bodies. Every field can be set per URL or profile with the parameters in
/// [`PARAMS`]:
///
/// | parameter | meaning | example |
/// |---|---|---|
/// | `retries` | retries after the first attempt (`0` = none) | `retries=5` |
/// | `timeout` | one attempt, connect to last byte | `timeout=30s` |
/// | `connect_timeout` | TCP + TLS connect | `connect_timeout=2s` |
/// | `deadline` | one call, all attempts and back-off | `deadline=2m` |
/// | `max_response_bytes` | largest buffered response body | `max_response_bytes=1048576` |
/// | `ca_file` (`cacert`) | extra trusted CA bundle (PEM), e.g. the city CA | `ca_file=/etc/city/ca.pem` |
/// | `client_cert`, `client_key` | client certificate + key for mutual TLS (PEM) | `client_cert=/etc/app.crt&client_key=/etc/app.key` |
///
/// Durations are a number with an optional unit `ms`, `s` (default), `m` or `h`.
///
/// ```
/// use gureum_core::http::HttpConfig;
/// use std::time::Duration;
/// let url = gureum_core::ResourceUrl::parse("s3://b?retries=5&timeout=30s&connect_timeout=500ms").unwrap();
/// let c = HttpConfig::from_params(url.params()).unwrap();
/// assert_eq!(c.retry.max_retries, 5);
/// assert_eq!(c.request_timeout, Duration::from_secs(30));
/// assert_eq!(c.connect_timeout, Duration::from_millis(500));
/// assert!(HttpConfig::from_params(&[("retries".to_string(), "many".to_string())].into()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Retry policy.
    pub retry: RetryConfig,
    /// Timeout of one attempt (connect, send, headers and a buffered body).
    pub request_timeout: Duration,
    /// Connect timeout (TCP + TLS).
    pub connect_timeout: Duration,
    /// Total deadline of one call: every attempt and every back-off sleep.
    pub deadline: Duration,
    /// Largest response body [`HttpClient::bytes`](super::HttpClient::bytes) buffers.
    pub max_response_bytes: u64,
    /// Idle pooled connections are closed after this long (keep it below the server's
    /// keep-alive timeout, e.g. 5 s for Node servers such as Azurite).
    pub pool_idle_timeout: Option<Duration>,
    /// Custom CA bundle and client certificate ([`TlsConfig`]).
    pub tls: TlsConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            retry: RetryConfig::default(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(180),
            max_response_bytes: 64 * 1024 * 1024,
            pool_idle_timeout: Some(Duration::from_secs(4)),
            tls: TlsConfig::default(),
        }
    }
}

impl HttpConfig {
    /// The defaults overridden by the [`PARAMS`] present in `params` (a URL's query layered
    /// over its profile, see [`ResourceUrl::params`](crate::ResourceUrl::params)).
    /// Malformed values give `InvalidArgument` naming the parameter.
    ///
    /// ```
    /// use gureum_core::{http::HttpConfig, ErrorKind};
    /// let url = gureum_core::ResourceUrl::parse("swift://c?deadline=2m&retries=1").unwrap();
    /// let c = HttpConfig::from_params(url.params()).unwrap();
    /// assert_eq!((c.deadline.as_secs(), c.retry.max_retries), (120, 1));
    /// let bad = [("timeout".to_string(), "soon".to_string())].into();
    /// assert_eq!(HttpConfig::from_params(&bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self> {
        Self::default().with_params(params)
    }

    /// `self` overridden by the [`PARAMS`] present in `params`.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// let base = HttpConfig::default().retries(7);
    /// let c = base.with_params(&[("timeout".to_string(), "5s".to_string())].into()).unwrap();
    /// assert_eq!((c.retry.max_retries, c.request_timeout.as_secs()), (7, 5)); // unset ones keep their value
    /// ```
    pub fn with_params(mut self, params: &BTreeMap<String, String>) -> Result<Self> {
        if let Some(v) = params.get(PARAM_RETRIES) {
            self.retry.max_retries = v.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "parameter {PARAM_RETRIES}={v:?} is not a whole number"
                ))
            })?;
        }
        if let Some(v) = params.get(PARAM_TIMEOUT) {
            self.request_timeout = parse_duration(PARAM_TIMEOUT, v)?;
        }
        if let Some(v) = params.get(PARAM_CONNECT_TIMEOUT) {
            self.connect_timeout = parse_duration(PARAM_CONNECT_TIMEOUT, v)?;
        }
        if let Some(v) = params.get(PARAM_DEADLINE) {
            self.deadline = parse_duration(PARAM_DEADLINE, v)?;
        }
        if let Some(v) = params.get(PARAM_MAX_RESPONSE_BYTES) {
            self.max_response_bytes = v.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "parameter {PARAM_MAX_RESPONSE_BYTES}={v:?} is not a byte count"
                ))
            })?;
        }
        let tls = TlsConfig::from_params(params)?;
        if tls.ca_file.is_some() {
            self.tls.ca_file = tls.ca_file;
        }
        if tls.client_cert.is_some() {
            self.tls.client_cert = tls.client_cert;
            self.tls.client_key = tls.client_key;
        }
        Ok(self)
    }

    /// Set the TLS settings (CA bundle, client certificate).
    ///
    /// ```
    /// use gureum_core::{http::HttpConfig, tls::TlsConfig};
    /// let c = HttpConfig::default().tls(TlsConfig::default().with_ca_file("/etc/city-ca.pem"));
    /// assert!(c.tls.is_custom());
    /// ```
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Set the retries after the first attempt.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// assert_eq!(HttpConfig::default().retries(0).retry.max_retries, 0);
    /// ```
    pub fn retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }
    /// Set the per-attempt timeout.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// use std::time::Duration;
    /// assert_eq!(HttpConfig::default().request_timeout(Duration::from_secs(5)).request_timeout, Duration::from_secs(5));
    /// ```
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    /// Set the connect timeout.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// use std::time::Duration;
    /// assert_eq!(HttpConfig::default().connect_timeout(Duration::from_secs(1)).connect_timeout, Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Set the total deadline of one call.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// use std::time::Duration;
    /// assert_eq!(HttpConfig::default().deadline(Duration::from_secs(20)).deadline, Duration::from_secs(20));
    /// ```
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
    /// Set the largest buffered response body.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// assert_eq!(HttpConfig::default().max_response_bytes(4096).max_response_bytes, 4096);
    /// ```
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = n;
        self
    }
    /// Set the back-off bounds.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// use std::time::Duration;
    /// let c = HttpConfig::default().backoff(Duration::from_millis(50), Duration::from_secs(2));
    /// assert_eq!((c.retry.initial_backoff.as_millis(), c.retry.max_backoff.as_secs()), (50, 2));
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry.initial_backoff = initial;
        self.retry.max_backoff = max;
        self
    }

    /// A `reqwest` client builder with these timeouts and the [`TlsConfig`] (CA bundle,
    /// client identity; rustls) applied, for providers that set more options before
    /// [`HttpClientBuilder::client`](super::HttpClientBuilder::client). Unreadable or
    /// malformed TLS files are `InvalidArgument`.
    ///
    /// ```
    /// use gureum_core::http::HttpConfig;
    /// let client = HttpConfig::default().client_builder().unwrap().build();
    /// assert!(client.is_ok());
    /// ```
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder> {
        // Idle bound on every read: a streamed body (an object download) that stalls for a
        // whole attempt timeout fails; one that keeps moving is never cut off.
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.request_timeout)
            .tls_backend_rustls();
        if let Some(d) = self.pool_idle_timeout {
            b = b.pool_idle_timeout(d);
        }
        self.tls.apply(b)
    }
}

/// Parse `30`, `30s`, `500ms`, `2m`, `1h` (whitespace allowed before the unit).
///
/// ```
/// use gureum_core::http::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("timeout", "30").unwrap(), Duration::from_secs(30));
/// assert_eq!(parse_duration("timeout", "500ms").unwrap(), Duration::from_millis(500));
/// assert_eq!(parse_duration("timeout", "1.5 m").unwrap(), Duration::from_secs(90));
/// assert!(parse_duration("timeout", "-1s").is_err());
/// ```
pub fn parse_duration(name: &str, v: &str) -> Result<Duration> {
    let t = v.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::invalid(format!(
            "parameter {name}={v:?} is not a duration (e.g. 30s, 500ms, 2m)"
        ))
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("t", "30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("t", "30s").unwrap(), Duration::from_secs(30));
        assert_eq!(
            parse_duration("t", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_duration("t", "2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("t", "1 h").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            parse_duration("t", "1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in ["", "s", "-1s", "10 parsecs", "1e400"] {
            let e = parse_duration("timeout", bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().contains("timeout"));
        }
    }

    #[test]
    fn params_override_defaults() {
        let p: BTreeMap<String, String> = [
            ("retries", "0"),
            ("deadline", "5s"),
            ("max_response_bytes", "1024"),
            ("unrelated", "x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = HttpConfig::from_params(&p).unwrap();
        assert_eq!(c.retry.max_retries, 0);
        assert_eq!(c.deadline, Duration::from_secs(5));
        assert_eq!(c.max_response_bytes, 1024);
        assert_eq!(c.request_timeout, HttpConfig::default().request_timeout);
    }
}
