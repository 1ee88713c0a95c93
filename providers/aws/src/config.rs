//! Public configuration of the S3 storage driver, shared with the S3-compatible presets of
//! other crates (Naver Cloud in `gureum-ncloud`, NHN / Kakao in `gureum-openstack`).
//!
//! ```
//! use gureum_aws::{S3Config, AwsCredentials, S3Quirks};
//! use gureum_core::Zone;
//! // A Naver Cloud style preset: custom endpoint, path style, V1 listing, own key variables.
//! let cfg = S3Config::new("archive")
//!     .endpoint("https://kr.object.ncloudstorage.com")
//!     .region("kr-standard")
//!     .path_style(true)
//!     .quirks(S3Quirks::default().list_objects_v1(true).checksum_when_required(true))
//!     .credentials(AwsCredentials::from_env_vars("NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY"))
//!     .provider("ncloud", "ncloud")
//!     .zone(Zone::DomesticCsap);
//! assert_eq!(cfg.bucket, "archive");
//! assert!(cfg.quirks.list_objects_v1);
//! ```

use gureum_core::url::ResourceUrl;
use gureum_core::{Error, Result, Zone};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Where the AWS drivers (S3, SQS, EC2, and the S3-compatible presets) get their credentials.
///
/// ```
/// use gureum_aws::AwsCredentials;
/// assert_eq!(AwsCredentials::default(), AwsCredentials::DefaultChain);
/// let keys = AwsCredentials::static_keys("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG");
/// assert!(!format!("{keys:?}").contains("wJalr")); // secrets never in Debug
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AwsCredentials {
    /// The standard AWS chain of `aws-config`: environment (`AWS_ACCESS_KEY_ID`, ...), shared
    /// profile files (`profile` selects one), web identity token, ECS / IMDS.
    #[default]
    DefaultChain,
    /// Static keys read at open time from the named environment variables
    /// (e.g. `NCLOUD_ACCESS_KEY` / `NCLOUD_SECRET_KEY`).
    EnvVars {
        /// Variable holding the access key id.
        access_key_var: String,
        /// Variable holding the secret access key.
        secret_key_var: String,
        /// Optional variable holding a session token.
        session_token_var: Option<String>,
    },
    /// Static keys given directly.
    Static {
        /// Access key id (not secret by itself, but never logged either).
        access_key_id: String,
        /// Secret access key.
        secret_access_key: SecretString,
        /// Optional session token.
        session_token: Option<SecretString>,
    },
    /// No credentials: unsigned (anonymous) requests, for public buckets.
    Anonymous,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsCredentials::DefaultChain => f.write_str("DefaultChain"),
            AwsCredentials::EnvVars {
                access_key_var,
                secret_key_var,
                session_token_var,
            } => f
                .debug_struct("EnvVars")
                .field("access_key_var", access_key_var)
                .field("secret_key_var", secret_key_var)
                .field("session_token_var", session_token_var)
                .finish(),
            AwsCredentials::Static { .. } => f.write_str("Static { .. redacted .. }"),
            AwsCredentials::Anonymous => f.write_str("Anonymous"),
        }
    }
}

impl AwsCredentials {
    /// Static keys from two named environment variables.
    ///
    /// ```
    /// use gureum_aws::AwsCredentials;
    /// let c = AwsCredentials::from_env_vars("NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY");
    /// assert!(format!("{c:?}").contains("NCLOUD_ACCESS_KEY")); // the variable names, read at open time
    /// ```
    pub fn from_env_vars(
        access_key_var: impl Into<String>,
        secret_key_var: impl Into<String>,
    ) -> Self {
        AwsCredentials::EnvVars {
            access_key_var: access_key_var.into(),
            secret_key_var: secret_key_var.into(),
            session_token_var: None,
        }
    }
    /// Static keys given directly.
    ///
    /// ```
    /// use gureum_aws::{AwsCredentials, S3Config};
    /// let cfg = S3Config::new("b").credentials(AwsCredentials::static_keys("AKIAEXAMPLE", "secret"));
    /// assert!(matches!(cfg.credentials, AwsCredentials::Static { .. }));
    /// ```
    pub fn static_keys(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        AwsCredentials::Static {
            access_key_id: access_key_id.into(),
            secret_access_key: SecretString::from(secret_access_key.into()),
            session_token: None,
        }
    }

