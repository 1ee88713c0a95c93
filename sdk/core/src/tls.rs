//! TLS settings shared by every provider family: a custom CA bundle (the city's own CA) and
//! an optional client certificate + key (mutual TLS), and the one classifier that turns a
//! certificate failure into [`ErrorKind::Tls`].
//!
//! The same three parameters work in every URL and profile:
//!
//! | parameter | meaning | aliases |
//! |---|---|---|
//! | `ca_file` | PEM bundle of CA certificates trusted *in addition to* the system roots | `cacert` (OpenStack `clouds.yaml`), `ca` (AMQP, Kafka) |
//! | `client_cert` | PEM client certificate chain presented for mutual TLS | — |
//! | `client_key` | PEM private key of `client_cert` (PKCS#8, PKCS#1 or SEC1) | — |
//!
//! `client_cert` and `client_key` go together. The files are read when a client is built
//! (open time), so a missing or malformed file is an `InvalidArgument` before any traffic.
//! The key's bytes are held in a [`SecretBox`] and never appear in `Debug` or errors.
//!
//! ```
//! use gureum_core::tls::TlsConfig;
//! let url = gureum_core::ResourceUrl::parse("s3://b?ca_file=/etc/city-ca.pem").unwrap();
//! let t = TlsConfig::from_params(url.params()).unwrap();
//! assert_eq!(t.ca_file.as_deref(), Some(std::path::Path::new("/etc/city-ca.pem")));
//! let bad = gureum_core::ResourceUrl::parse("s3://b?client_cert=/c.pem").unwrap();
//! assert!(TlsConfig::from_params(bad.params()).is_err()); // client_key missing
//! ```

use crate::error::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretBox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// URL / profile parameter: PEM bundle of extra trusted CA certificates.
///
/// ```
/// use gureum_core::tls::{TlsConfig, PARAM_CA_FILE};
/// let params = [(PARAM_CA_FILE.to_string(), "/etc/city-ca.pem".to_string())].into();
/// assert!(TlsConfig::from_params(&params).unwrap().ca_file.is_some());
/// ```
pub const PARAM_CA_FILE: &str = "ca_file";
/// URL / profile parameter: PEM client certificate (chain) for mutual TLS.
///
/// ```
/// use gureum_core::tls::{TlsConfig, PARAM_CLIENT_CERT, PARAM_CLIENT_KEY};
/// let params = [
///     (PARAM_CLIENT_CERT.to_string(), "/etc/gureum/client.pem".to_string()),
///     (PARAM_CLIENT_KEY.to_string(), "/etc/gureum/client.key".to_string()),
/// ].into();
/// assert!(TlsConfig::from_params(&params).unwrap().is_custom());
/// ```
pub const PARAM_CLIENT_CERT: &str = "client_cert";
/// URL / profile parameter: PEM private key of [`PARAM_CLIENT_CERT`].
///
/// ```
/// use gureum_core::tls::{TlsConfig, PARAM_CLIENT_KEY};
/// let only_key = [(PARAM_CLIENT_KEY.to_string(), "/k.pem".to_string())].into();
/// assert!(TlsConfig::from_params(&only_key).is_err()); // needs client_cert too
/// ```
pub const PARAM_CLIENT_KEY: &str = "client_key";
/// Accepted spellings of [`PARAM_CA_FILE`] (kept for OpenStack's `cacert` and the queue
/// providers' earlier `ca`).
///
/// ```
/// use gureum_core::tls::{TlsConfig, CA_FILE_ALIASES};
/// assert_eq!(CA_FILE_ALIASES, ["cacert", "ca"]);
/// let params = [("cacert".to_string(), "/etc/ca.pem".to_string())].into();
/// assert_eq!(TlsConfig::from_params(&params).unwrap().ca_file.unwrap().to_str(), Some("/etc/ca.pem"));
/// ```
pub const CA_FILE_ALIASES: &[&str] = &["cacert", "ca"];

/// Every parameter [`TlsConfig::from_params`] reads.
///
/// ```
/// use gureum_core::tls::PARAMS;
/// assert!(PARAMS.contains(&"ca_file") && PARAMS.contains(&"client_key"));
/// ```
pub const PARAMS: &[&str] = &[
    PARAM_CA_FILE,
    "cacert",
    "ca",
    PARAM_CLIENT_CERT,
    PARAM_CLIENT_KEY,
];

/// A custom CA bundle and an optional client identity, by file path.
///
/// The default (all `None`) trusts the system / Mozilla roots only and presents no client
/// certificate: TLS is still on for every `https://`, `amqps://` and `ssl` Kafka endpoint.
///
/// ```
/// use gureum_core::tls::TlsConfig;
/// let t = TlsConfig::default().with_ca_file("/etc/city-ca.pem");
/// assert!(t.is_custom());
/// assert!(!TlsConfig::default().is_custom()); // system roots only
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file of CA certificates trusted in addition to the default roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate chain (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    pub client_key: Option<PathBuf>,
}

