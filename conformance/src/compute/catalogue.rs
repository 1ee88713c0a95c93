//! Compute cases: catalogue.

use super::*;

/// The catalogue cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
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
    v
}
