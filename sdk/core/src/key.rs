//! The portable key space: keys are stored verbatim.
//!
//! A gureum key is stored as exactly its UTF-8 bytes on every backend: `민원/사진 1.jpg` is the
//! S3 key, Swift object name, Azure blob name and file path `민원/사진 1.jpg`, so boto3,
//! swiftclient, the Azure SDK, `ls` and every console see the same name, and objects that
//! other tools wrote are read by their own names. Nothing is escaped or normalised (NFC and
//! NFD spellings of the same text are two different keys).
//!
//! A key is **portable** when it can be stored verbatim everywhere. The rules (each refusal
//! is an [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the rule):
//!
//! * not empty, and at most [`MAX_KEY_BYTES`] bytes of UTF-8 (the stored bytes are counted:
//!   a Hangul syllable is 3 bytes);
//! * no leading and no trailing `/` (a trailing `/` is a folder marker in cloud consoles;
//!   `object_store` strips both);
//! * no empty segment (`a//b`): file systems and `object_store` paths cannot hold one;
//! * no `.` or `..` segment: file systems and URL-based clients resolve them;
//! * no ASCII control character (U+0000–U+001F, U+007F): XML listings, HTTP headers and
//!   terminals mangle them.
//!
//! Everything else is allowed as it is: spaces, `+ % # ? & = @ ~ [ ] { } ' ! ( ) , \ * |`,
//! non-ASCII letters, emoji. A portable key is exactly an `object_store`
//! [`Path`] that [`Path::parse`] accepts unchanged, so
//! [`Bucket::object_store`](crate::storage::Bucket::object_store) shows the same string.
//!
//! Two backends refuse a few portable keys rather than rename them (documented per backend):
//! Azure Blob turns `\` into `/`, so `azblob://` refuses keys containing `\`; `file://`
//! refuses segment names ending in `%+` (its reversible form for segments over 255 bytes).
//!
//! Names written by other tools that break a rule (`a//b`, `dir/` folder markers, `./x`,
//! control characters) are *foreign*: listings skip them (see [`is_portable`]).
//!
//! ```
//! use gureum_core::key::{encode_key, decode_key, is_portable};
//! let p = encode_key("민원/2026/a b+c%d.json").unwrap();
//! assert_eq!(p.as_ref(), "민원/2026/a b+c%d.json");
//! assert_eq!(decode_key(&p), "민원/2026/a b+c%d.json");
//! assert!(encode_key("a//b").is_err());
//! assert!(encode_key("").is_err());
//! assert!(is_portable("literal%20space.txt"));
//! assert!(!is_portable("dir/"));
//! ```

use crate::error::{Error, Result};
use object_store::path::Path;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Maximum key length in bytes of UTF-8 (the S3 limit that most stores share).
///
/// ```
/// use gureum_core::key::{validate_key, MAX_KEY_BYTES};
/// assert!(validate_key(&"a".repeat(MAX_KEY_BYTES)).is_ok());
/// assert!(validate_key(&"a".repeat(MAX_KEY_BYTES + 1)).is_err());
/// ```
pub const MAX_KEY_BYTES: usize = 1024;

/// The rule of the portable key space that a name breaks.
///
/// ```
/// use gureum_core::key::KeyRule;
/// assert_eq!(KeyRule::EmptySegment.to_string(), "a key must not have an empty segment ('//')");
/// assert!(KeyRule::TooLong(2000).to_string().contains("2000 bytes"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRule {
    /// The key is empty.
    Empty,
    /// The key is longer than [`MAX_KEY_BYTES`] bytes (the length in bytes is given).
    TooLong(usize),
    /// The key starts with `/`.
    LeadingSlash,
    /// The key ends with `/` (a folder marker).
    TrailingSlash,
    /// The key has an empty segment (`a//b`).
    EmptySegment,
    /// The key has a `.` or `..` segment.
    DotSegment,
    /// The key holds an ASCII control character (U+0000–U+001F, U+007F).
    ControlCharacter,
    /// A stored name that is not valid UTF-8 (only listings report this).
    NotUtf8,
    /// A name that the backend's own layout reserves (for example `file://`'s
    /// `.gureum-meta/` directory); the backend documents which.
    Reserved,
}

