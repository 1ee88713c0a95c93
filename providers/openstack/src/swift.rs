//! OpenStack Swift as an [`object_store::ObjectStore`], plus container admin
//! ([`BucketAdmin`]), TempURL presigning ([`Presigner`]) and Static Large Object multipart
//! uploads.
//!
//! What Swift 2.30 does and does not do (checked against the SAIO, see docs/openstack.md):
//! `If-None-Match: *` on PUT is honoured (create-only writes) but is not atomic between
//! concurrent writers, so the `conditional_create` capability is reported `false` while
//! `PutMode::Create` is still sent as a best-effort check; `If-Match` on PUT is
//! **ignored** by Swift, so conditional updates are refused with `NotSupported` instead of
//! silently overwriting; `If-None-Match: *` on a COPY is not honoured either, so
//! `copy_if_not_exists` is refused too.

use crate::auth::Session;
use crate::client::{check, http_error, read_json, send, send_streaming};
use crate::error::OsError;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use gureum_core::storage::{BucketAdmin, PresignMethod, Presigner, StorageCapabilities};
use gureum_core::{BackendInfo, Bucket, Error, ErrorKind, Result, Zone};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyMode, CopyOptions, GetOptions, GetRange, GetResult,
    GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Swift's default listing page size limit (`container_listing_limit`); the cluster's own
/// value is read from `/info`.
///
/// Example: see [`SwiftStore`].
pub const LIST_PAGE: usize = 10_000;

/// Most listing pages one listing call reads (a bound on the loop, not a real limit:
/// 100,000 pages of 10,000 entries).
const MAX_LIST_PAGES: usize = 100_000;

/// Characters left as-is in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Same, keeping `/` (object names).
const OBJECT: &AsciiSet = &SEGMENT.remove(b'/');

/// What the cluster's `/info` says (or conservative defaults when it cannot be read).
///
/// Example: see [`SwiftStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwiftInfo {
    /// Swift version.
    pub version: Option<String>,
    /// The `slo` middleware is present.
    pub slo: bool,
    /// Most segments in one SLO manifest.
    pub max_manifest_segments: usize,
    /// The `bulk_delete` middleware is present.
    pub bulk_delete: bool,
    /// Most deletes per bulk request.
    pub max_deletes_per_request: usize,
    /// The `tempurl` middleware is present.
    pub tempurl: bool,
    /// TempURL digests the cluster accepts.
    pub tempurl_digests: Vec<String>,
    /// Largest single object.
    pub max_file_size: Option<u64>,
    /// Most entries in one listing page (`container_listing_limit`).
    pub container_listing_limit: usize,
    /// Longest object name in bytes (`max_object_name_length`).
    pub max_object_name_length: usize,
}

impl Default for SwiftInfo {
    fn default() -> Self {
        SwiftInfo {
            version: None,
            slo: true,
            max_manifest_segments: 1000,
            bulk_delete: false,
            max_deletes_per_request: 1000,
            tempurl: false,
            tempurl_digests: vec!["sha1".into()],
            max_file_size: Some(5 * 1024 * 1024 * 1024),
            container_listing_limit: LIST_PAGE,
            max_object_name_length: 1024,
        }
    }
}

impl SwiftInfo {
    fn from_json(v: &serde_json::Value) -> Self {
        let d = SwiftInfo::default();
        SwiftInfo {
            version: v["swift"]["version"].as_str().map(str::to_string),
            slo: v.get("slo").is_some(),
            max_manifest_segments: v["slo"]["max_manifest_segments"]
                .as_u64()
                .map(|x| x as usize)
                .unwrap_or(d.max_manifest_segments),
            bulk_delete: v.get("bulk_delete").is_some(),
            max_deletes_per_request: v["bulk_delete"]["max_deletes_per_request"]
                .as_u64()
                .map(|x| x as usize)
                .unwrap_or(d.max_deletes_per_request),
            tempurl: v.get("tempurl").is_some(),
            tempurl_digests: v["tempurl"]["allowed_digests"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or(d.tempurl_digests),
            max_file_size: v["swift"]["max_file_size"].as_u64().or(d.max_file_size),
            container_listing_limit: v["swift"]["container_listing_limit"]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|x| x as usize)
                .unwrap_or(d.container_listing_limit),
            max_object_name_length: v["swift"]["max_object_name_length"]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|x| x as usize)
                .unwrap_or(d.max_object_name_length),
        }
    }
}

struct Inner {
    session: Arc<Session>,
    container: String,
    segment_container: String,
    segments_ready: AtomicBool,
    info: SwiftInfo,
    temp_url_key: Mutex<Option<SecretString>>,
    concurrency: usize,
}

/// A Swift container as an `ObjectStore`.
///
/// # Examples
///
/// Against a scripted loopback server playing tempauth, `/info` and the account calls (the
/// answers come in the order of the requests):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{key::encode_key, PresignMethod, Zone};
/// use gureum_openstack::auth::{AuthOptions, Credential, Session};
/// use gureum_openstack::swift::{backend_info, bucket_from_store, fetch_info, SwiftInfo, SwiftStore, LIST_PAGE};
/// use std::{sync::Arc, time::Duration};
/// let (base, seen) = gureum_testkit::scripted::serve(|n, base| match n {
///     0 | 6 => (200, format!("x-storage-url: {base}/v1/AUTH_test\r\nx-auth-token: AUTH_tk1\r\n"), String::new()),
///     1 | 2 | 7 => (200, String::new(), r#"{"swift": {"version": "2.34.0", "container_listing_limit": 500},
///                                       "slo": {"max_manifest_segments": 1000}, "tempurl": {"allowed_digests": ["sha256"]}}"#.into()),
///     3 => (204, String::new(), String::new()),                                  // POST account
///     4 => (204, "x-account-meta-temp-url-key: k2\r\n".into(), String::new()),   // HEAD account
///     _ => (200, String::new(), r#"{"Response Status": "200 OK", "Number Deleted": 3}"#.into()),
/// })
/// .await;
/// let auth = url::Url::parse(&format!("{base}/auth/v1.0")).unwrap();
/// let key = "testing".to_string().into();
/// let session = Arc::new(Session::new(AuthOptions::new(auth, Credential::TempAuth { user: "test:tester".into(), key }))?);
/// let account = session.endpoint("object-store").await?; // tempauth's X-Storage-Url
/// let info: SwiftInfo = fetch_info(&session, &account).await;
/// assert_eq!((info.version.as_deref(), info.container_listing_limit), (Some("2.34.0"), 500));
/// assert_eq!(SwiftInfo::default().container_listing_limit, LIST_PAGE); // when /info is silent
/// let store = SwiftStore::with_info(session.clone(), "complaints".into(), info.clone());
/// let store = store.with_segment_container("complaints-parts");
/// assert_eq!((store.container(), store.segment_container()), ("complaints", "complaints-parts"));
/// assert!(Arc::ptr_eq(store.session(), &session) && store.capabilities().multipart);
/// let store = SwiftStore::connect(session.clone(), "complaints").await?; // reads /info itself
/// assert_eq!(store.info(), &info);
/// assert!(!store.can_presign()); // no TempURL key yet
/// store.set_temp_url_key("k1".to_string().into()).await?; // needs an account admin
/// assert!(store.can_presign());
/// assert!(store.load_temp_url_key().await?); // the key the account holds now
/// store.use_temp_url_key("k3".to_string().into());
/// let key = encode_key("민원/사진 1.jpg")?; // the verbatim key space
/// let u = store.temp_url(PresignMethod::Get, &key, Duration::from_secs(600)).await?;
/// assert!(u.path().ends_with("/v1/AUTH_test/complaints/%EB%AF%BC%EC%9B%90/%EC%82%AC%EC%A7%84%201.jpg"));
/// let sig = u.query_pairs().find(|(k, _)| k == "temp_url_sig").unwrap().1;
/// assert_eq!(sig.len(), 64); // HMAC-SHA256, as /info allows
/// store.delete_with_segments(&key).await?; // manifest and its segments
/// assert!(seen.lock().unwrap()[5].starts_with("DELETE /v1/AUTH_test/complaints/%EB%AF%BC%EC%9B%90/%EC%82%AC%EC%A7%84%201.jpg?multipart-manifest=delete "));
/// // A portable bucket on the store (`SwiftAdmin` for containers, `SwiftPresigner` for TempURLs):
/// let bucket = bucket_from_store(store, backend_info("swift", "openstack", Zone::OnPrem));
/// assert!(bucket.admin().is_ok() && bucket.capabilities().presign);
/// assert!(bucket.presign(PresignMethod::Put, "민원/사진 2.jpg", Duration::from_secs(60)).await?.query().unwrap().contains("temp_url_sig="));
/// assert_eq!(bucket.info().provider, "openstack");
/// // The same from a URL (`open_swift`; `SwiftStorageOpener` serves swift:// in the registry):
/// let url = format!("swift://complaints?auth_url={base}/auth/v1.0&user=test:tester&key=testing&temp_url_key=k4");
/// let bucket = gureum_openstack::open_swift(&gureum_core::ResourceUrl::parse(&url)?).await?;
/// assert!(bucket.capabilities().presign && bucket.info().scheme == "swift");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SwiftStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for SwiftStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwiftStore")
            .field("container", &self.inner.container)
            .finish()
    }
}
impl fmt::Display for SwiftStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Swift({})", self.inner.container)
    }
}

fn enc_seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}
fn enc_obj(s: &str) -> String {
    utf8_percent_encode(s, OBJECT).to_string()
}

fn os_err(e: Error, p: &str) -> object_store::Error {
    e.into_object_store("Swift", p)
}

/// Read `/info` from the root of a Swift endpoint (no token needed).
///
/// Example: see [`SwiftStore`].
pub async fn fetch_info(session: &Session, storage_url: &Url) -> SwiftInfo {
    let mut u = storage_url.clone();
    u.set_path("/info");
    u.set_query(None);
    match session.http().get(u).send().await {
        // Bounded like every other answer: an endless `/info` is not read to the end.
        Ok(r) if r.status().is_success() => {
            match read_json::<serde_json::Value>(session, r, "swift", "GET /info").await {
                Ok(v) => SwiftInfo::from_json(&v),
                Err(_) => SwiftInfo::default(),
            }
        }
        _ => SwiftInfo::default(),
    }
}

