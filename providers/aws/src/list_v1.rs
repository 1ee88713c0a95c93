//! An `ObjectStore` that lists with S3 ListObjects **V1** (marker pagination) and delegates
//! everything else to object_store's `AmazonS3`. For services without ListObjectsV2
//! (Naver Cloud Object Storage).

use crate::error::from_sdk;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{BoxStream, StreamExt};
use gureum_core::ErrorKind;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Page size of V1 requests.
const PAGE: i32 = 1000;
/// Upper bound on pages per listing (bounded loops): 10 million keys.
const MAX_PAGES: usize = 10_000;

/// `AmazonS3` with V1 listing.
#[derive(Clone)]
pub struct V1ListStore {
    inner: Arc<AmazonS3>,
    client: aws_sdk_s3::Client,
    bucket: String,
    page_size: i32,
}

impl fmt::Debug for V1ListStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V1ListStore")
            .field("bucket", &self.bucket)
            .finish()
    }
}

impl fmt::Display for V1ListStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V1ListStore({})", self.inner)
    }
}

impl V1ListStore {
    /// Wrap `inner`; listing goes through `client` (aws-sdk-s3) on `bucket`.
    pub fn new(inner: Arc<AmazonS3>, client: aws_sdk_s3::Client, bucket: String) -> Self {
        V1ListStore {
            inner,
            client,
            bucket,
            page_size: PAGE,
        }
    }

    /// Set the page size of V1 requests (1..=1000; default 1000).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 1000) as i32;
        self
    }

    async fn page(
        &self,
        prefix: Option<&str>,
        delimiter: bool,
        marker: Option<&str>,
    ) -> object_store::Result<V1Page> {
        let r = self
            .client
            .list_objects()
            .bucket(&self.bucket)
            .set_prefix(prefix.map(str::to_string))
            .set_marker(marker.map(str::to_string))
            .set_delimiter(delimiter.then(|| "/".to_string()))
            .max_keys(self.page_size)
            .send()
            .await
            .map_err(|e| to_os_error(from_sdk("ListObjects", &self.bucket, e), &self.bucket))?;
        let mut objects = Vec::new();
        let mut last_key: Option<String> = None;
        for o in r.contents() {
            let Some(key) = o.key() else { continue };
            last_key = Some(key.to_string());
            let last_modified = o
                .last_modified()
                .and_then(|d| Utc.timestamp_opt(d.secs(), d.subsec_nanos()).single())
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
            objects.push(ObjectMeta {
                location: Path::parse(key)?,
                last_modified,
                size: o.size().unwrap_or(0).max(0) as u64,
                e_tag: o.e_tag().map(str::to_string),
                version: None,
            });
        }
        let mut prefixes = Vec::new();
        let mut last_prefix: Option<String> = None;
        for p in r.common_prefixes() {
            if let Some(s) = p.prefix() {
                last_prefix = Some(s.to_string());
                prefixes.push(Path::parse(s)?);
            }
        }
        let truncated = r.is_truncated().unwrap_or(false);
        let next = if truncated {
            r.next_marker()
                .map(str::to_string)
                .filter(|m| !m.is_empty())
                .or_else(|| std::cmp::max(last_key, last_prefix))
        } else {
            None
        };
        Ok(V1Page {
            objects,
            prefixes,
            next,
        })
    }

    fn list_stream(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let prefix = dir_prefix(prefix);
        let marker = offset.map(|o| o.to_string());
        let this = self.clone();
        // state: (marker, pages done, finished)
        futures::stream::unfold((marker, 0usize, false), move |(marker, n, done)| {
            let this = this.clone();
            let prefix = prefix.clone();
            async move {
                if done || n >= MAX_PAGES {
                    return None;
                }
                match this.page(prefix.as_deref(), false, marker.as_deref()).await {
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
}

struct V1Page {
    objects: Vec<ObjectMeta>,
    prefixes: Vec<Path>,
    next: Option<String>,
}

/// object_store's listing prefix convention: a directory path, listed as `dir/`.
fn dir_prefix(prefix: Option<&Path>) -> Option<String> {
    prefix
        .filter(|p| !p.as_ref().is_empty())
        .map(|p| format!("{}/", p.as_ref()))
}

fn to_os_error(e: gureum_core::Error, bucket: &str) -> object_store::Error {
    let path = bucket.to_string();
    match e.kind() {
        ErrorKind::NotFound => object_store::Error::NotFound {
            path,
            source: Box::new(e),
        },
        ErrorKind::PermissionDenied => object_store::Error::PermissionDenied {
            path,
            source: Box::new(e),
        },
        ErrorKind::Unauthenticated => object_store::Error::Unauthenticated {
            path,
            source: Box::new(e),
        },
        _ => object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        },
    }
}

#[async_trait]
impl ObjectStore for V1ListStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
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
        // V1's marker is exactly "start after": keys strictly greater than the offset.
        self.list_stream(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = dir_prefix(prefix);
        let mut marker: Option<String> = None;
        let mut objects = Vec::new();
        let mut prefixes = std::collections::BTreeSet::new();
        for _ in 0..MAX_PAGES {
            let p = self
                .page(prefix.as_deref(), true, marker.as_deref())
                .await?;
            objects.extend(p.objects);
            prefixes.extend(p.prefixes);
            marker = p.next;
            if marker.is_none() {
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
        self.inner.copy_opts(from, to, options).await
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
