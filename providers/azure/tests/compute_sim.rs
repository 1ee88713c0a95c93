//! Azure VMs against the in-process ARM simulator (spec-simulated; no emulator needed).

use gureum_core::{ErrorKind, InstanceSpec, InstanceState, Registry, Size};
use gureum_testkit::sim::azure::{ArmSimulator, SimConfig};
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn vm_lifecycle_states_tags_user_data() {
    let sim = ArmSimulator::start(SimConfig::default()).await.unwrap();
    let c = registry()
        .open_compute(Some(&sim.compute_url()))
        .await
        .unwrap();
    let sizes = c.sizes().await.unwrap();
    assert!(sizes.iter().any(|s| s.id == "Standard_B1s"));
    let vm = c
        .create(
            InstanceSpec::new("ocr-worker")
                .size(Size::vcpus(2).memory_gib(4))
                .image("ubuntu-22.04")
                .tag("app", "ocr")
                .user_data(b"#cloud-config\nruncmd: [echo hi]\n".to_vec())
                .idempotency_token("tok-1"),
        )
        .await
        .unwrap();
    assert_eq!(vm.id, "ocr-worker");
    assert_eq!(vm.size.as_deref(), Some("Standard_B2s"));
    assert_eq!(vm.state, InstanceState::Running, "{}", vm.provider_state);
    assert_eq!(vm.tags.get("app").map(String::as_str), Some("ocr"));
    assert!(!vm.tags.contains_key(gureum_azure::compute::TOKEN_TAG));
    assert_eq!(vm.addresses.len(), 1);
    assert!(vm.image.as_deref().unwrap().starts_with("Canonical:"));
    assert_eq!(
        c.user_data("ocr-worker").await.unwrap().as_deref(),
        Some(&b"#cloud-config\nruncmd: [echo hi]\n"[..])
    );
    // idempotent create by token; same name with another token is refused
    let again = c
        .create(
            InstanceSpec::new("ocr-worker")
                .size(Size::vcpus(2).memory_gib(4))
                .idempotency_token("tok-1"),
        )
        .await
        .unwrap();
    assert_eq!(again.id, vm.id);
    let e = c
        .create(InstanceSpec::new("ocr-worker").idempotency_token("tok-2"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);

    c.stop("ocr-worker").await.unwrap();
    let i = c
        .wait_until("ocr-worker", InstanceState::Stopped, T)
        .await
        .unwrap();
    assert!(
        i.provider_state.ends_with("deallocated"),
        "{}",
        i.provider_state
    );
    // restart of a stopped VM: OperationNotAllowed, with request id
    let e = c.reboot("ocr-worker").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.provider_code(), Some("OperationNotAllowed"));
    assert!(e.request_id().is_some());
    c.start("ocr-worker").await.unwrap();
    c.wait_until("ocr-worker", InstanceState::Running, T)
        .await
        .unwrap();
    c.reboot("ocr-worker").await.unwrap();
    c.wait_until("ocr-worker", InstanceState::Running, T)
        .await
        .unwrap();

    // list (with paging: page size 2) and tag filter
    for n in ["w2", "w3"] {
        c.create(InstanceSpec::new(n).tag("app", "other"))
            .await
            .unwrap();
    }
    assert_eq!(c.list().await.unwrap().len(), 3);
    let mut f = std::collections::BTreeMap::new();
    f.insert("app".to_string(), "ocr".to_string());
    let l = c.list_by_tags(&f).await.unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, "ocr-worker");

    // terminate: VM and its NIC go away; terminate again is fine; get is NotFound
    for n in ["ocr-worker", "w2", "w3"] {
        c.terminate(n).await.unwrap();
    }
    c.terminate("ocr-worker").await.unwrap();
    let e = c.get("ocr-worker").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.provider_code(), Some("ResourceNotFound"));
    assert_eq!(sim.nic_count(), 0);
    // one token for the whole run (cached)
    assert_eq!(sim.tokens_issued(), 1);
}

#[tokio::test]
async fn no_wait_mode_walks_states() {
    let sim = ArmSimulator::start(SimConfig {
        op_duration: Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = registry()
        .open_compute(Some(&format!(
            "{}&wait=false&stop_mode=poweroff",
            sim.compute_url()
        )))
        .await
        .unwrap();
    let vm = c.create(InstanceSpec::new("nw")).await.unwrap();
    assert_eq!(vm.state, InstanceState::Pending);
    c.wait_until("nw", InstanceState::Running, T).await.unwrap();
    c.stop("nw").await.unwrap();
    assert_eq!(c.get("nw").await.unwrap().state, InstanceState::Stopping);
    let s = c.wait_until("nw", InstanceState::Stopped, T).await.unwrap();
    assert!(
        s.provider_state.ends_with("/stopped"),
        "{}",
        s.provider_state
    );
    c.terminate("nw").await.unwrap();
    assert_eq!(c.get("nw").await.unwrap().state, InstanceState::Terminating);
    c.wait_until("nw", InstanceState::Terminated, T)
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_auth_and_failed_provisioning() {
    let sim = ArmSimulator::start(SimConfig::default()).await.unwrap();
    let r = registry();
    // bad secret
    let bad = sim
        .compute_url()
        .replace("client_secret=sim-secret-value", "client_secret=wrong");
    let c = r.open_compute(Some(&bad)).await.unwrap();
    let e = c.list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(e.provider_code(), Some("invalid_client"));
    assert!(!e.to_string().contains("wrong"));
    // unknown resource group
    let c = r
        .open_compute(Some(
            &sim.compute_url().replace("/gureum-rg?", "/no-such-rg?"),
        ))
        .await
        .unwrap();
    let e = c.list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.provider_code(), Some("ResourceGroupNotFound"));
    // invalid size / image
    let c = r.open_compute(Some(&sim.compute_url())).await.unwrap();
    let e = c
        .create(InstanceSpec::new("x").size(Size::vcpus(64)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").size("Standard_Nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").image("plan9"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // failed provisioning surfaces the operation error and the Error state
    let e = c
        .create(InstanceSpec::new("doomed").image("Canonical:x:fail-provisioning:latest"))
        .await
        .unwrap_err();
    assert_eq!(e.provider_code(), Some("OSProvisioningTimedOut"), "{e}");
    assert_eq!(c.get("doomed").await.unwrap().state, InstanceState::Error);
    c.terminate("doomed").await.unwrap();
    // expired token: re-authenticates transparently
    let before = sim.tokens_issued();
    sim.expire_tokens();
    c.list().await.unwrap();
    assert_eq!(sim.tokens_issued(), before + 1);
}
