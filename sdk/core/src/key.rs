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
    if is_plain(key) {
        // A plain key is its own escaped form: `Path::parse` takes it with one exact-size
        // copy instead of escaping segment by segment into a growing string. It cannot fail
        // for a plain key; the general path below stays the single source of truth anyway.
        if let Ok(p) = Path::parse(key) {
            return Ok(p);
        }
    }
    Ok(encode_segments(key))
}

/// Bytes that `object_store`'s `PathPart` escapes (its `INVALID` set: controls, `/`, `\`,
/// `{`, `^`, `}`, `%`, `` ` ``, `]`, `"`, `>`, `[`, `~`, `<`, `#`, `|`, `*`, `?`) and every
/// non-ASCII byte. `plain_key_equals_general_encoding` checks this table against
/// `PathPart` for every byte.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b >= 0x7f;
        b += 1;
    }
    let special = b"/\\{^}%`]\">[~<#|*?";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// True when `key` is stored unchanged: no byte that needs escaping, no empty segment and
/// no `.`/`..` segment.
fn is_plain(key: &str) -> bool {
    let mut seg_start = 0;
    let bytes = key.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'/' {
            if !plain_segment(&bytes[seg_start..i]) {
                return false;
            }
            seg_start = i + 1;
        } else if ESCAPED[b as usize] {
            return false;
        }
    }
    plain_segment(&bytes[seg_start..])
}

fn plain_segment(seg: &[u8]) -> bool {
    !matches!(seg, b"" | b"." | b"..")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must give exactly what the general encoding gives.
    #[test]
    fn plain_key_equals_general_encoding() {
        // Every byte value as a whole segment, and inside a segment.
        for b in 0u8..=0x7f {
            let c = b as char;
            for key in [format!("{c}"), format!("a{c}b/x"), format!("x/{c}{c}")] {
                if validate_key(&key).is_err() {
                    continue;
                }
                let general = encode_segments(&key);
                assert_eq!(encode_key(&key).unwrap(), general, "{key:?}");
                // The table agrees with PathPart on which bytes are escaped.
                if b != b'/' && b != 0 {
                    let escaped = PathPart::from(c.to_string().as_str()).as_ref() != c.to_string();
                    let dot = b == b'.';
                    assert_eq!(ESCAPED[b as usize], escaped && !dot, "byte {b:#x}");
                }
            }
        }
        for key in [
            "bench/2026/11/obj-00042.bin",
            "a",
            ".",
            "..",
            "./a",
            "a/..",
            "a/.../b",
            ".hidden/x",
            "/lead",
            "trail/",
            "a//b",
            "민원/a",
            "a b+c=d,e;f@g!h$i&j'k(l)m",
            "%41",
            "a\u{7f}b",
        ] {
            assert_eq!(encode_key(key).unwrap(), encode_segments(key), "{key:?}");
        }
        assert!(is_plain("bench/2026/11/obj-00042.bin"));
        assert!(!is_plain("a//b") && !is_plain("a/./b") && !is_plain("민원"));
    }
}
