//! `kakao-compute://` (Kakao Cloud Beyond Compute Service) against the **spec-simulated**
//! Kakao IAM + BCS server in gureum-testkit (`sim::kakao_compute`): the compute conformance
//! suite, region handling, idempotent create, error mapping, token expiry and throttling.
//! Nothing here reached a real Kakao Cloud.

use gureum_conformance::{compute, Options};
use gureum_core::{Compute, ErrorKind, InstanceSpec, InstanceState, Registry, Size};
use gureum_openstack::kakao::KakaoCompute;
use gureum_testkit::sim::kakao_compute::{KakaoSim, KakaoSimConfig};
use std::time::Duration;

fn registry() -> Registry {
    let mut reg = Registry::new();
    gureum_openstack::register(&mut reg);
    reg
}

async fn open(sim: &KakaoSim, region: &str) -> Compute {
    registry()
        .open_compute(Some(&sim.url(region)))
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(50))
}

#[tokio::test]
async fn kakao_compute_conformance_on_spec_simulator() {
    let sim = KakaoSim::start(KakaoSimConfig::default()).await.unwrap();
    let c = open(&sim, "kr-central-2").await;
    let mut opts = Options::default()
        .backend("kakao-compute (BCS spec simulator)")
        .target(gureum_conformance::certify::Target::Simulator);
    opts.compute_timeout = Duration::from_secs(20);
    let report = compute::run(&c, &opts).await;
    println!("{}", report.to_markdown());
    assert_eq!(report.failed(), 0, "{}", report.to_markdown());
    // One token for the whole run (12 h lifetime): the session cached it.
    assert_eq!(sim.auth_requests(), 1);
}

