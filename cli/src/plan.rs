//! `gureum plan SRC DST`: what a migration would move, how long it would take (from a timed
//! probe of the destination or a given rate), what the destination cannot hold and what the
//! placement policy forbids — without copying anything (see docs/migration-at-scale.md).

use crate::output::{to_json, Out};
use crate::policy::{first_line_rule, PolicyEval};
use crate::sync::open_tree;
use clap::Args;
use futures::StreamExt;
use gureum::{Bucket, Error, PutOptions, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Size of the timed throughput probe.
const PROBE_BYTES: usize = 4 * 1024 * 1024;
/// Most metadata names probed one by one.
const MAX_NAME_PROBES: usize = 64;
/// Keys listed per refused reason in the report.
const MAX_EXAMPLES: usize = 5;

/// `gureum plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Source: `BUCKET_URL[#PREFIX]` or a local directory.
    pub src: String,
    /// Destination: `BUCKET_URL[#PREFIX]`.
    pub dst: String,
    /// Depth of the per-prefix summary (1: the first key segment).
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Transfer rate in MiB/s for the estimate, instead of the timed probe.
    #[arg(long, value_name = "MIB_PER_S")]
    pub rate: Option<f64>,
    /// Write nothing to the destination: no timed probe, no key or metadata probes (the
    /// estimate then needs --rate; limits that only a probe finds are reported unknown).
    #[arg(long)]
    pub no_probe: bool,
    /// Parallel transfers the estimate assumes (`gureum sync --transfers`).
    #[arg(long, default_value_t = 16)]
    pub transfers: usize,
    /// Read each object's metadata (one HEAD per object): metadata names the destination
    /// refuses, and the policy's metadata rules.
    #[arg(long)]
    pub metadata: bool,
    /// Class of everything in the source (else the source URL's `class=`).
    #[arg(long)]
    pub class: Option<String>,
}

/// One prefix of the summary.
#[derive(Debug, Default, Serialize)]
struct PrefixSummary {
    objects: u64,
    bytes: u64,
}

/// Objects that cannot move for one reason.
#[derive(Debug, Default, Serialize)]
struct Refusal {
    objects: u64,
    bytes: u64,
    examples: Vec<String>,
}

impl Refusal {
    fn add(&mut self, key: &str, size: u64) {
        self.objects += 1;
        self.bytes += size;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(key.to_string());
        }
    }
}

/// What the probes of the destination found.
#[derive(Debug, Default, Serialize)]
struct Probe {
    /// Measured single-stream throughput, bytes per second.
    bytes_per_sec: Option<f64>,
    /// Measured latency of a small write, seconds.
    small_write_secs: Option<f64>,
    /// Longest key the destination took (when a longer one was refused).
    max_key_bytes: Option<usize>,
    /// Longest key segment the destination took (when a longer one was refused).
    max_segment_bytes: Option<usize>,
    /// Metadata names the destination refused.
    refused_metadata_names: Vec<String>,
    /// Probe failures that were not limits (the destination refused every write, ...).
    errors: Vec<String>,
}

/// The plan.
#[derive(Debug, Default, Serialize)]
struct Plan {
    source: String,
    destination: String,
    destination_zone: String,
    objects: u64,
    bytes: u64,
    largest_object: u64,
    longest_key_bytes: usize,
    prefixes: BTreeMap<String, PrefixSummary>,
    probe: Probe,
    estimate_secs_one_stream: Option<f64>,
    estimate_secs_parallel: Option<f64>,
    cannot_hold: BTreeMap<String, Refusal>,
    policy_forbids: BTreeMap<String, Refusal>,
    movable_objects: u64,
    movable_bytes: u64,
}

struct Listed {
    key: String,
    dst_key: String,
    size: u64,
    meta: BTreeMap<String, String>,
}

fn prefix_at(rel: &str, depth: usize) -> String {
    let segs: Vec<&str> = rel.split('/').collect();
    if segs.len() <= 1 || depth == 0 {
        return "(top level)".to_string();
    }
    let n = depth.min(segs.len() - 1);
    format!("{}/", segs[..n].join("/"))
}

fn longest_segment(key: &str) -> usize {
    key.split('/').map(str::len).max().unwrap_or(0)
}

