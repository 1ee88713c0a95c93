//! Process helpers of `local://` compute: spawn in an own process group, liveness with pid
//! reuse detection, SIGTERM then SIGKILL.

use gureum_core::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What is known about a spawned process.
///
/// ```
/// use gureum_local::compute::process::{is_alive, start_ticks, ProcId};
/// let me = ProcId { pid: std::process::id() as i32, start_ticks: start_ticks(std::process::id() as i32) };
/// assert!(is_alive(&me));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcId {
    /// Process id (also the process group id).
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22), to detect pid reuse.
    pub start_ticks: Option<u64>,
}

/// The shell wrapper around the image command: runs it and records its exit status in
/// `$GUREUM_EXIT_FILE` (128+N when killed by signal N). When the whole group is signalled
/// the wrapper dies too and no exit file appears.
const WRAPPER: &str = "\"$@\"; code=$?; echo \"$code\" > \"$GUREUM_EXIT_FILE.tmp\" && mv \"$GUREUM_EXIT_FILE.tmp\" \"$GUREUM_EXIT_FILE\"; exit \"$code\"";

/// Read (state char, start ticks) of a pid from `/proc`.
#[cfg(target_os = "linux")]
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); starttime is field 22 → index 19.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

#[cfg(not(target_os = "linux"))]
fn proc_stat(_pid: i32) -> Option<(char, u64)> {
    None
}

/// Start ticks of a running pid, if the platform reports them.
///
/// ```
/// use gureum_local::compute::process::start_ticks;
/// let pid = std::process::id() as i32;
/// assert_eq!(start_ticks(pid), start_ticks(pid)); // stable for a live process
/// ```
pub fn start_ticks(pid: i32) -> Option<u64> {
    proc_stat(pid).map(|(_, t)| t)
}

/// Whether the process group still has a live (non-zombie) member: the leader itself
/// (checked against its start time, to detect pid reuse) or any process it left behind.
///
/// ```
/// use gureum_local::compute::process::{is_alive, ProcId};
/// // A start time that does not match means the pid was reused: not alive.
/// let reused = ProcId { pid: std::process::id() as i32, start_ticks: Some(1) };
/// assert!(!is_alive(&reused) || cfg!(not(target_os = "linux")));
/// ```
pub fn is_alive(p: &ProcId) -> bool {
    if p.pid <= 1 {
        return false;
    }
    if leader_alive(p) {
        return true;
    }
    group_member_alive(p.pid)
}

fn leader_alive(p: &ProcId) -> bool {
    match proc_stat(p.pid) {
        Some((state, start)) => {
            if state == 'Z' || state == 'X' {
                return false;
            }
            match p.start_ticks {
                Some(t) => t == start,
                None => true,
            }
        }
        None => {
            if cfg!(target_os = "linux") {
                return false;
            }
            // SAFETY: signal 0 only checks for existence and permission.
            unsafe { libc::kill(p.pid, 0) == 0 }
        }
    }
}

/// Whether any non-zombie process is in process group `pgid`.
#[cfg(target_os = "linux")]
fn group_member_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence; ESRCH means the group is empty.
    if unsafe { libc::kill(-pgid, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    {
        return false;
    }
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(i) = s.rfind(')') else { continue };
        let f: Vec<&str> = s[i + 1..].split_whitespace().collect();
        // f[0] = state, f[2] = pgrp
        if f.len() > 2 && f[2].parse::<i32>().ok() == Some(pgid) && f[0] != "Z" && f[0] != "X" {
            return true;
        }
    }
    false
}

#[cfg(not(target_os = "linux"))]
fn group_member_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// The environment entry that marks a process group as started by this driver for one
/// instance (`GUREUM_INSTANCE_ID=<id>`, set on every instance's command).
///
/// ```
/// use gureum_local::compute::process::instance_marker;
/// assert_eq!(instance_marker("i-1"), "GUREUM_INSTANCE_ID=i-1");
/// ```
pub fn instance_marker(id: &str) -> String {
    format!("GUREUM_INSTANCE_ID={id}")
}

/// Whether `pid`'s environment holds `marker` as a whole entry.
#[cfg(target_os = "linux")]
fn has_marker(pid: i32, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|e| e == marker.as_bytes()))
        .unwrap_or(false)
}

/// Live members of process group `pgid` (pids other than zombies).
#[cfg(target_os = "linux")]
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(i) = s.rfind(')') else { continue };
        let f: Vec<&str> = s[i + 1..].split_whitespace().collect();
        if f.len() > 2 && f[2].parse::<i32>().ok() == Some(pgid) && f[0] != "Z" && f[0] != "X" {
            v.push(pid);
        }
    }
    v
}

/// Whether the process (group) `p` is one this driver started for the instance `marker`
/// names, so that it may be signalled. Never for pid ≤ 1 or this process. On Linux the
/// leader must match its recorded start time and carry the marker in its environment (or,
/// once the leader is gone, a remaining member of its group must); elsewhere only the pid
/// guards apply.
///
/// ```
/// use gureum_local::compute::process::{instance_marker, owned, ProcId};
/// // Never this process (nor pid 1): it was not started for an instance.
/// let me = ProcId { pid: std::process::id() as i32, start_ticks: None };
/// assert!(!owned(&me, &instance_marker("i-1")));
/// assert!(!owned(&ProcId { pid: 1, start_ticks: None }, &instance_marker("i-1")));
/// ```
pub fn owned(p: &ProcId, marker: &str) -> bool {
    if p.pid <= 1 || p.pid == std::process::id() as i32 {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        if leader_alive(p) {
            return p.start_ticks.is_some() && has_marker(p.pid, marker);
        }
        group_members(p.pid)
            .into_iter()
            .any(|m| has_marker(m, marker))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = marker;
        true
    }
}

