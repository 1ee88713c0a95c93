//! Compute cases: errors.

use super::*;

/// The errors cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
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
    v.push(case!("compute.quota_exceeded_typed", [], |s| {
        // Opt-in: reaching a quota creates instances, which costs money on a real account.
        let Some(q) = s.opts.instance_quota else {
            return skip(
                "opt-in: give the account's instance quota with --instance-quota N \
                 (the case creates up to N + 1 instances)",
            );
        };
        if q > 20 {
            return skip(format!(
                "instance quota {q} is above 20: too costly to reach in a conformance run"
            ));
        }
        // Instances that already exist (the run's primary, other workloads) count against
        // the quota too, so the refusal may come before N + 1 creates; it must come by then.
        let mut created = 0;
        for n in 0..=q {
            match s.c().create(s.spec(s.case)).await {
                Ok(i) => {
                    s.record(&i.id, false);
                    created += 1;
                }
                Err(e) => {
                    ensure_eq!(
                        e.kind(),
                        ErrorKind::QuotaExceeded,
                        "create #{} past the quota of {q}: {e}",
                        n + 1
                    );
                    ensure!(
                        !e.is_retryable(),
                        "a quota error must not be retryable: {e}"
                    );
                    // Nothing half-made: the refused create left no instance behind.
                    let tagged = s.c().list_by_tags(&s.run_tags()).await.ctx("list by tag")?;
                    let ours = tagged
                        .iter()
                        .filter(|i| {
                            i.tags.get("gureum-conformance-case").map(String::as_str)
                                == Some("quota-exceeded-typed")
                        })
                        .filter(|i| i.state != InstanceState::Terminated)
                        .count();
                    ensure_eq!(ours, created, "instances of this case after the refusal");
                    return Ok(());
                }
            }
        }
        Err(CaseError::Fail(format!(
            "{} creates succeeded against an instance quota of {q}: no quota_exceeded error",
            q + 1
        )))
    }));
    v
}