impl SwiftStore {
    /// A store on `container`, reading cluster capabilities from `/info`.
    ///
    /// Example: see [`SwiftStore`].
    pub async fn connect(session: Arc<Session>, container: impl Into<String>) -> Result<Self> {
        let container = container.into();
        validate_container(&container)?;
        let ep = session.endpoint("object-store").await?;
        let info = fetch_info(&session, &ep).await;
        Ok(Self::with_info(session, container, info))
    }

    /// A store with known capabilities (no request).
    ///
    /// Example: see [`SwiftStore`].
    pub fn with_info(session: Arc<Session>, container: String, info: SwiftInfo) -> Self {
        let segment_container = format!("{container}_segments");
        SwiftStore {
            inner: Arc::new(Inner {
                session,
                container,
                segment_container,
                segments_ready: AtomicBool::new(false),
                info,
                temp_url_key: Mutex::new(None),
                concurrency: 8,
            }),
        }
    }

    /// Use another container for SLO segments (default `<container>_segments`, the
    /// python-swiftclient convention).
    ///
    /// Example: see [`SwiftStore`].
    pub fn with_segment_container(self, name: impl Into<String>) -> Self {
        let i = &self.inner;
        SwiftStore {
            inner: Arc::new(Inner {
                session: i.session.clone(),
                container: i.container.clone(),
                segment_container: name.into(),
                segments_ready: AtomicBool::new(false),
                info: i.info.clone(),
                temp_url_key: Mutex::new(i.temp_url_key.lock().map(|k| k.clone()).unwrap_or(None)),
                concurrency: i.concurrency,
            }),
        }
    }

    /// Container name.
    ///
    /// Example: see [`SwiftStore`].
    pub fn container(&self) -> &str {
        &self.inner.container
    }
    /// The segment container of SLO uploads.
    ///
    /// Example: see [`SwiftStore`].
    pub fn segment_container(&self) -> &str {
        &self.inner.segment_container
    }
    /// Cluster capabilities.
    ///
    /// Example: see [`SwiftStore`].
    pub fn info(&self) -> &SwiftInfo {
        &self.inner.info
    }
    /// The shared session (token, catalog).
    ///
    /// Example: see [`SwiftStore`].
    pub fn session(&self) -> &Arc<Session> {
        &self.inner.session
    }

