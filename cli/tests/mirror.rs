//! The dual-run mirror from the command line: a writer in async mode killed with SIGKILL
//! midway loses nothing (after `gureum mirror drain`, every object on the primary is on the
//! secondary with the same bytes), and `gureum mirror verify` lists divergences with its exit
//! codes and `--json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn gureum(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gureum"));
    c.env("HOME", home)
        .env("GUREUM_CONFIG", home.join("none.toml"))
        .env_remove("GUREUM_STATE_DIR")
        .env_remove("XDG_STATE_HOME");
    c
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

/// Every regular file under `root` (relative path → contents), skipping gureum's sidecars.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd {
            let p: PathBuf = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel.starts_with(".gureum") || rel.contains("/.gureum") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.insert(rel, b);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn async_writer_killed_midway_loses_nothing_after_the_drain() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let (src, p, s) = (t.path().join("src"), t.path().join("p"), t.path().join("s"));
    for d in [&home, &src, &p, &s] {
        std::fs::create_dir_all(d).unwrap();
    }
    let n = 1500usize;
    for i in 0..n {
        let d = src.join(format!("민원/{:02}", i % 10));
        std::fs::create_dir_all(&d).unwrap();
        let body: Vec<u8> = (0..4096u32).map(|j| (j as usize ^ (i * 7)) as u8).collect();
        std::fs::write(d.join(format!("c-{i:05}.bin")), body).unwrap();
    }
    let queue = format!("sqlite://{}/repair.db?queue=repair", t.path().display());
    let mirror = format!(
        "mirror://?primary={}&secondary={}&mode=async&queue={}&visibility=2",
        enc(&format!("file://{}", p.display())),
        enc(&format!("file://{}", s.display())),
        enc(&queue)
    );

    // The writer: a sync into the async mirror (the background drainer runs in it too).
    let mut child: Child = gureum(&home)
        .args(["sync", "--transfers", "4", "--no-progress"])
        .arg(&src)
        .arg(&mirror)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut killed_midway = false;
    for _ in 0..600 {
        // Bounded: 30 s.
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if tree(&p).len() >= 200 {
            killed_midway = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(
        killed_midway,
        "the writer finished before it could be killed"
    );
    let (on_p, on_s) = (tree(&p).len(), tree(&s).len());
    println!("at the kill: {on_p} on the primary, {on_s} on the secondary");
    assert!(on_p < n, "killed midway");

    // The restart: drain what the killed writer left in the repair queue.
    let o = run(gureum(&home)
        .args(["--json", "mirror", "drain", "--timeout", "60"])
        .arg(&mirror));
    assert!(
        o.status.success(),
        "drain: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let rep: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(rep["remaining"], 0, "{rep}");

    // Every object on the primary (every write acknowledged there, and any the kill cut
    // short after the primary took it) is on the secondary with the same bytes.
    let (tp, ts) = (tree(&p), tree(&s));
    assert!(tp.len() >= 200);
    assert_eq!(
        tp.keys().collect::<Vec<_>>(),
        ts.keys().collect::<Vec<_>>(),
        "key sets differ after the drain"
    );
    assert!(tp == ts, "bytes differ after the drain");
    // And the primary holds only source bytes.
    let source = tree(&src);
    for (k, v) in &tp {
        assert_eq!(source.get(k), Some(v), "{k}");
    }
    let o = run(gureum(&home)
        .args(["--json", "mirror", "verify"])
        .arg(&mirror));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(v["equal"], true);
    assert_eq!(v["matched"].as_u64().unwrap() as usize, tp.len());

    // The rest of the migration through the mirror, run again to completion, then equal.
    let o = run(gureum(&home)
        .args(["sync", "--no-progress"])
        .arg(&src)
        .arg(&mirror));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(gureum(&home).args(["mirror", "drain"]).arg(&mirror));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(tree(&s), tree(&src));
}

#[test]
fn verify_lists_divergences_with_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (p, s) = (t.path().join("p"), t.path().join("s"));
    let (pu, su) = (
        format!("file://{}", p.display()),
        format!("file://{}", s.display()),
    );
    let mirror = format!("mirror://?primary={}&secondary={}", enc(&pu), enc(&su));
    for (k, v) in [
        ("a.txt", "a"),
        ("b/c.txt", "c"),
        ("d.txt", "d"),
        ("e.txt", "e"),
    ] {
        let f = t.path().join("body");
        std::fs::write(&f, v).unwrap();
        let o = run(gureum(&home).arg("cp").arg(&f).arg(format!("{mirror}#{k}")));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = run(gureum(&home).args(["mirror", "verify"]).arg(&mirror));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Diverge: one missing on the secondary, one changed (same size and not), one only there.
    std::fs::remove_file(s.join("a.txt")).unwrap();
    std::fs::write(s.join("d.txt"), "D").unwrap();
    std::fs::write(s.join("e.txt"), "longer").unwrap();
    std::fs::write(s.join("only.txt"), "x").unwrap();
    let o = run(gureum(&home)
        .args(["--json", "mirror", "verify"])
        .arg(&pu)
        .arg(&su));
    assert_eq!(o.status.code(), Some(9));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(v["equal"], false);
    let mut got: Vec<(String, String)> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("a.txt".to_string(), "missing-on-secondary".to_string()),
            ("d.txt".to_string(), "content".to_string()),
            ("e.txt".to_string(), "size".to_string()),
            ("only.txt".to_string(), "missing-on-primary".to_string()),
        ]
    );
    // Human output names the sides.
    let o = run(gureum(&home).args(["mirror", "verify"]).arg(&mirror));
    assert_eq!(o.status.code(), Some(9));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("missing-on-secondary") && text.contains("a.txt"),
        "{text}"
    );
    // Usage errors.
    let o = run(gureum(&home).args(["mirror", "verify"]).arg(&pu));
    assert_eq!(o.status.code(), Some(2));
    let o = run(gureum(&home).args(["mirror", "drain"]).arg(&mirror));
    assert_eq!(
        o.status.code(),
        Some(2),
        "a sync mirror has nothing to drain"
    );
}
