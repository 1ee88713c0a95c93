//! Authenticated request sending shared by the Swift and Nova clients: token header, one
//! re-authentication after a 401, bounded retries of transient failures.

use crate::auth::{Session, Token};
use crate::error::{excerpt, request_id, OsError};
use gureum_core::Result;
use std::time::Duration;

/// Attempts for transient failures (connection errors, 502/503/504).
const MAX_ATTEMPTS: usize = 3;

/// Send a request built by `build` with the session's token.
///
/// `retry_transient` must be false for requests that are not safe to repeat.
pub async fn send<F>(
    session: &Session,
    service: &'static str,
    op: &str,
    retry_transient: bool,
    build: F,
) -> Result<reqwest::Response>
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
{
    let mut reauthed = false;
    let mut attempt = 0usize;
    loop {
        attempt += 1;
        let token: std::sync::Arc<Token> = session.token().await?;
        let rb = build(session.http()).header("x-auth-token", token.header_value()?);
        match rb.send().await {
            Err(source) => {
                if retry_transient && attempt < MAX_ATTEMPTS && !source.is_builder() {
                    tracing::debug!(service, op, attempt, "transport error, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                return Err(OsError::Transport {
                    service,
                    op: op.to_string(),
                    source,
                }
                .into());
            }
            Ok(r) => {
                let s = r.status().as_u16();
                if s == 401 && !reauthed {
                    reauthed = true;
                    tracing::debug!(service, op, "401: re-authenticating once");
                    session.invalidate(&token).await;
                    continue;
                }
                if retry_transient && matches!(s, 502..=504) && attempt < MAX_ATTEMPTS {
                    tracing::debug!(
                        service,
                        op,
                        status = s,
                        attempt,
                        "transient status, retrying"
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                return Ok(r);
            }
        }
    }
}

fn backoff(attempt: usize) -> Duration {
    Duration::from_millis(100 * (1 << attempt.min(4)) as u64)
}

/// Turn a non-success response into an error (consuming it), or pass it through.
pub async fn check(
    r: reqwest::Response,
    service: &'static str,
    op: &str,
) -> Result<reqwest::Response> {
    let status = r.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(r);
    }
    Err(http_error(r, service, op).await)
}

/// The error for a non-success response.
pub async fn http_error(
    r: reqwest::Response,
    service: &'static str,
    op: &str,
) -> gureum_core::Error {
    let status = r.status().as_u16();
    let rid = request_id(r.headers());
    let text = r.text().await.unwrap_or_default();
    // Nova: {"itemNotFound": {"message": "...", "code": 404}}; Keystone: {"error": {...}}.
    let detail = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.as_object().and_then(|o| {
                o.values()
                    .find_map(|x| x["message"].as_str().map(str::to_string))
            })
        })
        .or_else(|| excerpt(&text));
    OsError::Http {
        service,
        op: op.to_string(),
        status,
        detail,
        request_id: rid,
    }
    .into()
}