    /// Resolve `EnvVars` into `Static` (other variants are returned unchanged).
    pub(crate) fn resolve(&self) -> Result<AwsCredentials> {
        match self {
            AwsCredentials::EnvVars {
                access_key_var,
                secret_key_var,
                session_token_var,
            } => {
                let get = |v: &str| {
                    std::env::var(v)
                        .ok()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| {
                            Error::new(
                                gureum_core::ErrorKind::Unauthenticated,
                                format!("credentials: environment variable {v} is not set"),
                            )
                        })
                };
                let access = get(access_key_var)?;
                let secret = get(secret_key_var)?;
                let token = match session_token_var {
                    Some(v) => std::env::var(v).ok().filter(|s| !s.is_empty()),
                    None => None,
                };
                Ok(AwsCredentials::Static {
                    access_key_id: access,
                    secret_access_key: SecretString::from(secret),
                    session_token: token.map(SecretString::from),
                })
            }
            other => Ok(other.clone()),
        }
    }

    /// The static parts, if static: (access key, secret, token).
    pub(crate) fn static_parts(&self) -> Option<(String, String, Option<String>)> {
        match self {
            AwsCredentials::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => Some((
                access_key_id.clone(),
                secret_access_key.expose_secret().to_string(),
                session_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_string()),
            )),
            _ => None,
        }
    }
}

/// Server-side encryption applied to every write.
///
/// ```
/// use gureum_aws::{S3Config, ServerSideEncryption};
/// use gureum_core::ResourceUrl;
/// let cfg = S3Config::from_url(&ResourceUrl::parse("s3://records?sse=aws:kms&sse_kms_key_id=alias/city").unwrap()).unwrap();
/// assert_eq!(cfg.sse, Some(ServerSideEncryption::Kms { key_id: Some("alias/city".into()), bucket_key: false }));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ServerSideEncryption {
    /// SSE-S3 (`AES256`, the AWS default).
    S3,
    /// SSE-KMS with an optional key id / ARN (`aws:kms`).
    Kms {
        /// KMS key id or ARN; `None` uses the account's default S3 key.
        key_id: Option<String>,
        /// Use an S3 bucket key to reduce KMS calls.
        bucket_key: bool,
    },
    /// DSSE-KMS (dual-layer) with a key id / ARN.
    DsseKms {
        /// KMS key id or ARN.
        key_id: String,
    },
    /// SSE-C: a customer-provided 256-bit key, base64.
    CustomerKey(SecretString),
}

impl fmt::Debug for ServerSideEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerSideEncryption::S3 => f.write_str("S3"),
            ServerSideEncryption::Kms { key_id, bucket_key } => f
                .debug_struct("Kms")
                .field("key_id", key_id)
                .field("bucket_key", bucket_key)
                .finish(),
            ServerSideEncryption::DsseKms { key_id } => {
                f.debug_struct("DsseKms").field("key_id", key_id).finish()
            }
            ServerSideEncryption::CustomerKey(_) => f.write_str("CustomerKey(***)"),
        }
    }
}

impl PartialEq for ServerSideEncryption {
    fn eq(&self, other: &Self) -> bool {
        use ServerSideEncryption as S;
        match (self, other) {
            (S::S3, S::S3) => true,
            (
                S::Kms {
                    key_id: a,
                    bucket_key: b,
                },
                S::Kms {
                    key_id: x,
                    bucket_key: y,
                },
            ) => a == x && b == y,
            (S::DsseKms { key_id: a }, S::DsseKms { key_id: b }) => a == b,
            (S::CustomerKey(a), S::CustomerKey(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        }
    }
}

impl PartialEq for AwsCredentials {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AwsCredentials::DefaultChain, AwsCredentials::DefaultChain) => true,
            (AwsCredentials::Anonymous, AwsCredentials::Anonymous) => true,
            (
                AwsCredentials::EnvVars {
                    access_key_var: a,
                    secret_key_var: b,
                    session_token_var: c,
                },
                AwsCredentials::EnvVars {
                    access_key_var: x,
                    secret_key_var: y,
                    session_token_var: z,
                },
            ) => a == x && b == y && c == z,
            (
                AwsCredentials::Static {
                    access_key_id: a, ..
                },
                AwsCredentials::Static {
                    access_key_id: b, ..
                },
            ) => a == b,
            _ => false,
        }
    }
}

