//! User metadata on S3: names as HTTP header suffixes (`x-amz-meta-NAME`), values encoded the
//! way S3 itself documents for non-ASCII text.
//!
//! S3 carries user metadata in HTTP headers, which hold visible ASCII only. The S3 user guide
//! ("Working with object metadata", user-defined metadata) says: *"When using non US-ASCII
//! characters in your metadata values, the provided Unicode string is examined for non
//! US-ASCII characters. Values of such headers are character decoded as per RFC 2047 before
//! storing and encoded as per RFC 2047 to make them mail-safe before returning."* So the
//! portable, native way is an RFC 2047 *encoded-word*: gureum writes a value that is not plain
//! visible ASCII as `=?UTF-8?B?<base64 of the UTF-8 bytes>?=` (split into several encoded-words
//! separated by a space when longer than the 75 characters RFC 2047 allows per word), and
//! decodes encoded-words (`B` or `Q`, UTF-8 or US-ASCII charset) when reading. AWS stores the
//! decoded UTF-8 and returns the encoded form; S3 clones (moto, Swift s3api) store the encoded
//! form as sent and return it unchanged. Either way boto3 and the AWS CLI see the same
//! encoded-word string (Python's `email.header.decode_header` decodes it), and gureum reads
//! back exactly the value it wrote.
//!
//! Reversibility: an ASCII value that itself looks like an encoded-word (`=?...?=`), or that
//! has leading/trailing whitespace (HTTP trims it) or control characters, is encoded too, so
//! decoding never changes a value gureum wrote.
//!
//! Names: header-name characters only (ASCII letters, digits and `!#$%&'*+-.^_`|~`), stored
//! lower case by S3. Anything else is refused with `InvalidArgument`.

use base64::Engine;
use gureum_core::Error;

/// S3's limit on user metadata: "the sum of the number of bytes in the UTF-8 encoding of
/// each key and value" is at most 2 KB.
///
/// ```
/// use gureum_aws::metadata::MAX_TOTAL_BYTES;
/// assert_eq!(MAX_TOTAL_BYTES, gureum_core::storage::MAX_METADATA_BYTES);
/// ```
pub const MAX_TOTAL_BYTES: usize = 2048;

/// Longest encoded-word RFC 2047 allows.
const MAX_WORD: usize = 75;
/// `=?UTF-8?B?` + `?=`.
const WORD_OVERHEAD: usize = 12;
/// Raw bytes per encoded-word: base64 of 45 bytes is 60 characters, 72 with the overhead.
const BYTES_PER_WORD: usize = (MAX_WORD - WORD_OVERHEAD) / 4 * 3;

/// True when `v` can be sent as a header value unchanged and reads back unchanged.
fn is_plain(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !v.starts_with([' ', '\t'])
        && !v.ends_with([' ', '\t'])
        && !looks_encoded(v)
}

fn looks_encoded(v: &str) -> bool {
    v.contains("=?") && v.contains("?=")
}

