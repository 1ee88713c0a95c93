//! The `nhn-easyqueue` preset's OAUTHBEARER token fetch (client-credentials grant, scope
//! `appKey:{APP_KEY}`) against a loopback token endpoint on an ephemeral port: the request
//! shape (POST, Basic client authentication, form body), the token handed to librdkafka, the
//! retry of a 503 and the error mapping. No broker is involved: tansu cannot do SASL, and the
//! fetch is the part of the preset that is ours (librdkafka only calls it).

use gureum_core::url::ResourceUrl;
use gureum_core::ErrorKind;
use gureum_kafka::queue::token_context;
use gureum_kafka::KafkaConfig;
use rdkafka::ClientContext;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as the token endpoint saw it: (request line + headers, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback HTTP/1.1 token endpoint answering request `n` with `script(n)` =
/// (status, JSON body); one request per connection.
async fn token_endpoint<F>(script: F) -> (String, Seen)
where
    F: Fn(usize) -> (u16, String) + Send + Sync + 'static,
{
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
                if buf.len() > 64 * 1024 {
                    break None;
                }
                match c.read(&mut chunk).await {
                    Ok(0) | Err(_) => break None,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < head_end + len && buf.len() < 128 * 1024 {
                match c.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
            s2.lock().unwrap().push((head, body));
            let (status, json) = script(n);
            n += 1;
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nretry-after: 0\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
            let _ = c.write_all(resp.as_bytes()).await;
            let _ = c.shutdown().await;
        }
    });
    (base, seen)
}

/// An `nhn-easyqueue://` config whose token endpoint is `base`; the key pair comes from
/// environment variables unique to `tag`.
fn easyqueue(base: &str, tag: &str) -> KafkaConfig {
    let (id_env, secret_env) = (
        format!("GUREUM_TEST_EQ_ID_{tag}"),
        format!("GUREUM_TEST_EQ_SECRET_{tag}"),
    );
    std::env::set_var(&id_env, format!("uak-{tag}"));
    std::env::set_var(&secret_env, format!("s3cr3t-{tag}"));
    let url = ResourceUrl::parse(&format!(
        "nhn-easyqueue://kr1-c1/orders?group=g&app_key=APPKEY{tag}\
         &token_endpoint={base}/oauth2/token/create\
         &access_key_env={id_env}&secret_key_env={secret_env}"
    ))
    .unwrap();
    KafkaConfig::from_url(&url).unwrap()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn token_request_shape_and_token() {
    let (base, seen) = token_endpoint(|_| {
        (
            200,
            r#"{"access_token":"eyJ.tok.1","token_type":"Bearer","expires_in":86400}"#.into(),
        )
    })
    .await;
    let cfg = easyqueue(&base, "A");
    let ctx = token_context(&cfg).unwrap();
    assert!(!format!("{ctx:?}").contains("s3cr3t-A"));
    let before = chrono::Utc::now().timestamp_millis();
    let tok = ctx.fetch().await.unwrap();
    assert_eq!(tok.token, "eyJ.tok.1");
    assert_eq!(tok.principal_name, "uak-A");
    let life = tok.lifetime_ms - before;
    assert!(
        (86_390_000..=86_410_000).contains(&life),
        "lifetime {life} ms"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (head, body) = &seen[0];
    assert!(
        head.starts_with("POST /oauth2/token/create HTTP/1.1\r\n"),
        "{head}"
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("uak-A:s3cr3t-A");
    assert_eq!(
        header(head, "authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        header(head, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let mut form: Vec<&str> = body.split('&').collect();
    form.sort();
    assert_eq!(
        form,
        vec!["grant_type=client_credentials", "scope=appKey%3AAPPKEYA"]
    );
}

#[tokio::test]
async fn a_503_is_retried_and_errors_are_mapped() {
    // 503 then a token: retried (the grant is idempotent).
    let (base, seen) = token_endpoint(|n| match n {
        0 => (503, r#"{"error":"temporarily_unavailable"}"#.into()),
        _ => (200, r#"{"access_token":"t2","expires_in":60}"#.into()),
    })
    .await;
    let tok = token_context(&easyqueue(&base, "B"))
        .unwrap()
        .fetch()
        .await
        .unwrap();
    assert_eq!(tok.token, "t2");
    assert_eq!(seen.lock().unwrap().len(), 2);

    // Refused key: Unauthenticated, the secret in no message.
    let (base, _) = token_endpoint(|_| {
        (
            401,
            r#"{"error":"invalid_client","error_description":"bad key"}"#.into(),
        )
    })
    .await;
    let e = token_context(&easyqueue(&base, "C"))
        .unwrap()
        .fetch()
        .await
        .err()
        .expect("the fetch must fail");
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(!e.to_string().contains("s3cr3t-C"));

    // Wrong scope / app key: PermissionDenied.
    let (base, _) = token_endpoint(|_| (403, r#"{"error":"invalid_scope"}"#.into())).await;
    let e = token_context(&easyqueue(&base, "D"))
        .unwrap()
        .fetch()
        .await
        .err()
        .expect("the fetch must fail");
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");

    // A 200 without a token is an error, not an empty token.
    let (base, _) = token_endpoint(|_| (200, r#"{"token_type":"Bearer"}"#.into())).await;
    let e = token_context(&easyqueue(&base, "E"))
        .unwrap()
        .fetch()
        .await
        .err()
        .expect("the fetch must fail");
    assert_eq!(e.kind(), ErrorKind::Other);
    assert!(e.to_string().contains("access_token"), "{e}");

    // Not JSON.
    let (base, _) = token_endpoint(|_| (200, "<html>login</html>".into())).await;
    let e = token_context(&easyqueue(&base, "F"))
        .unwrap()
        .fetch()
        .await
        .err()
        .expect("the fetch must fail");
    assert!(e.to_string().contains("not JSON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_refresh_callback_fetches_on_its_own_thread() {
    let (base, _) = token_endpoint(|n| match n {
        0 => (200, r#"{"access_token":"cb-1","expires_in":120}"#.into()),
        _ => (401, r#"{"error":"invalid_client"}"#.into()),
    })
    .await;
    let ctx = token_context(&easyqueue(&base, "G")).unwrap();
    // librdkafka calls the callback from one of its polling threads, outside any runtime.
    let c2 = ctx.clone();
    let ok = tokio::task::spawn_blocking(move || {
        c2.generate_oauth_token(None)
            .map(|t| t.token)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap();
    assert_eq!(ok.as_deref(), Ok("cb-1"));
    let err = tokio::task::spawn_blocking(move || {
        ctx.generate_oauth_token(None)
            .map(|t| t.token)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap();
    assert!(err.is_err());
    assert!(!err.unwrap_err().contains("s3cr3t-G"));
}

#[test]
fn plain_kafka_has_no_token_source() {
    let cfg =
        KafkaConfig::from_url(&ResourceUrl::parse("kafka://127.0.0.1:9092/t?group=g").unwrap())
            .unwrap();
    let ctx = token_context(&cfg).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt.block_on(ctx.fetch()).err().expect("no credentials");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}