/// A probe key of exactly `len` bytes (at least the base), segments at most `seg` bytes.
fn probe_key(base: &str, len: usize, seg: usize) -> String {
    let mut k = base.to_string();
    let seg = seg.max(1);
    while k.len() < len {
        let room = len - k.len();
        if !k.ends_with('/') {
            if room == 1 {
                k.push('x');
                break;
            }
            k.push('/');
            continue;
        }
        k.push_str(&"x".repeat(room.min(seg)));
    }
    k
}

struct Prober<'a> {
    bucket: &'a Bucket,
    base: String,
    written: Vec<String>,
}

impl Prober<'_> {
    async fn put(&mut self, key: &str, data: Vec<u8>, opts: &PutOptions) -> Result<Duration> {
        let t = Instant::now();
        self.written.push(key.to_string());
        self.bucket.put_with(key, data, opts).await?;
        Ok(t.elapsed())
    }
    /// Does the destination take a key of `len` bytes with segments of `seg` bytes?
    async fn takes(&mut self, len: usize, seg: usize) -> bool {
        let k = probe_key(&self.base, len, seg);
        self.put(&k, Vec::new(), &PutOptions::default())
            .await
            .is_ok()
    }
    /// The largest value in `ok..=bad` for which `f` holds, knowing `f(ok)` and not `f(bad)`.
    async fn bisect_len(&mut self, mut ok: usize, mut bad: usize, seg_mode: bool) -> usize {
        for _ in 0..16 {
            if bad - ok <= 1 {
                break;
            }
            let mid = (ok + bad) / 2;
            let took = if seg_mode {
                self.takes(self.base.len() + mid, mid).await
            } else {
                self.takes(mid, 100).await
            };
            if took {
                ok = mid;
            } else {
                bad = mid;
            }
        }
        ok
    }
    async fn cleanup(&mut self) {
        for k in self.written.drain(..) {
            let _ = self.bucket.delete(&k).await;
        }
    }
}

