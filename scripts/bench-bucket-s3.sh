#!/usr/bin/env bash
# `Bucket` on s3:// vs raw object_store `AmazonS3` on a private s3s-fs (issue 13: within 3 %,
# i.e. ratio >= 0.97). A benchmark, not a test: it prints numbers and never fails on them.
#
#   bash scripts/bench-bucket-s3.sh            # 9 rounds x 200 ops of 4 KiB put+get
#   BENCH_ROUNDS=15 BENCH_OPS=500 bash scripts/bench-bucket-s3.sh
#
# What it does:
# 1. builds the bench (`cargo bench -p gureum-aws --bench aws --no-run`, release profile);
# 2. in a private network namespace (`unshare -n`, root only) brings up its own loopback with
#    delayed ACKs off on the loopback routes (`ip route ... quickack 1`), starts s3s-fs there
#    on 127.0.0.1:8014 with its root on tmpfs, runs the bench against it and stops it.
#
# Why the namespace: s3s-fs does not set TCP_NODELAY on its sockets, and hyper writes a GET
# answer as two writes (headers, then the body). Nagle holds the body until the client ACKs
# the headers, and the client, in request/response mode, delays that ACK by up to 40 ms. On
# the default loopback this stall is most of every put+get (≈ 30-50 op/s instead of ≈ 1,000)
# and it lands on the two sides at random, so the ratio swung 0.5-1.4 between identical runs.
# With quickack only on this namespace's loopback nothing else on the machine changes.
# Without root (no `unshare -n`) it falls back to s3s-fs on the shared loopback, and says that
# those numbers measure TCP timers, not the client.
#
# Env: BENCH_ROUNDS (9), BENCH_OPS (200), BENCH_SIZE (4096), S3S_BIN (default
# /var/tmp/gureum-bench/s3s/bin/s3s-fs; scripts/bench-sync.sh installs it), CARGO_TARGET_DIR.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
S3S_BIN=${S3S_BIN:-/var/tmp/gureum-bench/s3s/bin/s3s-fs}
export BENCH_ROUNDS=${BENCH_ROUNDS:-9} BENCH_OPS=${BENCH_OPS:-200} BENCH_SIZE=${BENCH_SIZE:-4096}
log() { printf '[bench-bucket-s3] %s\n' "$*" >&2; }

# Inner part: runs inside the namespace (or on the shared loopback as the fallback).
if [[ ${1:-} == --inner ]]; then
  bin=$2 port=$3 quick=$4
  if [[ $quick == 1 ]]; then
    ip link set lo up
    # delayed ACKs off on this namespace's loopback routes (both the /8 and the /32 one)
    while read -r route; do
      # shellcheck disable=SC2086
      ip route change $route table local quickack 1
    done < <(ip route show table local | grep '^local ')
  fi
  root=$(mktemp -d /dev/shm/gureum-bucket-s3-XXXXXX)
  "$S3S_BIN" --host 127.0.0.1 --port "$port" --access-key AKIAPERF --secret-key SECRETPERF123456 \
    "$root" >"$root.log" 2>&1 </dev/null &
  spid=$!
  trap 'kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; rm -rf "$root" "$root.log"' EXIT
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  BENCH_S3_ENDPOINT=http://127.0.0.1:$port BENCH_ONLY=s3 BENCH_S3_ACCESS_KEY=AKIAPERF \
    BENCH_S3_SECRET_KEY=SECRETPERF123456 "$bin" --bench
  exit 0
fi

if [[ ! -x $S3S_BIN ]]; then
  log "s3s-fs not found at $S3S_BIN: installing 0.14.1 (cargo install, a few minutes)"
  root=$(dirname "$(dirname "$S3S_BIN")")
  CARGO_TARGET_DIR=$root-target cargo install s3s-fs --version 0.14.1 --features binary --locked --root "$root" -q
  rm -rf "$root-target"
fi

log "building the bench (release)"
bin=$(cd "$ROOT_DIR" && cargo bench -q -p gureum-aws --bench aws --no-run --message-format=json |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "aws":
        print(m["executable"])')
[[ -x $bin ]] || { log "bench executable not found"; exit 1; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
if unshare -n true 2>/dev/null; then
  log "private network namespace, loopback with quickack, s3s-fs on 127.0.0.1:8014"
  unshare -n bash "$0" --inner "$bin" 8014 1
else
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log "WARNING: no network namespace (not root?): s3s-fs on the shared loopback :$port, delayed"
  log "ACKs on: these numbers are dominated by 40 ms TCP timers, not by the client"
  bash "$0" --inner "$bin" "$port" 0
fi
