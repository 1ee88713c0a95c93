//! What a marker-secret test shows (issue 15, item 4): every provider family's test opens its
//! resource with a marker as the credential, runs the usual operations through these helpers,
//! and scans each returned text (with `gureum_testkit::secrets::MarkerScan`) for the marker.
//!
//! Each helper returns the texts a user could see: the URL's `Display`, `Debug` and
//! `redacted()`, the handle's `Debug`, and the `Display` and `Debug` of every error, whether
//! the operation failed because the credential was wrong or succeeded on an emulator that
//! does not check it (then a read of a missing key still yields an error to scan).

use gureum_core::{Bucket, Message, Queue, Registry, ResourceUrl};
use std::fmt::Debug;
use std::time::Duration;

fn err_text<T: Debug>(what: &str, r: gureum_core::Result<T>, out: &mut Vec<String>) {
    match r {
        Ok(v) => out.push(format!("{what}: ok {v:?}")),
        Err(e) => out.push(format!("{what}: {e} | {e:?}")),
    }
}

/// The URL as shown: `Display`, `Debug` and `redacted()` (an unparseable URL: its error).
pub fn show_url(url: &str) -> Vec<String> {
    match ResourceUrl::parse(url) {
        Ok(u) => vec![format!("url: {u} | {u:?} | {}", u.redacted())],
        Err(e) => vec![format!("url: {e} | {e:?}")],
    }
}

/// Open `url` as a bucket through `registry`, then put, get, head, list, a get of a missing
/// key and a bucket listing; every error and `Debug` output.
pub async fn show_bucket(registry: &Registry, url: &str) -> Vec<String> {
    let mut out = show_url(url);
    match registry.open_bucket(Some(url)).await {
        Ok(b) => out.extend(exercise_bucket(&b).await),
        Err(e) => out.push(format!("open: {e} | {e:?}")),
    }
    out
}

/// The operations of [`show_bucket`] on an open bucket.
pub async fn exercise_bucket(b: &Bucket) -> Vec<String> {
    let mut out = vec![format!("bucket: {b:?}")];
    err_text("put", b.put("gsm/k", b"v".to_vec()).await, &mut out);
    err_text("get", b.get("gsm/k").await, &mut out);
    err_text("head", b.head("gsm/k").await, &mut out);
    err_text("list", b.list_all(Some("gsm/")).await, &mut out);
    err_text("missing", b.get("gsm/missing").await, &mut out);
    err_text("delete", b.delete("gsm/k").await, &mut out);
    if let Ok(a) = b.admin() {
        err_text("list_buckets", a.list_buckets().await, &mut out);
    }
    out
}

/// Open `url` as a queue through `registry`, then send, receive (bounded wait), ack and
/// depth; every error and `Debug` output.
pub async fn show_queue(registry: &Registry, url: &str) -> Vec<String> {
    let mut out = show_url(url);
    match registry.open_queue(Some(url)).await {
        Ok(q) => out.extend(exercise_queue(&q).await),
        Err(e) => out.push(format!("open: {e} | {e:?}")),
    }
    out
}

/// The operations of [`show_queue`] on an open queue.
pub async fn exercise_queue(q: &Queue) -> Vec<String> {
    let mut out = vec![format!("queue: {q:?}")];
    err_text("send", q.send(Message::new("gsm")).await, &mut out);
    let got = q
        .receive_with(gureum_core::ReceiveOptions {
            max_messages: 1,
            visibility: Duration::from_secs(30),
            wait: Duration::from_secs(1),
        })
        .await;
    if let Ok(ms) = &got {
        for m in ms {
            err_text("ack", q.ack(m).await, &mut out);
        }
    }
    err_text("receive", got, &mut out);
    err_text("depth", q.depth().await, &mut out);
    out
}

/// Open `url` as a compute service through `registry`, then list sizes, images and
/// instances and get a missing instance; every error and `Debug` output. Creates nothing.
pub async fn show_compute(registry: &Registry, url: &str) -> Vec<String> {
    let mut out = show_url(url);
    match registry.open_compute(Some(url)).await {
        Ok(c) => {
            out.push(format!("compute: {c:?}"));
            err_text("sizes", c.sizes().await.map(|v| v.len()), &mut out);
            err_text("images", c.images().await.map(|v| v.len()), &mut out);
            err_text("list", c.list().await, &mut out);
            err_text("get", c.get("gsm-missing-instance").await, &mut out);
        }
        Err(e) => out.push(format!("open: {e} | {e:?}")),
    }
    out
}
