//! Sharded `gureum sync` run exactly as a Kubernetes Indexed Job runs it: N separate processes
//! with `--shards N` and `JOB_COMPLETION_INDEX=0..N-1`, one of them killed with SIGKILL midway
//! and run again (a retried pod). The union must equal the source, and once every shard has
//! completed, running them all again copies nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const SHARDS: u32 = 3;

fn cmd(home: &Path, index: u32, src: &Path, dst: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gureum"));
    c.env("HOME", home) // checkpoints live under $HOME/.local/state/gureum
        .env("GUREUM_CONFIG", home.join("none.toml"))
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .args([
            "--json",
            "sync",
            "--shards",
            &SHARDS.to_string(),
            "--transfers",
            "2",
        ])
        .arg(src)
        .arg(dst);
    c
}

fn run(home: &Path, index: u32, src: &Path, dst: &Path) -> serde_json::Value {
    let o: Output = cmd(home, index, src, dst).output().unwrap();
    assert!(
        o.status.success(),
        "shard {index}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// Every regular file under `root` (relative path → contents), skipping gureum's sidecars.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p: PathBuf = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel.starts_with(".gureum") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

#[test]
fn indexed_job_shards_with_a_killed_pod() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let src = t.path().join("src");
    let dst = t.path().join("dst");
    std::fs::create_dir_all(&home).unwrap();
    let n = 1200usize;
    for i in 0..n {
        let d = src.join(format!("민원/2026/{:02}", 1 + i % 12));
        std::fs::create_dir_all(&d).unwrap();
        let body: Vec<u8> = (0..8192u32).map(|j| (j as usize ^ i) as u8).collect();
        std::fs::write(d.join(format!("c-{i:05}.bin")), body).unwrap();
    }
    let source = tree(&src);

    // Shards 0 and 2 run to completion; each takes about a third.
    let mut copied_total = 0u64;
    for i in [0, 2] {
        let r = run(&home, i, &src, &dst);
        let c = r["copied"].as_u64().unwrap();
        assert!(c > n as u64 / 5 && c < n as u64 / 2, "shard {i} copied {c}");
        copied_total += c;
    }
    let before = tree(&dst).len();
    assert_eq!(before as u64, copied_total);

    // Shard 1 is killed (SIGKILL, as when a node dies) once it has copied some objects.
    let mut child: Child = cmd(&home, 1, &src, &dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut killed_midway = false;
    for _ in 0..400 {
        // Bounded: 20 s.
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if tree(&dst).len() >= before + 20 {
            killed_midway = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let partial = tree(&dst).len();
    eprintln!(
        "shard 1 killed after {} of its objects (midway: {killed_midway})",
        partial - before
    );
    // Every shard has its own checkpoint; a completed shard removed its own, the killed one's
    // is left for the retry.
    let cps: Vec<String> = std::fs::read_dir(home.join(".local/state/gureum/sync"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sqlite"))
        .collect();
    if killed_midway {
        assert!(
            cps.iter().any(|c| c.ends_with("-shard-1-of-3.sqlite")),
            "{cps:?}"
        );
    }
    assert!(
        !cps.iter()
            .any(|c| c.contains("-shard-0-") || c.contains("-shard-2-")),
        "{cps:?}"
    );

    // The retried pod finishes the shard.
    let r1 = run(&home, 1, &src, &dst);
    assert_eq!(r1["failed_count"], 0, "{r1}");
    let after = tree(&dst);
    assert_eq!(after.len(), n, "the union of the shards is not the source");
    assert!(after == source, "contents differ from the source");

    // Completed: running every shard again copies nothing.
    for i in 0..SHARDS {
        let r = run(&home, i, &src, &dst);
        assert_eq!(r["copied"], 0, "shard {i} copied again: {r}");
    }
}

#[test]
fn shard_flags_are_checked() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    std::fs::create_dir_all(&src).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gureum"))
        .env("HOME", t.path())
        .env_remove("JOB_COMPLETION_INDEX")
        .args(["sync", "--shards", "4"])
        .arg(&src)
        .arg(t.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("JOB_COMPLETION_INDEX"));
    let o = Command::new(env!("CARGO_BIN_EXE_gureum"))
        .env("HOME", t.path())
        .args(["sync", "--shard", "4/4"])
        .arg(&src)
        .arg(t.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
