//! Hostile input from the server side (issue 19, item 4) for the EC2 Query API driver: a
//! scripted loopback server (`gureum_testkit::scripted::serve_raw`) answers every call with
//! bad XML, an HTML error page (as 200 and as 502), a cut-off document, fields of the wrong
//! type or missing, a wrong `content-length` both ways, a 2 MiB header, a body that never
//! ends and a reply that is not HTTP. Every call ends with a typed error (never `Other`, never
//! a panic), no invented instance is returned, and an endless body is abandoned at the HTTP
//! layer's bound (`max_response_bytes`, 64 MiB).

use gureum_aws::ec2::Ec2Config;
use gureum_aws::{open_ec2, AwsCredentials};
use gureum_core::http::HttpConfig;
use gureum_core::Compute;
use gureum_testkit::scripted::{bounded, serve_raw, Malformed, Reply, ENDLESS};
use std::time::Duration;
const XML: &str = "content-type: text/xml;charset=UTF-8\r\n";
const HTML: &str = "content-type: text/html\r\n";
const PAGE: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

fn cases() -> Vec<(&'static str, Reply)> {
    let item = "<item><instanceId>i-1</instanceId><imageId>ami-1</imageId><instanceState><code>16</code><name>running</name></instanceState><instanceType>t3.micro</instanceType></item>";
    let doc = |items: &str| {
        format!("<DescribeInstancesResponse><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>{items}</instancesSet></item></reservationSet></DescribeInstancesResponse>")
    };
    vec![
        ("html page as 200", Reply::ok(200, HTML, PAGE)),
        ("html page as 502", Reply::ok(502, HTML, PAGE)),
        ("json", Reply::ok(200, "content-type: application/json\r\n", r#"{"reservations": []}"#)),
        ("cut xml", Reply::ok(200, XML, doc(item)[..120].to_string())),
        (
            "wrong type",
            Reply::ok(
                200,
                XML,
                doc("<item><instanceId>i-1</instanceId><instanceState>running</instanceState></item>"),
            ),
        ),
        (
            "missing id",
            Reply::ok(
                200,
                XML,
                doc("<item><instanceState><code>16</code><name>running</name></instanceState></item>"),
            ),
        ),
        (
            "long content-length",
            Reply::wrong_length(200, XML, doc(item), doc(item).len() + 4096),
        ),
        (
            "short content-length",
            Reply::wrong_length(200, XML, doc(item), doc(item).len() / 2),
        ),
        ("huge header", Reply::huge_header(200, 2 << 20, doc(item))),
        (
            "endless",
            Reply::endless(
                200,
                XML,
                "<DescribeInstancesResponse><reservationSet><item><instancesSet>",
                item,
                ENDLESS,
            ),
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

async fn ec2_on(reply: Reply) -> (Compute, gureum_testkit::scripted::Sent) {
    let (base, _seen, sent) = serve_raw(move |_, _| reply.clone()).await;
    let mut c = Ec2Config::new("us-east-1")
        .endpoint(&base)
        .credentials(AwsCredentials::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".to_string().into(),
            session_token: None,
        });
    c.http = HttpConfig::default()
        .retries(2)
        .backoff(Duration::from_millis(1), Duration::from_millis(5));
    (open_ec2(c).await.unwrap(), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_malformed_answers_are_typed_errors_with_bounded_memory() {
    // Attempts × the 64 MiB body bound of the HTTP layer.
    Malformed::new("ec2", bounded(3, 64 << 20))
        .run(
            cases(),
            &["get", "list", "stop"],
            ec2_on,
            async |c: &Compute, op: &str| match op {
                "get" => c.get("i-1").await.map(|i| format!("{i:?}")),
                "list" => c.list().await.map(|v| format!("{v:?}")),
                _ => c.stop("i-1").await.map(|v| format!("{v:?}")),
            },
        )
        .await
        .finish();
}
