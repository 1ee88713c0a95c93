//! The gureum conformance suite against moto (s3://, sqs://, ec2://) and, when
//! SWIFT_S3_ENDPOINT is set, the S3 driver against OpenStack Swift's s3api with
//! checksums "when required".

mod common;

use common::*;
use gureum_aws::{open_ec2, open_s3, open_sqs, AwsCredentials, S3Config, S3Quirks};
use gureum_conformance::certify::Target;
use gureum_conformance::{compute, queue, storage, Options};

/// Options for a run against a local emulator or real server, labelled `backend`.
fn emulator(backend: &str) -> Options {
    Options::default().backend(backend).target(Target::Emulator)
}

fn check(name: &str, report: gureum_conformance::Report) {
    println!("== {name}\n{}", report.to_text());
    assert_eq!(
        report.failed(),
        0,
        "{name}: failures {:?}",
        report.failures()
    );
}

/// Like [`check`], on moto: exactly the cases of [`MOTO_CANNOT`] fail.
fn check_moto(name: &str, report: gureum_conformance::Report) {
    println!("== {name}\n{}", report.to_text());
    assert_eq!(report.failures(), MOTO_CANNOT, "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_s3_on_moto() {
    let Some(ep) = moto() else { return };
    let b = fresh_bucket(&ep, "gcf-s3").await;
    check_moto("s3 (moto)", storage::run(&b, &emulator("s3 (moto)")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_s3_list_v1_on_moto() {
    let Some(ep) = moto() else { return };
    let name = unique("gcf-v1");
    let cfg = s3(&ep, &name).quirks(moto_quirks().list_objects_v1(true));
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    check_moto(
        "s3 ListObjects V1 (moto)",
        storage::run(&b, &emulator("s3 ListObjects V1 (moto)")).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_sqs_on_moto() {
    let Some(ep) = moto() else { return };
    let q = open_sqs(sqs(&ep, &unique("gcf-sqs")).create(true))
        .await
        .unwrap();
    // moto's ReceiveMessage scans and deep-copies the queue on every call (~0.5 s per call
    // with a few hundred messages on a busy 2-core machine), so the 300-message "no loss"
    // case needs more patience than real SQS.
    let opts = Options {
        time_scale: 3.0,
        ..emulator("sqs (moto)")
    };
    let r = queue::run(&q, &opts).await;
    q.admin().unwrap().delete_queue(q.name()).await.ok();
    check("sqs (moto)", r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_ec2_on_moto() {
    let Some(ep) = moto() else { return };
    let c = open_ec2(ec2(&ep)).await.unwrap();
    check(
        "ec2 (moto)",
        compute::run(&c, &emulator("ec2 (moto)")).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_s3_on_swift_s3api() {
    let Some(swift) = gureum_testkit::env::swift_s3() else {
        return;
    };
    let (ep, ak, sk) = (swift.endpoint, swift.access_key, swift.secret_key);
    let name = unique("gcf-swift");
    let cfg = S3Config::new(&name)
        .endpoint(ep)
        .region("us-east-1")
        .quirks(S3Quirks::swift_s3api())
        .credentials(AwsCredentials::static_keys(ak, sk))
        .provider("swift-s3api", "s3");
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    check(
        "s3 (Swift s3api)",
        storage::run(&b, &emulator("s3 (Swift s3api)")).await,
    );
}
