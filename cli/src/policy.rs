//! `gureum policy check` and `gureum policy plan`: the placement policy from the command
//! line, and the up-front destination check of `gureum sync` / `cp -r` (see docs/security.md).

use crate::output::Out;
use clap::{Args, Subcommand};
use gureum::layers::policy::{check_destination, Placement};
use gureum::{Error, Result, Service};
use std::collections::BTreeMap;

/// `gureum policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// May data of a class live where a URL points? Exit 0 if allowed, 4 if the policy
    /// forbids it: `gureum policy check 's3://archive?region=ap-northeast-2' --class personal`.
    Check(CheckArgs),
    /// What may move where: classify every object under SRC (its class, prefix and metadata
    /// rules) and check it against DST's zone, without copying anything.
    Plan(PlanArgs),
}

/// `gureum policy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Bucket or queue URL (its `class=`, `policy=`, `zone=` and `encrypt=` parameters count).
    pub url: String,
    /// Data class to check (else the URL's `class=`).
    #[arg(long)]
    pub class: Option<String>,
    /// The URL names a queue, not a bucket.
    #[arg(long)]
    pub queue: bool,
}

/// `gureum policy plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Source bucket URL, optionally `#PREFIX`.
    pub src: String,
    /// Destination bucket URL.
    pub dst: String,
    /// Class of everything in the source (else the source URL's `class=`).
    #[arg(long)]
    pub class: Option<String>,
    /// Read each object's metadata too (one HEAD per object), for metadata classification.
    #[arg(long)]
    pub metadata: bool,
}

/// Run a `gureum policy` command.
pub async fn run(cmd: PolicyCommand, out: &Out) -> Result<i32> {
    match cmd {
        PolicyCommand::Check(a) => check(a, out),
        PolicyCommand::Plan(a) => plan(a, out).await,
    }
}

fn describe(p: &Placement) -> serde_json::Value {
    serde_json::json!({
        "zone": p.zone().as_str(),
        "class": p.class(),
        "encrypted": p.encrypted(),
        "policy": p.policy().source(),
    })
}

fn check(a: CheckArgs, out: &Out) -> Result<i32> {
    let service = if a.queue {
        Service::Queue
    } else {
        Service::Storage
    };
    let p = check_destination(&gureum::registry(), service, &a.url, a.class.as_deref())?;
    if p.class().is_none() {
        return Err(Error::invalid(
            "no class to check: give --class CLASS or class= in the URL",
        ));
    }
    if out.json {
        let mut v = describe(&p);
        v["allowed"] = serde_json::Value::Bool(true);
        return out.json_line(&v).map(|_| 0);
    }
    out.line(format!(
        "allowed: class {:?} in zone {} ({}policy {})",
        p.class().unwrap_or_default(),
        p.zone().as_str(),
        if p.encrypted() { "encrypted, " } else { "" },
        p.policy().source()
    ))?;
    Ok(0)
}

/// The destination of a sync or copy as a URL for the policy: a bucket URL without its
/// `#PREFIX`, or a local directory as `file://`.
fn destination_url(dst: &str) -> Result<String> {
    if dst.contains("://") {
        return Ok(dst.split('#').next().unwrap_or(dst).to_string());
    }
    let p = std::path::Path::new(dst);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_err(Error::from)?.join(p)
    };
    Ok(format!("file://{}", abs.display()))
}

/// The class data moved from `src` carries: `--class`, else the source URL's `class=`.
fn source_class(src: &str, class: Option<&str>) -> Option<String> {
    class.map(str::to_string).or_else(|| {
        src.contains("://")
            .then(|| gureum::ResourceUrl::parse(src.split('#').next().unwrap_or(src)).ok())
            .flatten()
            .and_then(|u| u.param("class").map(str::to_string))
    })
}

