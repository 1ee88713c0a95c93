//! Bucket and queue administration, completions, man pages and `--help` examples of the
//! `gureum` binary, on the embedded backends (file://, sqlite://, local://) and, with
//! `--features aws` and moto running, on S3 and SQS.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn gureum(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .env("GUREUM_DATA_DIR", dir.join("data"))
        .env_remove("GUREUM_PROFILE")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = gureum(dir, args);
    assert_eq!(
        code(&o),
        0,
        "gureum {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn mb_buckets_rb_on_files() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let root = dir.join("buckets");
    let a = format!("file://{}/civic-attachments", root.display());
    let b = format!("file://{}/open-data", root.display());
    assert!(ok(dir, &["mb", &a]).contains("make_bucket: civic-attachments"));
    assert!(root.join("civic-attachments").is_dir());
    let v = json_lines(&ok(dir, &["--json", "mb", &b]));
    assert_eq!(v[0]["created"], true);
    // A second mb is a conflict (exit 8) unless -p.
    assert_eq!(code(&gureum(dir, &["mb", &b])), 8);
    let v = json_lines(&ok(dir, &["--json", "mb", "-p", &b]));
    assert_eq!(v[0]["created"], false);

    // Listing: both buckets, sorted.
    let listed = ok(dir, &["buckets", &b]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["BUCKET", "civic-attachments", "open-data"]
    );
    let v = json_lines(&ok(dir, &["--json", "lb", &b]));
    assert_eq!(v.len(), 2);

    // rb refuses a non-empty bucket (exit 8), --force empties it first.
    std::fs::write(dir.join("x.txt"), "x").unwrap();
    ok(dir, &["cp", "x.txt", &format!("{a}#사진/1.txt")]);
    ok(dir, &["cp", "x.txt", &format!("{a}#2.txt")]);
    let o = gureum(dir, &["rb", &a]);
    assert_eq!(code(&o), 8, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let out = ok(dir, &["rb", "--force", &a]);
    assert!(out.contains("deleted 2 objects"), "{out}");
    assert!(!root.join("civic-attachments").exists());
    ok(dir, &["rb", &b]);
    // Removing a missing bucket is NotFound (exit 3), and does not create it.
    assert_eq!(code(&gureum(dir, &["rb", &b])), 3);
    assert!(!root.join("open-data").exists());
    // A key part is refused.
    assert_eq!(code(&gureum(dir, &["mb", &format!("{b}#k")])), 2);
}

#[test]
fn queue_create_purge_list_delete_on_sqlite() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = dir.join("q.db");
    let ocr = format!("sqlite://{}?queue=ocr", db.display());
    let jobs = format!("sqlite://{}?queue=민원-접수", db.display());
    assert!(ok(dir, &["queue", "create", &ocr]).contains("created queue ocr"));
    ok(dir, &["queue", "create", &jobs]);
    // Exists: conflict, unless -p.
    assert_eq!(code(&gureum(dir, &["queue", "create", &ocr])), 8);
    let v = json_lines(&ok(dir, &["--json", "queue", "create", "-p", &ocr]));
    assert_eq!(v[0]["created"], false);

    for i in 0..3 {
        ok(dir, &["queue", "send", &ocr, &format!("page {i}")]);
    }
    let list = ok(dir, &["queue", "list", &ocr]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "QUEUE      DEPTH", "{list}");
    assert_eq!(lines[1], "ocr            3", "{list}");
    // 민원-접수 is 9 display columns (4 Hangul syllables count 2 each, plus '-').
    assert_eq!(lines[2], "민원-접수      0", "{list}");

    let v = json_lines(&ok(dir, &["--json", "queue", "purge", &ocr]));
    assert_eq!(v[0]["depth_before"], 3);
    assert_eq!(ok(dir, &["queue", "depth", &ocr]).trim(), "0");
    assert!(ok(dir, &["queue", "delete", &jobs]).contains("deleted queue 민원-접수"));
    let v = json_lines(&ok(dir, &["--json", "queue", "list", &ocr]));
    assert_eq!(v.len(), 1);
    // Deleting or purging a missing queue is NotFound and does not create it.
    assert_eq!(code(&gureum(dir, &["queue", "delete", &jobs])), 3);
    assert_eq!(code(&gureum(dir, &["queue", "purge", &jobs])), 3);
    let v = json_lines(&ok(dir, &["--json", "queue", "list", &ocr]));
    assert_eq!(v.len(), 1, "{v:?}");
    // The command owns create=.
    assert_eq!(
        code(&gureum(
            dir,
            &["queue", "create", &format!("{ocr}&create=true")]
        )),
        2
    );
}

