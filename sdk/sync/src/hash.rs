//! Content hashes: MD5 while streaming, MD5 etags, S3 and Swift multipart etags.

use md5::{Digest, Md5};

/// Schemes whose etag of a single-part object is the MD5 of its content: the S3 family and
/// Swift. (`file://` etags are inode/mtime/size, `mem://` etags are counters, Azure etags are
/// opaque.) A bucket URL with client-side encryption (`encrypt=`) is never trusted: its etag
/// is the ciphertext's.
///
/// ```
/// use gureum_sync::md5_etag_schemes;
/// assert!(md5_etag_schemes().contains(&"s3"));
/// assert!(!md5_etag_schemes().contains(&"azblob")); // Azure etags are opaque
/// ```
pub fn md5_etag_schemes() -> &'static [&'static str] {
    &[
        "s3",
        "ncloud",
        "ncloud-gov",
        "nhn-s3",
        "kakao-s3",
        "kt-s3",
        "swift",
    ]
}

/// The content MD5 a listed or returned etag stands for, when `trusted` says the backend's
/// etags are content MD5s. Multipart etags (`...-N`) and anything not 32 hex digits give
/// `None`. On Swift a Static Large Object's etag is also 32 hex digits but is the MD5 of its
/// segments' etags: objects of 1 MiB (Swift's smallest SLO segment) or more are not trusted
/// there.
pub(crate) fn etag_md5(
    trusted: bool,
    scheme: &str,
    etag: Option<&str>,
    size: u64,
) -> Option<[u8; 16]> {
    if !trusted {
        return None;
    }
    let e = etag?.trim().trim_start_matches("W/").trim_matches('"');
    if e.len() != 32 {
        return None;
    }
    if scheme == "swift" && size >= 1024 * 1024 {
        return None;
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(e, &mut out).ok()?;
    Some(out)
}

/// The content hash `gureum check` and `--checksum` compare.
///
/// ```
/// use gureum_sync::ContentHash;
/// let h = ContentHash::Md5([0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e]);
/// assert_eq!(h.to_string(), "md5:d41d8cd98f00b204e9800998ecf8427e"); // MD5 of nothing
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHash {
    /// MD5 of the whole content.
    Md5([u8; 16]),
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentHash::Md5(b) => write!(f, "md5:{}", hex::encode(b)),
        }
    }
}

/// MD5 of the whole stream and/or the MD5 of each part (for multipart etags). Each is only
/// computed when asked for: MD5 is the main CPU cost of a large transfer.
#[derive(Clone)]
pub(crate) struct Hasher {
    whole: Option<Md5>,
    keep_parts: bool,
    parts: Vec<[u8; 16]>,
    bytes: u64,
}

pub(crate) fn md5_of(data: &[u8]) -> [u8; 16] {
    let d = Md5::digest(data);
    let mut out = [0u8; 16];
    out.copy_from_slice(d.as_slice());
    out
}

impl Hasher {
    /// The MD5 of the whole content.
    pub(crate) fn new() -> Self {
        Self::with(true, false)
    }
    /// Choose what to compute: the whole content's MD5, the part MD5s.
    pub(crate) fn with(whole: bool, parts: bool) -> Self {
        Hasher {
            whole: whole.then(Md5::new),
            keep_parts: parts,
            parts: Vec::new(),
            bytes: 0,
        }
    }
    /// Add a chunk of the content.
    pub(crate) fn update(&mut self, data: &[u8]) {
        if let Some(w) = &mut self.whole {
            w.update(data);
        }
        self.bytes += data.len() as u64;
    }
    /// Add one whole multipart part (its MD5 is kept for the multipart etag when asked).
    pub(crate) fn part(&mut self, data: &[u8]) {
        self.update(data);
        if self.keep_parts {
            self.parts.push(md5_of(data));
        }
    }
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Whether only part MD5s are computed (no whole-content MD5): then the parts may be
    /// hashed elsewhere, in any order, and handed in with [`Hasher::set_part`].
    pub(crate) fn parts_only(&self) -> bool {
        self.whole.is_none() && self.keep_parts
    }
    /// Count a part's bytes without hashing them (its MD5 comes with [`Hasher::set_part`]).
    pub(crate) fn count(&mut self, n: u64) {
        self.bytes += n;
    }
    /// The MD5 of part `idx` (0-based), computed elsewhere; `None` leaves the part as it is.
    pub(crate) fn set_part(&mut self, idx: usize, md5: Option<[u8; 16]>) {
        let Some(m) = md5 else { return };
        if self.parts.len() <= idx {
            self.parts.resize(idx + 1, [0; 16]);
        }
        self.parts[idx] = m;
    }
    /// The MD5 of everything seen (if computed), and the part MD5s.
    pub(crate) fn finish(self) -> Digests {
        let md5 = self.whole.map(|w| {
            let mut out = [0u8; 16];
            out.copy_from_slice(w.finalize().as_slice());
            out
        });
        Digests {
            md5,
            parts: self.parts,
        }
    }
}