    /// The portable capability flags, set honestly from `/info` and Swift's behaviour.
    ///
    /// Example: see [`SwiftStore`].
    pub fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities {
            presign: false, // set by Bucket::with_presigner when a TempURL key is known
            bucket_admin: false,
            // Swift honours `If-None-Match: *` on PUT, but the check is not atomic: of
            // concurrent create-only writers several can succeed (checked on the SAIO).
            conditional_create: false,
            conditional_update: false,
            user_metadata: true,
            content_type: true,
            multipart: self.inner.info.slo,
            copy: true,
            copy_if_not_exists: false,
            sorted_listing: true,
            max_object_size: if self.inner.info.slo {
                None
            } else {
                self.inner.info.max_file_size
            },
            max_parts: self
                .inner
                .info
                .slo
                .then_some(self.inner.info.max_manifest_segments),
        }
    }

    async fn account_url(&self) -> Result<Url> {
        self.inner.session.endpoint("object-store").await
    }

    fn join(base: &Url, container: &str, object: Option<&str>) -> Result<Url> {
        let mut s = base.as_str().trim_end_matches('/').to_string();
        s.push('/');
        s.push_str(&enc_seg(container));
        if let Some(o) = object {
            s.push('/');
            s.push_str(&enc_obj(o));
        }
        Url::parse(&s).map_err(|e| Error::invalid(format!("object URL: {e}")))
    }

    async fn object_url(&self, name: &str) -> Result<Url> {
        Self::join(
            &self.account_url().await?,
            &self.inner.container,
            Some(name),
        )
    }

    /// Set the account's TempURL key (`X-Account-Meta-Temp-URL-Key`; needs an account admin)
    /// and use it for presigning.
    ///
    /// Example: see [`SwiftStore`].
    pub async fn set_temp_url_key(&self, key: SecretString) -> Result<()> {
        let u = self.account_url().await?;
        let mut v = HeaderValue::from_str(key.expose_secret())
            .map_err(|_| Error::invalid("TempURL key is not a valid header value"))?;
        v.set_sensitive(true);
        let r = send(
            &self.inner.session,
            "swift",
            "POST account (temp url key)",
            true,
            |c| {
                c.post(u.clone())
                    .header("x-account-meta-temp-url-key", v.clone())
            },
        )
        .await?;
        check(r, "swift", "POST account").await?;
        *self
            .inner
            .temp_url_key
            .lock()
            .map_err(|_| Error::other("poisoned lock"))? = Some(key);
        Ok(())
    }

    /// Use this TempURL key (already set on the account) for presigning.
    ///
    /// Example: see [`SwiftStore`].
    pub fn use_temp_url_key(&self, key: SecretString) {
        if let Ok(mut g) = self.inner.temp_url_key.lock() {
            *g = Some(key);
        }
    }

    /// Read the account's TempURL key, if one is set and we may read it.
    ///
    /// Example: see [`SwiftStore`].
    pub async fn load_temp_url_key(&self) -> Result<bool> {
        let u = self.account_url().await?;
        let r = send(&self.inner.session, "swift", "HEAD account", true, |c| {
            c.head(u.clone())
        })
        .await?;
        let r = check(r, "swift", "HEAD account").await?;
        let k = r
            .headers()
            .get("x-account-meta-temp-url-key")
            .and_then(|v| v.to_str().ok())
            .map(|s| SecretString::from(s.to_string()));
        let found = k.is_some();
        if let Some(k) = k {
            self.use_temp_url_key(k);
        }
        Ok(found)
    }

    /// Whether presigning is possible (tempurl middleware and a key).
    ///
    /// Example: see [`SwiftStore`].
    pub fn can_presign(&self) -> bool {
        self.inner.info.tempurl
            && self
                .inner
                .temp_url_key
                .lock()
                .map(|g| g.is_some())
                .unwrap_or(false)
    }

    /// A TempURL for `location` (HMAC over `METHOD\nEXPIRES\nPATH`; SHA-256 when the cluster
    /// allows it, else SHA-1).
    ///
    /// Example: see [`SwiftStore`].
    pub async fn temp_url(
        &self,
        method: PresignMethod,
        location: &Path,
        expires: Duration,
    ) -> Result<Url> {
        let key = self
            .inner
            .temp_url_key
            .lock()
            .map_err(|_| Error::other("poisoned lock"))?
            .clone()
            .ok_or_else(|| {
                Error::unsupported("Swift TempURL: no X-Account-Meta-Temp-URL-Key known")
            })?;
        let mut u = self.object_url(location.as_ref()).await?;
        let exp = Utc::now().timestamp() + expires.as_secs().max(1) as i64;
        let m = match method {
            PresignMethod::Get => "GET",
            PresignMethod::Put => "PUT",
        };
        // The signature covers the decoded path, as the middleware sees PATH_INFO.
        let path = percent_encoding::percent_decode_str(u.path())
            .decode_utf8_lossy()
            .into_owned();
        let body = format!("{m}\n{exp}\n{path}");
        use hmac::{Hmac, Mac};
        let sig = if self
            .inner
            .info
            .tempurl_digests
            .iter()
            .any(|d| d == "sha256")
        {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.expose_secret().as_bytes())
                .map_err(|_| Error::other("hmac key"))?;
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        } else {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.expose_secret().as_bytes())
                .map_err(|_| Error::other("hmac key"))?;
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        };
        u.query_pairs_mut()
            .append_pair("temp_url_sig", &sig)
            .append_pair("temp_url_expires", &exp.to_string());
        Ok(u)
    }

    async fn ensure_segment_container(&self) -> Result<()> {
        if self.inner.segments_ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        let u = Self::join(
            &self.account_url().await?,
            &self.inner.segment_container,
            None,
        )?;
        let r = send(
            &self.inner.session,
            "swift",
            "PUT segment container",
            true,
            |c| c.put(u.clone()).header("content-length", "0"),
        )
        .await?;
        check(r, "swift", "PUT segment container").await?;
        self.inner.segments_ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Delete one object; a Static Large Object together with its segments, in one request
    /// where Swift allows it.
    ///
    /// Sends `DELETE ?multipart-manifest=delete` (the `slo` middleware deletes the segments,
    /// then the manifest). Swift answers `200` with a bulk-style JSON report whatever
    /// happened; it is read fully:
    /// * `"Response Status": "200 OK"` — deleted (an SLO and its segments), or nothing was
    ///   there (`"Number Not Found"`): `Ok`, so deleting a missing object succeeds as
    ///   [`Bucket::delete`] promises;
    /// * the object itself reported `Not an SLO manifest` — a plain object, which that
    ///   request leaves in place: a plain `DELETE` follows (two requests for a plain object;
    ///   `404` there is `Ok` too);
    /// * any other failure in the report (a segment that could not be deleted, a manifest
    ///   that could not be read, `Max delete failures exceeded`) is an error of the kind of
    ///   the reported status (`401` → `Unauthenticated`, `5xx` → `Unavailable`, …), never a
    ///   silent success: segments may be left, and the call may be repeated.
    ///
    /// A cluster without the `slo` middleware (`/info`) gets a plain `DELETE`. Segments of a
    /// dynamic large object (`X-Object-Manifest`, written by other tools) are not deleted.
    ///
    /// Example: see [`SwiftStore`].
    pub async fn delete_with_segments(&self, location: &Path) -> Result<()> {
        let name = location.as_ref();
        if !self.inner.info.slo {
            return self.delete_plain(name).await;
        }
        // The report comes with status 200, so the shared HTTP retry never sees a transient
        // failure inside it (e.g. `503 Unable to load SLO manifest or segment.` from a busy
        // cluster): retried here, the request being idempotent.
        let mut wait = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            match self.delete_with_segments_once(name).await {
                Err(e) if e.is_retryable() && attempt < MULTIPART_DELETE_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "multipart delete: retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    async fn delete_with_segments_once(&self, name: &str) -> Result<()> {
        let mut u = self.object_url(name).await?;
        u.set_query(Some("multipart-manifest=delete"));
        let op = "DELETE object (multipart-manifest=delete)";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.delete(u.clone()).header("accept", "application/json")
        })
        .await?;
        match r.status().as_u16() {
            // Nothing there (a proxy that answers for the middleware).
            404 => return Ok(()),
            // No `slo` middleware on this proxy: the query is ignored and the DELETE was a
            // plain one, which succeeded.
            204 => return Ok(()),
            _ => {}
        }
        let r = check(r, "swift", op).await?;
        let report: serde_json::Value = read_json(&self.inner.session, r, "swift", op).await?;
        match multipart_delete_outcome(&report, &self.inner.container, name, op)? {
            MultipartDelete::Done => Ok(()),
            MultipartDelete::NotSlo => self.delete_plain(name).await,
        }
    }

    /// A plain `DELETE`; a missing object is `Ok`.
    async fn delete_plain(&self, name: &str) -> Result<()> {
        match self.delete_one(name).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// Sort `names` (all in this store's container) by how the container listing shows
    /// them: an SLO manifest (`slo_etag`, Swift ≥ 2.19), a plain object, or not listed
    /// (missing, or too new for the listing, which Swift updates asynchronously under
    /// load). Walks the listing from just before the smallest name to the largest one,
    /// jumping over gaps; bounded to about a quarter as many listing requests as names and
    /// a few entries per name: past that, the rest stay `Unlisted` (the caller then treats
    /// them one by one).
    async fn classify(&self, names: &[String]) -> Result<Vec<Listed>> {
        let n = names.len();
        let mut kinds = vec![Listed::Unlisted; n];
        if n == 0 {
            return Ok(kinds);
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| names[*a].cmp(&names[*b]));
        let last = &names[order[n - 1]];
        // Names strictly before `end`: up to and including `last` (no name holds NUL).
        let end = format!("{last}\u{1}");
        let max_pages = 4 + n / 4;
        let max_entries = 8 * n + self.page_limit();
        let (mut pos, mut pages, mut read) = (0usize, 0usize, 0usize);
        let mut marker: Option<String> = None;
        while pos < n && pages < max_pages && read < max_entries {
            let jump = name_before(&names[order[pos]]);
            let m = match marker.take() {
                Some(m) if m > jump => m,
                _ => jump,
            };
            let limit = (n - pos + 16).clamp(1, self.page_limit());
            let page = self
                .list_raw_range(
                    &self.inner.container,
                    None,
                    false,
                    Some(&m),
                    Some(&end),
                    limit,
                )
                .await?;
            pages += 1;
            read += page.len();
            let Some(page_last) = page.last().and_then(|v| v["name"].as_str()) else {
                // Nothing more before `end`: the rest is not listed.
                pos = n;
                break;
            };
            let page_last = page_last.to_string();
            for e in &page {
                let Some(name) = e["name"].as_str() else {
                    continue;
                };
                while pos < n && names[order[pos]].as_str() < name {
                    pos += 1; // not in the listing
                }
                if pos < n && names[order[pos]] == name {
                    kinds[order[pos]] = if e.get("slo_etag").is_some_and(|t| !t.is_null()) {
                        Listed::Slo
                    } else {
                        Listed::Plain
                    };
                    pos += 1;
                }
            }
            marker = Some(page_last);
        }
        let count = |k: Listed| kinds.iter().filter(|x| **x == k).count();
        tracing::debug!(
            names = n,
            listing_pages = pages,
            entries = read,
            slo = count(Listed::Slo),
            plain = count(Listed::Plain),
            unlisted = count(Listed::Unlisted),
            walked_all = pos >= n,
            "swift: SLO manifests among the names to delete"
        );
        Ok(kinds)
    }

    async fn delete_one(&self, name: &str) -> Result<()> {
        let u = self.object_url(name).await?;
        let op = "DELETE object";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.delete(u.clone())
        })
        .await?;
        check(r, "swift", op).await.map(|_| ())
    }

    /// Bulk delete of object names in one container (the `bulk` middleware); returns the
    /// per-name outcome.
    async fn bulk_delete(&self, container: &str, names: &[String]) -> Result<Vec<Result<()>>> {
        // The token in use; the bulk middleware checks it per name, so one that expires while
        // a long bulk request runs fails the remaining names with 401 inside a 200 answer
        // (no 401 for the HTTP layer to renew on): renew it and retry those names once.
        let token = self.inner.session.token().await?;
        let mut out = self.bulk_delete_once(container, names).await?;
        let unauthenticated: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::Unauthenticated)
            })
            .map(|(i, _)| i)
            .collect();
        if !unauthenticated.is_empty() {
            tracing::debug!(
                names = unauthenticated.len(),
                "swift bulk-delete: token expired during the request; renewing and retrying them"
            );
            self.inner.session.invalidate(&token).await;
            let again: Vec<String> = unauthenticated.iter().map(|i| names[*i].clone()).collect();
            let retried = self.bulk_delete_once(container, &again).await?;
            for (i, r) in unauthenticated.into_iter().zip(retried) {
                out[i] = r;
            }
        }
        Ok(out)
    }

    /// One bulk-delete request (see [`SwiftStore::bulk_delete`]).
    async fn bulk_delete_once(&self, container: &str, names: &[String]) -> Result<Vec<Result<()>>> {
        let mut u = self.account_url().await?;
        u.set_query(Some("bulk-delete"));
        let mut body = String::new();
        for n in names {
            body.push('/');
            body.push_str(&enc_seg(container));
            body.push('/');
            body.push_str(&enc_obj(n));
            body.push('\n');
        }
        let body = Bytes::from(body);
        let r = send(
            &self.inner.session,
            "swift",
            "POST bulk-delete",
            true,
            |c| {
                c.post(u.clone())
                    .header("content-type", "text/plain")
                    .header("accept", "application/json")
                    .body(body.clone())
            },
        )
        .await?;
        let r = check(r, "swift", "POST bulk-delete").await?;
        let v: serde_json::Value =
            read_json(&self.inner.session, r, "swift", "POST bulk-delete").await?;
        let status = v["Response Status"].as_str().unwrap_or("");
        let mut failed: std::collections::HashMap<String, String> = Default::default();
        for e in v["Errors"].as_array().into_iter().flatten() {
            if let (Some(n), Some(s)) = (e[0].as_str(), e[1].as_str()) {
                let n = percent_encoding::percent_decode_str(n)
                    .decode_utf8_lossy()
                    .into_owned();
                failed.insert(n, s.to_string());
            }
        }
        if failed.is_empty()
            && !(status.starts_with("200") || status.starts_with("404") || status.is_empty())
        {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("swift bulk-delete: {status}"),
            ));
        }
        Ok(names
            .iter()
            .map(|n| {
                let key = format!("/{container}/{n}");
                match failed.get(&key) {
                    None => Ok(()),
                    Some(s) if s.starts_with("404") => Ok(()),
                    Some(s) => {
                        let code = s
                            .split(' ')
                            .next()
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(500);
                        Err(Error::new(
                            crate::error::kind_for_status(code),
                            format!("swift bulk-delete {n}: {s}"),
                        ))
                    }
                }
            })
            .collect())
    }

    /// One chunk of [`ObjectStore::delete_stream`]: results in the order of `chunk`.
    async fn delete_chunk(
        &self,
        chunk: Vec<object_store::Result<Path>>,
    ) -> Vec<object_store::Result<Path>> {
        let mut out: Vec<Option<object_store::Result<Path>>> = Vec::with_capacity(chunk.len());
        let mut paths: Vec<(usize, Path)> = Vec::new();
        for p in chunk {
            match p {
                Ok(p) => {
                    paths.push((out.len(), p));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        let info = &self.inner.info;
        // Which paths go through the bulk request; the others are deleted one by one.
        let mut bulk: Vec<(usize, Path)> = Vec::new();
        let mut single: Vec<(usize, Path)> = Vec::new();
        if paths.len() > 1 && info.bulk_delete {
            if info.slo {
                let names: Vec<String> =
                    paths.iter().map(|(_, p)| p.as_ref().to_string()).collect();
                match self.classify(&names).await {
                    Ok(kinds) => {
                        for ((i, p), k) in paths.into_iter().zip(kinds) {
                            match k {
                                Listed::Plain => bulk.push((i, p)),
                                Listed::Slo | Listed::Unlisted => single.push((i, p)),
                            }
                        }
                    }
                    Err(e) => {
                        // Without the listing, no manifest can be told apart: each name
                        // is deleted one by one (its segments with it), not in bulk.
                        tracing::debug!(error = %e, "swift: listing for SLO detection failed; deleting one by one");
                        single = paths;
                    }
                }
            } else {
                bulk = paths;
            }
        } else {
            single = paths;
        }
        // Names the listing showed as plain objects need no `multipart-manifest=delete`
        // (one request each when there is no bulk request to share).
        let mut plain: Vec<(usize, Path)> = Vec::new();
        if bulk.len() == 1 {
            plain.append(&mut bulk);
        }
        if !bulk.is_empty() {
            let names: Vec<String> = bulk.iter().map(|(_, p)| p.as_ref().to_string()).collect();
            match self.bulk_delete(&self.inner.container, &names).await {
                Ok(rs) => {
                    for ((i, p), r) in bulk.into_iter().zip(rs) {
                        out[i] = Some(r.map(|_| p.clone()).map_err(|e| os_err(e, p.as_ref())));
                    }
                }
                Err(e) => {
                    for (i, p) in bulk {
                        out[i] = Some(Err(os_err(
                            Error::new(e.kind(), e.message().to_string()),
                            p.as_ref(),
                        )));
                    }
                }
            }
        }
        let single = single
            .into_iter()
            .map(|(i, p)| (i, p, self.inner.info.slo))
            .chain(plain.into_iter().map(|(i, p)| (i, p, false)));
        let done: Vec<(usize, object_store::Result<Path>)> = stream::iter(single)
            .map(|(i, p, maybe_slo)| {
                let this = self.clone();
                async move {
                    let r = if maybe_slo {
                        this.delete_with_segments(&p).await
                    } else {
                        this.delete_plain(p.as_ref()).await
                    };
                    (i, r.map(|_| p.clone()).map_err(|e| os_err(e, p.as_ref())))
                }
            })
            .buffer_unordered(self.inner.concurrency)
            .collect()
            .await;
        for (i, r) in done {
            out[i] = Some(r);
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(object_store::Error::Generic {
                        store: "Swift",
                        source: "delete not attempted".into(),
                    })
                })
            })
            .collect()
    }

    /// Delete segment objects `names` of `container` (bulk requests when the cluster has
    /// the middleware); a missing one is deleted already. The first failure is the error.
    async fn delete_segments(&self, container: &str, names: &[String]) -> Result<()> {
        let results: Vec<Result<()>> = if self.inner.info.bulk_delete {
            let mut all = Vec::new();
            for chunk in names.chunks(self.inner.info.max_deletes_per_request.clamp(1, 1000)) {
                all.extend(self.bulk_delete(container, chunk).await?);
            }
            all
        } else {
            stream::iter(names.to_vec())
                .map(|n| {
                    let store = self.clone();
                    let container = container.to_string();
                    async move {
                        let u =
                            SwiftStore::join(&store.account_url().await?, &container, Some(&n))?;
                        let r = send(&store.inner.session, "swift", "DELETE segment", true, |c| {
                            c.delete(u.clone())
                        })
                        .await?;
                        if r.status().as_u16() == 404 {
                            return Ok(());
                        }
                        check(r, "swift", "DELETE segment").await.map(|_| ())
                    }
                })
                .buffered(8)
                .collect()
                .await
        };
        results.into_iter().find(|r| r.is_err()).unwrap_or(Ok(()))
    }

    /// The segments of the SLO now stored at `name` that gureum may delete once a new
    /// object replaces it: those in this store's segment container under the name's segment
    /// root (`<name>/slo/` or `<sha256 of name>/slo/`, the layout of gureum's uploads and of
    /// python-swiftclient's). Empty for a plain or missing object. A `HEAD`, and for an SLO
    /// a `GET ?multipart-manifest=get` (the manifest, at most 8 MiB by default).
    async fn replaced_segments(&self, name: &str) -> Result<Vec<String>> {
        let u = self.object_url(name).await?;
        let op = "HEAD object (before a manifest)";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.head(u.clone())
        })
        .await?;
        if r.status().as_u16() == 404 {
            return Ok(vec![]);
        }
        let r = check(r, "swift", op).await?;
        let slo = header_str(r.headers(), "x-static-large-object")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if !slo {
            return Ok(vec![]);
        }
        let mut u = u;
        u.set_query(Some("multipart-manifest=get"));
        let op = "GET SLO manifest (before a new one)";
        let r = send(&self.inner.session, "swift", op, true, |c| c.get(u.clone())).await?;
        if r.status().as_u16() == 404 {
            return Ok(vec![]);
        }
        let r = check(r, "swift", op).await?;
        let manifest: Vec<serde_json::Value> =
            read_json(&self.inner.session, r, "swift", op).await?;
        let container = format!("/{}/", self.inner.segment_container);
        let roots = segment_roots(name);
        Ok(manifest
            .iter()
            .filter_map(|seg| seg["name"].as_str())
            .filter_map(|path| {
                let path = percent_encoding::percent_decode_str(path)
                    .decode_utf8()
                    .ok()?;
                let seg = path.strip_prefix(container.as_str())?;
                roots
                    .iter()
                    .any(|r| seg.starts_with(r.as_str()))
                    .then(|| seg.to_string())
            })
            .collect())
    }

    /// List one page of raw entries of `container`.
    async fn list_raw(
        &self,
        container: &str,
        prefix: Option<&str>,
        delimiter: bool,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>> {
        self.list_raw_range(container, prefix, delimiter, marker, None, limit)
            .await
    }

    /// [`Self::list_raw`] with an `end_marker` (entries strictly before it).
    async fn list_raw_range(
        &self,
        container: &str,
        prefix: Option<&str>,
        delimiter: bool,
        marker: Option<&str>,
        end_marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>> {
        let mut u = Self::join(&self.account_url().await?, container, None)?;
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("format", "json")
                .append_pair("limit", &limit.to_string());
            if let Some(p) = prefix {
                q.append_pair("prefix", p);
            }
            if delimiter {
                q.append_pair("delimiter", "/");
            }
            if let Some(m) = marker {
                q.append_pair("marker", m);
            }
            if let Some(m) = end_marker {
                q.append_pair("end_marker", m);
            }
        }
        let op = "GET container listing";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.get(u.clone()).header("accept", "application/json")
        })
        .await?;
        if r.status().as_u16() == 204 {
            return Ok(vec![]);
        }
        let r = check(r, "swift", op).await?;
        let page: Vec<serde_json::Value> = read_json(&self.inner.session, r, "swift", op).await?;
        // Every entry is a subdir or an object with its name, size and time: an entry
        // with fields missing or of the wrong type is a malformed answer, never an
        // object invented with size 0 or skipped in silence.
        if let Some(bad) = page.iter().find(|v| !listing_entry_ok(v)) {
            let shown: String = bad.to_string().chars().take(200).collect();
            return Err(OsError::Decode {
                service: "swift",
                op: op.into(),
                message: format!("listing entry without name, bytes or last_modified: {shown}"),
            }
            .into());
        }
        Ok(page)
    }

    /// The listing page size this cluster allows.
    fn page_limit(&self) -> usize {
        self.inner.info.container_listing_limit.max(1)
    }

    /// Every entry of `container` under `prefix` after `marker`, one page after another
    /// until an empty page (a short page is not taken as the end: a proxy may cut pages
    /// shorter than `limit`). Bounded by [`MAX_LIST_PAGES`].
    fn list_pages(
        &self,
        container: String,
        prefix: Option<String>,
        delimiter: bool,
        marker: Option<String>,
    ) -> BoxStream<'static, Result<Vec<serde_json::Value>>> {
        let this = self.clone();
        let limit = self.page_limit();
        stream::try_unfold((marker, 0usize), move |(marker, pages)| {
            let this = this.clone();
            let container = container.clone();
            let prefix = prefix.clone();
            async move {
                if pages >= MAX_LIST_PAGES {
                    return Ok(None);
                }
                let page = this
                    .list_raw(
                        &container,
                        prefix.as_deref(),
                        delimiter,
                        marker.as_deref(),
                        limit,
                    )
                    .await?;
                let Some(last) = page
                    .last()
                    .and_then(|v| v["name"].as_str().or(v["subdir"].as_str()))
                    .map(str::to_string)
                else {
                    return Ok(None);
                };
                Ok(Some((page, (Some(last), pages + 1))))
            }
        })
        .boxed()
    }

    fn list_from(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let prefix = prefix
            .filter(|p| !p.as_ref().is_empty())
            .map(|p| format!("{}/", p.as_ref()));
        let marker = offset.map(|o| o.as_ref().to_string());
        let what = prefix.clone().unwrap_or_default();
        self.list_pages(self.inner.container.clone(), prefix, false, marker)
            .map(move |page| match page {
                Ok(page) => Ok(stream::iter(
                    page.iter()
                        .filter_map(meta_from_listing)
                        .map(Ok)
                        .collect::<Vec<_>>(),
                )),
                Err(e) => Err(os_err(e, &what)),
            })
            .try_flatten()
            .boxed()
    }

    /// The length of an object whose GET answer carried none: a `HEAD` (a proxy that
    /// re-chunks GET bodies usually keeps it there), else, for a dynamic large object
    /// (`X-Object-Manifest: container/prefix`), the sum of its segments' sizes, listed page
    /// by page as Swift concatenates them. A plain object without any length is a
    /// malformed answer (`Unavailable`).
    async fn length_without_header(&self, name: &str, get_headers: &HeaderMap) -> Result<u64> {
        let u = self.object_url(name).await?;
        let op = "HEAD object";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.head(u.clone())
        })
        .await?;
        let r = check(r, "swift", op).await?;
        if let Some(len) =
            header_str(r.headers(), "content-length").and_then(|s| s.trim().parse::<u64>().ok())
        {
            return Ok(len);
        }
        let manifest = header_str(get_headers, "x-object-manifest")
            .or_else(|| header_str(r.headers(), "x-object-manifest"));
        let Some(manifest) = manifest else {
            return Err(malformed(
                "GET object",
                "an object body without Content-Length (not a dynamic large object)".into(),
            ));
        };
        let manifest = percent_encoding::percent_decode_str(&manifest)
            .decode_utf8_lossy()
            .into_owned();
        let Some((container, prefix)) = manifest.split_once('/') else {
            return Err(malformed(
                "GET object",
                format!("bad X-Object-Manifest {manifest:?}"),
            ));
        };
        let mut total = 0u64;
        let mut pages =
            self.list_pages(container.to_string(), Some(prefix.to_string()), false, None);
        while let Some(page) = pages.next().await {
            for v in page? {
                total = total.saturating_add(v["bytes"].as_u64().unwrap_or(0));
            }
        }
        Ok(total)
    }

    fn meta_headers(attrs: &Attributes) -> object_store::Result<HeaderMap> {
        let mut h = HeaderMap::new();
        for (k, v) in attrs {
            let name: String = match k {
                Attribute::ContentType => "content-type".into(),
                Attribute::ContentDisposition => "content-disposition".into(),
                Attribute::ContentEncoding => "content-encoding".into(),
                Attribute::ContentLanguage => "content-language".into(),
                Attribute::CacheControl => "cache-control".into(),
                Attribute::Metadata(n) => {
                    if n.is_empty() {
                        return Err(object_store::Error::Generic {
                            store: "Swift",
                            source: "empty metadata name".into(),
                        });
                    }
                    format!("x-object-meta-{}", encode_metadata_name(n))
                }
                other => {
                    return Err(object_store::Error::NotSupported {
                        source: format!("Swift has no attribute {other:?}").into(),
                    })
                }
            };
            let hn = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                object_store::Error::Generic {
                    store: "Swift",
                    source: format!("bad metadata name {name:?}").into(),
                }
            })?;
            let hv = HeaderValue::from_bytes(v.as_ref().as_bytes()).map_err(|_| {
                object_store::Error::Generic {
                    store: "Swift",
                    source: format!("bad value for {name:?}").into(),
                }
            })?;
            h.insert(hn, hv);
        }
        Ok(h)
    }
}

