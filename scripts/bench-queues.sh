#!/usr/bin/env bash
# Queue adapter overhead, one run, the shared test brokers: gureum's Queue vs the raw client
# with the adapter's own client configuration, send+receive+ack in batches of 10:
#   amqp://   vs raw lapin          (RabbitMQ,  providers/amqp/benches/amqp.rs)
#   kafka://  vs raw rdkafka        (tansu,     providers/kafka/benches/kafka.rs)
#   sqs://    vs raw aws-sdk-sqs    (moto,      providers/aws/benches/aws.rs, BENCH_ONLY=sqs)
# Prints each ratio (gureum / raw throughput; goal >= 0.95). Bounded: BENCH_ROUNDS rounds of
# BENCH_OPS messages per side (defaults 5 and 200). Starts no server: run
# `scripts/emulators.sh start rabbitmq kafka moto` first (start only).
#
#   scripts/bench-queues.sh                       # release (bench) profile
#   BENCH_PROFILE=dev scripts/bench-queues.sh     # quicker build, unoptimised: smoke test only
set -euo pipefail
cd "$(dirname "$0")/.."
export EMU_DIR=${EMU_DIR:-/tmp/gureum-emu}
eval "$(bash scripts/emulators.sh env)"
export BENCH_ROUNDS=${BENCH_ROUNDS:-5} BENCH_OPS=${BENCH_OPS:-200}
profile=()
[[ -n ${BENCH_PROFILE:-} ]] && profile=(--profile "$BENCH_PROFILE")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
run() { # crate bench [env...]
  local crate=$1 bench=$2; shift 2
  echo "== $crate --bench $bench" >&2
  if ! env "$@" cargo bench -q "${profile[@]}" -p "$crate" --bench "$bench" 2>&2 | tee -a "$out"; then
    echo "FAILED: $crate --bench $bench" >&2
    status=1
  fi
}
run gureum-amqp amqp
run gureum-kafka kafka
run gureum-aws aws BENCH_ONLY=sqs
echo
echo "== summary (gureum / raw, goal >= 0.95; rounds=$BENCH_ROUNDS ops=$BENCH_OPS profile=${BENCH_PROFILE:-bench})"
grep -E "^(amqp|kafka|sqs) " "$out" | sed -E 's/^([a-z]+) .*ratio ([0-9.]+)$/\1\t\2/' || true
exit $status
