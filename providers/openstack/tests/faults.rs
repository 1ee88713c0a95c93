//! Swift (the SAIO) through the fault-injection proxy (`gureum_testkit::fault`): auth and
//! object traffic both pass the proxy; every operation succeeds or fails with a typed error
//! and no corrupted object is reported as a success.

use gureum_core::url::ResourceUrl;
use gureum_core::ErrorKind;
use gureum_testkit::fault::{FaultPlan, FaultProxy};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn data(i: usize) -> Vec<u8> {
    let len = [0usize, 21, 7000, 90_000][i % 4];
    (0..len).map(|j| ((i * 11 + j * 3) % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_under_faults_is_typed_and_never_corrupts() {
    let Some(s) = gureum_testkit::env::swift() else {
        return;
    };
    let auth = url::Url::parse(&s.auth_url).unwrap();
    let upstream = format!("http://{}", auth.authority());
    let proxy = FaultProxy::start(
        &upstream,
        FaultPlan::all(0.3, 43).stall(Duration::from_millis(300)),
    )
    .await;
    // The account path as tempauth names it (AUTH_<account>).
    let account = s.user.split(':').next().unwrap_or("test");
    let container = gureum_testkit::unique("faults");
    let url = format!(
        "swift://{container}?auth_url={}{}&user={}&key={}&storage_url={}/v1/AUTH_{account}",
        proxy.endpoint,
        auth.path(),
        s.user,
        s.key,
        proxy.endpoint
    );
    proxy.pause();
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    b.admin().unwrap().create_bucket(&container).await.unwrap();
    proxy.resume();
    let n = 40;
    let mut ok = BTreeSet::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |op: &str, k: ErrorKind, m: String| {
        assert_ne!(k, ErrorKind::Other, "{op}: untyped error: {m}");
        *errors.entry(format!("{op}:{k}")).or_default() += 1;
    };
    for i in 0..n {
        match b.put(&format!("k/{i:03}"), data(i)).await {
            Ok(_) => {
                ok.insert(i);
            }
            Err(e) => note("put", e.kind(), e.to_string()),
        }
    }
    for i in 0..n {
        match b.get(&format!("k/{i:03}")).await {
            Ok(got) => assert_eq!(&got[..], &data(i)[..], "object {i} corrupted"),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                assert!(!ok.contains(&i), "object {i} was stored but reads NotFound")
            }
            Err(e) => note("get", e.kind(), e.to_string()),
        }
    }
    match b.list_all(Some("k/")).await {
        Ok(list) => {
            for i in &ok {
                assert!(
                    list.iter().any(|o| o.key == format!("k/{i:03}")),
                    "{i} not listed"
                );
            }
        }
        Err(e) => note("list", e.kind(), e.to_string()),
    }
    proxy.pause();
    for i in &ok {
        assert_eq!(
            &b.get(&format!("k/{i:03}")).await.unwrap()[..],
            &data(*i)[..]
        );
    }
    eprintln!(
        "swift under faults: {}; {} of {n} puts ok; {errors:?}",
        proxy.stats(),
        ok.len()
    );
    assert!(proxy.stats().total_injected() >= 10, "{}", proxy.stats());
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    for r in b.delete_many(&keys).await.unwrap() {
        r.unwrap();
    }
    b.admin().unwrap().delete_bucket(&container).await.ok();
}
