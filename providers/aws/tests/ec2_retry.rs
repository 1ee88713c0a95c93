//! Regression: EC2 Query API calls go through the shared HTTP layer — `Retry-After` is
//! honoured on throttling (`RequestLimitExceeded`), every attempt is signed afresh, and a
//! `RunInstances` without `ClientToken` is never repeated while one with a token is.

use gureum_aws::ec2::{Ec2Config, Ec2Driver};
use gureum_aws::{open_ec2, AwsCredentials};
use gureum_core::http::HttpConfig;
use gureum_core::ErrorKind;
use std::time::{Duration, Instant};

/// The shared scripted loopback server (`gureum_testkit::scripted`), answering request `n`
/// with `script(n)` = (status, extra header lines, body).
async fn serve(
    script: fn(usize) -> (u16, &'static str, &'static str),
) -> (String, gureum_testkit::scripted::Seen) {
    gureum_testkit::scripted::serve(move |n, _| {
        let (status, headers, body) = script(n);
        (status, headers.to_string(), body.to_string())
    })
    .await
}

const LIMIT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>req-1</RequestID></Response>";
const EMPTY: &str = "<DescribeInstancesResponse><requestId>r2</requestId><reservationSet/></DescribeInstancesResponse>";

fn config(base: &str) -> Ec2Config {
    let mut c = Ec2Config::new("us-east-1")
        .endpoint(base)
        .credentials(AwsCredentials::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".to_string().into(),
            session_token: None,
        });
    c.http = HttpConfig::default()
        .retries(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(5));
    c
}

#[tokio::test]
async fn ec2_honours_retry_after_and_resigns() {
    let (base, seen) = serve(|n| match n {
        0 => (503, "retry-after: 1\r\n", LIMIT),
        _ => (200, "", EMPTY),
    })
    .await;
    let c = open_ec2(config(&base)).await.unwrap();
    let t = Instant::now();
    // an empty DescribeInstances answer: the instance is not there
    let e = c.get("i-0123").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    for h in &heads {
        let h = h.to_ascii_lowercase();
        assert!(
            h.contains("authorization: aws4-hmac-sha256 credential=akidexample/"),
            "{h}"
        );
        assert!(h.contains("x-amz-date:"), "{h}");
    }
}

#[tokio::test]
async fn throttling_is_rate_limited_with_request_id_and_bounded() {
    let (base, seen) = serve(|_| (400, "", LIMIT)).await;
    let mut cfg = config(&base);
    cfg.http = cfg.http.retries(2);
    let c = open_ec2(cfg).await.unwrap();
    let e = c.get("i-0123").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.provider_code(), Some("RequestLimitExceeded"));
    assert_eq!(e.request_id(), Some("req-1"));
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn run_instances_is_repeated_only_with_a_client_token() {
    let (base, seen) = serve(|_| (503, "", LIMIT)).await;
    let c = open_ec2(config(&base)).await.unwrap();
    let d = c.native::<Ec2Driver>().unwrap();
    let p = vec![("ImageId".to_string(), "ami-1".to_string())];
    d.call("RunInstances", &p, "x").await.unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 1);
    let mut p = p;
    p.push(("ClientToken".into(), "tok-1".into()));
    d.call("RunInstances", &p, "x").await.unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 5);
}
