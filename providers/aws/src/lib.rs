//! # gureum-aws
//!
//! AWS provider for gureum:
//!
//! * `s3://bucket?region=&endpoint=&profile=&allow_http=&path_style=&sse=` — object storage
//!   through object_store's `AmazonS3`, with bucket admin, presigned URLs and tagging through
//!   aws-sdk-s3. The public [`S3Config`] / [`S3Quirks`] and [`open_s3`] are reused by the
//!   S3-compatible presets of other crates (Naver Cloud, NHN Cloud, Kakao Cloud).
//!
//! * `sqs://queue-name?region=&endpoint=&create=` (or a queue URL) — SQS queues with batch
//!   send/receive/delete, visibility changes, long polling, DLQ redrive, FIFO, depth, purge.
//! * `ec2://REGION?endpoint=&image.ALIAS=ami-...` — EC2 instances over the EC2 Query API
//!   (SigV4 via aws-sigv4, reqwest, quick-xml): run/describe/start/stop/reboot/terminate,
//!   idempotent create, tags, portable sizes and image aliases, user data read-back.
//!
//! Credentials come from the standard AWS chain (aws-config) unless a config says
//! otherwise; they are never logged.
#![deny(missing_docs)]

pub mod body_cap;
pub mod config;
pub mod ec2;
pub mod error;
pub mod list_v1;
pub mod metadata;
pub mod s3;
pub mod sqs;
pub mod tls;

pub use config::{AwsCredentials, S3Config, S3Quirks, ServerSideEncryption};
pub use ec2::{open_ec2, Ec2ComputeOpener, Ec2Config, Ec2Driver};
pub use list_v1::{Conditional, ListApi, S3Store};
pub use s3::{abort_incomplete_uploads, open_s3, S3Admin, S3Native, S3StorageOpener};
pub use sqs::{open_sqs, SqsAdmin, SqsConfig, SqsQueue, SqsQueueOpener};

/// The former name of [`AwsCredentials`], from when only S3 used it.
///
/// ```
/// #[allow(deprecated)]
/// let c: gureum_aws::S3Credentials = gureum_aws::AwsCredentials::Anonymous;
/// assert!(matches!(c, gureum_aws::AwsCredentials::Anonymous));
/// ```
#[deprecated(
    since = "0.1.0",
    note = "renamed to AwsCredentials (it serves S3, SQS and EC2)"
)]
pub type S3Credentials = AwsCredentials;

use gureum_core::{SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `aws` of the `gureum` crate).
///
/// ```
/// let ec2 = gureum_aws::SCHEMES.iter().find(|s| s.scheme == "ec2").unwrap();
/// assert_eq!(ec2.service, gureum_core::Service::Compute);
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "s3",
        service: Service::Storage,
        feature: "aws",
        zone: Zone::Foreign,
        description: "Amazon S3 and S3-compatible object stores",
    },
    SchemeInfo {
        scheme: "sqs",
        service: Service::Queue,
        feature: "aws",
        zone: Zone::Foreign,
        description: "Amazon SQS queues",
    },
    SchemeInfo {
        scheme: "ec2",
        service: Service::Compute,
        feature: "aws",
        zone: Zone::Foreign,
        description: "Amazon EC2 instances",
    },
];

/// Register this provider's URL openers: `s3`, `sqs`, `ec2` (see [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_aws::register(&mut registry);
/// assert_eq!(registry.schemes(gureum_core::Service::Queue), ["sqs"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_storage("s3", Arc::new(S3StorageOpener));
    registry.register_queue("sqs", Arc::new(SqsQueueOpener));
    registry.register_compute("ec2", Arc::new(Ec2ComputeOpener));
}