async fn probe(
    dst: &Bucket,
    dst_prefix: &str,
    longest_key: usize,
    longest_seg: usize,
    names: &BTreeMap<String, u64>,
    timed: bool,
) -> Probe {
    let mut p = Probe::default();
    let tag: String = format!("{:016x}", rand_u64());
    let mut pr = Prober {
        bucket: dst,
        base: format!("{dst_prefix}gureum-plan-probe-{}/", &tag[..12]),
        written: Vec::new(),
    };
    // A small write first: if even that fails, the destination is not writable here.
    match pr
        .put(
            &format!("{}small", pr.base),
            vec![0u8; 1],
            &PutOptions::default(),
        )
        .await
    {
        Ok(d) => p.small_write_secs = Some(d.as_secs_f64()),
        Err(e) => {
            p.errors.push(format!("a 1-byte probe write failed: {e}"));
            pr.cleanup().await;
            return p;
        }
    }
    if timed {
        let data: Vec<u8> = (0..PROBE_BYTES).map(|i| (i * 31 % 251) as u8).collect();
        match pr
            .put(&format!("{}rate", pr.base), data, &PutOptions::default())
            .await
        {
            Ok(d) => {
                let secs = d.as_secs_f64().max(1e-6);
                p.bytes_per_sec = Some(PROBE_BYTES as f64 / secs);
            }
            Err(e) => p
                .errors
                .push(format!("the {PROBE_BYTES}-byte timed probe failed: {e}")),
        }
    }
    // Key segment length, then total key length (only when the source has long ones).
    let base_len = pr.base.len();
    if longest_seg > 16 && !pr.takes(base_len + longest_seg, longest_seg).await {
        p.max_segment_bytes = Some(pr.bisect_len(16, longest_seg, true).await);
    }
    if longest_key > base_len + 8 && !pr.takes(longest_key, 100).await {
        p.max_key_bytes = Some(pr.bisect_len(base_len + 8, longest_key, false).await);
    }
    // Metadata names: all at once, then one by one if that was refused.
    if !names.is_empty() {
        let all = names
            .keys()
            .fold(PutOptions::default(), |o, n| o.metadata(n.clone(), "x"));
        let k = format!("{}meta", pr.base);
        if pr.put(&k, Vec::new(), &all).await.is_err() {
            for n in names.keys().take(MAX_NAME_PROBES) {
                let o = PutOptions::default().metadata(n.clone(), "x");
                if pr.put(&k, Vec::new(), &o).await.is_err() {
                    p.refused_metadata_names.push(n.clone());
                }
            }
        }
    }
    pr.cleanup().await;
    p
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// `gureum plan SRC DST`: exit 0 when everything may move, 4 when the placement policy
/// forbids some objects, 6 when the destination cannot hold some.
pub async fn run(a: PlanArgs, out: &Out) -> Result<i32> {
    if a.transfers == 0 {
        return Err(Error::invalid("--transfers must be at least 1"));
    }
    if let Some(r) = a.rate {
        if !(r > 0.0 && r.is_finite()) {
            return Err(Error::invalid("--rate must be a positive number of MiB/s"));
        }
    }
    let eval = PolicyEval::new(&a.src, &a.dst, a.class.as_deref())?;
    let (src, src_prefix, src_label) = open_tree(&a.src).await?;
    let (dst, dst_prefix, dst_label) = open_tree(&a.dst).await?;
    let mut plan = Plan {
        source: src_label,
        destination: dst_label,
        destination_zone: eval.zone().as_str().to_string(),
        ..Default::default()
    };
    let mut listed = Vec::new();
    let mut names: BTreeMap<String, u64> = BTreeMap::new();
    let mut stream = src.list_stream(Some(&src_prefix));
    while let Some(o) = stream.next().await {
        let o = o?;
        let rel = o
            .key
            .strip_prefix(&src_prefix)
            .unwrap_or(&o.key)
            .to_string();
        let meta = if a.metadata {
            src.head(&o.key).await?.metadata
        } else {
            BTreeMap::new()
        };
        for n in meta.keys() {
            *names.entry(n.clone()).or_default() += 1;
        }
        plan.objects += 1;
        plan.bytes += o.size;
        plan.largest_object = plan.largest_object.max(o.size);
        let e = plan.prefixes.entry(prefix_at(&rel, a.depth)).or_default();
        e.objects += 1;
        e.bytes += o.size;
        let dst_key = format!("{dst_prefix}{rel}");
        plan.longest_key_bytes = plan.longest_key_bytes.max(dst_key.len());
        listed.push(Listed {
            key: o.key,
            dst_key,
            size: o.size,
            meta,
        });
    }
    let longest_seg = listed
        .iter()
        .map(|l| longest_segment(&l.dst_key))
        .max()
        .unwrap_or(0);
    if !a.no_probe {
        plan.probe = probe(
            &dst,
            &dst_prefix,
            plan.longest_key_bytes,
            longest_seg,
            &names,
            a.rate.is_none(),
        )
        .await;
    }
    // The estimate: bytes at the rate, plus one small-write latency per object.
    let rate = a
        .rate
        .map(|r| r * 1024.0 * 1024.0)
        .or(plan.probe.bytes_per_sec);
    if let Some(rate) = rate {
        let per_object = plan.probe.small_write_secs.unwrap_or(0.0);
        let one = plan.bytes as f64 / rate + plan.objects as f64 * per_object;
        plan.estimate_secs_one_stream = Some(one);
        plan.estimate_secs_parallel =
            Some(one / a.transfers.min(plan.objects.max(1) as usize) as f64);
    }
    // What the destination cannot hold, and what the policy forbids.
    let caps = dst.capabilities().clone();
    for l in &listed {
        let mut refused = false;
        if let Some(max) = caps.max_object_size {
            if l.size > max {
                plan.cannot_hold
                    .entry(format!(
                        "object larger than the destination's limit of {max} bytes"
                    ))
                    .or_default()
                    .add(&l.key, l.size);
                refused = true;
            }
        }
        if let Some(max) = plan.probe.max_key_bytes {
            if l.dst_key.len() > max {
                plan.cannot_hold
                    .entry(format!("key longer than {max} bytes (probed)"))
                    .or_default()
                    .add(&l.key, l.size);
                refused = true;
            }
        }
        if let Some(max) = plan.probe.max_segment_bytes {
            if longest_segment(&l.dst_key) > max {
                plan.cannot_hold
                    .entry(format!("key segment longer than {max} bytes (probed)"))
                    .or_default()
                    .add(&l.key, l.size);
                refused = true;
            }
        }
        for n in &plan.probe.refused_metadata_names {
            if l.meta.contains_key(n) {
                plan.cannot_hold
                    .entry(format!("metadata name {n:?} refused (probed)"))
                    .or_default()
                    .add(&l.key, l.size);
                refused = true;
            }
        }
        if !l.meta.is_empty() && !caps.user_metadata {
            plan.cannot_hold
                .entry("user metadata (the destination keeps none)".to_string())
                .or_default()
                .add(&l.key, l.size);
            refused = true;
        }
        if let Err(e) = eval.check(&l.key, &l.meta) {
            plan.policy_forbids
                .entry(first_line_rule(e.message()))
                .or_default()
                .add(&l.key, l.size);
            refused = true;
        }
        if !refused {
            plan.movable_objects += 1;
            plan.movable_bytes += l.size;
        }
    }
    print(out, &plan, &a)?;
    Ok(if !plan.policy_forbids.is_empty() {
        crate::output::EXIT_DENIED
    } else if !plan.cannot_hold.is_empty() {
        crate::output::EXIT_UNSUPPORTED
    } else {
        0
    })
}

fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn human_secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}

