//! `gureum queue move|drain` and `gureum compute create|export|import|terminate|wait` on the
//! embedded backends (sqlite, local processes), including a `kill -9` in the middle of a
//! queue move.

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn gureum(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = gureum(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn q(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}/q.db?queue={name}", dir.display())
}

async fn fill(url: &str, n: usize) {
    let queue = gureum::open_queue(url).await.unwrap();
    let msgs: Vec<gureum::Message> = (0..n)
        .map(|i| gureum::Message::new(format!("msg-{i:05}")).attribute("구", "중구"))
        .collect();
    for chunk in msgs.chunks(10) {
        queue.send_batch(chunk.to_vec()).await.unwrap();
    }
}

#[tokio::test]
async fn queue_move_then_drain() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fill(&q(dir, "old"), 30).await;
    let out = ok(dir, &["queue", "move", &q(dir, "old"), &q(dir, "new")]);
    assert!(out.starts_with("moved: 30 messages"), "{out}");
    assert_eq!(ok(dir, &["queue", "depth", &q(dir, "old")]).trim(), "0");
    let o = gureum(dir, &["--json", "queue", "drain", &q(dir, "new")]);
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 30);
    assert!(lines.iter().all(|v| v["attributes"]["구"] == "중구"));
    // The summary went to stderr, as JSON.
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8(o.stderr).unwrap().trim()).unwrap();
    assert_eq!(summary["moved"], 30);
    assert_eq!(ok(dir, &["queue", "depth", &q(dir, "new")]).trim(), "0");
}

/// `kill -9` of a running `queue move`, then a rerun: every message arrives (at least once),
/// the source ends empty.
#[tokio::test]
async fn queue_move_survives_kill_9() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let n = 3000;
    fill(&q(dir, "src"), n).await;
    let args = [
        "queue",
        "move",
        "--batch",
        "10",
        "--visibility",
        "2",
        "--wait",
        "1",
        "--empty-polls",
        "4",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .args([&q(dir, "src"), &q(dir, "dst")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some but not all messages moved (bounded wait: 30 s).
    let dst = gureum::open_queue(&q(dir, "dst")).await.unwrap();
    let mut moved_before = 0;
    for _ in 0..300 {
        moved_before = dst.depth().await.unwrap();
        if moved_before >= 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(moved_before > 0, "the move had not started");
    assert!(
        (moved_before as usize) < n,
        "the move finished before the kill; raise n"
    );
    // The rerun picks up the rest, including the batch that was in flight (after its 2 s
    // visibility timeout: --empty-polls 4 x --wait 1 outlasts it).
    ok(
        dir,
        &args
            .iter()
            .copied()
            .chain([q(dir, "src").as_str(), q(dir, "dst").as_str()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(ok(dir, &["queue", "depth", &q(dir, "src")]).trim(), "0");
    let o = gureum(dir, &["queue", "drain", &q(dir, "dst")]);
    let bodies: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let distinct: BTreeSet<&String> = bodies.iter().collect();
    assert_eq!(distinct.len(), n, "lost messages");
    // At least once: duplicates only from the batch in flight at the kill.
    assert!(bodies.len() - n <= 10, "{} duplicates", bodies.len() - n);
}

#[tokio::test]
async fn compute_lifecycle_export_import_on_local() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let a = format!("local://{}/a", dir.display());
    let b = format!("local://{}/b", dir.display());
    let created = ok(
        dir,
        &[
            "--json",
            "compute",
            "create",
            &a,
            "--name",
            "ocr-1",
            "--vcpus",
            "2",
            "--image",
            "ubuntu-22.04",
            "--tag",
            "fleet=ocr",
            "--wait",
            "20",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
    assert_eq!(v["state"], "Running");
    let id = v["id"].as_str().unwrap().to_string();
    ok(dir, &["compute", "stop", &a, &id]);
    ok(
        dir,
        &[
            "compute",
            "wait",
            &a,
            &id,
            "--state",
            "stopped",
            "--timeout",
            "20",
        ],
    );

    let inv_path = dir.join("inv.json");
    ok(
        dir,
        &["compute", "export", &a, "-o", inv_path.to_str().unwrap()],
    );
    let inv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inv_path).unwrap()).unwrap();
    assert_eq!(inv["instances"][0]["name"], "ocr-1");
    assert_eq!(inv["instances"][0]["size"]["vcpus"], 2);

    let dry = ok(
        dir,
        &[
            "compute",
            "import",
            "--dry-run",
            inv_path.to_str().unwrap(),
            &b,
        ],
    );
    assert!(dry.contains("would create (size local.medium"), "{dry}");
    let first = ok(
        dir,
        &[
            "--json",
            "compute",
            "import",
            inv_path.to_str().unwrap(),
            &b,
        ],
    );
    let e: serde_json::Value = serde_json::from_str(first.trim()).unwrap();
    assert_eq!(e["status"], "created", "{first}");
    let new_id = e["id"].as_str().unwrap().to_string();
    // Stopped at the source: stopped at the destination.
    ok(
        dir,
        &[
            "compute",
            "wait",
            &b,
            &new_id,
            "--state",
            "stopped",
            "--timeout",
            "20",
        ],
    );
    let again = ok(
        dir,
        &[
            "--json",
            "compute",
            "import",
            inv_path.to_str().unwrap(),
            &b,
        ],
    );
    let e2: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(
        e2["id"],
        new_id.as_str(),
        "a second import created a new instance"
    );

    // A broken inventory is a clear error.
    std::fs::write(dir.join("bad.json"), "{\"format\": 1}").unwrap();
    let o = gureum(dir, &["compute", "import", "bad.json", &b]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    ok(dir, &["compute", "terminate", &a, &id]);
    ok(dir, &["compute", "terminate", &b, &new_id]);
    ok(
        dir,
        &[
            "compute",
            "wait",
            &b,
            &new_id,
            "--state",
            "terminated",
            "--timeout",
            "20",
        ],
    );
    let o = gureum(dir, &["compute", "wait", &a, &id, "--state", "sideways"]);
    assert_eq!(o.status.code(), Some(2));
}