fn signal_group(p: &ProcId, sig: i32) {
    if p.pid <= 1 || !is_alive(p) {
        return;
    }
    // SAFETY: sending a signal to a process group this driver started (checked by `owned`
    // in `terminate`; pid > 1, so never -1 = every process).
    unsafe {
        libc::kill(-p.pid, sig);
    }
}

/// SIGTERM the process group, wait up to `grace`, then SIGKILL and wait a little more.
/// Returns whether the process is gone. A live process that this driver did not start for
/// the instance `marker` names ([`owned`]) is not signalled: `PermissionDenied`.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_local::compute::process::{instance_marker, is_alive, spawn, terminate};
/// use std::{collections::BTreeMap, time::Duration};
/// let tmp = tempfile::tempdir()?;
/// let marker = instance_marker("doc-term");
/// let (k, v) = marker.split_once('=').unwrap();
/// let env = BTreeMap::from([(k.to_string(), v.to_string())]);
/// let p = spawn(&["sleep".into(), "60".into()], &env, tmp.path(), &tmp.path().join("log"), &tmp.path().join("exit"))?;
/// assert!(terminate(&p, Duration::from_secs(2), &marker)?);
/// assert!(!is_alive(&p));
/// # Ok(()) }
/// ```
pub fn terminate(p: &ProcId, grace: Duration, marker: &str) -> Result<bool> {
    if p.pid <= 1 {
        return Err(Error::new(
            gureum_core::ErrorKind::PermissionDenied,
            format!(
                "refusing to signal pid {} (recorded in a state file)",
                p.pid
            ),
        ));
    }
    if !is_alive(p) {
        return Ok(true);
    }
    if !owned(p, marker) {
        return Err(Error::new(
            gureum_core::ErrorKind::PermissionDenied,
            format!(
                "process {} is not one this driver started for this instance (start time or \
                 environment differ); not signalled",
                p.pid
            ),
        ));
    }
    signal_group(p, libc::SIGTERM);
    if wait_gone(p, grace) {
        return Ok(true);
    }
    tracing::debug!(pid = p.pid, "grace period over; sending SIGKILL");
    signal_group(p, libc::SIGKILL);
    Ok(wait_gone(p, Duration::from_secs(5)))
}

fn wait_gone(p: &ProcId, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    let mut step = Duration::from_millis(2);
    loop {
        if !is_alive(p) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(step);
        step = (step * 2).min(Duration::from_millis(50));
    }
}

/// Spawn `argv` in a new process group with stdout/stderr appended to `log`, and a reaper
/// thread so it never lingers as a zombie of this process.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_local::compute::process::{read_exit, spawn};
/// use std::{collections::BTreeMap, time::Duration};
/// let tmp = tempfile::tempdir()?;
/// let (log, exit) = (tmp.path().join("console.log"), tmp.path().join("exit"));
/// spawn(&["echo".into(), "hello".into()], &BTreeMap::new(), tmp.path(), &log, &exit)?;
/// for _ in 0..100 {
///     if read_exit(&exit).is_some() { break; }
///     std::thread::sleep(Duration::from_millis(50));
/// }
/// assert_eq!(read_exit(&exit), Some(0));
/// assert_eq!(std::fs::read_to_string(&log)?, "hello\n");
/// # Ok(()) }
/// ```
pub fn spawn(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    log: &Path,
    exit_file: &Path,
) -> Result<ProcId> {
    use std::os::unix::process::CommandExt;
    if argv.is_empty() {
        return Err(Error::invalid("image command is empty"));
    }
    let _ = std::fs::remove_file(exit_file);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::from(e).context_message(format!("console log {}", log.display())))?;
    let err = out.try_clone()?;
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(WRAPPER)
        .arg("gureum-instance")
        .args(argv)
        .current_dir(cwd)
        .env("GUREUM_EXIT_FILE", exit_file)
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::from(e).context_message(format!("starting {:?}", argv[0])))?;
    let pid = child.id() as i32;
    settle_exec(pid);
    let start = start_ticks(pid);
    std::thread::Builder::new()
        .name(format!("gureum-reap-{pid}"))
        .spawn(move || {
            let _ = child.wait();
        })
        .map_err(|e| Error::from(e).context_message("starting reaper thread"))?;
    Ok(ProcId {
        pid,
        start_ticks: start,
    })
}

/// Wait (bounded) until `pid` has finished `execve`: the kernel wakes the spawning parent
/// before the new program's arguments and environment are in place, and in that window
/// `/proc/<pid>/environ` reads empty, so [`owned`] would refuse to signal our own instance.
#[cfg(target_os = "linux")]
fn settle_exec(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let ready = std::fs::read(format!("/proc/{pid}/environ"))
            .map(|e| !e.is_empty())
            .unwrap_or(true); // gone or unreadable: nothing to wait for
        let exited = matches!(proc_stat(pid), None | Some(('Z' | 'X', _)));
        if ready || exited || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(not(target_os = "linux"))]
fn settle_exec(_pid: i32) {}

/// The exit code the wrapper recorded, if the command exited by itself.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// let tmp = tempfile::tempdir()?;
/// let exit = tmp.path().join("exit");
/// assert_eq!(gureum_local::compute::process::read_exit(&exit), None); // still running, or killed
/// std::fs::write(&exit, "3\n")?;
/// assert_eq!(gureum_local::compute::process::read_exit(&exit), Some(3));
/// # Ok(()) }
/// ```
pub fn read_exit(exit_file: &Path) -> Option<i32> {
    std::fs::read_to_string(exit_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}
