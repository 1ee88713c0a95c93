//! Compute cases: termination.

use super::*;

/// The termination cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
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
        [tags],
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
