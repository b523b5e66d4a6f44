#!/usr/bin/env bash
# The boot server page a booting node fetches its BootManager from (`//boot/`), over HTTPS, from
# one `bootmedium serve` (release build, SQLite, rustls) against Debian's nginx (OpenSSL) serving
# the same signed payload file as a static file, in the same run, with the same certificate:
#   - ours: GET //boot/ (the node found by the client address, its deployment tag read, the
#     payload chosen and streamed); nginx: GET /bootmanager_regular.sh.sgn (sendfile is off for
#     TLS in nginx too; no lookup at all): nginx is a lower bound, not upstream (upstream runs a
#     PHP page that makes an XML-RPC call to PLCAPI per request);
#   - keep-alive (wrk -c16) and one TLS handshake per request (`Connection: close`), which is
#     what nodes do (every pl_boot attempt is a new curl);
#   - also the API over HTTPS against plain HTTP (AuthCheck, session auth, keep-alive), the cost
#     of TLS on calls;
#   - the server's VmRSS sampled every 50 ms during the runs (peak over idle).
# ROUNDS (3) rounds alternate ours and nginx; medians and ratios are reported.
#
# Usage: bench/boot_server.sh      (env: BENCH_WORK=/var/tmp/plbench, DURATION=5, ROUNDS=3,
#                                   PAYLOAD_BYTES=1048576 — upstream's BootManager is ~1 MB)
# Needs: wrk, nginx, gpg, openssl, python3. Runs nginx as root on a free loopback port with a
# private configuration; stops it and the server on exit. Writes bench/results/boot_server.md.
source "$(dirname "$0")/lib.sh"
require "wrk nginx-light gnupg openssl python3" wrk nginx gpg openssl python3
release_build
DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3} PAYLOAD_BYTES=${PAYLOAD_BYTES:-1048576}
OUT=bench/results/boot_server.md

DIR=$W/boot_server
DATA=$DIR/data
SERVER= NGINX_PID= SAMPLER=
stop() {
  set +e
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null
  [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null
  wait 2>/dev/null
  gpgconf --homedir "$DIR/gnupg" --kill gpg-agent 2>/dev/null
  rm -rf "$DIR"
}
trap stop EXIT
rm -rf "$DIR"
mkdir -p "$DIR/www" "$DIR/nginx" "$DIR/gnupg" "$DIR/tls"
chmod 700 "$DIR/gnupg"
ulimit -n "$(ulimit -Hn)"

# A throw-away CA and a server certificate for 127.0.0.1, used by both servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$DIR/tls/ca.key" -out "$DIR/tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$DIR/tls/server.key" -out "$DIR/tls/server.csr" 2>/dev/null
openssl x509 -req -in "$DIR/tls/server.csr" -CA "$DIR/tls/ca.crt" -CAkey "$DIR/tls/ca.key" -days 2 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$DIR/tls/server.crt" 2>/dev/null

# A throw-away signing key; its public ring is the PLC's; a random payload signed with it.
gpg --homedir "$DIR/gnupg" --batch --passphrase '' --quick-gen-key 'Bench PLC <root@bench.example.org>' \
  ed25519 sign 1d 2>/dev/null
gpg --homedir "$DIR/gnupg" --export > "$DIR/pubring.gpg"
python3 -c 'import random, sys; random.seed(1); sys.stdout.buffer.write(random.randbytes(int(sys.argv[1])))' \
  "$PAYLOAD_BYTES" > "$DIR/bootmanager.sh"
gpg --homedir "$DIR/gnupg" --batch --yes --compress-level 0 --sign -o "$DIR/www/bootmanager_regular.sh.sgn" \
  "$DIR/bootmanager.sh" 2>/dev/null

"$BIN" --data-dir "$DATA" init --plc-name "PlanetLab Bench" --admin-email admin@bench.example.org \
  --admin-password bench >/dev/null
mkdir -p "$DATA/boot"
cp "$DIR/pubring.gpg" "$DATA/boot/pubring.gpg"
cp "$DIR/tls/ca.crt" "$DATA/boot/cacert.pem"
"$BIN" --data-dir "$DATA" bootmanager add "$DIR/www/bootmanager_regular.sh.sgn" >&2
python3 - "$DATA/bootmedium.toml" "$DIR/tls" <<'PY'
import re, sys
path, tls = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'(?m)^tls_certificate = .*$', f'tls_certificate = "{tls}/server.crt"', text)
text = re.sub(r'(?m)^tls_key = .*$', f'tls_key = "{tls}/server.key"', text)
open(path, "w").write(text)
PY

PORT=$(free_port) TLS_PORT=$(free_port) NGINX_PORT=$(free_port)
"$BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" \
  > "$DIR/serve.out" 2> "$DIR/serve.err" &
SERVER=$!
for _ in $(seq 1 100); do grep -q "listening on https" "$DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on https" "$DIR/serve.out" || { cat "$DIR/serve.err" >&2; exit 1; }

# The node whose interface address is 127.0.0.1 (wrk's source address), and a session.
SESSION=$(python3 - "http://127.0.0.1:$PORT/PLCAPI/" <<'PY'
import sys, xmlrpc.client
api = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
auth = {'AuthMethod': 'password', 'Username': 'admin@bench.example.org', 'AuthString': 'bench'}
api.AddSite(auth, {'name': 'Bench', 'abbreviated_name': 'Bench', 'login_base': 'bench'})
node = api.AddNode(auth, 'bench', {'hostname': 'node1.bench.example.org'})
api.AddInterface(auth, node, {'method': 'static', 'type': 'ipv4', 'ip': '127.0.0.1', 'is_primary': True,
                              'netmask': '255.0.0.0', 'network': '127.0.0.0', 'broadcast': '127.255.255.255',
                              'gateway': '127.0.0.2', 'dns1': '127.0.0.53'})
print(api.GetSession(auth))
PY
)
python3 -c 'import sys, xmlrpc.client; print(xmlrpc.client.dumps(({"AuthMethod": "session", "session": sys.argv[1]},), "AuthCheck"))' \
  "$SESSION" > "$DIR/authcheck.xml"
