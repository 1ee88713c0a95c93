//! A loopback TLS front for transport tests.
//!
//! [`TestPki`] makes a throw-away certificate authority (the stand-in for a city's own CA)
//! with `rcgen`, a server certificate for `localhost` / `127.0.0.1` / `::1` and a client
//! certificate, and writes them as PEM files into a private temporary directory (removed on
//! drop). [`TlsFront`] listens on `127.0.0.1:0`, terminates TLS with the server certificate
//! (`tokio-rustls`), optionally *requires* a client certificate signed by the test CA (mutual
//! TLS), and relays the plaintext bytes to an upstream emulator (moto, Azurite, Swift,
//! RabbitMQ). Protocol-agnostic: it relays TCP, so HTTP, AMQP or anything else works.
//!
//! ```no_run
//! # async fn demo() {
//! use gureum_testkit::tls::{TestPki, TlsFront};
//! let pki = TestPki::new().unwrap();
//! let front = TlsFront::start(&pki, "127.0.0.1:5000", false).await.unwrap();
//! // https://localhost:PORT now reaches moto; trust pki.ca_file to connect.
//! println!("{} {}", front.port(), pki.ca_file.display());
//! # }
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// A test certificate authority with a server and a client certificate, as PEM files.
#[derive(Debug)]
pub struct TestPki {
    /// Directory holding the files (deleted on drop).
    pub dir: PathBuf,
    /// The CA certificate (what a client trusts with `ca_file=`).
    pub ca_file: PathBuf,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// Server certificate chain (server certificate, then the CA).
    pub server_cert_pem: String,
    /// Server private key, PEM.
    pub server_key_pem: String,
    /// Client certificate (mutual TLS), signed by the CA.
    pub client_cert: PathBuf,
    /// Client private key.
    pub client_key: PathBuf,
    /// A client certificate + key signed by *another* CA (the front must refuse it).
    pub foreign_client_cert: PathBuf,
    /// Key of [`foreign_client_cert`](Self::foreign_client_cert).
    pub foreign_client_key: PathBuf,
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rc(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("rcgen: {e}"))
}

fn ca(name: &str) -> io::Result<CertifiedIssuer<'static, KeyPair>> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "gureum test city");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().map_err(rc)?).map_err(rc)
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
) -> io::Result<(String, String)> {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .map_err(rc)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().map_err(rc)?;
    let cert = p.signed_by(&key, issuer).map_err(rc)?;
    Ok((cert.pem(), key.serialize_pem()))
}

impl TestPki {
    /// Generate a CA, a server certificate for `localhost`, `127.0.0.1` and `::1`, a client
    /// certificate, and a client certificate of an unrelated CA; write them to a new
    /// temporary directory.
    pub fn new() -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("gureum-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        let city = ca("gureum test city CA")?;
        let (server_cert, server_key_pem) = leaf(
            &city,
            &["localhost", "127.0.0.1", "::1"],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let (client_cert_pem, client_key_pem) = leaf(
            &city,
            &["gureum-app"],
            "gureum-app",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let other = ca("some other CA")?;
        let (foreign_cert_pem, foreign_key_pem) = leaf(
            &other,
            &["intruder"],
            "intruder",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let ca_pem = city.pem();
        let write = |name: &str, body: &str| -> io::Result<PathBuf> {
            let p = dir.join(name);
            std::fs::write(&p, body)?;
            Ok(p)
        };
        let pki = TestPki {
            ca_file: write("ca.pem", &ca_pem)?,
            client_cert: write("client.pem", &client_cert_pem)?,
            client_key: write("client.key", &client_key_pem)?,
            foreign_client_cert: write("foreign.pem", &foreign_cert_pem)?,
            foreign_client_key: write("foreign.key", &foreign_key_pem)?,
            server_cert_pem: format!("{server_cert}{ca_pem}"),
            server_key_pem,
            ca_pem,
            dir,
        };
        Ok(pki)
    }

    fn server_config(&self, require_client_cert: bool) -> io::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| io::Error::other(format!("server cert: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| io::Error::other(format!("server key: {e}")))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(format!("rustls: {e}")))?;
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
                roots
                    .add(c.map_err(|e| io::Error::other(format!("ca: {e}")))?)
                    .map_err(|e| io::Error::other(format!("ca: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| io::Error::other(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder
            .with_single_cert(certs, key)
            .map_err(|e| io::Error::other(format!("server config: {e}")))
    }
}

/// What a [`TlsFront`] saw.
#[derive(Debug, Default)]
pub struct FrontCounters {
    /// TLS handshakes that completed (and were relayed upstream).
    pub handshakes: AtomicU64,
    /// TLS handshakes that failed (untrusted server certificate on the client side, missing
    /// or foreign client certificate, plaintext client).
    pub failed_handshakes: AtomicU64,
}

/// A TLS-terminating TCP relay on `127.0.0.1:0` in front of an upstream emulator.
pub struct TlsFront {
    addr: SocketAddr,
    /// Handshake counters.
    pub counters: Arc<FrontCounters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFront")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TlsFront {
    /// Start a front relaying to `upstream` (`host:port` of a loopback emulator), with the
    /// server certificate of `pki`; with `require_client_cert`, only clients presenting a
    /// certificate signed by `pki`'s CA get through (mutual TLS).
    pub async fn start(
        pki: &TestPki,
        upstream: &str,
        require_client_cert: bool,
    ) -> io::Result<Self> {
        let config = Arc::new(pki.server_config(require_client_cert)?);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let upstream = upstream.to_string();
        let counters = Arc::new(FrontCounters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                let c = c.clone();
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(e) => {
                            c.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("tls front: handshake failed: {e}");
                            return;
                        }
                    };
                    c.handshakes.fetch_add(1, Ordering::Relaxed);
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        tracing::debug!("tls front: upstream {upstream} refused");
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Ok(TlsFront {
            addr,
            counters,
            task,
        })
    }

    /// The port the front listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://localhost:PORT` (the certificate names `localhost` and `127.0.0.1`).
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// `localhost:PORT`.
    pub fn host_port(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }
}
