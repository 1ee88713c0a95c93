//! Storage cases, run against a [`Bucket`].
//!
//! Every key a case writes is under `<prefix>/<run-id>/<case>/`. Each case deletes what it wrote; the final case `storage.cleanup` sweeps the run prefix
//! and fails if anything is left.

#[path = "storage_keys.rs"]
mod keys;
use crate::harness::{
    caps_map, case, ensure, ensure_eq, expect_kind, expect_kinds, fail, flag, run_cases, run_one,
    skip, CaseDef, Context, Outcome, Scope,
};
use crate::report::{Report, Section};
use crate::Options;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use gureum_core::{
    Bucket, ByteRange, ErrorKind, ListOptions, PresignMethod, PutOptions, WriteMode,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// State shared by the storage cases of one run.
pub(crate) struct Ctx {
    bucket: Bucket,
    opts: Options,
    root: String,
    http: reqwest::Client,
}

impl Scope<Ctx> {
    /// The directory of this case: `<prefix>/<run-id>/<case>/`.
    fn dir(&self) -> String {
        format!("{}{}/", self.root, self.short())
    }
    /// A key inside this case's directory.
    fn key(&self, rel: &str) -> String {
        format!("{}{}", self.dir(), rel)
    }
    fn b(&self) -> &Bucket {
        &self.bucket
    }
    /// Write `data` under `rel`, returning the full key.
    async fn put(
        &self,
        rel: &str,
        data: impl Into<Bytes>,
    ) -> Result<String, crate::harness::CaseError> {
        let k = self.key(rel);
        self.b().put(&k, data).await.ctx(&format!("put {k:?}"))?;
        Ok(k)
    }
    /// Delete everything under this case's directory (best effort).
    async fn cleanup(&self) {
        sweep(self.b(), &self.dir()).await.ok();
    }
    /// Round trip `key` with `data`: put, get, head size, listed under the case dir, delete.
    async fn round_trip_key(&self, key: &str, data: &[u8]) -> Outcome {
        let data = Bytes::copy_from_slice(data);
        self.b()
            .put(key, data.clone())
            .await
            .ctx(&format!("put {key:?}"))?;
        let got = self.b().get(key).await.ctx(&format!("get {key:?}"))?;
        ensure!(
            got == data,
            "get {key:?} returned {} bytes that differ from the {} written",
            got.len(),
            data.len()
        );
        let h = self.b().head(key).await.ctx(&format!("head {key:?}"))?;
        ensure_eq!(h.size, data.len() as u64, "head {key:?} size");
        ensure!(
            self.b().exists(key).await.ctx("exists")?,
            "exists({key:?}) is false after put"
        );
        // The key must list back exactly under the longest directory-like prefix of it.
        let list_prefix = match key.rfind('/') {
            Some(i) => &key[..=i],
            None => "",
        };
        let keys: Vec<String> = self
            .b()
            .list_all(Some(list_prefix))
            .await
            .ctx(&format!("list {list_prefix:?}"))?
            .into_iter()
            .map(|o| o.key)
            .collect();
        ensure!(
            keys.iter().any(|k| k == key),
            "key {key:?} not listed back under {list_prefix:?}; listed {:?}",
            crate::harness::short_debug(&keys)
        );
        self.b().delete(key).await.ctx(&format!("delete {key:?}"))?;
        ensure!(
            !self.b().exists(key).await.ctx("exists")?,
            "key {key:?} still exists after delete"
        );
        Ok(())
    }
}

/// `key` (breaking `rule`) is refused with InvalidArgument by put, get, head and delete,
/// and nothing appears in the case directory.
async fn refused_key(s: &Scope<Ctx>, key: &str, rule: &str) -> Outcome {
    let put = s.b().put(key, "x").await;
    let get = s.b().get(key).await;
    let head = s.b().head(key).await;
    let del = s.b().delete(key).await;
    let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
    s.cleanup().await;
    expect_kind(
        put,
        ErrorKind::InvalidArgument,
        &format!("put of {key:?} ({rule})"),
    )?;
    expect_kind(
        get,
        ErrorKind::InvalidArgument,
        &format!("get of {key:?} ({rule})"),
    )?;
    expect_kind(
        head,
        ErrorKind::InvalidArgument,
        &format!("head of {key:?} ({rule})"),
    )?;
    expect_kind(
        del,
        ErrorKind::InvalidArgument,
        &format!("delete of {key:?} ({rule})"),
    )?;
    ensure!(listed.is_empty(), "a refused key left objects: {listed:?}");
    Ok(())
}

/// Deterministic test bytes.
pub(crate) fn pattern(len: usize, seed: u8) -> Bytes {
    let mut v = Vec::with_capacity(len);
    let mut x: u32 = 0x9E37_79B9 ^ seed as u32;
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x >> 24) as u8);
    }
    Bytes::from(v)
}

async fn sweep(b: &Bucket, prefix: &str) -> gureum_core::Result<usize> {
    let keys: Vec<String> = b
        .list_stream(Some(prefix))
        .map_ok(|o| o.key)
        .try_collect()
        .await?;
    let n = keys.len();
    for chunk in keys.chunks(500) {
        for r in b.delete_many(chunk).await? {
            r?;
        }
    }
    Ok(n)
}

fn keys_of(v: &[gureum_core::ObjectInfo]) -> Vec<String> {
    v.iter().map(|o| o.key.clone()).collect()
}

/// Run the storage cases against `bucket`.
pub async fn run(bucket: &Bucket, opts: &Options) -> Report {
    let started = Instant::now();
    let mut report = Report::new(opts.run_id.clone());
    let caps = bucket.capabilities().clone();
    let map = caps_map(&caps);
    let ctx = Arc::new(Ctx {
        bucket: bucket.clone(),
        opts: opts.clone(),
        root: format!("{}/{}/", opts.prefix.trim_end_matches('/'), opts.run_id),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default(),
    });
    let timeout = opts.scaled(opts.case_timeout);
    let adv = |f: &str| flag(&map, f);
    let after = |c: Arc<Ctx>, name: &'static str| -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let short = name.split_once('.').map(|x| x.1).unwrap_or(name);
            let dir = format!("{}{short}/", c.root);
            sweep(&c.bucket, &dir).await.ok();
            sweep(&c.bucket, &format!("/{dir}")).await.ok();
        })
    };
    let mut results = run_cases(ctx.clone(), &cases(), adv, opts, timeout, after).await;
    results.push(run_one(ctx.clone(), &cleanup_case(), &adv, timeout).await);
    let backend = opts.backend.clone().unwrap_or_else(|| {
        let i = bucket.info();
        let mut s = if i.scheme.is_empty() {
            "storage".to_string()
        } else {
            format!("{}://", i.scheme)
        };
        if !i.provider.is_empty() {
            s.push_str(&format!(" ({})", i.provider));
        }
        s
    });
    report.sections.push(Section {
        area: "storage".into(),
        backend,
        capabilities: map.clone(),
        cases: results,
        notes: vec![format!(
            "bucket {:?}, run prefix {}",
            bucket.name(),
            ctx.root
        )],
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
}

/// Names of the storage cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = cases().iter().map(|c| c.name).collect();
    v.push(cleanup_case().name);
    v
}

fn cleanup_case() -> CaseDef<Ctx> {
    case!("storage.cleanup", [], |s| {
        let root = s.root.clone();
        sweep(s.b(), &root).await.ctx("sweep run prefix")?;
        let left = keys_of(&s.b().list_all(Some(&root)).await.ctx("list run prefix")?);
        ensure!(
            left.is_empty(),
            "{} objects left under {root} after deleting them: {:?}",
            left.len(),
            crate::harness::short_debug(&left)
        );
        Ok(())
    })
}

