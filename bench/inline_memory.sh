#!/usr/bin/env bash
# Server memory while it streams inline images (a quality bar of the image actions): 4 clients at once ask for
# GetBootMedium(node-iso, '') from a 200 MB reference; each response (~300 MB of base64) is read
# in 1 MiB pieces and checked (length = Content-Length, well-formed end, decodable base64).
# Records the server's idle RSS, its peak (VmHWM) and the difference in
# bench/results/inline_memory.md.      env: BENCH_WORK (default /var/tmp/plbench), SHARED
source "$(dirname "$0")/lib.sh"
reference
release_build
DIR=$(mktemp -d /tmp/bm-inline.XXXXXX)
SERVER=
trap '[[ -n $SERVER ]] && kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
"$BIN" --data-dir "$DIR" init --plc-name Bench --admin-email admin@bench.org --admin-password pw >/dev/null
mkdir -p "$DIR/boot" && cp "$W/plc/cacert.pem" "$W/plc/pubring.gpg" "$DIR/boot/"
"$BIN" --data-dir "$DIR" reference import --family lxc-f22-x86_64 --version bench \
  --kernel "$W/ref-200m/isofs/kernel" --initrd "$W/ref-200m/isofs/bootcd.img" 2>/dev/null
BOOTMEDIUM_LOG=warn "$BIN" --data-dir "$DIR" serve --demo --listen 127.0.0.1:0 > "$DIR/serve.out" 2>/dev/null &
SERVER=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DIR/serve.out")
sleep 1
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SERVER/status"; }
IDLE=$(kib VmRSS)
START=$(date +%s.%N)
python3 - "$URL" <<'PY'
import base64, http.client, sys, threading, urllib.parse, xmlrpc.client
url = urllib.parse.urlparse(sys.argv[1])
api = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
session = api.GetSession({'AuthMethod': 'password', 'Username': 'admin@bench.org', 'AuthString': 'pw'})
body = xmlrpc.client.dumps(({'AuthMethod': 'session', 'session': session}, 'node1.demo.example.org',
                            'node-iso', '', ['serial']), 'GetBootMedium', allow_none=True).encode()
errors = []
def fetch(n):
    try:
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
        c.request('POST', url.path, body, {'Content-Type': 'text/xml'})
        r = c.getresponse()
        length = int(r.getheader('Content-Length'))
        got, tail, decoded, carry = 0, b'', 0, b''
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            got += len(piece)
            tail = (tail + piece)[-64:]
        assert got == length, (got, length)
        assert tail.rstrip().endswith(b'</methodResponse>'), tail
    except Exception as e:
        errors.append((n, repr(e)))
threads = [threading.Thread(target=fetch, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
if errors:
    sys.exit(f"failed downloads: {errors}")
PY
END=$(date +%s.%N)
PEAK=$(kib VmHWM)
SIZE=$(stat -c %s "$W/ref-200m/isofs/bootcd.img")
{
  echo "# Server memory while streaming inline images"
  echo
  echo "\`bench/inline_memory.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores: 4 concurrent"
  echo "\`GetBootMedium(session, node, 'node-iso', '', ['serial'])\` calls, each answered with the whole"
  echo "image as base64 (~$((SIZE * 4 / 3 / 1048576)) MiB of response per call), read by the clients in 1 MiB pieces."
  echo
  echo "| server RSS idle | server peak (VmHWM) | peak above idle | target | wall time for the 4 calls |"
  echo "|---|---|---|---|---|"
  printf '| %d MiB | %d MiB | %d MiB | < 64 MiB above idle | %.1f s |\n' $((IDLE / 1024)) $((PEAK / 1024)) $(((PEAK - IDLE) / 1024)) "$(echo "$END - $START" | bc)"
} > bench/results/inline_memory.md
cat bench/results/inline_memory.md
