#!/usr/bin/env bash
# Issue 5 benchmark: time to the guest's ready marker booting the demo image
#   (a) from a local raw file (QEMU reads it directly), (b) from the archive over loopback HTTP with a cold
#   cache, (c) the same with a warm cache. Same kernel, miniroot, guest and QEMU settings (TCG unless KVM works).
# Usage: bench/boot/run.sh [RUNS]   (from the repository root, as root)
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /var/tmp/circ-bench-boot.XXXX)
cleanup() { set +e; [ -n "${SPID:-}" ] && kill "$SPID"; rm -rf "$W"; }
trap cleanup EXIT
bash "$ROOT/scripts/build.sh" "$W/bin" >/dev/null
C=$W/bin/circular
$C demo --dir "$W/demo" --keep -q >/dev/null   # builds images, miniroot and the archive
KERNEL=$(ls /boot/vmlinuz-* | tail -1)
APPEND="console=ttyS0 root=/dev/vda init=/init quiet panic=-1"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
$C serve "$W/demo/archive" --listen 127.0.0.1:$PORT >/dev/null 2>&1 & SPID=$!
sleep 2

# Seconds from start to the first line containing the marker, reading a command's output as it comes.
until_marker() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
t = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
ready = None
for line in p.stdout:
    if ready is None and b"CIRCULAR-READY" in line:
        ready = time.time() - t
p.wait()
print(f"{ready:.2f}" if ready is not None else "nan")
PY
}

local_boot() {
  until_marker qemu-system-x86_64 -m 512M -nographic -no-reboot -nodefaults -serial stdio -accel tcg \
    -drive "file=$W/demo/v2.img,format=raw,if=virtio,cache=writeback,snapshot=on" \
    -kernel "$KERNEL" -initrd "$W/demo/miniroot.img" -append "$APPEND"
}
archive_boot() { until_marker "$C" boot "http://127.0.0.1:$PORT" demo-os@2 --cache "$1" --accel tcg; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); guest: demo image (256 MiB ext4, busybox), TCG"
printf '%-5s %10s %12s %12s\n' run local cold-http warm-http
for i in $(seq "$RUNS"); do
  l=$(local_boot)
  rm -rf "$W/cache"; c=$(archive_boot "$W/cache")
  w=$(archive_boot "$W/cache")
  printf '%-5s %10s %12s %12s\n' "$i" "$l" "$c" "$w"
  echo "$l $c $w" >> "$W/times"
done
# Medians: a busy 2-core machine makes single runs swing by seconds.
python3 - "$W/times" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
l, c, w = (statistics.median(col) for col in zip(*rows))
print(f"median {l:9.2f} {c:12.2f} {w:12.2f}")
print(f"ratio  {1:9.2f} {c / l:12.2f} {w / l:12.2f}   (archive / local; goals: cold <= 1.5, warm <= 1.1)")
PY
