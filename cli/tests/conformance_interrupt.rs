//! `gureum conformance` stopped with a real SIGINT (Ctrl-C) removes everything the run
//! created — the objects of the storage cases and the queues of the queue cases — and exits
//! with 130.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn files_under(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

fn sigint_and_wait(child: Child) -> (i32, String) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "kill -INT");
    let start = Instant::now();
    let mut child = child;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                st.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            panic!("the runner did not exit within 120 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_during_storage_cases_removes_the_objects() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let run_root = bucket.join("gureum-conformance").join("sigint-storage");
    // 50,000 keys: the fixture is still being written when the signal arrives.
    let child = spawn(
        dir.path(),
        &[
            "conformance",
            "--storage",
            &url,
            "--only",
            "storage.pages_*",
            "--page-keys",
            "50000",
            "--run-id",
            "sigint-storage",
            "--format",
            "json",
            "--output",
            "report.json",
        ],
    );
    let start = Instant::now();
    while files_under(&run_root) < 200 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run wrote nothing within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, stderr) = sigint_and_wait(child);
    assert_eq!(code, 130, "exit code after SIGINT; stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        files_under(&bucket.join("gureum-conformance")),
        0,
        "objects left after the interrupted run; stderr: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let notes = report["sections"][0]["notes"].to_string();
    assert!(notes.contains("interrupted"), "{notes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_queue_cases_removes_the_queues() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/q.db?queue=dedicated", dir.path().display());
    let child = spawn(
        dir.path(),
        &[
            "conformance",
            "--queue",
            &url,
            "--only",
            "queue.many_messages_no_loss,queue.dead_letter_counts_exact",
            "--run-id",
            "sigint-queue",
            "--time-scale",
            "4",
        ],
    );
    let q = gureum::registry().open_queue(Some(&url)).await.unwrap();
    let admin = q.admin().unwrap().clone();
    let ours = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|n| n.starts_with("gcf-sigint-queue-"))
            .collect()
    };
    let start = Instant::now();
    loop {
        if !ours(admin.list_queues().await.unwrap()).is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run created no queue within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, stderr) = tokio::task::spawn_blocking(move || sigint_and_wait(child))
        .await
        .unwrap();
    assert_eq!(code, 130, "exit code after SIGINT; stderr: {stderr}");
    let left = ours(admin.list_queues().await.unwrap());
    assert!(
        left.is_empty(),
        "queues left after the interrupted run: {left:?}; stderr: {stderr}"
    );
}
