//! Queue cases: bodies and attributes.

use super::*;

/// The bodies and attributes cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("queue.message_max_size_accepted", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let body = crate::storage::pattern(max, 1);
        let id = s.send1(&q, Message::new(body.clone())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            m.body == body,
            "a max-size body ({max} bytes) came back as {} different bytes",
            m.body.len()
        );
        Ok(())
    }));
    v.push(case!("queue.message_over_max_size_rejected", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let r = q.send(Message::new(vec![b'x'; max + 1])).await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "send of max_message_bytes + 1",
        )
    }));
    v.push(case!("queue.driver_rejects_oversized_message", [], |s| {
        // The driver itself (not only Queue) must refuse an oversized body.
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let r = q
            .driver()
            .send_batch(vec![Message::new(vec![b'x'; max + 1])])
            .await;
        if r.is_ok() {
            drain(&q, s.vis()).await.ok();
        }
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "driver send_batch of max_message_bytes + 1",
        )
    }));
    v.push(case!("queue.empty_body", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new(Bytes::new())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body.len(), 0, "empty body length");
        Ok(())
    }));
    v.push(case!("queue.binary_body_all_bytes", [], |s| {
        let q = s.fresh().await?;
        let body: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let id = s.send1(&q, Message::new(body.clone())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body, Bytes::from(body), "binary body");
        Ok(())
    }));
    v.push(case!("queue.utf8_body_hangul", [], |s| {
        let q = s.fresh().await?;
        let body = "민원 접수: 도로 파손 🚧";
        let id = s.send1(&q, Message::new(body)).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body, Bytes::from(body), "utf-8 body");
        Ok(())
    }));
    v.push(case!("queue.attributes_round_trip", [attributes], |s| {
        let q = s.fresh().await?;
        let id = s
            .send1(
                &q,
                Message::new("a")
                    .attribute("kind", "complaint")
                    .attribute("priority", "3"),
            )
            .await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(
            m.attributes.get("kind").map(String::as_str),
            Some("complaint"),
            "attribute kind"
        );
        ensure_eq!(
            m.attributes.get("priority").map(String::as_str),
            Some("3"),
            "attribute priority"
        );
        Ok(())
    }));
    v.push(case!(
        "queue.attributes_unicode_values",
        [attributes],
        |s| {
            let q = s.fresh().await?;
            let id = s
                .send1(
                    &q,
                    Message::new("a").attribute("district", "종로구 & <중구>"),
                )
                .await?;
            let m = s.one(&q, &id, s.vis()).await?;
            q.ack(&m).await.ctx("ack")?;
            ensure_eq!(
                m.attributes.get("district").map(String::as_str),
                Some("종로구 & <중구>"),
                "attribute value"
            );
            Ok(())
        }
    ));
    v.push(case!("queue.no_attributes_means_none", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("plain")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            m.attributes.is_empty(),
            "attributes appeared on a message sent without any: {:?}",
            m.attributes
        );
        Ok(())
    }));
    v
}
