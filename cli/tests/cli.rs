//! Process-level tests of the `gureum` binary on mem://, file://, sqlite:// and local://.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn bucket(&self) -> String {
        format!("file://{}", self.path("bkt").display())
    }
    fn queue(&self) -> String {
        format!("sqlite://{}?queue=jobs", self.path("q.db").display())
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gureum"));
        c.current_dir(self.dir.path())
            .env("GUREUM_CONFIG", self.path("no-such-gureum.toml"))
            .env("GUREUM_DATA_DIR", self.path("data"))
            .env_remove("GUREUM_STORAGE_URL")
            .env_remove("GUREUM_QUEUE_URL")
            .env_remove("GUREUM_COMPUTE_URL")
            .env_remove("GUREUM_PROFILE");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).stdin(Stdio::null()).output().unwrap()
    }
    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            stdin.write_all(&data).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }
    /// Run and require exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(code(&o), 0, "gureum {args:?} failed: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}
fn write(p: &Path, data: &[u8]) {
    std::fs::write(p, data).unwrap();
}

#[test]
fn file_bucket_round_trip_ls_cat_stat_rm() {
    let e = Env::new();
    let b = e.bucket();
    write(&e.path("a.txt"), b"hello\n");
    e.ok(&["cp", "a.txt", &format!("{b}#dir/a.txt")]);
    // A destination ending in '/' gets the source file name.
    e.ok(&["cp", "a.txt", &format!("{b}#dir/sub/")]);
    e.ok(&[
        "cp",
        "--content-type",
        "text/plain",
        "--meta",
        "complaint-id=c-1041",
        "a.txt",
        &format!("{b}#민원/a b+c%d.txt"),
    ]);

    // Non-recursive listing groups at '/'.
    let top = json_lines(&e.ok(&["ls", "--json", &b]));
    let prefixes: Vec<&str> = top
        .iter()
        .filter(|v| v["type"] == "prefix")
        .map(|v| v["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes.len(), 2, "{top:?}");
    assert!(prefixes.contains(&"dir/") && prefixes.contains(&"민원/"));
    let all = json_lines(&e.ok(&["ls", "-r", "--json", &b]));
    let mut keys: Vec<&str> = all.iter().map(|v| v["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, vec!["dir/a.txt", "dir/sub/a.txt", "민원/a b+c%d.txt"]);
    // Character prefix.
    let some = json_lines(&e.ok(&["ls", "-r", "--json", &format!("{b}#dir/s")]));
    assert_eq!(some.len(), 1);
    assert_eq!(some[0]["key"], "dir/sub/a.txt");
    assert_eq!(some[0]["size"], 6);
    // Human listing.
    let human = e.ok(&["ls", &format!("{b}#dir/")]);
    assert!(
        human.contains("dir/a.txt") && human.contains("PRE  dir/sub/"),
        "{human}"
    );

    assert_eq!(e.ok(&["cat", &format!("{b}#민원/a b+c%d.txt")]), "hello\n");
    let st = json_lines(&e.ok(&["stat", "--json", &format!("{b}#민원/a b+c%d.txt")]));
    assert_eq!(st[0]["size"], 6);
    assert_eq!(st[0]["content_type"], "text/plain");
    assert_eq!(st[0]["metadata"]["complaint-id"], "c-1041");

    // Bucket -> file, into a directory.
    std::fs::create_dir(e.path("out")).unwrap();
    e.ok(&["cp", &format!("{b}#dir/a.txt"), "out/"]);
    assert_eq!(std::fs::read(e.path("out/a.txt")).unwrap(), b"hello\n");
    // Same-bucket copy.
    e.ok(&["cp", &format!("{b}#dir/a.txt"), &format!("{b}#copy.txt")]);
    assert_eq!(e.ok(&["cat", &format!("{b}#copy.txt")]), "hello\n");

    // rm one key, then rm -r a prefix.
    e.ok(&["rm", &format!("{b}#copy.txt")]);
    assert_eq!(code(&e.run(&["cat", &format!("{b}#copy.txt")])), 3);
    let o = e.ok(&["rm", "-r", &format!("{b}#dir/")]);
    assert!(o.contains("deleted 2 object(s)"), "{o}");
    let rest = json_lines(&e.ok(&["ls", "-r", "--json", &b]));
    assert_eq!(rest.len(), 1);
    // rm -r without a prefix is refused.
    assert_eq!(code(&e.run(&["rm", "-r", &b])), 2);
}

#[test]
fn stdin_stdout_and_large_multipart_copy() {
    let e = Env::new();
    let b = e.bucket();
    let o = e.run_stdin(
        &["cp", "-", &format!("{b}#from-stdin.bin")],
        b"piped \x00 bytes",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = e.run(&["cp", &format!("{b}#from-stdin.bin"), "-"]);
    assert_eq!(o.stdout, b"piped \x00 bytes");
    // stdin needs a destination key.
    let o = e.run_stdin(&["cp", "-", &format!("{b}#dir/")], b"x");
    assert_eq!(code(&o), 2, "{}", stderr(&o));

    // Larger than the single-put limit (8 MiB): goes through the multipart writer.
    let big: Vec<u8> = (0..(9 * 1024 * 1024 + 12345u32))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write(&e.path("big.bin"), &big);
    let o = e.run(&["--json", "cp", "big.bin", &format!("{b}#big/big.bin")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_lines(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(v[0]["bytes"], big.len());
    e.ok(&["cp", &format!("{b}#big/big.bin"), "big.back"]);
    assert!(std::fs::read(e.path("big.back")).unwrap() == big);
    let o = e.run(&["cat", &format!("{b}#big/big.bin")]);
    assert!(o.stdout == big);
    // No partial files were left behind.
    let leftovers: Vec<_> = std::fs::read_dir(e.dir.path())
        .unwrap()
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name().to_string_lossy().contains("gureum-partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn exit_codes_and_error_format() {
    let e = Env::new();
    let b = e.bucket();
    // Not found: 3, human error format.
    let o = e.run(&["cat", &format!("{b}#missing.txt")]);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).starts_with("error[not_found]: "),
        "{}",
        stderr(&o)
    );
    let o = e.run(&["cat", "mem://nothing-here#missing"]);
    assert_eq!(code(&o), 3);
    // Missing local source file: 3.
    let o = e.run(&["cp", "no-such-file", &format!("{b}#x")]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // Usage errors: 2.
    assert_eq!(code(&e.run(&["frobnicate"])), 2);
    assert_eq!(code(&e.run(&["cat"])), 2);
    assert_eq!(code(&e.run(&["cat", &b])), 2); // no #KEY
    assert_eq!(code(&e.run(&["cat", "not-a-url"])), 2);
    let o = e.run(&["ls", "gopher://x"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("error[invalid_argument]: unknown storage scheme"));
    // --help and --version succeed.
    assert_eq!(code(&e.run(&["--help"])), 0);
    assert_eq!(code(&e.run(&["--version"])), 0);
    // JSON errors.
    let o = e.run(&["--json", "cat", &format!("{b}#missing.txt")]);
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["error"]["kind"], "not_found");
    assert_eq!(v["error"]["exit_code"], 3);
}

#[test]
fn errors_never_print_secrets() {
    let e = Env::new();
    for url in [
        "s3://AKIAXXXX:hunter2@bucket?secret_key=abc123#k",
        "gopher://user:hunter2@host:99999999/?token=abc123#k",
        "mem://x?secret_key=abc123#k/missing",
        "sqlite://user:hunter2@/tmp/x.db?password=abc123",
    ] {
        for args in [
            vec!["cat", url],
            vec!["ls", url],
            vec!["doctor", url],
            vec!["queue", "depth", url],
        ] {
            let o = e.run(&args);
            let all = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
            assert!(
                !all.contains("hunter2") && !all.contains("abc123"),
                "{args:?} leaked: {all}"
            );
        }
    }
}

#[test]
fn sqlite_queue_send_receive_ack() {
    let e = Env::new();
    let q = e.queue();
    let id1 = e.ok(&["queue", "send", &q, "민원 c-1041 접수"]);
    assert!(!id1.trim().is_empty());
    let v = json_lines(&e.ok(&[
        "--json",
        "queue",
        "send",
        &q,
        "--attr",
        "kind=reindex",
        "second",
    ]));
    assert!(v[0]["id"].is_string());
    write(&e.path("body.bin"), b"\xff\x00binary");
    e.ok(&["queue", "send", &q, "--file", "body.bin"]);
    let o = e.run_stdin(&["queue", "send", &q, "--file", "-"], b"from stdin");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(e.ok(&["queue", "depth", &q]).trim(), "4");

    // Receive without ack: messages stay (invisible for 1 s).
    let got = json_lines(&e.ok(&[
        "--json",
        "queue",
        "receive",
        &q,
        "--max",
        "10",
        "--visibility",
        "1",
    ]));
    assert_eq!(got.len(), 4);
    assert_eq!(got[0]["body"], "민원 c-1041 접수");
    assert_eq!(got[0]["id"], id1.trim());
    assert_eq!(got[1]["attributes"]["kind"], "reindex");
    assert_eq!(got[2]["body_base64"], "/wBiaW5hcnk=");
    assert_eq!(got[0]["acked"], false);
    assert_eq!(e.ok(&["queue", "receive", &q]), "");
    assert_eq!(e.ok(&["queue", "depth", &q]).trim(), "4");

    // After the visibility timeout they come back; ack them (long-poll covers the wait).
    let o = e.run(&[
        "queue", "receive", &q, "--max", "10", "--ack", "--wait", "5",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(o.stdout, expected_bodies());
    assert_eq!(e.ok(&["queue", "depth", &q]).trim(), "0");
    assert_eq!(code(&e.run(&["queue", "receive", &q, "--max", "0"])), 2);
    assert_eq!(code(&e.run(&["queue", "send", &q])), 2);
}

fn expected_bodies() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice("민원 c-1041 접수\nsecond\n".as_bytes());
    v.extend_from_slice(b"\xff\x00binary\nfrom stdin\n");
    v
}

#[test]
fn compute_local_lists() {
    let e = Env::new();
    let c = format!("local://{}", e.path("compute").display());
    let sizes = json_lines(&e.ok(&["--json", "compute", "sizes", &c]));
    assert!(!sizes.is_empty());
    assert!(sizes.iter().all(|s| s["vcpus"].as_u64().unwrap() >= 1));
    let images = json_lines(&e.ok(&["--json", "compute", "images", &c]));
    assert!(
        images.iter().any(|i| i["alias"] == "ubuntu-22.04"),
        "{images:?}"
    );
    assert_eq!(e.ok(&["--json", "compute", "list", &c]), "");
    let human = e.ok(&["compute", "list", &c]);
    assert!(human.starts_with("ID"), "{human}");
}

#[test]
fn doctor_and_schemes() {
    let e = Env::new();
    let v = json_lines(&e.ok(&["--json", "doctor", "mem://doc"]));
    let checks = v[0]["checks"].as_array().unwrap();
    // mem:// is both a storage and a queue scheme.
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c["ok"] == true));
    assert_eq!(checks[0]["details"]["capabilities"]["multipart"], true);
    let v = json_lines(&e.ok(&["--json", "doctor", "--service", "queue", &e.queue()]));
    assert_eq!(v[0]["checks"][0]["details"]["depth"], 0);
    let human = e.ok(&["doctor", &e.bucket()]);
    assert!(human.contains("storage  ok"), "{human}");
    let o = e.run(&["doctor", "gopher://x"]);
    assert_eq!(code(&o), 2);
    let s = e.ok(&["schemes"]);
    assert!(s.contains("file://") && s.contains("sqlite://") && s.contains("local://"));
    let v = json_lines(&e.ok(&["--json", "schemes"]));
    let storage = v.iter().find(|l| l["service"] == "storage").unwrap();
    let file = storage["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["scheme"] == "file")
        .expect("file:// is described by its provider");
    assert_eq!(file["feature"], "local");
    assert_eq!(file["zone"], "on-prem");
    // Each storage scheme is either compiled in or named with its feature.
    let compiled = storage["schemes"].as_array().unwrap();
    let missing = storage["not_compiled"].as_array().unwrap();
    assert!(compiled.iter().any(|s| s == "s3") != missing.iter().any(|m| m["scheme"] == "s3"));
}

#[test]
fn conformance_delegates_to_the_suite() {
    let e = Env::new();
    let o = e.run(&[
        "conformance",
        "--storage",
        &e.bucket(),
        "--queue",
        "mem://conformance",
        "--only",
        "storage.key_*,queue.send_receive*",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.is_object(), "{v}");
    // The global --json selects the JSON report too.
    let o = e.run(&[
        "--json",
        "conformance",
        "--storage",
        "mem://conformance",
        "--only",
        "storage.key_*",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
    // A backend that cannot even be opened is a failure: exit 5.
    let o = e.run(&["conformance", "--storage", "gopher://nowhere"]);
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    // No URL at all is a usage error.
    assert_eq!(code(&e.run(&["conformance"])), 2);
    assert_eq!(code(&e.run(&["conformance", "--list-cases"])), 0);
}

#[test]
fn ls_counts_names_outside_the_portable_key_space() {
    let env = Env::new();
    let root = env.path("bkt");
    std::fs::create_dir_all(root.join("민원")).unwrap();
    write(&root.join("민원/사진 1.jpg"), b"jpg");
    // Files other tools wrote whose names no portable key can be.
    write(&root.join("민원/tab\there.txt"), b"x");
    write(&root.join("bell\u{7}.txt"), b"x");
    let bucket = env.bucket();
    for args in [
        vec!["ls", "-r", bucket.as_str()],
        vec!["ls", bucket.as_str()],
    ] {
        let o = env.run(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = String::from_utf8(o.stdout.clone()).unwrap();
        if args.contains(&"-r") {
            assert!(out.contains("민원/사진 1.jpg"), "{out}");
            assert!(
                stderr(&o).contains("skipped 2 names outside the portable key space"),
                "{}",
                stderr(&o)
            );
        } else {
            assert!(out.contains("민원/"), "{out}");
            assert!(
                stderr(&o).contains("skipped 1 names outside the portable key space"),
                "{}",
                stderr(&o)
            );
        }
    }
    let out = env.ok(&["--json", "ls", "-r", &bucket]);
    let lines = json_lines(&out);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "skipped");
    assert_eq!(last["count"], 2);
    // The Hangul object is read by its own name.
    assert_eq!(
        env.ok(&["cat", &format!("{bucket}#민원/사진 1.jpg")]),
        "jpg"
    );
}

/// `-v`/`GUREUM_LOG` turn on gureum's own diagnostics on stderr; without them stderr stays
/// quiet, and a malformed `GUREUM_LOG` is reported, not fatal.
#[test]
fn verbose_flag_and_gureum_log_control_diagnostics() {
    let e = Env::new();
    std::fs::write(e.path("x.txt"), b"hello").unwrap();
    let dst = format!("{}#k", e.bucket());
    let quiet = e.run(&["cp", "x.txt", &dst]);
    assert!(quiet.status.success());
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let loud = e.run(&["-vvv", "cp", "x.txt", &dst]);
    assert!(loud.status.success());
    let err = String::from_utf8_lossy(&loud.stderr);
    assert!(
        err.contains("gureum_core::storage") && err.contains("put"),
        "{err}"
    );
    let filtered = e
        .cmd()
        .env("GUREUM_LOG", "gureum_core=trace")
        .args(["cp", "x.txt", &dst])
        .output()
        .unwrap();
    assert!(filtered.status.success());
    assert!(String::from_utf8_lossy(&filtered.stderr).contains("gureum_core"));
    let bad = e
        .cmd()
        .env("GUREUM_LOG", "[bad")
        .args(["cat", &dst])
        .output()
        .unwrap();
    assert_eq!(bad.stdout, b"hello");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ignoring GUREUM_LOG"));
}
