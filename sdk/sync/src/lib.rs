//! gureum-sync: the migration engine behind `gureum sync`, `gureum cp -r` and `gureum check`.
//!
//! It moves a tree of objects between any two [`Bucket`]s (file, mem, S3 and its presets,
//! Swift, Azure Blob, Naver Cloud, ...) through the portable API only:
//!
//! * **streaming**: both listings are read page by page in key order and merge-joined, so the
//!   compare and the transfers start with the first page and memory stays bounded whatever the
//!   number of keys (only the bounded channels and the in-flight transfers are held);
//! * **concurrent**: [`SyncOptions::transfers`] objects at a time; large objects go through
//!   multipart uploads fed by parallel ranged reads; a memory budget bounds every buffer;
//! * **server-side copy** when source and destination are the same store, or buckets of one
//!   account and endpoint (S3 `CopyObject`, Swift `X-Copy-From`);
//! * **verified**: an MD5 of every byte read is computed while streaming and compared end to
//!   end (with the source's and the destination's MD5 etags, the S3 multipart etag computed
//!   from the part MD5s, or by reading the destination back); a mismatch is retried, then
//!   reported as an [`ErrorKind::Integrity`](gureum_core::ErrorKind) failure;
//! * **resumable**: a sqlite [`checkpoint`] records finished objects and multipart uploads in
//!   flight; a run killed with `kill -9` and started again aborts the orphaned uploads (through
//!   an [`UploadJanitor`]) and copies only what is unfinished;
//! * **filterable**: include/exclude globs and any [`KeyFilter`] (the hook for sharding).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use gureum_core::storage::Bucket;
//! use gureum_sync::{sync, Endpoint, Hooks, SyncOptions};
//! use std::sync::Arc;
//! let a = Bucket::new("a", Arc::new(gureum_core::object_store::memory::InMemory::new()));
//! let b = Bucket::new("b", Arc::new(gureum_core::object_store::memory::InMemory::new()));
//! a.put("민원/c-1041.json", "{}").await.unwrap();
//! let report = sync(&Endpoint::new(a, ""), &Endpoint::new(b.clone(), "backup/"),
//!                   &SyncOptions::default(), &Hooks::default()).await.unwrap();
//! assert_eq!(report.copied, 1);
//! assert_eq!(&b.get("backup/민원/c-1041.json").await.unwrap()[..], b"{}");
//! # });
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
mod engine;
mod filter;
mod hash;
mod listing;
pub mod shard;
mod transfer;

pub use engine::{
    check, sync, CheckReport, Compare, Difference, Endpoint, Event, Failure, Hooks, Observer,
    Readback, Report, SyncOptions, UploadJanitor,
};
pub use filter::{Filter, KeyFilter};
pub use hash::{md5_etag_schemes, ContentHash};
pub use shard::Shard;

#[doc(no_inline)]
pub use gureum_core::storage::Bucket;
