//! The Server API driver against the in-process simulator.

mod common;

use gureum_core::url::ComputeOpener;
use gureum_core::{Compute, ErrorKind, InstanceSpec, InstanceState, Size};
use gureum_ncloud::server::{NcloudServer, NcloudServerComputeOpener};
use gureum_ncloud::signer::{sign, HEADER_ACCESS_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use gureum_testkit::sim::ncloud::{ServerSimulator, SimOptions};
use std::time::Duration;

async fn sim() -> ServerSimulator {
    ServerSimulator::start(SimOptions {
        step: Duration::from_millis(60),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn compute(s: &ServerSimulator) -> Compute {
    NcloudServerComputeOpener
        .open_compute(&common::sim_url(s))
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(20))
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn lifecycle_through_documented_states() {
    let s = sim().await;
    let c = compute(&s).await;
    let sizes = c.sizes().await.unwrap();
    assert!(sizes
        .iter()
        .any(|z| z.id == "s2-g3" && z.vcpus == 2 && z.memory_mib == 8192));
    let images = c.images().await.unwrap();
    assert!(images
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));

    let vm = c
        .create(
            InstanceSpec::new("OCR worker #1")
                .size(Size::vcpus(2).memory_gib(8))
                .image("ubuntu-22.04")
                .tag("app", "ocr")
                .user_data("#!/bin/bash\necho hello > /tmp/hello\n"),
        )
        .await
        .unwrap();
    assert_eq!(vm.state, InstanceState::Pending);
    assert_eq!(vm.name, "OCR worker #1");
    assert_eq!(vm.size.as_deref(), Some("s2-g3"));
    assert_eq!(vm.tags.get("app").map(String::as_str), Some("ocr"));
    assert!(
        vm.provider_state.starts_with("INIT/"),
        "{}",
        vm.provider_state
    );

    let vm = c
        .wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    assert!(vm.created_at.is_some());
    assert_eq!(
        c.user_data(&vm.id).await.unwrap().as_deref(),
        Some(&b"#!/bin/bash\necho hello > /tmp/hello\n"[..])
    );

    // Stop: RUN/SHTDN (Stopping) then NSTOP (Stopped).
    c.stop(&vm.id).await.unwrap();
    let now = c.get(&vm.id).await.unwrap();
    assert_eq!(now.state, InstanceState::Stopping, "{}", now.provider_state);
    c.wait_until(&vm.id, InstanceState::Stopped, T)
        .await
        .unwrap();
    // Start from stopped: NSTOP/START (Pending) then RUN.
    c.start(&vm.id).await.unwrap();
    assert_eq!(c.get(&vm.id).await.unwrap().state, InstanceState::Pending);
    c.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    c.reboot(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();

    // Listing by tag.
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("app".to_string(), "ocr".to_string());
    assert_eq!(c.list_by_tags(&tags).await.unwrap().len(), 1);
    tags.insert("app".to_string(), "other".to_string());
    assert!(c.list_by_tags(&tags).await.unwrap().is_empty());

    // Terminate a running server: the driver stops it first and waits.
    c.terminate(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Terminated, T)
        .await
        .unwrap();
    // Idempotent.
    c.terminate(&vm.id).await.unwrap();
    c.terminate("999999999").await.unwrap();
    let e = c.get(&vm.id).await;
    assert!(e.is_err() || e.unwrap().state == InstanceState::Terminated);
    assert_eq!(s.stats().auth_failures, 0);
}

#[tokio::test]
async fn idempotent_create_and_errors() {
    let s = sim().await;
    let c = compute(&s).await;
    let spec = InstanceSpec::new("idem-test").idempotency_token("tok-1");
    let a = c.create(spec.clone()).await.unwrap();
    let b = c.create(spec).await.unwrap();
    assert_eq!(a.id, b.id);
    let other = c
        .create(InstanceSpec::new("idem-test").idempotency_token("tok-2"))
        .await
        .unwrap();
    assert_ne!(a.id, other.id);

    // Bad size, bad image: InvalidArgument before any server is created.
    let e = c
        .create(InstanceSpec::new("x1").size("no-such-spec"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = c
        .create(InstanceSpec::new("x2").image("windows-3.1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // Non-ASCII user data cannot be an init script.
    let e = c
        .create(InstanceSpec::new("x3").user_data("echo 안녕".as_bytes().to_vec()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // Missing instances.
    assert_eq!(
        c.get("424242").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        c.get("not-a-number").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let e = c.stop("424242").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        e.provider_code(),
        Some(gureum_testkit::sim::ncloud::codes::NOT_FOUND)
    );

    // Wrong state: starting a running server is refused by the API.
    c.wait_until(&a.id, InstanceState::Running, T)
        .await
        .unwrap();
    let e = c.start(&a.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");

    // Direct terminate of a running server is refused by the API (the driver stops first).
    let d = c.native::<NcloudServer>().unwrap();
    let e = d
        .client()
        .call(
            "terminateServerInstances",
            &[("serverInstanceNoList.1".into(), a.id.clone())],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");

    for id in [&a.id, &other.id] {
        c.terminate(id).await.unwrap();
    }
    for id in [&a.id, &other.id] {
        c.wait_until(id, InstanceState::Terminated, T)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn failed_create_maps_to_error() {
    let s = sim().await;
    let c = compute(&s).await;
    s.fail_next_create();
    let vm = c.create(InstanceSpec::new("doomed")).await.unwrap();
    let e = c
        .wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap_err();
    assert_eq!(e.provider_code(), Some("FSTOP/NULL (failure stopped)"));
    assert_eq!(c.get(&vm.id).await.unwrap().state, InstanceState::Error);
    // A failed server can still be terminated.
    c.terminate(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Terminated, T)
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_unauthenticated() {
    let s = sim().await;
    let mut url = common::sim_url(&s);
    let mut d = std::collections::BTreeMap::new();
    d.insert("access_key".to_string(), s.options().access_key.clone());
    d.insert("secret_key".to_string(), "wrong-secret".to_string());
    url = gureum_core::ResourceUrl::parse(url.url().as_ref())
        .unwrap()
        .with_defaults(&d);
    let c = NcloudServerComputeOpener.open_compute(&url).await.unwrap();
    let e = c.sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.provider_code(), Some("200"));
    assert!(!e.to_string().contains("wrong-secret"));
    assert!(s.stats().auth_failures >= 1);
}

/// Raw requests: the 5-minute timestamp window, missing headers, unknown actions.
#[tokio::test]
async fn gateway_checks_timestamp_window() {
    let s = sim().await;
    let o = s.options().clone();
    let http = reqwest::Client::new();
    let uri = "/vserver/v2/getServerSpecList?regionCode=KR&responseFormatType=json";
    let send = |ts: u64, uri: &'static str| {
        let sig = sign("GET", uri, ts, &o.access_key, o.secret_key.as_bytes());
        http.get(format!("{}{uri}", s.endpoint()))
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_ACCESS_KEY, o.access_key.clone())
            .header(HEADER_SIGNATURE, sig)
            .send()
    };
    let now = gureum_ncloud::signer::now_ms();
    let r = send(now, uri).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["getServerSpecListResponse"]["returnCode"], "0");
    // 4 minutes off: accepted. 5 minutes or more, either side: refused with the gateway body.
    assert_eq!(send(now - 4 * 60_000, uri).await.unwrap().status(), 200);
    for ts in [now - 5 * 60_000 - 10, now + 5 * 60_000 + 1000] {
        let r = send(ts, uri).await.unwrap();
        assert_eq!(r.status(), 401);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["errorCode"], "200");
        assert_eq!(v["error"]["message"], "Authentication Failed");
    }
    // No headers at all.
    let r = http
        .get(format!("{}{uri}", s.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The signature covers the query: tampering fails.
    let sig = sign("GET", uri, now, &o.access_key, o.secret_key.as_bytes());
    let r = http
        .get(format!(
            "{}/vserver/v2/getServerSpecList?regionCode=KR&responseFormatType=xml",
            s.endpoint()
        ))
        .header(HEADER_TIMESTAMP, now.to_string())
        .header(HEADER_ACCESS_KEY, o.access_key.clone())
        .header(HEADER_SIGNATURE, sig)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Unknown action: gateway 404.
    let r = send(
        now,
        "/vserver/v2/getNothing?regionCode=KR&responseFormatType=json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn registry_opens_by_url_and_checks_params() {
    let s = sim().await;
    let mut reg = gureum_core::Registry::new();
    gureum_ncloud::register(&mut reg);
    assert!(reg
        .schemes(gureum_core::Service::Compute)
        .contains(&"ncloud-server".to_string()));
    std::env::set_var("GUREUM_NCLOUD_SIM_AK", &s.options().access_key);
    std::env::set_var("GUREUM_NCLOUD_SIM_SK", &s.options().secret_key);
    let url = format!(
        "{}&access_key_env=GUREUM_NCLOUD_SIM_AK&secret_key_env=GUREUM_NCLOUD_SIM_SK",
        s.compute_url()
    );
    let c = reg.open_compute(Some(&url)).await.unwrap();
    assert!(!c.sizes().await.unwrap().is_empty());
    // Plain HTTP off loopback is refused.
    let bad = "ncloud-server://?region=KR&endpoint=http://ncloud.example.com&access_key_env=GUREUM_NCLOUD_SIM_AK&secret_key_env=GUREUM_NCLOUD_SIM_SK";
    let e = reg.open_compute(Some(bad)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    // Creating without vpc_no is an InvalidArgument naming the parameter.
    let url = format!(
        "ncloud-server://?region=KR&endpoint={}&access_key_env=GUREUM_NCLOUD_SIM_AK&secret_key_env=GUREUM_NCLOUD_SIM_SK",
        s.endpoint()
    );
    let c = reg.open_compute(Some(&url)).await.unwrap();
    let e = c.create(InstanceSpec::new("novpc")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("vpc_no"), "{e}");
}

/// Government regions: `region=gov2` sends `regionCode=KRS`; a region the gateway does not know
/// is refused with the Server API's error body.
#[tokio::test]
async fn gov_region_codes_reach_the_api() {
    let s = ServerSimulator::start(SimOptions {
        regions: vec!["KRS".into()],
        step: Duration::from_millis(30),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut d = std::collections::BTreeMap::new();
    d.insert("access_key".to_string(), s.options().access_key.clone());
    d.insert("secret_key".to_string(), s.options().secret_key.clone());
    let open = |region: &str| {
        let u = gureum_core::ResourceUrl::parse(&format!(
            "ncloud-server://?region={region}&endpoint={}",
            s.endpoint()
        ))
        .unwrap()
        .with_defaults(&d);
        async move { NcloudServerComputeOpener.open_compute(&u).await.unwrap() }
    };
    let gov2 = open("gov2").await;
    assert!(!gov2.sizes().await.unwrap().is_empty());
    let d2 = gov2.native::<NcloudServer>().unwrap();
    assert_eq!(d2.client().config().region_code, "KRS");
    assert_eq!(d2.client().config().site, gureum_ncloud::server::Site::Gov);
    let gov = open("gov").await;
    let e = gov.sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(
        e.provider_code(),
        Some(gureum_testkit::sim::ncloud::codes::INVALID_REGION)
    );
}
