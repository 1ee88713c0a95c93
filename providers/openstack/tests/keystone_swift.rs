//! Real Keystone → real Swift: `swift://CONTAINER?cloud=sdc` through a clouds.yaml +
//! secure.yaml (found via `OS_CLIENT_CONFIG_FILE`) and through `OS_*` variables, against the
//! Swift proxy on :8081 whose authtoken + keystoneauth middleware validate every token with
//! the Keystone on :15001; then the storage conformance suite on that bucket.
//!
//! Own test binary: it sets process environment variables (once, before any client reads
//! them, through [`clouds`]).

use gureum_conformance::{storage, Options};
use gureum_core::url::ResourceUrl;
use gureum_core::{ErrorKind, Registry};
use gureum_testkit::keystone::{keystone, swift_keystone, KeystoneServer, TestUser};
use tokio::sync::OnceCell;

/// The fixture of this binary. Its domain stays in the test Keystone (whose state lives in
/// the test-server directory of the run), like the Swift account it owns.
struct Clouds {
    ks: KeystoneServer,
    user: TestUser,
}

/// One domain/project/user and one clouds.yaml for the whole binary: `sdc` (password, secret
/// in secure.yaml) and `sdc-ac` (application credential).
async fn clouds() -> Option<&'static Clouds> {
    static C: OnceCell<Option<Clouds>> = OnceCell::const_new();
    C.get_or_init(|| async {
        let ks = keystone()?;
        swift_keystone()?;
        let admin = ks.admin().await.expect("admin login");
        let user = admin.test_user("gt-kss").await.expect("test user");
        let app_cred = admin
            .create_app_credential(&user, "gureum-swift")
            .await
            .expect("application credential");
        let dir = std::env::temp_dir().join(gureum_testkit::unique("gureum-clouds"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("clouds.yaml"),
            format!(
                "clouds:\n  sdc:\n    auth:\n      auth_url: {url}\n      username: {u}\n      project_name: {p}\n      user_domain_name: {d}\n      project_domain_name: {d}\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n    allow_http: true\n  sdc-ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {url}\n      application_credential_id: {ac}\n    region_name: RegionOne\n    allow_http: true\n",
                url = ks.auth_url,
                u = user.user_name,
                p = user.project_name,
                d = user.domain_name,
                ac = app_cred.0,
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("secure.yaml"),
            format!(
                "clouds:\n  sdc:\n    auth:\n      password: {}\n  sdc-ac:\n    auth:\n      application_credential_secret: {}\n",
                user.password, app_cred.1
            ),
        )
        .unwrap();
        std::env::set_var("OS_CLIENT_CONFIG_FILE", dir.join("clouds.yaml"));
        Some(Clouds { ks, user })
    })
    .await
    .as_ref()
}

fn registry() -> Registry {
    let mut reg = Registry::new();
    gureum_openstack::register(&mut reg);
    reg
}

async fn ensure_container(b: &gureum_core::Bucket) {
    match b.admin().unwrap().create_bucket(b.name()).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create {}: {e}", b.name()),
    }
}

#[tokio::test]
async fn clouds_yaml_and_os_env_reach_swift_through_keystone() {
    let Some(c) = clouds().await else { return };
    let reg = registry();
    let container = gureum_testkit::unique("gt-ks-clouds");
    // Password cloud: the object-store endpoint comes from the real catalog (:8081).
    let b = reg
        .open_bucket(Some(&format!("swift://{container}?cloud=sdc")))
        .await
        .unwrap();
    ensure_container(&b).await;
    b.put("a/b.txt", b"through keystone".to_vec())
        .await
        .unwrap();
    let store = b.native::<gureum_openstack::SwiftStore>().unwrap();
    let account = store.session().endpoint("object-store").await.unwrap();
    assert!(
        account
            .as_str()
            .ends_with(&format!("/v1/AUTH_{}", c.user.project_id)),
        "{account}"
    );
    assert_eq!(account.port(), Some(8081));
    // Application-credential cloud: same project, so the same account and object.
    let b2 = reg
        .open_bucket(Some(&format!("swift://{container}?cloud=sdc-ac")))
        .await
        .unwrap();
    assert_eq!(
        b2.get("a/b.txt").await.unwrap().as_ref(),
        b"through keystone"
    );
    // OS_* variables when no cloud is named (the names the OpenStack CLI reads).
    for (k, v) in [
        ("OS_AUTH_URL", c.ks.auth_url.clone()),
        ("OS_USERNAME", c.user.user_name.clone()),
        ("OS_PASSWORD", c.user.password.clone()),
        ("OS_PROJECT_NAME", c.user.project_name.clone()),
        ("OS_USER_DOMAIN_NAME", c.user.domain_name.clone()),
        ("OS_PROJECT_DOMAIN_NAME", c.user.domain_name.clone()),
        ("OS_REGION_NAME", "RegionOne".into()),
        ("OS_INTERFACE", "public".into()),
    ] {
        std::env::set_var(k, v);
    }
    let b3 = gureum_openstack::open_swift(
        &ResourceUrl::parse(&format!("swift://{container}?allow_http=true")).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        b3.get("a/b.txt").await.unwrap().as_ref(),
        b"through keystone"
    );
    // A cloud that is not in the file names the ones that are.
    let e = reg
        .open_bucket(Some(&format!("swift://{container}?cloud=nope")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("sdc"), "{e}");
    b.delete("a/b.txt").await.unwrap();
    b.admin().unwrap().delete_bucket(b.name()).await.unwrap();
}

#[tokio::test]
async fn swift_behind_keystone_storage_conformance() {
    let Some(_c) = clouds().await else { return };
    let url = "swift://gureum-conformance-ks?cloud=sdc";
    let b = registry().open_bucket(Some(url)).await.unwrap();
    ensure_container(&b).await;
    // TempURL needs the account key: set it so presign is advertised and tested.
    let store = b.native::<gureum_openstack::SwiftStore>().unwrap();
    store
        .set_temp_url_key(secrecy::SecretString::from(
            "conformance-ks-key".to_string(),
        ))
        .await
        .unwrap();
    let b = registry().open_bucket(Some(url)).await.unwrap();
    assert!(b.capabilities().presign);
    let report = storage::run(
        &b,
        &Options::default()
            .backend("swift (SAIO 2.30 behind real Keystone 22, keystoneauth)")
            .target(gureum_conformance::certify::Target::Emulator),
    )
    .await;
    println!("{}", report.to_markdown());
    assert_eq!(report.failed(), 0, "{}", report.to_markdown());
}
