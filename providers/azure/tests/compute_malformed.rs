//! Hostile input from the server side (issue 19, item 4) for the Azure compute driver
//! (`azvm://`, Azure Resource Manager): a scripted loopback server answers every ARM call
//! with an HTML error page (as 200 and as 502), bad or cut-off JSON, a VM, list or size of the
//! wrong shape or with fields missing, a wrong `content-length` both ways, a 2 MiB header, a
//! body that never ends and a reply that is not HTTP; and answers the Entra ID token request
//! the same ways. Every call ends with a typed error (never `Other`, never a panic), no
//! invented VM or size is returned, and an endless body is abandoned at the HTTP layer's bound
//! (64 MiB; 1 MiB for the token answer).

use gureum_core::{Compute, Registry};
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, Sent, ENDLESS};

const JSON: &str = "content-type: application/json\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

fn url(base: &str, auth: &str) -> String {
    format!(
        "azvm://sub-1/rg-1?location=koreacentral&endpoint={base}&authority_host={base}{auth}&allow_http=true&retries=2&poll_ms=10&operation_timeout=5&ssh_public_key=ssh-ed25519%20AAAA%20k"
    )
}

fn arm_cases() -> Vec<(&'static str, Reply)> {
    let vm = r#"{"name": "vm-1", "properties": {"provisioningState": "Succeeded", "hardwareProfile": {"vmSize": "Standard_B2s"}}}"#;
    let full = format!(
        r#"{{"name": "vm-1", "properties": {{"provisioningState": "Succeeded", "userData": "aGk="}}, "value": [{vm}]}}"#
    );
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("cut json", Reply::ok(200, JSON, full[..40].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                JSON,
                r#"{"name": 5, "properties": "none", "value": {"name": "vm-1"}}"#,
            ),
        ),
        (
            "missing fields",
            Reply::ok(
                200,
                JSON,
                r#"{"properties": {"provisioningState": "Succeeded"}, "value": [{"properties": {}}, {"name": "Standard_B2s", "numberOfCores": 2}]}"#,
            ),
        ),
        ("empty object", Reply::ok(200, JSON, "{}")),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, JSON, full.clone(), full.len() / 2),
        ),
        (
            "huge header",
            Reply::huge_header(200, 2 << 20, full.clone()),
        ),
        (
            "endless",
            Reply::endless(200, JSON, r#"{"value": ["#, format!("{vm},"), ENDLESS),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ]
}

/// ARM on a scripted server answering every call with `reply` (a static access token: no
/// token request).
async fn arm_on(reply: Reply) -> (Compute, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let c = registry()
        .open_compute(Some(&url(&base, "&access_token=tk")))
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("azure-arm", bounded(3, 64 << 20))
        .run(
            arm_cases(),
            &["get", "list", "sizes", "user_data"],
            arm_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("vm-1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                "sizes" => c.sizes().await.map(|v| format!("{v:?}")),
                _ => {
                    // `properties.userData` missing is "no user data" (a VM created without
                    // it); the cases all lack a VM with a name and properties, so each of
                    // them must fail.
                    c.get("vm-1").await?;
                    c.user_data("vm-1").await.map(|v| format!("{v:?}"))
                }
            },
        )
        .await
        .finish();
}

/// Entra ID on a scripted server: the token request is answered with `reply`, ARM with a
/// correct VM.
async fn entra_on(reply: Reply) -> (Compute, Sent) {
    let (base, _seen, sent) = serve_raw(move |_, head| {
        if head
            .lines()
            .next()
            .unwrap_or("")
            .contains("/oauth2/v2.0/token")
        {
            reply.clone()
        } else {
            Reply::ok(
                200,
                JSON,
                r#"{"name": "vm-1", "properties": {"provisioningState": "Succeeded"}}"#,
            )
        }
    })
    .await;
    let c = registry()
        .open_compute(Some(&url(
            &base,
            "&tenant_id=t1&client_id=c1&client_secret=s1",
        )))
        .await
        .unwrap();
    (c, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_token_malformed_answers_are_typed_errors_with_bounded_memory() {
    let cases: Vec<(&str, Reply)> = vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("not json", Reply::ok(200, JSON, "<xml/>")),
        ("cut json", Reply::ok(200, JSON, r#"{"access_token": "ab"#)),
        (
            "wrong type",
            Reply::ok(200, JSON, r#"{"access_token": 5, "expires_in": "soon"}"#),
        ),
        ("no token", Reply::ok(200, JSON, r#"{"expires_in": 3600}"#)),
        (
            "long content-length",
            Reply::wrong_length(200, JSON, r#"{"access_token": "t"}"#, 4096),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, "{}")),
        (
            "endless",
            Reply::endless(200, JSON, r#"{"access_token": ""#, "a", ENDLESS),
        ),
        (
            "not http",
            Reply::Raw {
                head: "SSH-2.0-OpenSSH_9.6\r\n".into(),
                body: vec![],
            },
        ),
    ];
    // Attempts × the 1 MiB bound of a token answer, plus socket buffers.
    Malformed::new("azure-entra-token", bounded(3, 1 << 20))
        .run(cases, &["get"], entra_on, async |c: &Compute, _: &str| {
            c.get("vm-1").await
        })
        .await
        .finish();
}

/// A token answer whose `expires_in` is absurd (2^64 - 1 s) is held to one day: it used to
/// overflow the clock and panic inside `get`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_token_with_an_absurd_lifetime_does_not_panic() {
    for expires in [
        "18446744073709551615",
        "\"18446744073709551615\"",
        "-1",
        "1e30",
    ] {
        let (c, _) = entra_on(Reply::ok(
            200,
            JSON,
            format!(r#"{{"access_token": "tk", "token_type": "Bearer", "expires_in": {expires}}}"#),
        ))
        .await;
        let vm = c.get("vm-1").await.unwrap();
        assert_eq!(vm.id, "vm-1", "{expires}");
    }
}
