//! City applications built on gureum. Each one names no vendor: the storage and queue come
//! from URLs (`GUREUM_STORAGE_URL`, `GUREUM_QUEUE_URL`), and with none set the embedded
//! defaults serve.
//!
//! * [`civic`]: civic-complaints intake (민원 접수) — attachments to a bucket, a job on a
//!   queue, a worker that writes a result object. Run it with
//!   `cargo run -p gureum-examples --bin civic_complaints`.
#![warn(missing_docs)]

pub mod civic;
