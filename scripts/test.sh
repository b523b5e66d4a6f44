#!/usr/bin/env bash
# Runs every test of the workspace. On a fresh Debian machine it first installs the Debian
# packages the tests use (when run as root), and it runs the registry tests against PostgreSQL
# too when a server answers on 127.0.0.1:5432 (or at $BOOTMEDIUM_TEST_POSTGRES_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Independent checkers of the image writers, and the tools the integration tests drive.
PACKAGES=(python3 python3-aiosmtpd postgresql-client sqlite3 curl openssl xorriso genisoimage dosfstools mtools fdisk cpio util-linux
          syslinux syslinux-common isolinux grub-efi-amd64-bin grub-efi-amd64-signed shim-signed sbsigntool ovmf
          qemu-system-x86 busybox-static linux-image-cloud-amd64 gnupg gpgv gpg-agent iproute2 nginx)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages (run as root or install them): ${missing[*]}" >&2
    exit 1
  fi
fi

if [[ -z ${BOOTMEDIUM_TEST_POSTGRES_URL:-} ]]; then
  candidate=postgres://root@127.0.0.1:5432/test
  if psql "$candidate" -qtAc 'SELECT 1' >/dev/null 2>&1; then
    export BOOTMEDIUM_TEST_POSTGRES_URL=$candidate
  fi
fi
echo "PostgreSQL tests: ${BOOTMEDIUM_TEST_POSTGRES_URL:-off (no server answered)}"

cargo test --workspace --locked "$@"
