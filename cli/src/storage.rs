//! `ls`, `cat`, `cp`, `rm`, `stat`.

use crate::args::{CatArgs, CpArgs, LsArgs, RmArgs};
use crate::location::{Location, ObjectUrl};
use crate::output::{to_json, write_stdout, Out};
use futures::TryStreamExt;
use gureum::{Bucket, Error, ListOptions, ObjectInfo, PutOptions, Result};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Objects up to this size are uploaded with one `put`; larger ones stream through the
/// multipart writer. It equals the writer's part size, so memory stays bounded either way.
pub const SINGLE_PUT_LIMIT: usize = gureum::storage::DEFAULT_PART_SIZE;
/// Read buffer of streaming copies.
const BUF: usize = 1024 * 1024;

fn object_json(o: &ObjectInfo) -> serde_json::Value {
    let mut v = to_json(o);
    if let Some(m) = v.as_object_mut() {
        m.insert("type".into(), "object".into());
    }
    v
}

fn print_object(out: &Out, o: &ObjectInfo) -> Result<()> {
    if out.json {
        out.json_line(&object_json(o))
    } else {
        out.line(format!(
            "{}  {:>12}  {}",
            o.last_modified.format("%Y-%m-%dT%H:%M:%SZ"),
            o.size,
            o.key
        ))
    }
}

fn print_prefix(out: &Out, p: &str) -> Result<()> {
    if out.json {
        out.json_line(&serde_json::json!({"type": "prefix", "prefix": p}))
    } else {
        out.line(format!("{:20}  {:>12}  {}", "", "PRE", p))
    }
}

/// `gureum ls URL[#PREFIX] [-r]`.
pub async fn ls(a: LsArgs, out: &Out) -> Result<()> {
    let u = ObjectUrl::parse(&a.url)?;
    let bucket = u.open().await?;
    let prefix = (!u.key.is_empty()).then(|| u.key.clone());
    if a.recursive && !bucket.capabilities().sorted_listing {
        // Unsorted backends: one pass, sorted here.
        let (objects, skipped) = bucket.list_all_counted(prefix.as_deref()).await?;
        for o in &objects {
            print_object(out, o)?;
        }
        return print_skipped(out, skipped);
    }
    let mut opts = ListOptions {
        prefix,
        delimiter: !a.recursive,
        page_size: Some(1000),
        page_token: None,
    };
    // Bounded: every page advances the token strictly; stop when there is none.
    let mut skipped = 0u64;
    loop {
        let page = bucket.list_page(&opts).await?;
        skipped += page.skipped;
        for p in &page.common_prefixes {
            print_prefix(out, p)?;
        }
        for o in &page.objects {
            print_object(out, o)?;
        }
        match page.next_token {
            Some(t) if Some(&t) != opts.page_token.as_ref() => opts.page_token = Some(t),
            _ => break,
        }
    }
    print_skipped(out, skipped)
}

/// Say how many stored names a listing skipped because they are outside the portable key
/// space (each was also logged as a warning): on stderr as text, or as a
/// `{"type": "skipped", "count": N}` line with `--json`.
fn print_skipped(out: &Out, skipped: u64) -> Result<()> {
    if skipped == 0 {
        return Ok(());
    }
    if out.json {
        out.json_line(&serde_json::json!({"type": "skipped", "count": skipped}))
    } else {
        eprintln!("gureum: skipped {skipped} names outside the portable key space");
        Ok(())
    }
}

/// `gureum cat URL#KEY`.
pub async fn cat(a: CatArgs, _out: &Out) -> Result<()> {
    let u = ObjectUrl::parse(&a.url)?;
    let key = u.require_key()?.to_string();
    let bucket = u.open().await?;
    let mut r = bucket.reader(&key).await.map_err(|e| ctx(e, &u))?;
    copy_to_stdout(&mut r).await
}

