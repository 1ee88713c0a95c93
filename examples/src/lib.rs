//! City applications built on gureum. Each one names no vendor: the storage, queue and
//! compute come from URLs (`GUREUM_STORAGE_URL`, `GUREUM_QUEUE_URL`, `GUREUM_COMPUTE_URL`) or a
//! `gureum.toml` profile (`GUREUM_PROFILE`), and with none set the embedded defaults serve
//! ([`backends`]).
//!
//! * [`civic`]: civic-complaints intake (민원 접수) — attachments to a bucket, a job on a
//!   queue, a worker that writes a result object, OCR worker instances on compute. Run it with
//!   `cargo run -p gureum-examples --bin civic_complaints`.
//! * [`open_data`]: open-data publisher (공공데이터 개방) — anonymised traffic statistics to a
//!   public bucket with presigned download links. `--bin open_data_publisher`.
//! * [`batch`]: nightly batch fleet (야간 일괄 처리) — instances from a portable size and
//!   image, waited for, then torn down. `--bin nightly_batch`.
#![deny(missing_docs)]

pub mod backends;
pub mod batch;
pub mod civic;
pub mod open_data;
