//! `?cloud=NAME` through a clouds.yaml + secure.yaml found via OS_CLIENT_CONFIG_FILE, against
//! the Keystone/Nova simulator (own test binary: it sets process environment variables).

use gureum_core::url::ResourceUrl;
use gureum_core::{ErrorKind, Registry};
use gureum_testkit::sim::openstack::{SimConfig, Simulator};

#[tokio::test]
async fn cloud_from_clouds_yaml_and_os_env() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("gureum-clouds-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("clouds.yaml"),
        format!(
            "clouds:\n  sdc:\n    auth:\n      auth_url: {}\n      username: ocr\n      project_name: civic\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: public\n",
            sim.v3_auth_url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("secure.yaml"),
        "clouds:\n  sdc:\n    auth:\n      password: ocr-pass\n",
    )
    .unwrap();
    std::env::set_var("OS_CLIENT_CONFIG_FILE", dir.join("clouds.yaml"));
    let mut reg = Registry::new();
    gureum_openstack::register(&mut reg);
    let c = reg.open_compute(Some("nova://?cloud=sdc")).await.unwrap();
    assert_eq!(c.sizes().await.unwrap().len(), 5);
    let e = reg
        .open_compute(Some("nova://?cloud=nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("sdc"), "{e}");

    // OS_* variables when no cloud is named.
    std::env::remove_var("OS_CLIENT_CONFIG_FILE");
    for (k, v) in [
        ("OS_AUTH_URL", sim.v3_auth_url()),
        ("OS_USERNAME", "ocr".into()),
        ("OS_PASSWORD", "ocr-pass".into()),
        ("OS_PROJECT_NAME", "civic".into()),
        ("OS_USER_DOMAIN_NAME", "Default".into()),
        ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
        ("OS_REGION_NAME", "RegionOne".into()),
    ] {
        std::env::set_var(k, v);
    }
    let c = gureum_openstack::open_nova(&ResourceUrl::parse("nova://").unwrap())
        .await
        .unwrap();
    assert_eq!(c.sizes().await.unwrap().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}
