//! Keystone v3 against a REAL Keystone (Debian python3-keystone 22 "Zed" on sqlite under uwsgi,
//! `scripts/emulators.sh start keystone`, port 15001, token lifetime `KEYSTONE_TOKEN_TTL`
//! seconds): password auth scoped to a project and to a domain, application credentials,
//! expiry and re-authentication, a revoked token (one re-authentication, then
//! `Unauthenticated` once the credential itself is gone), and catalog endpoint selection by
//! interface and region. Each test makes its own domain/project/user under a unique name.
//!
//! Keystone v2.0 is not served by current Keystone: it stays covered by the simulator tests
//! (`nova_sim.rs`).

use gureum_core::ErrorKind;
use gureum_openstack::auth::{AuthOptions, Credential, Interface, Scope, Session};
use gureum_testkit::keystone::{keystone, Admin, KeystoneServer, TestUser};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

fn opts(ks: &KeystoneServer, credential: Credential, scope: Scope) -> AuthOptions {
    let mut o = AuthOptions::new(Url::parse(&ks.auth_url).unwrap(), credential);
    o.scope = scope;
    o.allow_http = true;
    o
}

fn password_by_name(u: &TestUser) -> Credential {
    Credential::V3Password {
        user_id: None,
        username: Some(u.user_name.clone()),
        user_domain_id: None,
        user_domain_name: Some(u.domain_name.clone()),
        password: SecretString::from(u.password.clone()),
    }
}

fn project_scope(u: &TestUser) -> Scope {
    Scope {
        project_name: Some(u.project_name.clone()),
        project_domain_name: Some(u.domain_name.clone()),
        ..Default::default()
    }
}

/// An authenticated Keystone call through the provider's shared request path (token hook,
/// one re-authentication after a 401): the projects the token may use.
async fn my_projects(session: &Session) -> gureum_core::Result<Vec<String>> {
    let base = session.options().auth_url.as_str().trim_end_matches('/');
    let url = format!("{base}/auth/projects");
    let r = gureum_openstack::client::send(session, "identity", "GET auth/projects", true, |c| {
        c.get(&url)
    })
    .await?;
    let r = gureum_openstack::client::check(r, "identity", "GET auth/projects").await?;
    let v: serde_json::Value = r.json().await.unwrap();
    Ok(v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect())
}

async fn setup(prefix: &str) -> Option<(KeystoneServer, Admin, TestUser)> {
    let ks = keystone()?;
    let admin = ks.admin().await.expect("admin login");
    let user = admin.test_user(prefix).await.expect("test user");
    Some((ks, admin, user))
}

#[tokio::test]
async fn v3_password_project_scoped_by_name_and_by_id() {
    let Some((ks, admin, u)) = setup("gt-ksp").await else {
        return;
    };
    // By names (user in a non-default domain, project by name + domain name).
    let s = Session::new(opts(&ks, password_by_name(&u), project_scope(&u))).unwrap();
    let t = s.token().await.unwrap();
    assert_eq!(t.project_id.as_deref(), Some(u.project_id.as_str()));
    assert_eq!(t.domain_id, None);
    assert!(t.has_service("identity"), "{t:?}");
    assert!(t.has_service("object-store"), "{t:?}");
    let exp = t.expires_at.expect("Keystone reports expires_at");
    let life = (exp - t.issued_at).num_seconds();
    assert!(
        life <= ks.token_ttl.as_secs() as i64 + 1 && life > 0,
        "token lifetime {life}s, server configured {:?}",
        ks.token_ttl
    );
    assert!(admin.token_valid(t.secret().expose_secret()).await.unwrap());
    assert_eq!(my_projects(&s).await.unwrap(), vec![u.project_id.clone()]);

    // By ids.
    let c = Credential::V3Password {
        user_id: Some(u.user_id.clone()),
        username: None,
        user_domain_id: None,
        user_domain_name: None,
        password: SecretString::from(u.password.clone()),
    };
    let scope = Scope {
        project_id: Some(u.project_id.clone()),
        ..Default::default()
    };
    let s = Session::new(opts(&ks, c, scope)).unwrap();
    assert_eq!(
        s.token().await.unwrap().project_id.as_deref(),
        Some(u.project_id.as_str())
    );

    // A wrong password: Unauthenticated, and the password is not in the message.
    let bad = Credential::V3Password {
        user_id: None,
        username: Some(u.user_name.clone()),
        user_domain_id: None,
        user_domain_name: Some(u.domain_name.clone()),
        password: SecretString::from("not-the-password-4711".to_string()),
    };
    let s = Session::new(opts(&ks, bad, project_scope(&u))).unwrap();
    let e = s.token().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains("4711"), "{e}");
    assert!(!format!("{e:?}").contains("4711"));
    // A project the user has no role on: Unauthenticated too (Keystone answers 401).
    let other = admin
        .create_project(&format!("{}-other", u.project_name), &u.domain_id)
        .await
        .unwrap();
    let scope = Scope {
        project_id: Some(other),
        ..Default::default()
    };
    let s = Session::new(opts(&ks, password_by_name(&u), scope)).unwrap();
    assert_eq!(
        s.token().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    admin.delete_test_user(&u).await.unwrap();
}

