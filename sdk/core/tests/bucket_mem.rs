//! Bucket behaviour on object_store's InMemory store (the provider crates test the rest).
use gureum_core::key::{decode_key, encode_key};
use gureum_core::storage::*;
use gureum_core::ErrorKind;
use std::sync::Arc;

fn bucket() -> Bucket {
    Bucket::new("t", Arc::new(object_store::memory::InMemory::new()))
}

#[test]
fn hostile_keys_round_trip() {
    for k in [
        "a",
        "민원/신청서 1.pdf",
        "a+b",
        "100%",
        "q?x",
        "h#1",
        "a//b",
        "dir/",
        "/lead",
        "..",
        "a/../b",
        ".",
        "sp ace",
        "tab\tkey",
        "{}^`[]|<>~*\"\\",
    ] {
        let p = encode_key(k).unwrap();
        assert_eq!(decode_key(&p), k, "key {k:?} stored as {p}");
    }
    let long = "k".repeat(1024);
    assert!(encode_key(&long).is_ok());
    assert_eq!(
        encode_key(&"k".repeat(1025)).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        encode_key("a\0b").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // distinct keys stay distinct
    assert_ne!(encode_key("a//b").unwrap(), encode_key("a/b").unwrap());
    assert_ne!(encode_key("a/").unwrap(), encode_key("a").unwrap());
}

#[tokio::test]
async fn put_get_head_metadata_and_conditions() {
    let b = bucket();
    let opts = PutOptions::default()
        .content_type("application/json")
        .metadata("Dept", "복지");
    let w = b.put_with("x/y.json", b"{}".to_vec(), &opts).await.unwrap();
    let h = b.head("x/y.json").await.unwrap();
    assert_eq!(h.size, 2);
    assert_eq!(h.content_type.as_deref(), Some("application/json"));
    assert_eq!(h.metadata.get("dept").map(String::as_str), Some("복지"));
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
    for k in ["a/1", "a/2", "a/b/3", "ab", "b", "/x", "a//y"] {
        b.put(k, vec![1u8]).await.unwrap();
    }
    let keys: Vec<String> = b
        .list_all(Some("a"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
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
        vec!["a/1", "a/2"]
    );
    assert_eq!(
        p.common_prefixes,
        vec!["a//".to_string(), "a/b/".to_string()]
    );
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
