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
    v
}