/// A client identity read from disk: the certificate chain and the private key, both PEM.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_core::tls::TlsConfig;
/// let tmp = tempfile::tempdir()?;
/// let (cert, key) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
/// std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")?;
/// std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")?;
/// let id = TlsConfig::default().with_client_identity(&cert, &key).identity()?.unwrap();
/// assert!(id.cert_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
/// assert!(!format!("{id:?}").contains("MIIE")); // the key never shows in Debug
/// # Ok(()) }
/// ```
pub struct ClientIdentity {
    /// PEM certificate chain.
    pub cert_pem: Vec<u8>,
    /// PEM private key (secret: never printed).
    pub key_pem: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem_bytes", &self.cert_pem.len())
            .field("key_pem", &"[REDACTED]")
            .finish()
    }
}

impl ClientIdentity {
    /// Certificate chain followed by the key, one PEM document (what `reqwest::Identity::from_pem`
    /// and similar loaders take). Secret: keep it out of logs.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{secrecy::ExposeSecret, tls::TlsConfig};
    /// let tmp = tempfile::tempdir()?;
    /// let (cert, key) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
    /// std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")?;
    /// std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")?;
    /// let id = TlsConfig::default().with_client_identity(&cert, &key).identity()?.unwrap();
    /// let pem = id.combined_pem();
    /// let text = String::from_utf8_lossy(pem.expose_secret());
    /// assert!(text.contains("END CERTIFICATE-----\n-----BEGIN PRIVATE KEY")); // a newline in between
    /// # Ok(()) }
    /// ```
    pub fn combined_pem(&self) -> SecretBox<Vec<u8>> {
        let mut v = self.cert_pem.clone();
        if !v.ends_with(b"\n") {
            v.push(b'\n');
        }
        v.extend_from_slice(self.key_pem.expose_secret());
        SecretBox::new(Box::new(v))
    }
}

impl TlsConfig {
    /// Read `ca_file` (or an alias), `client_cert` and `client_key` from `params` (a URL's
    /// query layered over its profile). Empty values count as absent.
    ///
    /// ```
    /// use gureum_core::tls::TlsConfig;
    /// let params = [("ca".to_string(), "  ".to_string())].into();
    /// assert_eq!(TlsConfig::from_params(&params).unwrap(), TlsConfig::default()); // empty = absent
    /// ```
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self> {
        let get = |k: &str| params.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
        let ca = get(PARAM_CA_FILE).or_else(|| CA_FILE_ALIASES.iter().find_map(|k| get(k)));
        let t = TlsConfig {
            ca_file: ca.map(PathBuf::from),
            client_cert: get(PARAM_CLIENT_CERT).map(PathBuf::from),
            client_key: get(PARAM_CLIENT_KEY).map(PathBuf::from),
        };
        t.validate()?;
        Ok(t)
    }

