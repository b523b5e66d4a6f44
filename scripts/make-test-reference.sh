#!/usr/bin/env bash
# Builds a small bootable test reference BootCD from Debian packages, for the tests and the
# README (docs/media.md §3 "Boot"; docs/plc-api.md §7.2 and §12.4 for the node chain):
#   OUTDIR/kernel        the installed kernel (package linux-image-cloud-amd64 or any
#                        linux-image-*; override with KERNEL=PATH; its modules are taken from
#                        /lib/modules/<version>, override with MODULES=DIR)
#   OUTDIR/bootcd.img    a gzip'd newc cpio: busybox (package busybox-static), curl, gpgv and
#                        openssl with their shared libraries and the dynamic loader (packages
#                        curl, gpgv, openssl), the virtio-net and efivarfs kernel modules, and an
#                        /init that prints a report on the console: /usr/boot/plnode.txt between
#                        PLNODE-BEGIN/PLNODE-END, `SECUREBOOT: <value>` (the byte of the UEFI
#                        SecureBoot variable, 1 when enforced; `none` without UEFI) and
#                        /proc/cmdline between CMDLINE-BEGIN/CMDLINE-END. When the command line
#                        has no console=ttyS argument (a graphic medium: the console is the
#                        screen), it says `REPORT: console is graphic, report copied to ttyS0`
#                        and writes the same report to /dev/ttyS0 too, so a test can read any
#                        medium's boot from the serial line. Then, when the machine has a
#                        network card, does what the
#                        BootCD's pl_netinit and pl_boot do (see "node chain" in the init: network
#                        from plnode.txt, POST to the boot server over HTTPS checked with the
#                        medium's cacert.pem, the answer checked with the medium's pubring.gpg and
#                        run), each step and its outcome on console lines `NODE-CHAIN: …`; then
#                        powers off
#   OUTDIR/cacert.pem, OUTDIR/pubring.gpg   fixed fake PLC credentials for the overlay
# Usage: scripts/make-test-reference.sh OUTDIR        (no root needed; ~25 MB)
# The output is reproducible (same kernel, modules and packages, same bytes), and each file is
# replaced atomically, so concurrent runs into the same OUTDIR are harmless; OUTDIR/stamp, a hash
# of every input, skips the work when nothing changed since the last run.
set -euo pipefail
OUT=${1:?usage: $0 OUTDIR}
KERNEL=${KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[[ -n $KERNEL && -r $KERNEL ]] || { echo "no readable kernel in /boot: install the Debian package linux-image-cloud-amd64" >&2; exit 1; }
MODULES=${MODULES:-/lib/modules/$(basename "$KERNEL" | sed 's/^vmlinuz-//')}
[[ -r $MODULES/modules.dep ]] || { echo "no $MODULES/modules.dep for $KERNEL: install the kernel's Debian package (linux-image-cloud-amd64)" >&2; exit 1; }
[[ -x $BUSYBOX ]] || { echo "$BUSYBOX is missing: install the Debian package busybox-static" >&2; exit 1; }
file -L "$BUSYBOX" 2>/dev/null | grep -q 'dynamically linked' && { echo "$BUSYBOX is not static: install the Debian package busybox-static" >&2; exit 1; }
for tool in cpio gzip ldd; do
  command -v $tool >/dev/null || { echo "$tool is missing: install the Debian package $tool" >&2; exit 1; }
done
declare -A PACKAGE_OF=([curl]=curl [gpgv]=gpgv [openssl]=openssl)
for tool in curl gpgv openssl; do
  [[ -x /usr/bin/$tool ]] || { echo "/usr/bin/$tool is missing: install the Debian package ${PACKAGE_OF[$tool]}" >&2; exit 1; }
done

LIBS=$(for tool in curl gpgv openssl; do ldd "/usr/bin/$tool"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | LC_ALL=C sort -u)

# Every test process runs this script: when nothing it reads changed, the output stands.
mkdir -p "$OUT"
STAMP=$( { sha256sum "$0"; stat -L -c '%n %s %Y' "$KERNEL" "$BUSYBOX" /usr/bin/curl /usr/bin/gpgv /usr/bin/openssl \
  $LIBS "$MODULES/modules.dep"; } | sha256sum | cut -d' ' -f1)
outputs_present() { for f in kernel bootcd.img cacert.pem pubring.gpg; do [[ -e $OUT/$f ]] || return 1; done; }
if [[ $(cat "$OUT/stamp" 2>/dev/null) == "$STAMP" ]] && outputs_present; then
  echo "test reference in $OUT is up to date: $(stat -c %s "$OUT/bootcd.img") bytes of bootcd.img"
  exit 0
fi
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/testref.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,proc,sys,dev,etc,root,tmp,usr/bin,usr/boot,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Every applet: the payloads the node runs are busybox shell scripts (sed, grep, printf, …).
for applet in $("$BUSYBOX" --list | LC_ALL=C sort); do
  [[ $applet == busybox || $applet == */* || -e $ROOT/bin/$applet ]] || ln -s busybox "$ROOT/bin/$applet"
done

# curl, gpgv and openssl (pl_boot's tools; openssl for the payload's HMAC-SHA1) with every
# shared library they load and the dynamic loader, at the paths ld.so searches by default.
for tool in curl gpgv openssl; do
  cp "/usr/bin/$tool" "$ROOT/usr/bin/$tool"
done
for lib in $LIBS; do
  case $lib in
    */ld-linux*) dest=lib64/$(basename "$lib") ;;
    *) dest=lib/x86_64-linux-gnu/$(basename "$lib") ;;
  esac
  mkdir -p "$(dirname "$ROOT/$dest")"
  cp -L "$lib" "$ROOT/$dest"
done

# The virtio-net driver and what it needs (CONFIG_VIRTIO_PCI=m, CONFIG_VIRTIO_NET=m in Debian's
# cloud kernel), in load order: modules.dep lists a module's dependencies so that loading them
# last-to-first works (as modprobe does).
order=()
for module in kernel/drivers/virtio/virtio_pci.ko kernel/drivers/net/virtio_net.ko; do
  line=$(grep -E "^${module}(\\.xz|\\.zst)?:" "$MODULES/modules.dep") || { echo "$module is not in $MODULES/modules.dep" >&2; exit 1; }
  read -r -a deps <<<"${line#*:}"
  chain=()
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do chain+=("${deps[i]}"); done
  chain+=("${line%%:*}")
  for m in "${chain[@]}"; do
    [[ " ${order[*]:-} " == *" $m "* ]] || order+=("$m")
  done
done
copy_module() { # PATH-IN-MODULES-DIR: into $ROOT/lib/modules, uncompressed (busybox insmod)
  local name
  name=$(basename "$1"); name=${name%.xz}; name=${name%.zst}
  case $1 in
    *.xz) xz -dc "$MODULES/$1" > "$ROOT/lib/modules/$name" ;;
    *.zst) zstd -qdc "$MODULES/$1" > "$ROOT/lib/modules/$name" ;;
    *) cp "$MODULES/$1" "$ROOT/lib/modules/$name" ;;
  esac
  echo "$name"
}
for m in "${order[@]}"; do
  copy_module "$m" >> "$ROOT/lib/modules/load-order"
