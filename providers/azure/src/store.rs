//! [`AzureStore`]: `object_store`'s `MicrosoftAzure` with two Azure gaps closed.
//!
//! * **Suffix ranges.** Azure Blob has no `bytes=-N` ranges, so a suffix read becomes a
//!   HEAD plus a bounded range read pinned to the HEAD's etag (`If-Match`).
//! * **Metadata names.** Azure metadata names must be C# identifiers (no `-`, no leading
//!   digit). Other characters are hex-escaped as `__0xHH__`, exactly as Go CDK's `azureblob`
//!   driver does, so `case-id` is stored as `case__0x2d__id` and reads back as `case-id` in
//!   gureum and in Go CDK applications.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::azure::MicrosoftAzure;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, CopyOptions, GetOptions, GetRange, GetResult, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result,
};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Azure Blob store used by `azblob://` buckets.
#[derive(Debug, Clone)]
pub struct AzureStore {
    inner: Arc<MicrosoftAzure>,
}

impl AzureStore {
    /// Wrap a `MicrosoftAzure` store.
    pub fn new(inner: Arc<MicrosoftAzure>) -> Self {
        AzureStore { inner }
    }
    /// The wrapped store.
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

fn map_attrs(attrs: &Attributes, f: fn(&str) -> String) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in attrs {
        match k {
            Attribute::Metadata(name) => {
                out.insert(Attribute::Metadata(Cow::Owned(f(name))), v.clone());
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
        opts.attributes = map_attrs(&opts.attributes, escape_metadata_name);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        mut opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        opts.attributes = map_attrs(&opts.attributes, escape_metadata_name);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, mut options: GetOptions) -> Result<GetResult> {
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
        r.attributes = map_attrs(&r.attributes, unescape_metadata_name);
        Ok(r)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
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
}