/// `gureum stat URL#KEY`.
pub async fn stat(a: CatArgs, out: &Out) -> Result<()> {
    let u = ObjectUrl::parse(&a.url)?;
    let key = u.require_key()?.to_string();
    let bucket = u.open().await?;
    let info = bucket.head(&key).await.map_err(|e| ctx(e, &u))?;
    if out.json {
        return out.json_line(&object_json(&info));
    }
    out.line(format!("key:           {}", info.key))?;
    out.line(format!("size:          {}", info.size))?;
    out.line(format!(
        "last modified: {}",
        info.last_modified.format("%Y-%m-%dT%H:%M:%SZ")
    ))?;
    if let Some(e) = &info.etag {
        out.line(format!("etag:          {e}"))?;
    }
    if let Some(v) = &info.version {
        out.line(format!("version:       {v}"))?;
    }
    if let Some(c) = &info.content_type {
        out.line(format!("content type:  {c}"))?;
    }
    for (k, v) in &info.metadata {
        out.line(format!("meta {k}: {v}"))?;
    }
    Ok(())
}

/// `gureum rm URL#KEY` or `gureum rm -r URL#PREFIX`.
pub async fn rm(a: RmArgs, out: &Out) -> Result<()> {
    let u = ObjectUrl::parse(&a.url)?;
    let bucket = u.open().await?;
    if !a.recursive {
        let key = u.require_key()?.to_string();
        bucket.delete(&key).await.map_err(|e| ctx(e, &u))?;
        if out.json {
            out.json_line(&serde_json::json!({"deleted": [key]}))?;
        }
        return Ok(());
    }
    if u.key.is_empty() {
        return Err(Error::invalid(
            "refusing to delete a whole bucket: give a non-empty #PREFIX",
        ));
    }
    let mut stream = bucket.list_stream(Some(&u.key));
    let mut batch: Vec<String> = Vec::new();
    let mut deleted = 0u64;
    loop {
        let next = stream.try_next().await?;
        if let Some(o) = &next {
            batch.push(o.key.clone());
        }
        if batch.len() >= 1000 || (next.is_none() && !batch.is_empty()) {
            for (k, r) in batch.iter().zip(bucket.delete_many(&batch).await?) {
                r.map_err(|e| e.context_message(format!("deleting {k:?}")))?;
                if out.json {
                    out.json_line(&serde_json::json!({"deleted": k}))?;
                }
                deleted += 1;
            }
            batch.clear();
        }
        if next.is_none() {
            break;
        }
    }
    if !out.json {
        out.line(format!("deleted {deleted} object(s)"))?;
    }
    Ok(())
}

/// `gureum cp SRC DST`, streaming with bounded memory.
pub async fn cp(a: CpArgs, out: &Out) -> Result<()> {
    let src = Location::parse(&a.src)?;
    let dst = Location::parse(&a.dst)?;
    let mut opts = PutOptions::default();
    if let Some(ct) = &a.content_type {
        opts = opts.content_type(ct.clone());
    }
    for (k, v) in &a.meta {
        opts = opts.metadata(k.clone(), v.clone());
    }
    let src_name = source_name(&src);

    // Same bucket: server-side copy.
    if let (Location::Object(s), Location::Object(d)) = (&src, &dst) {
        if s.bucket == d.bucket && a.content_type.is_none() && a.meta.is_empty() {
            let from = s.require_key()?.to_string();
            let to = dest_key(d, src_name.as_deref())?;
            let bucket = s.open().await?;
            if bucket.capabilities().copy {
                bucket.copy(&from, &to).await.map_err(|e| ctx(e, s))?;
                return report(out, &d.bucket, &to, None);
            }
        }
    }

    let mut reader: Box<dyn AsyncRead + Send + Unpin> = match &src {
        Location::Stdio => Box::new(tokio::io::stdin()),
        Location::File(p) => Box::new(
            tokio::fs::File::open(p)
                .await
                .map_err(|e| Error::from(e).context_message(format!("opening {}", p.display())))?,
        ),
        Location::Object(o) => {
            let key = o.require_key()?.to_string();
            let b = o.open().await?;
            Box::new(b.reader(&key).await.map_err(|e| ctx(e, o))?)
        }
    };

    match &dst {
        Location::Stdio => copy_to_stdout(&mut reader).await,
        Location::File(p) => {
            let path = dest_path(p, src_name.as_deref())?;
            let n = copy_to_file(&mut reader, &path).await?;
            report(out, &path.display().to_string(), "", Some(n))
        }
        Location::Object(d) => {
            let key = dest_key(d, src_name.as_deref())?;
            let bucket = d.open().await?;
            let n = upload(&bucket, &key, &mut reader, &opts)
                .await
                .map_err(|e| ctx(e, d))?;
            report(out, &d.display_bucket(), &key, Some(n))
        }
    }
}