fn odd_key_case(s: &Scope<Ctx>, rel: &str) -> String {
    s.key(rel)
}

#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();

    // ---- round trips -----------------------------------------------------------------
    v.push(case!("storage.put_get_small", [], |s| {
        let k = s.key("small.txt");
        s.round_trip_key(&k, b"hello, gureum").await
    }));
    v.push(case!("storage.empty_object", [], |s| {
        let k = s.key("empty");
        s.round_trip_key(&k, b"").await
    }));
    v.push(case!("storage.one_byte_object", [], |s| {
        let k = s.key("one");
        s.round_trip_key(&k, b"x").await
    }));
    v.push(case!("storage.all_byte_values", [], |s| {
        let data: Vec<u8> = (0..=255u8).collect();
        let k = s.key("bytes.bin");
        s.round_trip_key(&k, &data).await
    }));
    v.push(case!("storage.five_mib_plus_one", [], |s| {
        let data = pattern(5 * 1024 * 1024 + 1, 5);
        let k = s.key("big.bin");
        s.round_trip_key(&k, &data).await
    }));
    v.push(case!(
        "storage.multipart_writer_round_trip",
        ["multipart"],
        |s| {
            // Two full 8 MiB parts and a tail: a real multipart upload everywhere.
            let total = 2 * gureum_core::storage::DEFAULT_PART_SIZE + 12_345;
            let data = pattern(total, 7);
            let k = s.key("multi.bin");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            for chunk in data.chunks(1024 * 1024 + 17) {
                w.write(chunk).await.ctx("writer.write")?;
            }
            ensure_eq!(w.bytes_written(), total as u64, "bytes_written");
            w.finish().await.ctx("writer.finish")?;
            let got = s.b().get(&k).await.ctx("get")?;
            ensure_eq!(got.len(), total, "size after multipart upload");
            ensure!(got == data, "multipart object content differs");
            let h = s.b().head(&k).await.ctx("head")?;
            ensure_eq!(h.size, total as u64, "head size");
            s.cleanup().await;
            Ok(())
        }
    ));
    v.push(case!(
        "storage.multipart_writer_small",
        ["multipart"],
        |s| {
            let k = s.key("tiny.bin");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            w.write(b"abc").await.ctx("write")?;
            w.write(b"def").await.ctx("write")?;
            w.finish().await.ctx("finish")?;
            ensure_eq!(
                s.b().get(&k).await.ctx("get")?,
                Bytes::from_static(b"abcdef"),
                "content"
            );
            s.cleanup().await;
            Ok(())
        }
    ));
    v.push(case!(
        "storage.multipart_writer_empty",
        ["multipart"],
        |s| {
            let k = s.key("nothing.bin");
            let w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            w.finish().await.ctx("finish")?;
            ensure_eq!(
                s.b().get(&k).await.ctx("get")?.len(),
                0,
                "size of an empty multipart object"
            );
            s.cleanup().await;
            Ok(())
        }
    ));
    v.push(case!(
        "storage.multipart_abort_leaves_nothing",
        ["multipart"],
        |s| {
            let k = s.key("aborted.bin");
            let mut w = s
                .b()
                .writer(&k, &PutOptions::default())
                .await
                .ctx("writer")?;
            w.write(&pattern(1024, 1)).await.ctx("write")?;
            w.abort().await.ctx("abort")?;
            ensure!(
                !s.b().exists(&k).await.ctx("exists")?,
                "aborted upload left an object at {k:?}"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.multipart_writer_metadata",
        ["multipart", "user_metadata", "content_type"],
        |s| {
            let k = s.key("meta.bin");
            let o = PutOptions::default()
                .content_type("application/x-gureum")
                .metadata("owner", "city");
            let mut w = s.b().writer(&k, &o).await.ctx("writer")?;
            w.write(b"payload").await.ctx("write")?;
            w.finish().await.ctx("finish")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.content_type.as_deref(),
                Some("application/x-gureum"),
                "content type"
            );
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("city"),
                "metadata owner"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.writer_rejects_conditional_mode", [], |s| {
        let k = s.key("cond");
        let r = s
            .b()
            .writer(&k, &PutOptions::default().mode(WriteMode::CreateOnly))
            .await
            .map(|_| ());
        expect_kind(r, ErrorKind::Unsupported, "writer with CreateOnly")
    }));
    v.push(case!("storage.get_with_info", [], |s| {
        let k = s.put("info.txt", "0123456789").await?;
        let (info, data) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
        s.cleanup().await;
        ensure_eq!(info.key, k, "key");
        ensure_eq!(info.size, 10, "size");
        ensure_eq!(data, Bytes::from_static(b"0123456789"), "data");
        Ok(())
    }));
    v.push(case!("storage.streaming_reader", [], |s| {
        let data = pattern(3 * 1024 * 1024 + 3, 9);
        let k = s.put("stream.bin", data.clone()).await?;
        let mut r = s.b().reader(&k).await.ctx("reader")?;
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("read_to_end: {e}")))?;
        s.cleanup().await;
        ensure!(
            buf == data,
            "streamed {} bytes differ from the {} written",
            buf.len(),
            data.len()
        );
        Ok(())
    }));
    v.push(case!("storage.get_stream_chunks", [], |s| {
        let data = pattern(2 * 1024 * 1024 + 1, 11);
        let k = s.put("chunks.bin", data.clone()).await?;
        let chunks: Vec<Bytes> = s
            .b()
            .get_stream(&k)
            .await
            .ctx("get_stream")?
            .try_collect()
            .await
            .ctx("stream")?;
        s.cleanup().await;
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        ensure!(
            joined == data,
            "streamed chunks ({} bytes) differ from the object",
            joined.len()
        );
        Ok(())
    }));
    v.push(case!("storage.exists_true", [], |s| {
        let k = s.put("e", "1").await?;
        let e = s.b().exists(&k).await.ctx("exists")?;
        s.cleanup().await;
        ensure!(e, "exists is false for a written key");
        Ok(())
    }));
    v.push(case!("storage.exists_false", [], |s| {
        ensure!(
            !s.b().exists(&s.key("never-written")).await.ctx("exists")?,
            "exists is true for a key never written"
        );
        Ok(())
    }));
    v.push(case!("storage.exists_after_delete", [], |s| {
        let k = s.put("gone", "1").await?;
        s.b().delete(&k).await.ctx("delete")?;
        ensure!(
            !s.b().exists(&k).await.ctx("exists")?,
            "exists is true after delete"
        );
        Ok(())
    }));

    // ---- keys ------------------------------------------------------------------------
    v.push(case!("storage.key_hangul", [], |s| {
        let k = odd_key_case(&s, "민원/서울시/접수-2026.json");
        s.round_trip_key(&k, "한글 본문".as_bytes()).await
    }));
    v.push(case!("storage.key_spaces", [], |s| {
        let k = s.key("a key with  spaces .txt");
        s.round_trip_key(&k, b"spaces").await
    }));
    v.push(case!("storage.key_plus", [], |s| {
        let k = s.key("a+b+c");
        s.round_trip_key(&k, b"plus").await?;
        // "+" must not be read as a space.
        let k2 = s.put("x+y", "plus").await?;
        let sp = s.key("x y");
        let e = s.b().exists(&sp).await.ctx("exists")?;
        s.cleanup().await;
        ensure!(
            !e,
            "writing {k2:?} made {sp:?} exist: '+' is treated as a space"
        );
        Ok(())
    }));
    v.push(case!("storage.key_percent", [], |s| {
        let k = s.key("100%-done");
        s.round_trip_key(&k, b"percent").await
    }));
    v.push(case!("storage.key_percent_encoded_lookalike", [], |s| {
        // "a%20b" and "a b" are two different keys.
        let k1 = s.put("a%20b", "encoded").await?;
        let k2 = s.put("a b", "space").await?;
        let g1 = s.b().get(&k1).await.ctx("get a%20b")?;
        let g2 = s.b().get(&k2).await.ctx("get 'a b'")?;
        let listed = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        ensure_eq!(g1, Bytes::from_static(b"encoded"), "content of a%20b");
        ensure_eq!(g2, Bytes::from_static(b"space"), "content of 'a b'");
        ensure_eq!(listed.len(), 2, "objects listed for a%20b and 'a b'");
        Ok(())
    }));
    v.push(case!("storage.key_question_mark", [], |s| {
        let k = s.key("what?x=1&y=2");
        s.round_trip_key(&k, b"query").await
    }));
    v.push(case!("storage.key_hash", [], |s| {
        let k = s.key("issue#42");
        s.round_trip_key(&k, b"hash").await
    }));
    // Keys that cannot be stored verbatim everywhere are refused (docs/architecture.md,
    // "The portable key space"); nothing is written for them.
    v.push(case!("storage.key_double_slash", [], |s| {
        refused_key(&s, &s.key("a//b"), "an empty segment").await
    }));
    v.push(case!("storage.key_trailing_slash", [], |s| {
        refused_key(&s, &s.key("dir-marker/"), "a trailing '/'").await
    }));
    v.push(case!("storage.key_leading_slash", [], |s| {
        refused_key(&s, &format!("/{}", s.key("lead")), "a leading '/'").await
    }));
    v.push(case!("storage.key_dot_dot_segments", [], |s| {
        refused_key(&s, &s.key("a/../b"), "a '..' segment").await
    }));
    v.push(case!("storage.key_single_dot_segment", [], |s| {
        refused_key(&s, &s.key("a/./b"), "a '.' segment").await
    }));
    v.push(case!("storage.key_1024_bytes", [], |s| {
        let base = s.key("");
        let k = format!("{base}{}", "k".repeat(1024 - base.len()));
        ensure_eq!(k.len(), 1024, "test key length");
        s.round_trip_key(&k, b"long").await
    }));
    v.push(case!("storage.key_1025_bytes_rejected", [], |s| {
        let base = s.key("");
        let k = format!("{base}{}", "k".repeat(1025 - base.len()));
        let r = s.b().put(&k, "x").await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "put with a 1025-byte key")
    }));
    v.push(case!("storage.key_empty_rejected", [], |s| {
        expect_kind(
            s.b().put("", "x").await,
            ErrorKind::InvalidArgument,
            "put with an empty key",
        )?;
        expect_kind(
            s.b().get("").await,
            ErrorKind::InvalidArgument,
            "get with an empty key",
        )
    }));
    v.push(case!("storage.key_nul_rejected", [], |s| {
        let k = s.key("a\0b");
        expect_kind(
            s.b().put(&k, "x").await,
            ErrorKind::InvalidArgument,
            "put with a NUL in the key",
        )
    }));
    v.push(case!("storage.key_emoji", [], |s| {
        let k = s.key("🌧️/비-☔.txt");
        s.round_trip_key(&k, b"rain").await
    }));
    v.push(case!("storage.key_combining_characters", [], |s| {
        // NFC and NFD spellings are different keys; neither may be normalised away.
        let nfc = s.key("caf\u{e9}");
        let nfd = s.key("cafe\u{301}");
        s.b().put(&nfc, "nfc").await.ctx("put nfc")?;
        s.b().put(&nfd, "nfd").await.ctx("put nfd")?;
        let a = s.b().get(&nfc).await.ctx("get nfc")?;
        let b = s.b().get(&nfd).await.ctx("get nfd")?;
        let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(a, Bytes::from_static(b"nfc"), "NFC key content");
        ensure_eq!(b, Bytes::from_static(b"nfd"), "NFD key content");
        ensure!(
            listed.contains(&nfc) && listed.contains(&nfd),
            "listing lost a spelling: {listed:?}"
        );
        Ok(())
    }));
    v.push(case!("storage.key_tab_and_newline", [], |s| {
        refused_key(&s, &s.key("tab\there\nnewline"), "control characters").await
    }));
    v.push(case!("storage.key_backslash", [], |s| {
        let k = s.key("win\\path\\file.txt");
        s.round_trip_key(&k, b"bs").await
    }));
    v.push(case!("storage.key_glob_characters", [], |s| {
        let k = s.key("a*b[c]{d}");
        s.round_trip_key(&k, b"glob").await
    }));
    v.push(case!("storage.key_quotes_and_markup", [], |s| {
        let k = s.key("it's \"quoted\" & <b>bold</b>");
        s.round_trip_key(&k, b"xml").await
    }));
    v.push(case!("storage.key_tilde_caret_backtick", [], |s| {
        let k = s.key("~home^up`tick|pipe");
        s.round_trip_key(&k, b"misc").await
    }));
    v.push(case!("storage.key_colon_semicolon_comma", [], |s| {
        let k = s.key("2026-11-25T10:00:00;v=1,2.json");
        s.round_trip_key(&k, b"time").await
    }));
    v.push(case!("storage.key_trailing_dot_and_space", [], |s| {
        let k = s.key("name. /end ");
        s.round_trip_key(&k, b"dots").await
    }));
    v.push(case!("storage.key_deep_nesting", [], |s| {
        let k = s.key(
            &(0..40)
                .map(|i| format!("d{i}"))
                .collect::<Vec<_>>()
                .join("/"),
        );
        s.round_trip_key(&k, b"deep").await
    }));
    v.push(case!("storage.odd_keys_list_back_exactly", [], |s| {
        let rels = [
            "민원.json",
            "a b",
            "a+b",
            "a%b",
            "a?b",
            "a#b",
            "~x",
            "a%20b",
            "...",
            ".hidden",
            "e\u{301}",
        ];
        let mut want = BTreeSet::new();
        for r in rels {
            want.insert(s.put(r, r.to_string()).await?);
        }
        let got: BTreeSet<String> = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?)
            .into_iter()
            .collect();
        for k in &want {
            let data = s.b().get(k).await.ctx(&format!("get {k:?}"))?;
            ensure!(
                k.ends_with(std::str::from_utf8(&data).unwrap_or("")),
                "content of {k:?} belongs to another key"
            );
        }
        s.cleanup().await;
        ensure_eq!(got, want, "listed keys");
        Ok(())
    }));

    // ---- listing ---------------------------------------------------------------------
    v.push(case!("storage.list_prefix_directory", [], |s| {
        for r in ["x/1", "x/2", "x/sub/3", "y/1", "x1"] {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("x/"))).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(
            got,
            vec![s.key("x/1"), s.key("x/2"), s.key("x/sub/3")],
            "list of x/"
        );
        Ok(())
    }));
    v.push(case!("storage.list_prefix_partial_segment", [], |s| {
        for r in ["2026/11/a", "2026/12/b", "2026/1/c", "2026/2/d", "2027/1/e"] {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.key("2026/1"))).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(
            got,
            vec![s.key("2026/1/c"), s.key("2026/11/a"), s.key("2026/12/b")],
            "list of 2026/1 (character prefix)"
        );
        Ok(())
    }));
    v.push(case!("storage.list_prefix_no_match", [], |s| {
        s.put("present", "v").await?;
        let got = s.b().list_all(Some(&s.key("absent"))).await.ctx("list")?;
        s.cleanup().await;
        ensure!(
            got.is_empty(),
            "list of a prefix with no objects returned {}",
            got.len()
        );
        Ok(())
    }));
    v.push(case!("storage.list_delimiter", [], |s| {
        for r in ["top1", "top2", "d1/a", "d1/b", "d2/x/y"] {
            s.put(r, "v").await?;
        }
        let page = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.dir()),
                delimiter: true,
                ..Default::default()
            })
            .await
            .ctx("list_page")?;
        s.cleanup().await;
        ensure_eq!(
            keys_of(&page.objects),
            vec![s.key("top1"), s.key("top2")],
            "objects"
        );
        ensure_eq!(
            page.common_prefixes,
            vec![s.key("d1/"), s.key("d2/")],
            "common prefixes"
        );
        ensure!(page.next_token.is_none(), "unexpected next token");
        Ok(())
    }));
    v.push(case!("storage.list_delimiter_partial_prefix", [], |s| {
        for r in ["logs-a/1", "logs-b/2", "logs.txt", "other/3"] {
            s.put(r, "v").await?;
        }
        let page = s
            .b()
            .list_page(&ListOptions {
                prefix: Some(s.key("logs")),
                delimiter: true,
                ..Default::default()
            })
            .await
            .ctx("list_page")?;
        s.cleanup().await;
        ensure_eq!(keys_of(&page.objects), vec![s.key("logs.txt")], "objects");
        ensure_eq!(
            page.common_prefixes,
            vec![s.key("logs-a/"), s.key("logs-b/")],
            "common prefixes"
        );
        Ok(())
    }));
    v.push(case!(
        "storage.list_delimiter_object_and_prefix_same_name",
        [],
        |s| {
            s.put("a", "file").await?;
            s.put("a/b", "inside").await?;
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    delimiter: true,
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            s.cleanup().await;
            ensure_eq!(keys_of(&page.objects), vec![s.key("a")], "objects");
            ensure_eq!(page.common_prefixes, vec![s.key("a/")], "common prefixes");
            Ok(())
        }
    ));
    v.push(case!("storage.list_pagination_past_1000", [], |s| {
        let n = s.opts.list_keys.max(1001);
        let keys: Vec<String> = (0..n).map(|i| s.key(&format!("k{i:05}"))).collect();
        let b = s.b().clone();
        let results: Vec<gureum_core::Result<gureum_core::WriteResult>> =
            futures::stream::iter(keys.clone())
                .map(|k| {
                    let b = b.clone();
                    async move { b.put(&k, Bytes::from_static(b"p")).await }
                })
                .buffer_unordered(s.opts.concurrency.max(1))
                .collect()
                .await;
        for r in results {
            r.ctx("put")?;
        }
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            pages += 1;
            ensure!(pages <= n + 2, "pagination does not terminate");
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() <= 1000,
                "a default page has {} objects (> 1000)",
                page.objects.len()
            );
            seen.extend(keys_of(&page.objects));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let all = s.b().list_all(Some(&s.dir())).await.ctx("list_all")?;
        s.cleanup().await;
        ensure!(
            pages >= 2,
            "{n} keys came back in {pages} page(s); expected at least 2"
        );
        ensure_eq!(seen.len(), n, "objects seen over all pages");
        ensure!(
            seen == keys,
            "pages are not in ascending key order or contain duplicates"
        );
        ensure_eq!(all.len(), n, "list_all count");
        Ok(())
    }));
    v.push(case!("storage.list_small_pages", [], |s| {
        let mut keys = Vec::new();
        for i in 0..23 {
            keys.push(s.put(&format!("p{i:02}"), "v").await?);
        }
        let mut seen = Vec::new();
        let mut token = None;
        for _ in 0..10 {
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    page_size: Some(5),
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() <= 5,
                "page of size 5 returned {}",
                page.objects.len()
            );
            seen.extend(keys_of(&page.objects));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        s.cleanup().await;
        ensure_eq!(seen, keys, "keys over pages of 5");
        Ok(())
    }));
    v.push(case!(
        "storage.list_page_token_round_trip_odd_keys",
        [],
        |s| {
            let mut keys = Vec::new();
            for r in ["가", "나 다", "a+b", "a%b", "a b", "z/.../y"] {
                keys.push(s.put(r, "v").await?);
            }
            let mut seen = BTreeSet::new();
            let mut token = None;
            for _ in 0..10 {
                let page = s
                    .b()
                    .list_page(&ListOptions {
                        prefix: Some(s.dir()),
                        page_size: Some(2),
                        page_token: token.clone(),
                        ..Default::default()
                    })
                    .await
                    .ctx("list_page")?;
                for k in keys_of(&page.objects) {
                    ensure!(
                        seen.insert(k.clone()),
                        "key {k:?} returned twice across pages"
                    );
                }
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
            s.cleanup().await;
            ensure_eq!(
                seen,
                keys.into_iter().collect::<BTreeSet<_>>(),
                "keys over pages of 2"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.list_all_sorted", [], |s| {
        let rels = ["m", "a", "z", "b/c", "b", "0"];
        for r in rels {
            s.put(r, "v").await?;
        }
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        let want: Vec<String> = ["0", "a", "b", "b/c", "m", "z"]
            .iter()
            .map(|r| s.key(r))
            .collect();
        ensure_eq!(got, want, "list_all order");
        Ok(())
    }));
    v.push(case!(
        "storage.list_stream_native_order",
        ["sorted_listing"],
        |s| {
            for r in ["c", "a", "b", "d/e"] {
                s.put(r, "v").await?;
            }
            let got: Vec<String> = s
                .b()
                .list_stream(Some(&s.dir()))
                .map_ok(|o| o.key)
                .try_collect()
                .await
                .ctx("list_stream")?;
            s.cleanup().await;
            let want: Vec<String> = ["a", "b", "c", "d/e"].iter().map(|r| s.key(r)).collect();
            ensure_eq!(got, want, "raw listing order");
            Ok(())
        }
    ));
    v.push(case!("storage.list_reports_sizes", [], |s| {
        s.put("s0", "").await?;
        s.put("s5", "12345").await?;
        let l = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        let sizes: Vec<u64> = l.iter().map(|o| o.size).collect();
        ensure_eq!(sizes, vec![0, 5], "listed sizes");
        Ok(())
    }));
    v.push(case!("storage.list_excludes_deleted", [], |s| {
        let a = s.put("a", "v").await?;
        s.put("b", "v").await?;
        s.b().delete(&a).await.ctx("delete")?;
        let got = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(got, vec![s.key("b")], "listing after delete");
        Ok(())
    }));
    v.push(case!("storage.list_delimiter_pagination", [], |s| {
        for i in 0..6 {
            s.put(&format!("f{i}"), "v").await?;
            s.put(&format!("d{i}/x"), "v").await?;
        }
        let mut objs = Vec::new();
        let mut prefixes = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    delimiter: true,
                    page_size: Some(4),
                    page_token: token.clone(),
                })
                .await
                .ctx("list_page")?;
            ensure!(
                page.objects.len() + page.common_prefixes.len() <= 4,
                "page over size"
            );
            objs.extend(keys_of(&page.objects));
            prefixes.extend(page.common_prefixes);
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        s.cleanup().await;
        ensure_eq!(objs.len(), 6, "objects over delimiter pages");
        ensure_eq!(prefixes.len(), 6, "prefixes over delimiter pages");
        Ok(())
    }));

    // ---- ranges ----------------------------------------------------------------------
    v.push(case!("storage.range_bounded", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s.b().get_range(&k, 2..5).await.ctx("get_range 2..5")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"234"), "range 2..5");
        Ok(())
    }));
    v.push(case!("storage.range_from_offset", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::From(7))
            .await
            .ctx("get_range 7..")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"789"), "range 7..");
        Ok(())
    }));
    v.push(case!("storage.range_suffix", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::Suffix(4))
            .await
            .ctx("get_range suffix 4")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"6789"), "last 4 bytes");
        Ok(())
    }));
    v.push(case!("storage.range_suffix_longer_than_object", [], |s| {
        let k = s.put("r", "0123").await?;
        let g = s
            .b()
            .get_range(&k, ByteRange::Suffix(100))
            .await
            .ctx("get_range suffix 100")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"0123"),
            "suffix longer than the object"
        );
        Ok(())
    }));
    v.push(case!("storage.range_end_clamped", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let g = s.b().get_range(&k, 8..100).await.ctx("get_range 8..100")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"89"),
            "range past the end is clamped"
        );
        Ok(())
    }));
    v.push(case!("storage.range_single_byte", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let first = s.b().get_range(&k, 0..1).await.ctx("get_range 0..1")?;
        let last = s.b().get_range(&k, 9..10).await.ctx("get_range 9..10")?;
        s.cleanup().await;
        ensure_eq!(first, Bytes::from_static(b"0"), "first byte");
        ensure_eq!(last, Bytes::from_static(b"9"), "last byte");
        Ok(())
    }));
    v.push(case!("storage.range_start_out_of_range", [], |s| {
        let k = s.put("r", "0123456789").await?;
        let r = s.b().get_range(&k, 20..30).await;
        let r2 = s.b().get_range(&k, ByteRange::From(11)).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "range 20..30 of a 10-byte object",
        )?;
        expect_kind(
            r2,
            ErrorKind::InvalidArgument,
            "range 11.. of a 10-byte object",
        )
    }));
    v.push(case!("storage.range_inverted_rejected", [], |s| {
        let k = s.put("r", "0123456789").await?;
        #[allow(clippy::reversed_empty_ranges)]
        let r = s.b().get_range(&k, 5..2).await;
        let r0 = s.b().get_range(&k, 3..3).await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "inverted range 5..2")?;
        expect_kind(r0, ErrorKind::InvalidArgument, "empty range 3..3")
    }));
    v.push(case!("storage.range_of_missing_object", [], |s| {
        expect_kind(
            s.b().get_range(&s.key("missing"), 0..1).await,
            ErrorKind::NotFound,
            "range of a missing object",
        )
    }));
    v.push(case!("storage.range_large_object_middle", [], |s| {
        let data = pattern(6 * 1024 * 1024, 3);
        let k = s.put("big", data.clone()).await?;
        let start = 5 * 1024 * 1024 - 7;
        let g = s
            .b()
            .get_range(&k, start as u64..(start + 100_000) as u64)
            .await
            .ctx("get_range")?;
        s.cleanup().await;
        ensure!(
            g == data.slice(start..start + 100_000),
            "range content differs"
        );
        Ok(())
    }));

    // ---- head, metadata, content type -------------------------------------------------
    v.push(case!("storage.head_size_and_mtime", [], |s| {
        let before = chrono::Utc::now() - chrono::Duration::minutes(10);
        let k = s.put("h", "12345").await?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(h.size, 5, "size");
        ensure_eq!(h.key, k, "key");
        ensure!(
            h.last_modified > before,
            "last_modified {} is more than 10 minutes old",
            h.last_modified
        );
        ensure!(
            h.last_modified < chrono::Utc::now() + chrono::Duration::minutes(10),
            "last_modified is in the future"
        );
        Ok(())
    }));
    v.push(case!("storage.head_missing_not_found", [], |s| {
        expect_kind(
            s.b().head(&s.key("missing")).await,
            ErrorKind::NotFound,
            "head of a missing key",
        )
    }));
    v.push(case!(
        "storage.metadata_round_trip",
        ["user_metadata"],
        |s| {
            let k = s.key("m");
            let o = PutOptions::default()
                .metadata("owner", "seoul-city")
                .metadata("case-id", "c-1041");
            s.b().put_with(&k, "v", &o).await.ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("seoul-city"),
                "metadata owner"
            );
            ensure_eq!(
                h.metadata.get("case-id").map(String::as_str),
                Some("c-1041"),
                "metadata case-id"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.metadata_in_get_with_info",
        ["user_metadata"],
        |s| {
            let k = s.key("m");
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("k", "v1"))
                .await
                .ctx("put_with")?;
            let (i, _) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
            s.cleanup().await;
            ensure_eq!(
                i.metadata.get("k").map(String::as_str),
                Some("v1"),
                "metadata from get"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.metadata_uppercase_name_rejected", [], |s| {
        // Clouds fold the case of metadata names; gureum refuses upper case rather than
        // returning a name other than the one written.
        let k = s.key("m");
        let r = s
            .b()
            .put_with(&k, "v", &PutOptions::default().metadata("Dept", "Water"))
            .await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "metadata name with upper case",
        )
    }));
    v.push(case!(
        "storage.metadata_replaced_on_overwrite",
        ["user_metadata"],
        |s| {
            let k = s.key("m");
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("a", "1"))
                .await
                .ctx("put_with")?;
            s.b()
                .put_with(&k, "v", &PutOptions::default().metadata("b", "2"))
                .await
                .ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure!(
                !h.metadata.contains_key("a"),
                "old metadata survived an overwrite: {:?}",
                h.metadata
            );
            ensure_eq!(
                h.metadata.get("b").map(String::as_str),
                Some("2"),
                "new metadata"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.metadata_invalid_name_rejected", [], |s| {
        let k = s.key("m");
        let r = s
            .b()
            .put_with(&k, "v", &PutOptions::default().metadata("bad name!", "x"))
            .await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "metadata name with a space")
    }));
    v.push(case!(
        "storage.content_type_round_trip",
        ["content_type"],
        |s| {
            let k = s.key("doc.json");
            s.b()
                .put_with(
                    &k,
                    "{}",
                    &PutOptions::default().content_type("application/json"),
                )
                .await
                .ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.content_type.as_deref(),
                Some("application/json"),
                "content type"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.content_type_with_parameters",
        ["content_type"],
        |s| {
            let k = s.key("page.html");
            s.b()
                .put_with(
                    &k,
                    "<p>",
                    &PutOptions::default().content_type("text/html; charset=utf-8"),
                )
                .await
                .ctx("put_with")?;
            let (i, _) = s.b().get_with_info(&k).await.ctx("get_with_info")?;
            s.cleanup().await;
            ensure_eq!(
                i.content_type.as_deref(),
                Some("text/html; charset=utf-8"),
                "content type from get"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.etag_reported", [], |s| {
        let k = s.key("e");
        let w = s.b().put(&k, "v").await.ctx("put")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure!(
            w.etag.is_some() || h.etag.is_some(),
            "neither put nor head reported an etag"
        );
        if let (Some(a), Some(b)) = (&w.etag, &h.etag) {
            ensure_eq!(
                a.trim_matches('"'),
                b.trim_matches('"'),
                "etag from put vs head"
            );
        }
        Ok(())
    }));
    v.push(case!("storage.etag_changes_on_overwrite", [], |s| {
        let k = s.key("e");
        s.b().put(&k, "one").await.ctx("put")?;
        let a = s.b().head(&k).await.ctx("head")?.etag;
        s.b().put(&k, "two!").await.ctx("put")?;
        let b = s.b().head(&k).await.ctx("head")?.etag;
        s.cleanup().await;
        ensure!(a.is_some() && b.is_some(), "no etag reported");
        ensure!(a != b, "etag did not change when the content changed");
        Ok(())
    }));

    // ---- overwrite ----------------------------------------------------------------------
    v.push(case!("storage.overwrite_replaces", [], |s| {
        let k = s.put("o", "first").await?;
        s.b().put(&k, "second").await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"second"), "content after overwrite");
        Ok(())
    }));
    v.push(case!("storage.overwrite_with_smaller", [], |s| {
        let k = s.put("o", pattern(100_000, 1)).await?;
        s.b().put(&k, "x").await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        let h = s.b().head(&k).await.ctx("head")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"x"), "content");
        ensure_eq!(h.size, 1, "size after overwrite with 1 byte");
        Ok(())
    }));
    v.push(case!("storage.overwrite_with_empty", [], |s| {
        let k = s.put("o", "not empty").await?;
        s.b().put(&k, Bytes::new()).await.ctx("overwrite")?;
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g.len(), 0, "size after overwrite with nothing");
        Ok(())
    }));

    // ---- conditional writes -------------------------------------------------------------
    v.push(case!(
        "storage.create_only_new_key",
        ["conditional_create"],
        |s| {
            let k = s.key("c");
            s.b()
                .put_with(&k, "v", &PutOptions::default().mode(WriteMode::CreateOnly))
                .await
                .ctx("create-only put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v"), "content");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.create_only_existing_already_exists",
        ["conditional_create"],
        |s| {
            let k = s.put("c", "original").await?;
            let r = s
                .b()
                .put_with(
                    &k,
                    "new",
                    &PutOptions::default().mode(WriteMode::CreateOnly),
                )
                .await;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::AlreadyExists,
                "create-only put over an existing object",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"original"),
                "content after a refused create-only put"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_current_etag",
        ["conditional_update"],
        |s| {
            let k = s.key("u");
            let w = s.b().put(&k, "v1").await.ctx("put")?;
            let etag =
                match w.etag {
                    Some(e) => e,
                    None => s.b().head(&k).await.ctx("head")?.etag.ok_or_else(|| {
                        crate::harness::CaseError::Fail("no etag reported".into())
                    })?,
                };
            s.b()
                .put_with(
                    &k,
                    "v2",
                    &PutOptions::default().mode(WriteMode::IfMatch(etag)),
                )
                .await
                .ctx("if-match put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v2"), "content after if-match");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_stale_etag_precondition_failed",
        ["conditional_update"],
        |s| {
            let k = s.key("u");
            let w = s.b().put(&k, "v1").await.ctx("put")?;
            let old = w.etag.or(s.b().head(&k).await.ctx("head")?.etag);
            s.b().put(&k, "v2-other-writer").await.ctx("put")?;
            let Some(old) = old else {
                s.cleanup().await;
                return fail("no etag reported");
            };
            let r = s
                .b()
                .put_with(
                    &k,
                    "v3",
                    &PutOptions::default().mode(WriteMode::IfMatch(old)),
                )
                .await;
            let g = s.b().get(&k).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::PreconditionFailed,
                "if-match with a stale etag",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"v2-other-writer"),
                "content after a refused if-match"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.if_match_missing_object",
        ["conditional_update"],
        |s| {
            let k = s.key("never");
            let r = s
                .b()
                .put_with(
                    &k,
                    "v",
                    &PutOptions::default().mode(WriteMode::IfMatch("\"abc\"".into())),
                )
                .await;
            let e = s.b().exists(&k).await.ctx("exists")?;
            s.cleanup().await;
            expect_kinds(
                r,
                &[ErrorKind::PreconditionFailed, ErrorKind::NotFound],
                "if-match on a missing object",
            )?;
            ensure!(!e, "if-match on a missing key created it");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.concurrent_create_only_one_wins",
        ["conditional_create"],
        |s| {
            let k = s.key("race");
            let mut tasks = Vec::new();
            for i in 0..8u8 {
                let (b, k) = (s.b().clone(), k.clone());
                tasks.push(tokio::spawn(async move {
                    b.put_with(
                        &k,
                        vec![i; 16],
                        &PutOptions::default().mode(WriteMode::CreateOnly),
                    )
                    .await
                }));
            }
            let mut ok = 0;
            for t in tasks {
                match t.await {
                    Ok(Ok(_)) => ok += 1,
                    Ok(Err(e))
                        if e.kind() == ErrorKind::AlreadyExists
                            || e.kind() == ErrorKind::PreconditionFailed => {}
                    Ok(Err(e)) => {
                        s.cleanup().await;
                        return fail(format!(
                            "create-only racer failed with {} error: {e}",
                            e.kind()
                        ));
                    }
                    Err(e) => return fail(format!("task: {e}")),
                }
            }
            s.cleanup().await;
            ensure_eq!(ok, 1, "create-only racers that succeeded");
            Ok(())
        }
    ));

    // ---- copy and rename -------------------------------------------------------------------
    v.push(case!("storage.copy_round_trip", ["copy"], |s| {
        let a = s.put("src", "copied").await?;
        let b = s.key("dst");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let (ga, gb) = (
            s.b().get(&a).await.ctx("get src")?,
            s.b().get(&b).await.ctx("get dst")?,
        );
        s.cleanup().await;
        ensure_eq!(gb, Bytes::from_static(b"copied"), "destination");
        ensure_eq!(ga, Bytes::from_static(b"copied"), "source after copy");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_overwrites_destination",
        ["copy"],
        |s| {
            let a = s.put("src", "new").await?;
            let b = s.put("dst", "old").await?;
            s.b().copy(&a, &b).await.ctx("copy")?;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"new"), "destination after copy");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.copy_missing_source_not_found",
        ["copy"],
        |s| {
            let r = s.b().copy(&s.key("missing"), &s.key("dst")).await;
            s.cleanup().await;
            expect_kind(r, ErrorKind::NotFound, "copy of a missing source")
        }
    ));
    v.push(case!("storage.copy_odd_keys", ["copy"], |s| {
        let a = s.put("원본 a+b%c", "odd").await?;
        let b = s.key("사본/x?y#z");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g, Bytes::from_static(b"odd"), "destination");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_preserves_metadata",
        ["copy", "user_metadata"],
        |s| {
            let a = s.key("src");
            s.b()
                .put_with(&a, "v", &PutOptions::default().metadata("owner", "x"))
                .await
                .ctx("put_with")?;
            let b = s.key("dst");
            s.b().copy(&a, &b).await.ctx("copy")?;
            let h = s.b().head(&b).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("x"),
                "metadata of the copy"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.copy_large_object", ["copy"], |s| {
        let data = pattern(5 * 1024 * 1024 + 1, 2);
        let a = s.put("src", data.clone()).await?;
        let b = s.key("dst");
        s.b().copy(&a, &b).await.ctx("copy")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure!(g == data, "copy of 5 MiB+1 differs");
        Ok(())
    }));
    v.push(case!(
        "storage.copy_if_not_exists_new",
        ["copy_if_not_exists"],
        |s| {
            let a = s.put("src", "v").await?;
            let b = s.key("dst");
            s.b()
                .copy_if_not_exists(&a, &b)
                .await
                .ctx("copy_if_not_exists")?;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"v"), "destination");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.copy_if_not_exists_existing",
        ["copy_if_not_exists"],
        |s| {
            let a = s.put("src", "new").await?;
            let b = s.put("dst", "old").await?;
            let r = s.b().copy_if_not_exists(&a, &b).await;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            expect_kind(
                r,
                ErrorKind::AlreadyExists,
                "copy_if_not_exists onto an existing key",
            )?;
            ensure_eq!(
                g,
                Bytes::from_static(b"old"),
                "destination after a refused copy"
            );
            Ok(())
        }
    ));
    v.push(case!("storage.rename_moves", ["copy"], |s| {
        let a = s.put("from", "moved").await?;
        let b = s.key("to");
        s.b().rename(&a, &b).await.ctx("rename")?;
        let ea = s.b().exists(&a).await.ctx("exists")?;
        let g = s.b().get(&b).await.ctx("get")?;
        s.cleanup().await;
        ensure!(!ea, "source still exists after rename");
        ensure_eq!(g, Bytes::from_static(b"moved"), "destination");
        Ok(())
    }));
    v.push(case!(
        "storage.rename_overwrites_destination",
        ["copy"],
        |s| {
            let a = s.put("from", "new").await?;
            let b = s.put("to", "old").await?;
            s.b().rename(&a, &b).await.ctx("rename")?;
            let g = s.b().get(&b).await.ctx("get")?;
            s.cleanup().await;
            ensure_eq!(g, Bytes::from_static(b"new"), "destination after rename");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.rename_missing_source_not_found",
        ["copy"],
        |s| {
            let r = s.b().rename(&s.key("missing"), &s.key("to")).await;
            s.cleanup().await;
            expect_kind(r, ErrorKind::NotFound, "rename of a missing source")
        }
    ));

    // ---- delete ----------------------------------------------------------------------------
    v.push(case!("storage.delete_removes", [], |s| {
        let k = s.put("d", "v").await?;
        s.b().delete(&k).await.ctx("delete")?;
        expect_kind(s.b().get(&k).await, ErrorKind::NotFound, "get after delete")
    }));
    v.push(case!("storage.delete_missing_is_ok", [], |s| {
        s.b()
            .delete(&s.key("never-written"))
            .await
            .ctx("delete of a missing key")?;
        Ok(())
    }));
    v.push(case!("storage.delete_twice_is_ok", [], |s| {
        let k = s.put("d", "v").await?;
        s.b().delete(&k).await.ctx("first delete")?;
        s.b().delete(&k).await.ctx("second delete")?;
        Ok(())
    }));
    v.push(case!("storage.delete_many", [], |s| {
        let mut keys = Vec::new();
        for i in 0..25 {
            keys.push(s.put(&format!("m{i}"), "v").await?);
        }
        s.put("keep", "v").await?;
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        ensure_eq!(rs.len(), keys.len(), "results");
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        let left = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(left, vec![s.key("keep")], "keys left after delete_many");
        Ok(())
    }));
    v.push(case!("storage.delete_many_with_missing", [], |s| {
        let a = s.put("a", "v").await?;
        let keys = vec![a.clone(), s.key("missing-1"), s.key("missing-2")];
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        ensure!(
            !s.b().exists(&a).await.ctx("exists")?,
            "existing key survived delete_many"
        );
        Ok(())
    }));
    v.push(case!("storage.delete_many_empty", [], |s| {
        let rs = s.b().delete_many(&[]).await.ctx("delete_many of nothing")?;
        ensure!(
            rs.is_empty(),
            "delete_many of nothing returned {} results",
            rs.len()
        );
        Ok(())
    }));
    v.push(case!("storage.delete_many_odd_keys", [], |s| {
        let mut keys = Vec::new();
        for r in ["가 나", "a+b", "a%b", "a%2F%2Fb", "x/y"] {
            keys.push(s.put(r, "v").await?);
        }
        let rs = s.b().delete_many(&keys).await.ctx("delete_many")?;
        for (k, r) in keys.iter().zip(rs) {
            r.ctx(&format!("delete_many result of {k:?}"))?;
        }
        let left = s.b().list_all(Some(&s.dir())).await.ctx("list")?;
        s.cleanup().await;
        ensure!(left.is_empty(), "delete_many left {:?}", keys_of(&left));
        Ok(())
    }));
    v.push(case!("storage.delete_many_invalid_key_rejected", [], |s| {
        let keys = vec![s.key("ok"), String::new()];
        expect_kind(
            s.b().delete_many(&keys).await.map(|_| ()),
            ErrorKind::InvalidArgument,
            "delete_many with an empty key",
        )
    }));
    v.push(case!("storage.delete_leaves_siblings", [], |s| {
        let a = s.put("dir/a", "v").await?;
        s.put("dir/b", "v").await?;
        s.put("dir", "v").await?;
        s.b().delete(&a).await.ctx("delete")?;
        let left = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(left, vec![s.key("dir"), s.key("dir/b")], "keys left");
        Ok(())
    }));

    // ---- concurrency ---------------------------------------------------------------------
    v.push(case!("storage.concurrent_writers_one_key", [], |s| {
        let k = s.key("contended");
        let size = 512 * 1024;
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let (b, k) = (s.b().clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                b.put(&k, vec![b'a' + i; size]).await
            }));
        }
        // Racing writers may be refused by the server (Swift answers colliding timestamps
        // with a conflict); that is allowed as long as one writer wins and nothing is torn.
        let mut ok = 0;
        let mut refused = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => refused.push(format!("{}: {}", e.kind(), e.message())),
                Err(e) => return fail(format!("task: {e}")),
            }
        }
        if ok == 0 {
            return fail(format!("every concurrent put failed: {refused:?}"));
        }
        if !refused.is_empty() {
            s.note(format!(
                "{} of 8 racing writers were refused by the backend: {}",
                refused.len(),
                refused[0]
            ));
        }
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g.len(), size, "size (torn write?)");
        let first = g[0];
        ensure!(
            (b'a'..b'a' + 8).contains(&first),
            "content is none of the written values"
        );
        ensure!(
            g.iter().all(|&x| x == first),
            "object mixes bytes of different writers (torn write)"
        );
        Ok(())
    }));
    v.push(case!("storage.concurrent_distinct_keys", [], |s| {
        let mut tasks = Vec::new();
        for i in 0..50u32 {
            let (b, k) = (s.b().clone(), s.key(&format!("c{i:02}")));
            tasks.push(tokio::spawn(async move { b.put(&k, i.to_string()).await }));
        }
        for t in tasks {
            match t.await {
                Ok(r) => {
                    r.ctx("put")?;
                }
                Err(e) => return fail(format!("task: {e}")),
            }
        }
        for i in 0..50u32 {
            let g = s.b().get(&s.key(&format!("c{i:02}"))).await.ctx("get")?;
            ensure_eq!(g, Bytes::from(i.to_string()), "content of c{i:02}");
        }
        let n = s.b().list_all(Some(&s.dir())).await.ctx("list")?.len();
        s.cleanup().await;
        ensure_eq!(n, 50, "objects listed");
        Ok(())
    }));
    v.push(case!("storage.read_your_write", [], |s| {
        let k = s.key("ryw");
        for i in 0..10 {
            s.b().put(&k, format!("v{i}")).await.ctx("put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            ensure_eq!(g, Bytes::from(format!("v{i}")), "read after write #{i}");
        }
        s.cleanup().await;
        Ok(())
    }));

    // ---- presigned URLs --------------------------------------------------------------------
    v.push(case!("storage.presign_get", ["presign"], |s| {
        let k = s.put("p.txt", "presigned body").await?;
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(300))
            .await
            .ctx("presign GET")?;
        let r = s.http.get(url.clone()).send().await;
        s.cleanup().await;
        let r =
            r.map_err(|e| crate::harness::CaseError::Fail(format!("GET presigned URL: {e}")))?;
        let status = r.status();
        let body = r.bytes().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "GET presigned URL: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        ensure_eq!(
            body,
            Bytes::from_static(b"presigned body"),
            "body from presigned GET"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_put", ["presign"], |s| {
        let k = s.key("up.txt");
        let url = s
            .b()
            .presign(PresignMethod::Put, &k, Duration::from_secs(300))
            .await
            .ctx("presign PUT")?;
        let r = s
            .http
            .put(url)
            .header("x-ms-blob-type", "BlockBlob")
            .body("uploaded")
            .send()
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("PUT presigned URL: {e}")))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "PUT presigned URL: HTTP {status}: {text}"
        );
        let g = s.b().get(&k).await.ctx("get after presigned PUT")?;
        s.cleanup().await;
        ensure_eq!(
            g,
            Bytes::from_static(b"uploaded"),
            "content after presigned PUT"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_get_missing_404", ["presign"], |s| {
        let k = s.key("missing");
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(60))
            .await
            .ctx("presign")?;
        let r = s
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
        ensure_eq!(
            r.status().as_u16(),
            404,
            "HTTP status of a presigned GET of a missing key"
        );
        Ok(())
    }));
    v.push(case!("storage.presign_odd_key", ["presign"], |s| {
        let k = s.put("민원 a+b%c#d?e.txt", "odd").await?;
        let url = s
            .b()
            .presign(PresignMethod::Get, &k, Duration::from_secs(300))
            .await
            .ctx("presign")?;
        let r = s.http.get(url).send().await;
        s.cleanup().await;
        let r = r.map_err(|e| crate::harness::CaseError::Fail(format!("GET: {e}")))?;
        let status = r.status();
        let body = r.bytes().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "presigned GET of an odd key: HTTP {status}"
        );
        ensure_eq!(body, Bytes::from_static(b"odd"), "body");
        Ok(())
    }));
    v.push(case!("storage.presign_invalid_expiry", ["presign"], |s| {
        let k = s.key("x");
        expect_kind(
            s.b().presign(PresignMethod::Get, &k, Duration::ZERO).await,
            ErrorKind::InvalidArgument,
            "presign with zero expiry",
        )?;
        expect_kind(
            s.b()
                .presign(PresignMethod::Get, &k, Duration::from_secs(8 * 24 * 3600))
                .await,
            ErrorKind::InvalidArgument,
            "presign for 8 days",
        )
    }));

    // ---- bucket admin ----------------------------------------------------------------------
    v.push(case!(
        "storage.bucket_admin_lifecycle",
        ["bucket_admin"],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "a");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let listed = admin.list_buckets().await.ctx("list_buckets");
            let del = admin.delete_bucket(&name).await.ctx("delete_bucket");
            let listed = listed?;
            ensure!(
                listed.contains(&name),
                "new bucket {name:?} not in list_buckets"
            );
            del?;
            let after = admin.list_buckets().await.ctx("list_buckets")?;
            ensure!(
                !after.contains(&name),
                "deleted bucket {name:?} still listed"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.bucket_admin_create_existing",
        ["bucket_admin"],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "b");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let r = admin.create_bucket(&name).await;
            admin.delete_bucket(&name).await.ctx("delete_bucket")?;
            expect_kind(r, ErrorKind::AlreadyExists, "creating an existing bucket")
        }
    ));
    v.push(case!(
        "storage.bucket_admin_delete_missing",
        ["bucket_admin"],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "never");
            expect_kind(
                admin.delete_bucket(&name).await,
                ErrorKind::NotFound,
                "deleting a missing bucket",
            )
        }
    ));
    v.push(case!(
        "storage.bucket_admin_open_and_use",
        ["bucket_admin"],
        |s| {
            let admin = s.b().admin().ctx("admin")?.clone();
            let name = admin_bucket_name(&s.opts.run_id, "c");
            admin.create_bucket(&name).await.ctx("create_bucket")?;
            let r: Outcome = async {
                let b = admin.open(&name).await.ctx("open")?;
                b.put("x/y", "in new bucket").await.ctx("put")?;
                let g = b.get("x/y").await.ctx("get")?;
                ensure_eq!(g, Bytes::from_static(b"in new bucket"), "content");
                ensure!(
                    !s.b().exists("x/y").await.unwrap_or(false) || s.b().name() == name,
                    "write to the new bucket is visible in the bucket under test"
                );
                b.delete("x/y").await.ctx("delete")?;
                Ok(())
            }
            .await;
            admin.delete_bucket(&name).await.ctx("delete_bucket")?;
            r
        }
    ));

    // ---- error kinds and interop -----------------------------------------------------------
    v.push(case!("storage.error_get_missing_not_found", [], |s| {
        expect_kind(
            s.b().get(&s.key("missing")).await,
            ErrorKind::NotFound,
            "get of a missing key",
        )
    }));
    v.push(case!("storage.error_get_with_info_missing", [], |s| {
        expect_kind(
            s.b().get_with_info(&s.key("missing")).await,
            ErrorKind::NotFound,
            "get_with_info of a missing key",
        )
    }));
    v.push(case!("storage.error_get_stream_missing", [], |s| {
        expect_kind(
            s.b().get_stream(&s.key("missing")).await.map(|_| ()),
            ErrorKind::NotFound,
            "get_stream of a missing key",
        )
    }));
    v.push(case!("storage.error_reader_missing", [], |s| {
        expect_kind(
            s.b().reader(&s.key("missing")).await.map(|_| ()),
            ErrorKind::NotFound,
            "reader of a missing key",
        )
    }));
    v.push(case!(
        "storage.error_missing_prefix_is_not_an_error",
        [],
        |s| {
            let l = s
                .b()
                .list_all(Some(&s.key("nothing/here/")))
                .await
                .ctx("list of an absent prefix")?;
            ensure!(l.is_empty(), "absent prefix listed {} objects", l.len());
            Ok(())
        }
    ));
    v.push(case!("storage.object_store_interop", [], |s| {
        // Objects written through Bucket are visible to plain object_store users at the
        // path of the same string, and vice versa.
        use object_store::ObjectStoreExt;
        let k = s.put("interop a+b", "via bucket").await?;
        let path = gureum_core::key::encode_key(&k).ctx("encode_key")?;
        let store = s.b().object_store();
        let raw = match store.get(&path).await {
            Ok(r) => r.bytes().await.map_err(gureum_core::Error::from),
            Err(e) => Err(gureum_core::Error::from(e)),
        };
        let k2 = s.key("raw-written");
        let p2 = gureum_core::key::encode_key(&k2).ctx("encode_key")?;
        let put = store
            .put(&p2, Bytes::from_static(b"via store").into())
            .await
            .map_err(gureum_core::Error::from);
        let g2 = s.b().get(&k2).await;
        s.cleanup().await;
        ensure_eq!(
            raw.ctx("object_store get")?,
            Bytes::from_static(b"via bucket"),
            "raw read of a Bucket write"
        );
        put.ctx("object_store put")?;
        ensure_eq!(
            g2.ctx("bucket get")?,
            Bytes::from_static(b"via store"),
            "Bucket read of a raw write"
        );
        Ok(())
    }));
    v.push(case!("storage.max_object_size_enforced", [], |s| {
        let Some(max) = s.b().capabilities().max_object_size else {
            return skip("the backend declares no max_object_size");
        };
        if max > 64 * 1024 * 1024 {
            return skip(format!("max_object_size {max} is too large to test"));
        }
        let k = s.key("too-big");
        let r = s.b().put(&k, vec![0u8; max as usize + 1]).await;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "put of max_object_size + 1 bytes",
        )
    }));
    v.push(case!("storage.capabilities_consistent", [], |s| {
        let c = s.b().capabilities();
        ensure!(
            !c.copy_if_not_exists || c.copy,
            "copy_if_not_exists is advertised without copy"
        );
        ensure_eq!(
            c.presign,
            s.b()
                .presign(PresignMethod::Get, &s.key("x"), Duration::from_secs(60))
                .await
                .is_ok(),
            "presign flag vs presign()"
        );
        ensure_eq!(
            c.bucket_admin,
            s.b().admin().is_ok(),
            "bucket_admin flag vs admin()"
        );
        Ok(())
    }));
    v.extend(keys::cases());
    v
}

fn admin_bucket_name(run_id: &str, suffix: &str) -> String {
    let id: String = run_id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut n = format!("gcf-{id}-{suffix}");
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}
