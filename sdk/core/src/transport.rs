//! Transport rules: TLS by default, plain HTTP only for loopback or when explicitly allowed.

use crate::error::{Error, ErrorKind, Result};

/// Whether `host` is a loopback name or address (`localhost`, 127.0.0.0/8, `::1`).
///
/// ```
/// use gureum_core::transport::is_loopback_host;
/// assert!(is_loopback_host("localhost") && is_loopback_host("127.0.0.1") && is_loopback_host("[::1]"));
/// assert!(!is_loopback_host("s3.city.example"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The `allow_http` setting of a URL or profile (`allow_plaintext` is the same switch, the
/// name the queue protocols used first): `true` allows plaintext to a non-loopback host.
/// Malformed values are `InvalidArgument`.
///
/// ```
/// use gureum_core::{transport::allow_plaintext, ResourceUrl};
/// assert!(allow_plaintext(&ResourceUrl::parse("s3://b?allow_http=true").unwrap()).unwrap());
/// assert!(!allow_plaintext(&ResourceUrl::parse("s3://b").unwrap()).unwrap());
/// assert!(allow_plaintext(&ResourceUrl::parse("s3://b?allow_http=maybe").unwrap()).is_err());
/// ```
pub fn allow_plaintext(url: &crate::ResourceUrl) -> Result<bool> {
    Ok(url.bool_param("allow_http")?.unwrap_or(false)
        || url.bool_param("allow_plaintext")?.unwrap_or(false))
}

/// Refuse a plaintext (`http://`) endpoint off this host unless `allow_insecure` is set.
///
/// ```
/// use gureum_core::transport::check_endpoint;
/// let ok = url::Url::parse("http://127.0.0.1:5000").unwrap();
/// assert!(check_endpoint(&ok, false).is_ok());
/// let bad = url::Url::parse("http://storage.example.com").unwrap();
/// assert!(check_endpoint(&bad, false).is_err());
/// assert!(check_endpoint(&bad, true).is_ok());
/// ```
pub fn check_endpoint(endpoint: &url::Url, allow_insecure: bool) -> Result<()> {
    match endpoint.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = endpoint.host_str().unwrap_or("");
            if is_loopback_host(host) || allow_insecure {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::PolicyViolation,
                    format!(
                        "refusing plaintext http to {host}: use https, or set allow_http=true \
                         only for a network you trust"
                    ),
                ))
            }
        }
        other => Err(Error::invalid(format!(
            "endpoint scheme {other:?} is not http or https"
        ))),
    }
}
