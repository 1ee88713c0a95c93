//! A bound on the response bodies the AWS SDK buffers: listings (S3 `ListObjects[V2]`) and
//! every SQS answer are read whole before they are parsed, with no limit of their own, so a
//! server (or something between) that sends a body that never ends would grow memory
//! without bound. [`BodyCap`] is an SDK interceptor that refuses an answer announcing more
//! than its limit and ends a body that goes past it with an error (`Unavailable`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Largest S3 listing answer read (a page of 1,000 keys of 1,024 bytes, percent-encoded,
/// with their fields is about 4 MiB).
///
/// ```
/// use gureum_aws::body_cap::MAX_LIST_RESPONSE_BYTES;
/// assert_eq!(MAX_LIST_RESPONSE_BYTES, 16 << 20); // a ListObjects page of 1,000 keys is about 4 MiB
/// ```
pub const MAX_LIST_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest SQS answer read (a batch of 10 messages of 1 MiB with attributes is about 11 MiB).
///
/// ```
/// use gureum_aws::body_cap::MAX_SQS_RESPONSE_BYTES;
/// assert_eq!(MAX_SQS_RESPONSE_BYTES, 32 << 20);
/// ```
pub const MAX_SQS_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// SDK interceptor bounding a buffered response body to `limit` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyCap {
    pub(crate) limit: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("response body exceeds {limit} bytes")]
struct TooLarge {
    limit: u64,
}

impl Intercept for BodyCap {
    fn name(&self) -> &'static str {
        "gureum-body-cap"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let limit = self.limit;
        let resp = context.response_mut();
        let announced = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit) {
            return Err(Box::new(TooLarge { limit }));
        }
        let body = std::mem::replace(resp.body_mut(), SdkBody::taken());
        *resp.body_mut() = SdkBody::from_body_1_x(Capped {
            inner: body,
            limit,
            read: 0,
        });
        Ok(())
    }
}

/// A body that fails once more than `limit` bytes went through.
struct Capped {
    inner: SdkBody,
    limit: u64,
    read: u64,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    this.read += d.len() as u64;
                    if this.read > this.limit {
                        return Poll::Ready(Some(Err(Box::new(TooLarge { limit: this.limit }))));
                    }
                }
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}
