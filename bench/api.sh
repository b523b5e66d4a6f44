#!/usr/bin/env bash
# API benchmark: calls/s and latency percentiles for GetNodes by hostname,
# AuthCheck, and GetBootMedium node-preview / node-floppy (inline), all with session auth,
# 8 concurrent connections, on SQLite and (when it answers) PostgreSQL. The GetBootMedium rows
# name 16 nodes in turn (a site renewing its nodes' media); node-floppy-1node names one node
# only: its key renewals are serialised by that node's row (PostgreSQL holds the row lock until
# the commit is on disk), which bounds that row by the commit latency.
# The load generator is wrk (Debian package `wrk`) on the same 2-core machine as the server, so
# figures are a lower bound. Writes bench/results/api.md.
# With SCALE=1 the registry first gets bench/scale.sql (100,000 nodes, 200,000 interfaces,
# 1,000,000 node tags, 20,000 persons), the calls name a node among them, a GetNodes by filter
# row is added, and the results go to bench/results/api-scale.md.
# With BASELINE_BIN=PATH (another build of bootmedium, e.g. the previous release) every row is
# measured for that build and for this one in the same run, one after the other, with the peak
# RSS of each server.
#   Usage: [SCALE=1] [BASELINE_BIN=PATH] bench/api.sh [SECONDS]
#   env: BENCH_PG_URL (default postgres://root@127.0.0.1:5432/test)
source "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
PG_ADMIN_URL=${BENCH_PG_URL:-postgres://root@127.0.0.1:5432/test}
SCALE=${SCALE:-}
require wrk wrk
[[ -z $SCALE ]] || require "sqlite3 postgresql-client" sqlite3 psql
release_build
BUILDS=("this:$BIN")
[[ -z ${BASELINE_BIN:-} ]] || BUILDS=("baseline:$(realpath "$BASELINE_BIN")" "this:$BIN")
WORK=$(mktemp -d /tmp/bm-bench.XXXXXX)
SERVER=
cleanup() { [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
OUT=bench/results/api${SCALE:+-scale}.md
CALLS=(GetNodes AuthCheck node-preview node-floppy node-floppy-1node)
[[ -z $SCALE ]] || CALLS=(GetNodes GetNodes-filter AuthCheck node-preview node-floppy node-floppy-1node)
NODES=16

# start_server NAME BIN [DATABASE_URL] -> sets URL and SERVER
start_server() {
  local dir=$WORK/$1 bin=$2 db=${3:-}
  local dbargs=()
  [[ -n $db ]] && dbargs=(--database "$db")
  "$bin" --data-dir "$dir" "${dbargs[@]}" init --plc-name Bench --admin-email admin@bench.org --admin-password pw >/dev/null
  BOOTMEDIUM_LOG=warn "$bin" --data-dir "$dir" "${dbargs[@]}" serve --demo --listen 127.0.0.1:0 > "$dir.out" 2>"$dir.err" &
  SERVER=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$dir.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$dir.out")
  if [[ -n $SCALE ]]; then
    local started=$SECONDS
    if [[ -n $db ]]; then
      psql "$db" -q -v ON_ERROR_STOP=1 -f bench/scale.sql >/dev/null
      psql "$db" -q -c 'VACUUM ANALYZE' >/dev/null   # so autovacuum does not run during the measurement
    else
      sqlite3 "$dir/bootmedium.db" < bench/scale.sql
      sqlite3 "$dir/bootmedium.db" 'ANALYZE'
    fi
    echo "$1: loaded bench/scale.sql in $((SECONDS - started)) s" >&2
  fi
}

# Writes the request bodies (session auth) into $WORK/NAME[.N].xml and checks each answers
# without fault. The small registry gets NODES-1 more nodes at the demo site, each with a static
# primary interface; at scale, the calls name NODES of the loaded nodes.
make_bodies() {
  python3 - "$URL" "$WORK" "$SCALE" "$NODES" <<'PY'
import sys, xmlrpc.client
url, work, scale, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
api = xmlrpc.client.ServerProxy(url, allow_none=True)
s = api.GetSession({'AuthMethod': 'password', 'Username': 'admin@bench.org', 'AuthString': 'pw'})
auth = {'AuthMethod': 'session', 'session': s}
if scale:
    nodes = [f'n{50000 + i}.scale.example.org' for i in range(count)]
else:
    nodes = ['node1.demo.example.org']
    site = api.GetNodes(auth, nodes[0], ['site_id'])[0]['site_id']
    for i in range(2, count + 1):
        hostname = f'node{i}.demo.example.org'
        if not api.GetNodes(auth, hostname, ['node_id']):
            node_id = api.AddNode(auth, site, {'hostname': hostname, 'boot_state': 'boot'})
            api.AddInterface(auth, node_id, {
                'method': 'static', 'type': 'ipv4', 'is_primary': True, 'ip': f'10.1.{i}.10',
                'netmask': '255.255.255.0', 'network': f'10.1.{i}.0', 'broadcast': f'10.1.{i}.255',
                'gateway': f'10.1.{i}.1', 'dns1': '10.1.0.2'})
        nodes.append(hostname)
node = nodes[0]
bodies = {
    'GetNodes': [((auth, node), 'GetNodes')],
    # 10 nodes of one site in the boot state, with three fields.
    'GetNodes-filter': [((auth, {'hostname': 'n5000*.scale.example.org', 'boot_state': 'boot'},
                          ['node_id', 'hostname', 'site_id']), 'GetNodes')],
    'AuthCheck': [((auth,), 'AuthCheck')],
    'node-preview': [((auth, n, 'node-preview', ''), 'GetBootMedium') for n in nodes],
    'node-floppy': [((auth, n, 'node-floppy', ''), 'GetBootMedium') for n in nodes],
    'node-floppy-1node': [((auth, node, 'node-floppy', ''), 'GetBootMedium')],
}
if not scale:
    del bodies['GetNodes-filter']
for name, calls in bodies.items():
    paths = []
    for i, (params, method) in enumerate(calls):
        assert getattr(api, method)(*params), name
        paths.append(f"{work}/{name}.{i}.xml")
        open(paths[-1], "w").write(xmlrpc.client.dumps(params, method, allow_none=True))
    open(f"{work}/{name}.bodies", "w").write(":".join(paths))
PY
}

# run NAME -> "calls/s | p50 | p90 | p99"
run() {
  local out
  out=$(BODY=$(cat "$WORK/$1.bodies") wrk -t2 -c8 -d"${DURATION}s" --latency -s bench/post.lua "$URL")
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers during $1" >&2; exit 1; fi
  local rps p50 p90 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p90=$(awk '$1=="90%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "| $rps | $p50 | $p90 | $p99 |"
}

{
  echo "# API benchmark${SCALE:+ at scale}"
  echo
  [[ -z $SCALE ]] || echo "The registry holds bench/scale.sql's 100,000 nodes, 200,000 interfaces, 1,000,000 node tags and 20,000 persons; the calls name n50000.scale.example.org; GetNodes-filter asks for {'hostname': 'n5000*.scale.example.org', 'boot_state': 'boot'} (3 fields)."
  [[ -z $SCALE ]] || echo
  echo "\`${SCALE:+SCALE=1 }bench/api.sh $DURATION\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); wrk -t2 -c8 for ${DURATION}s per row,"
  echo "on the same machine as the server (release build). Session auth for every call; GetBootMedium rows return the text inline"
  echo "and name $NODES nodes in turn, except node-floppy-1node (one node: its renewals wait for each other's commit)."
  echo
  echo "| backend | call | build | calls/s | p50 | p90 | p99 |"
  echo "|---|---|---|---|---|---|---|"
} > "$OUT.tmp"

# measure BACKEND-LABEL NAME BIN [DATABASE_URL]: every call against one fresh server.
measure() {
  local label=$1 name=$2 bin=$3 db=${4:-}
  start_server "$name" "$bin" "$db"
  make_bodies
  for call in "${CALLS[@]}"; do echo "| $label | $call | ${name%%-*} $(run $call)" >> "$OUT.tmp"; done
  PEAKS+=("$label ${name%%-*}: $(awk '/VmHWM/ {print $2 " " $3}' /proc/$SERVER/status)")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
}

PEAKS=()
for build in "${BUILDS[@]}"; do measure SQLite "${build%%:*}-sqlite" "${build#*:}"; done

if psql "$PG_ADMIN_URL" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  for build in "${BUILDS[@]}"; do
    DB=bm_bench_$$_${build%%:*}
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
    measure PostgreSQL "${build%%:*}-postgres" "${build#*:}" "${PG_ADMIN_URL%/*}/$DB"
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null
  done
else
  echo "| PostgreSQL | (no server answered at $PG_ADMIN_URL) | | | | | |" >> "$OUT.tmp"
fi
{
  echo
  echo "Peak RSS of each server (VmHWM) after its rows: ${PEAKS[*]/%/;}"
} >> "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
