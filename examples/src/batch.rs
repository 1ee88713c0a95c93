//! Nightly batch fleet (야간 일괄 처리): start a fleet of workers from a portable size and
//! image, wait until every one runs, then tear the fleet down and prove nothing is left.
//!
//! The fleet is found by its tags (`fleet=nightly-batch`, `run=<id>`), so a second process —
//! or the next night's run — can see and clean up what an interrupted run left. Each worker's
//! user data names its shard of the night's work. A report goes to the bucket under
//! `reports/nightly-batch/<run>.json`.

use gureum::{Bucket, Compute, Error, InstanceSpec, InstanceState, PutOptions, Result, Size};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What to start.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    /// Run id (tag `run`).
    pub run: String,
    /// Number of workers.
    pub workers: usize,
    /// Portable size of each worker.
    pub size: Size,
    /// Portable image alias (or a provider image id).
    pub image: String,
    /// How long to wait for each state change.
    pub timeout: Duration,
}

impl FleetPlan {
    /// The default plan: `workers` workers of 2 vCPU / 4 GiB on `ubuntu-22.04`.
    pub fn new(run: impl Into<String>, workers: usize) -> Self {
        FleetPlan {
            run: run.into(),
            workers,
            size: Size::vcpus(2).memory_gib(4),
            image: "ubuntu-22.04".into(),
            timeout: Duration::from_secs(120),
        }
    }

    /// The tags every worker of this run carries.
    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("fleet".to_string(), "nightly-batch".to_string()),
            ("run".to_string(), self.run.clone()),
        ])
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetReport {
    /// Run id.
    pub run: String,
    /// Instances created.
    pub created: usize,
    /// Instances seen `Running`.
    pub running: usize,
    /// Instances of this run listed by tag while the fleet was up.
    pub listed_by_tag: usize,
    /// Instances terminated.
    pub terminated: usize,
    /// Instances of this run still listed (not terminated) after tear-down: must be 0.
    pub left_over: usize,
    /// Provider size ids the portable size resolved to.
    pub sizes: Vec<String>,
    /// Provider image ids the alias resolved to.
    pub images: Vec<String>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u128,
}

/// Start the fleet, wait for it, tear it down. Whatever fails, every instance this run
/// created is terminated before the error is returned.
pub async fn run_fleet(compute: &Compute, plan: &FleetPlan) -> Result<FleetReport> {
    if plan.workers == 0 || plan.workers > 50 {
        return Err(Error::invalid("a fleet has 1 to 50 workers"));
    }
    let started = Instant::now();
    let mut report = FleetReport {
        run: plan.run.clone(),
        ..Default::default()
    };
    let mut ids = Vec::new();
    let up = start(compute, plan, &mut ids, &mut report).await;
    // Tear down in every case.
    let down = tear_down(compute, plan, &ids, &mut report).await;
    up?;
    down?;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

async fn start(
    compute: &Compute,
    plan: &FleetPlan,
    ids: &mut Vec<String>,
    report: &mut FleetReport,
) -> Result<()> {
    for shard in 0..plan.workers {
        let user_data = format!(
            "#!/bin/sh\n# nightly batch {run}: shard {shard} of {n}\nexec nightly-batch --shard {shard} --of {n}\n",
            run = plan.run,
            n = plan.workers
        );
        let mut spec = InstanceSpec::new(format!("nightly-{}-{shard}", plan.run))
            .size(plan.size)
            .image(plan.image.clone())
            .tag("shard", shard.to_string())
            .user_data(user_data.into_bytes())
            .idempotency_token(format!("{}-{shard}", plan.run));
        for (k, v) in plan.tags() {
            spec = spec.tag(k, v);
        }
        let i = compute.create(spec).await?;
        ids.push(i.id.clone());
        report.created += 1;
        for (list, v) in [(&mut report.sizes, i.size), (&mut report.images, i.image)] {
            if let Some(v) = v {
                if !list.contains(&v) {
                    list.push(v);
                }
            }
        }
    }
    for id in ids.iter() {
        compute
            .wait_until(id, InstanceState::Running, plan.timeout)
            .await?;
        report.running += 1;
    }
    report.listed_by_tag = compute
        .list_by_tags(&plan.tags())
        .await?
        .iter()
        .filter(|i| i.state != InstanceState::Terminated)
        .count();
    if report.listed_by_tag != plan.workers {
        return Err(Error::other(format!(
            "{} workers of run {} listed by tag, expected {}",
            report.listed_by_tag, plan.run, plan.workers
        )));
    }
    Ok(())
}

async fn tear_down(
    compute: &Compute,
    plan: &FleetPlan,
    ids: &[String],
    report: &mut FleetReport,
) -> Result<()> {
    let mut first_err = None;
    for id in ids {
        if let Err(e) = compute.terminate(id).await {
            first_err.get_or_insert(e);
        }
    }
    for id in ids {
        match compute
            .wait_until(id, InstanceState::Terminated, plan.timeout)
            .await
        {
            Ok(_) => report.terminated += 1,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    report.left_over = compute
        .list_by_tags(&plan.tags())
        .await?
        .iter()
        .filter(|i| {
            !matches!(
                i.state,
                InstanceState::Terminated | InstanceState::Terminating
            )
        })
        .count();
    match first_err {
        Some(e) => Err(e),
        None if report.left_over > 0 => Err(Error::other(format!(
            "{} workers of run {} still listed after tear-down",
            report.left_over, plan.run
        ))),
        None => Ok(()),
    }
}

/// Store the report as `reports/nightly-batch/<run>.json`; returns the key.
pub async fn save_report(bucket: &Bucket, report: &FleetReport) -> Result<String> {
    let key = format!("reports/nightly-batch/{}.json", report.run);
    let body = serde_json::to_vec_pretty(report).map_err(|e| Error::other(format!("json: {e}")))?;
    bucket
        .put_with(
            &key,
            body,
            &PutOptions::default().content_type("application/json"),
        )
        .await?;
    Ok(key)
}
