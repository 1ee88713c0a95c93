//! Custom CA and client certificate for every AWS client of this crate.
//!
//! A [`TlsConfig`] with a CA bundle (`ca_file=`) or a client identity (`client_cert=` +
//! `client_key=`) gives one rustls `reqwest` client (built by
//! [`HttpConfig::client_builder`](gureum_core::http::HttpConfig::client_builder), the shared
//! HTTP layer) that carries
//!
//! * the `aws-sdk-*` clients (S3 admin and ListObjects V1, SQS): [`sdk_http_client`] adapts
//!   it to the smithy `HttpClient` interface;
//! * `object_store`'s S3 store: [`ObjectStoreConnector`];
//! * the EC2 Query API (already on [`HttpClient`](gureum_core::http::HttpClient)).
//!
//! Without custom TLS the SDK's and object_store's own rustls clients (system / Mozilla roots)
//! are used unchanged.

use aws_smithy_runtime_api::client::http::{
    HttpClient as SmithyHttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
    SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response as SmithyResponse;
use aws_smithy_types::body::SdkBody;
use gureum_core::http::HttpConfig;
use gureum_core::tls::TlsConfig;
use gureum_core::Result;

/// The rustls `reqwest` client for `tls` (CA bundle and client identity applied), or `None`
/// when `tls` is the default.
///
/// ```
/// use gureum_aws::tls::reqwest_client;
/// use gureum_core::tls::TlsConfig;
/// assert!(reqwest_client(&TlsConfig::default()).unwrap().is_none()); // the default client is used
/// assert!(reqwest_client(&TlsConfig::default().with_ca_file("/nonexistent.pem")).is_err());
/// ```
pub fn reqwest_client(tls: &TlsConfig) -> Result<Option<reqwest::Client>> {
    if !tls.is_custom() {
        return Ok(None);
    }
    let c = HttpConfig::default()
        .tls(tls.clone())
        .client_builder()?
        .build()
        .map_err(|e| gureum_core::Error::other("building the TLS HTTP client").with_source(e))?;
    Ok(Some(c))
}

/// The smithy HTTP client for the `aws-sdk-*` clients, when `tls` is custom.
///
/// ```
/// use gureum_aws::tls::sdk_http_client;
/// use gureum_core::tls::TlsConfig;
/// assert!(sdk_http_client(&TlsConfig::default()).unwrap().is_none());
/// ```
pub fn sdk_http_client(tls: &TlsConfig) -> Result<Option<SharedHttpClient>> {
    Ok(reqwest_client(tls)?.map(|c| SharedHttpClient::new(ReqwestSmithy { client: c })))
}

/// An `aws-sdk` HTTP client sending through a `reqwest` client.
#[derive(Debug, Clone)]
struct ReqwestSmithy {
    client: reqwest::Client,
}

impl SmithyHttpClient for ReqwestSmithy {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestSmithy {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let req = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let (parts, body) = req.into_parts();
            let req = http::Request::from_parts(parts, reqwest::Body::wrap(body));
            let req =
                reqwest::Request::try_from(req).map_err(|e| ConnectorError::user(Box::new(e)))?;
            let resp = client.execute(req).await.map_err(|e| {
                let timeout = e.is_timeout();
                let connect = e.is_connect();
                let e = e.without_url();
                if timeout {
                    ConnectorError::timeout(Box::new(e))
                } else if connect {
                    ConnectorError::io(Box::new(e)).never_connected()
                } else {
                    ConnectorError::io(Box::new(e))
                }
            })?;
            let resp: http::Response<reqwest::Body> = resp.into();
            let (parts, body) = resp.into_parts();
            let resp = http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
            SmithyResponse::try_from(resp).map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

/// The `object_store` connector carrying the custom TLS settings (shared HTTP layer).
pub use gureum_core::http::ObjectStoreConnector;