/// The up-front check of `gureum sync` and `gureum cp -r`: the data's class (`--class`, the
/// source's `class=`, else the destination's own `class=`) must be allowed in the
/// destination's zone, before anything is listed or copied. Per-object rules (key prefixes,
/// metadata) are then enforced by the policy layer on the destination as each object is
/// written. Returns the placement when a class was known.
pub fn check_transfer(src: &str, dst: &str, class: Option<&str>) -> Result<Option<Placement>> {
    let class = source_class(src, class);
    let url = destination_url(dst)?;
    let p = check_destination(
        &gureum::registry(),
        Service::Storage,
        &url,
        class.as_deref(),
    )?;
    Ok(p.class().is_some().then_some(p))
}

/// The placement policy's verdict on objects moving from a source to a destination (shared
/// by `gureum policy plan` and `gureum plan`).
pub(crate) struct PolicyEval {
    placement: Placement,
    class: Option<String>,
    dst: String,
}

impl PolicyEval {
    /// The destination's placement, and the class of the data (`--class`, else the source
    /// URL's `class=`).
    pub(crate) fn new(src: &str, dst: &str, class: Option<&str>) -> Result<Self> {
        let class = source_class(src, class);
        let dst = destination_url(dst)?;
        let placement = check_destination(&gureum::registry(), Service::Storage, &dst, None)?;
        Ok(PolicyEval {
            placement,
            class,
            dst,
        })
    }
    /// The destination's zone.
    pub(crate) fn zone(&self) -> gureum::Zone {
        self.placement.zone()
    }
    /// Whether the object may move (its class, key prefix and metadata rules).
    pub(crate) fn check(&self, key: &str, meta: &BTreeMap<String, String>) -> Result<()> {
        let p = &self.placement;
        match &self.class {
            Some(c) => p.policy().check(
                c,
                p.zone(),
                p.encrypted(),
                &gureum::layers::policy::ClassSource::Handle,
                &self.dst,
            ),
            None => Ok(()),
        }
        .and_then(|_| p.check_object(key, meta))
    }
}

async fn plan(a: PlanArgs, out: &Out) -> Result<i32> {
    let eval = PolicyEval::new(&a.src, &a.dst, a.class.as_deref())?;
    let (bucket_url, prefix) = match a.src.split_once('#') {
        Some((u, p)) => (u.to_string(), Some(p.to_string())),
        None => (a.src.clone(), None),
    };
    let src = gureum::open_bucket(&bucket_url).await?;
    let mut allowed = 0u64;
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let objects = src.list_all(prefix.as_deref()).await?;
    for o in &objects {
        let meta = if a.metadata {
            src.head(&o.key).await?.metadata
        } else {
            BTreeMap::new()
        };
        let r = eval.check(&o.key, &meta);
        match r {
            Ok(()) => allowed += 1,
            Err(e) => {
                *refused.entry(first_line_rule(e.message())).or_default() += 1;
                if out.json {
                    out.json_line(&serde_json::json!({
                        "key": o.key, "allowed": false, "reason": e.message(),
                    }))?;
                } else {
                    out.line(format!("refused  {}  {}", o.key, e.message()))?;
                }
            }
        }
    }
    let total_refused: u64 = refused.values().sum();
    if out.json {
        out.json_line(&serde_json::json!({
            "destination_zone": eval.zone().as_str(),
            "objects": objects.len(),
            "allowed": allowed,
            "refused": total_refused,
            "refused_by_rule": refused,
        }))?;
    } else {
        out.line(format!(
            "{} objects: {allowed} may move to zone {}, {total_refused} may not",
            objects.len(),
            eval.zone().as_str()
        ))?;
        for (rule, n) in &refused {
            out.line(format!("  {n} refused by {rule}"))?;
        }
    }
    Ok(if total_refused > 0 {
        crate::output::EXIT_DENIED
    } else {
        0
    })
}

pub(crate) fn first_line_rule(msg: &str) -> String {
    // "policy rule classes.personal (policy ...) forbids ...": the rule name.
    msg.split_whitespace()
        .find(|w| w.starts_with("classes."))
        .unwrap_or("policy")
        .to_string()
}
