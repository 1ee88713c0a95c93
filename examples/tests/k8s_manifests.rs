//! The Kubernetes manifests of examples/k8s/ validated offline against the Kubernetes 1.30
//! schemas with `kubernetes-validate --strict` (PyPI; installed by scripts/emulators.sh). No
//! API server is installable here, so a test runs the shards as processes instead
//! (cli/tests/shard.rs). Skips without the validator; fails when GUREUM_REQUIRE_EMULATORS=1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("k8s")
}

fn validator() -> bool {
    let ok = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if gureum_testkit::env::emulators_required() {
            panic!("kubernetes-validate not installed and GUREUM_REQUIRE_EMULATORS=1");
        }
        eprintln!("skipping: kubernetes-validate not installed");
    }
    ok
}

fn validate(path: &Path) -> std::process::Output {
    Command::new("kubernetes-validate")
        .args(["--strict", "-k", "1.30"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn manifests_pass_strict_validation() {
    if !validator() {
        return;
    }
    let mut n = 0;
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("yaml") {
            continue;
        }
        let o = validate(&p);
        assert!(
            o.status.success(),
            "{}: {}{}",
            p.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        n += 1;
    }
    assert!(n >= 4, "only {n} manifests found");
}

/// The validator really checks: an unknown field and a wrong type are refused.
#[test]
fn validator_refuses_broken_manifests() {
    if !validator() {
        return;
    }
    let job = std::fs::read_to_string(dir().join("job.yaml")).unwrap();
    let t = tempfile::tempdir().unwrap();
    for (name, broken) in [
        (
            "unknown-field.yaml",
            job.replace(
                "backoffLimitPerIndex: 3",
                "backoffLimitPerIndex: 3\n  retriesPerShard: 3",
            ),
        ),
        (
            "wrong-type.yaml",
            job.replace("completions: 8", "completions: eight"),
        ),
    ] {
        assert_ne!(broken, job);
        let p = t.path().join(name);
        std::fs::write(&p, broken).unwrap();
        assert!(!validate(&p).status.success(), "{name} passed validation");
    }
}

/// The Job's shard count, completions and parallelism agree, and it runs `sync --shards`.
#[test]
fn job_shards_match_completions() {
    let job = std::fs::read_to_string(dir().join("job.yaml")).unwrap();
    let field = |k: &str| {
        job.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .and_then(|v| v.split('#').next())
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{k} missing"))
    };
    assert_eq!(field("completionMode:"), "Indexed");
    let n = field("completions:");
    assert_eq!(field("- --shards="), n);
    assert!(field("parallelism:").parse::<u32>().unwrap() <= n.parse().unwrap());
}