#[tokio::test]
async fn lifecycle_idempotency_and_error_mapping() {
    let sim = KakaoSim::start(KakaoSimConfig::default()).await.unwrap();
    let c = open(&sim, "kr-central-2").await;
    // Portable size → the smallest Kakao instance type that fits; alias → image id.
    let spec = InstanceSpec::new("kc-one")
        .size(Size::vcpus(2).memory_gib(4))
        .image("ubuntu-22.04")
        .tag("team", "civic")
        .idempotency_token("tok-1");
    let a = c.create(spec.clone()).await.unwrap();
    assert_eq!(a.size.as_deref(), Some("6d1f2a1e-0003"), "m2a.large");
    assert_eq!(a.image.as_deref(), Some("b1e3-ubuntu-2204"));
    assert_eq!(a.tags.get("team").map(String::as_str), Some("civic"));
    assert!(!a.tags.contains_key(gureum_openstack::kakao::TOKEN_KEY));
    // The same token: the same instance, no second POST.
    let b = c.create(spec).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(sim.create_requests(), 1);
    let a = c
        .wait_until(&a.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(a.provider_state, "active");
    // Stop twice: the second is a no-op, not an error.
    c.stop(&a.id).await.unwrap();
    c.wait_until(&a.id, InstanceState::Stopped, Duration::from_secs(10))
        .await
        .unwrap();
    c.stop(&a.id).await.unwrap();
    // Reboot of a stopped instance: PreconditionFailed with BCS's 409.
    let e = c.reboot(&a.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    assert_eq!(e.provider_code(), Some("409"));
    // A flavor by Kakao name is accepted; unknown sizes and images are InvalidArgument
    // before any request.
    let n = sim.create_requests();
    let x = c
        .create(
            InstanceSpec::new("kc-two")
                .size("t1i.small")
                .image("rocky-9"),
        )
        .await
        .unwrap();
    assert_eq!(x.size.as_deref(), Some("6d1f2a1e-0002"));
    for bad in [
        InstanceSpec::new("kc-bad").size("no-such-type"),
        InstanceSpec::new("kc-bad").image("windows-95"),
        InstanceSpec::new("kc-bad").size(Size::vcpus(64).memory_gib(512)),
        InstanceSpec::new(""),
    ] {
        let e = c.create(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(sim.create_requests(), n + 1);
    // Missing instances: NotFound with the request id; terminate of a missing one succeeds.
    let e = c
        .get("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.provider_code(), Some("404"));
    assert!(
        e.request_id().is_some_and(|r| r.starts_with("req-")),
        "{e:?}"
    );
    assert!(e.message().contains("could not be found"), "{e}");
    c.terminate("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap();
    assert_eq!(
        c.get("../etc").await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Throttling: 429 + Retry-After is retried by the shared HTTP layer.
    sim.throttle_next(2);
    assert_eq!(c.get(&x.id).await.unwrap().id, x.id);
    // Expired token: 401, one re-authentication, the call succeeds.
    let auths = sim.auth_requests();
    sim.expire_all_tokens();
    assert_eq!(c.get(&x.id).await.unwrap().id, x.id);
    assert_eq!(sim.auth_requests(), auths + 1);
    // A build that fails ends in Error.
    let f = c
        .create(InstanceSpec::new("kc-fault").image("fault-image"))
        .await
        .unwrap();
    let f = c
        .wait_until(&f.id, InstanceState::Error, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(f.provider_state, "error");
    for id in [&a.id, &x.id, &f.id] {
        c.terminate(id).await.unwrap();
    }
    c.wait_until(&a.id, InstanceState::Terminated, Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn regions_credentials_and_endpoints() {
    let sim = KakaoSim::start(KakaoSimConfig::default()).await.unwrap();
    let reg = registry();
    assert!(reg
        .schemes(gureum_core::Service::Compute)
        .contains(&"kakao-compute".to_string()));
    // The gov region: recognised without gov=true; BCS endpoint from the gov template; the
    // gov IAM endpoint is unconfirmed, so auth_url is required.
    let (id, secret) = sim.access_key();
    let cred = format!("application_credential_id={id}&application_credential_secret={secret}");
    let e = reg
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-gov-central-1&{cred}"
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("auth_url"), "{e}");
    let c = reg
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-gov-central-1&auth_url={}&{cred}",
            sim.auth_url()
        )))
        .await
        .unwrap();
    let k = c.native::<KakaoCompute>().unwrap();
    assert_eq!(
        k.base_url().as_str(),
        "https://bcs.kr-gov-central-1.kakaocloud-kr-gov.com/api/v1"
    );
    assert_eq!(k.region(), "kr-gov-central-1");
    // Public default endpoint and IAM URL.
    let c = reg
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-central-2&{cred}"
        )))
        .await
        .unwrap();
    let k = c.native::<KakaoCompute>().unwrap();
    assert_eq!(
        k.base_url().as_str(),
        "https://bcs.kr-central-2.kakaocloud.com/api/v1"
    );
    assert_eq!(
        k.session().options().auth_url.as_str(),
        "https://iam.kakaocloud.com/identity/v3"
    );
    // Unknown region, a password instead of an access key, another preset, a host part.
    for (url, needle) in [
        (
            format!("kakao-compute://?region=us-east-1&{cred}"),
            "kr-central-2",
        ),
        (
            "kakao-compute://?region=kr-central-2&username=u&password=p".to_string(),
            "application_credential",
        ),
        (format!("kakao-compute://?preset=nhn&{cred}"), "preset"),
        (format!("kakao-compute://myhost?{cred}"), "no host"),
    ] {
        let e = reg.open_compute(Some(&url)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url}: {e}");
        assert!(e.message().contains(needle), "{url}: {e}");
        assert!(!e.message().contains(&secret), "{e}");
    }
    // Plain http off loopback is refused.
    let e = reg
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-central-2&bcs_url=http://bcs.example.com/api/v1&{cred}"
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    // A wrong secret: Unauthenticated on first use.
    let c = reg
        .open_compute(Some(&format!(
            "kakao-compute://?region=kr-central-2&auth_url={}&bcs_url={}&application_credential_id={id}&application_credential_secret=wrong",
            sim.auth_url(),
            sim.bcs_url()
        )))
        .await
        .unwrap();
    assert_eq!(
        c.sizes().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
}
