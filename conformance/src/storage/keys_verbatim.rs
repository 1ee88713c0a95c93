//! Storage cases of the verbatim key space and of user metadata (docs/architecture.md, "The
//! portable key space"): what a backend stores is the key's own string, checked through the
//! raw `ObjectStore` too, so a provider's own cloud is checked the same way.

use super::{keys_of, Ctx};
use crate::harness::{case, ensure, ensure_eq, expect_kind, skip, CaseDef, CaseError, Context};
use bytes::Bytes;
use futures::TryStreamExt;
use gureum_core::key::MAX_KEY_BYTES;
use gureum_core::storage::MAX_METADATA_BYTES;
use gureum_core::{ErrorKind, ListOptions, PutOptions};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::collections::BTreeMap;

/// Keys that must be stored verbatim (relative to the case directory).
const VERBATIM: &[&str] = &[
    "민원/사진 1.jpg",
    "plus/a+b c+d.txt",
    "literal%20space.txt",
    "hash#tag.txt",
    "question?mark=1&x.txt",
    "emoji/구름 ☁️ 😀.txt",
    "punct/+ % # ? & = @ ~ [ ] { } ' ! ( ) ,.txt",
    "한글",
    // The same text in NFD (decomposed jamo): a different key.
    "\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}",
];

/// A key of exactly `len` bytes under `base` (which ends in `/`), of 3-byte Hangul in
/// segments of at most 255 bytes (what a file system holds), padded with ASCII.
fn hangul_key(base: &str, len: usize) -> String {
    let mut k = base.to_string();
    let mut seg = 0;
    while k.len() < len {
        let room = len - k.len();
        if seg + 3 <= 252 && room >= 3 {
            k.push('가');
            seg += 3;
        } else if seg >= 252 && room >= 2 {
            k.push('/');
            seg = 0;
        } else {
            k.push('k');
            seg += 1;
        }
    }
    k
}

/// `Path::parse`, failing the case on error.
fn parse(k: &str) -> Result<Path, CaseError> {
    Path::parse(k).map_err(|e| CaseError::Fail(format!("Path::parse({k:?}): {e}")))
}

pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.keys_verbatim_in_raw_store", [], |s| {
        // What Bucket writes is listed by the raw object_store under the key's own string.
        let mut want = Vec::new();
        for r in VERBATIM {
            want.push(s.put(r, r.to_string()).await?);
        }
        let store = s.b().object_store();
        let dir = parse(&s.dir())?;
        let raw: Vec<String> = store
            .list(Some(&dir))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .map_err(gureum_core::Error::from)
            .ctx("raw list")?;
        let mut raw = raw;
        raw.sort();
        want.sort();
        let mut got = Vec::new();
        for k in &want {
            let r = match store.get(&parse(k)?).await {
                Ok(r) => r.bytes().await.map_err(gureum_core::Error::from),
                Err(e) => Err(e.into()),
            };
            got.push((k.clone(), r));
        }
        s.cleanup().await;
        ensure_eq!(raw, want, "raw store listing of the keys Bucket wrote");
        for (k, r) in got {
            let data = r.ctx(&format!("raw get of {k:?}"))?;
            ensure!(
                k.ends_with(std::str::from_utf8(&data).unwrap_or("\u{0}")),
                "raw get of {k:?} returned another object's bytes"
            );
        }
        Ok(())
    }));
    v.push(case!("storage.keys_raw_written_read_by_name", [], |s| {
        // What a plain object_store user writes at `Path::parse(key)`, Bucket reads, lists
        // and deletes by the key.
        let store = s.b().object_store();
        let mut keys = Vec::new();
        for r in VERBATIM {
            let k = s.key(r);
            let p = parse(&k)?;
            store
                .put(&p, Bytes::from(format!("raw:{r}")).into())
                .await
                .map_err(gureum_core::Error::from)
                .ctx(&format!("raw put {k:?}"))?;
            keys.push(k);
        }
        let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        let mut reads = Vec::new();
        for (k, r) in keys.iter().zip(VERBATIM) {
            reads.push((k.clone(), r, s.b().get(k).await));
        }
        for k in &keys {
            s.b().delete(k).await.ctx(&format!("delete {k:?}"))?;
        }
        let left = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        let mut want = keys.clone();
        want.sort();
        ensure_eq!(listed, want, "Bucket listing of raw-written keys");
        for (k, r, got) in reads {
            ensure_eq!(
                got.ctx(&format!("get {k:?}"))?,
                Bytes::from(format!("raw:{r}")),
                "content of {k:?}"
            );
        }
        ensure!(left.is_empty(), "delete by name left {left:?}");
        Ok(())
    }));
    v.push(case!("storage.keys_multibyte_at_byte_limit", [], |s| {
        // The limit counts stored bytes: 1,024 bytes of mostly 3-byte Hangul is a key,
        // 1,025 is not.
        let k = hangul_key(&s.dir(), MAX_KEY_BYTES);
        ensure_eq!(k.len(), MAX_KEY_BYTES, "test key length");
        s.round_trip_key(&k, "한도".as_bytes()).await?;
        let store = s.b().object_store();
        s.b().put(&k, "raw").await.ctx("put")?;
        let raw = store
            .head(&parse(&k)?)
            .await
            .map_err(gureum_core::Error::from);
        s.b().delete(&k).await.ctx("delete")?;
        let raw = raw.ctx("raw head of the 1,024-byte key")?;
        ensure_eq!(
            raw.location.as_ref().len(),
            MAX_KEY_BYTES,
            "stored name length in bytes"
        );
        let over = hangul_key(&s.dir(), MAX_KEY_BYTES + 1);
        ensure_eq!(over.len(), MAX_KEY_BYTES + 1, "test key length");
        let r = s.b().put(&over, "x").await;
        s.cleanup().await;
        expect_kind(r, ErrorKind::InvalidArgument, "put with a 1,025-byte key")
    }));
    v.push(case!("storage.keys_nfc_nfd_hangul_distinct", [], |s| {
        let nfc = s.key("정규화/\u{d55c}\u{ae00}.txt");
        let nfd = s.key("정규화/\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}.txt");
        s.b().put(&nfc, "nfc").await.ctx("put NFC")?;
        s.b().put(&nfd, "nfd").await.ctx("put NFD")?;
        let a = s.b().get(&nfc).await.ctx("get NFC")?;
        let b = s.b().get(&nfd).await.ctx("get NFD")?;
        let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
        s.cleanup().await;
        ensure_eq!(a, Bytes::from_static(b"nfc"), "NFC content");
        ensure_eq!(b, Bytes::from_static(b"nfd"), "NFD content");
        let mut want = vec![nfc, nfd];
        want.sort();
        ensure_eq!(listed, want, "both spellings listed byte for byte");
        Ok(())
    }));
    v.push(case!(
        "storage.keys_outside_portable_space_refused",
        [],
        |s| {
            for (rel, rule) in [
                ("a//b", "empty segment"),
                ("dir/", "end with '/'"),
                ("./x", "'.' or '..'"),
                ("x/..", "'.' or '..'"),
                ("del\u{7f}", "control"),
                ("bell\u{7}", "control"),
            ] {
                let k = s.key(rel);
                let r = s.b().put(&k, "x").await;
                if let Err(e) = &r {
                    ensure!(
                        e.to_string().contains(rule),
                        "the error for {k:?} does not name the rule ({rule}): {e}"
                    );
                }
                expect_kind(r, ErrorKind::InvalidArgument, &format!("put {k:?}"))?;
            }
            let k = format!("/{}", s.key("lead"));
            expect_kind(
                s.b().put(&k, "x").await,
                ErrorKind::InvalidArgument,
                "put with a leading '/'",
            )?;
            let listed = keys_of(&s.b().list_all(Some(&s.dir())).await.ctx("list")?);
            ensure!(listed.is_empty(), "refused keys left objects: {listed:?}");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.keys_foreign_name_skipped_in_listing",
        [],
        |s| {
            // A stored name that no portable key can be (here: over 1,024 bytes, written through
            // the raw store) never fails a listing; it is skipped and counted.
            let store = s.b().object_store();
            let long = parse(&format!("{}{}", s.dir(), "x/".repeat(600) + "end"))?;
            if store
                .put(&long, Bytes::from_static(b"foreign").into())
                .await
                .is_err()
            {
                return skip("the backend cannot hold a name over 1,024 bytes, so none is listed");
            }
            s.put("ok", "v").await?;
            let all = s.b().list_all_counted(Some(&s.dir())).await;
            let page = s
                .b()
                .list_page(&ListOptions {
                    prefix: Some(s.dir()),
                    ..Default::default()
                })
                .await;
            let _ = store.delete(&long).await;
            s.cleanup().await;
            let (objects, skipped) = all.ctx("list_all_counted")?;
            ensure_eq!(keys_of(&objects), vec![s.key("ok")], "listed keys");
            ensure_eq!(skipped, 1, "skipped names (list_all_counted)");
            let page = page.ctx("list_page")?;
            ensure_eq!(page.skipped, 1, "skipped names (list_page)");
            ensure_eq!(keys_of(&page.objects), vec![s.key("ok")], "page keys");
            Ok(())
        }
    ));
    v.push(case!(
        "storage.metadata_names_and_values_exact",
        [user_metadata],
        |s| {
            let meta: BTreeMap<String, String> = [
                ("case_id", "c-1041"),
                ("dept-name", "민원과 (시청)"),
                ("plain", "ascii value"),
                ("x_9-y", "a=b; c, \"d\" 😀"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let k = s.key("m");
            s.b()
                .put_with(
                    &k,
                    "v",
                    &PutOptions {
                        metadata: meta.clone(),
                        ..Default::default()
                    },
                )
                .await
                .ctx("put_with")?;
            let h = s.b().head(&k).await.ctx("head");
            let g = s.b().get_with_info(&k).await.ctx("get_with_info");
            s.cleanup().await;
            ensure_eq!(h?.metadata, meta, "metadata from head");
            ensure_eq!(g?.0.metadata, meta, "metadata from get_with_info");
            Ok(())
        }
    ));
    v.push(case!("storage.metadata_outside_rules_refused", [], |s| {
        let k = s.key("m");
        for (name, value, what) in [
            ("Dept", "x", "upper-case name"),
            ("a b", "x", "name with a space"),
            ("이름", "x", "non-ASCII name"),
            ("k", "line\nbreak", "control character in a value"),
            ("k", " padded ", "white space around a value"),
        ] {
            expect_kind(
                s.b()
                    .put_with(&k, "v", &PutOptions::default().metadata(name, value))
                    .await,
                ErrorKind::InvalidArgument,
                what,
            )?;
        }
        let big = PutOptions::default().metadata("k", "x".repeat(MAX_METADATA_BYTES));
        expect_kind(
            s.b().put_with(&k, "v", &big).await,
            ErrorKind::InvalidArgument,
            "metadata over 2 KiB",
        )?;
        let exists = s.b().exists(&k).await.ctx("exists")?;
        s.cleanup().await;
        ensure!(!exists, "a refused write stored the object");
        Ok(())
    }));
    v
}

#[cfg(test)]
mod tests {
    use super::hangul_key;

    #[test]
    fn hangul_keys_have_the_length_asked_for() {
        for len in [1024, 1025, 300, 40] {
            let k = hangul_key("gureum-conformance/run/case/", len);
            assert_eq!(k.len(), len);
            assert!(k.split('/').all(|s| s.len() <= 255));
            assert!(!k.contains("//") && !k.ends_with('/'));
        }
    }
}
