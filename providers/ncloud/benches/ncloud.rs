//! Benchmarks: the API Gateway signer, a signed Server API round trip to the simulator, and
//! listing 1,005 keys on moto with ListObjects V1 (the `ncloud://` preset) vs V2 (`s3://`).
//!
//! `cargo bench -p gureum-ncloud --bench ncloud` (listing needs AWS_ENDPOINT_URL, moto).

use criterion::{criterion_group, criterion_main, Criterion};
use gureum_core::url::ComputeOpener;
use gureum_ncloud::signer::sign;
use std::collections::BTreeMap;
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bench_signer(c: &mut Criterion) {
    let uri = "/vserver/v2/getServerInstanceList?regionCode=KR&responseFormatType=json&serverInstanceNoList.1=1088217";
    c.bench_function("signer/sign_v2", |b| {
        b.iter(|| {
            sign(
                "GET",
                std::hint::black_box(uri),
                1_764_065_400_000,
                "AKEXAMPLE0000000",
                b"secret-example",
            )
        })
    });
}

/// The simulator's URL with its key pair layered as profile parameters.
fn sim_url(sim: &gureum_testkit::sim::ncloud::ServerSimulator) -> gureum_core::ResourceUrl {
    let mut d = std::collections::BTreeMap::new();
    d.insert("access_key".to_string(), sim.options().access_key.clone());
    d.insert("secret_key".to_string(), sim.options().secret_key.clone());
    gureum_core::ResourceUrl::parse(&sim.compute_url())
        .unwrap()
        .with_defaults(&d)
}

fn bench_sim(c: &mut Criterion) {
    let rt = rt();
    let (sim, compute) = rt.block_on(async {
        let sim = gureum_testkit::sim::ncloud::ServerSimulator::start(Default::default())
            .await
            .unwrap();
        let compute = gureum_ncloud::server::NcloudServerComputeOpener
            .open_compute(&sim_url(&sim))
            .await
            .unwrap();
        (sim, compute)
    });
    c.bench_function("server_api/sim_get_server_spec_list", |b| {
        b.to_async(&rt)
            .iter(|| async { compute.sizes().await.unwrap() })
    });
    drop(sim);
}

fn bench_listing(c: &mut Criterion) {
    let Ok(ep) = std::env::var("AWS_ENDPOINT_URL") else {
        eprintln!("skipping listing benchmark: AWS_ENDPOINT_URL not set");
        return;
    };
    let rt = rt();
    let name = format!(
        "ncl-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let (v1, v2) = rt.block_on(async {
        let ak = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into());
        let sk = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into());
        let mut d = BTreeMap::new();
        d.insert("access_key".to_string(), ak.clone());
        d.insert("secret_key".to_string(), sk.clone());
        let u = gureum_core::ResourceUrl::parse(&format!(
            "ncloud://{name}?endpoint={ep}&signing_region=us-east-1"
        ))
        .unwrap()
        .with_defaults(&d);
        let v1 = gureum_ncloud::storage::open(&u).await.unwrap();
        v1.admin().unwrap().create_bucket(&name).await.unwrap();
        let cfg = gureum_aws::S3Config::new(&name)
            .endpoint(&ep)
            .region("us-east-1")
            .credentials(gureum_aws::AwsCredentials::static_keys(ak, sk));
        let v2 = gureum_aws::open_s3(cfg).await.unwrap();
        use futures::StreamExt;
        futures::stream::iter(0..1005)
            .map(|i| {
                let b = v2.clone();
                async move { b.put(&format!("k/{i:05}"), b"x".to_vec()).await.unwrap() }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        (v1, v2)
    });
    let mut g = c.benchmark_group("list_1005_keys_moto");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("v1_ncloud_preset", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(v1.list_all(None).await.unwrap().len(), 1005) })
    });
    g.bench_function("v2_s3", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(v2.list_all(None).await.unwrap().len(), 1005) })
    });
    g.finish();
    rt.block_on(async {
        for i in 0..1005 {
            let _ = v2.delete(&format!("k/{i:05}")).await;
        }
        let _ = v2.admin().unwrap().delete_bucket(&name).await;
    });
}

criterion_group!(benches, bench_signer, bench_sim, bench_listing);
criterion_main!(benches);
