//! Keystone v3 / v2.0 and Nova against the in-process spec simulator (spec-simulated).

use gureum_core::url::ResourceUrl;
use gureum_core::{Compute, ErrorKind, InstanceSpec, InstanceState, Size};
use gureum_testkit::sim::openstack::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::time::Duration;

async fn nova(url: &str) -> gureum_core::Result<Compute> {
    gureum_openstack::open_nova(&ResourceUrl::parse(url)?)
        .await
        .map(|c| c.with_poll_interval(Duration::from_millis(50)))
}

fn v3_url(sim: &Simulator) -> String {
    format!(
        "nova://?auth_url={}&username=ocr&password=ocr-pass&project_name=civic&user_domain_name=Default&project_domain_name=Default&region=RegionOne",
        sim.v3_auth_url()
    )
}

#[tokio::test]
async fn lifecycle_v3_password() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let c = nova(&v3_url(&sim)).await.unwrap();
    let sizes = c.sizes().await.unwrap();
    assert_eq!(sizes.len(), 5);
    let imgs = c.images().await.unwrap();
    assert!(imgs
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
    assert!(
        imgs.iter()
            .any(|i| i.alias.as_deref() == Some("ubuntu-24.04")),
        "alias from name"
    );

    let spec = InstanceSpec::new("ocr-worker")
        .size(Size::vcpus(2).memory_gib(4))
        .image("ubuntu-22.04")
        .tag("app", "ocr")
        .user_data(b"#cloud-config\nruncmd: [echo hi]\n".to_vec())
        .idempotency_token("tok-1");
    let i = c.create(spec.clone()).await.unwrap();
    assert_eq!(i.state, InstanceState::Pending);
    assert_eq!(
        i.size.as_deref(),
        Some("3"),
        "m1.medium is the smallest with 2 vCPU / 4 GiB"
    );
    let again = c.create(spec).await.unwrap();
    assert_eq!(again.id, i.id, "same token, same server");
    assert_eq!(sim.create_requests(), 1);

    let r = c
        .wait_until(&i.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(r.tags.get("app").map(String::as_str), Some("ocr"));
    assert!(!r.tags.contains_key(gureum_openstack::nova::TOKEN_KEY));
    assert!(!r.addresses.is_empty());
    let ud = c.user_data(&i.id).await.unwrap().unwrap();
    assert_eq!(&ud[..], b"#cloud-config\nruncmd: [echo hi]\n");

    let mut tags = BTreeMap::new();
    tags.insert("app".to_string(), "ocr".to_string());
    assert_eq!(c.list_by_tags(&tags).await.unwrap().len(), 1);
    tags.insert("app".to_string(), "other".to_string());
    assert!(c.list_by_tags(&tags).await.unwrap().is_empty());

    c.stop(&i.id).await.unwrap();
    let s = c.get(&i.id).await.unwrap();
    assert!(
        matches!(s.state, InstanceState::Stopping | InstanceState::Stopped),
        "{}",
        s.provider_state
    );
    c.wait_until(&i.id, InstanceState::Stopped, Duration::from_secs(10))
        .await
        .unwrap();
    c.stop(&i.id).await.unwrap(); // already stopped: no error
    let e = c.reboot(&i.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    c.start(&i.id).await.unwrap();
    c.wait_until(&i.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    c.reboot(&i.id).await.unwrap();
    let s = c.get(&i.id).await.unwrap();
    assert!(
        s.provider_state.starts_with("REBOOT") || s.state == InstanceState::Running,
        "{}",
        s.provider_state
    );
    c.wait_until(&i.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    c.terminate(&i.id).await.unwrap();
    match c.get(&i.id).await {
        Ok(s) => assert_eq!(s.state, InstanceState::Terminating),
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
    }
    c.wait_until(&i.id, InstanceState::Terminated, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(c.get(&i.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    c.terminate(&i.id).await.unwrap();

    // A build fault ends in Error.
    let f = c
        .create(InstanceSpec::new("bad").image("fault-image"))
        .await
        .unwrap();
    let e = c
        .wait_until(&f.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("error"), "{e}");
    assert_eq!(c.get(&f.id).await.unwrap().state, InstanceState::Error);
    // Bad size / image.
    let e = c
        .create(InstanceSpec::new("x").size(Size::vcpus(64)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").image("windows-95"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Flavor by name.
    let n = c
        .create(InstanceSpec::new("named").size("m1.tiny"))
        .await
        .unwrap();
    assert_eq!(n.size.as_deref(), Some("1"));
}

#[tokio::test]
async fn bad_credentials_are_unauthenticated() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let url = v3_url(&sim).replace("ocr-pass", "wrong-password");
    let c = nova(&url).await.unwrap();
    let e = c.sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains("wrong-password"));
    let url = format!("nova://?auth_url={}&preset=nhn&region=KR1&username=api-user@city.example&password=nope&tenant_id=0123456789abcdef0123456789abcdef", sim.v2_auth_url());
    let e = nova(&url).await.unwrap().sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
}

#[tokio::test]
async fn token_cached_and_refreshed() {
    let sim = Simulator::start(SimConfig {
        token_ttl: Duration::from_millis(3000),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = nova(&format!("{}&microversion=2.3", v3_url(&sim)))
        .await
        .unwrap();
    let d = c.native::<gureum_openstack::NovaDriver>().unwrap();
    for _ in 0..5 {
        c.sizes().await.unwrap();
    }
    assert_eq!(d.session().auth_count(), 1, "token is cached");
    // Refresh before expiry: inside the last fifth of the lifetime a new token is fetched.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    c.sizes().await.unwrap();
    assert_eq!(d.session().auth_count(), 2, "renewed before expiry");
    // A token revoked server-side: 401, one re-authentication, success.
    sim.expire_all_tokens();
    c.sizes().await.unwrap();
    assert_eq!(d.session().auth_count(), 3);
    assert_eq!(sim.auth_requests(), 3);
}

#[tokio::test]
async fn keystone_v2_nhn_style_and_app_credentials() {
    let sim = Simulator::start(SimConfig {
        region: "KR1".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let url = format!(
        "nova://?auth_url={}&preset=nhn&region=KR1&username=api-user@city.example&password=api-pass&tenant_id=0123456789abcdef0123456789abcdef",
        sim.v2_auth_url()
    );
    let c = nova(&url).await.unwrap();
    let i = c
        .create(InstanceSpec::new("nhn-vm").image("rocky-9"))
        .await
        .unwrap();
    c.wait_until(&i.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    c.terminate(&i.id).await.unwrap();

    let url = format!("nova://?auth_url={}&application_credential_id=ac-id-1&application_credential_secret=ac-secret-1&region=KR1", sim.v3_auth_url());
    let c = nova(&url).await.unwrap();
    assert_eq!(c.sizes().await.unwrap().len(), 5);
    let url = format!("nova://?auth_url={}&application_credential_id=ac-id-1&application_credential_secret=bad&region=KR1", sim.v3_auth_url());
    assert_eq!(
        nova(&url).await.unwrap().sizes().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    // Wrong region: the catalog has no such endpoint.
    let url = format!("nova://?auth_url={}&application_credential_id=ac-id-1&application_credential_secret=ac-secret-1&region=KR2", sim.v3_auth_url());
    assert_eq!(
        nova(&url).await.unwrap().sizes().await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn microversion_gates_user_data() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let c = nova(&format!("{}&microversion=2.1", v3_url(&sim)))
        .await
        .unwrap();
    let i = c
        .create(InstanceSpec::new("old").user_data(b"x".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        c.user_data(&i.id).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let c = nova(&format!("{}&microversion=2.999", v3_url(&sim)))
        .await
        .unwrap();
    assert_eq!(c.sizes().await.unwrap_err().kind(), ErrorKind::Other);
}

#[tokio::test]
async fn kakao_preset_refuses_nova() {
    let e =
        nova("nova://?preset=kakao&application_credential_id=a&application_credential_secret=b")
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