done
# efivarfs (CONFIG_EFIVAR_FS=m in the cloud kernel) for the report's SECUREBOOT line; no
# dependencies. Not in load-order: the init loads it before the report.
line=$(grep -E "^kernel/fs/efivarfs/efivarfs\.ko(\.xz|\.zst)?:" "$MODULES/modules.dep") \
  || { echo "efivarfs is not in $MODULES/modules.dep" >&2; exit 1; }
copy_module "${line%%:*}" > /dev/null

cat > "$ROOT/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/usr/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
exec >/dev/console 2>&1
# The SecureBoot variable (EFI global variable GUID) is 4 attribute bytes, then the value byte.
secureboot=none
if [ -d /sys/firmware/efi ]; then
  insmod /lib/modules/efivarfs.ko 2>/dev/null
  mount -t efivarfs efivarfs /sys/firmware/efi/efivars
  var=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
  # Read whole: efivarfs files cannot seek (od -j would show the first attribute byte).
  if [ -r $var ]; then set -- $(od -An -tu1 $var); secureboot=${5:-unreadable}; else secureboot=unset; fi
fi
report() {
  echo PLNODE-BEGIN
  cat /usr/boot/plnode.txt 2>/dev/null
  echo PLNODE-END
  echo "SECUREBOOT: $secureboot"
  echo CMDLINE-BEGIN
  cat /proc/cmdline
  echo CMDLINE-END
}
report
# Without console=ttyS the console is the screen, which a test under QEMU cannot read: the
# report goes to the first serial port as well (closing it waits until it is sent), from a
# line of its own (the loader's last message there may not end its line).
case " $(cat /proc/cmdline) " in
  *" console=ttyS"*) ;;
  *)
    echo "REPORT: console is graphic, report copied to ttyS0"
    { echo; echo "REPORT: console is graphic, report copied to ttyS0"; report; } > /dev/ttyS0 ;;
