//! `Bucket::list_page` with a delimiter on Azurite pages natively: one List Blobs call per
//! page, continued by Azure's opaque `NextMarker` carried in the page token (issue 19: it used
//! to read the whole level for every page). Requests are counted by a loopback proxy
//! (`gureum_testkit::fault::FaultProxy` with no faults) between the SDK and Azurite.

use gureum_core::{ErrorKind, ListOptions, Registry};
use gureum_testkit::fault::{FaultPlan, FaultProxy};
use std::sync::atomic::Ordering;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

/// The Azurite connection string with the blob endpoint moved to `proxy`, and Azurite's
/// blob endpoint (`http://HOST:PORT`).
fn via(proxy: Option<&str>) -> Option<(String, String)> {
    let cs = gureum_testkit::env::var("AZURE_STORAGE_CONNECTION_STRING")?;
    let mut upstream = None;
    let parts: Vec<String> = cs
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if k == "BlobEndpoint" => {
                let u = url::Url::parse(v).unwrap();
                upstream = Some(format!("http://{}", u.authority()));
                match proxy {
                    Some(px) => format!("{k}={px}{}", u.path()),
                    None => p.to_string(),
                }
            }
            _ => p.to_string(),
        })
        .collect();
    let cs = parts.join(";");
    Some((
        url::form_urlencoded::byte_serialize(cs.as_bytes()).collect(),
        upstream?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delimiter_page_is_one_list_blobs_call() {
    let Some((_, up)) = via(None) else {
        return;
    };
    let proxy = FaultProxy::start(&up, FaultPlan::all(0.0, 1)).await;
    let (cs, _) = via(Some(&proxy.endpoint)).unwrap();
    let name = gureum_testkit::unique("pages");
    let b = registry()
        .open_bucket(Some(&format!("azblob://{name}?connection_string={cs}")))
        .await
        .unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let mut want_objects = Vec::new();
    let mut want_prefixes = Vec::new();
    for i in 0..12 {
        let k = format!("lv/f{i:02}");
        b.put(&k, "v").await.unwrap();
        want_objects.push(k);
    }
    for i in 0..6 {
        b.put(&format!("lv/d{i}/x"), "v").await.unwrap();
        want_prefixes.push(format!("lv/d{i}/"));
    }
    // An object and a prefix sharing a name at a page boundary: both come back.
    b.put("lv/f05/y", "v").await.unwrap();
    want_prefixes.push("lv/f05/".into());
    want_prefixes.sort();
    let mut opts = ListOptions {
        prefix: Some("lv/".into()),
        delimiter: true,
        page_size: Some(5),
        page_token: None,
    };
    let (mut objects, mut prefixes, mut pages) = (Vec::new(), Vec::new(), 0);
    loop {
        let before = proxy.stats().requests.load(Ordering::Relaxed);
        let page = b.list_page(&opts).await.unwrap();
        let calls = proxy.stats().requests.load(Ordering::Relaxed) - before;
        pages += 1;
        assert_eq!(calls, 1, "page {pages}: {calls} List Blobs calls");
        assert!(page.objects.len() + page.common_prefixes.len() <= 5);
        objects.extend(page.objects.into_iter().map(|o| o.key));
        prefixes.extend(page.common_prefixes);
        match page.next_token {
            Some(t) => {
                assert!(t.starts_with("//gm1/"), "a native marker token: {t}");
                opts.page_token = Some(t);
            }
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(objects, want_objects);
    assert_eq!(prefixes, want_prefixes);
    assert_eq!(pages, 4, "19 entries in pages of 5");
    // A damaged marker token is refused, never sent or a panic.
    for bad in ["//gm1/zz/00", "//gm1/", "//gm9/61/61"] {
        let e = b
            .list_page(&ListOptions {
                page_token: Some(bad.into()),
                ..opts.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
    }
    println!(
        "azure list_page: {pages} pages of <= 5 entries, 1 List Blobs call each, {} objects, {} prefixes",
        objects.len(),
        prefixes.len()
    );
    for k in objects {
        let _ = b.delete(&k).await;
    }
    let _ = b.delete("lv/f05/y").await;
    for i in 0..6 {
        let _ = b.delete(&format!("lv/d{i}/x")).await;
    }
    let _ = b.admin().unwrap().delete_bucket(&name).await;
}

/// The same against a scripted List Blobs server, where the requests themselves can be
/// read: a level the server answers in 3 pages (NextMarker `m1`, `m2`, then none) is listed
/// in pages of 4 by one call per page, each asking `maxresults=4` and continuing from the
/// previous `NextMarker` (before, every page reread the whole level: 9 calls for 3 pages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delimiter_pages_continue_from_next_marker_one_call_each() {
    use gureum_testkit::scripted::{serve_raw, Reply};
    const XML: &str = "content-type: application/xml\r\n";
    let (base, seen, _) = serve_raw(|_, head| {
        let line = head.lines().next().unwrap_or("");
        // Page n (0-based) from marker `m{n}`: names lv/fNNNN, 3 pages of 4, then the end.
        let n: usize = line
            .split("marker=m")
            .nth(1)
            .and_then(|r| r.split(['&', ' ']).next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let blobs: String = (0..4)
            .map(|i| {
                format!(
                    "<Blob><Name>lv/f{:04}</Name><Properties><Last-Modified>Thu, 01 Jan 2026 00:00:00 GMT</Last-Modified><Content-Length>1</Content-Length><Etag>0x1</Etag></Properties></Blob>",
                    n * 4 + i
                )
            })
            .collect();
        let next = if n < 2 {
            format!("<NextMarker>m{}</NextMarker>", n + 1)
        } else {
            "<NextMarker/>".into()
        };
        Reply::ok(
            200,
            XML,
            format!(r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Blobs>{blobs}</Blobs>{next}</EnumerationResults>"#),
        )
    })
    .await;
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5a2V5a2V5a2V5;BlobEndpoint={base}/acct"
    );
    let cs: String = url::form_urlencoded::byte_serialize(cs.as_bytes()).collect();
    let b = registry()
        .open_bucket(Some(&format!("azblob://cont?connection_string={cs}")))
        .await
        .unwrap();
    let mut opts = ListOptions {
        prefix: Some("lv/".into()),
        delimiter: true,
        page_size: Some(4),
        page_token: None,
    };
    let mut keys = Vec::new();
    for _ in 0..10 {
        let page = b.list_page(&opts).await.unwrap();
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next_token {
            Some(t) => opts.page_token = Some(t),
            None => break,
        }
    }
    let want: Vec<String> = (0..12).map(|i| format!("lv/f{i:04}")).collect();
    assert_eq!(keys, want);
    let heads = seen.lock().unwrap().clone();
    let lists: Vec<&String> = heads.iter().filter(|h| h.contains("comp=list")).collect();
    assert_eq!(lists.len(), 3, "one List Blobs call per page: {lists:#?}");
    for (i, h) in lists.iter().enumerate() {
        assert!(
            h.contains("maxresults=4"),
            "page {i} asks for the page size: {h}"
        );
        if i > 0 {
            assert!(
                h.contains(&format!("marker=m{i}")),
                "page {i} continues from NextMarker: {h}"
            );
        }
    }
}
