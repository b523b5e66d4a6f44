#!/bin/sh
# CI smoke: builds every fuzz target and runs each for a short while (FUZZ_SMOKE_SECONDS,
# default 25) from the committed seeds; fails on the first crash, hang or OOM, showing the end
# of libFuzzer's report. Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`). Builds go to
# FUZZ_TARGET_DIR (default fuzz/target).
set -eu
cd "$(dirname "$0")"
seconds=${FUZZ_SMOKE_SECONDS:-25}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
nice cargo +nightly fuzz build -O --target-dir "${FUZZ_TARGET_DIR:-target}"
for target in xmlrpc filter options readers inspect; do
    if ./run.sh "$target" "$seconds" >"$log" 2>&1; then
        echo "$target: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs in $seconds s, no finding"
    else
        tail -n 40 "$log" >&2
        echo "fuzz target $target failed; the input is in artifacts/$target" >&2
        exit 1
    fi
done
