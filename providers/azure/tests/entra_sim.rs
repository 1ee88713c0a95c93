//! Entra ID client-secret auth for Storage REST calls, with the token served by the ARM
//! simulator's Entra ID v2 token endpoint (Azurite accepts bearer tokens only over https,
//! so the storage call itself is not made).

use gureum_azure::auth::Credential;
use gureum_azure::config::AccountConfig;
use gureum_core::url::ResourceUrl;
use gureum_testkit::sim::azure::{ArmSimulator, SimConfig};
use http::{HeaderMap, Method};

#[tokio::test]
async fn storage_entra_client_secret_token_from_configurable_authority() {
    let sim = ArmSimulator::start(SimConfig::default()).await.unwrap();
    let c = sim.config().clone();
    let url = format!(
        "azqueue://q1?account=acct1&endpoint=http://127.0.0.1:9/acct1&queue_endpoint=http://127.0.0.1:9/acct1\
         &credential=entra&client_id={}&client_secret={}&tenant_id={}&authority_host={}",
        c.client_id,
        c.client_secret,
        c.tenant,
        sim.endpoint()
    );
    let ru = ResourceUrl::parse(&url).unwrap();
    assert!(
        !ru.to_string().contains(&c.client_secret),
        "secret redacted in Display"
    );
    let cfg = AccountConfig::from_url(&ru).unwrap();
    assert!(!format!("{cfg:?}").contains(&c.client_secret));
    let cred = cfg.credential().unwrap();
    assert!(matches!(cred, Credential::Entra(_)));
    let mut u = url::Url::parse("http://127.0.0.1:9/acct1/q1/messages").unwrap();
    let mut h = HeaderMap::new();
    cred.authorize("acct1", &Method::GET, &mut u, &mut h)
        .await
        .unwrap();
    let auth = h.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.starts_with("Bearer sim."), "{auth}");
    assert!(h.contains_key("x-ms-version") && h.contains_key("x-ms-date"));
    assert_eq!(sim.tokens_issued(), 1);

    // a wrong secret fails as Unauthenticated, without leaking it
    let bad = url.replace(&c.client_secret, "not-the-secret");
    let cred = AccountConfig::from_url(&ResourceUrl::parse(&bad).unwrap())
        .unwrap()
        .credential()
        .unwrap();
    let e = cred
        .authorize("acct1", &Method::GET, &mut u, &mut HeaderMap::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), gureum_core::ErrorKind::Unauthenticated, "{e}");
    assert!(!format!("{e:?}").contains("not-the-secret"));
}
