#!/usr/bin/env bash
# Where a seed disk's first boot spends its time against (g), from each guest's own systemd journal.
# Alternates N rounds of: (g) booted from a fresh writable copy of the bench image (so its journal is kept), then a
# first boot of a fresh copy of SEED through W's nginx and WanProxy (a work directory kept by
# 'KEEP=1 bench/vmseed/run.sh'). Per boot it prints the kernel's start in wall time (from the two clocks of the
# power-down line) and, in kernel time from the journal, when /init, systemd and the marker unit started.
# Usage: bench/vmseed/phases.sh N W [SEED]   (as root; SEED defaults to W/seed.qcow2; results appended to W/phases)
set -euo pipefail
N=$1 W=$2 SEED=${3:-$2/seed.qcow2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGDIR=${OUT:-/var/tmp/circular-bench-debian}
MARKER=$(cat "$IMGDIR/marker")
T=$(mktemp -d /var/tmp/circ-phases.XXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$T"' EXIT
[ -f "$W/nginx.pid" ] && kill -0 "$(cat "$W/nginx.pid")" 2>/dev/null || nginx -c "$W/nginx.conf" -e "$W/nginx-error.log"
NPORT=$(grep -o 'listen 127.0.0.1:[0-9]*' "$W/nginx.conf" | cut -d: -f2)
QEMU=(nice -n -10 qemu-system-x86_64 -m 1G -nographic -no-reboot -nodefaults -serial stdio -accel tcg)

boot() { # name, qemu arguments...: seconds to the marker; the guest runs on to its power-off
  local name=$1; shift
  python3 "$ROOT/bench/wan/until-marker.py" --wait-exit --timeout 300 --log "$T/$name.log" --stamps "$T/$name.stamps" \
    "$MARKER" "${QEMU[@]}" "$@"
}

phases() { # journal directory, stamps, marker seconds
  python3 - "$@" <<'PY'
import re, subprocess, sys
jdir, stamps, marker = sys.argv[1:]
log = subprocess.run(["journalctl", "-D", jdir, "-b", "0", "-o", "short-monotonic", "--no-pager"],
                     capture_output=True, text=True, check=True).stdout
def at(pattern):
    m = re.search(r"^\[ *([0-9.]+)\].*" + pattern, log, re.M)
    return float(m.group(1)) if m else float("nan")
wall = float("nan")
for line in open(stamps, errors="replace"):
    m = re.match(r" *([0-9.]+) .*\[ *([0-9.]+)\] reboot: Power down", line)
    if m: wall = float(m.group(1)) - float(m.group(2))
print(f"kernel_wall={wall:.2f} init={at('Run /init'):.2f} systemd={at('systemd [0-9]+.* running'):.2f} "
      f"ready={at('Starting circular-ready'):.2f} marker={marker}")
PY
}

cache_partition() { # raw disk image -> first sector and length in sectors of GPT partition 3 (the cache)
  python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb"); f.seek(512); h = f.read(92)
lba, n, size = struct.unpack_from("<Q", h, 72)[0], *struct.unpack_from("<II", h, 80)
f.seek(lba * 512 + 2 * size); e = f.read(size)
first, last = struct.unpack_from("<QQ", e, 32)
print(first, last - first + 1)
PY
}

for i in $(seq "$N"); do
  cp --sparse=always "$IMGDIR/debian.img" "$T/g.img"
  t=$(boot "g-$i" -kernel "$IMGDIR/vmlinuz" -initrd "$IMGDIR/initrd.img" -append "$(cat "$IMGDIR/append")" \
        -drive "file=$T/g.img,format=raw,if=virtio,cache=writeback")
  rm -rf "$T/gj"; mkdir "$T/gj"
  debugfs -R "rdump /var/log/journal $T/gj" "$T/g.img" >/dev/null 2>&1
  echo "$i g $(phases "$(ls -d "$T"/gj/journal/*)" "$T/g-$i.stamps" "$t")" | tee -a "$W/phases"

  cp --sparse=always "$SEED" "$T/s.qcow2"
  PPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  nice -n -10 "$W/proxy/WanProxy" --listen "127.0.0.1:$PPORT" --target "127.0.0.1:$NPORT" --rtt 50ms \
    --bandwidth 100mbit --stats "$T/stats.json" 2>>"$T/proxy.log" & PIDS+=($!)
  for _ in $(seq 100); do [ -s "$T/stats.json" ] && break; sleep 0.05; done
  t=$(boot "s-$i" -drive "file=$T/s.qcow2,if=virtio,format=qcow2" \
        -netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:python3 $ROOT/bench/lib/relay.py 127.0.0.1 $PPORT" \
        -device "virtio-net-pci,netdev=n0,romfile=")
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  qemu-img convert -O raw "$T/s.qcow2" "$T/s.raw"
  read -r first count < <(cache_partition "$T/s.raw")
  dd if="$T/s.raw" of="$T/cache.img" bs=512 skip="$first" count="$count" conv=sparse status=none
  rm -rf "$T/sj"; mkdir "$T/sj"
  debugfs -R "rdump /layers/debian@1/upper/var/log/journal $T/sj" "$T/cache.img" >/dev/null 2>&1
  echo "$i s $(phases "$(ls -d "$T"/sj/journal/*)" "$T/s-$i.stamps" "$t")" | tee -a "$W/phases"
  rm -f "$T/s.raw" "$T/cache.img"
done
