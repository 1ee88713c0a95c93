#!/usr/bin/env bash
# Record conformance runs of every backend with a server or simulator here into
# docs/conformance/results/ (history + latest report per backend), then regenerate the
# certification levels table in docs/providers.md from them. A level needs repeated runs
# (beta: the last 3 identical), so `--runs N` repeats the whole set N times.
#
#   scripts/conformance-results.sh            # one recorded run of each backend
#   scripts/conformance-results.sh --runs 3   # three
#
# Needs the test servers of scripts/emulators.sh running (it starts what is missing and
# stops only what it started). Traffic stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=1
[[ ${1:-} == --runs ]] && RUNS=${2:?--runs N}
export EMU_DIR=${EMU_DIR:-/tmp/gureum-emu}
emu_status=$(bash scripts/emulators.sh status 2>/dev/null || true)
started_here=0
[[ $emu_status == *running* ]] || started_here=1
bash scripts/emulators.sh install >"$EMU_DIR.install.log" 2>&1
bash scripts/emulators.sh start moto azurite swift rabbitmq kafka keystone swift-keystone
if [[ $started_here == 1 ]]; then trap 'bash scripts/emulators.sh stop' EXIT; fi
eval "$(bash scripts/emulators.sh env)"
export GUREUM_REQUIRE_EMULATORS=1 GUREUM_CONFORMANCE_RESULTS_DIR=$PWD/docs/conformance/results

# package, test target, test name filter ("" = every test of the target)
TARGETS=(
  "gureum-aws conformance"
  "gureum-azure conformance"
  "gureum-openstack conformance"
  "gureum-openstack keystone_swift swift_behind_keystone_storage_conformance"
  "gureum-openstack kakao_compute_sim kakao_compute_conformance_on_spec_simulator"
  "gureum-openstack kt_d1_sim kt_d1_compute_conformance_on_d1_layout_simulator"
  "gureum-ncloud conformance"
  "gureum-amqp rabbitmq conformance_on_rabbitmq"
  "gureum-kafka tansu conformance_on_tansu"
  "gureum-kakao-pubsub sim conformance_on_the_spec_simulator"
  "gureum-conformance local"
)
status=0
for run in $(seq "$RUNS"); do
  for t in "${TARGETS[@]}"; do
    read -r pkg target filter <<<"$t"
    echo "== run $run/$RUNS: $pkg --test $target ${filter:-}"
    # shellcheck disable=SC2086
    cargo test -q --all-features -p "$pkg" --test "$target" -- ${filter:+--exact "$filter"} || status=1
  done
done
cargo run -q -p gureum-cli -- conformance --certify --results-dir docs/conformance/results \
  --publish docs/providers.md
exit "$status"
