//! `cargo bench -p gureum-aws`: gureum's `Bucket` on s3:// vs raw object_store `AmazonS3`,
//! and gureum's `Queue` on sqs:// vs raw aws-sdk-sqs, against the same local server
//! (AWS_ENDPOINT_URL: moto, or s3s-fs for S3 with BENCH_S3_ENDPOINT). Bounded iterations;
//! the two sides alternate in rounds (the first side swaps every round) and the median round
//! is compared. Prints ratios (gureum throughput / raw throughput; S3 goal ≥ 0.97, SQS ≥ 0.95)
//! and, for S3, the median of the per-round ratios (each round's two sides ran back to back,
//! so drift of a shared machine cancels).
//!
//! S3 on s3s-fs: run `scripts/bench-bucket-s3.sh`, which starts s3s-fs in a private network
//! namespace with delayed ACKs off (on the default loopback s3s-fs's Nagle + the client's
//! delayed ACK stall each GET by up to 40 ms and the ratio is noise).

use gureum_aws::{open_s3, open_sqs, AwsCredentials, S3Config, SqsConfig, SqsQueue};
use gureum_core::object_store::{ObjectStoreExt, PutPayload};
use gureum_core::{Message, ReceiveOptions};
use std::time::{Duration, Instant};

fn env(k: &str, d: &str) -> String {
    std::env::var(k)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| d.to_string())
}

/// CPU time of this whole process (all runtime threads) in seconds: unlike wall time it does
/// not count time spent waiting for the server or preempted by other processes, so on a
/// shared machine it shows the client's own cost per operation.
fn process_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us with no env: skip then.
    let Some(ep) = std::env::var("BENCH_S3_ENDPOINT")
        .ok()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|v| !v.is_empty())
    else {
        eprintln!("skipping: AWS_ENDPOINT_URL not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let rounds: usize = env("BENCH_ROUNDS", "5").parse().unwrap_or(5);
        let ops: usize = env("BENCH_OPS", "100").parse().unwrap_or(100);
        let size: usize = env("BENCH_SIZE", "4096").parse().unwrap_or(4096);
        let only = env("BENCH_ONLY", "");
        if only.is_empty() || only == "s3" {
            bench_s3(&ep, rounds, ops, size).await;
        }
        if only == "s3" {
            return;
        }
        if let Ok(sqs_ep) = std::env::var("AWS_ENDPOINT_URL") {
            bench_sqs(&sqs_ep, rounds, ops).await;
        }
    });
}

async fn bench_s3(ep: &str, rounds: usize, ops: usize, size: usize) {
    let ak = env("BENCH_S3_ACCESS_KEY", &env("AWS_ACCESS_KEY_ID", "test"));
    let sk = env("BENCH_S3_SECRET_KEY", &env("AWS_SECRET_ACCESS_KEY", "test"));
    let name = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let cfg = S3Config::new(&name)
        .endpoint(ep)
        .region("us-east-1")
        .credentials(AwsCredentials::static_keys(&ak, &sk));
    // The raw side signs payloads exactly when gureum does (UNSIGNED-PAYLOAD on loopback).
    let unsigned = !cfg.effective_sign_payload();
    let bucket = open_s3(cfg).await.expect("open s3");
    // Opening probed conditional writes with PUTs into the (not yet created) bucket; s3s-fs
    // accepts a PUT into a missing bucket and creates it, so `create_bucket` then finds it
    // (AlreadyExists): the bucket is ours either way.
    match bucket.admin().unwrap().create_bucket(&name).await {
        Ok(()) => {}
        Err(e) if e.kind() == gureum_core::ErrorKind::AlreadyExists => {
            eprintln!("create bucket {name}: {e} (continuing: it is ours)")
        }
        Err(e) => panic!("create bucket {name}: {e}"),
    }
    // raw object_store AmazonS3 on the same bucket, built directly (same settings as
    // emulators.md), not through gureum
    let raw = gureum_core::object_store::aws::AmazonS3Builder::new()
        .with_endpoint(ep)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(&name)
        .with_access_key_id(&ak)
        .with_secret_access_key(&sk)
        .with_unsigned_payload(unsigned)
        .build()
        .unwrap();
    let data = bytes::Bytes::from(vec![7u8; size]);
    let (mut g, mut r) = (Vec::new(), Vec::new());
    // client CPU seconds per operation of each round, per side
    let (mut gc, mut rc) = (Vec::new(), Vec::new());
    // warm-up
    for i in 0..10 {
        bucket.put(&format!("w/{i}"), data.clone()).await.unwrap();
        raw.put(
            &format!("w/{i}").into(),
            PutPayload::from_bytes(data.clone()),
        )
        .await
        .unwrap();
    }
    for round in 0..rounds {
        // alternate which side goes first so server-side drift does not favour one
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let t = Instant::now();
            let cpu = process_cpu_secs();
            if side == 0 {
                for i in 0..ops {
                    let k = format!("g/{round}/{i}");
                    bucket.put(&k, data.clone()).await.unwrap();
                    let b = bucket.get(&k).await.unwrap();
                    assert_eq!(b.len(), size);
                }
                g.push(ops as f64 / t.elapsed().as_secs_f64());
                gc.push((process_cpu_secs() - cpu) / ops as f64);
            } else {
                for i in 0..ops {
                    let p = format!("r/{round}/{i}").into();
                    raw.put(&p, PutPayload::from_bytes(data.clone()))
                        .await
                        .unwrap();
                    let b = raw.get(&p).await.unwrap().bytes().await.unwrap();
                    assert_eq!(b.len(), size);
                }
                r.push(ops as f64 / t.elapsed().as_secs_f64());
                rc.push((process_cpu_secs() - cpu) / ops as f64);
            }
        }
    }
    let cpu_round: Vec<f64> = gc.iter().zip(&rc).map(|(a, b)| a / b).collect();
    let (gcm, rcm, cm) = (median(gc), median(rc), median(cpu_round));
    let per_round: Vec<f64> = g.iter().zip(&r).map(|(a, b)| a / b).collect();
    let (lo, hi) = per_round
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
    let (gm, rm, pm) = (median(g), median(r), median(per_round));
    println!(
        "s3 put+get {size} B x{ops} x{rounds} rounds: gureum Bucket {gm:.1} op/s, raw AmazonS3 {rm:.1} op/s, ratio {:.3}; median per-round ratio {pm:.3} (range {lo:.3}-{hi:.3})",
        gm / rm
    );
    println!(
        "s3 client CPU per put+get: gureum Bucket {:.1} µs, raw AmazonS3 {:.1} µs, ratio {:.3}; median per-round CPU ratio {cm:.3} (gureum / raw: ≤ 1.03 is within 3 %)",
        gcm * 1e6,
        rcm * 1e6,
        gcm / rcm
    );
    // cleanup
    let keys: Vec<String> = bucket
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    bucket.delete_many(&keys).await.unwrap();
    bucket.admin().unwrap().delete_bucket(&name).await.unwrap();
}

