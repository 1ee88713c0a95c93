//! `gureum encrypt ...`: key files and KEK rotation for the client-side encryption layer
//! (gureum-crypto).
//!
//! * `gureum encrypt keygen FILE --id ID` makes a key file with a fresh KEK (version 1);
//!   `--add-version` adds the next version to an existing file (KEK rotation for key files).
//! * `gureum encrypt rotate BUCKET_URL[#PREFIX] --key KEY_URL [--from OLD_KEY_URL]` rewraps the
//!   data key of every object under the prefix that is not on the key provider's current KEK
//!   (an older version, or another KEK/provider given with `--from`), without re-encrypting
//!   any data. `--dry-run` only counts.

use crate::location::{redact, ObjectUrl};
use crate::output::Out;
use clap::{Args, Subcommand};
use futures::StreamExt;
use gureum::object_store::path::Path;
use gureum::{Error, ErrorKind, Result};
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::EncryptionLayer;
use std::collections::BTreeMap;

/// `gureum encrypt ...`.
#[derive(Debug, Subcommand)]
pub enum EncryptCommand {
    /// Create a key file with a fresh key-encryption key, or add a version to one.
    Keygen(KeygenArgs),
    /// Rewrap the data keys of encrypted objects with the current KEK (no data re-encrypted).
    Rotate(RotateArgs),
}

/// `gureum encrypt keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file (created with mode 0600).
    pub file: std::path::PathBuf,
    /// The KEK id written into every object's header (new files only).
    #[arg(long, default_value = "gureum")]
    pub id: String,
    /// Add the next version of the KEK to an existing file (new data keys use it; older
    /// versions stay so existing objects keep decrypting until rotated).
    #[arg(long)]
    pub add_version: bool,
}

/// `gureum encrypt rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Bucket URL, optionally with `#PREFIX`. An `encrypt=` parameter in it is used as --key.
    pub url: String,
    /// Key provider URL whose current KEK data keys are rewrapped with (`keyfile:///PATH`,
    /// `openbao://HOST:PORT/MOUNT/KEY`, `awskms://KEY_ID?region=..`).
    #[arg(long)]
    pub key: Option<String>,
    /// Key provider URL that unwraps the old data keys when they are not under --key's
    /// provider or KEK (moving to a new KMS key, from a key file to OpenBao, ...).
    #[arg(long)]
    pub from: Option<String>,
    /// Only report how many objects would be rewrapped.
    #[arg(long)]
    pub dry_run: bool,
}

/// Run `gureum encrypt ...`.
pub async fn run(cmd: EncryptCommand, out: &Out) -> Result<i32> {
    match cmd {
        EncryptCommand::Keygen(a) => keygen(a, out).map(|_| 0),
        EncryptCommand::Rotate(a) => rotate(a, out).await,
    }
}

fn keygen(a: KeygenArgs, out: &Out) -> Result<()> {
    let (id, version) = if a.add_version {
        let mut f = KeyFile::open(&a.file)?;
        let v = f.add_version()?;
        (f.id().to_string(), v)
    } else {
        let f = KeyFile::create(&a.file, &a.id)?;
        (f.id().to_string(), f.current_version())
    };
    if out.json {
        out.json_line(&serde_json::json!({
            "file": a.file.display().to_string(), "id": id, "version": version
        }))
    } else {
        out.line(format!(
            "key file {}: KEK {id:?} version {version} (keep the file secret and backed up)",
            a.file.display()
        ))
    }
}

/// Split the `encrypt=` parameter off a bucket URL: (URL without it, its decoded value).
fn split_encrypt_param(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut kept = Vec::new();
    let mut key = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("encrypt", v)) => {
                key = Some(
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .map_err(|_| Error::invalid("encrypt= is not UTF-8"))?
                        .into_owned(),
                )
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, key))
}

async fn rotate(a: RotateArgs, out: &Out) -> Result<i32> {
    let loc = ObjectUrl::parse(&a.url)?;
    let (bucket_url, from_url) = split_encrypt_param(&loc.bucket)?;
    let key_url = a.key.clone().or(from_url).ok_or_else(|| {
        Error::invalid("gureum encrypt rotate needs --key KEY_URL (or encrypt= in the bucket URL)")
    })?;
    // The bucket without any layer: rotation reads and writes the stored (encrypted) bytes.
    let raw = gureum::open_bucket(&bucket_url).await?;
    let layer = EncryptionLayer::open(&key_url).await?;
    let old = match &a.from {
        Some(u) => Some(EncryptionLayer::open(u).await?),
        None => None,
    };
    let current = layer.keys().provider.current().await?;
    let store = layer.store(raw.object_store(), raw.name());
    let prefix = (!loc.key.is_empty()).then_some(loc.key.as_str());
    let mut listing = raw.list_stream(prefix);
    let (mut rewrapped, mut current_n, mut failed) = (0u64, 0u64, 0u64);
    let mut by_kek: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(o) = listing.next().await {
        let o = o?;
        let path: Path = gureum::key::encode_key(&o.key)?;
        let header = match store.read_header(&path).await {
            Ok(h) => h,
            Err(e) => {
                failed += 1;
                report_failure(out, &o.key, &e)?;
                continue;
            }
        };
        *by_kek
            .entry(format!(
                "{}:{} v{}",
                header.key.kind, header.key.kek_id, header.key.version
            ))
            .or_default() += 1;
        if !current.is_stale(&header.key) {
            current_n += 1;
            continue;
        }
        if a.dry_run {
            rewrapped += 1;
            continue;
        }
        match store
            .rewrap_from(&path, old.as_ref().map(|l| l.keys().as_ref()))
            .await
        {
            Ok(Some(_)) => {
                rewrapped += 1;
                if !out.json {
                    out.line(format!("rewrapped {}", o.key))?;
                }
            }
            Ok(None) => current_n += 1,
            Err(e) => {
                failed += 1;
                report_failure(out, &o.key, &e)?;
            }
        }
    }
    let verb = if a.dry_run { "to rewrap" } else { "rewrapped" };
    if out.json {
        out.json_line(&serde_json::json!({
            "bucket": redact(&bucket_url),
            "kek": format!("{}:{} v{}", current.kind, current.kek_id, current.version),
            "dry_run": a.dry_run,
            "rewrapped": rewrapped,
            "current": current_n,
            "failed": failed,
            "before": by_kek,
        }))?;
    } else {
        out.line(format!(
            "{}: {rewrapped} {verb}, {current_n} already on {}:{} v{}, {failed} failed",
            redact(&bucket_url),
            current.kind,
            current.kek_id,
            current.version
        ))?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn report_failure(out: &Out, key: &str, e: &Error) -> Result<()> {
    if out.json {
        out.json_line(&serde_json::json!({
            "key": key, "error": e.kind().as_str(), "message": e.message()
        }))
    } else {
        let hint = match e.kind() {
            ErrorKind::PermissionDenied => " (give the old key provider with --from)",
            _ => "",
        };
        out.line(format!("failed {key}: {e}{hint}"))
    }
}

#[cfg(test)]
mod tests {
    use super::split_encrypt_param;

    #[test]
    fn encrypt_parameter_is_split_off() {
        let (u, k) =
            split_encrypt_param("s3://b?region=x&encrypt=keyfile%3A%2F%2F%2Fk.toml").unwrap();
        assert_eq!(u, "s3://b?region=x");
        assert_eq!(k.as_deref(), Some("keyfile:///k.toml"));
        let (u, k) = split_encrypt_param("file:///d/b").unwrap();
        assert_eq!((u.as_str(), k), ("file:///d/b", None));
    }
}
