//! `gureum mirror verify` and `gureum mirror drain`: the dual-run mirror (`mirror://`) from the
//! command line (see docs/migration-at-scale.md).

use crate::output::{to_json, Out};
use crate::sync::{check_exit, compare_trees, CheckArgs};
use clap::{Args, Subcommand};
use gureum::layers::mirror::{MirrorOpener, MirrorUrl};
use gureum::{Error, ResourceUrl, Result};
use std::time::Duration;

/// `gureum mirror ...`.
#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// List the divergences between the two sides of a mirror: keys missing on either side,
    /// size or content (MD5) differences. Exit 0 when equal, 9 when they differ, 10 when some
    /// objects could not be compared.
    Verify(VerifyArgs),
    /// Apply every queued repair of an async mirror (copy the primary's objects to the
    /// secondary) until the repair queue is empty; what a restarted writer also does in the
    /// background. Exit 0 when the queue is empty, 10 when repairs remain.
    Drain(DrainArgs),
}

/// `gureum mirror verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `mirror://?primary=..&secondary=..[#PREFIX]`, or the primary `BUCKET_URL[#PREFIX]`.
    pub url: String,
    /// The secondary `BUCKET_URL[#PREFIX]` (when URL is not a mirror:// URL).
    pub secondary: Option<String>,
    /// Compare sizes only (no hashing).
    #[arg(long)]
    pub size_only: bool,
    /// Objects compared at a time.
    #[arg(long, default_value_t = 16)]
    pub transfers: usize,
    /// Only keys matching this glob (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip keys matching this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// `gureum mirror drain`.
#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The async mirror: `mirror://?primary=..&secondary=..&mode=async[&queue=..]`.
    pub url: String,
    /// Stop after this many seconds even if repairs remain (repairs received by a process
    /// that died come back after the mirror's `visibility=` timeout, 60 s by default).
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// Run a `gureum mirror` command.
pub async fn run(cmd: MirrorCommand, out: &Out) -> Result<i32> {
    match cmd {
        MirrorCommand::Verify(a) => verify(a, out).await,
        MirrorCommand::Drain(a) => drain(a, out).await,
    }
}

/// Split `mirror://...#PREFIX` and parse the mirror parameters.
fn parse_mirror(url: &str) -> Result<(MirrorUrl, Option<String>)> {
    let (u, prefix) = match url.split_once('#') {
        Some((u, p)) => (u, Some(p.to_string())),
        None => (url, None),
    };
    let ru = ResourceUrl::parse(u)?;
    let m = MirrorUrl::parse(&ru)?;
    ru.check_unknown(&[])?;
    Ok((m, prefix))
}

fn with_prefix(url: &str, prefix: &Option<String>) -> String {
    match prefix {
        Some(p) => format!("{url}#{p}"),
        None => url.to_string(),
    }
}

/// The sides' names in a mirror report.
fn reason(r: &str) -> &str {
    match r {
        "missing-on-destination" => "missing-on-secondary",
        "only-on-destination" => "missing-on-primary",
        other => other,
    }
}

async fn verify(a: VerifyArgs, out: &Out) -> Result<i32> {
    let (primary, secondary) = if a.url.starts_with("mirror://") {
        if a.secondary.is_some() {
            return Err(Error::invalid(
                "give either one mirror:// URL or PRIMARY and SECONDARY",
            ));
        }
        let (m, prefix) = parse_mirror(&a.url)?;
        (
            with_prefix(&m.primary, &prefix),
            with_prefix(&m.secondary, &prefix),
        )
    } else {
        let s = a.secondary.clone().ok_or_else(|| {
            Error::invalid("gureum mirror verify needs a mirror:// URL, or PRIMARY and SECONDARY")
        })?;
        (a.url.clone(), s)
    };
    let check = CheckArgs {
        src: primary,
        dst: secondary,
        size_only: a.size_only,
        transfers: a.transfers,
        include: a.include,
        exclude: a.exclude,
    };
    let r = compare_trees(&check, out).await?;
    let diffs: Vec<serde_json::Value> = r
        .differences
        .iter()
        .map(|d| serde_json::json!({"key": d.key, "reason": reason(&d.reason)}))
        .collect();
    if out.json {
        let mut v = to_json(&r);
        v["differences"] = serde_json::Value::Array(diffs);
        v["equal"] = serde_json::Value::Bool(r.differences_count == 0 && r.failed_count == 0);
        out.json_line(&v)?;
    } else {
        for d in &r.differences {
            out.line(format!("{:<22} {}", reason(&d.reason), d.key))?;
        }
        for f in &r.failed {
            out.line(format!(
                "{:<22} {} ({}: {})",
                "not-compared", f.key, f.kind, f.message
            ))?;
        }
        if r.differences_count > r.differences.len() as u64 {
            out.line(format!(
                "... {} more differences not listed",
                r.differences_count - r.differences.len() as u64
            ))?;
        }
        out.line(format!(
            "{} matched, {} differ, {} not compared ({:.1} s)",
            r.matched, r.differences_count, r.failed_count, r.duration_secs
        ))?;
    }
    Ok(check_exit(&r))
}

async fn drain(a: DrainArgs, out: &Out) -> Result<i32> {
    let (mut m, prefix) = parse_mirror(&a.url)?;
    if prefix.is_some() {
        return Err(Error::invalid(
            "mirror drain takes a mirror:// URL without #PREFIX",
        ));
    }
    if m.queue_url().is_none() {
        return Err(Error::invalid(
            "this mirror has no repair queue (a sync mirror without queue=): nothing to drain",
        ));
    }
    // This command drains in the foreground.
    m.background = false;
    let (_, store) = MirrorOpener::new(gureum::registry()).open(&m).await?;
    let before = store.pending().await?;
    let rep = store.drain(Duration::from_secs(a.timeout)).await?;
    if out.json {
        let mut v = to_json(&rep);
        v["pending_before"] = before.into();
        out.json_line(&v)?;
    } else {
        out.line(format!(
            "{} repaired, {} failed attempts, {} remaining (of {} queued)",
            rep.repaired, rep.failed, rep.remaining, before
        ))?;
    }
    Ok(if rep.remaining == 0 {
        0
    } else {
        crate::sync::EXIT_PARTIAL
    })
}
