#!/usr/bin/env bash
# The whole gureum test suite, on a fresh machine: installs and starts the test servers
# (moto, Azurite, OpenStack Swift, OpenBao, RabbitMQ, tansu (Kafka), a real Keystone and a
# second Swift proxy behind it; loopback only), then runs every crate's tests, including the
# conformance suites against each backend. Prints the test runner's summary.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p gureum-core   # extra args go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."
export EMU_DIR=${EMU_DIR:-/tmp/gureum-emu}
SERVICES=${GUREUM_TEST_SERVICES:-moto azurite swift openbao rabbitmq kafka keystone swift-keystone}

started_here=0
if [[ ${GUREUM_SKIP_EMULATORS:-0} != 1 ]]; then
  # Capture first: `status | grep -q` under pipefail can fail on SIGPIPE and make this run
  # think it started (and so stop) servers that someone else is using.
  emu_status=$(bash scripts/emulators.sh status 2>/dev/null || true)
  if [[ $emu_status != *running* ]]; then started_here=1; fi
  bash scripts/emulators.sh install >"$EMU_DIR.install.log" 2>&1 || {
    echo "emulator install failed; last lines of $EMU_DIR.install.log:" >&2
    tail -n 40 "$EMU_DIR.install.log" >&2; exit 1; }
  # shellcheck disable=SC2086
  bash scripts/emulators.sh start $SERVICES
  if [[ $started_here == 1 ]]; then trap 'bash scripts/emulators.sh stop' EXIT; fi
  eval "$(bash scripts/emulators.sh env)"
  # In this run a missing emulator is a failure, never a silent skip.
  export GUREUM_REQUIRE_EMULATORS=1
fi

export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
# Every conformance run also writes its Markdown report here (copy to docs/conformance/ to publish).
export GUREUM_CONFORMANCE_RESULTS_DIR=${GUREUM_CONFORMANCE_RESULTS_DIR:-$PWD/target/conformance-results}
log="${TMPDIR:-/tmp}/gureum-test.log"
# Tests whose server is missing record themselves here (gureum_testkit::env::SKIP_LOG); the
# summary counts them as skipped, not passed.
export GUREUM_SKIP_LOG="${TMPDIR:-/tmp}/gureum-test-skips.$$"
: >"$GUREUM_SKIP_LOG"
set +e +o pipefail
lanes=${GUREUM_TEST_LANES:-2}
if [[ $lanes -gt 1 && " $* " != *" -- "* ]]; then
  # Test executables N at a time (most of the time is spent waiting on servers); see the script.
  python3 scripts/test-lanes.py "$log" "$lanes" "$@"
  status=$?
else
  cargo test --workspace --all-features --no-fail-fast "$@" 2>&1 | tee "$log" \
    | grep -E --line-buffered -v '^test .* \.\.\. ok$'
  status=${PIPESTATUS[0]}
fi
set -e -o pipefail
# One closing line for the whole run.
skipped=$(sort -u "$GUREUM_SKIP_LOG" | cut -f1 | sort -u | wc -l)
grep -E '^test result:' "$log" | awk -v s="$skipped" '{for(i=1;i<=NF;i++){if($(i+1)~/^passed/)p+=$i; if($(i+1)~/^failed/)f+=$i; if($(i+1)~/^ignored/)ig+=$i}} END{printf "gureum: %d passed, %d skipped (test server missing), %d ignored, %d failed\n", p-s, s, ig, f}'
if [[ $skipped -gt 0 ]]; then
  echo "skipped tests (missing server):"
  sort -u "$GUREUM_SKIP_LOG" | sed 's/^/  /'
fi
rm -f "$GUREUM_SKIP_LOG"
exit "$status"
