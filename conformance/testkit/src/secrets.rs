//! Marker secrets (issue 15, item 4): one helper every provider family's test shares.
//!
//! A test makes a [`MarkerScan`], puts [`MarkerScan::marker`] wherever a credential goes (a
//! password, a secret key, a SAS, a token), runs operations, hands every error, `Debug`
//! output, redacted URL and report to [`MarkerScan::show`] / [`MarkerScan::text`], and ends with
//! [`MarkerScan::assert_clean`], which fails when the marker (or any other string given to
//! [`MarkerScan::also`]) appears in what was shown or in any log line at TRACE level.
//!
//! Log lines are captured by a process-wide TRACE subscriber installed on first use (so lines
//! from runtime worker threads and client-library threads are captured too); when another
//! global subscriber is already installed, a thread-local one is used instead. Put marker
//! tests in their own test binary so the global subscriber is theirs.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Every log line of the process since the subscriber was installed.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

fn subscriber(w: Captured) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish()
}

/// The process-wide capture, or `None` when another global subscriber was installed first.
fn global() -> Option<&'static Captured> {
    static GLOBAL: OnceLock<Option<Captured>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let c = Captured::default();
            tracing::subscriber::set_global_default(subscriber(c.clone()))
                .ok()
                .map(|_| c)
        })
        .as_ref()
}

/// A marker secret and everything shown while it was in use.
pub struct MarkerScan {
    marker: String,
    forbidden: Vec<String>,
    shown: String,
    logs: Captured,
    _local: Option<tracing::subscriber::DefaultGuard>,
}

impl fmt::Debug for MarkerScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MarkerScan")
            .field("marker", &self.marker)
            .field("shown_bytes", &self.shown.len())
            .finish()
    }
}

impl MarkerScan {
    /// A fresh marker (`SECRETMARKER` + letters and digits only, so it is valid in URLs,
    /// headers, base64 and environment variables) and the TRACE log capture.
    pub fn new() -> Self {
        let marker = format!(
            "SECRETMARKER{}",
            uuid::Uuid::new_v4().simple().to_string()[..12].to_ascii_uppercase()
        );
        let (logs, local) = match global() {
            Some(c) => (c.clone(), None),
            None => {
                let c = Captured::default();
                let g = tracing::subscriber::set_default(subscriber(c.clone()));
                (c, Some(g))
            }
        };
        MarkerScan {
            forbidden: vec![marker.clone()],
            marker,
            shown: String::new(),
            logs,
            _local: local,
        }
    }

    /// The marker: use it as the secret.
    pub fn marker(&self) -> &str {
        &self.marker
    }

    /// Another string that must never be shown (a secret derived from the marker, e.g. its
    /// base64 form). Strings shorter than 8 characters are refused (they would match by chance).
    pub fn also(&mut self, s: impl Into<String>) -> &mut Self {
        let s = s.into();
        assert!(
            s.len() >= 8,
            "forbidden string too short to scan for: {s:?}"
        );
        self.forbidden.push(s);
        self
    }

    /// Record `v` as shown, both its `Display` and its `Debug` form.
    pub fn show<T: fmt::Display + fmt::Debug + ?Sized>(&mut self, what: &str, v: &T) -> &mut Self {
        use fmt::Write as _;
        let _ = writeln!(self.shown, "[{what}] {v} | {v:?}");
        self
    }

    /// Record the `Debug` form of `v` as shown.
    pub fn debug<T: fmt::Debug + ?Sized>(&mut self, what: &str, v: &T) -> &mut Self {
        use fmt::Write as _;
        let _ = writeln!(self.shown, "[{what}] {v:?}");
        self
    }

    /// Record a text (a report, a command's output) as shown.
    pub fn text(&mut self, what: &str, s: &str) -> &mut Self {
        use fmt::Write as _;
        let _ = writeln!(self.shown, "[{what}] {s}");
        self
    }

    /// Record a result: its error (`Display` and `Debug`) or the `Debug` of its value.
    pub fn result<T: fmt::Debug, E: fmt::Display + fmt::Debug>(
        &mut self,
        what: &str,
        r: &Result<T, E>,
    ) -> &mut Self {
        match r {
            Ok(v) => self.debug(what, v),
            Err(e) => self.show(what, e),
        }
    }

    /// Everything shown so far.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The captured log text so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Fail when a forbidden string is in what was shown or logged; also fail when nothing
    /// was shown (a test that scanned nothing proves nothing).
    pub fn assert_clean(&self) {
        assert!(!self.shown.is_empty(), "marker scan: nothing was shown");
        let logs = self.logs.text();
        for f in &self.forbidden {
            if let Some(i) = self.shown.find(f.as_str()) {
                let start = self.shown[..i].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let end = self.shown[i..]
                    .find('\n')
                    .map(|p| p + i)
                    .unwrap_or(self.shown.len());
                panic!("secret marker shown: {}", &self.shown[start..end]);
            }
            if let Some(i) = logs.find(f.as_str()) {
                let start = logs[..i].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let end = logs[i..].find('\n').map(|p| p + i).unwrap_or(logs.len());
                panic!("secret marker in a log line: {}", &logs[start..end]);
            }
        }
    }
}

impl Default for MarkerScan {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_marker_fails_and_a_clean_scan_passes() {
        let mut s = MarkerScan::new();
        let m = s.marker().to_string();
        s.text("clean", "nothing here");
        s.assert_clean();
        s.show("err", &format!("password {m}"));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.assert_clean()));
        assert!(r.is_err());
        let mut t = MarkerScan::new();
        t.text("x", "y");
        tracing::trace!(secret = %t.marker(), "leaky");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.assert_clean()));
        assert!(
            r.is_err(),
            "a TRACE line with the marker must fail the scan"
        );
    }
}
