//! Marker secrets on moto (issue 15, item 4): a secret key and (through the API) a session
//! token carrying a unique marker never show in errors, `Debug` output, redacted URLs or TRACE
//! log lines while S3 and SQS operations run (shared helpers: `gureum_testkit::secrets`,
//! `gureum_conformance::secrets`).

use gureum_conformance::secrets::{exercise_bucket, exercise_queue, show_bucket, show_queue};
use gureum_core::secrecy::SecretString;
use gureum_core::Registry;
use gureum_testkit::secrets::MarkerScan;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_secrets_never_shown_on_s3_and_sqs() {
    let Some(moto) = gureum_testkit::env::moto() else {
        return;
    };
    let mut scan = MarkerScan::new();
    let (ak_var, sk_var) = ("GT_SM_AWS_AK", "GT_SM_AWS_SK");
    std::env::set_var(ak_var, "AKIDMARKERTEST");
    std::env::set_var(sk_var, scan.marker());
    let mut r = Registry::new();
    gureum_aws::register(&mut r);
    let bucket = gureum_testkit::unique("gsm");
    let ep = &moto.endpoint;
    let creds = format!("access_key_env={ak_var}&secret_key_env={sk_var}");
    // A bucket that does not exist (errors) and one that does (successful signed requests).
    for u in [
        format!("s3://{bucket}-none?endpoint={ep}&region=us-east-1&{creds}"),
        format!("sqs://{bucket}?endpoint={ep}&region=us-east-1&create=true&{creds}"),
    ] {
        let shown = if u.starts_with("s3") {
            show_bucket(&r, &u).await
        } else {
            show_queue(&r, &u).await
        };
        for s in shown {
            scan.text(&u, &s);
        }
    }
    // The API path with a session token.
    let creds = gureum_aws::AwsCredentials::Static {
        access_key_id: "AKIDMARKERTEST".into(),
        secret_access_key: SecretString::from(scan.marker().to_string()),
        session_token: Some(SecretString::from(format!("{}TOKEN", scan.marker()))),
    };
    scan.debug("credentials", &creds);
    let mut cfg = gureum_aws::S3Config::new(&bucket)
        .endpoint(ep.clone())
        .region("us-east-1")
        .path_style(true)
        .allow_http(true);
    cfg.credentials = creds.clone();
    scan.debug("s3 config", &cfg);
    match gureum_aws::open_s3(cfg).await {
        Ok(b) => {
            if let Ok(a) = b.admin() {
                let _ = a.create_bucket(&bucket).await;
            }
            for s in exercise_bucket(&b).await {
                scan.text("s3 api", &s);
            }
            if let Ok(a) = b.admin() {
                let _ = a.delete_bucket(&bucket).await;
            }
        }
        Err(e) => {
            scan.show("open s3", &e);
        }
    }
    let q = gureum_testkit::unique("gsmq");
    let mut qc = gureum_aws::SqsConfig::new(&q)
        .endpoint(ep.clone())
        .region("us-east-1")
        .create(true);
    qc.credentials = creds;
    scan.debug("sqs config", &qc);
    match gureum_aws::open_sqs(qc).await {
        Ok(queue) => {
            for s in exercise_queue(&queue).await {
                scan.text("sqs api", &s);
            }
            if let Ok(a) = queue.admin() {
                let _ = a.delete_queue(&q).await;
            }
        }
        Err(e) => {
            scan.show("open sqs", &e);
        }
    }
    assert!(
        scan.shown().contains("put: ok"),
        "no request succeeded:\n{}",
        scan.shown()
    );
    scan.assert_clean();
}