/// The segment-name prefix of one SLO upload: `<name>/slo/<upload id>/` (the
/// python-swiftclient layout) while that stays within Swift's 1,024-byte name limit with
/// the 8-digit segment number, else `<sha256 of name>/slo/<upload id>/` so that long
/// (up to 1,024-byte) keys can be uploaded in parts too.
fn segment_prefix(name: &str, upload_id: &str) -> String {
    let [short, long] = segment_roots(name);
    let p = format!("{short}{upload_id}/");
    if p.len() + 8 <= 1024 {
        return p;
    }
    format!("{long}{upload_id}/")
}

/// Both segment roots a name's uploads can use (see [`segment_prefix`]): `<name>/slo/` and
/// `<sha256 of name>/slo/`.
fn segment_roots(name: &str) -> [String; 2] {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    [format!("{name}/slo/"), format!("{h}/slo/")]
}

/// How a container listing shows a name ([`SwiftStore::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// An SLO manifest (`slo_etag` in the entry).
    Slo,
    /// A plain object.
    Plain,
    /// Not in the listing (missing, or not listed yet), or not looked at.
    Unlisted,
}

/// Attempts of one `DELETE ?multipart-manifest=delete` whose report names a transient
/// failure (the HTTP layer's own retries of the request come on top).
const MULTIPART_DELETE_ATTEMPTS: u32 = 3;