esac
for module in $(cat /lib/modules/load-order); do insmod /lib/modules/$module 2>/dev/null; done
if [ -e /sys/class/net/eth0 ]; then /bin/node-chain; fi
poweroff -f
INIT
chmod 755 "$ROOT/init"

# What the BootCD's pl_netinit and pl_boot do (docs/plc-api.md §7.2, §12.4), for tests: two
# attempts 3 s apart (upstream retries every 30 s forever), then the init powers off.
cat > "$ROOT/bin/node-chain" <<'CHAIN'
#!/bin/sh
ATTEMPTS=2
PAUSE=3
say() { echo "NODE-CHAIN: $*"; }

# pl_validateconf: only KEY="value" lines of the known keys, values of [[:alnum:].: _-], survive
# (a NODE_KEY with `+` or `/` does not: the payload reads plnode.txt itself, as the
# BootManager does).
KEYS='IP_METHOD|HOST_NAME|DOMAIN_NAME|PROXY_SERVER|IP_ADDRESS|IP_GATEWAY|IP_NETMASK|IP_NETADDR|IP_BROADCASTADDR|IP_DNS1|IP_DNS2|NET_DEVICE|NODE_KEY|NODE_ID|IPMI_ADDRESS|IPMI_MAC|DISCONNECTED_OPERATION|WLAN_SSID|WLAN_IWCONFIG|WLAN_MODE'
if [ ! -r /usr/boot/plnode.txt ]; then
  say "no /usr/boot/plnode.txt"
  exit 1
fi
tr -d '\r' < /usr/boot/plnode.txt | grep -E "^($KEYS)=\"[[:alnum:].: _-]*\"[[:space:]]*\$" > /tmp/planet.cnf
. /tmp/planet.cnf

# pl_netinit: the device whose MAC (or name) is NET_DEVICE, else eth0.
dev=eth0
want=$(echo "${NET_DEVICE:-}" | tr 'A-F' 'a-f')
for path in /sys/class/net/*; do
  name=${path##*/}
  if [ -n "$want" ] && { [ "$(cat "$path/address" 2>/dev/null)" = "$want" ] || [ "$name" = "$want" ]; }; then
    dev=$name
  fi
done
ip link set lo up
ip link set "$dev" up
case "${IP_METHOD:-dhcp}" in
  static)
    if ifconfig "$dev" "$IP_ADDRESS" netmask "$IP_NETMASK" up && route add default gw "$IP_GATEWAY" "$dev"; then
      say "network $dev static $IP_ADDRESS/$IP_NETMASK gateway $IP_GATEWAY"
    else
      say "network $dev static configuration failed"
      exit 1
    fi ;;
  *)
    if udhcpc -i "$dev" -n -q -t 5 -s /bin/udhcpc-script; then
      say "network $dev dhcp $(ip -4 addr show dev "$dev" | sed -n 's/.*inet \([^ ]*\).*/\1/p')"
    else
      say "network $dev dhcp failed"
      exit 1
    fi ;;
