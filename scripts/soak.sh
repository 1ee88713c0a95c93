#!/usr/bin/env bash
# Bounded soak of gureum (issue 19): concurrent put/get/list/delete and send/receive/ack on
# the embedded backends (mem://, file://, sqlite://) and on every test server whose
# variables are set (moto: s3:// and sqs://, Azurite: azblob:// and azqueue://, Swift:
# swift://), GUREUM_SOAK_SECS seconds per backend (default 60). Prints throughput, errors
# and RSS every 10 s and a SOAK line per backend; fails if anything was lost or corrupted.
# Loopback only. Uses the shared test servers when EMU_DIR points at them.
#
#   GUREUM_SOAK_SECS=30 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export EMU_DIR=${EMU_DIR:-/tmp/gureum-emu}
if [[ ${GUREUM_SKIP_EMULATORS:-0} != 1 ]]; then
  eval "$(bash scripts/emulators.sh env)"
fi
export GUREUM_SOAK_SECS=${GUREUM_SOAK_SECS:-60}
cargo test -p gureum --all-features --test soak -- --ignored --nocapture 2>&1 | grep -E '^SOAK|panicked|test result'