trait DisplayBucket {
    fn display_bucket(&self) -> String;
}
impl DisplayBucket for ObjectUrl {
    fn display_bucket(&self) -> String {
        crate::location::redact(&self.bucket)
    }
}

fn report(out: &Out, dest: &str, key: &str, bytes: Option<u64>) -> Result<()> {
    if out.json {
        out.json_line(
            &serde_json::json!({"copied": true, "destination": dest, "key": key, "bytes": bytes}),
        )
    } else {
        Ok(())
    }
}

/// Upload from a reader: one `put` for small bodies, the multipart writer otherwise.
/// Holds at most `SINGLE_PUT_LIMIT + 1` bytes, or the writer's bounded buffers.
pub async fn upload(
    bucket: &Bucket,
    key: &str,
    reader: &mut (dyn AsyncRead + Send + Unpin),
    opts: &PutOptions,
) -> Result<u64> {
    let mut first = Vec::new();
    (&mut *reader)
        .take(SINGLE_PUT_LIMIT as u64 + 1)
        .read_to_end(&mut first)
        .await?;
    if first.len() <= SINGLE_PUT_LIMIT {
        let n = first.len() as u64;
        bucket.put_with(key, first, opts).await?;
        return Ok(n);
    }
    let mut w = bucket.writer(key, opts).await?;
    let r: Result<()> = async {
        w.write(&first).await?;
        drop(std::mem::take(&mut first));
        let mut buf = vec![0u8; BUF];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n]).await?;
        }
        Ok(())
    }
    .await;
    match r {
        Ok(()) => {
            let n = w.bytes_written();
            w.finish().await?;
            Ok(n)
        }
        Err(e) => {
            if let Err(a) = w.abort().await {
                tracing::warn!(error = %a, "aborting the upload failed");
            }
            Err(e)
        }
    }
}

async fn copy_to_stdout(r: &mut (dyn AsyncRead + Send + Unpin)) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        write_stdout(&buf[..n])?;
    }
}

async fn copy_to_file(r: &mut (dyn AsyncRead + Send + Unpin), path: &Path) -> Result<u64> {
    // Write next to the target, then rename: a failed copy never leaves a partial file.
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.gureum-partial"));
    let res: Result<u64> = async {
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| Error::from(e).context_message(format!("creating {}", tmp.display())))?;
        let n = tokio::io::copy(r, &mut f).await?;
        f.flush().await?;
        f.sync_all().await?;
        Ok(n)
    }
    .await;
    match res {
        Ok(n) => {
            tokio::fs::rename(&tmp, path).await.map_err(|e| {
                Error::from(e).context_message(format!("renaming to {}", path.display()))
            })?;
            Ok(n)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(e)
        }
    }
}

/// The file name a source contributes when the destination is a "directory".
fn source_name(src: &Location) -> Option<String> {
    match src {
        Location::Stdio => None,
        Location::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
        Location::Object(o) => o
            .key
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

fn dest_key(d: &ObjectUrl, src_name: Option<&str>) -> Result<String> {
    if d.key.is_empty() || d.key.ends_with('/') {
        match src_name {
            Some(n) => Ok(format!("{}{n}", d.key)),
            None => Err(Error::invalid(format!(
                "destination {} needs a #KEY (the source has no file name)",
                d.display()
            ))),
        }
    } else {
        Ok(d.key.clone())
    }
}

fn dest_path(p: &Path, src_name: Option<&str>) -> Result<PathBuf> {
    let is_dir = p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/');
    if is_dir {
        match src_name {
            Some(n) => Ok(p.join(n)),
            None => Err(Error::invalid(format!(
                "destination {} is a directory and the source has no file name",
                p.display()
            ))),
        }
    } else {
        Ok(p.to_path_buf())
    }
}

fn ctx(e: Error, u: &ObjectUrl) -> Error {
    e.context_message(u.display())
}
