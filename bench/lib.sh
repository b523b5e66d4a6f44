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

# free_port: a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# nginx_conf DIR CONNECTIONS SERVERS...: writes DIR/nginx/nginx.conf, Debian's stock nginx.conf on
# the points that matter here (sendfile on, tcp_nopush on, worker_processes auto) with room for
# CONNECTIONS per worker, its state under DIR/nginx; each SERVER is the inside of one `server {}`.
nginx_conf() {
  local dir=$1 connections=$2 server
  shift 2
  {
    cat <<CONF
user root;
worker_processes auto;
worker_rlimit_nofile $((connections * 4 + 1024));
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections $connections; }
http {
  sendfile on;
  tcp_nopush on;
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
CONF
    for server in "$@"; do echo "  server { $server }"; done
    echo "}"
  } > "$dir/nginx/nginx.conf"
}