/// Behaviour switches for S3-compatible services that differ from AWS.
///
/// Construct with [`S3Quirks::default`] (AWS behaviour) and chain the setters, or set the
/// public fields. New fields may be added; they default to AWS behaviour.
///
/// ```
/// use gureum_aws::S3Quirks;
/// let q = S3Quirks::default();
/// assert!(q.conditional_put && q.presign && !q.list_objects_v1); // AWS behaviour
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Quirks {
    /// Compute request checksums only when the operation requires them (no `aws-chunked`
    /// streaming checksums), and validate response checksums only when required. Needed by
    /// OpenStack Swift s3api (it answers 501 to aws-chunked bodies) and older S3 clones.
    pub checksum_when_required: bool,
    /// List with ListObjects V1 (marker pagination) instead of ListObjectsV2. Naver Cloud
    /// Object Storage does not support V2.
    pub list_objects_v1: bool,
    /// Keep the region name exactly as given, including upper case (some clouds name regions
    /// like `KR1`). Without this, a region with upper-case letters is refused.
    pub uppercase_region: bool,
    /// The service honours `If-None-Match: *` / `If-Match` on PUT (conditional writes).
    pub conditional_put: bool,
    /// The service supports copy-if-not-exists through a conditional multipart completion.
    pub copy_if_not_exists: bool,
    /// On a custom endpoint, check once (per endpoint, with a probe object) that the service
    /// really enforces `If-None-Match`/`If-Match` before trusting `conditional_put`; several
    /// S3-compatible servers ignore them and overwrite. Cleared when `conditional_put` is set
    /// explicitly (URL parameter or [`S3Quirks::conditional_put`]). Not used for AWS.
    pub probe_conditional: bool,
    /// Object tagging (`?tagging`) is supported.
    pub tagging: bool,
    /// Send a `LocationConstraint` (the region) when creating a bucket outside `us-east-1`.
    pub location_constraint: bool,
    /// Presigned URLs are supported.
    pub presign: bool,
    /// Multipart uploads are supported.
    pub multipart: bool,
    /// Metadata names containing `_` are kept. AWS keeps them; moto's server (werkzeug)
    /// drops such headers. When false, writing such a name fails (`Unsupported` /
    /// object_store `NotImplemented`) instead of losing it silently.
    pub metadata_underscore: bool,
    /// Metadata names containing `_` are kept on multipart uploads. OpenStack Swift's s3api
    /// keeps them on a plain PUT but turns `_` into `-` when it completes a multipart upload.
    /// When false, a multipart upload with such a name fails (`Unsupported` / object_store
    /// `NotImplemented`) instead of renaming it silently.
    pub metadata_underscore_multipart: bool,
    /// Longest metadata value the service stores, counted in bytes as sent (after the
    /// RFC 2047 encoding of non-ASCII values). OpenStack Swift: 256 (`max_meta_value_length`).
    /// Longer values are refused with `InvalidArgument` before any request.
    pub max_metadata_value_bytes: Option<usize>,
}

impl Default for S3Quirks {
    fn default() -> Self {
        S3Quirks {
            checksum_when_required: false,
            list_objects_v1: false,
            uppercase_region: false,
            conditional_put: true,
            copy_if_not_exists: true,
            probe_conditional: true,
            tagging: true,
            location_constraint: true,
            presign: true,
            multipart: true,
            metadata_underscore: true,
            metadata_underscore_multipart: true,
            max_metadata_value_bytes: None,
        }
    }
}