#[tokio::test]
async fn v3_password_domain_scoped() {
    let Some((ks, admin, u)) = setup("gt-ksd").await else {
        return;
    };
    admin
        .grant_domain(&u.domain_id, &u.user_id, "member")
        .await
        .unwrap();
    for scope in [
        Scope {
            domain_name: Some(u.domain_name.clone()),
            ..Default::default()
        },
        Scope {
            domain_id: Some(u.domain_id.clone()),
            ..Default::default()
        },
    ] {
        let s = Session::new(opts(&ks, password_by_name(&u), scope)).unwrap();
        let t = s.token().await.unwrap();
        assert_eq!(t.domain_id.as_deref(), Some(u.domain_id.as_str()));
        assert_eq!(t.project_id, None);
    }
    // No role on the domain of another user: refused.
    let (_, admin2, u2) = setup("gt-ksd2").await.unwrap();
    let scope = Scope {
        domain_id: Some(u2.domain_id.clone()),
        ..Default::default()
    };
    let s = Session::new(opts(&ks, password_by_name(&u), scope)).unwrap();
    assert_eq!(
        s.token().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    admin2.delete_test_user(&u2).await.unwrap();
    admin.delete_test_user(&u).await.unwrap();
}

#[tokio::test]
async fn v3_application_credentials_by_id_and_by_name() {
    let Some((ks, admin, u)) = setup("gt-ksa").await else {
        return;
    };
    let (id, secret) = admin.create_app_credential(&u, "gureum-ac").await.unwrap();
    // By id; a scope in the options is not sent (an application credential carries its own).
    let c = Credential::V3ApplicationCredential {
        id: Some(id.clone()),
        name: None,
        user_id: None,
        username: None,
        user_domain_name: None,
        secret: SecretString::from(secret.clone()),
    };
    let s = Session::new(opts(&ks, c, project_scope(&u))).unwrap();
    let t = s.token().await.unwrap();
    assert_eq!(t.project_id.as_deref(), Some(u.project_id.as_str()));
    assert_eq!(my_projects(&s).await.unwrap(), vec![u.project_id.clone()]);
    // By name + user id, and by name + user name + domain.
    for c in [
        Credential::V3ApplicationCredential {
            id: None,
            name: Some("gureum-ac".into()),
            user_id: Some(u.user_id.clone()),
            username: None,
            user_domain_name: None,
            secret: SecretString::from(secret.clone()),
        },
        Credential::V3ApplicationCredential {
            id: None,
            name: Some("gureum-ac".into()),
            user_id: None,
            username: Some(u.user_name.clone()),
            user_domain_name: Some(u.domain_name.clone()),
            secret: SecretString::from(secret.clone()),
        },
    ] {
        let s = Session::new(opts(&ks, c, Scope::default())).unwrap();
        assert_eq!(
            s.token().await.unwrap().project_id.as_deref(),
            Some(u.project_id.as_str())
        );
    }
    // A wrong secret.
    let c = Credential::V3ApplicationCredential {
        id: Some(id),
        name: None,
        user_id: None,
        username: None,
        user_domain_name: None,
        secret: SecretString::from("wrong-secret".to_string()),
    };
    let s = Session::new(opts(&ks, c, Scope::default())).unwrap();
    assert_eq!(
        s.token().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    admin.delete_test_user(&u).await.unwrap();
}

#[tokio::test]
async fn token_expiry_and_reauthentication() {
    let Some((ks, admin, u)) = setup("gt-kse").await else {
        return;
    };
    let s = Session::new(opts(&ks, password_by_name(&u), project_scope(&u))).unwrap();
    my_projects(&s).await.unwrap();
    let t1 = s.token().await.unwrap();
    assert_eq!(s.auth_count(), 1);
    // Same token while it is fresh.
    assert!(Arc::ptr_eq(&t1, &s.token().await.unwrap()));
    // Wait past the real expiry (bounded: TTL + 3 s).
    let exp = t1.expires_at.unwrap();
    let wait = (exp - chrono::Utc::now()).num_milliseconds().max(0) as u64 + 1500;
    assert!(wait <= (ks.token_ttl.as_millis() as u64) + 3000);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    // Keystone itself no longer accepts the old token...
    assert!(!admin
        .token_valid(t1.secret().expose_secret())
        .await
        .unwrap());
    // ...and the session renewed before using it: the call succeeds with a new token.
    assert_eq!(my_projects(&s).await.unwrap(), vec![u.project_id.clone()]);
    let t2 = s.token().await.unwrap();
    assert_eq!(s.auth_count(), 2);
    assert_ne!(t1.secret().expose_secret(), t2.secret().expose_secret());
    assert!(t2.expires_at.unwrap() > exp);
    admin.delete_test_user(&u).await.unwrap();
}

#[tokio::test]
async fn revoked_token_reauthenticates_once_then_unauthenticated() {
    let Some((ks, admin, u)) = setup("gt-ksr").await else {
        return;
    };
    // 1. With an application credential and with a password: the token is revoked, the
    //    credential still valid. Keystone answers 401, the session re-authenticates exactly
    //    once and the call succeeds.
    let (ac_id, secret) = admin.create_app_credential(&u, "gureum-rev").await.unwrap();
    let ac = Credential::V3ApplicationCredential {
        id: Some(ac_id),
        name: None,
        user_id: None,
        username: None,
        user_domain_name: None,
        secret: SecretString::from(secret),
    };
    let sessions = [
        Session::new(opts(&ks, ac, Scope::default())).unwrap(),
        Session::new(opts(&ks, password_by_name(&u), project_scope(&u))).unwrap(),
    ];
    for s in &sessions {
        my_projects(s).await.unwrap();
        assert_eq!((s.auth_attempts(), s.auth_count()), (1, 1));
        let t1 = s.token().await.unwrap();
        admin.revoke(t1.secret().expose_secret()).await.unwrap();
        assert!(!admin
            .token_valid(t1.secret().expose_secret())
            .await
            .unwrap());
        assert_eq!(my_projects(s).await.unwrap(), vec![u.project_id.clone()]);
        assert_eq!((s.auth_attempts(), s.auth_count()), (2, 2));
        let t2 = s.token().await.unwrap();
        assert_ne!(t1.secret().expose_secret(), t2.secret().expose_secret());
    }

    // 2. The token is revoked AND the password changed: the call gets a 401, the session
    //    tries once more, Keystone refuses the old password, and the caller sees
    //    Unauthenticated: no loop, exactly one more authentication attempt.
    let s = &sessions[1];
    let t2 = s.token().await.unwrap();
    admin.revoke(t2.secret().expose_secret()).await.unwrap();
    admin
        .set_password(&u.user_id, "a-new-password-0815")
        .await
        .unwrap();
    let e = my_projects(s).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains(&u.password), "{e}");
    assert_eq!((s.auth_attempts(), s.auth_count()), (3, 2));
    // The next operation tries again (once), and fails the same way.
    let e = my_projects(s).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!((s.auth_attempts(), s.auth_count()), (4, 2));
    admin.delete_test_user(&u).await.unwrap();
}

#[tokio::test]
async fn catalog_endpoint_selection_by_interface_and_region() {
    let Some((ks, admin, u)) = setup("gt-ksc").await else {
        return;
    };
    let ty = gureum_testkit::unique("gt-svc");
    let region2 = gureum_testkit::unique("gt-reg");
    admin.create_region(&region2).await.unwrap();
    let svc = admin
        .create_service(
            &ty,
            &[
                ("public", "RegionOne", "http://127.0.0.1:9/r1-public"),
                ("internal", "RegionOne", "http://127.0.0.1:9/r1-internal"),
                ("admin", "RegionOne", "http://127.0.0.1:9/r1-admin"),
                ("public", &region2, "http://127.0.0.1:9/r2-public"),
            ],
        )
        .await
        .unwrap();
    let pick = |region: Option<&str>, iface: Interface| {
        let mut o = opts(&ks, password_by_name(&u), project_scope(&u));
        o.region = region.map(str::to_string);
        o.interface = iface;
        Session::new(o).unwrap()
    };
    for (region, iface, want) in [
        (Some("RegionOne"), Interface::Public, "/r1-public"),
        (Some("RegionOne"), Interface::Internal, "/r1-internal"),
        (Some("RegionOne"), Interface::Admin, "/r1-admin"),
        (Some(region2.as_str()), Interface::Public, "/r2-public"),
        (Some("regionone"), Interface::Internal, "/r1-internal"),
    ] {
        let s = pick(region, iface);
        let got = s.endpoint(&ty).await.unwrap();
        assert_eq!(got.path(), want, "{region:?} {iface:?}");
    }
    // The real identity and object-store endpoints from the bootstrap + fixtures.
    let s = pick(Some("RegionOne"), Interface::Internal);
    assert_eq!(
        s.endpoint("identity").await.unwrap().as_str(),
        format!("{}/", ks.auth_url)
    );
    let swift = s.endpoint("object-store").await.unwrap();
    assert!(
        swift
            .path()
            .ends_with(&format!("/v1/AUTH_{}", u.project_id)),
        "{swift}"
    );
    // Region 2 has no internal endpoint; an unknown region has none at all.
    let e = pick(Some(&region2), Interface::Internal)
        .endpoint(&ty)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("RegionOne/internal"), "{e}");
    let e = pick(Some("nowhere"), Interface::Public)
        .endpoint("object-store")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // A service type nobody registered.
    let e = pick(None, Interface::Public)
        .endpoint("gt-no-such-service")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    admin.delete_service(&svc).await.unwrap();
    admin.delete_region(&region2).await.unwrap();
    admin.delete_test_user(&u).await.unwrap();
}
