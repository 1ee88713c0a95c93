//! `gureum sync` / `cp -r` / `check` on local directories and `file://`: output, dry run,
//! exit codes, one line per failed object (no server needed).

use std::path::Path;
use std::process::{Command, Output};

fn gureum(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .env("GUREUM_STATE_DIR", dir.join("state"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn sync_directories_dry_run_delete_check_and_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let src = d.join("src");
    std::fs::create_dir_all(src.join("민원 2026")).unwrap();
    for i in 0..20 {
        std::fs::write(
            src.join(format!("민원 2026/c-{i:04} a+b.json")),
            format!("{{\"n\":{i}}}"),
        )
        .unwrap();
    }
    std::fs::write(src.join("skip.tmp"), "tmp").unwrap();
    let (s, dst) = (src.to_str().unwrap(), d.join("dst"));
    let dst = dst.to_str().unwrap();

    // Dry run: one line per object, nothing written.
    let o = gureum(d, &["sync", s, dst, "--dry-run", "--exclude", "*.tmp"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("would copy ") && l.ends_with(" bytes)"))
            .count(),
        20,
        "{out}"
    );
    assert!(!Path::new(dst).join("민원 2026").exists());
    // No progress bar when stderr is not a terminal.
    assert!(err.is_empty(), "{err}");

    let o = gureum(d, &["--json", "sync", s, dst, "--exclude", "*.tmp"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (r["copied"].as_u64(), r["failed_count"].as_u64()),
        (Some(20), Some(0)),
        "{r}"
    );
    assert!(r["throughput_mib_s"].is_number() && r["duration_secs"].is_number());
    assert!(!Path::new(dst).join("skip.tmp").exists());
    assert_eq!(
        std::fs::read_to_string(Path::new(dst).join("민원 2026/c-0007 a+b.json")).unwrap(),
        "{\"n\":7}"
    );

    // check: equal (0); after a change, different (9) with the key named.
    let o = gureum(d, &["check", s, dst, "--exclude", "*.tmp"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    std::fs::write(src.join("민원 2026/c-0003 a+b.json"), "{\"n\":33}").unwrap();
    let o = gureum(d, &["check", s, dst, "--exclude", "*.tmp"]);
    assert_eq!(o.status.code(), Some(9));
    assert!(
        text(&o).0.contains("size: 민원 2026/c-0003 a+b.json"),
        "{:?}",
        text(&o)
    );

    // --delete removes what the source lacks (after transfers); cp -r never deletes.
    std::fs::write(Path::new(dst).join("old.txt"), "old").unwrap();
    let o = gureum(d, &["cp", "-r", s, dst, "--exclude", "*.tmp"]);
    assert!(o.status.success());
    assert!(Path::new(dst).join("old.txt").exists());
    let o = gureum(
        d,
        &["--json", "sync", s, dst, "--exclude", "*.tmp", "--delete"],
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (r["copied"].as_u64(), r["deleted"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert!(!Path::new(dst).join("old.txt").exists());

    // A key the destination cannot take fails alone: one line, exit 10, the rest copied.
    let long = "가".repeat(300); // 900 bytes: fits at the source, too long under the prefix
    let b = format!("file://{}/bkt", d.display());
    let o = gureum(
        d,
        &[
            "cp",
            &src.join("skip.tmp").to_string_lossy(),
            &format!("{b}#{long}/{}", "x".repeat(100)),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    gureum(
        d,
        &[
            "cp",
            &src.join("skip.tmp").to_string_lossy(),
            &format!("{b}#ok.txt"),
        ],
    );
    let o = gureum(
        d,
        &[
            "sync",
            &b,
            &format!("file://{}/bkt2#{}/", d.display(), "p".repeat(60)),
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(10), "{out} {err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("failed: ")).count(),
        1,
        "{err}"
    );
    assert!(out.contains("copied 1 "), "{out}");

    // cp -r refuses single-object options.
    let o = gureum(d, &["cp", "-r", s, dst, "--meta", "a=b"]);
    assert_eq!(o.status.code(), Some(2));
}
