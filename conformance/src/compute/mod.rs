//! Compute cases, run against a [`Compute`].
//!
//! Every instance a case creates is named `gcf-<run-id>-<n>`, tagged
//! `gureum-conformance-run=<run-id>` and terminated at the end of the case (or, for the
//! shared primary instance, by the final case `compute.cleanup`). A full run creates about
//! six small instances ([`Options::size`], image [`Options::image`]); with
//! [`Options::only`] fewer.

use crate::harness::{
    caps_map, case, ensure, ensure_eq, expect_kind, run_cases, run_one, skip, CaseDef, CaseError,
    Context, Gated, Scope,
};
use crate::report::{Report, Section};
use crate::Options;
use bytes::Bytes;
use futures::future::BoxFuture;
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::{Compute, ErrorKind, Instance, InstanceSpec, InstanceState, Size, SizeSpec};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod catalogue;
mod create;
mod errors;
mod lifecycle;
mod retries;
mod termination;

/// The tag every instance of a run carries.
pub const RUN_TAG: &str = "gureum-conformance-run";

impl Gated for Ctx {
    type Caps = gureum_core::ComputeCapabilities;
}

/// State shared by the compute cases of one run.
pub(crate) struct Ctx {
    compute: Compute,
    opts: Options,
    counter: AtomicUsize,
    /// Instances created by the current case (terminated after it).
    created: Mutex<Vec<String>>,
    /// Instances of the whole run.
    all: Mutex<Vec<String>>,
    primary: tokio::sync::Mutex<Option<String>>,
}

type R<T> = std::result::Result<T, CaseError>;

impl Ctx {
    fn transition(&self) -> Duration {
        self.opts.scaled(self.opts.compute_timeout)
    }
    fn run_tags(&self) -> BTreeMap<String, String> {
        [(RUN_TAG.to_string(), self.opts.run_id.clone())].into()
    }
    fn spec(&self, case: &str) -> InstanceSpec {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let id: String = self
            .opts
            .run_id
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let short = case.split_once('.').map(|x| x.1).unwrap_or(case);
        InstanceSpec::new(format!("gcf-{id}-{n}"))
            .size(self.opts.size)
            .image(self.opts.image.clone())
            .tag(RUN_TAG, self.opts.run_id.clone())
            .tag("gureum-conformance-case", short.replace('_', "-"))
    }
    fn record(&self, id: &str, shared: bool) {
        self.all.lock().unwrap().push(id.to_string());
        if !shared {
            self.created.lock().unwrap().push(id.to_string());
        }
    }
}

impl Scope<Ctx> {
    fn c(&self) -> &Compute {
        &self.compute
    }
    /// Create an instance for this case (terminated after the case).
    async fn create(&self, spec: InstanceSpec) -> R<Instance> {
        let i = self.c().create(spec).await.ctx("create")?;
        self.record(&i.id, false);
        Ok(i)
    }
    async fn wait(&self, id: &str, state: InstanceState) -> R<Instance> {
        self.c()
            .wait_until(id, state, self.transition())
            .await
            .ctx(&format!("wait until {state}"))
    }
    /// The shared running instance, created on first use.
    async fn primary(&self) -> R<String> {
        let mut p = self.primary.lock().await;
        if let Some(id) = p.as_ref() {
            return Ok(id.clone());
        }
        let i = self
            .c()
            .create(self.spec("compute.primary"))
            .await
            .ctx("create the primary instance")?;
        self.record(&i.id, true);
        *p = Some(i.id.clone());
        drop(p);
        self.wait(&i.id, InstanceState::Running).await?;
        Ok(i.id)
    }
    /// The primary, brought back to Running if an earlier case left it elsewhere.
    async fn running_primary(&self) -> R<String> {
        let id = self.primary().await?;
        let i = self.c().get(&id).await.ctx("get primary")?;
        match i.state {
            InstanceState::Running => {}
            InstanceState::Stopped => {
                self.c().start(&id).await.ctx("start primary")?;
                self.wait(&id, InstanceState::Running).await?;
            }
            _ => {
                self.wait(&id, InstanceState::Running).await?;
            }
        }
        Ok(id)
    }
}

