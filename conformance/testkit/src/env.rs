//! The shared test servers from the environment, the emulator gate and unique names.
//!
//! `scripts/emulators.sh env` prints the variables read here. A test asks for the server it
//! needs and returns early on `None`: the helper prints `skipping: VAR not set`, or panics when
//! `GUREUM_REQUIRE_EMULATORS=1` (CI), so a missing server can never turn into a silent pass.

use std::net::IpAddr;

/// The variable that turns a missing test server from a skip into a failure.
pub const REQUIRE_EMULATORS: &str = "GUREUM_REQUIRE_EMULATORS";

/// Whether `GUREUM_REQUIRE_EMULATORS=1`: missing test servers fail instead of skip.
pub fn emulators_required() -> bool {
    std::env::var(REQUIRE_EMULATORS).as_deref() == Ok("1")
}

/// The non-empty value of `var`, or `None` (the caller skips) when unset or empty.
///
/// # Panics
/// When the variable is missing and [`emulators_required`].
pub fn var(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if emulators_required() {
                panic!("{var} not set and {REQUIRE_EMULATORS}=1");
            }
            eprintln!("skipping: {var} not set");
            record_skip(var);
            None
        }
    }
}

/// The variable naming a file where every skip is recorded (one line: test name, tab, the
/// missing variable), so that `scripts/test.sh` counts skipped tests in its summary instead
/// of letting them pass as `ok`.
pub const SKIP_LOG: &str = "GUREUM_SKIP_LOG";

/// Append a skip to the [`SKIP_LOG`] file, if one is set (the test's name is the thread name
/// the test harness gives it).
pub fn record_skip(what: &str) {
    use std::io::Write;
    let Ok(path) = std::env::var(SKIP_LOG) else {
        return;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown-test")
        .to_string();
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{test}\t{what}");
    }
}

/// The value of `var`, or `default` when unset or empty (no gate: for optional settings).
pub fn var_or(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// A unique lowercase name `prefix-<12 hex digits>`, valid as an S3 bucket, Azure container or
/// queue, Swift container and SQS queue name (for a short lowercase `prefix`).
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Whether `host` (a host name or an IP literal, IPv6 with or without brackets) is loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Tests send traffic only to loopback.
///
/// # Panics
/// When `url` is not a URL or its host is not loopback.
pub fn assert_loopback(url: &str) {
    let u = url::Url::parse(url).unwrap_or_else(|e| panic!("not a URL ({e}): {url}"));
    assert!(
        is_loopback_host(u.host_str().unwrap_or("")),
        "tests only talk to loopback; got {url}"
    );
}

/// An S3-compatible test server: endpoint and keys.
#[derive(Debug, Clone)]
pub struct S3Server {
    /// Short label (`moto`, `swift-s3api`).
    pub name: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key (a test key of a local emulator).
    pub secret_key: String,
}

/// moto (`AWS_ENDPOINT_URL`; keys `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, default
/// `test`), or `None` (skip). Also makes the AWS default chain safe (see [`aws_safe_env`]).
pub fn moto() -> Option<S3Server> {
    let endpoint = var("AWS_ENDPOINT_URL")?;
    assert_loopback(&endpoint);
    aws_safe_env();
    Some(S3Server {
        name: "moto",
        endpoint,
        access_key: var_or("AWS_ACCESS_KEY_ID", "test"),
        secret_key: var_or("AWS_SECRET_ACCESS_KEY", "test"),
    })
}

/// The Swift SAIO's s3api (`SWIFT_S3_ENDPOINT`, `SWIFT_S3_ACCESS_KEY` default `test:tester`,
/// `SWIFT_S3_SECRET_KEY` default `testing`), or `None` (skip).
pub fn swift_s3() -> Option<S3Server> {
    let endpoint = var("SWIFT_S3_ENDPOINT")?;
    assert_loopback(&endpoint);
    aws_safe_env();
    Some(S3Server {
        name: "swift-s3api",
        endpoint,
        access_key: var_or("SWIFT_S3_ACCESS_KEY", "test:tester"),
        secret_key: var_or("SWIFT_S3_SECRET_KEY", "testing"),
    })
}

/// The Swift SAIO with tempauth v1.
#[derive(Debug, Clone)]
pub struct SwiftServer {
    /// `SWIFT_AUTH_URL`, e.g. `http://127.0.0.1:8080/auth/v1.0`.
    pub auth_url: String,
    /// `SWIFT_USER`, e.g. `test:tester`.
    pub user: String,
    /// `SWIFT_KEY` (a test key of the local SAIO).
    pub key: String,
}

impl SwiftServer {
    /// A `swift://CONTAINER?auth_url=..&user=..&key=..` URL for this server.
    pub fn url(&self, container: &str) -> String {
        format!(
            "swift://{container}?auth_url={}&user={}&key={}",
            self.auth_url, self.user, self.key
        )
    }
}

/// The Swift SAIO (`SWIFT_AUTH_URL`, `SWIFT_USER`, `SWIFT_KEY`), or `None` (skip).
pub fn swift() -> Option<SwiftServer> {
    let auth_url = var("SWIFT_AUTH_URL")?;
    assert_loopback(&auth_url);
    Some(SwiftServer {
        auth_url,
        user: var("SWIFT_USER")?,
        key: var("SWIFT_KEY")?,
    })
}

/// An Azurite variable written by `scripts/emulators.sh env` (e.g. `AZURITE_BLOB_URL`,
/// `AZURITE_QUEUE_URL`), or `None` (skip).
pub fn azurite(variable: &str) -> Option<String> {
    var(variable)
}

/// Make sure the AWS default credential chain never leaves the host: no instance metadata
/// (IMDS) lookups, and moto's test keys when none are set. Runs once per process.
pub fn aws_safe_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Test binaries set these once, before any AWS client reads them.
        if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        }
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_are_valid() {
        let (a, b) = (unique("gt"), unique("gt"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 15);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.3.4.5",
            "[::1]",
            "::1",
            "a.localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1",
            "[2001:db8::1]",
            "",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    #[should_panic(expected = "loopback")]
    fn non_loopback_url_panics() {
        assert_loopback("http://example.com:5000");
    }
}
