#!/bin/sh
# Runs one fuzz target with the settings recorded in README.md:
#   ./run.sh TARGET SECONDS [extra libFuzzer flags]
# The corpus grows in corpus/TARGET (not committed), seeded from seeds/TARGET; findings land
# in artifacts/TARGET. One fuzzing process (what -jobs=1 would give, but logging to stdout).
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`).
set -eu
cd "$(dirname "$0")"
target=$1
seconds=$2
shift 2
case $target in
    xmlrpc) max_len=16384 ;;
    filter | options) max_len=4096 ;;
    readers | inspect) max_len=131072 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target" "seeds/$target"
# The targets' scratch files (inspect's image, options' results directory) go to a private
# temporary directory, on tmpfs where there is one, removed when the run ends.
scratch=$(mktemp -d -p "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")" bootmedium-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' INT TERM
# FUZZ_TARGET_DIR: where the fuzz builds go (CI shares one across runs); default fuzz/target.
TMPDIR=$scratch nice cargo +nightly fuzz run -O --target-dir "${FUZZ_TARGET_DIR:-target}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 "$@"
