//! [`S3Store`]: the `ObjectStore` gureum hands out for S3 and S3-compatible services.
//!
//! Reads, writes, copies and multipart uploads go to object_store's `AmazonS3` (which
//! percent-encodes the key in the request path and in `x-amz-copy-source` with its strict
//! path set, so `+`, `%`, `?`, `#`, spaces and non-ASCII reach the server as the exact key).
//! What this wrapper adds:
//!
//! * **Tolerant listing.** `AmazonS3` parses every listed key with `Path::parse` and fails the
//!   whole listing on one key it cannot represent (`a//b`, `dir/`, `./x`, control
//!   characters), which other tools write freely. This store lists itself, through aws-sdk-s3
//!   with ListObjectsV2 (continuation tokens, `start-after`) or ListObjects **V1** (marker
//!   pagination, for Naver Cloud), always with `encoding-type=url` so that keys XML 1.0
//!   cannot carry (control characters) arrive intact; it percent-decodes them and skips keys
//!   outside the portable key space (`gureum_core::key::check_key`) through
//!   `gureum_core::key::report_foreign_name` (a `tracing` warning, and the skip count of the
//!   `Bucket` listing: `ListPage::skipped`, `Bucket::list_all_counted`, `gureum ls`).
//! * **User metadata** encoded as S3 documents for non-ASCII values (RFC 2047, see
//!   [`crate::metadata`]) and decoded on read; names checked.

use crate::error::from_sdk;
use crate::metadata;
use async_trait::async_trait;
use aws_sdk_s3::types::EncodingType;
use chrono::{TimeZone, Utc};
use futures::stream::{BoxStream, StreamExt};
use gureum_core::key::{check_key, report_foreign_name, KeyRule};
use gureum_core::ErrorKind;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyOptions, GetOptions, GetResult, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Page size of list requests.
const PAGE: i32 = 1000;
/// Upper bound on pages per listing (bounded loops): 10 million keys.
const MAX_PAGES: usize = 10_000;

/// Which S3 listing API to use.
///
/// Example: see [`S3Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListApi {
    /// ListObjectsV2 (`list-type=2`, continuation tokens, `start-after`).
    V2,
    /// ListObjects V1 (`marker`): for services without V2 (Naver Cloud Object Storage).
    V1,
}

/// The `ObjectStore` of S3 buckets: `AmazonS3` plus tolerant listing and metadata encoding.
///
/// # Examples
///
/// Building the store by hand (what [`open_s3`](crate::open_s3) does from the quirks); no
/// request is made:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_aws::{Conditional, ListApi, S3Native, S3Store};
/// use gureum_core::ResourceUrl;
/// std::env::set_var("DOC_S3_AK", "AKIDEXAMPLE");
/// std::env::set_var("DOC_S3_SK", "example-secret");
/// let url = "s3://open-data?region=ap-northeast-2&endpoint=http://127.0.0.1:9&path_style=true&conditional_put=false\
///            &access_key_env=DOC_S3_AK&secret_key_env=DOC_S3_SK";
/// let bucket = gureum_aws::open_s3(gureum_aws::S3Config::from_url(&ResourceUrl::parse(url)?)?).await?;
/// let native = bucket.native::<S3Native>().unwrap();
/// assert_eq!(native.s3_store().conditional(), Conditional::Off); // conditional_put=false
/// let store = S3Store::new(native.amazon_s3().clone(), native.client().clone(), "open-data".into())
///     .with_list_api(ListApi::V1) // services without ListObjectsV2
///     .with_page_size(500)
///     .with_metadata_underscore(true, false) // multipart drops `_` names: refuse them there
///     .with_max_metadata_value(Some(1024))
///     .with_conditional(Conditional::Off, "http://127.0.0.1:9");
/// assert_eq!(store.probe_conditional().await, Conditional::Off); // known: not probed
/// assert!(std::sync::Arc::ptr_eq(store.amazon_s3(), native.amazon_s3()));
/// #[allow(deprecated)]
/// let _old: &gureum_aws::list_v1::V1ListStore = &store; // the former name
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<AmazonS3>,
    client: aws_sdk_s3::Client,
    bucket: String,
    api: ListApi,
    page_size: i32,
    metadata_underscore: bool,
    metadata_underscore_multipart: bool,
    max_metadata_value: Option<usize>,
    /// Whether the service enforces `If-None-Match`/`If-Match` (probed once per endpoint).
    conditional: Arc<ConditionalCheck>,
}

