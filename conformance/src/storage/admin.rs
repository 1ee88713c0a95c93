//! Storage cases: bucket admin.

use super::*;

/// The bucket admin cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.bucket_admin_lifecycle",
        [bucket_admin],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "a");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let listed = admin.list_buckets().await.ctx("list_buckets");
            let del = admin.delete_bucket(&name).await.ctx("delete_bucket");
            let listed = listed?;
            ensure!(
                listed.contains(&name),
                "new bucket {name:?} not in list_buckets"
            );
            del?;
            let after = admin.list_buckets().await.ctx("list_buckets")?;
            ensure!(
                !after.contains(&name),
                "deleted bucket {name:?} still listed"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.bucket_admin_create_existing",
        [bucket_admin],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "b");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let r = admin.create_bucket(&name).await;
            admin.delete_bucket(&name).await.ctx("delete_bucket")?;
            expect_kind(r, ErrorKind::AlreadyExists, "creating an existing bucket")
        }
    ));
    v.push(case!(
        "storage.bucket_admin_delete_missing",
        [bucket_admin],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "never");
            expect_kind(
                admin.delete_bucket(&name).await,
                ErrorKind::NotFound,
                "deleting a missing bucket",
            )
        }
    ));
    v.push(case!(
        "storage.bucket_admin_open_and_use",
        [bucket_admin],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "c");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let r: Outcome = async {
                let b = admin.open(&name).await.ctx("open")?;
                b.put("x/y", "in new bucket").await.ctx("put")?;
                let g = b.get("x/y").await.ctx("get")?;
                ensure_eq!(g, Bytes::from_static(b"in new bucket"), "content");
                ensure!(
                    !s.b().exists("x/y").await.unwrap_or(false) || s.b().name() == name,
                    "write to the new bucket is visible in the bucket under test"
                );
                b.delete("x/y").await.ctx("delete")?;
                Ok(())
            }
            .await;
            admin.delete_bucket(&name).await.ctx("delete_bucket")?;
            r
        }
    ));
    v
}