esac

# pl_boot: POST to https://<boot_server>:<port>/<path> (the path holds /boot/, hence `//boot/`),
# the server checked against the medium's CA, any status >= 400 a failure.
url="https://$(cat /usr/boot/boot_server):$(cat /usr/boot/boot_server_port)/$(cat /usr/boot/boot_server_path)"
attempt=1
while :; do
  say "attempt $attempt: POST $url"
  openssl rand -hex 32 > /tmp/nonce
  cat /proc/uptime > /tmp/uptime
  ifconfig > /tmp/ifconfig
  rm -f /tmp/bootscript.sgn /tmp/bootscript
  curl --silent --show-error --fail --location --cacert /usr/boot/cacert.pem \
    --connect-timeout 20 --max-time 120 \
    --form 'version=</pl_version' --form 'cmdline=</proc/cmdline' --form 'uptime=</tmp/uptime' \
    --form 'ifconfig=</tmp/ifconfig' --form 'nonce=</tmp/nonce' \
    --output /tmp/bootscript.sgn "$url"
  rc=$?
  if [ $rc -ne 0 ]; then
    say "curl failed rc=$rc"
  # Stricter than upstream's `gpg --decrypt`, which also "verifies" an unsigned literal message
  # (`gpg --store`) with exit 0 and would run it: gpgv insists on a good signature by a key of
  # the medium's ring.
  elif GNUPGHOME=/tmp/gnupg gpgv --keyring /usr/boot/pubring.gpg --output /tmp/bootscript /tmp/bootscript.sgn; then
    say "signature good ($(wc -c < /tmp/bootscript.sgn) bytes)"
    chmod 755 /tmp/bootscript
    /tmp/bootscript
    rc=$?
    say "payload exit $rc"
    [ $rc -eq 0 ] && break
  else
    say "signature refused ($(wc -c < /tmp/bootscript.sgn) bytes)"
  fi
  if [ $attempt -ge $ATTEMPTS ]; then
    say "giving up after $attempt attempts"
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep $PAUSE
done
say "done"
CHAIN
chmod 755 "$ROOT/bin/node-chain"
cat > "$ROOT/bin/udhcpc-script" <<'DHCP'
#!/bin/sh
# udhcpc's event script: configure the lease it got.
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    for gw in $router; do route add default gw "$gw" "$interface"; break; done ;;
esac
exit 0
DHCP
chmod 755 "$ROOT/bin/udhcpc-script"
mkdir -p "$ROOT/tmp/gnupg"
chmod 700 "$ROOT/tmp/gnupg"
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
# Fixed times, modes and sorted names make the archive reproducible.
find "$ROOT" -exec touch -h -d @1700000000 {} +
install_file() { # NAME: moves $ROOT/out.NAME to OUT/NAME atomically, with the fixed time
  touch -d @1700000000 "$ROOT/out.$1"
  mv "$ROOT/out.$1" "$OUT/.$1.$$" && mv -f "$OUT/.$1.$$" "$OUT/$1"
}
(cd "$ROOT" && find . -mindepth 1 -not -name 'out.*' | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0) \
  | gzip -9 -n > "$ROOT/out.bootcd.img"
install_file bootcd.img
cp "$KERNEL" "$ROOT/out.kernel"
install_file kernel
{ echo "-----BEGIN CERTIFICATE-----"
  for i in $(seq 1 12); do printf 'TUlJQ2Zha2VDZXJ0aWZpY2F0ZUZvclRlc3RzT25seU5vdEFSZWFsT25lMDAw%04d\n' "$i"; done
  echo "-----END CERTIFICATE-----"; } > "$ROOT/out.cacert.pem"
install_file cacert.pem
printf 'fake GPG public keyring for tests\n' > "$ROOT/out.pubring.gpg"
install_file pubring.gpg
echo "$STAMP" > "$ROOT/out.stamp"
install_file stamp
echo "test reference in $OUT: kernel $(basename "$KERNEL"), $(stat -c %s "$OUT/bootcd.img") bytes of bootcd.img"
