//! Swift ObjectStore against the OpenStack Swift all-in-one (tempauth) from scripts/emulators.sh.

use gureum_core::storage::{ListOptions, PresignMethod, PutOptions, WriteMode};
use gureum_core::url::ResourceUrl;
use gureum_core::{Bucket, ErrorKind};
use std::time::Duration;

async fn open(container: &str) -> Option<Bucket> {
    let url = gureum_testkit::env::swift()?.url(container);
    // Make sure the container exists (admin works on any container name).
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    match b.admin().unwrap().create_bucket(container).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create container: {e}"),
    }
    Some(b)
}

#[tokio::test]
async fn basic_object_ops() {
    let Some(b) = open("gureum-basic").await else {
        return;
    };
    let pfx = gureum_testkit::unique("basic");
    let k = format!("{pfx}/민원 a+b%c.json");
    let w = b
        .put_with(
            &k,
            b"hello swift".to_vec(),
            &PutOptions::default()
                .content_type("application/json")
                .metadata("owner", "city"),
        )
        .await
        .unwrap();
    assert!(w.etag.is_some());
    assert_eq!(&b.get(&k).await.unwrap()[..], b"hello swift");
    assert_eq!(&b.get_range(&k, 6..11).await.unwrap()[..], b"swift");
    assert_eq!(
        &b.get_range(&k, gureum_core::ByteRange::Suffix(5))
            .await
            .unwrap()[..],
        b"swift"
    );
    assert_eq!(
        &b.get_range(&k, gureum_core::ByteRange::From(6))
            .await
            .unwrap()[..],
        b"swift"
    );
    let e = b.get_range(&k, 100..200).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let h = b.head(&k).await.unwrap();
    assert_eq!(h.size, 11);
    assert_eq!(h.content_type.as_deref(), Some("application/json"));
    assert_eq!(h.metadata.get("owner").map(String::as_str), Some("city"));
    assert_eq!(h.etag, w.etag);

    // conditional create: Swift honours `If-None-Match: *` but not atomically between
    // concurrent writers, so `conditional_create` is false and Bucket refuses create-only
    // writes (Unsupported) before sending anything — the object stays as it was.
    assert!(!b.capabilities().conditional_create);
    let e = b
        .put_with(
            &k,
            b"x".to_vec(),
            &PutOptions::default().mode(WriteMode::CreateOnly),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(&b.get(&k).await.unwrap()[..], b"hello swift");
    let k2 = format!("{pfx}/new");
    let e = b
        .put_with(
            &k2,
            b"y".to_vec(),
            &PutOptions::default().mode(WriteMode::CreateOnly),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(
        !b.exists(&k2).await.unwrap(),
        "a refused write stored the object"
    );
    b.put(&k2, b"y".to_vec()).await.unwrap();
    // If-Match on PUT is not honoured by Swift: refused, not silently ignored.
    let e = b
        .put_with(
            &k2,
            b"z".to_vec(),
            &PutOptions::default().mode(WriteMode::IfMatch("abc".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(!b.capabilities().conditional_update);

    // copy
    let k3 = format!("{pfx}/copy");
    b.copy(&k, &k3).await.unwrap();
    assert_eq!(&b.get(&k3).await.unwrap()[..], b"hello swift");

    // listing
    let all = b.list_all(Some(&format!("{pfx}/"))).await.unwrap();
    assert_eq!(all.len(), 3);
    let page = b
        .list_page(&ListOptions {
            prefix: Some(format!("{pfx}/")),
            delimiter: false,
            page_size: Some(2),
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 2);
    let page2 = b
        .list_page(&ListOptions {
            prefix: Some(format!("{pfx}/")),
            delimiter: false,
            page_size: Some(2),
            page_token: page.next_token.clone(),
        })
        .await
        .unwrap();
    assert_eq!(page2.objects.len(), 1);
    b.put(&format!("{pfx}/dir/x"), b"1".to_vec()).await.unwrap();
    let d = b
        .list_page(&ListOptions {
            prefix: Some(format!("{pfx}/")),
            delimiter: true,
            page_size: None,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(d.common_prefixes, vec![format!("{pfx}/dir/")]);
    assert_eq!(d.objects.len(), 3);

    // delete (single and bulk)
    b.delete(&k).await.unwrap();
    b.delete(&k).await.unwrap();
    assert!(!b.exists(&k).await.unwrap());
    let keys = vec![
        k2.clone(),
        k3.clone(),
        format!("{pfx}/dir/x"),
        format!("{pfx}/missing"),
    ];
    let rs = b.delete_many(&keys).await.unwrap();
    assert!(rs.iter().all(|r| r.is_ok()), "{rs:?}");
    assert!(b
        .list_all(Some(&format!("{pfx}/")))
        .await
        .unwrap()
        .is_empty());
    let e = b.get(&k).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn slo_multipart_and_abort() {
    let Some(b) = open("gureum-slo").await else {
        return;
    };
    let store = b.native::<gureum_openstack::SwiftStore>().unwrap().clone();
    let k = gureum_testkit::unique("big");
    let mut w = b
        .writer(
            &k,
            &PutOptions::default()
                .content_type("application/x-test")
                .metadata("m", "1"),
        )
        .await
        .unwrap();
    let chunk = vec![7u8; 1024 * 1024];
    for _ in 0..17 {
        w.write(&chunk).await.unwrap();
    }
    w.write(b"tail").await.unwrap();
    w.finish().await.unwrap();
    let h = b.head(&k).await.unwrap();
    assert_eq!(h.size, 17 * 1024 * 1024 + 4);
    assert_eq!(h.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(h.metadata.get("m").map(String::as_str), Some("1"));
    let tail = b
        .get_range(&k, gureum_core::ByteRange::Suffix(4))
        .await
        .unwrap();
    assert_eq!(&tail[..], b"tail");
    assert_eq!(b.get(&k).await.unwrap().len() as u64, h.size);
    // segments are not visible in the container listing
    assert_eq!(b.list_all(Some(&k)).await.unwrap().len(), 1);
    store
        .delete_with_segments(&gureum_core::key::encode_key(&k).unwrap())
        .await
        .unwrap();
    assert!(!b.exists(&k).await.unwrap());

    // abort removes every segment of the upload
    let k2 = gureum_testkit::unique("aborted");
    let mut w = b.writer(&k2, &PutOptions::default()).await.unwrap();
    for _ in 0..9 {
        w.write(&chunk).await.unwrap();
    }
    w.abort().await.unwrap();
    let seg = b
        .admin()
        .unwrap()
        .open(store.segment_container())
        .await
        .unwrap();
    assert!(seg.list_all(Some(&k2)).await.unwrap().is_empty());
    assert!(!b.exists(&k2).await.unwrap());
}

#[tokio::test]
async fn tempurl_presign() {
    let Some(b) = open("gureum-tempurl").await else {
        return;
    };
    let store = b.native::<gureum_openstack::SwiftStore>().unwrap().clone();
    assert!(store.info().tempurl, "SAIO pipeline lacks tempurl");
    store
        .set_temp_url_key(secrecy::SecretString::from("gureum-test-key".to_string()))
        .await
        .unwrap();
    // Re-open: the key is read from the account.
    let b = open("gureum-tempurl").await.unwrap();
    assert!(b.capabilities().presign);
    let k = gureum_testkit::unique("signed");
    let put = b
        .presign(PresignMethod::Put, &k, Duration::from_secs(60))
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let r = c.put(put).body("via tempurl").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let get = b
        .presign(PresignMethod::Get, &k, Duration::from_secs(60))
        .await
        .unwrap();
    let r = c.get(get.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "via tempurl");
    let mut bad = get.clone();
    let q: Vec<(String, String)> = get
        .query_pairs()
        .map(|(a, b)| {
            (
                a.to_string(),
                if a == "temp_url_sig" {
                    "0".repeat(64)
                } else {
                    b.into()
                },
            )
        })
        .collect();
    bad.query_pairs_mut().clear().extend_pairs(q);
    assert_eq!(c.get(bad).send().await.unwrap().status().as_u16(), 401);
    b.delete(&k).await.unwrap();
}

#[tokio::test]
async fn admin_and_auth_errors() {
    let Some(b) = open("gureum-admin").await else {
        return;
    };
    let a = b.admin().unwrap();
    let name = gureum_testkit::unique("gureum-c");
    a.create_bucket(&name).await.unwrap();
    assert_eq!(
        a.create_bucket(&name).await.unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert!(a.list_buckets().await.unwrap().contains(&name));
    let nb = a.open(&name).await.unwrap();
    nb.put("x", b"1".to_vec()).await.unwrap();
    assert_eq!(
        a.delete_bucket(&name).await.unwrap_err().kind(),
        ErrorKind::PreconditionFailed
    );
    nb.delete("x").await.unwrap();
    a.delete_bucket(&name).await.unwrap();
    assert_eq!(
        a.delete_bucket(&name).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let auth = std::env::var("SWIFT_AUTH_URL").unwrap();
    let url = format!("swift://gureum-admin?auth_url={auth}&user=test:tester&key=wrong-secret");
    let e = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains("wrong-secret"));
}
