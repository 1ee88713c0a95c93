//! Queue cases: admin.

use super::*;

/// The admin cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.admin_lifecycle", [admin], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-adm");
        s.created.lock().unwrap().push(name.clone());
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue")?;
        let listed = admin.list_queues().await.ctx("list_queues")?;
        ensure!(listed.contains(&name), "new queue {name} not listed");
        let q = admin.open(&name).await.ctx("open")?;
        let id = s.send1(&q, Message::new("in new queue")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        admin.delete_queue(&name).await.ctx("delete_queue")?;
        let listed = admin.list_queues().await.ctx("list_queues")?;
        ensure!(!listed.contains(&name), "deleted queue {name} still listed");
        Ok(())
    }));
    v.push(case!("queue.admin_delete_missing", [admin], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-none");
        expect_kind(
            admin.delete_queue(&name).await,
            ErrorKind::NotFound,
            "delete of a missing queue",
        )
    }));
    v.push(case!("queue.admin_create_existing_is_ok", [admin], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-twice");
        s.created.lock().unwrap().push(name.clone());
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue")?;
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue again with the same settings")?;
        Ok(())
    }));
    v.push(case!("queue.admin_queues_are_isolated", [admin], |s| {
        let a = s.fresh().await?;
        let b = s.fresh().await?;
        let id = s.send1(&a, Message::new("only in a")).await?;
        let got = b
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: s.opts.scaled(Duration::from_secs(1)),
            })
            .await
            .ctx("receive b")?;
        ensure!(
            got.is_empty(),
            "a message sent to one queue arrived in another"
        );
        let m = s.one(&a, &id, s.vis()).await?;
        a.ack(&m).await.ctx("ack")?;
        Ok(())
    }));
    v
}
