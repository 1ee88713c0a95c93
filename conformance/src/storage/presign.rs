//! Storage cases: presigned URLs.

use super::*;

/// The presigned URLs cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.presign_get", [presign], |s| {
        let k = s.put("p.txt", "presigned body").await?;
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(300))
            .await
            .ctx("presign GET")?;
        let r = s.http.get(url.clone()).send().await;
        s.cleanup().await;
        let r =
            r.map_err(|e| crate::harness::CaseError::Fail(format!("GET presigned URL: {e}")))?;
        let status = r.status();
        let body = r.bytes().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "GET presigned URL: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        ensure_eq!(
            body,
            Bytes::from_static(b"presigned body"),
            "body from presigned GET"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_put", [presign], |s| {
        let k = s.key("up.txt");
        let url = s
            .b()
            .presign(PresignMethod::Put, &k, Duration::from_secs(300))
            .await
            .ctx("presign PUT")?;
        let r = s
            .http
            .put(url)
            .header("x-ms-blob-type", "BlockBlob")
            .body("uploaded")
            .send()
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("PUT presigned URL: {e}")))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "PUT presigned URL: HTTP {status}: {text}"
        );
        let g = s.b().get(&k).await.ctx("get after presigned PUT")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"uploaded"),
            "content after presigned PUT"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_get_missing_404", [presign], |s| {
        let k = s.key("missing");
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(60))
            .await
            .ctx("presign")?;
        let r = s
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
        ensure_eq!(
            r.status().as_u16(),
            404,
            "HTTP status of a presigned GET of a missing key"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_odd_key", [presign], |s| {
        let k = s.put("민원 a+b%c#d?e.txt", "odd").await?;
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(300))
            .await
            .ctx("presign")?;
        let r = s.http.get(url).send().await;
        s.cleanup().await;
        let r = r.map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
        let status = r.status();
        let body = r.bytes().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "presigned GET of an odd key: HTTP {status}"
        );
        ensure_eq!(body, Bytes::from_static(b"odd"), "body");
        Ok(())
    }));
    v.push(case!("storage.presign_invalid_expiry", [presign], |s| {
        let k = s.key("x");
        expect_kind(
            s.b().presign(PresignMethod::Get, &k, Duration::ZERO).await,
            ErrorKind::InvalidArgument,
            "presign with zero expiry",
        )?;
        expect_kind(
            s.b()
                .presign(PresignMethod::Get, &k, Duration::from_secs(8 * 24 * 3600))
                .await,
            ErrorKind::InvalidArgument,
            "presign for 8 days",
        )
    }));
    v
}
