# Sourced by the benchmark scripts: runs them from the repository root, and gives them the
# 200 MB reference of ../shared/bench/make_refcd.sh in $W (built once, kept between runs), the
# release build ($BIN) and a check for the tools they need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH:/usr/sbin:/sbin"
ROOT=$PWD
SHARED=$(realpath -m "${SHARED:-$ROOT/../shared/bench}")
export BENCH_WORK=${BENCH_WORK:-/var/tmp/plbench}
W=$BENCH_WORK
RUNS=${RUNS:-10}

# require PACKAGES TOOL...: exits unless every TOOL is on PATH (PACKAGES says what to install).
require() {
  local packages=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (Debian packages: $packages)" >&2; exit 1; }
  done
}

# reference: the 200 MB reference and the fake PLC credentials, built unless present.
reference() {
  [[ -f $W/ref-200m/isofs/bootcd.img && -f $W/plc/cacert.pem ]] || bash "$SHARED/make_refcd.sh" >&2
}

# release_build: builds bootmedium (release) and sets BIN to it.
release_build() {
  cargo build --release --locked -p bootmedium >&2
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/bootmedium")
}
