//! Where Naver Cloud credentials come from.
//!
//! In order: the parameters `access_key` / `secret_key` (from a `gureum.toml` profile; never put
//! secrets in a URL), then the environment variables named by `access_key_env` /
//! `secret_key_env` (default `NCLOUD_ACCESS_KEY` / `NCLOUD_SECRET_KEY`, the names the official
//! CLI and Terraform provider read), then the `ncloud` CLI configuration file
//! (`credentials_file`, default `~/.ncloud/configure`, keys `ncloud_access_key_id` /
//! `ncloud_secret_access_key` in the `[DEFAULT]` section or the section named by
//! `credentials_profile`).

use crate::signer::Credentials;
use gureum_core::{Error, ErrorKind, ResourceUrl, Result};
use std::path::PathBuf;

/// Default environment variable of the access key.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_ncloud::credentials::{resolve, ENV_ACCESS_KEY, ENV_SECRET_KEY};
/// std::env::set_var(ENV_ACCESS_KEY, "ncp-doc-access");
/// std::env::set_var(ENV_SECRET_KEY, "ncp-doc-secret");
/// assert_eq!(resolve(&ResourceUrl::parse("ncloud://b").unwrap()).unwrap().access_key(), "ncp-doc-access");
/// ```
pub const ENV_ACCESS_KEY: &str = "NCLOUD_ACCESS_KEY";
/// Default environment variable of the secret key.
///
/// ```
/// use gureum_ncloud::credentials::ENV_SECRET_KEY;
/// assert_eq!(ENV_SECRET_KEY, "NCLOUD_SECRET_KEY");
/// ```
pub const ENV_SECRET_KEY: &str = "NCLOUD_SECRET_KEY";

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_string())
}

/// Resolve credentials for a URL.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_ncloud::credentials::resolve;
/// // Other variable names per URL, e.g. one key pair per department.
/// std::env::set_var("HEALTH_NCP_AK", "health-access");
/// std::env::set_var("HEALTH_NCP_SK", "health-secret");
/// let u = ResourceUrl::parse("ncloud://b?access_key_env=HEALTH_NCP_AK&secret_key_env=HEALTH_NCP_SK").unwrap();
/// assert_eq!(resolve(&u).unwrap().access_key(), "health-access");
/// ```
pub fn resolve(url: &ResourceUrl) -> Result<Credentials> {
    if let (Some(a), Some(s)) = (url.param("access_key"), url.param("secret_key")) {
        if !a.is_empty() && !s.is_empty() {
            return Ok(Credentials::new(a, s));
        }
    }
    let ak_env = url.param("access_key_env").unwrap_or(ENV_ACCESS_KEY);
    let sk_env = url.param("secret_key_env").unwrap_or(ENV_SECRET_KEY);
    let ak = nonempty(std::env::var(ak_env).ok());
    let sk = nonempty(std::env::var(sk_env).ok());
    if let (Some(a), Some(s)) = (ak, sk) {
        return Ok(Credentials::new(a, s));
    }
    let file = url
        .param("credentials_file")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| PathBuf::from(h).join(".ncloud/configure"))
        });
    let profile = url.param("credentials_profile").unwrap_or("DEFAULT");
    let mut file_note = String::new();
    if let Some(f) = file {
        match std::fs::read_to_string(&f) {
            Ok(text) => {
                if let Some(c) = parse_configure(&text, profile) {
                    return Ok(c);
                }
                file_note = format!("; {} has no keys in section [{profile}]", f.display());
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && url.param("credentials_file").is_none() => {}
            Err(e) => file_note = format!("; reading {}: {e}", f.display()),
        }
    }
    Err(Error::new(
        ErrorKind::Unauthenticated,
        format!(
            "no Naver Cloud credentials: set {ak_env} and {sk_env} (or access_key_env/secret_key_env, \
             or a profile with access_key/secret_key, or ~/.ncloud/configure){file_note}"
        ),
    ))
}

/// Parse the CLI's INI-style configure file.
///
/// ```
/// use gureum_ncloud::credentials::parse_configure;
/// let file = "[DEFAULT]\nncloud_access_key_id = AK1\nncloud_secret_access_key = SK1\n\n[gov]\nncloud_access_key_id = AK2\nncloud_secret_access_key = SK2\n";
/// assert_eq!(parse_configure(file, "gov").unwrap().access_key(), "AK2");
/// assert!(parse_configure(file, "missing").is_none());
/// ```
pub fn parse_configure(text: &str, profile: &str) -> Option<Credentials> {
    let mut section = String::from("DEFAULT");
    let (mut ak, mut sk) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "ncloud_access_key_id" => ak = Some(v.trim().to_string()),
                "ncloud_secret_access_key" => sk = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    match (nonempty(ak), nonempty(sk)) {
        (Some(a), Some(s)) => Some(Credentials::new(a, s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_file_sections() {
        let t = "[DEFAULT]\nncloud_access_key_id = AK1\nncloud_secret_access_key = SK1\n\n[gov]\nncloud_access_key_id=AK2\nncloud_secret_access_key=SK2\n";
        assert_eq!(parse_configure(t, "DEFAULT").unwrap().access_key(), "AK1");
        assert_eq!(parse_configure(t, "gov").unwrap().access_key(), "AK2");
        assert!(parse_configure(t, "nope").is_none());
    }

    #[test]
    fn env_names_from_params() {
        // Unique variable names so parallel tests do not interfere.
        std::env::set_var("GUREUM_NCLOUD_TEST_AK_1", "ak-from-env");
        std::env::set_var("GUREUM_NCLOUD_TEST_SK_1", "sk-from-env");
        let u = ResourceUrl::parse(
            "ncloud://b?access_key_env=GUREUM_NCLOUD_TEST_AK_1&secret_key_env=GUREUM_NCLOUD_TEST_SK_1",
        )
        .unwrap();
        assert_eq!(resolve(&u).unwrap().access_key(), "ak-from-env");
        let u = ResourceUrl::parse(
            "ncloud://b?access_key_env=GUREUM_NCLOUD_TEST_MISSING&secret_key_env=GUREUM_NCLOUD_TEST_MISSING2&credentials_file=/nonexistent/x",
        )
        .unwrap();
        let e = resolve(&u).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    }
}