impl S3Quirks {
    /// AWS behaviour (same as `default()`).
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert_eq!(S3Quirks::aws(), S3Quirks::default());
    /// ```
    pub fn aws() -> Self {
        Self::default()
    }
    /// What OpenStack Swift's s3api middleware (as in NHN Cloud / Kakao Cloud) needs.
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// let q = S3Quirks::swift_s3api();
    /// assert!(q.checksum_when_required);
    /// assert_eq!(q.max_metadata_value_bytes, Some(256));
    /// ```
    pub fn swift_s3api() -> Self {
        S3Quirks {
            checksum_when_required: true,
            conditional_put: false,
            copy_if_not_exists: false,
            tagging: false,
            location_constraint: false,
            max_metadata_value_bytes: Some(256),
            metadata_underscore_multipart: false,
            ..Self::default()
        }
    }
    /// Set [`S3Quirks::checksum_when_required`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(S3Quirks::default().checksum_when_required(true).checksum_when_required);
    /// ```
    pub fn checksum_when_required(mut self, v: bool) -> Self {
        self.checksum_when_required = v;
        self
    }
    /// Set [`S3Quirks::metadata_underscore`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().metadata_underscore(false).metadata_underscore);
    /// ```
    pub fn metadata_underscore(mut self, v: bool) -> Self {
        self.metadata_underscore = v;
        self
    }
    /// Set [`S3Quirks::metadata_underscore_multipart`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().metadata_underscore_multipart(false).metadata_underscore_multipart);
    /// ```
    pub fn metadata_underscore_multipart(mut self, v: bool) -> Self {
        self.metadata_underscore_multipart = v;
        self
    }
    /// Set [`S3Quirks::max_metadata_value_bytes`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert_eq!(S3Quirks::default().max_metadata_value_bytes(Some(256)).max_metadata_value_bytes, Some(256));
    /// ```
    pub fn max_metadata_value_bytes(mut self, n: Option<usize>) -> Self {
        self.max_metadata_value_bytes = n;
        self
    }
    /// Set [`S3Quirks::list_objects_v1`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(S3Quirks::default().list_objects_v1(true).list_objects_v1); // Naver Cloud
    /// ```
    pub fn list_objects_v1(mut self, v: bool) -> Self {
        self.list_objects_v1 = v;
        self
    }
    /// Set [`S3Quirks::uppercase_region`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(S3Quirks::default().uppercase_region(true).uppercase_region); // regions like KR1
    /// ```
    pub fn uppercase_region(mut self, v: bool) -> Self {
        self.uppercase_region = v;
        self
    }
    /// Set [`S3Quirks::conditional_put`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// let q = S3Quirks::default().conditional_put(false);
    /// assert!(!q.conditional_put && !q.probe_conditional); // set explicitly: no probe
    /// ```
    pub fn conditional_put(mut self, v: bool) -> Self {
        self.conditional_put = v;
        self.probe_conditional = false;
        self
    }
    /// Set [`S3Quirks::copy_if_not_exists`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().copy_if_not_exists(false).copy_if_not_exists);
    /// ```
    pub fn copy_if_not_exists(mut self, v: bool) -> Self {
        self.copy_if_not_exists = v;
        self
    }
    /// Set [`S3Quirks::tagging`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().tagging(false).tagging);
    /// ```
    pub fn tagging(mut self, v: bool) -> Self {
        self.tagging = v;
        self
    }
    /// Set [`S3Quirks::location_constraint`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().location_constraint(false).location_constraint);
    /// ```
    pub fn location_constraint(mut self, v: bool) -> Self {
        self.location_constraint = v;
        self
    }
    /// Set [`S3Quirks::presign`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().presign(false).presign);
    /// ```
    pub fn presign(mut self, v: bool) -> Self {
        self.presign = v;
        self
    }
    /// Set [`S3Quirks::multipart`].
    ///
    /// ```
    /// use gureum_aws::S3Quirks;
    /// assert!(!S3Quirks::default().multipart(false).multipart);
    /// ```
    pub fn multipart(mut self, v: bool) -> Self {
        self.multipart = v;
        self
    }
}

