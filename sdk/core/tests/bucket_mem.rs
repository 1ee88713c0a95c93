//! Bucket behaviour on object_store's InMemory store (the provider crates test the rest).
use futures::TryStreamExt;
use gureum_core::key::{decode_key, encode_key};
use gureum_core::storage::*;
use gureum_core::ErrorKind;
use std::sync::Arc;

fn bucket() -> Bucket {
    Bucket::new("t", Arc::new(object_store::memory::InMemory::new()))
}

#[test]
fn hostile_keys_are_stored_verbatim() {
    for k in [
        "a",
        "민원/신청서 1.pdf",
        "a+b",
        "100%",
        "%41",
        "q?x",
        "h#1",
        "sp ace",
        ".../x",
        "{}^`[]|<>~*\"\\",
    ] {
        let p = encode_key(k).unwrap();
        assert_eq!(p.as_ref(), k, "key {k:?} stored as {p}");
        assert_eq!(decode_key(&p), k);
    }
    let long = "k".repeat(1024);
    assert!(encode_key(&long).is_ok());
    assert_eq!(
        encode_key(&"k".repeat(1025)).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Keys that cannot be stored verbatim everywhere are refused.
    for k in [
        "", "a\0b", "a//b", "dir/", "/lead", "..", "a/../b", ".", "tab\tkey",
    ] {
        assert_eq!(
            encode_key(k).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "{k:?}"
        );
    }
}

#[tokio::test]
async fn raw_store_sees_the_key_string() {
    let b = bucket();
    let nfd = "\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}";
    for k in ["민원/사진 1.jpg", "literal%20space.txt", "한글", nfd] {
        b.put(k, k.as_bytes().to_vec()).await.unwrap();
    }
    let raw: Vec<String> = b
        .object_store()
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let mut raw = raw;
    raw.sort();
    let mut want = vec!["민원/사진 1.jpg", "literal%20space.txt", "한글", nfd];
    want.sort();
    assert_eq!(raw, want);
    // An object another object_store user wrote is read by its own name.
    let p = object_store::path::Path::parse("외부/보고서 #1.txt").unwrap();
    object_store::ObjectStoreExt::put(&*b.object_store(), &p, "ext".into())
        .await
        .unwrap();
    assert_eq!(&b.get("외부/보고서 #1.txt").await.unwrap()[..], b"ext");
}

#[tokio::test]
async fn put_get_head_metadata_and_conditions() {
    let b = bucket();
    let opts = PutOptions::default()
        .content_type("application/json")
        .metadata("dept_name", "복지")
        .metadata("case-id", "c-1041 (민원)");
    let w = b.put_with("x/y.json", b"{}".to_vec(), &opts).await.unwrap();
    let h = b.head("x/y.json").await.unwrap();
    assert_eq!(h.size, 2);
    assert_eq!(h.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        h.metadata.get("dept_name").map(String::as_str),
        Some("복지")
    );
    assert_eq!(
        h.metadata.get("case-id").map(String::as_str),
        Some("c-1041 (민원)")
    );
    assert_eq!(h.metadata.len(), 2);
    for (name, value) in [
        ("Dept", "x"),
        ("a b", "x"),
        ("", "x"),
        ("k", "line\nbreak"),
        ("k", " padded"),
    ] {
        let e = b
            .put_with("m", "v", &PutOptions::default().metadata(name, value))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{name:?}={value:?}");
    }
    let big = PutOptions::default().metadata("k", "x".repeat(MAX_METADATA_BYTES));
    let e = b.put_with("m", "v", &big).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = b
        .put_with(
            "x/y.json",
            b"z".to_vec(),
            &PutOptions::default().mode(WriteMode::CreateOnly),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let e = b
        .put_with(
            "x/y.json",
            b"z".to_vec(),
            &PutOptions::default().mode(WriteMode::IfMatch("\"nope\"".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    b.put_with(
        "x/y.json",
        b"zz".to_vec(),
        &PutOptions::default().mode(WriteMode::IfMatch(w.etag.unwrap())),
    )
    .await
    .unwrap();
    assert_eq!(&b.get("x/y.json").await.unwrap()[..], b"zz");
    assert_eq!(
        b.get("missing").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!b.exists("missing").await.unwrap());
    b.delete("missing").await.unwrap();
}

#[tokio::test]
async fn ranges() {
    let b = bucket();
    b.put("r", b"0123456789".to_vec()).await.unwrap();
    assert_eq!(&b.get_range("r", 2..5).await.unwrap()[..], b"234");
    assert_eq!(
        &b.get_range("r", ByteRange::From(7)).await.unwrap()[..],
        b"789"
    );
    assert_eq!(
        &b.get_range("r", ByteRange::Suffix(2)).await.unwrap()[..],
        b"89"
    );
    assert_eq!(&b.get_range("r", 8..100).await.unwrap()[..], b"89");
    let e = b.get_range("r", 20..30).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[tokio::test]
async fn listing_prefix_delimiter_pages() {
    let b = bucket();
    for k in ["a/1", "a/2", "a/b/3", "ab", "b", "a", "a/b"] {
        b.put(k, vec![1u8]).await.unwrap();
    }
    let keys: Vec<String> = b
        .list_all(Some("a"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, vec!["a", "a/1", "a/2", "a/b", "a/b/3", "ab"]);
    let keys: Vec<String> = b
        .list_all(Some("a/"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let p = b
        .list_page(&ListOptions {
            prefix: Some("a/".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        p.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        vec!["a/1", "a/2", "a/b"]
    );
    assert_eq!(p.common_prefixes, vec!["a/b/".to_string()]);
    // Pages of one entry: an object and a common prefix of the same name ("a/b" and
    // "a/b/", "a" and "a/") on either side of a page boundary are both kept.
    for (prefix, want) in [
        (None, vec!["a", "a/", "ab", "b"]),
        (Some("a/"), vec!["a/1", "a/2", "a/b", "a/b/"]),
    ] {
        let mut got = vec![];
        let mut token = None;
        for _ in 0..20 {
            let p = b
                .list_page(&ListOptions {
                    prefix: prefix.map(str::to_string),
                    delimiter: true,
                    page_size: Some(1),
                    page_token: token.clone(),
                })
                .await
                .unwrap();
            got.extend(p.objects.into_iter().map(|o| o.key));
            got.extend(p.common_prefixes);
            token = p.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(got, want, "prefix {prefix:?}");
    }
    let mut all = vec![];
    let mut token = None;
    loop {
        let p = b
            .list_page(&ListOptions {
                page_size: Some(2),
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        all.extend(p.objects.into_iter().map(|o| o.key));
        token = p.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 7, "{all:?}");
}

#[tokio::test]
async fn foreign_names_are_skipped_and_counted() {
    let b = bucket();
    b.put("ok/1", "v").await.unwrap();
    // A name that another object_store user wrote but no portable key can be (over 1,024
    // bytes) never fails a listing: it is skipped and counted.
    let long = object_store::path::Path::parse(format!("ok/{}", "x".repeat(1100))).unwrap();
    object_store::ObjectStoreExt::put(&*b.object_store(), &long, "foreign".into())
        .await
        .unwrap();
    let (objects, skipped) = b.list_all_counted(None).await.unwrap();
    assert_eq!(
        objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        vec!["ok/1"]
    );
    assert_eq!(skipped, 1);
    for delimiter in [false, true] {
        let p = b
            .list_page(&ListOptions {
                prefix: Some("ok/".into()),
                delimiter,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p.objects.len(), 1);
        assert_eq!(p.skipped, 1, "delimiter {delimiter}");
    }
    let keys: Vec<_> = b.list_stream(None).try_collect().await.unwrap();
    assert_eq!(keys.len(), 1);
    // Prefixes no portable key can start with are refused, naming the rule.
    let e = b.list_all(Some("a//")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn writer_and_reader_stream() {
    use tokio::io::AsyncReadExt;
    let b = bucket();
    let mut w = b.writer("big", &PutOptions::default()).await.unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..10 {
        w.write(&chunk).await.unwrap();
    }
    w.finish().await.unwrap();
    let mut r = b.reader("big").await.unwrap();
    let mut buf = Vec::new();
    r.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf.len(), 10 << 20);
    b.rename("big", "big2").await.unwrap();
    assert!(!b.exists("big").await.unwrap());
    b.copy("big2", "big3").await.unwrap();
    let res = b
        .delete_many(&["big2".into(), "big3".into(), "nope".into()])
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()));
    assert_eq!(
        b.presign(PresignMethod::Get, "x", std::time::Duration::from_secs(5))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
}

/// A streamed write on a backend with a part-count limit grows its parts instead of running
/// out of part numbers, and refuses (typed, nothing left behind) only past the capacity.
#[tokio::test]
async fn writer_grows_parts_within_the_part_count_limit() {
    let caps = StorageCapabilities {
        max_parts: Some(8),
        ..Default::default()
    };
    let b = bucket().with_capabilities(caps);
    // 16-byte base parts: 4 × 16, then 32, 64, 128, 256 = 544 bytes in 8 parts.
    let capacity: usize = (0..8).map(|n| streamed_part_size(16, n, Some(8))).sum();
    assert_eq!(capacity, 544);
    let data: Vec<u8> = (0..500u32).map(|i| (i * 7 % 251) as u8).collect();
    assert!(
        data.len() > 8 * 16,
        "a fixed part size would need more than 8 parts"
    );
    let mut w = b
        .writer("grown", &PutOptions::default())
        .await
        .unwrap()
        .with_part_size(16)
        .unwrap();
    for c in data.chunks(7) {
        w.write(c).await.unwrap();
    }
    assert!(w.is_multipart());
    w.finish().await.unwrap();
    assert_eq!(b.get("grown").await.unwrap(), data);

    let mut w = b
        .writer("too-many-parts", &PutOptions::default())
        .await
        .unwrap()
        .with_part_size(16)
        .unwrap();
    let mut err = None;
    for c in vec![1u8; 700].chunks(50) {
        if let Err(e) = w.write(c).await {
            err = Some(e);
            break;
        }
    }
    let err = match err {
        Some(e) => e,
        None => w.finish().await.unwrap_err(),
    };
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("8 multipart parts"), "{err}");
    assert!(!b.exists("too-many-parts").await.unwrap());
}