/// What is known about a service's conditional writes.
///
/// Example: see [`S3Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// Configured as enforced (AWS, or `conditional_put=true`): not probed.
    Trusted,
    /// Configured off (`conditional_put=false` or the service's quirks).
    Off,
    /// The probe saw both preconditions enforced.
    Enforced,
    /// The probe saw a precondition ignored: conditional writes are refused (`Unsupported`).
    Ignored,
    /// Not probed yet (a custom endpoint whose bucket could not be probed at open): probed on
    /// the first conditional write.
    Unknown,
}

/// Probe results per endpoint, for the whole process.
fn probe_cache() -> &'static std::sync::Mutex<std::collections::HashMap<String, Conditional>> {
    static C: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Conditional>>,
    > = std::sync::OnceLock::new();
    C.get_or_init(Default::default)
}

/// The conditional-write state of one store, with the endpoint it is cached under.
#[derive(Debug)]
struct ConditionalCheck {
    endpoint: String,
    state: std::sync::Mutex<Conditional>,
    probing: tokio::sync::Mutex<()>,
}

impl ConditionalCheck {
    fn get(&self) -> Conditional {
        self.state
            .lock()
            .map(|s| *s)
            .unwrap_or(Conditional::Unknown)
    }
    fn set(&self, c: Conditional) {
        if let Ok(mut s) = self.state.lock() {
            *s = c;
        }
        if matches!(c, Conditional::Enforced | Conditional::Ignored) {
            if let Ok(mut m) = probe_cache().lock() {
                m.insert(self.endpoint.clone(), c);
            }
        }
    }
}

/// The former name of [`S3Store`] (it listed with V1 only).
///
/// Example: see [`S3Store`].
pub type V1ListStore = S3Store;

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("api", &self.api)
            .finish()
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store({})", self.inner)
    }
}

