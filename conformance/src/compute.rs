//! Compute cases, run against a [`Compute`].
//!
//! Every instance a case creates is named `gcf-<run-id>-<n>`, tagged
//! `gureum-conformance-run=<run-id>` and terminated at the end of the case (or, for the
//! shared primary instance, by the final case `compute.cleanup`). A full run creates about
//! six small instances ([`Options::size`], image [`Options::image`]); with
//! [`Options::only`] fewer.

use crate::harness::{
    caps_map, case, ensure, ensure_eq, expect_kind, flag, run_cases, run_one, CaseDef, CaseError,
    Context, Scope,
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

/// The tag every instance of a run carries.
pub const RUN_TAG: &str = "gureum-conformance-run";

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
    let adv = |f: &str| flag(&map, f);
    let mut results = run_cases(ctx.clone(), &cases(), adv, opts, timeout, after).await;
    results.push(run_one(ctx.clone(), &cleanup_case(), &adv, timeout).await);
    report.sections.push(Section {
        area: "compute".into(),
        backend: opts.backend.clone().unwrap_or_else(|| "compute".into()),
        capabilities: map.clone(),
        cases: results,
        notes: vec![format!(
            "instances tagged {RUN_TAG}={}, image {:?}, size {} vCPU / {} MiB",
            opts.run_id, opts.image, opts.size.vcpus, opts.size.memory_mib
        )],
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
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

#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();

    // ---- catalogue -------------------------------------------------------------------
    v.push(case!("compute.sizes_listed", [], |s| {
        let sizes = s.c().sizes().await.ctx("sizes")?;
        ensure!(!sizes.is_empty(), "no sizes listed");
        for z in &sizes {
            ensure!(
                !z.id.is_empty() && z.vcpus > 0 && z.memory_mib > 0,
                "implausible size {z:?}"
            );
        }
        let ids: std::collections::BTreeSet<&String> = sizes.iter().map(|z| &z.id).collect();
        ensure_eq!(ids.len(), sizes.len(), "distinct size ids");
        Ok(())
    }));
    v.push(case!("compute.images_listed", [], |s| {
        let images = s.c().images().await.ctx("images")?;
        ensure!(!images.is_empty(), "no images listed");
        ensure!(
            images.iter().all(|i| !i.id.is_empty()),
            "an image has an empty id"
        );
        Ok(())
    }));
    v.push(case!("compute.portable_size_resolves", [], |s| {
        let sizes = s.c().sizes().await.ctx("sizes")?;
        let want = s.opts.size;
        let z = resolve_size(&SizeSpec::Portable(want), &sizes).ctx("resolve the portable size")?;
        ensure!(
            z.vcpus >= want.vcpus && z.memory_mib >= want.memory_mib,
            "resolved size {z:?} is smaller than {want:?}"
        );
        Ok(())
    }));
    v.push(case!("compute.image_alias_resolves", [], |s| {
        let images = s.c().images().await.ctx("images")?;
        let i = resolve_image(&s.opts.image, &images)
            .ctx(&format!("resolve image {:?}", s.opts.image))?;
        ensure!(!i.id.is_empty(), "resolved image has no id");
        Ok(())
    }));
    v.push(case!("compute.image_aliases_listed", [], |s| {
        let images = s.c().images().await.ctx("images")?;
        ensure!(
            images.iter().any(|i| i.alias.is_some()),
            "no image carries a portable alias"
        );
        Ok(())
    }));

    // ---- lifecycle of the primary ------------------------------------------------------
    v.push(case!("compute.create_and_reach_running", [], |s| {
        let id = s.primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        ensure_eq!(
            i.state,
            InstanceState::Running,
            "state after wait_until(Running)"
        );
        Ok(())
    }));
    v.push(case!("compute.get_returns_instance", [], |s| {
        let id = s.primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        ensure_eq!(i.id, id, "id");
        ensure!(
            i.name.starts_with("gcf-"),
            "name {:?} is not the one created",
            i.name
        );
        Ok(())
    }));
    v.push(case!("compute.provider_state_reported", [], |s| {
        let id = s.primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        ensure!(!i.provider_state.is_empty(), "provider_state is empty");
        Ok(())
    }));
    v.push(case!("compute.tags_round_trip", ["tags"], |s| {
        let id = s.primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        ensure_eq!(i.tags.get(RUN_TAG), Some(&s.opts.run_id), "run tag");
        Ok(())
    }));
    v.push(case!("compute.list_includes_instance", [], |s| {
        let id = s.primary().await?;
        let all = s.c().list().await.ctx("list")?;
        ensure!(
            all.iter().any(|i| i.id == id),
            "list does not include instance {id}"
        );
        Ok(())
    }));
    v.push(case!("compute.list_by_tag", ["tags"], |s| {
        let id = s.primary().await?;
        let l = s.c().list_by_tags(&s.run_tags()).await.ctx("list by tag")?;
        ensure!(
            l.iter().any(|i| i.id == id),
            "list by the run tag does not include {id}"
        );
        for i in &l {
            ensure_eq!(
                i.tags.get(RUN_TAG),
                Some(&s.opts.run_id),
                "tag of listed instance {}",
                i.id
            );
        }
        Ok(())
    }));
    v.push(case!("compute.list_by_tag_no_match", ["tags"], |s| {
        s.primary().await?;
        let tags: BTreeMap<String, String> =
            [(RUN_TAG.to_string(), format!("{}-none", s.opts.run_id))].into();
        let l = s.c().list_by_tags(&tags).await.ctx("list by tag")?;
        ensure!(
            l.is_empty(),
            "list by a tag nobody has returned {} instances",
            l.len()
        );
        Ok(())
    }));
    v.push(case!("compute.state_is_stable_after_wait", [], |s| {
        let id = s.running_primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        ensure!(
            i.state.is_stable(),
            "state {} after waiting is not stable",
            i.state
        );
        Ok(())
    }));
    v.push(case!("compute.wait_until_times_out", [], |s| {
        let id = s.running_primary().await?;
        let t0 = Instant::now();
        let r = s
            .c()
            .wait_until(&id, InstanceState::Stopped, Duration::from_millis(300))
            .await;
        expect_kind(
            r,
            ErrorKind::Timeout,
            "wait for Stopped on a running instance",
        )?;
        ensure!(
            t0.elapsed() < Duration::from_secs(30),
            "wait_until overran its timeout"
        );
        Ok(())
    }));
    v.push(case!("compute.stop_reaches_stopped", ["stop_start"], |s| {
        let id = s.running_primary().await?;
        s.c().stop(&id).await.ctx("stop")?;
        let i = s.wait(&id, InstanceState::Stopped).await?;
        ensure_eq!(i.state, InstanceState::Stopped, "state");
        Ok(())
    }));
    v.push(case!(
        "compute.start_reaches_running",
        ["stop_start"],
        |s| {
            let id = s.primary().await?;
            let i = s.c().get(&id).await.ctx("get")?;
            if i.state != InstanceState::Stopped {
                s.c().stop(&id).await.ctx("stop")?;
                s.wait(&id, InstanceState::Stopped).await?;
            }
            s.c().start(&id).await.ctx("start")?;
            s.wait(&id, InstanceState::Running).await?;
            Ok(())
        }
    ));
    v.push(case!("compute.reboot_returns_running", ["reboot"], |s| {
        let id = s.running_primary().await?;
        s.c().reboot(&id).await.ctx("reboot")?;
        s.wait(&id, InstanceState::Running).await?;
        Ok(())
    }));
    v.push(case!(
        "compute.user_data_absent_reads_none",
        ["user_data"],
        |s| {
            let id = s.primary().await?;
            let u = s.c().user_data(&id).await.ctx("user_data")?;
            ensure!(
                u.as_ref().is_none_or(|b| b.is_empty()),
                "an instance created without user data reports {} bytes",
                u.map(|b| b.len()).unwrap_or(0)
            );
            Ok(())
        }
    ));

    // ---- create variants -------------------------------------------------------------------
    v.push(case!(
        "compute.idempotent_create_same_token",
        ["idempotent_create"],
        |s| {
            let token = format!("{}-idem", s.opts.run_id);
            let spec = s.spec(s.case).idempotency_token(token);
            let a = s.create(spec.clone()).await?;
            let b = s.create(spec.clone()).await?;
            ensure_eq!(
                b.id,
                a.id,
                "instance id of a repeated create with the same token"
            );
            let tags: BTreeMap<String, String> = [
                (
                    "gureum-conformance-case".to_string(),
                    "idempotent-create-same-token".to_string(),
                ),
                (RUN_TAG.to_string(), s.opts.run_id.clone()),
            ]
            .into();
            let n = s
                .c()
                .list_by_tags(&tags)
                .await
                .ctx("list")?
                .into_iter()
                .filter(|i| i.state != InstanceState::Terminated)
                .count();
            ensure_eq!(n, 1, "instances created by two creates with one token");
            Ok(())
        }
    ));
    v.push(case!(
        "compute.different_tokens_different_instances",
        [],
        |s| {
            let a = s
                .create(
                    s.spec(s.case)
                        .idempotency_token(format!("{}-a", s.opts.run_id)),
                )
                .await?;
            let b = s
                .create(
                    s.spec(s.case)
                        .idempotency_token(format!("{}-b", s.opts.run_id)),
                )
                .await?;
            ensure!(
                a.id != b.id,
                "two creates with different tokens returned the same instance {}",
                a.id
            );
            Ok(())
        }
    ));
    v.push(case!("compute.native_size_passthrough", [], |s| {
        let sizes = s.c().sizes().await.ctx("sizes")?;
        let z = resolve_size(&SizeSpec::Portable(s.opts.size), &sizes).ctx("resolve size")?;
        let i = s
            .create(s.spec(s.case).size(SizeSpec::Native(z.id.clone())))
            .await?;
        let i = s.wait(&i.id, InstanceState::Running).await?;
        if let Some(got) = &i.size {
            ensure_eq!(
                got,
                &z.id,
                "size of an instance created with a native size id"
            );
        }
        Ok(())
    }));
    v.push(case!("compute.user_data_delivered", ["user_data"], |s| {
        let data = Bytes::from_static(b"#cloud-config\nruncmd:\n  - echo gureum-conformance\n");
        let i = s.create(s.spec(s.case).user_data(data.clone())).await?;
        s.wait(&i.id, InstanceState::Running).await?;
        let got = s.c().user_data(&i.id).await.ctx("user_data read-back")?;
        ensure_eq!(got, Some(data), "user data read back");
        Ok(())
    }));

    // ---- errors ----------------------------------------------------------------------------
    v.push(case!("compute.get_missing_not_found", [], |s| {
        let r = s.c().get("gcf-no-such-instance-0000").await;
        expect_kind(r, ErrorKind::NotFound, "get of a missing instance id")
    }));
    v.push(case!("compute.invalid_size_rejected", [], |s| {
        let r = s
            .c()
            .create(
                s.spec(s.case)
                    .size(Size::vcpus(100_000).memory_gib(100_000)),
            )
            .await;
        if let Ok(i) = &r {
            s.record(&i.id, false);
        }
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "create with an impossible portable size",
        )
    }));
    v.push(case!("compute.invalid_native_size_rejected", [], |s| {
        let r = s
            .c()
            .create(s.spec(s.case).size("gcf-no-such-flavor"))
            .await;
        if let Ok(i) = &r {
            s.record(&i.id, false);
        }
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "create with an unknown native size",
        )
    }));
    v.push(case!("compute.invalid_image_rejected", [], |s| {
        let r = s
            .c()
            .create(s.spec(s.case).image("gcf-no-such-image-0"))
            .await;
        if let Ok(i) = &r {
            s.record(&i.id, false);
        }
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "create with an unknown image",
        )
    }));
    v.push(case!("compute.empty_name_rejected", [], |s| {
        let mut spec = s.spec(s.case);
        spec.name = String::new();
        let r = s.c().create(spec).await;
        if let Ok(i) = &r {
            s.record(&i.id, false);
        }
        expect_kind(r, ErrorKind::InvalidArgument, "create with an empty name")
    }));

    // ---- termination -------------------------------------------------------------------------
    v.push(case!("compute.terminate_reaches_terminated", [], |s| {
        let i = s.create(s.spec(s.case)).await?;
        s.wait(&i.id, InstanceState::Running).await?;
        s.c().terminate(&i.id).await.ctx("terminate")?;
        s.wait(&i.id, InstanceState::Terminated).await?;
        // Terminating again, and terminating now, must both succeed.
        s.c().terminate(&i.id).await.ctx("terminate again")?;
        Ok(())
    }));
    v.push(case!("compute.terminate_idempotent", [], |s| {
        let i = s.create(s.spec(s.case)).await?;
        s.c().terminate(&i.id).await.ctx("first terminate")?;
        s.c()
            .terminate(&i.id)
            .await
            .ctx("second terminate right after")?;
        s.wait(&i.id, InstanceState::Terminated).await?;
        s.c()
            .terminate(&i.id)
            .await
            .ctx("terminate after terminated")?;
        Ok(())
    }));
    v.push(case!("compute.terminate_missing_ok", [], |s| {
        s.c()
            .terminate("gcf-no-such-instance-0000")
            .await
            .ctx("terminate of a missing instance")?;
        Ok(())
    }));
    v.push(case!(
        "compute.terminated_excluded_from_list",
        ["tags"],
        |s| {
            let i = s.create(s.spec(s.case)).await?;
            s.c().terminate(&i.id).await.ctx("terminate")?;
            s.wait(&i.id, InstanceState::Terminated).await?;
            let l = s.c().list_by_tags(&s.run_tags()).await.ctx("list by tag")?;
            ensure!(
                !l.iter()
                    .any(|x| x.id == i.id && x.state != InstanceState::Terminated),
                "terminated instance listed as alive"
            );
            ensure!(
                !l.iter().any(|x| x.id == i.id),
                "terminated instance listed without include_terminated"
            );
            Ok(())
        }
    ));
    v
}
