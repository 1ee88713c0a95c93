//! [`AzureStore`]: `object_store`'s `MicrosoftAzure` with the Azure gaps closed.
//!
//! * **Suffix ranges.** Azure Blob has no `bytes=-N` ranges, so a suffix read becomes a
//!   HEAD plus a bounded range read pinned to the HEAD's etag (`If-Match`).
//! * **Metadata names.** Azure metadata names must be C# identifiers (no `-`, no leading
//!   digit). Other characters are hex-escaped as `__0xHH__`, exactly as Go CDK's `azureblob`
//!   driver does, so `case-id` is stored as `case__0x2d__id` and reads back as `case-id` in
//!   gureum and in Go CDK applications.
//! * **Metadata values.** Azure takes only ASCII in metadata values (the Azure SDKs refuse
//!   anything else before sending), so `%`, control characters and every non-ASCII byte are
//!   percent-escaped (`%XX` of the UTF-8 bytes): `민원과` is stored as `%EB%AF%BC%EC%9B%90%EA%B3%BC`
//!   and read back as `민원과`; plain ASCII values are stored as they are.
//! * **Listing.** `object_store`'s listing fails the whole stream on one blob name that is
//!   not a valid `Path` (`a//b`, `dir/`, `./x`, control characters, written by other tools),
//!   and its listing with an offset is not exclusive on Azurite (which ignores `startFrom`).
//!   With [`AzureStore::with_listing`] the store lists with its own signed List Blobs calls:
//!   names outside the portable key space are skipped with a warning, and the offset is
//!   applied exclusively on the client as well.

use crate::rest::StorageRest;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use http::{HeaderMap, Method};
use object_store::azure::MicrosoftAzure;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyOptions, GetOptions, GetRange, GetResult,
    ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, RenameOptions, Result,
};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Most List Blobs pages one listing reads (a bound on the loop: 10,000 pages of 5,000).
const MAX_LIST_PAGES: usize = 10_000;
/// Entries per List Blobs page (the service maximum).
const LIST_PAGE: usize = 5_000;

/// Azure Blob store used by `azblob://` buckets.
///
/// # Examples
///
/// ```
/// use gureum_azure::{config::AccountConfig, store::AzureStore};
/// use gureum_core::ResourceUrl;
/// use std::sync::Arc;
/// let cfg = AccountConfig::from_url(&ResourceUrl::parse("azblob://c?emulator=true").unwrap()).unwrap();
/// let inner = Arc::new(cfg.object_store_builder("open-data").unwrap().build().unwrap());
/// let store = AzureStore::new(inner.clone());
/// assert!(Arc::ptr_eq(store.inner(), &inner));
/// assert!(store.to_string().contains("open-data")); // Display of the wrapped store
/// // Listing through this crate's own List Blobs calls:
/// let rest = gureum_azure::rest::StorageRest::new(cfg.account.clone(), cfg.credential().unwrap()).unwrap();
/// let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/open-data").unwrap();
/// let listed = AzureStore::with_listing(inner, rest, url);
/// assert!(listed.to_string().contains("open-data"));
/// ```
#[derive(Debug, Clone)]
pub struct AzureStore {
    inner: Arc<MicrosoftAzure>,
    lister: Option<Arc<Lister>>,
}

/// Signed List Blobs calls on one container.
#[derive(Debug)]
struct Lister {
    rest: StorageRest,
    /// `.../container?restype=container`
    container_url: url::Url,
}

impl AzureStore {
    /// Wrap a `MicrosoftAzure` store (listing through `object_store`).
    ///
    /// Example: see [`AzureStore`].
    pub fn new(inner: Arc<MicrosoftAzure>) -> Self {
        AzureStore {
            inner,
            lister: None,
        }
    }

    /// Wrap a `MicrosoftAzure` store and list with this crate's own List Blobs calls on
    /// `container_url` (`https://ACCOUNT.blob.core.windows.net/CONTAINER`), which skip blob
    /// names outside the portable key space instead of failing, and apply offsets
    /// exclusively.
    ///
    /// Example: see [`AzureStore`].
    pub fn with_listing(
        inner: Arc<MicrosoftAzure>,
        rest: StorageRest,
        mut container_url: url::Url,
    ) -> Self {
        container_url.set_query(Some("restype=container"));
        AzureStore {
            inner,
            lister: Some(Arc::new(Lister {
                rest,
                container_url,
            })),
        }
    }