/// The result of a [`Hasher`].
#[derive(Debug, Clone)]
pub(crate) struct Digests {
    pub(crate) md5: Option<[u8; 16]>,
    pub(crate) parts: Vec<[u8; 16]>,
}

impl Digests {
    /// The S3 multipart etag: MD5 of the concatenated part MD5s, then `-N`.
    pub(crate) fn s3_multipart_etag(&self) -> String {
        let mut cat = Vec::with_capacity(self.parts.len() * 16);
        for p in &self.parts {
            cat.extend_from_slice(p);
        }
        format!("{}-{}", hex::encode(md5_of(&cat)), self.parts.len())
    }
    /// The Swift SLO etag: MD5 of the concatenated hex part MD5s.
    pub(crate) fn swift_slo_etag(&self) -> String {
        let mut cat = String::with_capacity(self.parts.len() * 32);
        for p in &self.parts {
            cat.push_str(&hex::encode(p));
        }
        hex::encode(md5_of(cat.as_bytes()))
    }
    /// Whether a destination etag confirms this content: the plain MD5, or (for multipart
    /// uploads) the S3 or Swift multipart etag computed from the parts.
    pub(crate) fn etag_confirms(&self, etag: &str) -> bool {
        let e = etag.trim().trim_start_matches("W/").trim_matches('"');
        if let Some(m) = self.md5 {
            if e.eq_ignore_ascii_case(&hex::encode(m)) {
                return true;
            }
        }
        !self.parts.is_empty()
            && (e.eq_ignore_ascii_case(&self.s3_multipart_etag())
                || e.eq_ignore_ascii_case(&self.swift_slo_etag()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_and_multipart_etags() {
        let mut h = Hasher::with(true, true);
        h.part(b"hello ");
        h.part(b"world");
        let d = h.finish();
        assert_eq!(
            hex::encode(d.md5.unwrap()),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert!(d.etag_confirms("\"5eb63bbbe01eeed093cb22bb8f5acdc3\""));
        let s3 = d.s3_multipart_etag();
        assert!(s3.ends_with("-2"));
        assert!(d.etag_confirms(&format!("\"{s3}\"")));
        assert!(!d.etag_confirms("0123456789abcdef0123456789abcdef"));
        let mut only_parts = Hasher::with(false, true);
        only_parts.part(b"hello ");
        only_parts.part(b"world");
        let p = only_parts.finish();
        assert!(
            p.md5.is_none()
                && p.etag_confirms(&s3)
                && !p.etag_confirms(&hex::encode(d.md5.unwrap()))
        );
        // Parts hashed elsewhere and handed in out of order give the same multipart etag.
        let mut ooo = Hasher::with(false, true);
        assert!(ooo.parts_only() && !Hasher::new().parts_only());
        ooo.count(6);
        ooo.count(5);
        ooo.set_part(1, Some(md5_of(b"world")));
        ooo.set_part(0, Some(md5_of(b"hello ")));
        ooo.set_part(0, None);
        assert_eq!(ooo.bytes(), 11);
        let o = ooo.finish();
        assert!(o.etag_confirms(&s3) && o.md5.is_none());
        assert_eq!(
            etag_md5(true, "s3", Some("\"5eb63bbbe01eeed093cb22bb8f5acdc3\""), 11),
            d.md5
        );
        assert_eq!(etag_md5(true, "s3", Some(&s3), 11), None);
        assert_eq!(
            etag_md5(false, "s3", Some("5eb63bbbe01eeed093cb22bb8f5acdc3"), 11),
            None
        );
        assert_eq!(
            etag_md5(
                true,
                "swift",
                Some("5eb63bbbe01eeed093cb22bb8f5acdc3"),
                2 << 20
            ),
            None
        );
    }
}