# Both answer the same bytes.
curl -sf --cacert "$DIR/tls/ca.crt" "https://127.0.0.1:$TLS_PORT//boot/" -o "$DIR/ours.sgn"
cmp "$DIR/ours.sgn" "$DIR/www/bootmanager_regular.sh.sgn"

nginx_conf "$DIR" 1024 "listen 127.0.0.1:$NGINX_PORT ssl; ssl_certificate $DIR/tls/server.crt; ssl_certificate_key $DIR/tls/server.key; root $DIR/www;"
nginx -c "$DIR/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -sf --cacert "$DIR/tls/ca.crt" "https://127.0.0.1:$NGINX_PORT/bootmanager_regular.sh.sgn" -o "$DIR/nginx.sgn" && break; sleep 0.1; done
cmp "$DIR/nginx.sgn" "$DIR/www/bootmanager_regular.sh.sgn"

# VmRSS of the server every 50 ms.
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
IDLE_RSS=$(rss)
( while kill -0 "$SERVER" 2>/dev/null; do rss; sleep 0.05; done ) > "$DIR/rss" &
SAMPLER=$!

# wrk_run URL [wrk args...] -> "requests/s p50 p99"
wrk_run() {
  local url=$1 out
  shift
  out=$(wrk -t2 -d"${DURATION}s" --latency "$@" "$url")
  # Every answer whole and successful: wrk counts short or failed reads as socket errors.
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "failed answers from $url" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} /Transfer\/sec/ {t=$2} END {print r, p50, p99, t}' <<<"$out"
}

declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round" >&2
  RESULTS[ours_ka]+="$(wrk_run "https://127.0.0.1:$TLS_PORT//boot/" -c16)"$'\n'
  RESULTS[nginx_ka]+="$(wrk_run "https://127.0.0.1:$NGINX_PORT/bootmanager_regular.sh.sgn" -c16)"$'\n'
  RESULTS[ours_close]+="$(wrk_run "https://127.0.0.1:$TLS_PORT//boot/" -c16 -H 'Connection: close')"$'\n'
  RESULTS[nginx_close]+="$(wrk_run "https://127.0.0.1:$NGINX_PORT/bootmanager_regular.sh.sgn" -c16 -H 'Connection: close')"$'\n'
  RESULTS[api_https]+="$(BODY=$DIR/authcheck.xml wrk_run "https://127.0.0.1:$TLS_PORT/PLCAPI/" -c8 -s bench/post.lua)"$'\n'
  RESULTS[api_http]+="$(BODY=$DIR/authcheck.xml wrk_run "http://127.0.0.1:$PORT/PLCAPI/" -c8 -s bench/post.lua)"$'\n'
done
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
PEAK_RSS=$(sort -n "$DIR/rss" | tail -1)

# median COLUMN KEY: the median over the rounds of one column (1 = requests/s, 2 = p50, 3 = p99).
median() { awk -v c="$1" 'NF {print $c}' <<<"${RESULTS[$2]}" | python3 -c '
import re, statistics, sys
def ms(v):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s)?", v.strip())
    n = float(m.group(1)); unit = m.group(2) or ""
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n
vals = [ms(v) for v in sys.stdin if v.strip()]
print(f"{statistics.median(vals):.2f}")'; }
ratio() { python3 -c "print(f'{float(\"$1\") / float(\"$2\"):.2f}')"; }

{
  echo "# Boot server page over HTTPS"
  echo
  echo "\`bench/boot_server.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); wrk -t2 for ${DURATION}s per row on the"
  echo "same machine, $ROUNDS rounds alternating, medians; a ${PAYLOAD_BYTES}-byte signed payload; TLS 1.3, ECDSA P-256 certificate."
  echo "Ours: \`GET //boot/\` (node found by client address, payload chosen, file streamed; rustls). nginx: the same file"
  echo "as a static file (OpenSSL); a lower bound, not upstream (a PHP page making an XML-RPC call per request)."
  echo
  echo "| what | ours req/s | nginx req/s | ours / nginx | ours p50 ms | nginx p50 ms | ours p99 ms | nginx p99 ms |"
  echo "|---|---|---|---|---|---|---|---|"
  for mode in ka close; do
    label=$([[ $mode == ka ]] && echo "keep-alive, 16 connections" || echo "a TLS handshake per request, 16 at a time")
    o=$(median 1 "ours_$mode") n=$(median 1 "nginx_$mode")
    echo "| $label | $o | $n | $(ratio "$o" "$n") | $(median 2 "ours_$mode") | $(median 2 "nginx_$mode") | $(median 3 "ours_$mode") | $(median 3 "nginx_$mode") |"
  done
  echo
  echo "API over TLS: AuthCheck (session auth), keep-alive, 8 connections."
  echo
  echo "| transport | calls/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
  for t in http https; do
    echo "| $t | $(median 1 "api_$t") | $(median 2 "api_$t") | $(median 3 "api_$t") |"
  done
  echo
  echo "HTTPS / HTTP calls/s: $(ratio "$(median 1 api_https)" "$(median 1 api_http)")."
  echo "Server VmRSS: idle $((IDLE_RSS / 1024)) MiB, peak $((PEAK_RSS / 1024)) MiB (+$(((PEAK_RSS - IDLE_RSS) / 1024)) MiB over idle)."
} > "$OUT"
cat "$OUT"