/// Everything [`crate::open_s3`] needs to open one bucket.
///
/// Build with [`S3Config::new`] and the chained setters, or parse an `s3://` URL with
/// [`S3Config::from_url`]. Fields are public for reading and adjusting; new fields may be
/// added (the struct is `#[non_exhaustive]`), always defaulting to the AWS behaviour.
///
/// ```
/// use gureum_aws::S3Config;
/// use gureum_core::{ResourceUrl, Zone};
/// let cfg = S3Config::from_url(&ResourceUrl::parse("s3://complaints-archive?region=ap-northeast-2").unwrap()).unwrap();
/// assert_eq!((cfg.bucket.as_str(), cfg.region.as_deref()), ("complaints-archive", Some("ap-northeast-2")));
/// assert_eq!(cfg.zone, Zone::Foreign);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Region (signing scope). `None`: from the AWS chain (`AWS_REGION`, profile), else
    /// `us-east-1`.
    pub region: Option<String>,
    /// Custom endpoint (`https://host[:port]`), e.g. a domestic cloud or an emulator.
    /// `None`: AWS (or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` from the environment).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`). `None`: path style with a custom
    /// endpoint, virtual-host style on AWS.
    pub path_style: Option<bool>,
    /// Allow plain `http://` to a non-loopback endpoint (loopback is always allowed).
    pub allow_http: bool,
    /// Shared-config profile name (for [`AwsCredentials::DefaultChain`] and the region).
    pub profile: Option<String>,
    /// Credentials source.
    pub credentials: AwsCredentials,
    /// Server-side encryption for writes.
    pub sse: Option<ServerSideEncryption>,
    /// Service quirks.
    pub quirks: S3Quirks,
    /// Provider name reported in [`gureum_core::BackendInfo`] (`aws`, `ncloud`, `nhn`, ...).
    pub provider: String,
    /// URL scheme reported in [`gureum_core::BackendInfo`] (`s3`, `ncloud`, ...).
    pub scheme: String,
    /// Placement zone.
    pub zone: Zone,
    /// Largest object the service accepts, if it is bounded below the S3 limit.
    pub max_object_size: Option<u64>,
    /// Custom CA bundle / client certificate (`ca_file=`, `client_cert=`, `client_key=`).
    pub tls: gureum_core::tls::TlsConfig,
    /// Hash each request body (SHA-256) into its SigV4 signature (`sign_payload=`). `None`:
    /// only over plain http to a non-loopback host; over TLS (and on loopback) the body is
    /// sent as `UNSIGNED-PAYLOAD`, as the AWS SDKs and s5cmd do over HTTPS: TLS protects the
    /// bytes in transit, and the MD5 etag S3 returns still lets a caller check what was
    /// stored (`gureum sync` does, for every object). Saves one SHA-256 pass per uploaded
    /// byte.
    pub sign_payload: Option<bool>,
}

