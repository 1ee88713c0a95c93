//! local:// compute: every public operation on real processes.

use gureum_core::compute::{Compute, InstanceSpec, InstanceState, ListFilter, Size};
use gureum_core::{ErrorKind, Registry};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::compute::register(&mut r);
    r
}

async fn open(dir: &Path, extra: &str) -> Compute {
    registry()
        .open_compute(Some(&format!(
            "local://{}?grace_ms=2000{extra}",
            dir.display()
        )))
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(50))
}

fn pid_of(dir: &Path, id: &str) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("instances").join(format!("{id}.json"))).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["proc_id"]["pid"].as_i64().map(|p| p as i32)
}

fn alive(pid: i32) -> bool {
    // Zombies count as dead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let rest = &s[s.rfind(')').unwrap() + 1..];
            !matches!(rest.trim_start().chars().next(), Some('Z') | Some('X'))
        }
        Err(_) => false,
    }
}

async fn wait_dead(pid: i32) {
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("process {pid} still alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle() {
    let d = tempfile::tempdir().unwrap();
    let c = open(d.path(), "").await;
    let caps = c.capabilities();
    assert!(
        caps.stop_start && caps.reboot && caps.user_data && caps.tags && caps.idempotent_create
    );

    let sizes = c.sizes().await.unwrap();
    assert_eq!(sizes.len(), 4);
    assert!(sizes
        .iter()
        .any(|s| s.id == "local.small" && s.vcpus == 1 && s.memory_mib == 1024));
    assert!(sizes
        .iter()
        .any(|s| s.id == "local.xlarge" && s.vcpus == 8 && s.memory_mib == 32 * 1024));
    let images = c.images().await.unwrap();
    assert!(images
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
    assert!(images
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-24.04")));

    let spec = InstanceSpec::new("worker-1")
        .size(Size::vcpus(2).memory_gib(4))
        .image("ubuntu-22.04")
        .tag("app", "ocr")
        .tag("env", "test")
        .user_data(&b"#cloud-config\nhostname: w1\n"[..])
        .idempotency_token("tok-1");
    let vm = c.create(spec.clone()).await.unwrap();
    assert!(vm.id.starts_with("li-"));
    assert_eq!(vm.name, "worker-1");
    assert_eq!(vm.size.as_deref(), Some("local.medium"));
    assert_eq!(vm.image.as_deref(), Some("local-idle"));
    assert_eq!(vm.tags["app"], "ocr");
    assert!(vm.created_at.is_some());
    let vm = c
        .wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    assert_eq!(vm.provider_state, "running");
    assert_eq!(vm.addresses, vec!["127.0.0.1".to_string()]);
    let pid1 = pid_of(d.path(), &vm.id).unwrap();
    assert!(alive(pid1));

    // Idempotent create.
    let again = c.create(spec.clone()).await.unwrap();
    assert_eq!(again.id, vm.id);
    assert_eq!(c.list().await.unwrap().len(), 1);

    // User data: read back, and the file handed to the process.
    let ud = c.user_data(&vm.id).await.unwrap().unwrap();
    assert_eq!(&ud[..], b"#cloud-config\nhostname: w1\n");
    let ud_file = d.path().join("instances").join(&vm.id).join("user-data");
    assert_eq!(std::fs::read(&ud_file).unwrap(), &ud[..]);

    // List by tag.
    let other = c
        .create(InstanceSpec::new("other").tag("app", "web"))
        .await
        .unwrap();
    assert_eq!(c.user_data(&other.id).await.unwrap(), None);
    let mut want = BTreeMap::new();
    want.insert("app".to_string(), "ocr".to_string());
    let by_tag = c.list_by_tags(&want).await.unwrap();
    assert_eq!(by_tag.len(), 1);
    assert_eq!(by_tag[0].id, vm.id);
    want.insert("env".to_string(), "prod".to_string());
    assert!(c.list_by_tags(&want).await.unwrap().is_empty());
    assert_eq!(c.list().await.unwrap().len(), 2);

    // Stop: the process is gone, state Stopped; stop again is fine.
    c.stop(&vm.id).await.unwrap();
    let s = c
        .wait_until(&vm.id, InstanceState::Stopped, T)
        .await
        .unwrap();
    assert_eq!(s.provider_state, "stopped");
    wait_dead(pid1).await;
    c.stop(&vm.id).await.unwrap();
    let e = c.reboot(&vm.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);

    // Start: a new process.
    c.start(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    let pid2 = pid_of(d.path(), &vm.id).unwrap();
    assert_ne!(pid1, pid2);
    assert!(alive(pid2));
    c.start(&vm.id).await.unwrap(); // already running: no-op
    assert_eq!(pid_of(d.path(), &vm.id), Some(pid2));

    // Reboot: another new process, still Running.
    c.reboot(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    let pid3 = pid_of(d.path(), &vm.id).unwrap();
    assert_ne!(pid3, pid2);
    wait_dead(pid2).await;

    // Terminate (idempotent).
    c.terminate(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Terminated, T)
        .await
        .unwrap();
    wait_dead(pid3).await;
    c.terminate(&vm.id).await.unwrap();
    let e = c.start(&vm.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(
        c.list().await.unwrap().len(),
        1,
        "terminated instances are not listed"
    );
    let all = c
        .driver()
        .list(&ListFilter {
            include_terminated: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    c.terminate(&other.id).await.unwrap();

    // Missing and invalid.
    let e = c.get("li-0000000000000000").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = c.get("../../etc/passwd").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    c.terminate("li-0000000000000000").await.unwrap();
    c.driver().terminate("li-0000000000000000").await.unwrap();
    let e = c.stop("li-0000000000000000").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = c.user_data("li-0000000000000000").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = c
        .create(InstanceSpec::new("big").size(Size::vcpus(64)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").size("m5.large"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c
        .create(InstanceSpec::new("x").image("windows-2022"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = c.create(InstanceSpec::new("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Native size and image ids pass through.
    let n = c
        .create(
            InstanceSpec::new("native")
                .size("local.large")
                .image("local-idle"),
        )
        .await
        .unwrap();
    assert_eq!(n.size.as_deref(), Some("local.large"));
    c.terminate(&n.id).await.unwrap();
    assert!(c.native::<gureum_local::compute::LocalCompute>().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_driver_sees_and_controls_instances() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path(), "").await;
    let b = open(d.path(), "").await;
    let vm = a
        .create(InstanceSpec::new("shared").tag("team", "civic"))
        .await
        .unwrap();
    a.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    let seen = b.get(&vm.id).await.unwrap();
    assert_eq!(seen.state, InstanceState::Running);
    assert_eq!(seen.tags["team"], "civic");
    assert_eq!(b.list().await.unwrap().len(), 1);
    let pid = pid_of(d.path(), &vm.id).unwrap();
    b.stop(&vm.id).await.unwrap();
    wait_dead(pid).await;
    assert_eq!(a.get(&vm.id).await.unwrap().state, InstanceState::Stopped);
    b.start(&vm.id).await.unwrap();
    a.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    a.terminate(&vm.id).await.unwrap();
    b.wait_until(&vm.id, InstanceState::Terminated, T)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_sees_instances() {
    // A shell in a separate process reads the state files (they are plain JSON).
    let d = tempfile::tempdir().unwrap();
    let c = open(d.path(), "").await;
    let vm = c.create(InstanceSpec::new("visible")).await.unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("cat \"$1\"")
        .arg("sh")
        .arg(d.path().join("instances").join(format!("{}.json", vm.id)))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "visible");
    assert_eq!(v["state"], "Running");
    c.terminate(&vm.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_processes_are_detected() {
    let d = tempfile::tempdir().unwrap();
    let c = open(d.path(), "").await;

    // Killed from outside (the whole group): Error, "vanished".
    let vm = c.create(InstanceSpec::new("victim")).await.unwrap();
    let pid = pid_of(d.path(), &vm.id).unwrap();
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    wait_dead(pid).await;
    let e = c
        .wait_until(&vm.id, InstanceState::Running, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(e.message().contains("error"), "{e}");
    let got = c.get(&vm.id).await.unwrap();
    assert_eq!(got.state, InstanceState::Error);
    assert_eq!(got.provider_state, "vanished");
    // An errored instance can be started again.
    c.start(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, T)
        .await
        .unwrap();
    c.terminate(&vm.id).await.unwrap();

    // The image command exits 0 by itself: Stopped.
    let echo = c
        .create(
            InstanceSpec::new("echo")
                .image("echo")
                .user_data("hello from user data"),
        )
        .await
        .unwrap();
    let s = c
        .wait_until(&echo.id, InstanceState::Stopped, T)
        .await
        .unwrap();
    assert_eq!(s.provider_state, "exited(0)");
    let log = std::fs::read_to_string(
        d.path()
            .join("instances")
            .join(&echo.id)
            .join("console.log"),
    )
    .unwrap();
    assert!(log.contains("hello from user data"), "{log}");

    // A script that fails: Error with its exit code.
    let bad = c
        .create(
            InstanceSpec::new("bad")
                .image("script")
                .user_data("echo $GUREUM_INSTANCE_NAME; exit 3"),
        )
        .await
        .unwrap();
    let e = c
        .wait_until(&bad.id, InstanceState::Stopped, T)
        .await
        .unwrap_err();
    assert!(e.message().contains("error"), "{e}");
    let got = c.get(&bad.id).await.unwrap();
    assert_eq!(got.state, InstanceState::Error);
    assert_eq!(got.provider_state, "exited(3)");
    let log = std::fs::read_to_string(d.path().join("instances").join(&bad.id).join("console.log"))
        .unwrap();
    assert!(log.contains("bad"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ignoring_process_is_killed_after_grace() {
    let d = tempfile::tempdir().unwrap();
    let images = d.path().join("my-images.toml");
    std::fs::write(
        &images,
        r#"
[[image]]
name = "stubborn"
aliases = ["ubuntu-22.04"]
command = ["/bin/sh", "-c", "trap '' TERM; echo started {name} {id}; while :; do sleep 0.05; done"]
env = { WHO = "{name}" }
"#,
    )
    .unwrap();
    let c = registry()
        .open_compute(Some(&format!(
            "local://{}/state?grace_ms=300&images={}",
            d.path().display(),
            images.display()
        )))
        .await
        .unwrap();
    let vm = c.create(InstanceSpec::new("stub")).await.unwrap();
    assert_eq!(
        vm.image.as_deref(),
        Some("stubborn"),
        "the images file overrides the alias"
    );
    // Wait until the trap is set (the command prints after `trap`).
    let log_path = d
        .path()
        .join("state/instances")
        .join(&vm.id)
        .join("console.log");
    for _ in 0..250 {
        if std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("started")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = std::time::Instant::now();
    c.stop(&vm.id).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(c.get(&vm.id).await.unwrap().state, InstanceState::Stopped);
    let log = std::fs::read_to_string(
        d.path()
            .join("state/instances")
            .join(&vm.id)
            .join("console.log"),
    )
    .unwrap();
    assert!(log.contains(&format!("started stub {}", vm.id)), "{log}");
    c.terminate(&vm.id).await.unwrap();

    // A missing explicit images file, or a malformed one, is an InvalidArgument/NotFound at open.
    let e = registry()
        .open_compute(Some(&format!(
            "local://{}/s2?images={}/nope.toml",
            d.path().display(),
            d.path().display()
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    std::fs::write(d.path().join("broken.toml"), "[[image]]\nname = 3\n").unwrap();
    let e = registry()
        .open_compute(Some(&format!(
            "local://{}/s3?images={}/broken.toml",
            d.path().display(),
            d.path().display()
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn url_forms() {
    // local:// alone uses <data_dir>/compute (this test binary's only data_dir user).
    let d = tempfile::tempdir().unwrap();
    std::env::set_var("GUREUM_DATA_DIR", d.path());
    let c = registry().open_compute(Some("local://")).await.unwrap();
    assert!(c.list().await.unwrap().is_empty());
    assert!(d.path().join("compute/instances").is_dir());
    let e = registry()
        .open_compute(Some("local://somehost/x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = registry()
        .open_compute(Some("local:///tmp/x?grace_ms=soon"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

/// Run one `#[ignore]`d helper test of this binary in a separate process.
fn run_helper(name: &str, env: &[(&str, String)]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Helper for `a_separate_process_lists_and_stops_instances` (runs in the child process).
#[tokio::test]
#[ignore]
async fn helper_process_stop() {
    let Ok(dir) = std::env::var("GUREUM_TEST_STATE_DIR") else {
        return;
    };
    let id = std::env::var("GUREUM_TEST_INSTANCE").unwrap();
    let c = open(Path::new(&dir), "").await;
    let listed = c.list().await.unwrap();
    assert!(listed.iter().any(|i| i.id == id), "{listed:?}");
    assert_eq!(c.get(&id).await.unwrap().state, InstanceState::Running);
    c.stop(&id).await.unwrap();
    assert_eq!(c.get(&id).await.unwrap().state, InstanceState::Stopped);
    println!("CHILD-STOPPED {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_process_lists_and_stops_instances() {
    let d = tempfile::tempdir().unwrap();
    let c = open(d.path(), "").await;
    let vm = c.create(InstanceSpec::new("cross")).await.unwrap();
    let pid = pid_of(d.path(), &vm.id).unwrap();
    let out = run_helper(
        "helper_process_stop",
        &[
            ("GUREUM_TEST_STATE_DIR", d.path().display().to_string()),
            ("GUREUM_TEST_INSTANCE", vm.id.clone()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("CHILD-STOPPED {}", vm.id)),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_dead(pid).await;
    assert_eq!(c.get(&vm.id).await.unwrap().state, InstanceState::Stopped);
    c.terminate(&vm.id).await.unwrap();
}

/// Regression (CI, stop 26): the kernel wakes the spawning parent before the new program's
/// environment is in place, so a `terminate` right after `spawn` found an empty
/// `/proc/<pid>/environ`, took our own instance for a stranger and refused to signal it.
/// `spawn` now returns only once the exec has settled.
#[test]
fn an_instance_is_ours_right_after_spawn() {
    use gureum_local::compute::process::{instance_marker, is_alive, owned, spawn, terminate};
    let tmp = tempfile::tempdir().unwrap();
    let mut refused = Vec::new();
    for i in 0..40 {
        let marker = instance_marker(&format!("settle-{i}"));
        let (k, v) = marker.split_once('=').unwrap();
        let env = BTreeMap::from([(k.to_string(), v.to_string())]);
        let p = spawn(
            &["sleep".into(), "60".into()],
            &env,
            tmp.path(),
            &tmp.path().join("log"),
            &tmp.path().join(format!("exit-{i}")),
        )
        .unwrap();
        if !owned(&p, &marker) {
            refused.push(p.pid);
        }
        assert!(
            terminate(&p, Duration::from_secs(2), &marker).unwrap(),
            "instance {i} not stopped"
        );
        assert!(!is_alive(&p));
    }
    assert!(
        refused.is_empty(),
        "not recognised right after spawn: {refused:?}"
    );
}
