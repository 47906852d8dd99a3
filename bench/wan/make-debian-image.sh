#!/usr/bin/env bash
# Builds the issue 6 benchmark guest: Debian bookworm minbase (systemd, python3, the Debian kernel) in a 2 GiB ext4
# raw image whose circular-ready.service prints CIRCULAR-WAN-READY on the serial console once multi-user.target is
# reached and powers off. The kernel and initramfs are copied out for QEMU's -kernel/-initrd; boot with
#   -append "console=ttyS0 root=/dev/vda rw quiet"   (the root disk is virtio /dev/vda, no partition table)
# The result is cached in $OUT (default /var/tmp/circular-bench-debian): debian.img, vmlinuz, initrd.img, append.
# A rerun with everything present only prints the paths. VERIFY=1 also boots it once from a local file through
# nbdkit's log filter and reports the time to the marker and what the boot read.
# Usage: bench/wan/make-debian-image.sh   (as root; needs the network for the Debian archive)
set -euo pipefail
OUT=${OUT:-/var/tmp/circular-bench-debian}
MARKER=CIRCULAR-WAN-READY
APPEND="console=ttyS0 root=/dev/vda rw quiet"
mkdir -p "$OUT"

build() {
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v debootstrap >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends debootstrap e2fsprogs >/dev/null
  fi
  # The mirror this machine's apt already uses (one-line or deb822 sources), never a hard-coded host.
  local mirror
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i }' | grep -v security | head -1 || true)
  [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -1 || true)
  [ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }

  local root=$OUT/rootfs
  rm -f "$OUT/reads.json" "$OUT/debian.img.zst"   # derived from the old image by run.sh
  rm -rf "$root"
  echo "debootstrap bookworm minbase (a few minutes)..."
  debootstrap --variant=minbase --include=systemd,systemd-sysv,udev,python3,initramfs-tools,zstd \
    bookworm "$root" "$mirror" >"$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }

  # The initramfs must find a virtio disk with ext4 on it; MODULES=most (the default) has both, name them anyway.
  printf 'virtio_pci\nvirtio_blk\next4\n' >>"$root/etc/initramfs-tools/modules"
  mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"; mount -t sysfs sys "$root/sys"
  trap 'umount "$root/proc" "$root/dev" "$root/sys" 2>/dev/null || true' EXIT
  chroot "$root" apt-get install -y -qq --no-install-recommends linux-image-amd64 >>"$OUT/debootstrap.log" 2>&1 \
    || { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  umount "$root/proc" "$root/dev" "$root/sys"; trap - EXIT

  echo circular-bench >"$root/etc/hostname"
  printf '/dev/vda / ext4 rw,relatime 0 0\n' >"$root/etc/fstab"
  # A fixed machine id: every boot is the same boot (no first-boot setup, nothing written that a next run sees).
  echo 5eed0c1ac0de4b3a8e2f000000000006 >"$root/etc/machine-id"
  cat >"$root/etc/systemd/system/circular-ready.service" <<UNIT
[Unit]
Description=Circular WAN benchmark: print the ready marker and power off
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -c "open('/dev/ttyS0', 'w').write('\\\\n$MARKER\\\\n')"
ExecStartPost=/usr/bin/systemctl poweroff --no-block

[Install]
WantedBy=multi-user.target
UNIT
  ln -sf /etc/systemd/system/circular-ready.service "$root/etc/systemd/system/multi-user.target.wants/circular-ready.service"

  cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$OUT/vmlinuz"
  cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$OUT/initrd.img"
  rm -f "$OUT/debian.img.tmp"
  truncate -s 2G "$OUT/debian.img.tmp"
  # mkfs -d copies the tree in without a loop mount (works in containers).
  mkfs.ext4 -q -F -L circular-bench -d "$root" "$OUT/debian.img.tmp"
  mv "$OUT/debian.img.tmp" "$OUT/debian.img"
  echo "$APPEND" >"$OUT/append"
  echo "$MARKER" >"$OUT/marker"
  rm -rf "$root"
}

[ -s "$OUT/debian.img" ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/append" ] || build
echo "image:  $OUT/debian.img ($(du -h --apparent-size "$OUT/debian.img" | cut -f1), $(du -h "$OUT/debian.img" | cut -f1) allocated)"
echo "kernel: $OUT/vmlinuz  initrd: $OUT/initrd.img  append: $(cat "$OUT/append")  marker: $MARKER"

if [ "${VERIFY:-0}" = 1 ]; then
  W=$(mktemp -d /tmp/circ-debian-verify.XXXX)
  nbdkit --exit-with-parent -r -U "$W/sock" -P "$W/pid" --filter=log file "$OUT/debian.img" logfile="$W/log" &
  for _ in $(seq 50); do [ -S "$W/sock" ] && break; sleep 0.1; done
  python3 - "$MARKER" qemu-system-x86_64 -m 1G -nographic -no-reboot -nodefaults -serial stdio -accel tcg \
    -drive "file=nbd+unix:///?socket=$W/sock,format=raw,if=virtio,cache=writeback,snapshot=on" \
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" -append "$(cat "$OUT/append")" <<'PY'
import subprocess, sys, time
t = time.time()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
ready = None
for line in p.stdout:
    if ready is None and sys.argv[1].encode() in line:
        ready = time.time() - t
p.wait()
print(f"local boot (nbdkit file, unix socket): marker after {ready:.1f} s" if ready else "marker NOT seen")
PY
  kill "$(cat "$W/pid")" 2>/dev/null || true
  python3 - "$W/log" <<'PY'
import re, sys
reads, total, blocks = 0, 0, set()
for line in open(sys.argv[1]):
    m = re.search(r'Read id=\d+ offset=(0x[0-9a-f]+) count=(0x[0-9a-f]+)', line)
    if m and '...' in line:
        off, n = int(m[1], 16), int(m[2], 16)
        reads += 1; total += n
        blocks.update(range(off >> 18, (off + n - 1 >> 18) + 1))
print(f"read {reads} times, {total / 2**20:.1f} MiB, {len(blocks)} distinct 256 KiB blocks")
PY
  rm -rf "$W"
fi