impl S3Config {
    /// AWS defaults for `bucket`: default credential chain, region from the chain, foreign zone.
    ///
    /// ```
    /// use gureum_aws::{AwsCredentials, S3Config};
    /// let cfg = S3Config::new("b");
    /// assert_eq!((cfg.provider.as_str(), cfg.scheme.as_str()), ("aws", "s3"));
    /// assert_eq!(cfg.credentials, AwsCredentials::DefaultChain);
    /// ```
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            region: None,
            endpoint: None,
            path_style: None,
            allow_http: false,
            profile: None,
            credentials: AwsCredentials::DefaultChain,
            sse: None,
            quirks: S3Quirks::default(),
            provider: "aws".into(),
            scheme: "s3".into(),
            zone: Zone::Foreign,
            max_object_size: None,
            tls: gureum_core::tls::TlsConfig::default(),
            sign_payload: None,
        }
    }

    /// Parse `s3://bucket?region=&endpoint=&profile=&allow_http=&path_style=&sse=&sse_kms_key_id=`
    /// (also `checksum=when_required`, `list_version=1`, `sign_payload=`). Works for any scheme, so presets
    /// can parse their own URLs with it and then adjust.
    ///
    /// ```
    /// use gureum_aws::S3Config;
    /// use gureum_core::ResourceUrl;
    /// // A city's own S3-compatible store, plain http allowed on purpose.
    /// let u = ResourceUrl::parse("s3://archive?endpoint=http://s3.city.internal:9000&allow_http=true&list_version=1").unwrap();
    /// let cfg = S3Config::from_url(&u).unwrap();
    /// assert_eq!(cfg.endpoint.as_deref(), Some("http://s3.city.internal:9000"));
    /// assert!(cfg.allow_http && cfg.quirks.list_objects_v1);
    /// assert!(S3Config::from_url(&ResourceUrl::parse("s3://b?sse=rot13").unwrap()).is_err());
    /// ```
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let bucket = url.host().to_string();
        if bucket.is_empty() {
            return Err(Error::invalid(format!(
                "{url}: missing bucket name (s3://BUCKET)"
            )));
        }
        let path = url.path();
        if !(path.is_empty() || path == "/") {
            return Err(Error::invalid(format!(
                "{url}: unexpected path {path:?}; use s3://BUCKET?params (a key prefix is not part of the URL)"
            )));
        }
        let mut c = S3Config::new(bucket);
        c.region = url.param("region").map(str::to_string);
        c.endpoint = url.param("endpoint").map(str::to_string);
        c.profile = url.param("profile").map(str::to_string);
        c.allow_http = url.bool_param("allow_http")?.unwrap_or(false);
        c.tls = gureum_core::tls::TlsConfig::from_params(url.params())?;
        c.sign_payload = url.bool_param("sign_payload")?;
        c.path_style = url.bool_param("path_style")?;
        if let Some(a) = url.param("addressing") {
            c.path_style = Some(match a {
                "path" => true,
                "virtual" | "virtual-host" | "virtual_host" => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "addressing={a:?}: use path or virtual"
                    )))
                }
            });
        }
        if let Some(v) = url.param("checksum") {
            c.quirks.checksum_when_required = match v {
                "when_required" | "when-required" => true,
                "when_supported" | "when-supported" => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "checksum={v:?}: use when_required or when_supported"
                    )))
                }
            };
        }
        if let Some(v) = url.param("list_version") {
            c.quirks.list_objects_v1 = match v {
                "1" => true,
                "2" => false,
                _ => return Err(Error::invalid(format!("list_version={v:?}: use 1 or 2"))),
            };
        }
        if let Some(v) = url.bool_param("metadata_underscore")? {
            c.quirks.metadata_underscore = v;
        }
        if let Some(v) = url.bool_param("conditional_put")? {
            c.quirks.conditional_put = v;
            c.quirks.probe_conditional = false;
        }
        let kms_key = url.param("sse_kms_key_id").map(str::to_string);
        c.sse = match url.param("sse") {
            None if kms_key.is_some() => Some(ServerSideEncryption::Kms {
                key_id: kms_key,
                bucket_key: false,
            }),
            None => None,
            Some("AES256") | Some("aes256") | Some("s3") => Some(ServerSideEncryption::S3),
            Some("aws:kms") | Some("kms") => Some(ServerSideEncryption::Kms {
                key_id: kms_key,
                bucket_key: url.bool_param("sse_bucket_key")?.unwrap_or(false),
            }),
            Some("aws:kms:dsse") | Some("dsse") => Some(ServerSideEncryption::DsseKms {
                key_id: kms_key
                    .ok_or_else(|| Error::invalid("sse=aws:kms:dsse needs sse_kms_key_id"))?,
            }),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "sse={other:?}: use AES256, aws:kms or aws:kms:dsse"
                )))
            }
        };
        if let (Some(a), Some(s)) = (url.param("access_key_env"), url.param("secret_key_env")) {
            c.credentials = AwsCredentials::from_env_vars(a, s);
        }
        Ok(c)
    }

    /// Set the region.
    ///
    /// ```
    /// assert_eq!(gureum_aws::S3Config::new("b").region("ap-northeast-2").region.as_deref(), Some("ap-northeast-2"));
    /// ```
    pub fn region(mut self, r: impl Into<String>) -> Self {
        self.region = Some(r.into());
        self
    }
    /// Set a custom endpoint.
    ///
    /// ```
    /// let cfg = gureum_aws::S3Config::new("b").endpoint("http://127.0.0.1:5000");
    /// assert_eq!(cfg.effective_endpoint().as_deref(), Some("http://127.0.0.1:5000"));
    /// ```
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.endpoint = Some(e.into());
        self
    }
    /// Choose path-style (`true`) or virtual-host (`false`) addressing.
    ///
    /// ```
    /// let cfg = gureum_aws::S3Config::new("b").path_style(false);
    /// assert!(!cfg.effective_path_style());
    /// ```
    pub fn path_style(mut self, v: bool) -> Self {
        self.path_style = Some(v);
        self
    }
    /// Allow plain http to a non-loopback endpoint.
    ///
    /// ```
    /// assert!(gureum_aws::S3Config::new("b").allow_http(true).allow_http);
    /// ```
    pub fn allow_http(mut self, v: bool) -> Self {
        self.allow_http = v;
        self
    }
    /// Sign request bodies into SigV4 (`true`) or send `UNSIGNED-PAYLOAD` (`false`); by
    /// default only plain http to a non-loopback host is signed.
    ///
    /// ```
    /// let cfg = gureum_aws::S3Config::new("b").endpoint("http://s3.city.internal:9000");
    /// assert!(cfg.clone().effective_sign_payload()); // plain http to another host: signed
    /// assert!(!cfg.sign_payload(false).effective_sign_payload());
    /// let aws = gureum_aws::S3Config::new("b").endpoint("https://s3.ap-northeast-2.amazonaws.com");
    /// assert!(!aws.effective_sign_payload()); // TLS
    /// assert!(!gureum_aws::S3Config::new("b").endpoint("http://127.0.0.1:9000").effective_sign_payload());
    /// ```
    pub fn sign_payload(mut self, v: bool) -> Self {
        self.sign_payload = Some(v);
        self
    }
    /// Whether request bodies are hashed into the SigV4 signature: the explicit setting, else
    /// only for plain http to a non-loopback endpoint.
    ///
    /// ```
    /// assert!(gureum_aws::S3Config::new("b").sign_payload(true).effective_sign_payload());
    /// ```
    pub fn effective_sign_payload(&self) -> bool {
        if let Some(v) = self.sign_payload {
            return v;
        }
        match self
            .effective_endpoint()
            .and_then(|e| url::Url::parse(&e).ok())
        {
            None => false,
            Some(u) => {
                u.scheme() == "http"
                    && !u
                        .host_str()
                        .is_some_and(gureum_core::transport::is_loopback_host)
            }
        }
    }
    /// Select a shared-config profile.
    ///
    /// ```
    /// assert_eq!(gureum_aws::S3Config::new("b").profile("city").profile.as_deref(), Some("city"));
    /// ```
    pub fn profile(mut self, p: impl Into<String>) -> Self {
        self.profile = Some(p.into());
        self
    }
    /// Set the credentials source.
    ///
    /// ```
    /// use gureum_aws::{AwsCredentials, S3Config};
    /// let cfg = S3Config::new("open-data").credentials(AwsCredentials::Anonymous); // a public bucket
    /// assert_eq!(cfg.credentials, AwsCredentials::Anonymous);
    /// ```
    pub fn credentials(mut self, c: AwsCredentials) -> Self {
        self.credentials = c;
        self
    }
    /// Set server-side encryption.
    ///
    /// ```
    /// use gureum_aws::{S3Config, ServerSideEncryption};
    /// assert_eq!(S3Config::new("b").sse(ServerSideEncryption::S3).sse, Some(ServerSideEncryption::S3));
    /// ```
    pub fn sse(mut self, s: ServerSideEncryption) -> Self {
        self.sse = Some(s);
        self
    }
    /// Set the quirks.
    ///
    /// ```
    /// use gureum_aws::{S3Config, S3Quirks};
    /// assert!(S3Config::new("b").quirks(S3Quirks::swift_s3api()).quirks.checksum_when_required);
    /// ```
    pub fn quirks(mut self, q: S3Quirks) -> Self {
        self.quirks = q;
        self
    }
    /// Set provider name and URL scheme reported in [`gureum_core::BackendInfo`].
    ///
    /// ```
    /// let cfg = gureum_aws::S3Config::new("b").provider("nhn", "nhn-s3");
    /// assert_eq!((cfg.provider.as_str(), cfg.scheme.as_str()), ("nhn", "nhn-s3"));
    /// ```
    pub fn provider(mut self, provider: impl Into<String>, scheme: impl Into<String>) -> Self {
        self.provider = provider.into();
        self.scheme = scheme.into();
        self
    }
    /// Set the placement zone.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// assert_eq!(gureum_aws::S3Config::new("b").zone(Zone::OnPrem).zone, Zone::OnPrem);
    /// ```
    pub fn zone(mut self, z: Zone) -> Self {
        self.zone = z;
        self
    }
    /// Set the bucket (used by the bucket admin's `open`).
    ///
    /// ```
    /// assert_eq!(gureum_aws::S3Config::new("a").bucket("b").bucket, "b");
    /// ```
    pub fn bucket(mut self, b: impl Into<String>) -> Self {
        self.bucket = b.into();
        self
    }
    /// Bound the object size.
    ///
    /// ```
    /// assert_eq!(gureum_aws::S3Config::new("b").max_object_size(5 << 30).max_object_size, Some(5 << 30));
    /// ```
    pub fn max_object_size(mut self, n: u64) -> Self {
        self.max_object_size = Some(n);
        self
    }

    /// The endpoint to use: explicit, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`.
    ///
    /// ```
    /// std::env::remove_var("AWS_ENDPOINT_URL");
    /// std::env::set_var("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000");
    /// assert_eq!(gureum_aws::S3Config::new("b").effective_endpoint().as_deref(), Some("http://127.0.0.1:5000"));
    /// ```
    pub fn effective_endpoint(&self) -> Option<String> {
        self.endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|s| !s.is_empty())
    }

    /// Whether requests use path-style addressing.
    ///
    /// ```
    /// std::env::remove_var("AWS_ENDPOINT_URL_S3");
    /// std::env::remove_var("AWS_ENDPOINT_URL");
    /// let aws = gureum_aws::S3Config::new("b");
    /// assert!(!aws.effective_path_style()); // virtual-host style on AWS
    /// assert!(aws.endpoint("http://127.0.0.1:5000").effective_path_style()); // path style on a custom endpoint
    /// ```
    pub fn effective_path_style(&self) -> bool {
        self.path_style
            .unwrap_or_else(|| self.effective_endpoint().is_some())
    }
}

