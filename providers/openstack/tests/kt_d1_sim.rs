//! The KT Cloud D1 preset (`nova://?preset=ktcloud`) through the Keystone/Nova/Glance
//! simulator in KT's D1 path layout (`Layout::KtD1`: `/d1/identity/auth/tokens`,
//! `/d1/server/...` without a project id, `/d1/image/v2/images`, tokens without a catalog).
//! The layout comes from 3rd-party code (cloud-barista's ktcloudvpc driver) and is
//! **unconfirmed** against KT's own documents.

use gureum_conformance::{compute, Options};
use gureum_core::url::ResourceUrl;
use gureum_core::ErrorKind;
use gureum_openstack::CloudConfig;
use gureum_testkit::sim::openstack::{Layout, SimConfig, Simulator};
use std::time::Duration;

async fn d1() -> Simulator {
    Simulator::start(SimConfig {
        layout: Layout::KtD1,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn url(sim: &Simulator) -> String {
    format!(
        "nova://?preset=ktcloud&auth_url={}&username=ocr&password=ocr-pass&project_name=civic&user_domain_name=Default&project_domain_name=Default",
        sim.v3_auth_url()
    )
}

#[tokio::test]
async fn kt_d1_preset_defaults() {
    let c = CloudConfig::from_url(
        &ResourceUrl::parse("nova://?preset=kt&username=u&password=p&project_name=x").unwrap(),
    )
    .unwrap();
    assert_eq!(
        c.auth.auth_url.as_str(),
        "https://api.ucloudbiz.olleh.com/d1/identity/"
    );
    assert_eq!(c.auth.region.as_deref(), Some("DX-M1"));
    assert_eq!(
        gureum_openstack::auth::fill_endpoint(
            &c.auth.endpoint_fallback["compute"],
            &c.auth.auth_url,
            "DX-M1",
            "p"
        ),
        "https://api.ucloudbiz.olleh.com/d1/server"
    );
    assert!(!c.preset.unconfirmed.is_empty());
}

#[tokio::test]
async fn kt_d1_compute_conformance_on_d1_layout_simulator() {
    let sim = d1().await;
    let c = gureum_openstack::open_nova(&ResourceUrl::parse(&url(&sim)).unwrap())
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(50));
    // Flavors from /d1/server/flavors/detail, images from /d1/image/v2/images.
    assert_eq!(c.sizes().await.unwrap().len(), 5);
    assert!(c
        .images()
        .await
        .unwrap()
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
    let n = c.native::<gureum_openstack::NovaDriver>().unwrap();
    let ep = n.session().endpoint("compute").await.unwrap();
    assert_eq!(ep.path(), "/d1/server");
    let mut opts = Options::default()
        .backend("nova, KT Cloud D1 preset (D1-layout spec simulator)")
        .target(gureum_conformance::certify::Target::Simulator);
    opts.compute_timeout = Duration::from_secs(20);
    let report = compute::run(&c, &opts).await;
    println!("{}", report.to_markdown());
    assert_eq!(report.failed(), 0, "{}", report.to_markdown());
}

#[tokio::test]
async fn standard_paths_are_not_served_in_the_d1_layout() {
    let sim = d1().await;
    // The generic preset looks for /v3/auth/tokens under the D1 identity URL's parent...
    let generic = format!(
        "nova://?auth_url={}/identity/v3&username=ocr&password=ocr-pass&project_name=civic&user_domain_name=Default&project_domain_name=Default",
        sim.base_url()
    );
    let c = gureum_openstack::open_nova(&ResourceUrl::parse(&generic).unwrap())
        .await
        .unwrap();
    let e = c.sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // ...and without the preset's D1 templates a catalog-less token has no compute endpoint.
    let plain = url(&sim).replace("preset=ktcloud&", "");
    let c = gureum_openstack::open_nova(&ResourceUrl::parse(&plain).unwrap())
        .await
        .unwrap();
    let e = c.sizes().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("compute"), "{e}");
}
