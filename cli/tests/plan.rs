//! `gureum plan SRC DST`: counts, bytes and the per-prefix summary, the estimate from a timed
//! probe or `--rate`, the placement policy's refusals (file:// → file:// with zone=foreign),
//! and an S3 source on moto whose 300-byte key segment is probed on the file:// destination.
//! The probes leave nothing behind.

use std::path::Path;
use std::process::{Command, Output};

fn gureum(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gureum"));
    c.env("HOME", home)
        .env("GUREUM_CONFIG", home.join("none.toml"))
        .env_remove("GUREUM_POLICY");
    c
}

fn json(o: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&o.stderr)))
}

fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel.starts_with(".gureum") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v
}

#[test]
fn plan_file_to_file_counts_estimates_and_policy() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let (src, dst) = (t.path().join("src"), t.path().join("dst"));
    for d in [&home, &dst] {
        std::fs::create_dir_all(d).unwrap();
    }
    for (k, n) in [
        ("민원/2026/a.json", 100),
        ("민원/2026/b.json", 200),
        ("민원/2025/c.json", 300),
        ("open/x.csv", 1000),
        ("top.txt", 7),
    ] {
        let p = src.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, vec![b'x'; n]).unwrap();
    }
    let dst_url = format!("file://{}", dst.display());
    let o = gureum(&home)
        .args(["--json", "plan", "--depth", "2"])
        .arg(&src)
        .arg(&dst_url)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["objects"], 5);
    assert_eq!(v["bytes"], 1607);
    assert_eq!(v["largest_object"], 1000);
    assert_eq!(v["prefixes"]["민원/2026/"]["objects"], 2);
    assert_eq!(v["prefixes"]["민원/2026/"]["bytes"], 300);
    assert_eq!(v["prefixes"]["민원/2025/"]["bytes"], 300);
    assert_eq!(v["prefixes"]["open/"]["objects"], 1);
    assert_eq!(v["prefixes"]["(top level)"]["objects"], 1);
    assert!(v["probe"]["bytes_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["estimate_secs_one_stream"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["movable_objects"], 5);
    assert!(files(&dst).is_empty(), "probes left {:?}", files(&dst));

    // An explicit rate, no probe: nothing is written, the estimate is bytes / rate.
    let o = gureum(&home)
        .args(["--json", "plan", "--no-probe", "--rate", "1"])
        .arg(&src)
        .arg(&dst_url)
        .output()
        .unwrap();
    let v = json(&o);
    let est = v["estimate_secs_one_stream"].as_f64().unwrap();
    assert!((est - 1607.0 / 1048576.0).abs() < 1e-9, "{est}");
    assert!(v["probe"]["bytes_per_sec"].is_null());
    let o = gureum(&home)
        .args(["--json", "plan", "--no-probe"])
        .arg(&src)
        .arg(&dst_url)
        .output()
        .unwrap();
    assert!(json(&o)["estimate_secs_one_stream"].is_null());

    // The placement policy: 민원/ is personal, the destination is a foreign zone.
    let policy = t.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[prefix]]\nprefix = \"민원/\"\nclass = \"personal\"\n",
    )
    .unwrap();
    let o = gureum(&home)
        .env("GUREUM_POLICY", &policy)
        .args(["--json", "plan", "--no-probe"])
        .arg(&src)
        .arg(format!("{dst_url}?zone=foreign"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let forbids = v["policy_forbids"].as_object().unwrap();
    let n: u64 = forbids
        .values()
        .map(|r| r["objects"].as_u64().unwrap())
        .sum();
    assert_eq!(n, 3, "{forbids:?}");
    assert_eq!(v["movable_objects"], 2);
    // Human output.
    let o = gureum(&home)
        .env("GUREUM_POLICY", &policy)
        .args(["plan", "--no-probe", "--rate", "10"])
        .arg(&src)
        .arg(format!("{dst_url}?zone=foreign"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("would move 5 objects"), "{text}");
    assert!(text.contains("the placement policy forbids:"), "{text}");
    assert!(text.contains("estimated time"), "{text}");
}

#[test]
fn plan_from_s3_moto_to_file_probes_the_long_keys() {
    let Some(moto) = gureum_testkit::env::moto() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let dst = t.path().join("dst");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    let name = gureum_testkit::env::unique("gplan");
    let s3 = format!(
        "s3://{name}?region=us-east-1&endpoint={}&allow_http=true",
        moto.endpoint
    );
    let o = gureum(&home).arg("mb").arg(&s3).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let body = t.path().join("body");
    std::fs::write(&body, b"hello").unwrap();
    let long = format!("long/{}", "y".repeat(300));
    for k in ["ok/a.txt", "ok/b.txt", long.as_str()] {
        let o = gureum(&home)
            .arg("cp")
            .arg(&body)
            .arg(format!("{s3}#{k}"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = gureum(&home)
        .args(["--json", "plan"])
        .arg(&s3)
        .arg(format!("file://{}", dst.display()))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["objects"], 3);
    assert_eq!(v["bytes"], 15);
    assert_eq!(v["longest_key_bytes"], long.len());
    assert!(v["probe"]["bytes_per_sec"].as_f64().unwrap() > 0.0);
    // file:// took a probe key with the source's 300-byte segment: no false refusal.
    assert!(v["probe"]["max_segment_bytes"].is_null(), "{v}");
    assert!(v["cannot_hold"].as_object().unwrap().is_empty(), "{v}");
    assert_eq!(v["movable_objects"], 3);
    assert!(files(&dst).is_empty(), "probes left {:?}", files(&dst));
    let _ = gureum(&home).args(["rb", "--force"]).arg(&s3).output();
}

/// A destination that refuses some metadata names: an S3-compatible service that drops
/// header names with `_` (moto, configured with `metadata_underscore=false`, as such a
/// service is). `--metadata` probes the names one by one and the plan names the refused one
/// and the objects that carry it (exit 6, unsupported); the probes leave nothing behind.
#[test]
fn plan_to_s3_moto_names_the_metadata_it_cannot_hold() {
    let Some(moto) = gureum_testkit::env::moto() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let src = t.path().join("src");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let b = gureum::local::storage::open_file(&src).unwrap();
        b.put_with(
            "민원/a.json",
            b"a".to_vec(),
            &gureum::PutOptions::default().metadata("dept", "민원과"),
        )
        .await
        .unwrap();
        b.put_with(
            "민원/b.json",
            b"bb".to_vec(),
            &gureum::PutOptions::default()
                .metadata("case_id", "c-1041")
                .metadata("dept", "민원과"),
        )
        .await
        .unwrap();
    });
    let name = gureum_testkit::env::unique("gplanm");
    let s3 = format!(
        "s3://{name}?region=us-east-1&endpoint={}&allow_http=true&metadata_underscore=false",
        moto.endpoint
    );
    let o = gureum(&home).arg("mb").arg(&s3).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = gureum(&home)
        .args(["--json", "plan", "--metadata"])
        .arg(&src)
        .arg(&s3)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(6),
        "{} {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["objects"], 2, "{v}");
    assert_eq!(v["movable_objects"], 1, "{v}");
    let cannot = v["cannot_hold"].as_object().unwrap();
    assert_eq!(cannot.len(), 1, "{v}");
    let (why, what) = cannot.iter().next().unwrap();
    assert!(why.contains("\"case_id\""), "{why}");
    assert!(what.to_string().contains("민원/b.json"), "{what}");
    // The probes wrote nothing that stayed.
    let left = rt.block_on(async {
        let b = gureum::open_bucket(&s3).await.unwrap();
        b.list_all(None).await.unwrap()
    });
    assert!(left.is_empty(), "probes left {left:?}");
    let _ = gureum(&home).args(["rb", "--force"]).arg(&s3).output();
}