/// What a `DELETE ?multipart-manifest=delete` report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MultipartDelete {
    /// The manifest and its segments are gone, or nothing was there.
    Done,
    /// The object is a plain one (Swift left it in place).
    NotSlo,
}

/// Read the bulk-style JSON report of `DELETE /container/name?multipart-manifest=delete`
/// (Swift answers `200` whatever happened; see [`SwiftStore::delete_with_segments`]).
/// Anything but success, nothing found or `Not an SLO manifest` for the object itself is an
/// error of the kind of the reported status.
fn multipart_delete_outcome(
    report: &serde_json::Value,
    container: &str,
    name: &str,
    op: &str,
) -> Result<MultipartDelete> {
    let Some(status) = report["Response Status"].as_str() else {
        return Err(malformed(
            op,
            "multipart delete report without \"Response Status\"".into(),
        ));
    };
    let errors: Vec<(String, String)> = report["Errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let path = percent_encoding::percent_decode_str(e[0].as_str().unwrap_or(""))
                .decode_utf8_lossy()
                .into_owned();
            (path, e[1].as_str().unwrap_or("").to_string())
        })
        .collect();
    let code = status_code(status);
    if (200..300).contains(&code) && errors.is_empty() {
        return Ok(MultipartDelete::Done);
    }
    let own = format!("/{container}/{name}");
    if let [(path, message)] = errors.as_slice() {
        if path == &own && message.trim() == "Not an SLO manifest" {
            return Ok(MultipartDelete::NotSlo);
        }
    }
    // A failure: the kind of the first per-object status (`401 Unauthorized`,
    // `503 Service Unavailable`), else of the overall status.
    let detail_code = errors
        .iter()
        .map(|(_, m)| status_code(m))
        .find(|c| *c >= 400)
        .unwrap_or(code);
    let code = if detail_code >= 400 { detail_code } else { 502 };
    let shown: Vec<String> = errors
        .iter()
        .take(3)
        .map(|(p, m)| format!("{p}: {m}"))
        .collect();
    let body = report["Response Body"].as_str().unwrap_or("").trim();
    let mut message = format!(
        "swift {op} {name}: {status}; {} of the manifest and its segments not deleted",
        errors.len()
    );
    if !shown.is_empty() {
        message.push_str(&format!(
            " ({}{})",
            shown.join(", "),
            if errors.len() > 3 { ", …" } else { "" }
        ));
    }
    if !body.is_empty() {
        message.push_str(&format!(": {}", body.chars().take(200).collect::<String>()));
    }
    Err(Error::new(crate::error::kind_for_status(code), message)
        .with_provider_code(code.to_string()))
}

/// The code of a status line such as `400 Bad Request` (0 when there is none).
fn status_code(s: &str) -> u16 {
    s.split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A listing marker just before `name` (Swift lists names strictly after the marker): the
/// last character one lower, followed by U+10FFFF, so no real name lies between the two
/// (a name there would only be one more entry to skip).
fn name_before(name: &str) -> String {
    let mut chars = name.chars();
    let Some(last) = chars.next_back() else {
        return String::new();
    };
    let mut m = chars.as_str().to_string();
    let lower = match last as u32 {
        0 | 1 => None,
        0xE000 => Some('\u{D7FF}'),
        c => char::from_u32(c - 1),
    };
    if let Some(c) = lower {
        m.push(c);
        m.push('\u{10FFFF}');
    }
    m
}

/// Map a user metadata name to the part of its Swift header after `X-Object-Meta-`.
///
/// Swift cannot keep `_` in a header name (its WSGI layer reads `_` and `-` alike and
/// returns `-`) nor letter case (names come back title-cased), so every byte other than
/// `a-z`, `0-9` and `-` is percent-escaped (`%XX`, UTF-8 bytes, upper-case hex):
/// `case_id` is stored as `X-Object-Meta-Case%5Fid`. python-swiftclient percent-decodes
/// header names when it reads them, so it shows that header as `x-object-meta-case_id`,
/// exactly the name gureum wrote.
///
/// ```
/// use gureum_openstack::swift::{decode_metadata_name, encode_metadata_name};
/// assert_eq!(encode_metadata_name("case_id"), "case%5Fid");
/// assert_eq!(decode_metadata_name("Case%5Fid"), "case_id"); // Swift title-cases names
/// assert_eq!(decode_metadata_name(&encode_metadata_name("담당자")), "담당자");
/// ```
pub fn encode_metadata_name(name: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Undo [`encode_metadata_name`] on a header name suffix as Swift returns it (any case).
/// Names written by other tools come back lower-cased (`X-Object-Meta-Case_Id`, which
/// Swift stores as `Case-Id`, reads as `case-id`); a `%` not followed by two hex digits is
/// kept as it is.
///
/// Example: see [`encode_metadata_name`].
pub fn decode_metadata_name(header: &str) -> String {
    let lower = header.to_ascii_lowercase();
    match percent_encoding::percent_decode_str(&lower).decode_utf8() {
        Ok(s) => s.into_owned(),
        Err(_) => lower,
    }
}

fn validate_container(c: &str) -> Result<()> {
    if c.is_empty() || c.len() > 256 || c.contains('/') {
        return Err(Error::invalid(format!(
            "Swift container name {c:?} must be 1..=256 bytes without '/'"
        )));
    }
    Ok(())
}

fn parse_listing_time(s: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| n.and_utc())
        .unwrap_or_else(|_| DateTime::<Utc>::UNIX_EPOCH)
}

/// The [`Path`] of a stored name, when the name is in the portable key space
/// ([`gureum_core::key::check_key`]: not empty, at most 1,024 bytes, no empty, `.` or `..`
/// segment, no control character, no leading or trailing `/`). Other names, written by
/// other tools, are skipped with a warning and counted in the listing's skip count
/// ([`gureum_core::key::report_foreign_name`]).
fn portable_path(name: &str) -> Option<Path> {
    match gureum_core::key::check_key(name) {
        Ok(()) => Path::parse(name).ok(),
        Err(rule) => {
            gureum_core::key::report_foreign_name(name, rule);
            None
        }
    }
}

/// Whether a container listing entry has the fields gureum reads, with their types: a
/// `subdir` string, or a `name` string, a `bytes` count and a `last_modified` time (`hash`,
/// when present, a string).
fn listing_entry_ok(v: &serde_json::Value) -> bool {
    if v.get("subdir").is_some() {
        return v["subdir"].is_string();
    }
    v["name"].is_string()
        && v["bytes"].is_u64()
        && v["last_modified"].as_str().is_some_and(|t| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        })
        && (v.get("hash").is_none() || v["hash"].is_string() || v["hash"].is_null())
}

fn meta_from_listing(v: &serde_json::Value) -> Option<ObjectMeta> {
    let name = v["name"].as_str()?;
    let location = portable_path(name)?;
    Some(ObjectMeta {
        location,
        last_modified: parse_listing_time(v["last_modified"].as_str().unwrap_or("")),
        size: v["bytes"].as_u64().unwrap_or(0),
        e_tag: v["hash"].as_str().map(|s| s.trim_matches('"').to_string()),
        version: None,
    })
}

