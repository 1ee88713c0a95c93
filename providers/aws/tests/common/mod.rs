//! Shared helpers for the moto-backed tests.
#![allow(dead_code)]

use gureum_aws::{AwsCredentials, S3Config};

pub use gureum_testkit::unique;

/// No IMDS lookups, moto keys when none are set.
pub fn safe_env() {
    gureum_testkit::env::aws_safe_env()
}

/// The moto endpoint, or `None` (skip) when unset; fails when GUREUM_REQUIRE_EMULATORS=1.
pub fn moto() -> Option<String> {
    gureum_testkit::env::moto().map(|m| m.endpoint)
}

/// moto's access key id.
pub fn key_id() -> String {
    gureum_testkit::env::var_or("AWS_ACCESS_KEY_ID", "test")
}

/// moto's secret key.
pub fn secret() -> String {
    gureum_testkit::env::var_or("AWS_SECRET_ACCESS_KEY", "test")
}

/// moto's quirks: its server (werkzeug) drops request headers whose name contains `_`, so
/// such metadata names are refused (`Unsupported`) instead of being lost silently.
pub fn moto_quirks() -> gureum_aws::S3Quirks {
    gureum_aws::S3Quirks::aws()
        .metadata_underscore(false)
        .metadata_underscore_multipart(false)
}

/// The conformance cases moto cannot pass, and why: metadata names with `_` (see
/// [`moto_quirks`]); moto does not check the expiry of presigned URLs (an expired one still
/// answers 200).
pub const MOTO_CANNOT: &[&str] = &[
    "storage.metadata_names_and_values_exact",
    "storage.presign_expired_refused",
];

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