#[test]
fn completions_and_man_pages() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let bash = ok(dir, &["completions", "bash"]);
    assert!(bash.contains("_gureum()") && bash.contains("mb") && bash.contains("purge"));
    let zsh = ok(dir, &["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef gureum"),
        "{}",
        &zsh[..40.min(zsh.len())]
    );
    let fish = ok(dir, &["completions", "fish"]);
    assert!(fish.contains("complete -c gureum"));
    assert_eq!(code(&gureum(dir, &["completions", "tcsh"])), 2);

    let man = ok(dir, &["man"]);
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq") || man.contains(".TH gureum 1"),
        "{man:.200}"
    );
    assert!(man.contains(".TH gureum 1"));
    // The examples are in the man page too.
    assert!(man.contains("gureum mb"));
    let out = ok(dir, &["man", "--dir", "man1"]);
    assert!(out.starts_with("wrote "), "{out}");
    for page in [
        "gureum.1",
        "gureum-mb.1",
        "gureum-queue-purge.1",
        "gureum-compute-list.1",
    ] {
        let p = dir.join("man1").join(page);
        assert!(p.is_file(), "{page} missing");
        assert!(std::fs::read_to_string(p).unwrap().contains(".TH"));
    }
}

#[test]
fn help_shows_examples_for_every_command() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for args in [
        &["--help"][..],
        &["mb", "--help"],
        &["queue", "purge", "--help"],
        &["ls", "--help"],
        &["compute", "list", "--help"],
    ] {
        let h = ok(dir, args);
        assert!(h.contains("Examples:\n  gureum "), "{args:?}:\n{h}");
    }
}

#[test]
fn compute_list_aligns_hangul_names() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let url = format!("local://{}", dir.join("compute").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(gureum::open_compute(&url)).unwrap();
    for name in ["ocr-1", "민원-ocr-2"] {
        rt.block_on(
            c.create(
                gureum::InstanceSpec::new(name)
                    .size(gureum::Size::vcpus(1))
                    .image("echo"),
            ),
        )
        .unwrap();
    }
    let out = ok(dir, &["compute", "list", &url]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let col = |l: &str, w: &str| {
        let i = l.find(w).unwrap_or_else(|| panic!("{w} in {l}"));
        unicode_width::UnicodeWidthStr::width(&l[..i])
    };
    let state_col = col(lines[0], "STATE");
    for l in &lines[1..] {
        let state = ["pending", "running", "stopped", "error"]
            .into_iter()
            .find(|s| l.contains(s))
            .unwrap_or_else(|| panic!("no state in {l}"));
        assert_eq!(col(l, state), state_col, "{out}");
    }
    for i in rt.block_on(c.list()).unwrap() {
        rt.block_on(c.terminate(&i.id)).unwrap();
    }
}

/// mb / buckets / rb on S3 and queue create / purge / delete on SQS (moto).
#[cfg(feature = "aws")]
#[test]
fn admin_on_moto() {
    let Some(endpoint) = gureum_testkit::env::var("AWS_ENDPOINT_URL") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let common = format!("region={region}&endpoint={endpoint}&allow_http=true");
    let name = format!("gureum-mb-{}", std::process::id());
    let s3 = format!("s3://{name}?{common}");
    assert!(ok(dir, &["mb", &s3]).contains("make_bucket"));
    assert_eq!(code(&gureum(dir, &["mb", &s3])), 8);
    assert!(ok(dir, &["buckets", &s3]).lines().any(|l| l == name));
    std::fs::write(dir.join("x.txt"), "x").unwrap();
    ok(dir, &["cp", "x.txt", &format!("{s3}#a/x.txt")]);
    assert_eq!(code(&gureum(dir, &["rb", &s3])), 8);
    ok(dir, &["rb", "--force", &s3]);
    assert!(!ok(dir, &["buckets", &s3]).lines().any(|l| l == name));

    let q = format!("sqs://{name}?{common}");
    assert!(ok(dir, &["queue", "create", &q]).contains("created queue"));
    assert_eq!(code(&gureum(dir, &["queue", "create", &q])), 8);
    ok(dir, &["queue", "send", &q, "x"]);
    ok(dir, &["queue", "purge", &q]);
    assert!(ok(dir, &["queue", "list", &q]).contains(&name));
    ok(dir, &["queue", "delete", &q]);
    assert_eq!(code(&gureum(dir, &["queue", "delete", &q])), 3);
}
