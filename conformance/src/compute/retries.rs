//! Compute cases: idempotent create under retries (a retry that arrives late, concurrent
//! retries), error mapping of operations on missing instances, tag filters, and the
//! service clock (creation times within the signing window).

use super::*;

/// An id that no backend has.
const MISSING: &str = "gcf-no-such-instance-0000";

/// The retry and error-mapping cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "compute.idempotent_create_retry_after_running",
        [idempotent_create],
        |s| {
            // The first create succeeded but its answer was lost; the client retries once the
            // instance is already running.
            let spec = s
                .spec(s.case)
                .idempotency_token(format!("{}-late", s.opts.run_id));
            let a = s.create(spec.clone()).await?;
            s.wait(&a.id, InstanceState::Running).await?;
            let b = s.create(spec).await?;
            ensure_eq!(
                b.id,
                a.id,
                "id returned by a late retry with the same token"
            );
            let i = s.c().get(&a.id).await.ctx("get")?;
            ensure_eq!(
                i.state,
                InstanceState::Running,
                "state after the late retry (the retry must not restart or replace it)"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "compute.idempotent_create_concurrent_retries",
        [idempotent_create],
        |s| {
            let spec = s
                .spec(s.case)
                .idempotency_token(format!("{}-burst", s.opts.run_id));
            let mut tasks = Vec::new();
            for _ in 0..3 {
                let (c, sp) = (s.c().clone(), spec.clone());
                tasks.push(tokio::spawn(async move { c.create(sp).await }));
            }
            let mut ids = BTreeMap::new();
            let mut errors = Vec::new();
            for t in tasks {
                match t.await {
                    Ok(Ok(i)) => {
                        s.record(&i.id, false);
                        *ids.entry(i.id).or_insert(0) += 1;
                    }
                    Ok(Err(e)) => errors.push(format!("{}: {e}", e.kind())),
                    Err(e) => return Err(CaseError::Fail(format!("task: {e}"))),
                }
            }
            ensure!(
                errors.is_empty(),
                "concurrent creates with one token failed: {errors:?}"
            );
            ensure_eq!(
                ids.len(),
                1,
                "distinct instances from three concurrent creates with one token"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "compute.start_missing_not_found",
        [stop_start],
        |s| {
            expect_kind(
                s.c().start(MISSING).await,
                ErrorKind::NotFound,
                "start of a missing instance",
            )
        }
    ));
    v.push(case!("compute.stop_missing_not_found", [stop_start], |s| {
        expect_kind(
            s.c().stop(MISSING).await,
            ErrorKind::NotFound,
            "stop of a missing instance",
        )
    }));
    v.push(case!("compute.reboot_missing_not_found", [reboot], |s| {
        expect_kind(
            s.c().reboot(MISSING).await,
            ErrorKind::NotFound,
            "reboot of a missing instance",
        )
    }));
    v.push(case!(
        "compute.user_data_missing_not_found",
        [user_data],
        |s| {
            expect_kind(
                s.c().user_data(MISSING).await,
                ErrorKind::NotFound,
                "user data of a missing instance",
            )
        }
    ));
    v.push(case!("compute.get_after_terminate", [], |s| {
        let i = s.create(s.spec(s.case)).await?;
        s.wait(&i.id, InstanceState::Running).await?;
        s.c().terminate(&i.id).await.ctx("terminate")?;
        s.wait(&i.id, InstanceState::Terminated).await?;
        match s.c().get(&i.id).await {
            Ok(g) => ensure_eq!(
                g.state,
                InstanceState::Terminated,
                "state read after termination"
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CaseError::Fail(format!(
                    "get after termination: expected Terminated or NotFound, got {} error: {e}",
                    e.kind()
                )))
            }
        }
        Ok(())
    }));
    v.push(case!("compute.list_by_tags_is_conjunction", [tags], |s| {
        let i = s.create(s.spec(s.case).tag("gcf-extra", "yes")).await?;
        let mut both = s.run_tags();
        both.insert("gcf-extra".into(), "yes".into());
        let mut wrong = s.run_tags();
        wrong.insert("gcf-extra".into(), "no".into());
        let alive = |v: Vec<Instance>| -> Vec<String> {
            v.into_iter()
                .filter(|i| i.state != InstanceState::Terminated)
                .map(|i| i.id)
                .collect()
        };
        let hit = alive(s.c().list_by_tags(&both).await.ctx("list by two tags")?);
        let miss = alive(
            s.c()
                .list_by_tags(&wrong)
                .await
                .ctx("list by a wrong tag value")?,
        );
        ensure_eq!(hit, vec![i.id.clone()], "instances with both tags");
        ensure!(
            miss.is_empty(),
            "a filter with a wrong tag value matched {miss:?}"
        );
        Ok(())
    }));
    v.push(case!("compute.created_at_plausible", [], |s| {
        let id = s.running_primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        let Some(t) = i.created_at else {
            s.note("the backend reports no creation time");
            return Ok(());
        };
        let now = chrono::Utc::now();
        let skew = (t - now).num_seconds();
        ensure!(
            skew <= 300,
            "created_at is {skew} s in the future: the service clock is ahead of this machine's \
             by more than the signing window"
        );
        ensure!(
            (now - t).num_seconds() <= 86_400,
            "created_at {t} is more than a day before the run started"
        );
        Ok(())
    }));
    v.push(case!("compute.instance_name_round_trip", [], |s| {
        let spec = s.spec(s.case);
        let name = spec.name.clone();
        let i = s.create(spec).await?;
        let g = s.c().get(&i.id).await.ctx("get")?;
        ensure_eq!(g.name, name, "name read back");
        Ok(())
    }));
    v.push(case!("compute.catalogue_ids_unique", [], |s| {
        let sizes = s.c().sizes().await.ctx("sizes")?;
        let images = s.c().images().await.ctx("images")?;
        let mut seen = std::collections::BTreeSet::new();
        for z in &sizes {
            ensure!(seen.insert(z.id.clone()), "size id {} listed twice", z.id);
            ensure!(
                z.vcpus > 0 && z.memory_mib > 0,
                "size {} has {} vCPUs and {} MiB",
                z.id,
                z.vcpus,
                z.memory_mib
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for i in &images {
            // One image may carry several aliases; the same (id, alias) twice is a paging bug.
            ensure!(
                seen.insert((i.id.clone(), i.alias.clone())),
                "image {} (alias {:?}) listed twice",
                i.id,
                i.alias
            );
        }
        Ok(())
    }));
    v.push(case!(
        "compute.concurrent_creates_all_tracked",
        [tags],
        |s| {
            let mut tasks = Vec::new();
            for n in 0..3 {
                let (c, sp) = (
                    s.c().clone(),
                    s.spec(s.case)
                        .idempotency_token(format!("{}-par{n}", s.opts.run_id)),
                );
                tasks.push(tokio::spawn(async move { c.create(sp).await }));
            }
            let mut ids = Vec::new();
            for t in tasks {
                let i = t
                    .await
                    .map_err(|e| CaseError::Fail(format!("task: {e}")))?
                    .ctx("create")?;
                s.record(&i.id, false);
                ids.push(i.id);
            }
            let mut tags = s.run_tags();
            tags.insert(
                "gureum-conformance-case".into(),
                s.short().replace('_', "-"),
            );
            let mut listed: Vec<String> = s
                .c()
                .list_by_tags(&tags)
                .await
                .ctx("list by case tag")?
                .into_iter()
                .filter(|i| i.state != InstanceState::Terminated)
                .map(|i| i.id)
                .collect();
            listed.sort();
            ids.sort();
            ensure_eq!(
                listed,
                ids,
                "instances listed after three concurrent creates"
            );
            Ok(())
        }
    ));
    v
}
