//! Queue cases: argument checks.

use super::*;

/// The argument checks cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.visibility_over_max_rejected", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_visibility;
        let r = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: max + Duration::from_secs(1),
                wait: Duration::ZERO,
            })
            .await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "receive with visibility over max_visibility",
        )
    }));
    v.push(case!("queue.receive_zero_rejected", [], |s| {
        let q = s.fresh().await?;
        let r = q
            .receive_with(ReceiveOptions {
                max_messages: 0,
                visibility: s.vis(),
                wait: Duration::ZERO,
            })
            .await;
        expect_kind(r, ErrorKind::InvalidArgument, "receive of 0 messages")
    }));
    v.push(case!("queue.delay_unsupported_is_refused", [], |s| {
        let q = s.fresh().await?;
        if q.capabilities().delay {
            return skip("the backend supports per-message delay");
        }
        let r = q
            .send(Message::new("x").delay(Duration::from_secs(1)))
            .await;
        expect_kind(
            r,
            ErrorKind::Unsupported,
            "delayed send on a backend without delay",
        )
    }));
    v.push(case!("queue.capabilities_sane", [], |s| {
        let c = s.queue.capabilities();
        ensure!(c.max_batch_send >= 1, "max_batch_send is 0");
        ensure!(c.max_batch_receive >= 1, "max_batch_receive is 0");
        ensure!(
            c.max_message_bytes >= 1024,
            "max_message_bytes {} is below 1 KiB",
            c.max_message_bytes
        );
        ensure!(
            c.max_visibility >= Duration::from_secs(30),
            "max_visibility {:?} is below 30 s",
            c.max_visibility
        );
        ensure_eq!(c.admin, s.admin.is_some(), "admin flag vs Queue::admin()");
        Ok(())
    }));
    v
}
