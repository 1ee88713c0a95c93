//! Compute cases: lifecycle of the primary.

use super::*;

/// The lifecycle of the primary cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
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
    v.push(case!("compute.tags_round_trip", [tags], |s| {
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
    v.push(case!("compute.list_by_tag", [tags], |s| {
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
    v.push(case!("compute.list_by_tag_no_match", [tags], |s| {
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
    v.push(case!("compute.stop_reaches_stopped", [stop_start], |s| {
        let id = s.running_primary().await?;
        s.c().stop(&id).await.ctx("stop")?;
        let i = s.wait(&id, InstanceState::Stopped).await?;
        ensure_eq!(i.state, InstanceState::Stopped, "state");
        Ok(())
    }));
    v.push(case!("compute.start_reaches_running", [stop_start], |s| {
        let id = s.primary().await?;
        let i = s.c().get(&id).await.ctx("get")?;
        if i.state != InstanceState::Stopped {
            s.c().stop(&id).await.ctx("stop")?;
            s.wait(&id, InstanceState::Stopped).await?;
        }
        s.c().start(&id).await.ctx("start")?;
        s.wait(&id, InstanceState::Running).await?;
        Ok(())
    }));
    v.push(case!("compute.reboot_returns_running", [reboot], |s| {
        let id = s.running_primary().await?;
        s.c().reboot(&id).await.ctx("reboot")?;
        s.wait(&id, InstanceState::Running).await?;
        Ok(())
    }));
    v.push(case!(
        "compute.user_data_absent_reads_none",
        [user_data],
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
    v
}