fn print(out: &Out, p: &Plan, a: &PlanArgs) -> Result<()> {
    if out.json {
        return out.json_line(&to_json(p));
    }
    out.line(format!(
        "plan: {} -> {} (zone {})",
        p.source, p.destination, p.destination_zone
    ))?;
    out.line(format!(
        "would move {} objects, {} (largest {}, longest key {} bytes)",
        p.objects,
        human_bytes(p.bytes),
        human_bytes(p.largest_object),
        p.longest_key_bytes
    ))?;
    out.line(format!("by prefix (depth {}):", a.depth))?;
    for (k, v) in &p.prefixes {
        out.line(format!(
            "  {:>10}  {:>10}  {k}",
            v.objects,
            human_bytes(v.bytes)
        ))?;
    }
    match (p.estimate_secs_one_stream, p.estimate_secs_parallel) {
        (Some(one), Some(par)) => {
            let how = match (a.rate, p.probe.bytes_per_sec) {
                (Some(r), _) => format!("at the given {r} MiB/s"),
                (None, Some(b)) => format!(
                    "probe: {:.1} MiB/s, {:.0} ms per small write",
                    b / 1048576.0,
                    p.probe.small_write_secs.unwrap_or(0.0) * 1000.0
                ),
                _ => String::new(),
            };
            out.line(format!(
                "estimated time: {} in one stream, about {} with {} transfers if the network allows ({how})",
                human_secs(one),
                human_secs(par),
                a.transfers
            ))?;
        }
        _ => out.line("estimated time: unknown (--no-probe without --rate)")?,
    }
    for e in &p.probe.errors {
        out.line(format!("probe: {e}"))?;
    }
    if a.no_probe {
        out.line("destination limits found by probing (key length, metadata names): not probed (--no-probe)")?;
    }
    if p.cannot_hold.is_empty() {
        out.line("the destination can hold every object")?;
    } else {
        out.line("the destination cannot hold:")?;
        for (why, r) in &p.cannot_hold {
            out.line(format!(
                "  {} objects ({}): {why}; e.g. {}",
                r.objects,
                human_bytes(r.bytes),
                r.examples.join(", ")
            ))?;
        }
    }
    if p.policy_forbids.is_empty() {
        out.line("the placement policy forbids nothing")?;
    } else {
        out.line("the placement policy forbids:")?;
        for (rule, r) in &p.policy_forbids {
            out.line(format!(
                "  {} objects ({}): {rule}; e.g. {}",
                r.objects,
                human_bytes(r.bytes),
                r.examples.join(", ")
            ))?;
        }
    }
    out.line(format!(
        "movable: {} objects, {}",
        p.movable_objects,
        human_bytes(p.movable_bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_keys_have_the_asked_length_and_segments() {
        for (len, seg) in [(40, 10), (300, 100), (1024, 255), (31, 7)] {
            let k = probe_key("base-0123456789/", len, seg);
            assert_eq!(k.len(), len, "{k}");
            assert!(longest_segment(&k) <= seg.max(16), "{k}");
            assert!(!k.contains("//") && !k.ends_with('/'), "{k}");
        }
        assert_eq!(prefix_at("a/b/c.txt", 1), "a/");
        assert_eq!(prefix_at("a/b/c.txt", 2), "a/b/");
        assert_eq!(prefix_at("a/b/c.txt", 5), "a/b/");
        assert_eq!(prefix_at("c.txt", 1), "(top level)");
    }
}
