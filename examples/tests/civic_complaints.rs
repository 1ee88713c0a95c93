//! Runs the civic-complaints example end to end: in-process on mem://, and as a process on
//! the embedded defaults (temporary dir, then GUREUM_DATA_DIR twice) and on URLs from env.

use std::process::{Command, Output};
use std::time::Duration;

fn run_bin(envs: &[(&str, String)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_civic_complaints"));
    c.current_dir(dir.path())
        .env("GUREUM_CONFIG", dir.path().join("none.toml"))
        .env("CIVIC_DEADLINE_SECS", "60")
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

fn check(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{out}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("filed 4 complaints"), "{out}");
    assert!(out.contains("processed 4, results read back 4"), "{out}");
    assert!(out.contains("attachments verified: yes"), "{out}");
    out
}

#[test]
fn runs_with_zero_configuration() {
    let out = check(&run_bin(&[]));
    assert!(out.contains("storage: file://"), "{out}");
    assert!(out.contains("(data class personal)"), "{out}");
    // OCR workers on the embedded compute: local processes, portable size and image.
    assert!(
        out.contains(
            "OCR workers: 2 running on local:// (size local.small, image local-idle), 2 terminated"
        ),
        "{out}"
    );
}

#[test]
fn switches_backend_by_profile_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gureum.toml");
    let compute = dir.path().join("compute");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.default]\nstorage = \"file:///nonexistent-never-used\"\n\n\
             [profiles.seoul-test]\nstorage = \"mem://civic-profile\"\nqueue = \"mem://civic-profile\"\n\
             compute = \"local://{}\"\n",
            compute.display()
        ),
    )
    .unwrap();
    let out = check(&run_bin(&[
        ("GUREUM_CONFIG", cfg.display().to_string()),
        ("GUREUM_PROFILE", "seoul-test".into()),
        ("CIVIC_OCR_WORKERS", "1".into()),
    ]));
    assert!(out.contains("storage: mem://"), "{out}");
    assert!(out.contains("OCR workers: 1 running on local://"), "{out}");
    // The profile's compute directory was used, and nothing is left running there.
    assert!(compute.join("instances").is_dir());
}

#[test]
fn runs_twice_on_a_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().display().to_string();
    check(&run_bin(&[("GUREUM_DATA_DIR", d.clone())]));
    check(&run_bin(&[("GUREUM_DATA_DIR", d)]));
    assert!(data.path().join("storage").is_dir());
    assert!(data.path().join("queue.db").is_file());
}

#[test]
fn switches_backend_by_url_only() {
    let out = check(&run_bin(&[
        ("GUREUM_STORAGE_URL", "mem://civic".into()),
        ("GUREUM_QUEUE_URL", "mem://civic".into()),
    ]));
    assert!(out.contains("storage: mem://"), "{out}");
}

#[tokio::test]
async fn demo_in_process_on_mem() {
    let bucket = gureum::open_bucket("mem://civic-test").await.unwrap();
    let queue = gureum::open_queue("mem://civic-test").await.unwrap();
    let s = gureum_examples::civic::run_demo(&bucket, &queue, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!((s.filed, s.processed, s.results_read_back), (4, 4, 4));
    assert!(s.all_verified);
    assert_eq!(s.by_department.values().sum::<usize>(), 4);
    let keys: Vec<String> = bucket
        .list_all(Some("results/"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(queue.depth().await.unwrap(), 0);
}