    /// `client_cert` and `client_key` go together.
    ///
    /// ```
    /// use gureum_core::tls::TlsConfig;
    /// let half = TlsConfig { client_cert: Some("/c.pem".into()), ..TlsConfig::default() };
    /// assert!(half.validate().is_err());
    /// assert!(TlsConfig::default().with_client_identity("/c.pem", "/k.pem").validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<()> {
        match (&self.client_cert, &self.client_key) {
            (Some(_), None) => Err(Error::invalid(format!(
                "{PARAM_CLIENT_CERT}= needs {PARAM_CLIENT_KEY}= (the certificate's private key)"
            ))),
            (None, Some(_)) => Err(Error::invalid(format!(
                "{PARAM_CLIENT_KEY}= needs {PARAM_CLIENT_CERT}= (the client certificate)"
            ))),
            _ => Ok(()),
        }
    }

    /// Set the CA bundle.
    ///
    /// ```
    /// use gureum_core::tls::TlsConfig;
    /// let t = TlsConfig::default().with_ca_file("/etc/city-ca.pem");
    /// assert_eq!(t.ca_file.unwrap(), std::path::Path::new("/etc/city-ca.pem"));
    /// ```
    pub fn with_ca_file(mut self, p: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(p.into());
        self
    }

    /// Set the client certificate and key (mutual TLS).
    ///
    /// ```
    /// use gureum_core::tls::TlsConfig;
    /// let t = TlsConfig::default().with_client_identity("/etc/c.pem", "/etc/k.pem");
    /// assert!(t.client_cert.is_some() && t.client_key.is_some());
    /// ```
    pub fn with_client_identity(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert = Some(cert.into());
        self.client_key = Some(key.into());
        self
    }

    /// Whether anything differs from the defaults.
    ///
    /// ```
    /// use gureum_core::tls::TlsConfig;
    /// assert!(!TlsConfig::default().is_custom());
    /// assert!(TlsConfig::default().with_ca_file("/ca.pem").is_custom());
    /// ```
    pub fn is_custom(&self) -> bool {
        self.ca_file.is_some() || self.client_cert.is_some()
    }

    /// The CA bundle's bytes, if one is configured. A missing or certificate-less file is
    /// `InvalidArgument`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{tls::TlsConfig, ErrorKind};
    /// let tmp = tempfile::tempdir()?;
    /// let ca = tmp.path().join("ca.pem");
    /// std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")?;
    /// assert!(TlsConfig::default().with_ca_file(&ca).ca_pem()?.is_some());
    /// assert_eq!(TlsConfig::default().ca_pem()?, None);
    /// let missing = TlsConfig::default().with_ca_file(tmp.path().join("none.pem"));
    /// assert_eq!(missing.ca_pem().unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>> {
        let Some(p) = &self.ca_file else {
            return Ok(None);
        };
        let pem = read(PARAM_CA_FILE, p)?;
        if !contains_pem(&pem, "CERTIFICATE") {
            return Err(Error::invalid(format!(
                "{PARAM_CA_FILE} {}: no PEM certificate in the file",
                p.display()
            )));
        }
        Ok(Some(pem))
    }

    /// The client identity, if one is configured.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{tls::TlsConfig, ErrorKind};
    /// let tmp = tempfile::tempdir()?;
    /// let (cert, key) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
    /// std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")?;
    /// std::fs::write(&key, "not a key")?;
    /// assert!(TlsConfig::default().identity()?.is_none());
    /// let e = TlsConfig::default().with_client_identity(&cert, &key).identity().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // no PEM private key in the file
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> Result<Option<ClientIdentity>> {
        self.validate()?;
        let (Some(c), Some(k)) = (&self.client_cert, &self.client_key) else {
            return Ok(None);
        };
        let cert_pem = read(PARAM_CLIENT_CERT, c)?;
        if !contains_pem(&cert_pem, "CERTIFICATE") {
            return Err(Error::invalid(format!(
                "{PARAM_CLIENT_CERT} {}: no PEM certificate in the file",
                c.display()
            )));
        }
        let key_pem = SecretBox::new(Box::new(read(PARAM_CLIENT_KEY, k)?));
        if !contains_pem(key_pem.expose_secret(), "PRIVATE KEY") {
            return Err(Error::invalid(format!(
                "{PARAM_CLIENT_KEY} {}: no PEM private key in the file",
                k.display()
            )));
        }
        Ok(Some(ClientIdentity { cert_pem, key_pem }))
    }

    /// Apply the CA bundle and client identity to a `reqwest` client builder (HTTP
    /// families). TLS is rustls; the system / Mozilla roots stay trusted.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::tls::TlsConfig;
    /// // No custom CA or identity: the builder is returned as it was.
    /// let client = TlsConfig::default().apply(reqwest::Client::builder())?.build();
    /// assert!(client.is_ok());
    /// let bad = TlsConfig::default().with_ca_file("/nonexistent/ca.pem");
    /// assert!(bad.apply(reqwest::Client::builder()).is_err());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "http")]
    pub fn apply(&self, mut b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        if let Some(pem) = self.ca_pem()? {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::invalid(format!(
                    "{PARAM_CA_FILE} {}: {e}",
                    self.ca_file.as_deref().unwrap_or(Path::new("")).display()
                ))
            })?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if let Some(id) = self.identity()? {
            let identity =
                reqwest::Identity::from_pem(id.combined_pem().expose_secret()).map_err(|_| {
                    Error::invalid(format!(
                        "{PARAM_CLIENT_CERT}/{PARAM_CLIENT_KEY}: the certificate and key \
                         could not be loaded (PEM certificate chain + PKCS#8, PKCS#1 or SEC1 key)"
                    ))
                })?;
            b = b.identity(identity);
        }
        Ok(b)
    }
}

fn read(param: &str, p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| {
        Error::invalid(format!(
            "{param} {}: cannot read the file: {e}",
            p.display()
        ))
    })
}

fn contains_pem(pem: &[u8], label: &str) -> bool {
    let s = String::from_utf8_lossy(pem);
    s.lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.contains(label))
}

/// Messages (lower-cased) by which TLS libraries report a certificate or handshake
/// failure: rustls (`invalid peer certificate: UnknownIssuer`, `received fatal alert:
/// CertificateRequired`), OpenSSL (`certificate verify failed`) and the like.
const TLS_FAILURE_MARKERS: &[&str] = &[
    "invalid peer certificate",
    "peer sent no certificates",
    "received fatal alert: certificaterequired",
    "received fatal alert: badcertificate",
    "received fatal alert: unknownca",
    "received fatal alert: handshakefailure",
    "received fatal alert: certificateunknown",
    "received fatal alert: decrypterror",
    "certificate verify failed",
    "unable to get local issuer certificate",
    "self-signed certificate",
    "self signed certificate",
    "ssl handshake failed",
    "tls handshake",
    "unknownissuer",
];

