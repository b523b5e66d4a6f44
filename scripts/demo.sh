#!/usr/bin/env bash
# Starts bootmedium with everything embedded (SQLite in a data directory), seeds a demo site, PI
# and node, shows a few PLCAPI calls made with Python's own XML-RPC client, then keeps serving
# until Ctrl-C (or, with DEMO_ONCE=1, stops after the show).
#   Usage: scripts/demo.sh [DATA_DIR] [HOST:PORT]     env: BOOTMEDIUM_BIN (skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
DATA=${1:-./demo-data}
LISTEN=${2:-127.0.0.1:8080}
ADMIN=admin@example.org
PASSWORD=admin-password

BIN=${BOOTMEDIUM_BIN:-}
if [[ -z $BIN ]]; then
  cargo build --release --locked -p bootmedium
  BIN=${CARGO_TARGET_DIR:-target}/release/bootmedium
fi
"$BIN" --data-dir "$DATA" init --plc-name "Demo PLC" --admin-email "$ADMIN" --admin-password "$PASSWORD"

# A boot CD reference for the default node family, so GetBootMedium can make node images: the
# project's small test reference (a Debian kernel, busybox, curl, gpgv, openssl) with fake PLC
# credentials, labelled "demo" — not a PlanetLab boot CD. It needs Debian's
# linux-image-cloud-amd64, busybox-static, curl, gpgv, openssl, cpio, isolinux, syslinux and
# mtools; as root on Debian they are installed when missing.
FAMILY=lxc-f22-x86_64
PACKAGES=(linux-image-cloud-amd64 busybox-static curl gpgv openssl cpio isolinux syslinux syslinux-common mtools grub-efi-amd64-bin)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "DEMO: installing ${missing[*]} for the demo reference" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || echo "DEMO: could not install ${missing[*]}" >&2
fi
if [[ ! -d $DATA/references/families/$FAMILY ]]; then
  if scripts/make-test-reference.sh "$DATA/test-reference" >/dev/null 2>"$DATA/reference.err"; then
    mkdir -p "$DATA/boot"
    cp "$DATA/test-reference/cacert.pem" "$DATA/test-reference/pubring.gpg" "$DATA/boot/"
    "$BIN" --data-dir "$DATA" reference import --family "$FAMILY" --version demo \
      --kernel "$DATA/test-reference/kernel" --initrd "$DATA/test-reference/bootcd.img" \
      || echo "DEMO: reference import failed; node images will answer fault 111" >&2
  else
    echo "DEMO: no test reference ($(cat "$DATA/reference.err")); node images will answer fault 111." >&2
    echo "      apt-get install linux-image-cloud-amd64 busybox-static curl gpgv openssl cpio isolinux syslinux mtools grub-efi-amd64-bin" >&2
  fi
fi

"$BIN" --data-dir "$DATA" serve --demo --listen "$LISTEN" > "$DATA/serve.out" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do grep -q '^listening on' "$DATA/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$DATA/serve.out")
echo "bootmedium is serving PLCAPI at $URL"

python3 - "$URL" "$ADMIN" "$PASSWORD" "$DATA/node1.iso" <<'PY'
import sys, xmlrpc.client
url, user, password, iso_path = sys.argv[1:5]
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
print(">>> GetBootMedium(node-preview):")
print(api.GetBootMedium(sauth, 'node1.demo.example.org', 'node-preview', ''))
try:
    import base64
    iso = base64.b64decode(api.GetBootMedium(sauth, 'node1.demo.example.org', 'node-iso', '', ['serial']))
    open(iso_path, 'wb').write(iso)
    print(f">>> GetBootMedium(node-iso, ['serial']): {len(iso)} bytes written to {iso_path}")
    # The same for browsers and scripts: a download link (resumable, ETag = sha256).
    import hashlib, json, urllib.request
    base = url.split('/PLCAPI')[0]
    body = json.dumps({'node': 'node1.demo.example.org', 'action': 'node-iso', 'options': ['serial']}).encode()
    req = urllib.request.Request(base + '/api/v1/media', body, {'Authorization': 'Bearer ' + session})
    link = json.load(urllib.request.urlopen(req))
    print(">>> POST /api/v1/media =", link)
    data = urllib.request.urlopen(link['url']).read()
    open(iso_path.replace('.iso', '-download.iso'), 'wb').write(data)
    print(f">>> GET {link['url']}: {len(data)} bytes, sha256 matches: {hashlib.sha256(data).hexdigest() == link['sha256']}")
except xmlrpc.client.Fault as f:
    print(">>> GetBootMedium(node-iso) fault:", f.faultString)
PY
if [[ -f $DATA/node1.iso ]]; then
  "$BIN" inspect "$DATA/node1.iso" | head -12
  echo ">>> bootmedium verify (the node key signs the question and never leaves this machine):"
  "$BIN" verify "$DATA/node1.iso" --server "$URL" || true
  "$BIN" verify "$DATA/node1-download.iso" --server "$URL" || true
  echo "boot it: qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -cdrom $DATA/node1-download.iso"
fi
[[ ${DEMO_ONCE:-} == 1 ]] && exit 0
echo "serving until Ctrl-C (try: python3 -c \"import xmlrpc.client as x; print(x.ServerProxy('$URL').system.listMethods())\")"
wait $SERVER
