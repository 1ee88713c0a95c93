//! [`ObjectStoreConnector`]: `object_store`'s cloud stores (S3, Azure Blob) on a `reqwest`
//! client built by this layer, so they carry the same [`TlsConfig`] (custom CA, client
//! certificate) as the hand-written REST calls.

use super::HttpConfig;
use crate::tls::TlsConfig;

/// An `object_store` connector handing out the TLS-configured `reqwest` client, with the
/// store's timeouts applied and buffered answers bounded like [`CappedConnector`](super::CappedConnector)
/// (it replaces that connector when a custom CA or client certificate is configured).
///
/// ```
/// use gureum_core::{http::ObjectStoreConnector, tls::TlsConfig};
/// // The S3 store on the TLS-configured client (here: the defaults).
/// let s3 = object_store::aws::AmazonS3Builder::new()
///     .with_bucket_name("b")
///     .with_region("us-east-1")
///     .with_http_connector(ObjectStoreConnector::new(TlsConfig::default(), "S3"))
///     .build();
/// assert!(s3.is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct ObjectStoreConnector {
    tls: TlsConfig,
    store: &'static str,
}

impl ObjectStoreConnector {
    /// A connector for `tls`; `store` names the store in errors (`"S3"`, `"MicrosoftAzure"`).
    ///
    /// ```
    /// use gureum_core::{http::ObjectStoreConnector, tls::TlsConfig};
    /// // The CA bundle is read when the store is built: a missing file fails there.
    /// let c = ObjectStoreConnector::new(TlsConfig::default().with_ca_file("/nonexistent/ca.pem"), "S3");
    /// let s3 = object_store::aws::AmazonS3Builder::new()
    ///     .with_bucket_name("b")
    ///     .with_region("us-east-1")
    ///     .with_http_connector(c)
    ///     .build();
    /// assert!(s3.is_err());
    /// ```
    pub fn new(tls: TlsConfig, store: &'static str) -> Self {
        ObjectStoreConnector { tls, store }
    }
}

impl object_store::client::HttpConnector for ObjectStoreConnector {
    fn connect(
        &self,
        options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        use object_store::ClientConfigKey as K;
        let generic = |e: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
            store: self.store,
            source: e,
        };
        let mut cfg = HttpConfig::default().tls(self.tls.clone());
        let dur = |k: K| {
            options
                .get_config_value(&k)
                .and_then(|v| super::parse_duration(k.as_ref(), &v).ok())
        };
        if let Some(d) = dur(K::ConnectTimeout) {
            cfg.connect_timeout = d;
        }
        if let Some(d) = dur(K::PoolIdleTimeout) {
            cfg.pool_idle_timeout = Some(d);
        }
        let mut b = cfg.client_builder().map_err(|e| generic(Box::new(e)))?;
        if let Some(d) = dur(K::Timeout) {
            b = b.timeout(d);
        }
        let client = b.build().map_err(|e| generic(Box::new(e)))?;
        Ok(super::store_cap::capped(
            object_store::client::HttpClient::new(client),
            super::MAX_STORE_RESPONSE_BYTES,
        ))
    }
}