/// Encode a metadata value for an `x-amz-meta-*` header (see the module docs).
///
/// ```
/// use gureum_aws::metadata::{decode_value, encode_value};
/// assert_eq!(encode_value("plain ascii"), "plain ascii"); // sent unchanged
/// let e = encode_value("종로구");
/// assert!(e.starts_with("=?UTF-8?")); // RFC 2047, as AWS SDKs do
/// assert_eq!(decode_value(&e), "종로구");
/// ```
pub fn encode_value(v: &str) -> String {
    if is_plain(v) {
        return v.to_string();
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::with_capacity(v.len() * 2);
    let mut rest = v;
    if rest.is_empty() {
        return String::new();
    }
    while !rest.is_empty() {
        // Split on a character boundary so every word holds whole UTF-8 characters.
        let mut end = rest.len().min(BYTES_PER_WORD);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?UTF-8?B?");
        out.push_str(&b64.encode(chunk.as_bytes()));
        out.push_str("?=");
        rest = tail;
    }
    out
}

/// Decode a header value: a sequence of RFC 2047 encoded-words (UTF-8 or US-ASCII, `B` or
/// `Q`) separated by whitespace becomes its text; anything else is returned unchanged.
///
/// ```
/// use gureum_aws::metadata::decode_value;
/// assert_eq!(decode_value("=?UTF-8?B?7KKF66Gc6rWs?="), "종로구");
/// assert_eq!(decode_value("not encoded"), "not encoded");
/// ```
pub fn decode_value(v: &str) -> String {
    if !looks_encoded(v) {
        return v.to_string();
    }
    let mut bytes = Vec::with_capacity(v.len());
    for word in v.split([' ', '\t']).filter(|w| !w.is_empty()) {
        match decode_word(word) {
            Some(b) => bytes.extend_from_slice(&b),
            None => return v.to_string(),
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| v.to_string())
}

fn decode_word(w: &str) -> Option<Vec<u8>> {
    let inner = w.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    let enc = parts.next()?;
    let text = parts.next()?;
    // RFC 2231 language suffix: `UTF-8*ko`.
    let charset = charset.split('*').next().unwrap_or(charset);
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return None;
    }
    if enc.eq_ignore_ascii_case("b") {
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    } else if enc.eq_ignore_ascii_case("q") {
        let mut out = Vec::with_capacity(text.len());
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'_' => out.push(b' '),
                b'=' if i + 2 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 2;
                }
                b'=' => return None,
                c => out.push(c),
            }
            i += 1;
        }
        Some(out)
    } else {
        None
    }
}

/// Check a metadata name for S3: an HTTP header token. `underscore` is false for services
/// that drop header names with `_` (see [`crate::S3Quirks::metadata_underscore`]).
///
/// ```
/// use gureum_aws::metadata::check_name;
/// assert!(check_name("complaint-id", true).is_ok());
/// assert!(check_name("complaint_id", false).is_err()); // a service that drops `_` names
/// ```
pub fn check_name(name: &str, underscore: bool) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid("metadata name is empty"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))
    {
        return Err(Error::invalid(format!(
            "metadata name {name:?}: {c:?} cannot appear in an S3 metadata name (HTTP header token characters only)"
        )));
    }
    if !underscore && name.contains('_') {
        return Err(Error::unsupported(format!(
            "metadata name {name:?}: this S3 service drops header names containing '_'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_unchanged() {
        for v in ["ascii value", "c-1041", "", "a   b", "100%", "=? only"] {
            assert_eq!(encode_value(v), v);
            assert_eq!(decode_value(v), v);
        }
    }

    #[test]
    fn non_ascii_round_trips_as_rfc2047() {
        let v = "민원과 (시청)";
        let e = encode_value(v);
        assert_eq!(e, "=?UTF-8?B?66+87JuQ6rO8ICjsi5zssq0p?=");
        assert_eq!(decode_value(&e), v);
        let long = "가".repeat(200);
        let e = encode_value(&long);
        assert!(e.split(' ').all(|w| w.len() <= MAX_WORD), "{e}");
        assert_eq!(decode_value(&e), long);
        for v in [
            " lead",
            "trail ",
            "=?UTF-8?B?YQ==?=",
            "tab\tin",
            "ctl\u{1}",
            "😀",
        ] {
            let e = encode_value(v);
            assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)), "{e}");
            assert_eq!(decode_value(&e), v, "{e}");
        }
    }

    #[test]
    fn decodes_what_other_clients_send() {
        // Python's email.header.Header("민원", "utf-8").encode()
        assert_eq!(decode_value("=?utf-8?b?66+87JuQ?="), "민원");
        assert_eq!(decode_value("=?UTF-8?Q?a_b=EB=AF=BC?="), "a b민");
        assert_eq!(decode_value("=?iso-8859-1?q?x?="), "=?iso-8859-1?q?x?=");
        assert_eq!(decode_value("=?UTF-8?B?!!?="), "=?UTF-8?B?!!?=");
    }

    #[test]
    fn names() {
        assert!(check_name("case_id", true).is_ok());
        assert!(check_name("dept-name", true).is_ok());
        assert_eq!(
            check_name("case_id", false).unwrap_err().kind(),
            gureum_core::ErrorKind::Unsupported
        );
        for bad in ["", "a b", "한글", "a:b", "a/b"] {
            assert_eq!(
                check_name(bad, true).unwrap_err().kind(),
                gureum_core::ErrorKind::InvalidArgument
            );
        }
    }
}