fn header_str(h: &HeaderMap, n: &str) -> Option<String> {
    h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn meta_from_headers(location: &Path, h: &HeaderMap, size: u64) -> ObjectMeta {
    let lm = header_str(h, "last-modified")
        .and_then(|s| DateTime::parse_from_rfc2822(&s).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    ObjectMeta {
        location: location.clone(),
        last_modified: lm,
        size,
        e_tag: header_str(h, "etag").map(|s| s.trim_matches('"').to_string()),
        version: None,
    }
}

fn attributes_from_headers(h: &HeaderMap) -> Attributes {
    let mut a = Attributes::new();
    for (k, v) in h {
        let Ok(val) = std::str::from_utf8(v.as_bytes()) else {
            continue;
        };
        let val = AttributeValue::from(val.to_string());
        match k.as_str() {
            "content-type" => {
                a.insert(Attribute::ContentType, val);
            }
            "content-disposition" => {
                a.insert(Attribute::ContentDisposition, val);
            }
            "content-encoding" => {
                a.insert(Attribute::ContentEncoding, val);
            }
            "content-language" => {
                a.insert(Attribute::ContentLanguage, val);
            }
            "cache-control" => {
                a.insert(Attribute::CacheControl, val);
            }
            n if n.starts_with("x-object-meta-") => {
                a.insert(
                    Attribute::Metadata(decode_metadata_name(&n["x-object-meta-".len()..]).into()),
                    val,
                );
            }
            _ => {}
        }
    }
    a
}

fn range_header(r: &GetRange) -> String {
    match r {
        GetRange::Bounded(r) => format!("bytes={}-{}", r.start, r.end.saturating_sub(1)),
        GetRange::Offset(o) => format!("bytes={o}-"),
        GetRange::Suffix(n) => format!("bytes=-{n}"),
    }
}

fn quote(etag: &str) -> String {
    if etag == "*" || etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}

/// Native pages of the container listing (`marker`, `delimiter=/`), for `Bucket::list_page`:
/// one request per call. `offset` and the page token are both a Swift marker (entries
/// strictly after it).
#[async_trait]
impl object_store::list::PaginatedListStore for SwiftStore {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: object_store::list::PaginatedListOptions,
    ) -> object_store::Result<object_store::list::PaginatedListResult> {
        let marker = opts.page_token.or(opts.offset);
        let what = prefix.unwrap_or_default().to_string();
        let limit = opts
            .max_keys
            .unwrap_or(usize::MAX)
            .clamp(1, self.page_limit());
        let page = self
            .list_raw(
                &self.inner.container,
                prefix,
                opts.delimiter.is_some(),
                marker.as_deref(),
                limit,
            )
            .await
            .map_err(|e| os_err(e, &what))?;
        let mut res = ListResult {
            common_prefixes: vec![],
            objects: vec![],
            extensions: Default::default(),
        };
        for v in &page {
            if let Some(sd) = v["subdir"].as_str() {
                if let Some(p) = portable_path(sd.strip_suffix('/').unwrap_or(sd)) {
                    res.common_prefixes.push(p);
                }
            } else if let Some(m) = meta_from_listing(v) {
                res.objects.push(m);
            }
        }
        // A page is not known to be the last until an empty one (a proxy may cut pages).
        let page_token = page
            .last()
            .and_then(|v| v["name"].as_str().or(v["subdir"].as_str()))
            .map(str::to_string);
        Ok(object_store::list::PaginatedListResult {
            result: res,
            page_token,
        })
    }
}

#[async_trait]
impl ObjectStore for SwiftStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let name = location.as_ref();
        let mut h = Self::meta_headers(&opts.attributes)?;
        match &opts.mode {
            PutMode::Overwrite => {}
            PutMode::Create => {
                h.insert("if-none-match", HeaderValue::from_static("*"));
            }
            PutMode::Update(_) => {
                return Err(object_store::Error::NotImplemented {
                    operation: "put with If-Match (Swift ignores If-Match on PUT)".into(),
                    implementer: "SwiftStore".into(),
                })
            }
        }
        if !h.contains_key("content-type") {
            h.insert(
                "content-type",
                HeaderValue::from_static("application/octet-stream"),
            );
        }
        let body: Bytes = payload.into();
        let u = self.object_url(name).await.map_err(|e| os_err(e, name))?;
        let op = "PUT object";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.put(u.clone())
                .headers(h.clone())
                .header("content-length", body.len().to_string())
                .body(body.clone())
        })
        .await
        .map_err(|e| os_err(e, name))?;
        let status = r.status().as_u16();
        if status == 412 && opts.mode == PutMode::Create {
            return Err(object_store::Error::AlreadyExists {
                path: name.into(),
                source: "object exists (If-None-Match: *)".into(),
            });
        }
        let r = check(r, "swift", op).await.map_err(|e| os_err(e, name))?;
        Ok(PutResult {
            e_tag: header_str(r.headers(), "etag").map(|s| s.trim_matches('"').to_string()),
            version: None,
            extensions: Default::default(),
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if !self.inner.info.slo {
            return Err(object_store::Error::NotSupported {
                source: "this Swift cluster has no SLO middleware".into(),
            });
        }
        let headers = Self::meta_headers(&opts.attributes)?;
        let attributes = opts.attributes.clone();
        let upload_id = format!(
            "{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.6f"),
            uuid::Uuid::new_v4().simple()
        );
        Ok(Box::new(SloUpload {
            store: self.clone(),
            location: location.clone(),
            prefix: segment_prefix(location.as_ref(), &upload_id),
            attributes,
            headers,
            parts: Arc::new(Mutex::new(Vec::new())),
            next: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let name = location.as_ref();
        let mut h = HeaderMap::new();
        let mut hv = |k: &'static str, v: String| -> object_store::Result<()> {
            h.insert(
                k,
                HeaderValue::from_str(&v).map_err(|_| object_store::Error::Generic {
                    store: "Swift",
                    source: format!("bad {k}").into(),
                })?,
            );
            Ok(())
        };
        if let Some(r) = &options.range {
            hv("range", range_header(r))?;
        }
        if let Some(e) = &options.if_match {
            hv("if-match", quote(e))?;
        }
        if let Some(e) = &options.if_none_match {
            hv("if-none-match", quote(e))?;
        }
        if let Some(t) = options.if_modified_since {
            hv(
                "if-modified-since",
                t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            )?;
        }
        if let Some(t) = options.if_unmodified_since {
            hv(
                "if-unmodified-since",
                t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            )?;
        }
        if options.version.is_some() {
            return Err(object_store::Error::NotImplemented {
                operation: "get of a version".into(),
                implementer: "SwiftStore".into(),
            });
        }
        let u = self.object_url(name).await.map_err(|e| os_err(e, name))?;
        let method = if options.head {
            Method::HEAD
        } else {
            Method::GET
        };
        let op = if options.head {
            "HEAD object"
        } else {
            "GET object"
        };
        let r = send_streaming(&self.inner.session, "swift", op, |c| {
            c.request(method.clone(), u.clone()).headers(h.clone())
        })
        .await
        .map_err(|e| os_err(e, name))?;
        match r.status().as_u16() {
            304 => {
                return Err(object_store::Error::NotModified {
                    path: name.into(),
                    source: "304 Not Modified".into(),
                })
            }
            412 => {
                return Err(object_store::Error::Precondition {
                    path: name.into(),
                    source: "412 Precondition Failed".into(),
                })
            }
            _ => {}
        }
        let r = check(r, "swift", op).await.map_err(|e| os_err(e, name))?;
        let headers = r.headers().clone();
        let announced = header_str(&headers, "content-length")
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| os_err(malformed(op, format!("bad Content-Length {s:?}")), name))
            })
            .transpose()?;
        let (range, size) = match header_str(&headers, "content-range") {
            Some(cr) => parse_content_range(&cr)
                .ok_or_else(|| os_err(malformed(op, format!("bad Content-Range {cr:?}")), name))?,
            None => match announced {
                Some(len) => (0..len, len),
                None if options.head => (0..0, 0),
                // A body without a length (chunked or ended by closing the connection):
                // Swift sends one for every plain object and for SLOs; a proxy may drop it,
                // and a DLO of more segments than a listing page has none. The length is
                // learnt another way, and the body is held to it below: a body that does
                // not end is never read without bound.
                None => {
                    let len = self
                        .length_without_header(name, &headers)
                        .await
                        .map_err(|e| os_err(e, name))?;
                    (0..len, len)
                }
            },
        };
        if let (Some(len), Some(_)) = (announced, header_str(&headers, "content-range")) {
            if len != range.end - range.start {
                return Err(os_err(
                    malformed(
                        op,
                        format!(
                            "Content-Length {len} does not match the Content-Range length {}",
                            range.end - range.start
                        ),
                    ),
                    name,
                ));
            }
        }
        let meta = meta_from_headers(location, &headers, size);
        let attributes = attributes_from_headers(&headers);
        let payload = if options.head {
            GetResultPayload::Stream(stream::empty().boxed())
        } else {
            GetResultPayload::Stream(exact_body(
                r.bytes_stream().boxed(),
                range.end - range.start,
                name.to_string(),
            ))
        };
        Ok(GetResult {
            payload,
            meta,
            range,
            attributes,
            extensions: Default::default(),
        })
    }

    /// Deletes in chunks of the cluster's `max_deletes_per_request`, one result per path in
    /// the order given (a missing object is deleted already: `Ok`). With the `slo`
    /// middleware, SLO manifests take their segments: the container listing tells which
    /// names are manifests ([`SwiftStore::classify`]); plain objects go through one
    /// `bulk-delete` request per chunk, manifests and names the listing does not show
    /// (missing, or too new for it) one by one through
    /// [`SwiftStore::delete_with_segments`].
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let this = self.clone();
        let batch = self.inner.info.max_deletes_per_request.clamp(1, 1000);
        locations
            .ready_chunks(batch)
            .then(move |chunk| {
                let this = this.clone();
                async move { stream::iter(this.delete_chunk(chunk).await) }
            })
            .flatten()
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.list_from(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.list_from(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = prefix
            .filter(|p| !p.as_ref().is_empty())
            .map(|p| format!("{}/", p.as_ref()));
        let what = prefix.clone().unwrap_or_default();
        let mut res = ListResult {
            common_prefixes: vec![],
            objects: vec![],
            extensions: Default::default(),
        };
        let mut pages = self.list_pages(self.inner.container.clone(), prefix, true, None);
        while let Some(page) = pages.next().await {
            for v in &page.map_err(|e| os_err(e, &what))? {
                if let Some(sd) = v["subdir"].as_str() {
                    // A subdir ends in '/'; one that ends in "//" (or is not a portable
                    // directory) is a foreign name and is skipped like foreign objects.
                    if let Some(p) = portable_path(sd.strip_suffix('/').unwrap_or(sd)) {
                        res.common_prefixes.push(p);
                    }
                } else if let Some(m) = meta_from_listing(v) {
                    res.objects.push(m);
                }
            }
        }
        Ok(res)
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        if options.mode == CopyMode::Create {
            // A missing source is `NotFound` whatever the mode (object_store's contract);
            // only an existing source meets the missing create-only copy.
            self.get_opts(
                from,
                GetOptions {
                    head: true,
                    ..Default::default()
                },
            )
            .await?;
            return Err(object_store::Error::NotImplemented {
                operation: "copy_if_not_exists (Swift ignores If-None-Match on COPY)".into(),
                implementer: "SwiftStore".into(),
            });
        }
        let u = self
            .object_url(to.as_ref())
            .await
            .map_err(|e| os_err(e, to.as_ref()))?;
        let src = format!(
            "/{}/{}",
            enc_seg(&self.inner.container),
            enc_obj(from.as_ref())
        );
        let op = "PUT object (X-Copy-From)";
        let r = send(&self.inner.session, "swift", op, true, |c| {
            c.put(u.clone())
                .header("x-copy-from", src.clone())
                .header("content-length", "0")
        })
        .await
        .map_err(|e| os_err(e, from.as_ref()))?;
        check(r, "swift", op)
            .await
            .map_err(|e| os_err(e, from.as_ref()))?;
        Ok(())
    }
}

