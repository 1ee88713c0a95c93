//! The open-data publisher and the nightly batch fleet on the embedded defaults: as processes
//! with zero configuration, with a data directory, switched by URL and by profile, and
//! in-process with the published content checked.

use std::process::{Command, Output};

fn run_bin(exe: &str, dir: &std::path::Path, envs: &[(&str, String)]) -> Output {
    let mut c = Command::new(exe);
    c.current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .env_remove("GUREUM_DATA_DIR")
        .env_remove("GUREUM_STORAGE_URL")
        .env_remove("GUREUM_QUEUE_URL")
        .env_remove("GUREUM_COMPUTE_URL")
        .env_remove("GUREUM_PROFILE");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(o: Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{out}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

const PUBLISHER: &str = env!("CARGO_BIN_EXE_open_data_publisher");
const BATCH: &str = env!("CARGO_BIN_EXE_nightly_batch");

#[test]
fn publisher_zero_configuration() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(run_bin(
        PUBLISHER,
        d.path(),
        &[("OPEN_DATA_DATE", "2026-11-26".into())],
    ));
    assert!(out.contains("storage: file://"), "{out}");
    assert!(out.contains("traffic/2026-11-26/segments.csv"), "{out}");
    assert!(out.contains("no licence plates published"), "{out}");
    assert!(out.contains("file:// has no presigned URLs"), "{out}");
    // Nothing left in the working directory: the zero-config data went to a temp dir.
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn publisher_on_a_data_dir_and_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    ok(run_bin(
        PUBLISHER,
        d.path(),
        &[
            ("GUREUM_DATA_DIR", data.display().to_string()),
            ("OPEN_DATA_DATE", "2026-11-26".into()),
        ],
    ));
    let csv =
        std::fs::read_to_string(data.join("storage/traffic/2026-11-26/segments.csv")).unwrap();
    assert!(csv.starts_with("\u{feff}segment,hour,vehicles,avg_speed_kmh\n"));
    assert!(csv.contains("\"세종대로 (광화문→시청)\",8,"), "{csv}");
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("storage/traffic/2026-11-26/index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["files"].as_array().unwrap().len(), 2);
    assert!(index["suppressed_cells"].as_u64().unwrap() > 0);
    // Bad input is a clean error, exit 1.
    let o = run_bin(
        PUBLISHER,
        d.path(),
        &[("OPEN_DATA_DATE", "26/11/2026".into())],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[invalid_argument]"));
}

#[tokio::test]
async fn publisher_in_process_on_mem() {
    use gureum_examples::open_data::*;
    let bucket = gureum::open_bucket("mem://open-data-test").await.unwrap();
    let readings = sample_readings(7);
    let stats = anonymise(&readings, 5).unwrap();
    let index = publish(
        &bucket,
        "2026-11-26",
        &stats,
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(index.cells, stats.cells.len());
    // What is in the bucket is exactly the anonymised cells, and no plate anywhere.
    let back: Vec<SegmentStat> = serde_json::from_slice(
        &bucket
            .get("traffic/2026-11-26/segments.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(back, stats.cells);
    for o in bucket.list_all(Some("traffic/")).await.unwrap() {
        let body = String::from_utf8(bucket.get(&o.key).await.unwrap().to_vec()).unwrap();
        assert!(
            readings.iter().all(|r| !body.contains(&r.plate)),
            "{}",
            o.key
        );
    }
    let info = bucket
        .head("traffic/2026-11-26/segments.csv")
        .await
        .unwrap();
    assert_eq!(
        info.content_type.as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert!(publish(
        &bucket,
        "yesterday",
        &stats,
        std::time::Duration::from_secs(60)
    )
    .await
    .is_err());
}

#[test]
fn batch_zero_configuration() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(run_bin(BATCH, d.path(), &[]));
    assert!(
        out.contains("compute: local://; 3 workers of local.medium on local-idle"),
        "{out}"
    );
    assert!(
        out.contains("created 3, running 3, listed by tag 3, terminated 3, left over 0"),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn batch_switched_by_url_and_profile() {
    let d = tempfile::tempdir().unwrap();
    let compute = d.path().join("fleet");
    let storage = d.path().join("reports");
    // By URL.
    let out = ok(run_bin(
        BATCH,
        d.path(),
        &[
            (
                "GUREUM_COMPUTE_URL",
                format!("local://{}", compute.display()),
            ),
            (
                "GUREUM_STORAGE_URL",
                format!("file://{}", storage.display()),
            ),
            ("BATCH_WORKERS", "2".into()),
            ("BATCH_VCPUS", "4".into()),
            ("BATCH_MEMORY_GIB", "16".into()),
        ],
    ));
    assert!(out.contains("2 workers of local.large"), "{out}");
    let reports: Vec<_> = std::fs::read_dir(storage.join("reports/nightly-batch"))
        .unwrap()
        .collect();
    assert_eq!(reports.len(), 1);
    // By profile: another compute directory, no code change.
    let cfg = d.path().join("gureum.toml");
    let compute2 = d.path().join("fleet2");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.night]\ncompute = \"local://{}\"\nstorage = \"mem://reports\"\n",
            compute2.display()
        ),
    )
    .unwrap();
    let out = ok(run_bin(
        BATCH,
        d.path(),
        &[
            ("GUREUM_CONFIG", cfg.display().to_string()),
            ("GUREUM_PROFILE", "night".into()),
            ("BATCH_WORKERS", "1".into()),
        ],
    ));
    assert!(out.contains("left over 0"), "{out}");
    assert!(out.contains("report: mem://"), "{out}");
    assert!(compute2.join("instances").is_dir());
    // An image no provider knows: a clean error, and nothing left behind.
    let o = run_bin(
        BATCH,
        d.path(),
        &[
            (
                "GUREUM_COMPUTE_URL",
                format!("local://{}", compute.display()),
            ),
            ("BATCH_IMAGE", "no-such-image".into()),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[invalid_argument]"));
}

#[tokio::test]
async fn batch_in_process_tears_down_on_failure() {
    use gureum_examples::batch::*;
    let d = tempfile::tempdir().unwrap();
    let compute = gureum::open_compute(&format!("local://{}", d.path().display()))
        .await
        .unwrap();
    let mut plan = FleetPlan::new("t1", 2);
    plan.timeout = std::time::Duration::from_secs(30);
    let r = run_fleet(&compute, &plan).await.unwrap();
    assert_eq!(
        (r.created, r.running, r.terminated, r.left_over),
        (2, 2, 2, 0)
    );
    // Re-running the same run id: the idempotency tokens return the terminated workers,
    // which never reach Running again; the run fails and leaves nothing running.
    let e = run_fleet(&compute, &plan).await.unwrap_err();
    assert!(e.message().contains("terminated"), "{e}");
    let left = compute.list_by_tags(&plan.tags()).await.unwrap();
    assert!(
        left.iter()
            .all(|i| i.state == gureum::InstanceState::Terminated),
        "{left:?}"
    );
    assert!(run_fleet(&compute, &FleetPlan::new("t3", 0)).await.is_err());
}
