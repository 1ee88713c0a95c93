//! The one HTTP client layer of the hand-written REST drivers (cargo feature `http`).
//!
//! Providers whose calls do not go through `object_store` or a vendor SDK (EC2 Query API,
//! Azure Storage container/queue REST and ARM, Keystone/Swift/Nova, NCP Server API) send
//! them through an [`HttpClient`]. It gives every provider the same behaviour:
//!
//! * **auth hook** — the provider's [`Authorizer`] signs or authorises *each attempt*
//!   (SigV4, Azure Shared Key/SAS/bearer, Keystone token, NCP signature v2), so retried
//!   requests carry fresh timestamps; a 401 can refresh credentials and repeat once;
//! * **timeouts** — connect timeout, per-attempt timeout and a total deadline per call
//!   ([`HttpConfig`]);
//! * **retries** — exponential back-off with full jitter, the longer of it and the server's
//!   `Retry-After` (seconds or HTTP-date); 429, 5xx and throttling codes (`SlowDown`,
//!   `Throttling`, `RequestLimitExceeded`, `ServerBusy`, ...) are retried, but only for
//!   requests the caller marks [idempotent](RequestOptions::idempotent) (naturally, or
//!   through a client token); a connection that was never made is retried always;
//! * **bounded bodies** — [`HttpClient::bytes`] refuses bodies above
//!   [`HttpConfig::max_response_bytes`] ([`HttpError::BodyTooLarge`]); the answers
//!   `object_store` buffers (listings, multi-delete and completion results) are bounded by
//!   [`CappedConnector`] ([`MAX_STORE_RESPONSE_BYTES`]) on the S3 and Azure Blob stores;
//! * **errors parsed once** — the provider's [`ProviderErrors`] hook reads code, message and
//!   request id from the error body; [`classify`] maps them with the one table
//!   ([`kind_for_status`], [`WELL_KNOWN_CODES`]) plus the provider's overrides; the request id
//!   is kept on the [`Error`](crate::Error);
//! * **no secrets in messages** — URLs appear only through
//!   [`redact_url`](crate::url::redact_url), transport errors without their URL.
//!
//! Configuration per URL or profile: `retries`, `timeout`, `connect_timeout`, `deadline`,
//! `max_response_bytes` (see [`HttpConfig`]).

mod client;
mod config;
mod errors;
mod retry;
mod store_cap;
mod store_connector;

pub use client::{
    error_from_response, Authorizer, HttpClient, HttpClientBuilder, HttpError, HttpResponse,
    RequestOptions, ERROR_BODY_LIMIT,
};
pub use config::{
    parse_duration, HttpConfig, RetryConfig, PARAMS, PARAM_CONNECT_TIMEOUT, PARAM_DEADLINE,
    PARAM_MAX_RESPONSE_BYTES, PARAM_RETRIES, PARAM_TIMEOUT,
};
pub use errors::{
    build_error, classify, excerpt, kind_for_status, kind_for_well_known_code,
    request_id_from_headers, DefaultErrors, ErrorDetails, ProviderErrors, REQUEST_ID_HEADERS,
    WELL_KNOWN_CODES,
};
pub use retry::{backoff, backoff_cap, parse_retry_after};
pub use store_cap::{CappedConnector, MAX_STORE_RESPONSE_BYTES};
pub use store_connector::ObjectStoreConnector;

/// Re-exported so providers name the same `reqwest` as the layer.
pub use reqwest;

#[cfg(test)]
mod tests;
