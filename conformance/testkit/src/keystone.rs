//! The real Keystone test server (`scripts/emulators.sh start keystone`, port 15001) and an
//! admin client that creates the fixtures each test needs (domains, projects, users, role
//! grants, application credentials, catalog entries) under unique names, and revokes tokens.
//!
//! The admin client is plain `reqwest` against the Keystone v3 API reference
//! (docs.openstack.org/api-ref/identity/v3): it shares nothing with the driver under test.

use serde_json::{json, Value};
use std::time::Duration;

/// The real Keystone from the environment written by `scripts/emulators.sh env`.
#[derive(Debug, Clone)]
pub struct KeystoneServer {
    /// `KEYSTONE_AUTH_URL`, e.g. `http://127.0.0.1:15001/v3`.
    pub auth_url: String,
    /// `KEYSTONE_ADMIN_USER` (default `admin`, domain `Default`, project `admin`).
    pub admin_user: String,
    /// `KEYSTONE_ADMIN_PASSWORD` (a test password of the loopback Keystone).
    pub admin_password: String,
    /// Token lifetime configured in the server (`KEYSTONE_TOKEN_TTL`, seconds).
    pub token_ttl: Duration,
}

/// The real Keystone (`KEYSTONE_AUTH_URL`, `KEYSTONE_ADMIN_PASSWORD`), or `None` (skip; a
/// failure when `GUREUM_REQUIRE_EMULATORS=1`).
pub fn keystone() -> Option<KeystoneServer> {
    let auth_url = crate::env::var("KEYSTONE_AUTH_URL")?;
    crate::env::assert_loopback(&auth_url);
    Some(KeystoneServer {
        auth_url: auth_url.trim_end_matches('/').to_string(),
        admin_user: crate::env::var_or("KEYSTONE_ADMIN_USER", "admin"),
        admin_password: crate::env::var("KEYSTONE_ADMIN_PASSWORD")?,
        token_ttl: Duration::from_secs(
            crate::env::var_or("KEYSTONE_TOKEN_TTL", "20")
                .parse()
                .unwrap_or(20),
        ),
    })
}

/// The Swift proxy behind the real Keystone (`SWIFT_KEYSTONE_ENDPOINT`, port 8081), or `None`.
pub fn swift_keystone() -> Option<String> {
    let ep = crate::env::var("SWIFT_KEYSTONE_ENDPOINT")?;
    crate::env::assert_loopback(&ep);
    Some(ep)
}

/// A failed admin call.
#[derive(Debug)]
pub struct AdminError(pub String);

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for AdminError {}

type R<T> = Result<T, AdminError>;

/// A Keystone admin session (a project-scoped admin token, renewed at half its lifetime:
/// the test Keystone issues short-lived tokens).
#[derive(Debug, Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
    ks: KeystoneServer,
    token: std::sync::Arc<std::sync::Mutex<(String, std::time::Instant)>>,
}

/// A user made for one test, with a project it is a `member` of.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Domain id.
    pub domain_id: String,
    /// Domain name.
    pub domain_name: String,
    /// Project id.
    pub project_id: String,
    /// Project name.
    pub project_name: String,
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// Password.
    pub password: String,
}

impl KeystoneServer {
    /// Log in as the admin.
    pub async fn admin(&self) -> R<Admin> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AdminError(e.to_string()))?;
        let token = self.admin_token(&http).await?;
        Ok(Admin {
            http,
            base: self.auth_url.clone(),
            ks: self.clone(),
            token: std::sync::Arc::new(std::sync::Mutex::new((token, std::time::Instant::now()))),
        })
    }

    async fn admin_token(&self, http: &reqwest::Client) -> R<String> {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.admin_user, "domain": {"id": "default"}, "password": self.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
        Ok(issue(http, &self.auth_url, &body).await?.0)
    }
}

/// `POST /auth/tokens`: (token, body).
async fn issue(http: &reqwest::Client, base: &str, body: &Value) -> R<(String, Value)> {
    let r = http
        .post(format!("{base}/auth/tokens"))
        .json(body)
        .send()
        .await
        .map_err(|e| AdminError(format!("POST /auth/tokens: {e}")))?;
    let status = r.status();
    let tok = r
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let v: Value = r.json().await.unwrap_or(Value::Null);
    match tok {
        Some(t) if status.is_success() => Ok((t, v)),
        _ => Err(AdminError(format!("POST /auth/tokens: HTTP {status}: {v}"))),
    }
}

