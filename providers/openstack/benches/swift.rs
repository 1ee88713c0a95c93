//! Swift ObjectStore vs raw reqwest against the same Swift all-in-one (not a timed test).
//!
//! `cargo bench -p gureum-openstack` with SWIFT_AUTH_URL / SWIFT_USER / SWIFT_KEY set
//! (`eval "$(scripts/emulators.sh env)"`). Bounded: 5 rounds × (300 × 4 KiB, 4 × 64 MiB)
//! PUT + GET each way; prints medians and the ratio gureum / raw (1.00 = same speed).

use bytes::Bytes;
use gureum_core::url::ResourceUrl;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Raw {
    c: reqwest::Client,
    token: String,
    base: String,
}

impl Raw {
    async fn new(auth: &str, user: &str, key: &str) -> Raw {
        let c = reqwest::Client::new();
        let r = c
            .get(auth)
            .header("x-auth-user", user)
            .header("x-auth-key", key)
            .send()
            .await
            .unwrap();
        let token = r.headers()["x-auth-token"].to_str().unwrap().to_string();
        let base = r.headers()["x-storage-url"].to_str().unwrap().to_string();
        Raw { c, token, base }
    }
    async fn put(&self, name: &str, data: Bytes) {
        let r = self
            .c
            .put(format!("{}/gureum-bench/{name}", self.base))
            .header("x-auth-token", &self.token)
            .header("content-type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    async fn get(&self, name: &str) -> Bytes {
        let r = self
            .c
            .get(format!("{}/gureum-bench/{name}", self.base))
            .header("x-auth-token", &self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap()
    }
}

async fn run_case(label: &str, store: &Arc<dyn ObjectStore>, raw: &Raw, size: usize, n: usize) {
    let data = Bytes::from(vec![0x5au8; size]);
    let (mut g_put, mut g_get, mut r_put, mut r_get) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        // Alternate which side goes first, so drift and warm-up do not favour one side.
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                let t = Instant::now();
                for i in 0..n {
                    store
                        .put(
                            &Path::from(format!("g/{size}/{i}")),
                            PutPayload::from_bytes(data.clone()),
                        )
                        .await
                        .unwrap();
                }
                g_put.push(t.elapsed());
                let t = Instant::now();
                for i in 0..n {
                    let b = store
                        .get(&Path::from(format!("g/{size}/{i}")))
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    assert_eq!(b.len(), size);
                }
                g_get.push(t.elapsed());
            } else {
                let t = Instant::now();
                for i in 0..n {
                    raw.put(&format!("r/{size}/{i}"), data.clone()).await;
                }
                r_put.push(t.elapsed());
                let t = Instant::now();
                for i in 0..n {
                    assert_eq!(raw.get(&format!("r/{size}/{i}")).await.len(), size);
                }
                r_get.push(t.elapsed());
            }
        }
        eprintln!("  round {round} done");
    }
    let (gp, gg, rp, rg) = (median(g_put), median(g_get), median(r_put), median(r_get));
    let mib = |d: Duration| (size * n) as f64 / (1024.0 * 1024.0) / d.as_secs_f64();
    println!(
        "{label:<10} PUT gureum {:>8.1} ms ({:>7.1} MiB/s) raw {:>8.1} ms ({:>7.1} MiB/s) ratio {:.3}",
        gp.as_secs_f64() * 1e3,
        mib(gp),
        rp.as_secs_f64() * 1e3,
        mib(rp),
        gp.as_secs_f64() / rp.as_secs_f64()
    );
    println!(
        "{label:<10} GET gureum {:>8.1} ms ({:>7.1} MiB/s) raw {:>8.1} ms ({:>7.1} MiB/s) ratio {:.3}",
        gg.as_secs_f64() * 1e3,
        mib(gg),
        rg.as_secs_f64() * 1e3,
        mib(rg),
        gg.as_secs_f64() / rg.as_secs_f64()
    );
}

fn main() {
    let (Ok(auth), Ok(user), Ok(key)) = (
        std::env::var("SWIFT_AUTH_URL"),
        std::env::var("SWIFT_USER"),
        std::env::var("SWIFT_KEY"),
    ) else {
        println!("skipping: SWIFT_AUTH_URL not set");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("swift://gureum-bench?auth_url={auth}&user={user}&key={key}");
        let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap()).await.unwrap();
        let _ = b.admin().unwrap().create_bucket("gureum-bench").await;
        let store = b.object_store();
        let raw = Raw::new(&auth, &user, &key).await;
        println!("Swift ObjectStore (gureum-openstack) vs raw reqwest, same SAIO, sequential requests, median of 5 rounds, sides alternating");
        run_case("4 KiB x300", &store, &raw, 4 * 1024, 300).await;
        run_case("64 MiB x4", &store, &raw, 64 * 1024 * 1024, 4).await;
        // Clean up.
        for p in ["g", "r"] {
            let keys: Vec<_> = store.list(Some(&Path::from(p))).map(|m| m.map(|m| m.location)).collect::<Vec<_>>().await;
            let s = futures::stream::iter(keys).boxed();
            let _: Vec<_> = store.delete_stream(s).collect().await;
        }
    });
}

use futures::StreamExt;
