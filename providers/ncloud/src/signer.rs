//! The NAVER Cloud Platform API Gateway request signature (`x-ncp-apigw-signature-v2`).
//!
//! Every NCP API Gateway API (Server, VPC, Cloud DB, ...) authenticates a request with three
//! headers:
//!
//! | header | value |
//! | --- | --- |
//! | `x-ncp-apigw-timestamp` | epoch milliseconds; the gateway refuses a request 5 minutes or more off its clock |
//! | `x-ncp-iam-access-key` | the access key id |
//! | `x-ncp-apigw-signature-v2` | `Base64(HMAC-SHA256(secret, "{METHOD} {path?query}\n{timestamp}\n{accessKey}"))` |
//!
//! The request URI is the path plus `?query` exactly as sent, without scheme or host; the
//! separators are one space and bare LFs. Source: <https://api.ncloud-docs.com/docs/common-ncpapi>
//! and the Server (VPC) overview. Fixed vectors computed by an independent Python script live
//! in `tests/data/signature_vectors.json`.
//!
//! ```
//! use gureum_ncloud::signer::sign;
//! let sig = sign("GET", "/vserver/v2/getServerInstanceList?regionCode=KR&responseFormatType=json",
//!                1593848345548, "7fIvgFY428mtY6sY8maw", b"testSecretKey0123456789abcdefghijklmnopq");
//! assert_eq!(sig, "sF0RTpAcIHNIf5ndh0KIKNSSra5GMpATSza0WjInSxs=");
//! ```

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;

/// Header carrying the epoch-millisecond timestamp.
///
/// ```
/// use gureum_ncloud::signer::{Credentials, HEADER_TIMESTAMP};
/// let h = Credentials::new("AK", "SK").headers("GET", "/vserver/v2/getRegionList", 1_764_000_000_000);
/// assert_eq!(h[0], (HEADER_TIMESTAMP, "1764000000000".to_string()));
/// ```
pub const HEADER_TIMESTAMP: &str = "x-ncp-apigw-timestamp";
/// Header carrying the access key id.
///
/// ```
/// use gureum_ncloud::signer::{Credentials, HEADER_ACCESS_KEY};
/// let h = Credentials::new("AK", "SK").headers("GET", "/", 0);
/// assert!(h.contains(&(HEADER_ACCESS_KEY, "AK".to_string())));
/// ```
pub const HEADER_ACCESS_KEY: &str = "x-ncp-iam-access-key";
/// Header carrying the signature.
///
/// ```
/// use gureum_ncloud::signer::{sign, Credentials, HEADER_SIGNATURE};
/// let h = Credentials::new("AK", "SK").headers("GET", "/x", 7);
/// assert!(h.contains(&(HEADER_SIGNATURE, sign("GET", "/x", 7, "AK", b"SK"))));
/// ```
pub const HEADER_SIGNATURE: &str = "x-ncp-apigw-signature-v2";
/// How far the request timestamp may be from the gateway clock (requests off by this much or
/// more are refused).
///
/// ```
/// use gureum_ncloud::signer::TIMESTAMP_WINDOW_MS;
/// assert_eq!(TIMESTAMP_WINDOW_MS, 300_000); // the API gateway's 5 minutes
/// ```
pub const TIMESTAMP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The exact string that is signed.
///
/// ```
/// use gureum_ncloud::signer::string_to_sign;
/// assert_eq!(string_to_sign("GET", "/photos/puppy.jpg?query1=&query2", 1_505_290_948_110, "AK"),
///     "GET /photos/puppy.jpg?query1=&query2\n1505290948110\nAK");
/// ```
pub fn string_to_sign(
    method: &str,
    request_uri: &str,
    timestamp_ms: u64,
    access_key: &str,
) -> String {
    format!("{method} {request_uri}\n{timestamp_ms}\n{access_key}")
}

/// Compute the v2 signature: `Base64(HMAC-SHA256(secret, string_to_sign))`, standard
/// alphabet with padding.
///
/// ```
/// use gureum_ncloud::signer::sign;
/// let s = sign("GET", "/vserver/v2/getRegionList", 1_764_000_000_000, "AK", b"SK");
/// assert_eq!(s.len(), 44); // base64 of HMAC-SHA256
/// assert_ne!(s, sign("POST", "/vserver/v2/getRegionList", 1_764_000_000_000, "AK", b"SK"));
/// ```
pub fn sign(
    method: &str,
    request_uri: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret: &[u8],
) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign(method, request_uri, timestamp_ms, access_key).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two signatures (for servers verifying requests).
///
/// ```
/// use gureum_ncloud::signer::signatures_equal;
/// assert!(signatures_equal("abc=", "abc="));
/// assert!(!signatures_equal("abc=", "abd="));
/// ```
pub fn signatures_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An NCP access key pair. The secret never appears in `Debug` output.
///
/// ```
/// use gureum_ncloud::signer::Credentials;
/// let c = Credentials::new("AK", "very-secret");
/// assert!(!format!("{c:?}").contains("very-secret"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    access_key: String,
    secret_key: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .finish()
    }
}

impl Credentials {
    /// A key pair.
    ///
    /// ```
    /// assert_eq!(gureum_ncloud::signer::Credentials::new("AK", "SK").access_key(), "AK");
    /// ```
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: SecretString::from(secret_key.into()),
        }
    }
    /// The access key id.
    ///
    /// ```
    /// assert_eq!(gureum_ncloud::signer::Credentials::new("AK1", "SK").access_key(), "AK1");
    /// ```
    pub fn access_key(&self) -> &str {
        &self.access_key
    }
    /// The secret key (use only to sign).
    ///
    /// ```
    /// use secrecy::ExposeSecret;
    /// assert_eq!(gureum_ncloud::signer::Credentials::new("AK", "SK").secret_key().expose_secret(), "SK");
    /// ```
    pub fn secret_key(&self) -> &SecretString {
        &self.secret_key
    }

    /// The three authentication headers for a request at `timestamp_ms`.
    ///
    /// ```
    /// use gureum_ncloud::signer::Credentials;
    /// let h = Credentials::new("AK", "SK").headers("GET", "/server/v2/getServerInstanceList", 1);
    /// assert_eq!(h.len(), 3);
    /// ```
    pub fn headers(
        &self,
        method: &str,
        request_uri: &str,
        timestamp_ms: u64,
    ) -> [(&'static str, String); 3] {
        let sig = sign(
            method,
            request_uri,
            timestamp_ms,
            &self.access_key,
            self.secret_key.expose_secret().as_bytes(),
        );
        [
            (HEADER_TIMESTAMP, timestamp_ms.to_string()),
            (HEADER_ACCESS_KEY, self.access_key.clone()),
            (HEADER_SIGNATURE, sig),
        ]
    }
}

/// The current time in epoch milliseconds.
///
/// ```
/// let a = gureum_ncloud::signer::now_ms();
/// assert!(a > 1_700_000_000_000); // milliseconds since the epoch
/// ```
pub fn now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_layout() {
        assert_eq!(
            string_to_sign("GET", "/a?b=c", 12, "ak"),
            "GET /a?b=c\n12\nak"
        );
    }

    #[test]
    fn debug_hides_secret() {
        let c = Credentials::new("AK", "very-secret");
        let s = format!("{c:?}");
        assert!(!s.contains("very-secret") && s.contains("AK"), "{s}");
    }

    #[test]
    fn constant_time_compare() {
        assert!(signatures_equal("abc", "abc"));
        assert!(!signatures_equal("abc", "abd"));
        assert!(!signatures_equal("abc", "ab"));
    }
}
