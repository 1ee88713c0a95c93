//! Listings in key order, streamed into bounded channels (listing runs ahead of the
//! merge-join by at most the channel capacity).

use crate::filter::Filter;
use futures::StreamExt;
use gureum_core::storage::{Bucket, ObjectInfo};
use gureum_core::Result;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One listed object: its key relative to the endpoint prefix, and what the listing said.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) rel: String,
    pub(crate) info: ObjectInfo,
}

/// Shared counters of one listing.
#[derive(Debug, Default)]
pub(crate) struct ListStats {
    pub(crate) listed: AtomicU64,
    pub(crate) filtered: AtomicU64,
    /// A key came out of order (the backend's order differs from byte order for some key):
    /// the merge-join may then see a key as missing on one side.
    pub(crate) out_of_order: AtomicBool,
}

/// Objects buffered ahead of the merge-join per side.
pub(crate) const CHANNEL: usize = 2048;

/// Start listing `prefix` of `bucket` into a channel, in ascending byte order of the key.
/// Backends without sorted listings are listed whole and sorted (the only case that holds a
/// whole listing in memory; every backend gureum ships lists in order).
pub(crate) fn spawn(
    bucket: Bucket,
    prefix: String,
    filter: Filter,
    stats: Arc<ListStats>,
) -> mpsc::Receiver<Result<Listed>> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    tokio::spawn(async move {
        let pfx = (!prefix.is_empty()).then_some(prefix.as_str());
        let mut stream = if bucket.capabilities().sorted_listing {
            bucket.list_stream(pfx)
        } else {
            tracing::warn!(
                bucket = bucket.name(),
                "backend lists in no particular order: listing everything first to sort it"
            );
            match bucket.list_all(pfx).await {
                Ok(v) => futures::stream::iter(v.into_iter().map(Ok)).boxed(),
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        };
        let mut last: Option<String> = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(i) => i,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let Some(rel) = info.key.strip_prefix(&prefix) else {
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            let rel = rel.to_string();
            stats.listed.fetch_add(1, Ordering::Relaxed);
            if !filter.accept(&rel) {
                stats.filtered.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if let Some(l) = &last {
                if rel.as_str() <= l.as_str() {
                    if !stats.out_of_order.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            bucket = bucket.name(),
                            key = %rel,
                            previous = %l,
                            "listing is not in byte order at this key"
                        );
                    }
                    if rel == *l {
                        continue;
                    }
                }
            }
            last = Some(rel.clone());
            if tx.send(Ok(Listed { rel, info })).await.is_err() {
                return;
            }
        }
    });
    rx
}