async fn bench_sqs(ep: &str, rounds: usize, ops: usize) {
    let ak = env("AWS_ACCESS_KEY_ID", "test");
    let sk = env("AWS_SECRET_ACCESS_KEY", "test");
    let name = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let q = open_sqs(
        SqsConfig::new(&name)
            .endpoint(ep)
            .region("us-east-1")
            .credentials(AwsCredentials::static_keys(&ak, &sk))
            .create(true),
    )
    .await
    .expect("open sqs");
    let url = q.native::<SqsQueue>().unwrap().queue_url().to_string();
    // raw aws-sdk-sqs client, built directly
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(ep)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            &ak, &sk, None, None, "bench",
        ))
        .load()
        .await;
    // Default: a separate raw client built from gureum's own client configuration (identical
    // endpoint, region, credentials, retry/timeout settings, behaviour version and HTTP client),
    // so the comparison measures the adapter, not two configurations.
    // BENCH_RAW_DEFAULTS=1: a raw client from `aws_config` defaults instead (the earlier way);
    // BENCH_SAME_CLIENT=1: the very same client object.
    let raw = if std::env::var("BENCH_SAME_CLIENT").is_ok() {
        q.native::<SqsQueue>().unwrap().client().clone()
    } else if std::env::var("BENCH_RAW_DEFAULTS").is_ok() {
        aws_sdk_sqs::Client::new(&conf)
    } else {
        aws_sdk_sqs::Client::from_conf(q.native::<SqsQueue>().unwrap().client().config().clone())
    };
    let batches = (ops / 10).max(1);
    let opts = ReceiveOptions {
        max_messages: 10,
        visibility: Duration::from_secs(30),
        wait: Duration::from_secs(0),
    };
    let (mut g, mut r) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                // gureum: send batches of 10, then receive + ack batches of 10
                let t = Instant::now();
                for b in 0..batches {
                    q.send_batch((0..10).map(|i| Message::new(format!("m{b}-{i}"))).collect())
                        .await
                        .unwrap();
                }
                let mut n = 0;
                for _ in 0..batches * 4 {
                    if n >= batches * 10 {
                        break;
                    }
                    let got = q.receive_with(opts).await.unwrap();
                    n += got.len();
                    q.ack_all(&got).await.unwrap();
                }
                g.push(n as f64 / t.elapsed().as_secs_f64());
            } else {
                // raw
                let t = Instant::now();
                for b in 0..batches {
                    let entries = (0..10)
                        .map(|i| {
                            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                                .id(i.to_string())
                                .message_body(format!("m{b}-{i}"))
                                .build()
                                .unwrap()
                        })
                        .collect();
                    raw.send_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .unwrap();
                }
                let mut n = 0;
                for _ in 0..batches * 4 {
                    if n >= batches * 10 {
                        break;
                    }
                    let out = raw
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .visibility_timeout(30)
                        .wait_time_seconds(0)
                        // the same attributes gureum asks for (receive count, sent time,
                        // user attributes), so both sides ask moto for the same work
                        .message_system_attribute_names(
                            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                        )
                        .message_system_attribute_names(
                            aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
                        )
                        .message_attribute_names("All")
                        .send()
                        .await
                        .unwrap();
                    let ms = out.messages();
                    n += ms.len();
                    if !ms.is_empty() {
                        let entries = ms
                            .iter()
                            .enumerate()
                            .map(|(i, m)| {
                                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                                    .id(i.to_string())
                                    .receipt_handle(m.receipt_handle().unwrap())
                                    .build()
                                    .unwrap()
                            })
                            .collect();
                        raw.delete_message_batch()
                            .queue_url(&url)
                            .set_entries(Some(entries))
                            .send()
                            .await
                            .unwrap();
                    }
                }
                r.push(n as f64 / t.elapsed().as_secs_f64());
            }
        }
    }
    let (gm, rm) = (median(g), median(r));
    println!(
        "sqs send+receive+ack {} msgs (batches of 10) x{rounds} rounds: gureum Queue {gm:.1} msg/s, raw aws-sdk-sqs {rm:.1} msg/s, ratio {:.3}",
        batches * 10,
        gm / rm
    );
    q.admin().unwrap().delete_queue(&name).await.unwrap();
}