/// A malformed answer (`Unavailable`).
fn malformed(op: &str, message: String) -> Error {
    OsError::Decode {
        service: "swift",
        op: op.to_string(),
        message,
    }
    .into()
}

/// An object body held to its length: more bytes than `expected` end the stream with an
/// error at once (a body that never ends is not read past its length), fewer bytes end it
/// with an error at the end (a cut-off body is never a complete object). Both are
/// `Unavailable`; a transport failure while reading is `Unavailable` or `Timeout`.
fn exact_body(
    inner: BoxStream<'static, reqwest::Result<Bytes>>,
    expected: u64,
    name: String,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    stream::try_unfold((inner, 0u64), move |(mut inner, read)| {
        let name = name.clone();
        async move {
            let fail = |msg: String| os_err(malformed("GET object", msg), &name);
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let read = read + chunk.len() as u64;
                    if read > expected {
                        return Err(fail(format!(
                            "body longer than its length of {expected} bytes"
                        )));
                    }
                    Ok(Some((chunk, (inner, read))))
                }
                Some(Err(e)) => {
                    let e = e.without_url();
                    let kind = if e.is_timeout() {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Unavailable
                    };
                    Err(os_err(
                        Error::new(kind, format!("swift GET object: reading the body: {e}"))
                            .with_source(e),
                        &name,
                    ))
                }
                None if read < expected => Err(fail(format!(
                    "body cut off after {read} of {expected} bytes"
                ))),
                None => Ok(None),
            }
        }
    })
    .boxed()
}

fn parse_content_range(s: &str) -> Option<(std::ops::Range<u64>, u64)> {
    // "bytes 0-4/10"
    let rest = s.strip_prefix("bytes ")?;
    let (r, total) = rest.split_once('/')?;
    let (a, b) = r.split_once('-')?;
    let (a, b, t): (u64, u64, u64) = (
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    Some((a..b + 1, t))
}

type Parts = Arc<Mutex<Vec<Option<(String, String, u64)>>>>;

/// A Static Large Object upload: parts go to the segment container in parallel, `complete`
/// writes the manifest, `abort` deletes every segment of this upload (also orphans of parts
/// that were still in flight).
struct SloUpload {
    store: SwiftStore,
    location: Path,
    prefix: String,
    attributes: Attributes,
    headers: HeaderMap,
    parts: Parts,
    next: usize,
}

impl fmt::Debug for SloUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SloUpload")
            .field("location", &self.location.as_ref())
            .field("parts", &self.next)
            .finish()
    }
}

#[async_trait]
impl MultipartUpload for SloUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let idx = self.next;
        self.next += 1;
        let store = self.store.clone();
        let parts = self.parts.clone();
        let seg = format!("{}{idx:08}", self.prefix);
        Box::pin(async move {
            if idx >= store.inner.info.max_manifest_segments {
                return Err(object_store::Error::Generic {
                    store: "Swift",
                    source: format!(
                        "more than {} SLO segments",
                        store.inner.info.max_manifest_segments
                    )
                    .into(),
                });
            }
            store
                .ensure_segment_container()
                .await
                .map_err(|e| os_err(e, &seg))?;
            let body: Bytes = data.into();
            let size = body.len() as u64;
            let u = SwiftStore::join(
                &store.account_url().await.map_err(|e| os_err(e, &seg))?,
                &store.inner.segment_container,
                Some(&seg),
            )
            .map_err(|e| os_err(e, &seg))?;
            let op = "PUT segment";
            let r = send(&store.inner.session, "swift", op, true, |c| {
                c.put(u.clone())
                    .header("content-length", size.to_string())
                    .body(body.clone())
            })
            .await
            .map_err(|e| os_err(e, &seg))?;
            let r = check(r, "swift", op).await.map_err(|e| os_err(e, &seg))?;
            let etag = header_str(r.headers(), "etag")
                .map(|s| s.trim_matches('"').to_string())
                .unwrap_or_default();
            let mut g = parts.lock().map_err(|_| object_store::Error::Generic {
                store: "Swift",
                source: "poisoned".into(),
            })?;
            if g.len() <= idx {
                g.resize(idx + 1, None);
            }
            g[idx] = Some((seg, etag, size));
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let name = self.location.as_ref().to_string();
        let parts: Vec<Option<(String, String, u64)>> =
            self.parts.lock().map(|g| g.clone()).unwrap_or_default();
        if self.next == 0 {
            // No parts: an empty object.
            return self
                .store
                .put_opts(
                    &self.location,
                    PutPayload::default(),
                    self.attributes.clone().into(),
                )
                .await;
        }
        if parts.len() != self.next || parts.iter().any(|p| p.is_none()) {
            return Err(object_store::Error::Generic {
                store: "Swift",
                source: "complete called before all parts finished".into(),
            });
        }
        let seg_c = enc_seg(&self.store.inner.segment_container);
        let manifest: Vec<serde_json::Value> = parts
            .iter()
            .flatten()
            .map(|(seg, etag, size)| serde_json::json!({"path": format!("/{}/{}", self.store.inner.segment_container, seg), "etag": etag, "size_bytes": size}))
            .collect();
        let _ = seg_c;
        let body = Bytes::from(serde_json::to_vec(&manifest).map_err(|e| {
            object_store::Error::Generic {
                store: "Swift",
                source: Box::new(e),
            }
        })?);
        let mut u = self
            .store
            .object_url(&name)
            .await
            .map_err(|e| os_err(e, &name))?;
        u.set_query(Some("multipart-manifest=put"));
        let mut h = self.headers.clone();
        if !h.contains_key("content-type") {
            h.insert(
                "content-type",
                HeaderValue::from_static("application/octet-stream"),
            );
        }
        // The segments of an SLO this manifest replaces (Swift itself leaves them behind):
        // looked up before, deleted once the new manifest is in place. A failed lookup or
        // cleanup never fails the write (it succeeded); it is logged.
        let replaced = match self.store.replaced_segments(&name).await {
            Ok(segs) => segs,
            Err(e) => {
                tracing::warn!(path = %name, error = %e, "swift: could not read the SLO being replaced; its segments may be left");
                vec![]
            }
        };
        let op = "PUT SLO manifest";
        let r = send(&self.store.inner.session, "swift", op, true, |c| {
            c.put(u.clone()).headers(h.clone()).body(body.clone())
        })
        .await
        .map_err(|e| os_err(e, &name))?;
        let r = check(r, "swift", op).await.map_err(|e| os_err(e, &name))?;
        let ours: std::collections::HashSet<&str> = parts
            .iter()
            .flatten()
            .map(|(seg, _, _)| seg.as_str())
            .collect();
        let replaced: Vec<String> = replaced
            .into_iter()
            .filter(|s| !ours.contains(s.as_str()))
            .collect();
        if !replaced.is_empty() {
            let seg_c = self.store.inner.segment_container.clone();
            if let Err(e) = self.store.delete_segments(&seg_c, &replaced).await {
                tracing::warn!(path = %name, segments = replaced.len(), error = %e, "swift: deleting the segments of the replaced SLO failed; they are left");
            }
        }
        Ok(PutResult {
            e_tag: header_str(r.headers(), "etag").map(|s| s.trim_matches('"').to_string()),
            version: None,
            extensions: Default::default(),
        })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        let seg_c = self.store.inner.segment_container.clone();
        // Everything under this upload's prefix: recorded parts and orphans of parts that
        // were cut off mid-flight (bounded: at most max_manifest_segments + one page).
        let mut names: Vec<String> = Vec::new();
        let mut pages =
            self.store
                .list_pages(seg_c.clone(), Some(self.prefix.clone()), false, None);
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => names.extend(
                    page.iter()
                        .filter_map(|v| v["name"].as_str().map(str::to_string)),
                ),
                Err(e) if e.kind() == ErrorKind::NotFound => break,
                Err(e) => return Err(os_err(e, &self.prefix)),
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        self.store
            .delete_segments(&seg_c, &names)
            .await
            .map_err(|e| os_err(e, &self.prefix))
    }
}

/// Container administration of one Swift account.
///
/// Example: see [`SwiftStore`].
#[derive(Debug, Clone)]
pub struct SwiftAdmin {
    session: Arc<Session>,
    template: SwiftStore,
    info: BackendInfo,
}

impl SwiftAdmin {
    /// Admin for the account of `store`.
    ///
    /// Example: see [`SwiftStore`].
    pub fn new(store: &SwiftStore, info: BackendInfo) -> Self {
        SwiftAdmin {
            session: store.inner.session.clone(),
            template: store.clone(),
            info,
        }
    }
}