    /// The wrapped store.
    ///
    /// Example: see [`AzureStore`].
    pub fn inner(&self) -> &Arc<MicrosoftAzure> {
        &self.inner
    }
}

impl fmt::Display for AzureStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

fn needs_escape(i: usize, c: char) -> bool {
    !(c.is_ascii_alphanumeric() || c == '_') || (i == 0 && c.is_ascii_digit())
}

/// Escape a metadata name into a C# identifier (`__0xHH__` for each other character).
///
/// Metadata names and values round-trip through the four escaping functions:
///
/// ```
/// use gureum_azure::store::*;
/// assert_eq!(escape_metadata_name("x-rating"), "x__0x2d__rating");
/// assert_eq!(unescape_metadata_name("x__0x2d__rating"), "x-rating");
/// assert_eq!(escape_metadata_value("민원 50%"), "%EB%AF%BC%EC%9B%90 50%25");
/// assert_eq!(unescape_metadata_value("%EB%AF%BC%EC%9B%90 50%25"), "민원 50%");
/// assert_eq!(unescape_metadata_value("100%"), "100%"); // not an escape: kept
/// ```
pub fn escape_metadata_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if needs_escape(i, c) {
            out.push_str(&format!("__0x{:x}__", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Undo [`escape_metadata_name`] (unknown sequences are kept as they are).
///
/// Example: see [`escape_metadata_name`].
pub fn unescape_metadata_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find("__0x") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        match after.find("__") {
            Some(j)
                if j > 0
                    && after[..j].chars().all(|c| c.is_ascii_hexdigit())
                    && u32::from_str_radix(&after[..j], 16)
                        .ok()
                        .and_then(char::from_u32)
                        .is_some() =>
            {
                let c = char::from_u32(u32::from_str_radix(&after[..j], 16).unwrap_or(0))
                    .unwrap_or('\u{fffd}');
                out.push(c);
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str("__0x");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escape a metadata value into the ASCII Azure accepts: `%`, control characters and every
/// non-ASCII byte become `%XX` (upper-case hex of the UTF-8 bytes); other ASCII is kept.
///
/// Example: see [`escape_metadata_name`].
pub fn escape_metadata_value(value: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Undo [`escape_metadata_value`]. A `%` not followed by two hex digits is kept, and a value
/// whose escapes do not decode to UTF-8 is returned as stored.
///
/// Example: see [`escape_metadata_name`].
pub fn unescape_metadata_value(value: &str) -> String {
    if !value.contains('%') {
        return value.to_string();
    }
    match percent_encoding::percent_decode_str(value).decode_utf8() {
        Ok(s) => s.into_owned(),
        Err(_) => value.to_string(),
    }
}

fn map_attrs(attrs: &Attributes, f: fn(&str) -> String, fv: fn(&str) -> String) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in attrs {
        match k {
            Attribute::Metadata(name) => {
                out.insert(
                    Attribute::Metadata(Cow::Owned(f(name))),
                    AttributeValue::from(fv(v.as_ref())),
                );
            }
            other => {
                out.insert(other.clone(), v.clone());
            }
        }
    }
    out
}

#[async_trait]
impl ObjectStore for AzureStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> Result<PutResult> {
        check_name(location)?;
        opts.attributes = map_attrs(
            &opts.attributes,
            escape_metadata_name,
            escape_metadata_value,
        );
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        mut opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        check_name(location)?;
        opts.attributes = map_attrs(
            &opts.attributes,
            escape_metadata_name,
            escape_metadata_value,
        );
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, mut options: GetOptions) -> Result<GetResult> {
        check_name(location)?;
        if let Some(GetRange::Suffix(n)) = options.range {
            let head = self
                .inner
                .get_opts(
                    location,
                    GetOptions {
                        head: true,
                        range: None,
                        ..options.clone()
                    },
                )
                .await?;
            let size = head.meta.size;
            options.range = if n >= size {
                None
            } else {
                Some(GetRange::Bounded(size - n..size))
            };
            if options.if_match.is_none() {
                options.if_match = head.meta.e_tag.clone();
            }
        }
        let mut r = self.inner.get_opts(location, options).await?;
        r.attributes = map_attrs(
            &r.attributes,
            unescape_metadata_name,
            unescape_metadata_value,
        );
        Ok(r)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        check_name(location)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(
            locations
                .map(|p| p.and_then(|p| check_name(&p).map(|_| p)))
                .boxed(),
        )
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        match &self.lister {
            Some(l) => l.clone().objects(dir_prefix(prefix), None),
            None => self.inner.list(prefix),
        }
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        match &self.lister {
            Some(l) => l
                .clone()
                .objects(dir_prefix(prefix), Some(offset.as_ref().to_string())),
            None => {
                // object_store sends `startFrom`, which is inclusive (and ignored by
                // Azurite): keep only names after the offset.
                let offset = offset.clone();
                self.inner
                    .list_with_offset(prefix, &offset)
                    .try_filter(move |m| futures::future::ready(m.location > offset))
                    .boxed()
            }
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        match &self.lister {
            Some(l) => l.with_delimiter(dir_prefix(prefix)).await,
            None => self.inner.list_with_delimiter(prefix).await,
        }
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        check_name(from)?;
        check_name(to)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        check_name(from)?;
        check_name(to)?;
        self.inner.rename_opts(from, to, options).await
    }
}

/// Refuse a name with `\\`: Azure Blob silently turns every `\\` in a blob name into `/`, so
/// such a key cannot be stored (or read) verbatim; refusing keeps gureum from writing or
/// reading another object than the one named. The error is `InvalidArgument` in gureum.
fn check_name(location: &Path) -> Result<()> {
    if location.as_ref().contains('\\') {
        return Err(object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: Box::new(gureum_core::Error::invalid(format!(
                "object key {:?}: Azure Blob stores '\\' in a name as '/', so a key with '\\' \
                 cannot be stored verbatim",
                location.as_ref()
            ))),
        });
    }
    Ok(())
}

/// `prefix/` for a non-empty directory prefix (object_store listing semantics).
fn dir_prefix(prefix: Option<&Path>) -> Option<String> {
    prefix
        .filter(|p| !p.as_ref().is_empty())
        .map(|p| format!("{}/", p.as_ref()))
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

/// One page of a List Blobs answer.
#[derive(Debug, Default, PartialEq)]
struct ListPage {
    blobs: Vec<ObjectMeta>,
    prefixes: Vec<Path>,
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnumerationResults {
    #[serde(default)]
    blobs: XmlBlobs,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct XmlBlobs {
    #[serde(rename = "$value", default)]
    items: Vec<XmlItem>,
}

#[derive(Debug, Deserialize)]
enum XmlItem {
    Blob(XmlBlob),
    BlobPrefix(XmlPrefix),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlBlob {
    name: XmlName,
    properties: XmlProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlPrefix {
    name: XmlName,
}

#[derive(Debug, Deserialize)]
struct XmlName {
    #[serde(rename = "@Encoded", default)]
    encoded: Option<String>,
    #[serde(rename = "$text", default)]
    text: String,
}

impl XmlName {
    /// The blob name: names that are not valid XML are sent percent-encoded with
    /// `Encoded="true"`.
    fn decode(&self) -> String {
        if self.encoded.as_deref() == Some("true") {
            percent_encoding::percent_decode_str(&self.text)
                .decode_utf8_lossy()
                .into_owned()
        } else {
            self.text.clone()
        }
    }
}

#[derive(Debug, Deserialize)]
struct XmlProperties {
    #[serde(rename = "Last-Modified")]
    last_modified: String,
    #[serde(rename = "Content-Length", default)]
    content_length: u64,
    #[serde(rename = "Etag", default)]
    etag: Option<String>,
}

/// Parse a List Blobs answer; names outside the portable key space are skipped.
fn parse_list_page(body: &str) -> std::result::Result<ListPage, String> {
    let body = body.trim_start_matches('\u{feff}');
    let r: EnumerationResults = quick_xml::de::from_str(body).map_err(|e| e.to_string())?;
    let mut page = ListPage {
        next_marker: r.next_marker.filter(|m| !m.is_empty()),
        ..ListPage::default()
    };
    for item in r.blobs.items {
        match item {
            XmlItem::Blob(b) => {
                let name = b.name.decode();
                let Some(location) = portable_path(&name) else {
                    continue;
                };
                let last_modified = DateTime::parse_from_rfc2822(&b.properties.last_modified)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|e| format!("Last-Modified of {name:?}: {e}"))?;
                page.blobs.push(ObjectMeta {
                    location,
                    last_modified,
                    size: b.properties.content_length,
                    // The listing's <Etag> is bare; the ETag header of HEAD/GET is quoted.
                    // Quote it, so one object has one etag whichever call reported it.
                    e_tag: b.properties.etag.map(|e| {
                        if e.starts_with('"') {
                            e
                        } else {
                            format!("\"{e}\"")
                        }
                    }),
                    version: None,
                });
            }
            XmlItem::BlobPrefix(p) => {
                let name = p.name.decode();
                if let Some(path) = portable_path(name.strip_suffix('/').unwrap_or(&name)) {
                    page.prefixes.push(path);
                }
            }
        }
    }
    Ok(page)
}

impl Lister {
    async fn page(
        &self,
        prefix: Option<&str>,
        delimiter: bool,
        marker: Option<&str>,
        start_from: Option<&str>,
    ) -> Result<ListPage> {
        self.page_of(prefix, delimiter, marker, start_from, LIST_PAGE)
            .await
    }

    /// One List Blobs call of at most `max` entries (blobs and blob prefixes).
    async fn page_of(
        &self,
        prefix: Option<&str>,
        delimiter: bool,
        marker: Option<&str>,
        start_from: Option<&str>,
        max: usize,
    ) -> Result<ListPage> {
        let mut u = self.container_url.clone();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("comp", "list")
                .append_pair("maxresults", &max.clamp(1, LIST_PAGE).to_string());
            if let Some(p) = prefix {
                q.append_pair("prefix", p);
            }
            if delimiter {
                q.append_pair("delimiter", "/");
            }
            if let Some(m) = marker {
                q.append_pair("marker", m);
            } else if let Some(s) = start_from {
                // Inclusive, and not known to every server (Azurite ignores it): the
                // caller filters as well.
                q.append_pair("startFrom", s);
            }
        }
        let what = prefix.unwrap_or("");
        let r = self
            .rest
            .send("list blobs", Method::GET, u, HeaderMap::new(), None)
            .await
            .map_err(|e| e.into_object_store("MicrosoftAzure", what))?;
        parse_list_page(&r.text()).map_err(|e| object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: Box::new(crate::xml::unreadable(format!(
                "List Blobs answer: unreadable response: {e}"
            ))),
        })
    }

    fn objects(
        self: Arc<Self>,
        prefix: Option<String>,
        offset: Option<String>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        stream::try_unfold((Some(None::<String>), 0usize), move |(marker, pages)| {
            let this = self.clone();
            let prefix = prefix.clone();
            let offset = offset.clone();
            async move {
                let Some(marker) = marker else {
                    return Ok::<_, object_store::Error>(None);
                };
                if pages >= MAX_LIST_PAGES {
                    return Ok(None);
                }
                let page = this
                    .page(
                        prefix.as_deref(),
                        false,
                        marker.as_deref(),
                        offset.as_deref(),
                    )
                    .await?;
                let blobs: Vec<Result<ObjectMeta>> = page
                    .blobs
                    .into_iter()
                    .filter(|m| offset.as_deref().is_none_or(|o| m.location.as_ref() > o))
                    .map(Ok)
                    .collect();
                let next = page.next_marker.map(Some);
                Ok(Some((stream::iter(blobs), (next, pages + 1))))
            }
        })
        .try_flatten()
        .boxed()
    }

    async fn with_delimiter(&self, prefix: Option<String>) -> Result<ListResult> {
        let mut res = ListResult {
            common_prefixes: vec![],
            objects: vec![],
            extensions: Default::default(),
        };
        let mut marker: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .page(prefix.as_deref(), true, marker.as_deref(), None)
                .await?;
            res.objects.extend(page.blobs);
            res.common_prefixes.extend(page.prefixes);
            marker = page.next_marker;
            if marker.is_none() {
                break;
            }
        }
        Ok(res)
    }
}

/// One List Blobs call per page for [`gureum_core::Bucket::list_page`] with a delimiter
/// (attached with `Bucket::with_marker_pager`): `page_token` is Azure's opaque `NextMarker`,
/// `max_keys` the `maxresults` (at most 5,000), and `offset` (used only without a marker) is
/// applied exclusively on the client as well, since not every server knows `startFrom`.
/// Names outside the portable key space are skipped, as in the other listings.
#[async_trait]
impl object_store::list::PaginatedListStore for AzureStore {
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: object_store::list::PaginatedListOptions,
    ) -> Result<object_store::list::PaginatedListResult> {
        let Some(l) = &self.lister else {
            return self.inner.list_paginated(prefix, opts).await;
        };
        let offset = if opts.page_token.is_none() {
            opts.offset.as_deref()
        } else {
            None
        };
        let page = l
            .page_of(
                prefix,
                opts.delimiter.is_some(),
                opts.page_token.as_deref(),
                offset,
                opts.max_keys.unwrap_or(LIST_PAGE),
            )
            .await?;
        let after = |name: &str| offset.is_none_or(|o| name > o);
        Ok(object_store::list::PaginatedListResult {
            result: ListResult {
                common_prefixes: page
                    .prefixes
                    .into_iter()
                    .filter(|p| after(&format!("{}/", p.as_ref())))
                    .collect(),
                objects: page
                    .blobs
                    .into_iter()
                    .filter(|m| after(m.location.as_ref()))
                    .collect(),
                extensions: Default::default(),
            },
            page_token: page.next_marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_escape_like_go_cdk() {
        assert_eq!(escape_metadata_name("owner"), "owner");
        assert_eq!(escape_metadata_name("case-id"), "case__0x2d__id");
        assert_eq!(escape_metadata_name("1st"), "__0x31__st");
        assert_eq!(escape_metadata_name("a_b"), "a_b");
        for n in [
            "owner",
            "case-id",
            "1st",
            "a_b",
            "x-y-z",
            "__0x",
            "a__0xzz__b",
        ] {
            assert_eq!(unescape_metadata_name(&escape_metadata_name(n)), n, "{n}");
        }
    }

    #[test]
    fn metadata_values_escape_to_ascii() {
        assert_eq!(escape_metadata_value("ascii value"), "ascii value");
        assert_eq!(escape_metadata_value("민"), "%EB%AF%BC");
        assert_eq!(escape_metadata_value("100%"), "100%25");
        for v in [
            "",
            "ascii value",
            "민원과 (시청)",
            "100%",
            "%20",
            "a\tb",
            "☁️ 😀",
        ] {
            let e = escape_metadata_value(v);
            assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)), "{e}");
            assert_eq!(unescape_metadata_value(&e), v, "{v}");
        }
        // Values other tools wrote: a stray '%' stays.
        assert_eq!(unescape_metadata_value("50% off"), "50% off");
    }

    #[test]
    fn list_page_parses_and_skips_foreign_names() {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
<Prefix>p/</Prefix><MaxResults>5000</MaxResults><Delimiter>/</Delimiter>
<Blobs>
<Blob><Name>p/민원 a+b%20.txt</Name><Properties><Creation-Time>Fri, 27 Nov 2026 04:00:00 GMT</Creation-Time><Last-Modified>Fri, 27 Nov 2026 04:00:00 GMT</Last-Modified><Etag>0x8D1</Etag><Content-Length>12</Content-Length><BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>
<Blob><Name>p/a//b</Name><Properties><Last-Modified>Fri, 27 Nov 2026 04:00:00 GMT</Last-Modified><Content-Length>1</Content-Length></Properties></Blob>
<Blob><Name Encoded="true">p/ctl%01x</Name><Properties><Last-Modified>Fri, 27 Nov 2026 04:00:00 GMT</Last-Modified><Content-Length>1</Content-Length></Properties></Blob>
<Blob><Name>p/dir/</Name><Properties><Last-Modified>Fri, 27 Nov 2026 04:00:00 GMT</Last-Modified><Content-Length>0</Content-Length></Properties></Blob>
<BlobPrefix><Name>p/sub/</Name></BlobPrefix>
<BlobPrefix><Name>p/x//</Name></BlobPrefix>
<Blob><Name>p/a&amp;b</Name><Properties><Last-Modified>Fri, 27 Nov 2026 04:00:01 GMT</Last-Modified><Content-Length>2</Content-Length></Properties></Blob>
</Blobs>
<NextMarker>m2</NextMarker>
</EnumerationResults>"#;
        let page = parse_list_page(body).unwrap();
        let names: Vec<&str> = page.blobs.iter().map(|m| m.location.as_ref()).collect();
        assert_eq!(names, vec!["p/민원 a+b%20.txt", "p/a&b"]);
        assert_eq!(page.blobs[0].size, 12);
        assert_eq!(page.blobs[0].e_tag.as_deref(), Some("\"0x8D1\""));
        let prefixes: Vec<&str> = page.prefixes.iter().map(|p| p.as_ref()).collect();
        assert_eq!(prefixes, vec!["p/sub"]);
        assert_eq!(page.next_marker.as_deref(), Some("m2"));

        let empty = r#"<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>"#;
        assert_eq!(parse_list_page(empty).unwrap(), ListPage::default());
    }
}