/// Whether `text` (an error message) reports a TLS certificate / handshake failure.
///
/// ```
/// use gureum_core::tls::is_tls_failure_text;
/// assert!(is_tls_failure_text("invalid peer certificate: UnknownIssuer"));
/// assert!(!is_tls_failure_text("connection refused"));
/// ```
pub fn is_tls_failure_text(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    TLS_FAILURE_MARKERS.iter().any(|m| t.contains(m))
}

/// Whether `e` or any error in its source chain (looking inside `io::Error`s too) is a TLS
/// certificate / handshake failure.
///
/// ```
/// use gureum_core::tls::is_tls_failure;
/// let io = std::io::Error::new(std::io::ErrorKind::Other, "invalid peer certificate: UnknownIssuer");
/// assert!(is_tls_failure(&io));
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// assert!(!is_tls_failure(&refused));
/// ```
pub fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut depth = 0;
    while let Some(err) = cur {
        if is_tls_failure_text(&err.to_string()) {
            return true;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if is_tls_failure(inner) {
                return true;
            }
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        cur = err.source();
    }
    false
}

/// The message of a [`ErrorKind::Tls`] error about `peer`: what failed and what to configure.
///
/// ```
/// use gureum_core::tls::tls_failure_message;
/// let m = tls_failure_message("GET bucket", "s3.city.example", "UnknownIssuer");
/// assert!(m.starts_with("GET bucket: TLS with s3.city.example failed (UnknownIssuer)"));
/// assert!(m.contains("ca_file="));
/// ```
pub fn tls_failure_message(what: &str, peer: &str, detail: &str) -> String {
    format!(
        "{what}: TLS with {peer} failed ({detail}); if the server uses a private CA give its \
         bundle with {PARAM_CA_FILE}=, and if it requires a client certificate give \
         {PARAM_CLIENT_CERT}= and {PARAM_CLIENT_KEY}="
    )
}

/// If `err` is a TLS failure, an [`ErrorKind::Tls`] error with the same message (and
/// request id / code); otherwise `err` unchanged. `cause` is the underlying error to inspect.
///
/// ```
/// use gureum_core::{tls::reclassify, Error, ErrorKind};
/// let cause = std::io::Error::new(std::io::ErrorKind::Other, "certificate verify failed");
/// let e = reclassify(Error::new(ErrorKind::Unavailable, "connect"), &cause);
/// assert_eq!(e.kind(), ErrorKind::Tls);
/// let plain = std::io::Error::new(std::io::ErrorKind::Other, "reset");
/// assert_eq!(reclassify(Error::other("x"), &plain).kind(), ErrorKind::Other);
/// ```
pub fn reclassify(err: Error, cause: &(dyn std::error::Error + 'static)) -> Error {
    if err.kind() == ErrorKind::Tls || !is_tls_failure(cause) {
        return err;
    }
    let mut e = Error::new(ErrorKind::Tls, err.message().to_string());
    if let Some(c) = err.provider_code() {
        e = e.with_provider_code(c.to_string());
    }
    if let Some(r) = err.request_id() {
        e = e.with_request_id(r.to_string());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_aliases() {
        let p = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let t = TlsConfig::from_params(&p(&[("cacert", "/a.pem")])).unwrap();
        assert_eq!(t.ca_file, Some(PathBuf::from("/a.pem")));
        let t = TlsConfig::from_params(&p(&[("ca", "/b.pem"), ("ca_file", "/c.pem")])).unwrap();
        assert_eq!(t.ca_file, Some(PathBuf::from("/c.pem")), "ca_file wins");
        let t = TlsConfig::from_params(&p(&[])).unwrap();
        assert!(!t.is_custom());
        let e = TlsConfig::from_params(&p(&[("client_key", "/k.pem")])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = TlsConfig::default()
            .with_ca_file("/nonexistent/gureum-ca.pem")
            .ca_pem()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("ca_file"));
    }

    #[test]
    fn key_material_not_in_debug() {
        let id = ClientIdentity {
            cert_pem: b"-----BEGIN CERTIFICATE-----\n".to_vec(),
            key_pem: SecretBox::new(Box::new(b"SECRET-MARKER-KEY".to_vec())),
        };
        assert!(!format!("{id:?}").contains("SECRET-MARKER"));
    }

    #[test]
    fn classifier() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        );
        assert!(is_tls_failure(&io));
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!is_tls_failure(&other));
        let e = reclassify(Error::new(ErrorKind::Unavailable, "connect"), &io);
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(!e.is_retryable());
    }
}