impl S3Store {
    /// Wrap `inner`; listing goes through `client` (aws-sdk-s3) on `bucket` with
    /// ListObjects **V1** (the historical behaviour of this type; see [`S3Store::with_list_api`]).
    ///
    /// Example: see [`S3Store`].
    pub fn new(inner: Arc<AmazonS3>, client: aws_sdk_s3::Client, bucket: String) -> Self {
        S3Store {
            inner,
            client,
            bucket,
            api: ListApi::V1,
            page_size: PAGE,
            metadata_underscore: true,
            metadata_underscore_multipart: true,
            max_metadata_value: None,
            conditional: Arc::new(ConditionalCheck {
                endpoint: String::new(),
                state: std::sync::Mutex::new(Conditional::Trusted),
                probing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// How conditional writes are treated: `Trusted`/`Off` as configured, or `Unknown` to
    /// probe the service behind `endpoint` (cached per endpoint for the process) — see
    /// [`S3Store::probe_conditional`].
    ///
    /// Example: see [`S3Store`].
    pub fn with_conditional(mut self, c: Conditional, endpoint: &str) -> Self {
        let cached = probe_cache()
            .lock()
            .ok()
            .and_then(|m| m.get(endpoint).copied());
        let state = match (c, cached) {
            (Conditional::Unknown, Some(known)) => known,
            (c, _) => c,
        };
        self.conditional = Arc::new(ConditionalCheck {
            endpoint: endpoint.to_string(),
            state: std::sync::Mutex::new(state),
            probing: tokio::sync::Mutex::new(()),
        });
        self
    }

    /// The conditional-write state ([`Conditional`]).
    ///
    /// Example: see [`S3Store`].
    pub fn conditional(&self) -> Conditional {
        self.conditional.get()
    }

    /// Find out whether the service enforces `If-None-Match: *` and `If-Match` on PUT, if
    /// that is not known yet: write a probe object (`.gureum-probe/conditional-<uuid>`),
    /// write it again create-only and with a wrong etag, then delete it. Several
    /// S3-compatible servers ignore both headers and overwrite: a create-only write that
    /// silently overwrites is data loss, so such a service gets `Ignored` and conditional
    /// writes are refused with `Unsupported`. A probe that cannot run (no bucket yet, no
    /// write permission) leaves the state `Unknown`, probed again at the next conditional
    /// write. Returns the state.
    ///
    /// Example: see [`S3Store`].
    pub async fn probe_conditional(&self) -> Conditional {
        if self.conditional.get() != Conditional::Unknown {
            return self.conditional.get();
        }
        let _g = self.conditional.probing.lock().await;
        if self.conditional.get() != Conditional::Unknown {
            return self.conditional.get();
        }
        // Verbatim key space (Path::parse), like every key gureum writes. The name is ASCII
        // and always valid; were it not, conditional writes stay off (the safe answer).
        let name = format!(".gureum-probe/conditional-{}", uuid::Uuid::new_v4());
        let Ok(key) = Path::parse(&name) else {
            return Conditional::Off;
        };
        let outcome = self.run_probe(&key).await;
        let _ = object_store::ObjectStoreExt::delete(self.inner.as_ref(), &key).await;
        match outcome {
            Ok(c) => {
                if c == Conditional::Ignored {
                    tracing::warn!(
                        endpoint = %self.conditional.endpoint,
                        "this S3-compatible service ignores If-None-Match/If-Match: \
                         conditional writes are refused (Unsupported) instead of overwriting"
                    );
                }
                self.conditional.set(c);
                c
            }
            Err(e) => {
                tracing::debug!(error = %e, "conditional-write probe did not run; will retry");
                Conditional::Unknown
            }
        }
    }

    async fn run_probe(&self, key: &Path) -> object_store::Result<Conditional> {
        use object_store::{PutMode, UpdateVersion};
        self.inner
            .put_opts(key, PutPayload::from_static(b"1"), PutOptions::default())
            .await?;
        let create = self
            .inner
            .put_opts(
                key,
                PutPayload::from_static(b"2"),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await;
        match create {
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {}
            Ok(_) => return Ok(Conditional::Ignored),
            Err(e) => return Err(e),
        }
        let update = self
            .inner
            .put_opts(
                key,
                PutPayload::from_static(b"3"),
                PutOptions {
                    mode: PutMode::Update(UpdateVersion {
                        e_tag: Some("\"00000000000000000000000000000000\"".into()),
                        version: None,
                    }),
                    ..Default::default()
                },
            )
            .await;
        match update {
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => Ok(Conditional::Enforced),
            Ok(_) => Ok(Conditional::Ignored),
            Err(e) => Err(e),
        }
    }

    /// Refuse a conditional operation the service would ignore (probing first if needed).
    async fn check_conditional(&self, what: &str) -> object_store::Result<()> {
        match self.probe_conditional().await {
            Conditional::Ignored | Conditional::Off => Err(object_store::Error::NotImplemented {
                operation: format!("{what} (the service does not enforce preconditions)"),
                implementer: "S3Store".to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Choose the listing API.
    ///
    /// Example: see [`S3Store`].
    pub fn with_list_api(mut self, api: ListApi) -> Self {
        self.api = api;
        self
    }

    /// Set the page size of list requests (1..=1000; default 1000).
    ///
    /// Example: see [`S3Store`].
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 1000) as i32;
        self
    }

    /// Whether the service keeps metadata names containing `_` on a plain PUT and on a
    /// multipart upload (default true, true). Where it does not, writing such a name fails with
    /// `NotImplemented` instead of losing or renaming it silently.
    ///
    /// Example: see [`S3Store`].
    pub fn with_metadata_underscore(mut self, put: bool, multipart: bool) -> Self {
        self.metadata_underscore = put;
        self.metadata_underscore_multipart = multipart;
        self
    }

    /// Longest metadata value (bytes as sent, after encoding) the service stores; longer
    /// values fail before any request.
    ///
    /// Example: see [`S3Store`].
    pub fn with_max_metadata_value(mut self, n: Option<usize>) -> Self {
        self.max_metadata_value = n;
        self
    }

    /// The wrapped `AmazonS3`.
    ///
    /// Example: see [`S3Store`].
    pub fn amazon_s3(&self) -> &Arc<AmazonS3> {
        &self.inner
    }

    /// The key of a listed name, or `None` (reported to the listing's skip count) when the
    /// name is outside the portable key space.
    fn decode_listed(&self, raw: &str, url: bool) -> Option<String> {
        match unescape(raw, url) {
            Some(k) => match check_key(&k) {
                Ok(()) => Some(k),
                Err(rule) => {
                    report_foreign_name(&k, rule);
                    None
                }
            },
            None => {
                report_foreign_name(raw, KeyRule::NotUtf8);
                None
            }
        }
    }

    async fn page(
        &self,
        prefix: Option<&str>,
        delimiter: bool,
        cursor: Option<&Cursor>,
    ) -> object_store::Result<Page> {
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        let mut last_raw: Option<String> = None;
        let (truncated, token) = match self.api {
            ListApi::V2 => {
                let mut req = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .encoding_type(EncodingType::Url)
                    .set_prefix(prefix.map(str::to_string))
                    .set_delimiter(delimiter.then(|| "/".to_string()))
                    .max_keys(self.page_size);
                match cursor {
                    Some(Cursor::Token(t)) => req = req.continuation_token(t),
                    Some(Cursor::After(a)) => req = req.start_after(a),
                    None => {}
                }
                let r = req
                    .customize()
                    .interceptor(crate::body_cap::BodyCap {
                        limit: crate::body_cap::MAX_LIST_RESPONSE_BYTES,
                    })
                    .send()
                    .await
                    .map_err(|e| {
                        from_sdk("ListObjectsV2", &self.bucket, e)
                            .into_object_store("S3", &self.bucket)
                    })?;
                let url = r.encoding_type() == Some(&EncodingType::Url);
                for o in r.contents() {
                    self.push_object(
                        &mut objects,
                        &mut last_raw,
                        url,
                        o.key(),
                        (o.last_modified().copied(), o.size(), o.e_tag()),
                    )?;
                }
                for p in r.common_prefixes() {
                    self.push_prefix(&mut prefixes, &mut last_raw, url, prefix, p.prefix());
                }
                (
                    r.is_truncated().unwrap_or(false),
                    r.next_continuation_token()
                        .filter(|t| !t.is_empty())
                        .map(|t| Cursor::Token(t.to_string())),
                )
            }
            ListApi::V1 => {
                let marker = match cursor {
                    Some(Cursor::After(a)) => Some(a.clone()),
                    _ => None,
                };
                let r = self
                    .client
                    .list_objects()
                    .bucket(&self.bucket)
                    .encoding_type(EncodingType::Url)
                    .set_prefix(prefix.map(str::to_string))
                    .set_marker(marker)
                    .set_delimiter(delimiter.then(|| "/".to_string()))
                    .max_keys(self.page_size)
                    .customize()
                    .interceptor(crate::body_cap::BodyCap {
                        limit: crate::body_cap::MAX_LIST_RESPONSE_BYTES,
                    })
                    .send()
                    .await
                    .map_err(|e| {
                        from_sdk("ListObjects", &self.bucket, e)
                            .into_object_store("S3", &self.bucket)
                    })?;
                let url = r.encoding_type() == Some(&EncodingType::Url);
                for o in r.contents() {
                    self.push_object(
                        &mut objects,
                        &mut last_raw,
                        url,
                        o.key(),
                        (o.last_modified().copied(), o.size(), o.e_tag()),
                    )?;
                }
                for p in r.common_prefixes() {
                    self.push_prefix(&mut prefixes, &mut last_raw, url, prefix, p.prefix());
                }
                // AWS sends NextMarker only with a delimiter, percent-encoded under
                // `encoding-type=url` (Swift s3api too; moto sends an opaque token there,
                // which decoding leaves as it is). Without it, continue after the greatest
                // key or prefix of this page.
                let next = r
                    .next_marker()
                    .filter(|m| !m.is_empty())
                    .and_then(|m| unescape(m, url))
                    .map(Cursor::After);
                (r.is_truncated().unwrap_or(false), next)
            }
        };
        let next = if !truncated {
            None
        } else {
            match token {
                Some(t) => Some(t),
                None => last_raw.map(Cursor::After),
            }
        };
        Ok(Page {
            objects,
            prefixes,
            next,
        })
    }

    /// Add one listed object. An entry without key, size or last-modified time (S3 always
    /// sends all three; a cut-off or garbled answer that the SDK's lenient parser accepted
    /// does not) fails the listing instead of reporting an object that does not exist as
    /// it is.
    fn push_object(
        &self,
        objects: &mut Vec<ObjectMeta>,
        last_raw: &mut Option<String>,
        url: bool,
        key: Option<&str>,
        fields: (
            Option<aws_smithy_types::DateTime>,
            Option<i64>,
            Option<&str>,
        ),
    ) -> object_store::Result<()> {
        let (modified, size, etag) = fields;
        let incomplete = |what: &str| object_store::Error::Generic {
            store: "S3",
            source: Box::new(gureum_core::Error::new(
                gureum_core::ErrorKind::Unavailable,
                format!(
                    "listing of bucket {}: unreadable response (an entry without {what})",
                    self.bucket
                ),
            )),
        };
        let Some(raw) = key else {
            return Err(incomplete("key"));
        };
        let size = match size {
            Some(n) if n >= 0 => n as u64,
            _ => return Err(incomplete("a valid size")),
        };
        let last_modified = modified
            .and_then(|d| Utc.timestamp_opt(d.secs(), d.subsec_nanos()).single())
            .ok_or_else(|| incomplete("a last-modified time"))?;
        bump(last_raw, raw, url);
        let Some(k) = self.decode_listed(raw, url) else {
            return Ok(());
        };
        let Ok(location) = Path::parse(&k) else {
            return Ok(());
        };
        objects.push(ObjectMeta {
            location,
            last_modified,
            size,
            e_tag: etag.map(str::to_string),
            version: None,
        });
        Ok(())
    }

    fn push_prefix(
        &self,
        prefixes: &mut Vec<Path>,
        last_raw: &mut Option<String>,
        url: bool,
        request_prefix: Option<&str>,
        p: Option<&str>,
    ) {
        let Some(raw) = p else { return };
        bump(last_raw, raw, url);
        // A common prefix is the request prefix plus exactly one more segment and `/`.
        // moto's ListObjects V1 sends common prefixes unencoded even under
        // `encoding-type=url`: when the decoded form cannot be a common prefix of this
        // request but the raw one can, take the raw one.
        let shape_ok = |s: &str| {
            s.strip_prefix(request_prefix.unwrap_or(""))
                .and_then(|rest| rest.strip_suffix('/'))
                .is_some_and(|seg| !seg.contains('/'))
        };
        let decoded = match unescape(raw, url) {
            Some(d) if shape_ok(&d) => Some(d),
            _ if url && shape_ok(raw) => Some(raw.to_string()),
            d => d,
        };
        // A common prefix ends with the delimiter; without it, it must be a portable key.
        let Some(d) = decoded else {
            report_foreign_name(raw, KeyRule::NotUtf8);
            return;
        };
        // `a//` (from `a//b`) is no directory a portable key can be under.
        let dir = d.strip_suffix('/').unwrap_or(&d);
        match check_key(dir) {
            Ok(()) => match Path::parse(dir) {
                Ok(p) => prefixes.push(p),
                Err(_) => report_foreign_name(&d, KeyRule::EmptySegment),
            },
            Err(rule) => report_foreign_name(&d, rule),
        }
    }

    fn list_stream(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let prefix = dir_prefix(prefix);
        let start = offset.map(|o| Cursor::After(o.as_ref().to_string()));
        let this = self.clone();
        // state: (cursor, pages done, finished)
        futures::stream::unfold((start, 0usize, false), move |(cursor, n, done)| {
            let this = this.clone();
            let prefix = prefix.clone();
            async move {
                if done || n >= MAX_PAGES {
                    return None;
                }
                match this.page(prefix.as_deref(), false, cursor.as_ref()).await {
                    Ok(p) => {
                        let finished = p.next.is_none();
                        let items: Vec<object_store::Result<ObjectMeta>> =
                            p.objects.into_iter().map(Ok).collect();
                        Some((futures::stream::iter(items), (p.next, n + 1, finished)))
                    }
                    Err(e) => Some((futures::stream::iter(vec![Err(e)]), (None, n + 1, true))),
                }
            }
        })
        .flatten()
        .boxed()
    }

    fn encode_attributes(
        &self,
        attrs: &Attributes,
        multipart: bool,
    ) -> object_store::Result<Attributes> {
        let underscore = if multipart {
            self.metadata_underscore_multipart
        } else {
            self.metadata_underscore
        };
        let invalid = |msg: String| object_store::Error::Generic {
            store: "S3",
            source: Box::new(gureum_core::Error::invalid(msg)),
        };
        let total: usize = attrs
            .iter()
            .filter_map(|(k, v)| match k {
                Attribute::Metadata(name) => Some(name.len() + v.as_ref().len()),
                _ => None,
            })
            .sum();
        if total > metadata::MAX_TOTAL_BYTES {
            return Err(invalid(format!(
                "user metadata is {total} bytes (names and values in UTF-8); S3 allows {}",
                metadata::MAX_TOTAL_BYTES
            )));
        }
        let mut out = Attributes::with_capacity(attrs.len());
        for (k, v) in attrs {
            match k {
                Attribute::Metadata(name) => {
                    if let Err(e) = metadata::check_name(name, underscore) {
                        return Err(match e.kind() {
                            ErrorKind::Unsupported => object_store::Error::NotImplemented {
                                operation: format!("metadata name {name:?} ({e})"),
                                implementer: "S3Store".to_string(),
                            },
                            _ => object_store::Error::Generic {
                                store: "S3",
                                source: Box::new(e),
                            },
                        });
                    }
                    let value = metadata::encode_value(v.as_ref());
                    if let Some(max) = self.max_metadata_value {
                        if value.len() > max {
                            return Err(invalid(format!(
                                "metadata {name:?}: the value is {} bytes as sent (non-ASCII \
                                 values are RFC 2047 encoded); this service stores at most {max}",
                                value.len()
                            )));
                        }
                    }
                    out.insert(
                        Attribute::Metadata(name.to_ascii_lowercase().into()),
                        AttributeValue::from(value),
                    );
                }
                other => {
                    out.insert(other.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }
}

/// A listed name as stored: percent-decoded when the server used `encoding-type=url` (it
/// says so in the response; a server that ignores the parameter sends names as they are).
fn unescape(raw: &str, url: bool) -> Option<String> {
    if url {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    } else {
        Some(raw.to_string())
    }
}

/// Keep the greatest listed name (decoded; S3 orders by UTF-8 bytes): V1 continues after it.
fn bump(last: &mut Option<String>, raw: &str, url: bool) {
    let name = unescape(raw, url).unwrap_or_else(|| raw.to_string());
    if last.as_deref().is_none_or(|l| l < name.as_str()) {
        *last = Some(name);
    }
}

fn decode_attributes(attrs: &mut Attributes) {
    let encoded: Vec<(Attribute, String)> = attrs
        .iter()
        .filter_map(|(k, v)| match k {
            Attribute::Metadata(_) => {
                let d = metadata::decode_value(v.as_ref());
                (d != v.as_ref()).then(|| (k.clone(), d))
            }
            _ => None,
        })
        .collect();
    for (k, v) in encoded {
        attrs.insert(k, AttributeValue::from(v));
    }
}

enum Cursor {
    /// V2 continuation token (opaque).
    Token(String),
    /// Keys strictly after this stored key (`start-after` / `marker`).
    After(String),
}

struct Page {
    objects: Vec<ObjectMeta>,
    prefixes: Vec<Path>,
    next: Option<Cursor>,
}

/// object_store's listing prefix convention: a directory path, listed as `dir/`.
fn dir_prefix(prefix: Option<&Path>) -> Option<String> {
    prefix
        .filter(|p| !p.as_ref().is_empty())
        .map(|p| format!("{}/", p.as_ref()))
}

/// Native pages of the listing (S3 `start-after`/V1 `marker`, delimiter `/`), for
/// `Bucket::list_page`: one request per call. `offset` is "keys strictly after"; the page
/// token is this store's own cursor (`t` + V2 continuation token or `a` + stored key).
#[async_trait]
impl object_store::list::PaginatedListStore for S3Store {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: object_store::list::PaginatedListOptions,
    ) -> object_store::Result<object_store::list::PaginatedListResult> {
        let cursor = match (opts.page_token, opts.offset) {
            (Some(t), _) => match t.split_at_checked(1) {
                Some(("t", rest)) => Some(Cursor::Token(rest.to_string())),
                Some(("a", rest)) => Some(Cursor::After(rest.to_string())),
                _ => {
                    return Err(object_store::Error::Generic {
                        store: "S3",
                        source: "malformed listing page token".into(),
                    })
                }
            },
            (None, Some(o)) => Some(Cursor::After(o)),
            (None, None) => None,
        };
        let p = self
            .page(prefix, opts.delimiter.is_some(), cursor.as_ref())
            .await?;
        Ok(object_store::list::PaginatedListResult {
            result: ListResult {
                common_prefixes: p.prefixes,
                objects: p.objects,
                extensions: Default::default(),
            },
            page_token: p.next.map(|c| match c {
                Cursor::Token(t) => format!("t{t}"),
                Cursor::After(a) => format!("a{a}"),
            }),
        })
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if !opts.attributes.is_empty() {
            opts.attributes = self.encode_attributes(&opts.attributes, false)?;
        }
        if opts.mode != object_store::PutMode::Overwrite {
            self.check_conditional("conditional put").await?;
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        mut opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if !opts.attributes.is_empty() {
            opts.attributes = self.encode_attributes(&opts.attributes, true)?;
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let mut r = self.inner.get_opts(location, options).await?;
        decode_attributes(&mut r.attributes);
        Ok(r)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.list_stream(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        // `start-after` (V2) and `marker` (V1) are exactly "keys strictly greater".
        self.list_stream(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = dir_prefix(prefix);
        let mut cursor: Option<Cursor> = None;
        let mut objects = Vec::new();
        let mut prefixes = std::collections::BTreeSet::new();
        for _ in 0..MAX_PAGES {
            let p = self.page(prefix.as_deref(), true, cursor.as_ref()).await?;
            objects.extend(p.objects);
            prefixes.extend(p.prefixes);
            cursor = p.next;
            if cursor.is_none() {
                break;
            }
        }
        Ok(ListResult {
            common_prefixes: prefixes.into_iter().collect(),
            objects,
            extensions: Default::default(),
        })
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        if options.mode == object_store::CopyMode::Create {
            self.check_conditional("copy_if_not_exists").await?;
        }
        match self.inner.copy_opts(from, to, options).await {
            // AmazonS3 says NotSupported when copy-if-not-exists is not configured for the
            // service: that is an operation this backend does not implement.
            Err(object_store::Error::NotSupported { source }) => {
                Err(object_store::Error::NotImplemented {
                    operation: format!("copy_if_not_exists ({source})"),
                    implementer: "S3Store".to_string(),
                })
            }
            r => r,
        }
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}
