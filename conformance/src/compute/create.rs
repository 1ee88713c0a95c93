//! Compute cases: create variants.

use super::*;

/// The create variants cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "compute.idempotent_create_same_token",
        [idempotent_create],
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
    v.push(case!("compute.user_data_delivered", [user_data], |s| {
        let data = Bytes::from_static(b"#cloud-config\nruncmd:\n  - echo gureum-conformance\n");
        let i = s.create(s.spec(s.case).user_data(data.clone())).await?;
        s.wait(&i.id, InstanceState::Running).await?;
        let got = s.c().user_data(&i.id).await.ctx("user_data read-back")?;
        ensure_eq!(got, Some(data), "user data read back");
        Ok(())
    }));
    v
}
