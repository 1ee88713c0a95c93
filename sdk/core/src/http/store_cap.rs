//! [`CappedConnector`]: an `object_store` HTTP connector that bounds the answers
//! `object_store` buffers whole (listings, multi-delete results, multipart completion,
//! error bodies): a server that sends a body that never ends otherwise grows memory until
//! the request times out.

use bytes::Bytes;
use object_store::client::{
    HttpClient as StoreHttpClient, HttpConnector, HttpError as StoreHttpError, HttpErrorKind,
    HttpRequest, HttpResponse as StoreHttpResponse, HttpResponseBody, HttpService,
    ReqwestConnector,
};
use object_store::ClientOptions;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Default bound of a buffered `object_store` answer: 32 MiB (an Azure List Blobs page of
/// 5,000 names of 1,024 bytes with their properties is about 10 MiB, an S3 page of 1,000
/// about 4 MiB).
///
/// ```
/// use gureum_core::http::MAX_STORE_RESPONSE_BYTES;
/// assert_eq!(MAX_STORE_RESPONSE_BYTES, 32 << 20);
/// ```
pub const MAX_STORE_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// An `object_store` [`HttpConnector`] (over its reqwest connector) that bounds every
/// answer except object data: the body of a response to a `PUT`, `POST`, `DELETE` or
/// `HEAD`, or to a `GET` with a listing query (`list-type`, `comp=list`, `prefix`,
/// `delimiter`, `uploads`, `restype`), fails with a decode error once it goes past the
/// limit, and an answer announcing more is refused at once (an answer announcing at most the
/// limit is passed through as it is: the HTTP client reads no more than it announces). Object reads (`GET` of a key)
/// are not bounded here: `object_store` requires their `content-length` and reads no more.
///
/// ```
/// let b = object_store::aws::AmazonS3Builder::new()
///     .with_http_connector(gureum_core::http::CappedConnector::default());
/// # let _ = b;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CappedConnector {
    limit: u64,
}

impl Default for CappedConnector {
    fn default() -> Self {
        CappedConnector {
            limit: MAX_STORE_RESPONSE_BYTES,
        }
    }
}

impl CappedConnector {
    /// A connector bounding buffered answers to `limit` bytes.
    ///
    /// ```
    /// use gureum_core::http::CappedConnector;
    /// // Bound buffered answers (listings, error bodies) to 1 MiB; object reads are not bounded here.
    /// let s3 = object_store::aws::AmazonS3Builder::new()
    ///     .with_bucket_name("b")
    ///     .with_region("us-east-1")
    ///     .with_http_connector(CappedConnector::new(1 << 20))
    ///     .build();
    /// assert!(s3.is_ok());
    /// ```
    pub fn new(limit: u64) -> Self {
        CappedConnector { limit }
    }
}

impl HttpConnector for CappedConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<StoreHttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(StoreHttpClient::new(CappedService {
            inner,
            limit: self.limit,
        }))
    }
}

/// `inner` with the same bound on buffered answers as [`CappedConnector`] (used by
/// [`ObjectStoreConnector`](super::ObjectStoreConnector) for its TLS-configured client).
pub(crate) fn capped(inner: StoreHttpClient, limit: u64) -> StoreHttpClient {
    StoreHttpClient::new(CappedService { inner, limit })
}

#[derive(Debug)]
struct CappedService {
    inner: StoreHttpClient,
    limit: u64,
}

/// Whether the answer to this request is buffered whole by `object_store` (anything but
/// object data).
fn buffered(req: &HttpRequest) -> bool {
    if req.method() != http::Method::GET {
        return true;
    }
    req.uri().query().is_some_and(|q| {
        q.split('&').any(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            matches!(
                k,
                "list-type" | "prefix" | "delimiter" | "uploads" | "restype"
            ) || kv == "comp=list"
        })
    })
}

#[derive(Debug, thiserror::Error)]
#[error("response body exceeds {limit} bytes")]
struct TooLarge {
    limit: u64,
}

#[async_trait::async_trait]
impl HttpService for CappedService {
    async fn call(&self, req: HttpRequest) -> Result<StoreHttpResponse, StoreHttpError> {
        if !buffered(&req) {
            return self.inner.execute(req).await;
        }
        let limit = self.limit;
        let resp = self.inner.execute(req).await?;
        let announced = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match announced {
            Some(n) if n > limit => {
                return Err(StoreHttpError::new(
                    HttpErrorKind::Decode,
                    TooLarge { limit },
                ))
            }
            // hyper reads no more than an announced `content-length` (HTTP/1 stops there,
            // HTTP/2 fails on a mismatch), so a body within the limit needs no counting
            // wrapper: this spares a boxed body per PUT/HEAD/DELETE answer (the one gureum
            // layer a profile of 4 KiB put+get on s3s-fs showed above noise).
            Some(_) => return Ok(resp),
            None => {}
        }
        let (parts, body) = resp.into_parts();
        let capped = Capped {
            inner: body,
            limit,
            read: 0,
        };
        Ok(http::Response::from_parts(
            parts,
            HttpResponseBody::new(capped),
        ))
    }
}

/// A response body that fails once more than `limit` bytes went through.
struct Capped {
    inner: HttpResponseBody,
    limit: u64,
    read: u64,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = StoreHttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, StoreHttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    this.read += d.len() as u64;
                    if this.read > this.limit {
                        return Poll::Ready(Some(Err(StoreHttpError::new(
                            HttpErrorKind::Decode,
                            TooLarge { limit: this.limit },
                        ))));
                    }
                }
                Poll::Ready(Some(Ok(f)))
            }
            other => other,
        }
    }
}
