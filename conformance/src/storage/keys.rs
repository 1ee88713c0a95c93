//! Storage cases: keys.

use super::*;

/// The keys cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
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
    v
}
