#!/usr/bin/env python3
"""Run the workspace's test executables in parallel lanes (used by scripts/test.sh).

`cargo test` runs one test executable after another. Most of gureum's test time is spent
waiting on servers (consumer-group joins, visibility timeouts, Keystone token expiry), not on
the CPU, so this script builds every test target once (`cargo test --no-run`, the same feature
resolution as `cargo test --workspace --all-features`), then runs the executables N at a time,
longest first (durations remembered from earlier runs in the target directory), each exactly as
cargo would: working directory = its package directory, CARGO_MANIFEST_DIR / CARGO_PKG_NAME
set. The doc tests run through `cargo test --doc` as one more job. Each executable's output is
printed whole when it finishes, with cargo's own `Running ...` header, so the summary in
scripts/test.sh reads it unchanged.

    scripts/test-lanes.py LOGFILE [LANES [CARGO SELECTION ARGS, default --workspace]]

Exit status: 0 when every job passed, 101 otherwise (what cargo test returns).
"""
import json
import os
import subprocess
import sys
import threading
import time

LOG = sys.argv[1]
LANES = int(sys.argv[2]) if len(sys.argv) > 2 else 2
SELECT = sys.argv[3:] or ["--workspace"]
CARGO = os.environ.get("CARGO", "cargo")
TARGET = os.environ.get("CARGO_TARGET_DIR", "target")
TIMES = os.path.join(TARGET, "gureum-test-times.json")
# Known long executables, first on a machine without remembered durations.
HINTS = ["tansu", "full_stack", "conformance", "backends", "keystone_swift", "local", "audited"]

out_lock = threading.Lock()
log = open(LOG, "w", encoding="utf-8", errors="replace")


def emit(text):
    """Append to the log and echo to stdout without the `... ok` lines."""
    with out_lock:
        log.write(text)
        log.flush()
        for line in text.splitlines(keepends=True):
            if line.startswith("test ") and line.rstrip().endswith("... ok"):
                continue
            sys.stdout.write(line)
        sys.stdout.flush()


def build():
    cmd = [CARGO, "test", *SELECT, "--all-features", "--no-run", "--message-format=json-render-diagnostics"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    jobs = []
    for line in p.stdout:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") != "compiler-artifact" or not m.get("executable"):
            continue
        if not m.get("profile", {}).get("test"):
            continue
        pkg_dir = os.path.dirname(m["manifest_path"])
        pkg_name = m["package_id"]
        # package_id: "path+file:///…/dir#name@0.1.0" or "…#0.1.0" (name = dir's last part)
        frag = pkg_name.rsplit("#", 1)[-1]
        name = frag.split("@")[0] if "@" in frag else os.path.basename(pkg_dir)
        src = os.path.relpath(m["target"]["src_path"], pkg_dir)
        label = "unittests " + src if m["target"]["kind"] != ["test"] else src
        jobs.append({"exe": m["executable"], "dir": pkg_dir, "pkg": name, "label": label,
                     "key": f"{name}:{m['target']['name']}:{','.join(m['target']['kind'])}"})
    rc = p.wait()
    return rc, jobs


def run_exe(job):
    env = dict(os.environ, CARGO_MANIFEST_DIR=job["dir"], CARGO_PKG_NAME=job["pkg"],
               CARGO_CRATE_NAME=job["pkg"].replace("-", "_"))
    t = time.time()
    p = subprocess.run([job["exe"]], cwd=job["dir"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    head = f"     Running {job['label']} ({job['exe']})  [{job['pkg']}]\n"
    emit(head + p.stdout + ("" if p.returncode == 0 else
                            f"error: test failed, to rerun pass `-p {job['pkg']} --test/--lib` ({job['exe']} exited {p.returncode})\n"))
    return p.returncode, time.time() - t


def run_doc(job):
    t = time.time()
    p = subprocess.run([CARGO, "test", *SELECT, "--all-features", "--doc", "--no-fail-fast"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    emit(p.stdout)
    return p.returncode, time.time() - t


def main():
    t0 = time.time()
    rc, jobs = build()
    if rc != 0:
        emit(f"error: building the tests failed (cargo exit {rc})\n")
        return 101
    try:
        with open(TIMES) as f:
            known = json.load(f)
    except (OSError, ValueError):
        known = {}

    def guess(job):
        if job["key"] in known:
            return known[job["key"]]
        base = os.path.basename(job["label"]).removesuffix(".rs")
        return 100.0 - HINTS.index(base) if base in HINTS else 1.0

    jobs.sort(key=guess, reverse=True)
    # The doc tests compile each example (CPU-bound): start them early beside the waiting ones.
    queue = jobs[:1] + [{"doc": True, "key": "doc", "label": "doc tests"}] + jobs[1:]
    qlock = threading.Lock()
    failed = []
    took = dict(known)

    def lane():
        while True:
            with qlock:
                if not queue:
                    return
                job = queue.pop(0)
            code, secs = run_doc(job) if job.get("doc") else run_exe(job)
            took[job["key"]] = round(secs, 1)
            if code != 0:
                with qlock:
                    failed.append(job["label"])

    threads = [threading.Thread(target=lane) for _ in range(max(1, LANES))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        with open(TIMES, "w") as f:
            json.dump(took, f, indent=0, sort_keys=True)
    except OSError:
        pass
    emit(f"test-lanes: {len(jobs)} test executables + doc tests in {LANES} lanes, "
         f"{time.time() - t0:.0f} s; failed: {', '.join(failed) or 'none'}\n")
    return 101 if failed else 0


sys.exit(main())