impl fmt::Display for KeyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRule::Empty => f.write_str("a key must not be empty"),
            KeyRule::TooLong(n) => write!(
                f,
                "a key is at most {MAX_KEY_BYTES} bytes of UTF-8 (this one is {n} bytes)"
            ),
            KeyRule::LeadingSlash => f.write_str("a key must not start with '/'"),
            KeyRule::TrailingSlash => {
                f.write_str("a key must not end with '/' (that is a folder marker)")
            }
            KeyRule::EmptySegment => f.write_str("a key must not have an empty segment ('//')"),
            KeyRule::DotSegment => f.write_str("a key must not have a '.' or '..' segment"),
            KeyRule::ControlCharacter => f.write_str(
                "a key must not contain ASCII control characters (U+0000-U+001F, U+007F)",
            ),
            KeyRule::NotUtf8 => f.write_str("a key must be valid UTF-8"),
            KeyRule::Reserved => f.write_str("the name is reserved by the backend's layout"),
        }
    }
}

/// Check `key` against the rules of the portable key space without allocating.
///
/// Returns the first rule the key breaks (in the order of [`KeyRule`]'s variants).
///
/// ```
/// use gureum_core::key::check_key;
/// assert!(check_key("민원/사진 1.jpg").is_ok()); // spaces, Hangul: stored verbatim
/// assert!(check_key("a//b").is_err());          // empty segment
/// assert!(check_key("/leading").is_err());
/// assert!(check_key("dir/").is_err());          // a folder marker
/// ```
pub fn check_key(key: &str) -> std::result::Result<(), KeyRule> {
    let bytes = key.as_bytes();
    if bytes.is_empty() {
        return Err(KeyRule::Empty);
    }
    if bytes.len() > MAX_KEY_BYTES {
        return Err(KeyRule::TooLong(bytes.len()));
    }
    if bytes[0] == b'/' {
        return Err(KeyRule::LeadingSlash);
    }
    if bytes[bytes.len() - 1] == b'/' {
        return Err(KeyRule::TrailingSlash);
    }
    check_segments(bytes)
}

/// Segment and character rules (the key is non-empty, without leading/trailing `/`).
fn check_segments(bytes: &[u8]) -> std::result::Result<(), KeyRule> {
    let mut seg_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'/' {
            check_segment(&bytes[seg_start..i])?;
            seg_start = i + 1;
        } else if b < 0x20 || b == 0x7f {
            return Err(KeyRule::ControlCharacter);
        }
    }
    check_segment(&bytes[seg_start..])
}

fn check_segment(seg: &[u8]) -> std::result::Result<(), KeyRule> {
    match seg {
        b"" => Err(KeyRule::EmptySegment),
        b"." | b".." => Err(KeyRule::DotSegment),
        _ => Ok(()),
    }
}

/// Whether a stored or listed name is in the portable key space.
///
/// Providers call this on every name a listing returns and skip (with a `tracing` warning)
/// the names that are not, so one foreign object (`a//b`, a `dir/` folder marker, `./x`,
/// a name with control characters or over [`MAX_KEY_BYTES`]) never fails a listing.
/// Reading a name that passes is reading the key of the same string.
///
/// ```
/// use gureum_core::key::is_portable;
/// assert!(is_portable("민원/2026/c-1041.json"));
/// assert!(!is_portable("a//b"));
/// assert!(!is_portable("./x"));
/// ```
pub fn is_portable(name: &str) -> bool {
    check_key(name).is_ok()
}

/// The key of a stored or listed name, or `None` if the name is outside the portable key
/// space (see [`is_portable`]). Keys are verbatim, so the key is the name itself.
///
/// ```
/// use gureum_core::key::parse_stored;
/// assert_eq!(parse_stored("a/b.txt").as_deref(), Some("a/b.txt"));
/// assert_eq!(parse_stored("folder/"), None); // a folder marker is skipped
/// ```
pub fn parse_stored(name: &str) -> Option<String> {
    is_portable(name).then(|| name.to_string())
}

tokio::task_local! {
    /// The foreign-name counter of the listing being polled on this task.
    static FOREIGN: Arc<AtomicU64>;
}

/// Record that a listing skipped the stored name `name`, which breaks `rule`.
///
/// Logs a `tracing` warning and adds one to the skip count of the [`Bucket`] listing that
/// is being polled on the current task (reported as
/// [`ListPage::skipped`](crate::storage::ListPage::skipped) and by
/// [`Bucket::list_all_counted`](crate::storage::Bucket::list_all_counted)). Call it from
/// the code that polls the listing (inside the `ObjectStore` stream or future, not from a
/// `spawn_blocking` thread); outside a [`Bucket`] listing it only logs.
///
/// [`Bucket`]: crate::storage::Bucket
///
/// ```
/// use gureum_core::key::{report_foreign_name, KeyRule};
/// // Outside a Bucket listing this only logs a warning.
/// report_foreign_name("a//b", KeyRule::EmptySegment);
/// ```
pub fn report_foreign_name(name: &str, rule: KeyRule) {
    tracing::warn!(name = %shown(name), %rule, "skipped a name outside the portable key space");
    let _ = FOREIGN.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
}

