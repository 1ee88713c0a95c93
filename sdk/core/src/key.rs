//! The portable key space.
//!
//! gureum keys are UTF-8 strings of 1..=1024 bytes without NUL. Every such key round-trips
//! on every backend, and the same key names the same stored object everywhere:
//!
//! * the key is split on `/` into segments;
//! * an empty segment (from a leading `/`, a trailing `/` or `//`) is stored as `%00`
//!   (a NUL can never appear in a key, so this cannot collide);
//! * every other segment is escaped exactly as `object_store`'s [`PathPart`] escapes it
//!   (`%`, `#`, `?`, control characters, `.`/`..` segments and other characters that cloud
//!   stores mishandle become `%XX`).
//!
//! The escaped form is what the backend stores, so objects written by gureum are visible to
//! plain `object_store` users (DataFusion, Polars, delta-rs) under the same [`Path`].
//! Keys that were written by other tools and contain escapes are decoded leniently.
//!
//! ```
//! use gureum_core::key::{encode_key, decode_key};
//! let p = encode_key("민원/2026/a b+c%d.json").unwrap();
//! assert_eq!(decode_key(&p), "민원/2026/a b+c%d.json");
//! let p = encode_key("/lead//double/").unwrap();
//! assert_eq!(decode_key(&p), "/lead//double/");
//! assert!(encode_key("").is_err());
//! ```

use crate::error::{Error, Result};
use object_store::path::{Path, PathPart};
use percent_encoding::percent_decode_str;

/// Maximum key length in bytes, the S3 limit that most stores share.
pub const MAX_KEY_BYTES: usize = 1024;

/// The stored form of an empty segment.
const EMPTY_SEGMENT: &str = "%00";

/// Check that `key` is in the portable key space.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("object key is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::invalid(format!(
            "object key is {} bytes; the portable limit is {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if key.contains('\0') {
        return Err(Error::invalid("object key contains a NUL character"));
    }
    Ok(())
}

/// Encode a portable key into the `object_store` [`Path`] that stores it.
pub fn encode_key(key: &str) -> Result<Path> {
    validate_key(key)?;
    Ok(encode_segments(key))
}

fn encode_segments(s: &str) -> Path {
    // Borrowed parts: `Path::from_iter` copies each (escaped) part once into the path, so no
    // per-segment `String` is allocated (this is on the hot path of every Bucket call).
    Path::from_iter(s.split('/').map(|seg| {
        if seg.is_empty() {
            PathPart::parse(EMPTY_SEGMENT).expect("%00 is a valid raw path part")
        } else {
            PathPart::from(seg)
        }
    }))
}

/// Decode a stored [`Path`] back into the portable key.
pub fn decode_key(path: &Path) -> String {
    let raw = path.as_ref();
    raw.split('/')
        .map(|seg| {
            if seg == EMPTY_SEGMENT {
                String::new()
            } else {
                percent_decode_str(seg).decode_utf8_lossy().into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Split a character prefix (S3 semantics: `"2026/1"` matches `"2026/11/a"`) into the
/// directory [`Path`] to list under and the remaining partial segment to filter on.
pub fn split_prefix(prefix: &str) -> Result<(Option<Path>, String)> {
    if prefix.contains('\0') {
        return Err(Error::invalid("prefix contains a NUL character"));
    }
    match prefix.rfind('/') {
        None => Ok((None, prefix.to_string())),
        Some(i) => {
            let dir = &prefix[..i];
            let rest = &prefix[i + 1..];
            Ok((Some(encode_segments(dir)), rest.to_string()))
        }
    }
}
