#!/usr/bin/env bash
# Builds a small bootable test reference BootCD from Debian packages, for the tests and the
# README (MEDIA.md §3 "Boot"):
#   OUTDIR/kernel        the installed kernel (package linux-image-cloud-amd64 or any
#                        linux-image-*; override with KERNEL=PATH)
#   OUTDIR/bootcd.img    a gzip'd newc cpio: busybox (package busybox-static) and an /init that
#                        prints /usr/boot/plnode.txt and /proc/cmdline between markers on the
#                        console, then powers off
#   OUTDIR/cacert.pem, OUTDIR/pubring.gpg   fixed fake PLC credentials for the overlay
# Usage: scripts/make-test-reference.sh OUTDIR        (no root needed; ~15 MB)
# The output is reproducible (same kernel and busybox, same bytes), and each file is replaced
# atomically, so concurrent runs into the same OUTDIR are harmless.
set -euo pipefail
OUT=${1:?usage: $0 OUTDIR}
KERNEL=${KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[[ -n $KERNEL && -r $KERNEL ]] || { echo "no readable kernel in /boot: install the Debian package linux-image-cloud-amd64" >&2; exit 1; }
[[ -x $BUSYBOX ]] || { echo "$BUSYBOX is missing: install the Debian package busybox-static" >&2; exit 1; }
file -L "$BUSYBOX" 2>/dev/null | grep -q 'dynamically linked' && { echo "$BUSYBOX is not static: install the Debian package busybox-static" >&2; exit 1; }
for tool in cpio gzip; do
  command -v $tool >/dev/null || { echo "$tool is missing: install the Debian package $tool" >&2; exit 1; }
done

mkdir -p "$OUT"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/testref.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,proc,sys,dev,etc,root,usr/boot}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in sh mount cat echo poweroff mkdir sleep ls; do ln -s busybox "$ROOT/bin/$applet"; done
cat > "$ROOT/init" <<'INIT'
#!/bin/sh
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
exec >/dev/console 2>&1
echo PLNODE-BEGIN
cat /usr/boot/plnode.txt 2>/dev/null
echo PLNODE-END
echo CMDLINE-BEGIN
cat /proc/cmdline
echo CMDLINE-END
poweroff -f
INIT
chmod 755 "$ROOT/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
# Fixed times and sorted names make the archive reproducible.
find "$ROOT" -exec touch -h -d @1700000000 {} +
install_file() { # NAME: moves $ROOT/out.NAME to OUT/NAME atomically, with the fixed time
  touch -d @1700000000 "$ROOT/out.$1"
  mv "$ROOT/out.$1" "$OUT/.$1.$$" && mv -f "$OUT/.$1.$$" "$OUT/$1"
}
(cd "$ROOT" && find . -mindepth 1 -not -name 'out.*' | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible) \
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
echo "test reference in $OUT: kernel $(basename "$KERNEL"), $(stat -c %s "$OUT/bootcd.img") bytes of bootcd.img"