impl Admin {
    /// A valid admin token (renewed when half of the configured lifetime has passed).
    pub async fn token(&self) -> R<String> {
        let (tok, at) = self
            .token
            .lock()
            .map_err(|_| AdminError("admin token lock".into()))?
            .clone();
        if at.elapsed() < self.ks.token_ttl / 2 {
            return Ok(tok);
        }
        let fresh = self.ks.admin_token(&self.http).await?;
        *self
            .token
            .lock()
            .map_err(|_| AdminError("admin token lock".into()))? =
            (fresh.clone(), std::time::Instant::now());
        Ok(fresh)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> R<Value> {
        let admin = self.token().await?;
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("x-auth-token", token.unwrap_or(&admin));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb
            .send()
            .await
            .map_err(|e| AdminError(format!("{method} {path}: {e}")))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(AdminError(format!(
                "{method} {path}: HTTP {status}: {text}"
            )));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| AdminError(format!("{method} {path}: {e}")))
    }

    fn id(v: &Value, kind: &str) -> R<String> {
        v[kind]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| AdminError(format!("no {kind}.id in {v}")))
    }

    /// Create a domain.
    pub async fn create_domain(&self, name: &str) -> R<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/domains",
                Some(json!({"domain": {"name": name}})),
                None,
            )
            .await?;
        Self::id(&v, "domain")
    }

    /// Create a project in a domain.
    pub async fn create_project(&self, name: &str, domain_id: &str) -> R<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/projects",
                Some(json!({"project": {"name": name, "domain_id": domain_id}})),
                None,
            )
            .await?;
        Self::id(&v, "project")
    }

    /// Create a user in a domain.
    pub async fn create_user(&self, name: &str, domain_id: &str, password: &str) -> R<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/users",
                Some(json!({"user": {"name": name, "domain_id": domain_id, "password": password}})),
                None,
            )
            .await?;
        Self::id(&v, "user")
    }

    /// Enable or disable a user (disabling revokes its tokens).
    pub async fn set_user_enabled(&self, user_id: &str, enabled: bool) -> R<()> {
        self.call(
            reqwest::Method::PATCH,
            &format!("/users/{user_id}"),
            Some(json!({"user": {"enabled": enabled}})),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Change a user's password (Keystone revokes the user's tokens).
    pub async fn set_password(&self, user_id: &str, password: &str) -> R<()> {
        self.call(
            reqwest::Method::PATCH,
            &format!("/users/{user_id}"),
            Some(json!({"user": {"password": password}})),
            None,
        )
        .await
        .map(|_| ())
    }

    /// The id of a role by name (`member`, `admin`, `reader`).
    pub async fn role_id(&self, name: &str) -> R<String> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/roles?name={name}"),
                None,
                None,
            )
            .await?;
        v["roles"][0]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| AdminError(format!("no role {name}")))
    }

    /// Grant a role on a project.
    pub async fn grant_project(&self, project_id: &str, user_id: &str, role: &str) -> R<()> {
        let rid = self.role_id(role).await?;
        self.call(
            reqwest::Method::PUT,
            &format!("/projects/{project_id}/users/{user_id}/roles/{rid}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// Grant a role on a domain.
    pub async fn grant_domain(&self, domain_id: &str, user_id: &str, role: &str) -> R<()> {
        let rid = self.role_id(role).await?;
        self.call(
            reqwest::Method::PUT,
            &format!("/domains/{domain_id}/users/{user_id}/roles/{rid}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// A new domain with a project and a user that is `member` of the project.
    pub async fn test_user(&self, prefix: &str) -> R<TestUser> {
        let n = crate::unique(prefix);
        let domain_id = self.create_domain(&format!("{n}-dom")).await?;
        let project_id = self
            .create_project(&format!("{n}-proj"), &domain_id)
            .await?;
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let user_id = self
            .create_user(&format!("{n}-user"), &domain_id, &password)
            .await?;
        self.grant_project(&project_id, &user_id, "member").await?;
        Ok(TestUser {
            domain_name: format!("{n}-dom"),
            domain_id,
            project_name: format!("{n}-proj"),
            project_id,
            user_name: format!("{n}-user"),
            user_id,
            password,
        })
    }

    /// Remove a test user's domain (disable, then delete: projects and users go with it).
    ///
    /// The user's application credentials are deleted one by one first: Keystone 22 on
    /// sqlite removes them in bulk with the user and leaves their role rows behind (sqlite
    /// enforces no cascade), and a later credential that reuses the internal id then fails
    /// with a duplicate-entry 409.
    pub async fn delete_test_user(&self, u: &TestUser) -> R<()> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/users/{}/application_credentials", u.user_id),
                None,
                None,
            )
            .await?;
        for ac in v["application_credentials"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = ac["id"].as_str() {
                self.delete_app_credential(u, id).await?;
            }
        }
        self.call(
            reqwest::Method::PATCH,
            &format!("/domains/{}", u.domain_id),
            Some(json!({"domain": {"enabled": false}})),
            None,
        )
        .await?;
        self.call(
            reqwest::Method::DELETE,
            &format!("/domains/{}", u.domain_id),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// Log in as a test user, scoped to its project: (token, token body).
    pub async fn login(&self, u: &TestUser) -> R<(String, Value)> {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": u.user_id, "password": u.password}}},
            "scope": {"project": {"id": u.project_id}}}});
        issue(&self.http, &self.base, &body).await
    }

    /// Create an application credential of a test user (made with the user's own token, as
    /// Keystone requires): (id, secret).
    pub async fn create_app_credential(&self, u: &TestUser, name: &str) -> R<(String, String)> {
        let (tok, _) = self.login(u).await?;
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/users/{}/application_credentials", u.user_id),
                // Roles named explicitly: Keystone 22 on sqlite otherwise copies the token's
                // role list, which can hold an implied role twice (a UNIQUE failure, 409).
                Some(json!({"application_credential": {"name": name, "roles": [{"name": "member"}]}})),
                Some(&tok),
            )
            .await?;
        let ac = &v["application_credential"];
        match (ac["id"].as_str(), ac["secret"].as_str()) {
            (Some(i), Some(s)) => Ok((i.to_string(), s.to_string())),
            _ => Err(AdminError(format!("no id/secret in {v}"))),
        }
    }

    /// Delete an application credential (its tokens are revoked).
    pub async fn delete_app_credential(&self, u: &TestUser, id: &str) -> R<()> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/users/{}/application_credentials/{id}", u.user_id),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// Revoke a token (`DELETE /auth/tokens`).
    pub async fn revoke(&self, token: &str) -> R<()> {
        let r = self
            .http
            .delete(format!("{}/auth/tokens", self.base))
            .header("x-auth-token", self.token().await?)
            .header("x-subject-token", token)
            .send()
            .await
            .map_err(|e| AdminError(format!("DELETE /auth/tokens: {e}")))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(AdminError(format!(
                "DELETE /auth/tokens: HTTP {}",
                r.status()
            )))
        }
    }

    /// Whether Keystone accepts a token (`GET /auth/tokens`: 200, or 404/401 when it is
    /// expired, revoked or unknown).
    pub async fn token_valid(&self, token: &str) -> R<bool> {
        let r = self
            .http
            .get(format!("{}/auth/tokens", self.base))
            .header("x-auth-token", self.token().await?)
            .header("x-subject-token", token)
            .send()
            .await
            .map_err(|e| AdminError(format!("GET /auth/tokens: {e}")))?;
        Ok(r.status().is_success())
    }

    /// Create a region.
    pub async fn create_region(&self, id: &str) -> R<()> {
        self.call(
            reqwest::Method::POST,
            "/regions",
            Some(json!({"region": {"id": id}})),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Create a catalog service of `service_type` with endpoints `(interface, region, url)`;
    /// returns the service id (delete it with [`Admin::delete_service`]).
    pub async fn create_service(
        &self,
        service_type: &str,
        endpoints: &[(&str, &str, &str)],
    ) -> R<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/services",
                Some(json!({"service": {"type": service_type, "name": service_type}})),
                None,
            )
            .await?;
        let sid = Self::id(&v, "service")?;
        for (iface, region, url) in endpoints {
            self.call(
                reqwest::Method::POST,
                "/endpoints",
                Some(json!({"endpoint": {"service_id": sid, "interface": iface, "region_id": region, "url": url}})),
                None,
            )
            .await?;
        }
        Ok(sid)
    }

    /// Delete a service (and its endpoints).
    pub async fn delete_service(&self, id: &str) -> R<()> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/endpoints?service_id={id}"),
                None,
                None,
            )
            .await?;
        for e in v["endpoints"].as_array().into_iter().flatten() {
            if let Some(eid) = e["id"].as_str() {
                self.call(
                    reqwest::Method::DELETE,
                    &format!("/endpoints/{eid}"),
                    None,
                    None,
                )
                .await?;
            }
        }
        self.call(
            reqwest::Method::DELETE,
            &format!("/services/{id}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// Delete a region.
    pub async fn delete_region(&self, id: &str) -> R<()> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/regions/{id}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }
}
