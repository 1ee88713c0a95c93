//! EC2 provider tests against moto (AWS_ENDPOINT_URL).

mod common;

use common::*;
use gureum_aws::open_ec2;
use gureum_core::{ErrorKind, InstanceSpec, InstanceState, Size};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test]
async fn lifecycle_tags_user_data_idempotency() {
    let Some(ep) = moto() else { return };
    let c = open_ec2(ec2(&ep)).await.unwrap();
    let run = unique("run");
    let token = unique("tok");
    let spec = InstanceSpec::new("gu-vm")
        .size(Size::vcpus(1))
        .image("ubuntu-22.04")
        .tag("run", &run)
        .tag("team", "civic")
        .user_data(b"#cloud-config\nruncmd: [echo hi]\n".to_vec())
        .idempotency_token(&token);
    let i = c.create(spec.clone()).await.unwrap();
    assert!(i.id.starts_with("i-"));
    assert_eq!(i.size.as_deref(), Some("t2.micro"));
    assert_eq!(i.image.as_deref(), Some("ami-12c6146b"));
    assert_eq!(i.name, "gu-vm");
    // same token → same instance
    let again = c.create(spec).await.unwrap();
    assert_eq!(again.id, i.id);

    let got = c
        .wait_until(&i.id, InstanceState::Running, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.tags.get("team").map(String::as_str), Some("civic"));
    assert!(!got.addresses.is_empty());

    let mut tags = BTreeMap::new();
    tags.insert("run".to_string(), run.clone());
    let listed = c.list_by_tags(&tags).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, i.id);

    let ud = c.user_data(&i.id).await.unwrap().unwrap();
    assert_eq!(&ud[..], b"#cloud-config\nruncmd: [echo hi]\n");

    c.stop(&i.id).await.unwrap();
    c.wait_until(&i.id, InstanceState::Stopped, Duration::from_secs(30))
        .await
        .unwrap();
    c.start(&i.id).await.unwrap();
    c.wait_until(&i.id, InstanceState::Running, Duration::from_secs(30))
        .await
        .unwrap();
    c.reboot(&i.id).await.unwrap();
    c.terminate(&i.id).await.unwrap();
    c.wait_until(&i.id, InstanceState::Terminated, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(c.list_by_tags(&tags).await.unwrap().is_empty());
}

#[tokio::test]
async fn errors_sizes_images() {
    let Some(ep) = moto() else { return };
    let c = open_ec2(ec2(&ep)).await.unwrap();
    let e = c.get("i-0123456789abcdef0").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.provider_code(), Some("InvalidInstanceID.NotFound"));
    assert!(e.request_id().is_some());
    c.terminate("i-0123456789abcdef0").await.unwrap();
    let e = c
        .create(InstanceSpec::new("x").image("no-such-alias"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").size(Size::vcpus(1024)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(c.sizes().await.unwrap().iter().any(|s| s.id == "t2.micro"));
    let imgs = c.images().await.unwrap();
    assert!(imgs
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04") && i.id == "ami-12c6146b"));
}

#[tokio::test]
async fn url_opener() {
    let Some(ep) = moto() else { return };
    let mut reg = gureum_core::Registry::new();
    gureum_aws::register(&mut reg);
    let c = reg
        .open_compute(Some(&format!(
            "ec2://us-east-1?endpoint={ep}&image.ubuntu-22.04=ami-12c6146b"
        )))
        .await
        .unwrap();
    let run = unique("url");
    let i = c
        .create(InstanceSpec::new("u").tag("run", &run))
        .await
        .unwrap();
    c.terminate(&i.id).await.unwrap();
}
