//! `gureum mb`, `gureum rb`, `gureum buckets`: bucket administration through the portable
//! `BucketAdmin` of whatever backend the URL names.

use crate::location::redact;
use crate::output::Out;
use crate::table::Table;
use clap::Args;
use gureum::{Bucket, Error, ErrorKind, Result};

/// `gureum mb`.
#[derive(Debug, Args)]
pub struct MbArgs {
    /// URL of the bucket to create (`s3://NAME?region=...`, `azblob://NAME?account=...`,
    /// `swift://NAME?cloud=...`, `file:///srv/data/NAME`).
    pub url: String,
    /// Succeed when the bucket already exists (like `mkdir -p`).
    #[arg(short = 'p', long)]
    pub exist_ok: bool,
}

/// `gureum rb`.
#[derive(Debug, Args)]
pub struct RbArgs {
    /// URL of the bucket to remove.
    pub url: String,
    /// Delete every object in the bucket first. Without it a non-empty bucket is refused.
    #[arg(long)]
    pub force: bool,
}

/// `gureum buckets`.
#[derive(Debug, Args)]
pub struct BucketsArgs {
    /// URL of any bucket of the account; for `file://`, an existing bucket directory (its
    /// sibling directories are listed).
    pub url: String,
}

/// Whether the bucket existed before this command opened it, where the CLI can tell without
/// opening it: `file://` buckets are directories, created when first opened.
fn existed_before(url: &str) -> Option<bool> {
    let u = gureum::ResourceUrl::parse(url).ok()?;
    (u.scheme() == "file").then(|| std::path::Path::new(&u.path()).is_dir())
}

async fn open(url: &str) -> Result<Bucket> {
    if url.contains('#') {
        return Err(Error::invalid(
            "a bucket URL names no object: remove the #KEY part",
        ));
    }
    gureum::open_bucket(url).await
}

/// `gureum mb URL`: create the bucket the URL names.
pub async fn mb(a: MbArgs, out: &Out) -> Result<()> {
    let before = existed_before(&a.url);
    let bucket = open(&a.url).await?;
    let name = bucket.name().to_string();
    let created = match bucket.admin()?.create_bucket(&name).await {
        Ok(()) => true,
        // file:// made the directory when it was opened: it did not exist before this command.
        Err(e) if e.kind() == ErrorKind::AlreadyExists && before == Some(false) => true,
        Err(e) if e.kind() == ErrorKind::AlreadyExists && a.exist_ok => false,
        Err(e) => {
            // Opening a file:// bucket made its directory; take it back (only if still empty).
            if before == Some(false) {
                if let Ok(u) = gureum::ResourceUrl::parse(&a.url) {
                    let _ = std::fs::remove_dir(u.path());
                }
            }
            return Err(e);
        }
    };
    if out.json {
        out.json_line(&serde_json::json!({"bucket": name, "created": created}))
    } else if created {
        out.line(format!("make_bucket: {name} ({})", redact(&a.url)))
    } else {
        out.line(format!("bucket {name} already exists"))
    }
}

/// `gureum rb URL [--force]`: remove the bucket (with `--force`, its objects first).
pub async fn rb(a: RbArgs, out: &Out) -> Result<()> {
    if existed_before(&a.url) == Some(false) {
        return Err(Error::not_found(format!("bucket {}", redact(&a.url))));
    }
    let bucket = open(&a.url).await?;
    let name = bucket.name().to_string();
    let admin = bucket.admin()?.clone();
    let mut deleted = 0usize;
    if a.force {
        // Bounded: each round deletes what one listing returned; stop when it is empty or
        // nothing could be deleted.
        loop {
            let keys: Vec<String> = bucket
                .list_all(None)
                .await?
                .into_iter()
                .map(|o| o.key)
                .collect();
            if keys.is_empty() {
                break;
            }
            let results = bucket.delete_many(&keys).await?;
            let mut ok = 0;
            for r in results {
                match r {
                    Ok(()) => ok += 1,
                    Err(e) if e.kind() == ErrorKind::NotFound => ok += 1,
                    Err(e) => return Err(e),
                }
            }
            deleted += ok;
            if ok == 0 {
                break;
            }
        }
    }
    admin.delete_bucket(&name).await.map_err(|e| {
        if e.kind() == ErrorKind::PreconditionFailed && !a.force {
            Error::new(
                e.kind(),
                format!("{} (use --force to delete its objects first)", e.message()),
            )
        } else {
            e
        }
    })?;
    if out.json {
        out.json_line(
            &serde_json::json!({"bucket": name, "removed": true, "objects_deleted": deleted}),
        )
    } else {
        if deleted > 0 {
            out.line(format!("deleted {deleted} objects"))?;
        }
        out.line(format!("remove_bucket: {name}"))
    }
}

/// `gureum buckets URL`: list the buckets of the account the URL's bucket belongs to.
pub async fn buckets(a: BucketsArgs, out: &Out) -> Result<()> {
    if existed_before(&a.url) == Some(false) {
        return Err(Error::not_found(format!(
            "no bucket directory {}: give an existing bucket of the parent directory",
            redact(&a.url)
        )));
    }
    let bucket = open(&a.url).await?;
    let mut names = bucket.admin()?.list_buckets().await?;
    names.sort();
    if out.json {
        for n in &names {
            out.json_line(&serde_json::json!({"bucket": n}))?;
        }
        return Ok(());
    }
    let mut t = Table::new(["BUCKET"]);
    for n in names {
        t.row([n]);
    }
    t.print(out)
}
