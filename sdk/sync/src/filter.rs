//! Which keys take part in a run: include/exclude globs plus pluggable [`KeyFilter`]s.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use gureum_core::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// A predicate on keys relative to the endpoint prefix. Both listings (source and
/// destination) pass through the same filters, so a filtered-out key is neither copied nor
/// deleted. This is the hook for sharding a migration over several workers (`--shard I/N`):
/// a filter that accepts the keys whose hash falls in shard `I`.
///
/// ```
/// use gureum_sync::{Filter, KeyFilter};
/// use std::sync::Arc;
/// /// Only keys of 2026.
/// #[derive(Debug)]
/// struct Year2026;
/// impl KeyFilter for Year2026 {
///     fn accept(&self, rel_key: &str) -> bool { rel_key.starts_with("2026/") }
/// }
/// let f = Filter::default().with(Arc::new(Year2026));
/// assert!(f.accept("2026/11/a.csv"));
/// assert!(!f.accept("2025/12/a.csv"));
/// ```
pub trait KeyFilter: Send + Sync + fmt::Debug {
    /// Whether `rel_key` (the key without the endpoint's prefix) takes part.
    fn accept(&self, rel_key: &str) -> bool;
}

/// Include/exclude globs (rclone-style) and extra [`KeyFilter`]s.
///
/// Glob syntax: `*` and `?` stay within one `/`-separated segment, `**` crosses segments,
/// `{a,b}` alternates, `[a-z]` classes. A pattern starting with `/` is anchored at the top of
/// the tree; any other pattern matches at any depth (`*.jpg` matches `a/b/c.jpg`). A key is
/// taken when it matches no exclude pattern and (if any include pattern is given) at least
/// one include pattern, and every extra filter accepts it.
///
/// ```
/// use gureum_sync::Filter;
/// let f = Filter::new(&["*.jpg".into()], &["/tmp/**".into()]).unwrap();
/// assert!(f.accept("민원/사진/a.jpg")); // any depth
/// assert!(!f.accept("tmp/a.jpg")); // anchored exclude
/// assert!(!f.accept("a.png"));
/// ```
#[derive(Clone, Default)]
pub struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    patterns: (Vec<String>, Vec<String>),
    extra: Vec<Arc<dyn KeyFilter>>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("include", &self.patterns.0)
            .field("exclude", &self.patterns.1)
            .field("extra", &self.extra)
            .finish()
    }
}

fn globset(patterns: &[String]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if p.is_empty() {
            return Err(Error::invalid("empty glob pattern"));
        }
        let full = match p.strip_prefix('/') {
            Some(anchored) => anchored.to_string(),
            None => format!("{{{p},**/{p}}}"),
        };
        let g = GlobBuilder::new(&full)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| Error::invalid(format!("glob {p:?}: {e}")))?;
        b.add(g);
    }
    b.build()
        .map(Some)
        .map_err(|e| Error::invalid(format!("globs: {e}")))
}

impl Filter {
    /// A filter from include and exclude glob patterns. A bad pattern gives
    /// `InvalidArgument`.
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// use gureum_sync::Filter;
    /// assert!(Filter::new(&["{a,b}/*.csv".into()], &[]).unwrap().accept("b/x.csv"));
    /// assert_eq!(Filter::new(&["[".into()], &[]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        Ok(Filter {
            include: globset(include)?,
            exclude: globset(exclude)?,
            patterns: (include.to_vec(), exclude.to_vec()),
            extra: Vec::new(),
        })
    }

    /// Add a [`KeyFilter`] (all filters must accept a key).
    ///
    /// ```
    /// use gureum_sync::{Filter, Shard};
    /// use std::sync::Arc;
    /// let f = Filter::default().with(Arc::new(Shard::new(0, 2).unwrap()));
    /// let taken = (0..100).filter(|i| f.accept(&format!("k{i}"))).count();
    /// assert!(taken > 30 && taken < 70); // about half the keys
    /// ```
    pub fn with(mut self, f: Arc<dyn KeyFilter>) -> Self {
        self.extra.push(f);
        self
    }

    /// Whether the relative key takes part.
    ///
    /// ```
    /// use gureum_sync::Filter;
    /// let f = Filter::new(&[], &["*.tmp".into()]).unwrap();
    /// assert!(f.accept("a.csv"));
    /// assert!(!f.accept("x/y.tmp"));
    /// ```
    pub fn accept(&self, rel_key: &str) -> bool {
        if let Some(x) = &self.exclude {
            if x.is_match(rel_key) {
                return false;
            }
        }
        if let Some(i) = &self.include {
            if !i.is_match(rel_key) {
                return false;
            }
        }
        self.extra.iter().all(|f| f.accept(rel_key))
    }

    /// Whether the filter takes every key.
    ///
    /// ```
    /// use gureum_sync::Filter;
    /// assert!(Filter::default().is_empty());
    /// assert!(!Filter::new(&["*.csv".into()], &[]).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none() && self.extra.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn globs_match_like_rclone() {
        let f = Filter::new(&v(&["*.jpg", "/top/**"]), &v(&["**/tmp/**"])).unwrap();
        assert!(f.accept("a.jpg"));
        assert!(f.accept("민원/사진 1.jpg"));
        assert!(f.accept("top/x/y.txt"));
        assert!(!f.accept("x/top/y.txt"));
        assert!(!f.accept("a.png"));
        assert!(!f.accept("a/tmp/b.jpg"));
        let all = Filter::new(&[], &[]).unwrap();
        assert!(all.is_empty() && all.accept("anything/at all"));
        assert!(Filter::new(&v(&["a[b"]), &[]).is_err());
    }

    #[derive(Debug)]
    struct Even;
    impl KeyFilter for Even {
        fn accept(&self, k: &str) -> bool {
            k.len().is_multiple_of(2)
        }
    }

    #[test]
    fn extra_filters_compose() {
        let f = Filter::new(&[], &v(&["*.tmp"]))
            .unwrap()
            .with(Arc::new(Even));
        assert!(f.accept("ab"));
        assert!(!f.accept("abc"));
        assert!(!f.accept("ab.tmp"));
    }
}