async fn terminate_all(c: &Compute, ids: Vec<String>, timeout: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    for id in &ids {
        if let Err(e) = c.terminate(id).await {
            problems.push(format!("terminate {id}: {e}"));
        }
    }
    for id in &ids {
        if let Err(e) = c.wait_until(id, InstanceState::Terminated, timeout).await {
            problems.push(format!("wait for {id} to terminate: {e}"));
        }
    }
    problems
}

/// Run the compute cases against `compute`.
pub async fn run(compute: &Compute, opts: &Options) -> Report {
    let started = Instant::now();
    let mut report = Report::new(opts.run_id.clone());
    let caps = compute.capabilities();
    let map = caps_map(&caps);
    let ctx = Arc::new(Ctx {
        compute: compute.clone(),
        opts: opts.clone(),
        counter: AtomicUsize::new(0),
        created: Mutex::new(Vec::new()),
        all: Mutex::new(Vec::new()),
        primary: tokio::sync::Mutex::new(None),
    });
    // A case may wait for several transitions.
    let timeout = opts.scaled(opts.compute_timeout) * 4 + opts.scaled(opts.case_timeout);
    let after = |c: Arc<Ctx>, _name: &'static str| -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let ids: Vec<String> = std::mem::take(&mut *c.created.lock().unwrap());
            terminate_all(&c.compute, ids, c.transition()).await;
        })
    };
    let mut results = run_cases(ctx.clone(), &cases(), &caps, opts, timeout, after).await;
    results.push(run_one(ctx.clone(), &cleanup_case(), &caps, timeout).await);
    report.sections.push(Section {
        area: "compute".into(),
        backend: opts.backend.clone().unwrap_or_else(|| "compute".into()),
        capabilities: map.clone(),
        cases: results,
        notes: vec![format!(
            "instances tagged {RUN_TAG}={}, image {:?}, size {} vCPU / {} MiB",
            opts.run_id, opts.image, opts.size.vcpus, opts.size.memory_mib
        )],
        target: opts.target,
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
}

/// Terminate every instance tagged with this run (`gureum-conformance-run=<run-id>`). Used
/// by the runner after an interrupted run; returns how many instances were terminated.
pub async fn cleanup(compute: &Compute, opts: &Options) -> gureum_core::Result<usize> {
    let tags: BTreeMap<String, String> = [(RUN_TAG.to_string(), opts.run_id.clone())].into();
    let ids: Vec<String> = compute
        .list_by_tags(&tags)
        .await?
        .into_iter()
        .filter(|i| i.state != InstanceState::Terminated)
        .map(|i| i.id)
        .collect();
    let n = ids.len();
    let problems = terminate_all(compute, ids, opts.scaled(opts.compute_timeout)).await;
    if let Some(p) = problems.first() {
        return Err(gureum_core::Error::new(ErrorKind::Other, p.clone()));
    }
    Ok(n)
}

/// Names of the compute cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = cases().iter().map(|c| c.name).collect();
    v.push(cleanup_case().name);
    v
}

fn cleanup_case() -> CaseDef<Ctx> {
    case!("compute.cleanup", [], |s| {
        let ids: Vec<String> = s.all.lock().unwrap().clone();
        let problems = terminate_all(s.c(), ids, s.transition()).await;
        ensure!(
            problems.is_empty(),
            "cleanup problems: {}",
            problems.join("; ")
        );
        let left: Vec<Instance> = s
            .c()
            .list_by_tags(&s.run_tags())
            .await
            .ctx("list by run tag")?
            .into_iter()
            .filter(|i| i.state != InstanceState::Terminated)
            .collect();
        ensure!(
            left.is_empty(),
            "instances of this run still alive: {:?}",
            left.iter().map(|i| &i.id).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// Every case (but the final cleanup), area by area in run order.
fn cases() -> Vec<CaseDef<Ctx>> {
    [
        catalogue::cases(),
        lifecycle::cases(),
        create::cases(),
        errors::cases(),
        termination::cases(),
        retries::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