/// Check a region name: non-empty, `[A-Za-z0-9-]`, upper case only with the quirk.
pub(crate) fn validate_region(region: &str, allow_upper: bool) -> Result<()> {
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(format!("region {region:?} is malformed")));
    }
    if !allow_upper && region.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(Error::invalid(format!(
            "region {region:?} has upper-case letters; AWS regions are lower case \
             (set S3Quirks::uppercase_region for services that name regions like KR1)"
        )));
    }
    Ok(())
}

/// Parse and check an endpoint URL (TLS rule of `gureum_core::transport`).
pub(crate) fn parse_endpoint(e: &str, allow_http: bool) -> Result<url::Url> {
    let u = url::Url::parse(e).map_err(|err| Error::invalid(format!("endpoint {e:?}: {err}")))?;
    gureum_core::transport::check_endpoint(&u, allow_http)?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let u = ResourceUrl::parse(
            "s3://b1?region=ap-northeast-2&endpoint=http://127.0.0.1:5000&path_style=false&sse=aws:kms&sse_kms_key_id=k1&checksum=when_required&list_version=1",
        )
        .unwrap();
        let c = S3Config::from_url(&u).unwrap();
        assert_eq!(c.bucket, "b1");
        assert_eq!(c.region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(c.path_style, Some(false));
        assert!(c.quirks.checksum_when_required && c.quirks.list_objects_v1);
        assert_eq!(
            c.sse,
            Some(ServerSideEncryption::Kms {
                key_id: Some("k1".into()),
                bucket_key: false
            })
        );
        assert!(S3Config::from_url(&ResourceUrl::parse("s3://b/x").unwrap()).is_err());
        assert!(S3Config::from_url(&ResourceUrl::parse("s3://b?sse=rot13").unwrap()).is_err());
    }

    #[test]
    fn regions() {
        assert!(validate_region("us-east-1", false).is_ok());
        assert!(validate_region("KR1", false).is_err());
        assert!(validate_region("KR1", true).is_ok());
        assert!(validate_region("a b", true).is_err());
    }

    #[test]
    fn secrets_not_in_debug() {
        let c = S3Config::new("b").credentials(AwsCredentials::static_keys("AK", "hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let s = ServerSideEncryption::CustomerKey(SecretString::from("k3y".to_string()));
        assert!(!format!("{s:?}").contains("k3y"));
    }

    #[test]
    fn tls_rule() {
        assert!(parse_endpoint("http://127.0.0.1:5000", false).is_ok());
        assert!(parse_endpoint("http://s3.example.com", false).is_err());
        assert!(parse_endpoint("http://s3.example.com", true).is_ok());
    }
}
