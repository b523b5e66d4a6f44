#!/usr/bin/env bash
# Starts bootmedium with everything embedded (SQLite in a data directory), seeds a demo site, PI
# and node, shows a few PLCAPI calls made with Python's own XML-RPC client, then keeps serving
# until Ctrl-C.   Usage: scripts/demo.sh [DATA_DIR] [HOST:PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
DATA=${1:-./demo-data}
LISTEN=${2:-127.0.0.1:8080}
ADMIN=admin@example.org
PASSWORD=admin-password

cargo build --release --locked -p bootmedium
BIN=${CARGO_TARGET_DIR:-target}/release/bootmedium
"$BIN" --data-dir "$DATA" init --plc-name "Demo PLC" --admin-email "$ADMIN" --admin-password "$PASSWORD"

"$BIN" --data-dir "$DATA" serve --demo --listen "$LISTEN" > "$DATA/serve.out" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do grep -q '^listening on' "$DATA/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DATA/serve.out")
echo "bootmedium is serving PLCAPI at $URL"

python3 - "$URL" "$ADMIN" "$PASSWORD" <<'PY'
import sys, xmlrpc.client
url, user, password = sys.argv[1:4]
api = xmlrpc.client.ServerProxy(url, allow_none=True)
auth = {'AuthMethod': 'password', 'Username': user, 'AuthString': password}
print(">>> AuthCheck(auth) =", api.AuthCheck(auth))
session = api.GetSession(auth)
sauth = {'AuthMethod': 'session', 'session': session}
print(">>> GetSession(auth) =", session)
for node in api.GetNodes(sauth, {'hostname': '*.demo.example.org'}, ['node_id', 'hostname', 'boot_state', 'interface_ids']):
    print(">>> node", node)
    for i in api.GetInterfaces(sauth, node['interface_ids'], ['method', 'ip', 'netmask', 'gateway', 'dns1', 'mac', 'is_primary']):
        print("    interface", i)
print(">>> GetNodeFlavour =", api.GetNodeFlavour(sauth, 'node1.demo.example.org'))
PY
echo "serving until Ctrl-C (try: python3 -c \"import xmlrpc.client as x; print(x.ServerProxy('$URL').system.listMethods())\")"
wait $SERVER