/// Run `f` with `counter` as the foreign-name counter of this task (see
/// [`report_foreign_name`]).
pub(crate) fn counting_foreign<R>(counter: &Arc<AtomicU64>, f: impl FnOnce() -> R) -> R {
    FOREIGN.sync_scope(counter.clone(), f)
}

/// Check that `key` is in the portable key space; the error is
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the rule.
///
/// ```
/// use gureum_core::{key::validate_key, ErrorKind};
/// assert!(validate_key("traffic/2026-11-26.csv").is_ok());
/// let e = validate_key("/abs").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// assert!(e.message().contains("must not start with '/'"));
/// ```
pub fn validate_key(key: &str) -> Result<()> {
    check_key(key).map_err(|rule| invalid_key(key, rule))
}

fn invalid_key(key: &str, rule: KeyRule) -> Error {
    Error::invalid(format!("object key {}: {rule}", shown(key)))
}

/// The key for an error message: quoted, escaped, and cut after 120 characters.
fn shown(key: &str) -> String {
    let mut chars = key.chars();
    let head: String = chars.by_ref().take(120).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// The `object_store` [`Path`] that stores a portable key: the key's string, unchanged.
///
/// ```
/// use gureum_core::key::encode_key;
/// assert_eq!(encode_key("민원/사진 1.jpg").unwrap().as_ref(), "민원/사진 1.jpg"); // verbatim
/// assert!(encode_key("").is_err());
/// ```
pub fn encode_key(key: &str) -> Result<Path> {
    validate_key(key)?;
    // Every portable key is a valid `Path` string (non-empty segments, no `.`/`..`, no
    // control characters), so this does not fail; map the error anyway, never panic.
    Path::parse(key).map_err(|e| Error::invalid(format!("object key {}: {e}", shown(key))))
}

/// The key of a stored [`Path`]: its string, unchanged (no percent-decoding).
///
/// A `Path` can hold names that are not portable keys (longer than [`MAX_KEY_BYTES`]);
/// check with [`is_portable`] where that matters.
///
/// ```
/// use gureum_core::key::{decode_key, encode_key};
/// let p = encode_key("a b/c%20d").unwrap();
/// assert_eq!(decode_key(&p), "a b/c%20d"); // no percent-decoding
/// ```
pub fn decode_key(path: &Path) -> String {
    path.as_ref().to_string()
}

/// Split a character prefix (S3 semantics: `"2026/1"` matches `"2026/11/a"`) into the
/// directory [`Path`] to list under and the remaining partial segment to filter on.
///
/// The directory part (up to the last `/`) must be a run of portable key segments; a
/// prefix that no portable key can start with (`/x`, `a//`, `./x`, control characters, or
/// over [`MAX_KEY_BYTES`]) is refused with `InvalidArgument` naming the rule. The partial
/// segment may be anything without control characters (`"."` matches `".hidden"`).
///
/// ```
/// use gureum_core::key::split_prefix;
/// let (dir, rest) = split_prefix("2026/1").unwrap();
/// assert_eq!(dir.unwrap().as_ref(), "2026");
/// assert_eq!(rest, "1");
/// assert_eq!(split_prefix("abc").unwrap(), (None, "abc".to_string()));
/// assert!(split_prefix("a//b").is_err());
/// ```
pub fn split_prefix(prefix: &str) -> Result<(Option<Path>, String)> {
    let refuse = |rule: KeyRule| Error::invalid(format!("prefix {}: {rule}", shown(prefix)));
    if prefix.len() > MAX_KEY_BYTES {
        return Err(refuse(KeyRule::TooLong(prefix.len())));
    }
    if prefix.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(refuse(KeyRule::ControlCharacter));
    }
    match prefix.rfind('/') {
        None => Ok((None, prefix.to_string())),
        Some(i) => {
            let dir = &prefix[..i];
            let rest = &prefix[i + 1..];
            if dir.is_empty() {
                return Err(refuse(KeyRule::LeadingSlash));
            }
            check_key(dir).map_err(refuse)?;
            let path = Path::parse(dir).map_err(|e| Error::invalid(format!("prefix: {e}")))?;
            Ok((Some(path), rest.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn keys_are_verbatim() {
        for key in [
            "bench/2026/11/obj-00042.bin",
            "a",
            "a/.../b",
            ".hidden/x",
            "민원/사진 1.jpg",
            "정규화/한글 문서.txt",
            "a b+c=d,e;f@g!h$i&j'k(l)m",
            "%41",
            "literal%20space.txt",
            "%00",
            "hash#1",
            "q?x=1&y",
            "{}^`[]|<>~*\"\\",
            "emoji/구름 ☁️ 😀.txt",
        ] {
            let p = encode_key(key).unwrap();
            assert_eq!(p.as_ref(), key);
            assert_eq!(decode_key(&p), key);
            assert_eq!(p, Path::parse(key).unwrap());
            assert!(is_portable(key));
            assert_eq!(parse_stored(key).as_deref(), Some(key));
        }
        // NFC and NFD stay distinct.
        let nfc = "\u{d55c}\u{ae00}"; // 한글, precomposed
        let nfd = "\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}"; // 한글, decomposed
        assert_ne!(encode_key(nfc).unwrap(), encode_key(nfd).unwrap());
        assert_eq!(encode_key(nfd).unwrap().as_ref(), nfd);
    }

    #[test]
    fn refused_keys_name_the_rule() {
        for (key, rule, text) in [
            ("", KeyRule::Empty, "empty"),
            ("/lead", KeyRule::LeadingSlash, "start with '/'"),
            ("/", KeyRule::LeadingSlash, "start with '/'"),
            ("dir/", KeyRule::TrailingSlash, "end with '/'"),
            ("a//b", KeyRule::EmptySegment, "empty segment"),
            (".", KeyRule::DotSegment, "'.' or '..'"),
            ("..", KeyRule::DotSegment, "'.' or '..'"),
            ("./x", KeyRule::DotSegment, "'.' or '..'"),
            ("a/../b", KeyRule::DotSegment, "'.' or '..'"),
            ("a/.", KeyRule::DotSegment, "'.' or '..'"),
            ("a\0b", KeyRule::ControlCharacter, "control"),
            ("tab\tkey", KeyRule::ControlCharacter, "control"),
            ("nl\n", KeyRule::ControlCharacter, "control"),
            ("del\u{7f}", KeyRule::ControlCharacter, "control"),
            ("x\u{1f}y", KeyRule::ControlCharacter, "control"),
        ] {
            assert_eq!(check_key(key), Err(rule), "{key:?}");
            assert!(!is_portable(key));
            assert_eq!(parse_stored(key), None);
            let e = encode_key(key).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.to_string().contains(text), "{key:?}: {e}");
        }
        // Non-ASCII controls (C1) and format characters are allowed: only ASCII is refused.
        assert!(is_portable("a\u{85}b") && is_portable("a\u{200b}b"));
    }

    #[test]
    fn the_limit_counts_stored_bytes() {
        let k = "가".repeat(341) + "k"; // 1,023 + 1 bytes
        assert_eq!(k.len(), 1024);
        assert_eq!(encode_key(&k).unwrap().as_ref().len(), 1024);
        let k = "가".repeat(341) + "kk";
        assert_eq!(check_key(&k), Err(KeyRule::TooLong(1025)));
        let e = encode_key(&k).unwrap_err();
        assert!(e.to_string().contains("1024 bytes"), "{e}");
        assert!(
            e.to_string().contains('…'),
            "long keys are cut in messages: {e}"
        );
    }

    #[test]
    fn prefixes_are_verbatim() {
        assert_eq!(split_prefix("").unwrap(), (None, String::new()));
        assert_eq!(split_prefix("민").unwrap(), (None, "민".to_string()));
        let (dir, rest) = split_prefix("민원/2026/1").unwrap();
        assert_eq!(dir.unwrap().as_ref(), "민원/2026");
        assert_eq!(rest, "1");
        let (dir, rest) = split_prefix("a%20b/").unwrap();
        assert_eq!(dir.unwrap().as_ref(), "a%20b");
        assert_eq!(rest, "");
        assert_eq!(split_prefix("x/.").unwrap().1, ".");
        for bad in ["/", "/x", "a//", "a//b", "./x", "a/../", "t\tab"] {
            let e = split_prefix(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }
}
