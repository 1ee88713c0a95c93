//! Shared helpers for the moto-backed tests.
#![allow(dead_code)]

use gureum_aws::{AwsCredentials, S3Config};

/// The moto endpoint, or `None` (skip) when unset; fails when GUREUM_REQUIRE_EMULATORS=1.
pub fn moto() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(v) if !v.is_empty() => {
            let u = url::Url::parse(&v).expect("AWS_ENDPOINT_URL is a URL");
            assert!(
                gureum_core::transport::is_loopback_host(u.host_str().unwrap_or("")),
                "tests only talk to loopback; AWS_ENDPOINT_URL={v}"
            );
            safe_env();
            Some(v)
        }
        _ => {
            if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("AWS_ENDPOINT_URL not set and GUREUM_REQUIRE_EMULATORS=1");
            }
            eprintln!("skipping: AWS_ENDPOINT_URL not set");
            None
        }
    }
}

/// Make sure the default AWS chain never leaves the host (no IMDS) and finds moto keys.
pub fn safe_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Tests are the only users of these variables in this process.
        if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        }
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    });
}

pub fn key_id() -> String {
    std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into())
}
pub fn secret() -> String {
    std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into())
}

/// A unique lowercase name.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// moto's quirks: its server (werkzeug) drops request headers whose name contains `_`, so
/// such metadata names are refused (`Unsupported`) instead of being lost silently.
pub fn moto_quirks() -> gureum_aws::S3Quirks {
    gureum_aws::S3Quirks::aws()
        .metadata_underscore(false)
        .metadata_underscore_multipart(false)
}

/// The conformance cases moto cannot pass, and why: metadata names with `_` (see
/// [`moto_quirks`]).
pub const MOTO_CANNOT: &[&str] = &["storage.metadata_names_and_values_exact"];

/// An S3 config for moto.
pub fn s3(endpoint: &str, bucket: &str) -> S3Config {
    S3Config::new(bucket)
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(AwsCredentials::static_keys(key_id(), secret()))
        .quirks(moto_quirks())
}

/// Open a bucket on moto, creating it first.
pub async fn fresh_bucket(endpoint: &str, prefix: &str) -> gureum_core::Bucket {
    let name = unique(prefix);
    let b = gureum_aws::open_s3(s3(endpoint, &name)).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    b
}

/// An SQS config for moto.
pub fn sqs(endpoint: &str, queue: &str) -> gureum_aws::SqsConfig {
    gureum_aws::SqsConfig::new(queue)
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(AwsCredentials::static_keys(key_id(), secret()))
}

/// An EC2 config for moto (moto accepts ami-12c6146b).
pub fn ec2(endpoint: &str) -> gureum_aws::Ec2Config {
    gureum_aws::Ec2Config::new("us-east-1")
        .endpoint(endpoint)
        .credentials(AwsCredentials::static_keys(key_id(), secret()))
        .image("ubuntu-22.04", "ami-12c6146b")
}
