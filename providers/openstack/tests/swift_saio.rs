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

/// python-swiftclient's `swift` command (a native client, not gureum) as `test:tester`:
/// its standard output. scripts/emulators.sh installs it with the SAIO.
fn swift_cli(args: &[&str]) -> String {
    let s = gureum_testkit::env::swift().expect("SAIO env");
    let out = std::process::Command::new("swift")
        .args(["-A", &s.auth_url, "-U", &s.user, "-K", &s.key])
        .args(args)
        .output()
        .expect("python-swiftclient's `swift` command (scripts/emulators.sh installs it)");
    assert!(
        out.status.success(),
        "swift {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Write `parts` parts of 1 KiB (the last one shorter) through the writer: an SLO.
async fn write_slo(b: &Bucket, key: &str, parts: usize, seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..parts * 1024 - 10)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect();
    let mut w = b
        .writer(key, &PutOptions::default())
        .await
        .unwrap()
        .with_part_size(1024)
        .unwrap();
    w.write(&data).await.unwrap();
    assert!(w.is_multipart());
    w.finish().await.unwrap();
    data
}

#[tokio::test]
async fn deleting_a_large_object_takes_its_segments() {
    let c = gureum_testkit::unique("gslo");
    let Some(b) = open(&c).await else {
        return;
    };
    let seg_c = format!("{c}_segments");
    // What python-swiftclient sees (one call each, ~1 s): the segments of `key`.
    let segments = |key: &str| {
        swift_cli(&["list", &seg_c, "--prefix", &format!("{key}/slo/")])
            .lines()
            .count()
    };

    // One delete: the manifest and its segments, in one request.
    let k1 = "민원/대용량 1+1.bin";
    let data = write_slo(&b, k1, 5, 1).await;
    assert_eq!(segments(k1), 5);
    assert_eq!(b.get(k1).await.unwrap().as_ref(), &data[..]);
    b.delete(k1).await.unwrap();
    assert_eq!(segments(k1), 0, "segments left after Bucket::delete");
    assert!(!b.exists(k1).await.unwrap());
    b.delete(k1).await.unwrap(); // missing: deleted already
                                 // A plain object still goes (Swift leaves it on `multipart-manifest=delete`).
    b.put("plain/0", b"p".to_vec()).await.unwrap();
    b.delete("plain/0").await.unwrap();
    assert!(!b.exists("plain/0").await.unwrap());

    // Many: manifests take their segments, plain objects go in bulk, repeated and missing
    // keys succeed at every place.
    let (s1, s2) = ("many/s1", "many/s2");
    write_slo(&b, s1, 3, 2).await;
    write_slo(&b, s2, 2, 3).await;
    for p in ["many/p1", "many/p2", "plain/p3"] {
        b.put(p, b"x".to_vec()).await.unwrap();
    }
    let keys: Vec<String> = [
        "many/p1",
        s1,
        "many/never-written",
        "many/p1",
        s2,
        "many/p2",
        s1,
        "plain/p3",
    ]
    .map(String::from)
    .to_vec();
    let rs = b.delete_many(&keys).await.unwrap();
    assert_eq!(rs.len(), keys.len());
    for (k, r) in keys.iter().zip(&rs) {
        assert!(r.is_ok(), "{k}: {r:?}");
    }
    assert_eq!(
        (segments(s1), segments(s2)),
        (0, 0),
        "segments left after delete_many"
    );
    assert!(swift_cli(&["list", &c]).trim().is_empty());
    // All missing now: still a success everywhere.
    let again = b.delete_many(&keys).await.unwrap();
    for (k, r) in keys.iter().zip(&again) {
        assert!(r.is_ok(), "{k} (missing): {r:?}");
    }

    // Overwriting an SLO through the writer deletes the replaced segments once the new
    // manifest is in place.
    let o = "over/written";
    write_slo(&b, o, 4, 4).await;
    let newer = write_slo(&b, o, 3, 5).await;
    assert_eq!(segments(o), 3, "segments of the replaced SLO left");
    assert_eq!(b.get(o).await.unwrap().as_ref(), &newer[..]);
    b.delete(o).await.unwrap();

    // A delete that cannot take the segments is an error, never a success: test:tester3
    // may write `c` but not its segment container.
    swift_cli(&["post", "-r", "test:tester3", "-w", "test:tester3", &c]);
    let s = gureum_testkit::env::swift().unwrap();
    let url = format!(
        "swift://{c}?auth_url={}&user=test:tester3&key=testing3",
        s.auth_url
    );
    let b3 = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    let d = "denied/one";
    write_slo(&b, d, 2, 6).await;
    let e = b3.delete(d).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("not deleted"), "{e}");
    let d2 = "denied/two";
    write_slo(&b, d2, 2, 7).await;
    b.put("denied/plain", b"x".to_vec()).await.unwrap();
    let keys = vec![d2.to_string(), "denied/plain".to_string()];
    let rs = b3.delete_many(&keys).await.unwrap();
    assert_eq!(
        rs[0].as_ref().unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert!(rs[1].is_ok(), "{:?}", rs[1]);
    assert!(!b.exists("denied/plain").await.unwrap());

    // Clean up as the admin (only the segments of the refused deletes are left), then
    // both containers must be empty.
    let left: Vec<String> = swift_cli(&["list", &seg_c])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(left.len(), 4, "{left:?}");
    let sb = b.admin().unwrap().open(&seg_c).await.unwrap();
    assert!(sb
        .delete_many(&left)
        .await
        .unwrap()
        .iter()
        .all(|r| r.is_ok()));
    let a = b.admin().unwrap();
    a.delete_bucket(&seg_c).await.unwrap();
    a.delete_bucket(&c).await.unwrap();
}

#[tokio::test]
async fn delete_many_finds_manifests_among_many_names() {
    let c = gureum_testkit::unique("gslo-walk");
    let Some(b) = open(&c).await else {
        return;
    };
    let seg_c = format!("{c}_segments");
    // 48 plain objects; two of them become SLOs; a few keys spread among them are deleted,
    // so the listing walk has to jump over names it must not touch.
    let names: Vec<String> = (0..48).map(|i| format!("n/{i:02}")).collect();
    use futures::StreamExt;
    futures::stream::iter(names.iter().cloned())
        .for_each_concurrent(8, |k| {
            let b = b.clone();
            async move {
                b.put(&k, k.clone().into_bytes()).await.unwrap();
            }
        })
        .await;
    let slo20 = write_slo(&b, "n/20", 2, 10).await;
    write_slo(&b, "n/45", 3, 11).await;
    assert_eq!(b.get("n/20").await.unwrap().as_ref(), &slo20[..]);
    assert_eq!(swift_cli(&["list", &seg_c]).lines().count(), 5);
    let keys: Vec<String> = ["n/45", "n/00", "n/20", "n/99-never-written", "n/47"]
        .map(String::from)
        .to_vec();
    let rs = b.delete_many(&keys).await.unwrap();
    for (k, r) in keys.iter().zip(&rs) {
        assert!(r.is_ok(), "{k}: {r:?}");
    }
    assert!(
        swift_cli(&["list", &seg_c]).trim().is_empty(),
        "segments left after delete_many"
    );
    let left: Vec<String> = b
        .list_all(Some("n/"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let expected: Vec<String> = names
        .iter()
        .filter(|k| !keys.contains(k))
        .cloned()
        .collect();
    assert_eq!(left, expected);
    assert!(b
        .delete_many(&left)
        .await
        .unwrap()
        .iter()
        .all(|r| r.is_ok()));
    let a = b.admin().unwrap();
    a.delete_bucket(&seg_c).await.unwrap();
    a.delete_bucket(&c).await.unwrap();
}
