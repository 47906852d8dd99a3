#!/usr/bin/env bash
# Installs every Debian package Circular's tests, benchmarks and demo use. Idempotent; needs root.
set -euo pipefail
packages=(
  clang zlib1g-dev                # the C toolchain the native (AOT) build of circular links with
  qemu-system-x86 qemu-utils      # boot, qemu-img, qemu-io
  qemu-block-extra                # QEMU's curl block driver (WAN benchmark peer)
  nbdkit libnbd-bin               # peer NBD server (its curl plugin and cache filter too); nbdinfo, nbdcopy
  debootstrap                     # the WAN benchmark's Debian guest
  nginx curl                      # a plain static web server; HTTP client
  procps psmisc python3           # kill, ps, pgrep, fuser (the tests signal and watch processes); helper scripts
  fuse3 e2fsprogs busybox-static  # FUSE mounts; mkfs.ext4/debugfs; guest userland
  linux-image-amd64               # guest kernel and initramfs
  casync zstd time                # push benchmark peer; /usr/bin/time
  swtpm swtpm-tools tpm2-tools     # software TPM 2.0 and tools for measured boot (--tpm) tests
  grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools  # boot ISOs and seed disks (BIOS and UEFI)
  ovmf ipxe                        # UEFI firmware for QEMU; iPXE images (tests of network boot)
  squashfs-tools                   # Live ISO tests (a squashfs root inside an ISO, booted over HTTP ranges)
  python3-fusepy                   # failfs.py: a disk that fails with EIO on command (fault tests; no device-mapper here)
  squid rclone                     # scale-out tests: a site proxy in front of serve; an independent S3 client
  chromium fonts-dejavu-core       # the catalog tests: pages loaded, dumped and screenshotted in headless Chromium
  ca-certificates libssl3 libzstd1 xz-utils # what the Circular initramfs carries; xz packs it for ISOs
)
missing=()
for p in $(printf '%s\n' "${packages[@]}" | sed 's/#.*//' | tr ' ' '\n' | grep -v '^$'); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian ships nginx enabled as a service; the tests start their own instances on free ports.
for svc in nginx squid; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet $svc 2>/dev/null; then systemctl stop $svc || true; fi
done
# The S3 tests run moto_server, which this machine image carries (it is no Debian package).
command -v moto_server >/dev/null || echo "warning: moto_server (an S3 server) is missing; the S3 tests will fail" >&2
modprobe fuse 2>/dev/null || true
modprobe loop 2>/dev/null || true