#[async_trait]
impl BucketAdmin for SwiftAdmin {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        validate_container(name)?;
        let u = SwiftStore::join(&self.session.endpoint("object-store").await?, name, None)?;
        let r = send(&self.session, "swift", "PUT container", true, |c| {
            c.put(u.clone()).header("content-length", "0")
        })
        .await?;
        match r.status().as_u16() {
            201 => Ok(()),
            202 => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("container {name:?} already exists"),
            )),
            _ => Err(http_error(r, "swift", "PUT container").await),
        }
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        validate_container(name)?;
        let u = SwiftStore::join(&self.session.endpoint("object-store").await?, name, None)?;
        let r = send(&self.session, "swift", "DELETE container", true, |c| {
            c.delete(u.clone())
        })
        .await?;
        match r.status().as_u16() {
            204 | 200 => Ok(()),
            409 => Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!("container {name:?} is not empty"),
            )
            .with_provider_code("409")),
            _ => Err(http_error(r, "swift", "DELETE container").await),
        }
    }

    async fn list_buckets(&self) -> Result<Vec<String>> {
        let base = self.session.endpoint("object-store").await?;
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        let limit = self.template.page_limit();
        for _ in 0..MAX_LIST_PAGES {
            let mut u = base.clone();
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("format", "json")
                    .append_pair("limit", &limit.to_string());
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
            }
            let r = send(&self.session, "swift", "GET account", true, |c| {
                c.get(u.clone()).header("accept", "application/json")
            })
            .await?;
            if r.status().as_u16() == 204 {
                break;
            }
            let r = check(r, "swift", "GET account").await?;
            let v: Vec<serde_json::Value> =
                read_json(&self.session, r, "swift", "GET account").await?;
            if v.is_empty() {
                break;
            }
            out.extend(
                v.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string)),
            );
            marker = out.last().cloned();
        }
        Ok(out)
    }

    async fn open(&self, name: &str) -> Result<Bucket> {
        validate_container(name)?;
        let store = SwiftStore::with_info(
            self.session.clone(),
            name.to_string(),
            self.template.inner.info.clone(),
        );
        if let Ok(g) = self.template.inner.temp_url_key.lock() {
            if let Some(k) = g.clone() {
                store.use_temp_url_key(k);
            }
        }
        Ok(bucket_from_store(store, self.info.clone()))
    }
}

/// TempURL presigner of one container.
///
/// Example: see [`SwiftStore`].
#[derive(Debug, Clone)]
pub struct SwiftPresigner {
    store: SwiftStore,
}

#[async_trait]
impl Presigner for SwiftPresigner {
    async fn presign(&self, method: PresignMethod, path: &Path, expires: Duration) -> Result<Url> {
        self.store.temp_url(method, path, expires).await
    }
}

/// Wrap a store into a [`Bucket`] with admin, presigner (when a TempURL key is known) and
/// honest capabilities.
///
/// Example: see [`SwiftStore`].
pub fn bucket_from_store(store: SwiftStore, info: BackendInfo) -> Bucket {
    let caps = store.capabilities();
    let mut b = Bucket::new(store.container().to_string(), Arc::new(store.clone()))
        .with_level_pager(Arc::new(store.clone()))
        .with_capabilities(caps)
        .with_admin(Arc::new(SwiftAdmin::new(&store, info.clone())))
        .with_info(info)
        .with_native(Arc::new(store.clone()))
        .with_bucket_copier(Arc::new(SwiftCopier {
            domain: format!("swift:{:016x}", store.inner.session.account_identity()),
            store: store.clone(),
        }));
    if store.can_presign() {
        b = b.with_presigner(Arc::new(SwiftPresigner { store }));
    }
    b
}

/// `PUT` with `X-Copy-From` another container of the same account.
#[derive(Debug)]
struct SwiftCopier {
    store: SwiftStore,
    domain: String,
}

#[async_trait]
impl gureum_core::storage::BucketCopier for SwiftCopier {
    fn domain(&self) -> &str {
        &self.domain
    }
    fn max_object_size(&self) -> Option<u64> {
        // A server-side copy of a manifest copies the manifest's segments into one object:
        // Swift refuses objects above max_file_size (5 GiB by default).
        Some(
            self.store
                .inner
                .info
                .max_file_size
                .unwrap_or(5 * 1024 * 1024 * 1024),
        )
    }
    async fn copy_from(&self, src_bucket: &str, from: &str, to: &str) -> Result<()> {
        let u = self.store.object_url(to).await?;
        let src = format!("/{}/{}", enc_seg(src_bucket), enc_obj(from));
        let op = "PUT object (X-Copy-From another container)";
        let r = send(&self.store.inner.session, "swift", op, true, |c| {
            c.put(u.clone())
                .header("x-copy-from", src.clone())
                .header("content-length", "0")
        })
        .await?;
        check(r, "swift", op).await?;
        Ok(())
    }
}

/// Backend info for a Swift bucket of `provider` in `zone`.
///
/// Example: see [`SwiftStore`].
pub fn backend_info(scheme: &str, provider: &str, zone: Zone) -> BackendInfo {
    BackendInfo {
        scheme: scheme.into(),
        provider: provider.into(),
        zone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-4/10"), Some((0..5, 10)));
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5..10, 10)));
        assert_eq!(parse_content_range("nope"), None);
    }

    #[test]
    fn metadata_names_round_trip() {
        assert_eq!(encode_metadata_name("case_id"), "case%5Fid");
        assert_eq!(encode_metadata_name("dept-name"), "dept-name");
        assert_eq!(encode_metadata_name("Owner"), "%4Fwner");
        // As Swift returns them: title-cased.
        assert_eq!(decode_metadata_name("Case%5Fid"), "case_id");
        assert_eq!(decode_metadata_name("%4Fwner"), "Owner");
        assert_eq!(decode_metadata_name("Case-Id"), "case-id");
        assert_eq!(decode_metadata_name("50%Off"), "50%off");
        for n in [
            "case_id",
            "a-b_c",
            "Owner",
            "x%y",
            "한글",
            "key with spaces",
            "__0x2d__",
        ] {
            let stored = encode_metadata_name(n);
            assert!(stored
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'%'));
            // Swift title-cases the stored name; decoding must not care.
            let titled: String = stored
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join("-");
            assert_eq!(decode_metadata_name(&titled), n, "{n} via {titled}");
        }
    }

    #[test]
    fn segment_prefixes_fit_the_name_limit() {
        assert_eq!(segment_prefix("a/b", "u1"), "a/b/slo/u1/");
        let long = "가".repeat(341);
        let p = segment_prefix(
            &long,
            "20260101T000000.000000-0123456789abcdef0123456789abcdef",
        );
        assert!(p.len() + 8 <= 1024, "{}", p.len());
        assert!(!p.starts_with('가'));
    }

    #[test]
    fn multipart_delete_reports() {
        let op = "DELETE";
        let out = |v: serde_json::Value| multipart_delete_outcome(&v, "c", "민원/a b", op);
        // An SLO deleted with its segments; a missing object (as Swift 2.30 answers both).
        for v in [
            serde_json::json!({"Response Status": "200 OK", "Response Body": "", "Number Deleted": 4, "Number Not Found": 0, "Errors": []}),
            serde_json::json!({"Response Status": "200 OK", "Response Body": "", "Number Deleted": 0, "Number Not Found": 1, "Errors": []}),
        ] {
            assert_eq!(out(v).unwrap(), MultipartDelete::Done);
        }
        // A plain object: Swift leaves it in place (the name comes back percent-encoded).
        let v = serde_json::json!({"Response Status": "400 Bad Request", "Response Body": "", "Number Deleted": 0, "Number Not Found": 0,
            "Errors": [["/c/%EB%AF%BC%EC%9B%90/a%20b", "Not an SLO manifest"]]});
        assert_eq!(out(v).unwrap(), MultipartDelete::NotSlo);
        // "Not an SLO manifest" for another path (a nested manifest) is a failure.
        let v = serde_json::json!({"Response Status": "400 Bad Request", "Errors": [["/c/other", "Not an SLO manifest"]]});
        assert_eq!(out(v).unwrap_err().kind(), ErrorKind::InvalidArgument);
        // Segments that could not be deleted: typed, never a success.
        let v = serde_json::json!({"Response Status": "400 Bad Request", "Response Body": "", "Number Deleted": 1, "Number Not Found": 0,
            "Errors": [["/c_segments/x/slo/u/00000000", "401 Unauthorized"], ["/c_segments/x/slo/u/00000001", "401 Unauthorized"]]});
        let e = out(v).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        assert!(
            e.message()
                .contains("2 of the manifest and its segments not deleted"),
            "{e}"
        );
        let v = serde_json::json!({"Response Status": "502 Bad Gateway", "Errors": [["/c_segments/s", "503 Service Unavailable"]]});
        assert_eq!(out(v).unwrap_err().kind(), ErrorKind::Unavailable);
        let v = serde_json::json!({"Response Status": "400 Bad Request", "Response Body": "Max delete failures exceeded", "Errors": []});
        let e = out(v).unwrap_err();
        assert!(e.message().contains("Max delete failures exceeded"), "{e}");
        let v = serde_json::json!({"Response Status": "500 Internal Error", "Errors": []});
        assert_eq!(out(v).unwrap_err().kind(), ErrorKind::Unavailable);
        // A report without a status is malformed, not a success.
        let e = out(serde_json::json!({"Number Deleted": 1})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn markers_just_before_a_name() {
        for n in [
            "a",
            "ab",
            "kc",
            "민원/사진 1.jpg",
            "a\u{E000}",
            "x\u{1}",
            "z\u{10FFFF}",
        ] {
            let m = name_before(n);
            assert!(m.as_str() < n, "{m:?} < {n:?}");
            assert!(!m.contains('\0'));
        }
        assert_eq!(name_before("kc"), "kb\u{10FFFF}");
        assert_eq!(name_before("x\u{1}"), "x");
        assert_eq!(name_before(""), "");
        assert_eq!(segment_roots("a/b")[0], "a/b/slo/");
        assert!(segment_prefix("a/b", "u1").starts_with(&segment_roots("a/b")[0]));
        let long = "가".repeat(341);
        assert!(segment_prefix(&long, "u").starts_with(&segment_roots(&long)[1]));
    }

    #[test]
    fn portable_names() {
        assert!(portable_path("민원/사진 1.jpg").is_some());
        assert!(portable_path("a+b %20 #?.txt").is_some());
        for bad in ["a//b", "dir/", "/x", "./x", "a/../b", "a\u{1}b", ""] {
            assert!(portable_path(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn encoding() {
        assert_eq!(enc_obj("a b/c+d%00"), "a%20b/c%2Bd%2500");
        assert_eq!(enc_seg("x/y"), "x%2Fy");
        assert_eq!(range_header(&GetRange::Bounded(2..5)), "bytes=2-4");
        assert_eq!(quote("abc"), "\"abc\"");
    }
}
