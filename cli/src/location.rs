//! How the command line names storage locations.
//!
//! * `-` is stdin (as a source) or stdout (as a destination);
//! * anything containing `://` is a bucket URL; everything after the first `#` is the
//!   object key (or prefix), taken literally (no percent-decoding), so
//!   `file:///srv/bkt#민원/a b.json` names key `민원/a b.json` in bucket `file:///srv/bkt`;
//! * anything else is a local file path.

use gureum::{Error, Result};
use std::path::PathBuf;

/// A parsed location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// stdin or stdout.
    Stdio,
    /// A local file (or directory, as a destination).
    File(PathBuf),
    /// An object (or prefix) in a bucket.
    Object(ObjectUrl),
}

/// A bucket URL plus a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    /// The bucket URL without the `#KEY` part.
    pub bucket: String,
    /// The key or prefix; empty when no `#` was given.
    pub key: String,
}

impl ObjectUrl {
    /// Split `BUCKET_URL#KEY`. Fails if `s` is not a URL.
    pub fn parse(s: &str) -> Result<Self> {
        if !s.contains("://") {
            return Err(Error::invalid(format!(
                "{:?} is not a bucket URL: expected SCHEME://...#KEY, e.g. file:///srv/bkt#a/b.txt",
                short(s)
            )));
        }
        let (bucket, key) = match s.split_once('#') {
            Some((b, k)) => (b, k),
            None => (s, ""),
        };
        Ok(ObjectUrl {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The key, which must be non-empty.
    pub fn require_key(&self) -> Result<&str> {
        if self.key.is_empty() {
            return Err(Error::invalid(format!(
                "{} names no object: append #KEY to the bucket URL",
                redact(&self.bucket)
            )));
        }
        Ok(&self.key)
    }

    /// Open the bucket.
    pub async fn open(&self) -> Result<gureum::Bucket> {
        gureum::open_bucket(&self.bucket).await
    }

    /// Printable form with secrets redacted.
    pub fn display(&self) -> String {
        if self.key.is_empty() {
            redact(&self.bucket)
        } else {
            format!("{}#{}", redact(&self.bucket), self.key)
        }
    }
}

impl Location {
    /// Parse a command-line location.
    pub fn parse(s: &str) -> Result<Self> {
        if s == "-" {
            Ok(Location::Stdio)
        } else if s.contains("://") {
            Ok(Location::Object(ObjectUrl::parse(s)?))
        } else if s.is_empty() {
            Err(Error::invalid("empty location"))
        } else {
            Ok(Location::File(PathBuf::from(s)))
        }
    }
}

/// A URL with passwords and secret-looking query parameters replaced by `***`.
pub fn redact(url: &str) -> String {
    match gureum::ResourceUrl::parse(url) {
        Ok(u) => u.redacted(),
        Err(_) => short(url),
    }
}

/// Something safe to print from a string that failed to parse: cut at `?` and `@`.
fn short(s: &str) -> String {
    let s = s.split('?').next().unwrap_or("");
    match (s.find("://"), s.rfind('@')) {
        (Some(i), Some(j)) if j > i => format!("{}***{}", &s[..i + 3], &s[j..]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(Location::parse("-").unwrap(), Location::Stdio);
        assert_eq!(
            Location::parse("./a.txt").unwrap(),
            Location::File("./a.txt".into())
        );
        let o = ObjectUrl::parse("file:///srv/bkt#민원/a b#c.json").unwrap();
        assert_eq!(o.bucket, "file:///srv/bkt");
        assert_eq!(o.key, "민원/a b#c.json");
        let o = ObjectUrl::parse("s3://b?region=kr").unwrap();
        assert_eq!(o.key, "");
        assert!(o.require_key().is_err());
        assert!(ObjectUrl::parse("/tmp/x").is_err());
    }

    #[test]
    fn redacts() {
        let r = redact("mq://u:hunter2@h/v?secret_key=abc");
        assert!(!r.contains("hunter2") && !r.contains("abc"), "{r}");
        assert!(!short("x://u:pw@h").contains("pw"));
    }
}
