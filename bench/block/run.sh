#!/usr/bin/env bash
# Issue 4 benchmark: warm-cache reads over NBD (circular nbd vs nbdkit file) and FUSE (vs the raw file).
# Usage: [CIRCULAR=BIN] bench/block/run.sh [SIZE_MIB]   (from the repository root; needs root for the FUSE part;
# without CIRCULAR it builds circular from the working tree first)
set -euo pipefail
SIZE=${1:-1024}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /var/tmp/circ-bench-block.XXXX)
BIN=$W/bin
cleanup() { set +e; [ -n "${CPID:-}" ] && kill "$CPID"; [ -n "${MPID:-}" ] && kill "$MPID"; sleep 2; [ -n "${KPID:-}" ] && kill "$KPID"; rm -rf "$W"; }
trap cleanup EXIT
if [ -n "${CIRCULAR:-}" ]; then C=$CIRCULAR; else bash "$ROOT/scripts/build.sh" "$BIN" >/dev/null; C=$BIN/circular; fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "image: ${SIZE} MiB of random data (incompressible: every block is a stored chunk)"
head -c "$((SIZE << 20))" /dev/urandom > "$W/raw.img"
$C init "$W/arch" >/dev/null
$C push "$W/arch" img "$W/raw.img" >/dev/null

$C nbd "$W/arch" --socket "$W/c.sock" >/dev/null 2>&1 & CPID=$!
nbdkit -U "$W/k.sock" -f file "$W/raw.img" & KPID=$!
for _ in $(seq 50); do [ -S "$W/c.sock" ] && [ -S "$W/k.sock" ] && break; sleep 0.2; done

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
# The median of three runs (the issue's goals are medians; the best of three flattered whichever side had a lucky run).
best() { local x; for _ in 1 2 3; do t "$@"; done | sort -g | sed -n 2p; }
mbs() { echo "scale=0; $SIZE * 1.048576 / $1" | bc -l; }

# Warm both: the first pass fills circular's chunk reads into the page cache, as for nbdkit.
nbdcopy "nbd+unix:///img?socket=$W/c.sock" null: ; nbdcopy "nbd+unix:///?socket=$W/k.sock" null:

c1=$(best nbdcopy "nbd+unix:///img?socket=$W/c.sock" null:)
k1=$(best nbdcopy "nbd+unix:///?socket=$W/k.sock" null:)
c2=$(best qemu-img convert -f raw -O raw "nbd+unix:///img?socket=$W/c.sock" /dev/null)
k2=$(best qemu-img convert -f raw -O raw "nbd+unix:///?socket=$W/k.sock" /dev/null)
N=20000
c3=$(best qemu-img bench -f raw -c $N -d 16 -s 4096 -S 104857601 "nbd+unix:///img?socket=$W/c.sock")
k3=$(best qemu-img bench -f raw -c $N -d 16 -s 4096 -S 104857601 "nbd+unix:///?socket=$W/k.sock")

echo
printf '%-44s %10s %10s %8s\n' "test (median of 3)" circular nbdkit ratio
printf '%-44s %8s/s %8s/s %8.2f\n' "sequential nbdcopy to null: (MB/s)" "$(mbs "$c1")" "$(mbs "$k1")" "$(echo "$k1 / $c1" | bc -l)"
printf '%-44s %8s/s %8s/s %8.2f\n' "sequential qemu-img convert to /dev/null (MB/s)" "$(mbs "$c2")" "$(mbs "$k2")" "$(echo "$k2 / $c2" | bc -l)"
printf '%-44s %10s %10s %8.2f\n' "random 4 KiB reads, qemu-img bench depth 16 (IOPS)" "$(echo "$N / $c3" | bc)" "$(echo "$N / $k3" | bc)" "$(echo "$k3 / $c3" | bc -l)"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$W/mnt"
  $C mount "$W/arch" "$W/mnt" >/dev/null 2>&1 & MPID=$!
  for _ in $(seq 50); do [ -f "$W/mnt/img/1.img" ] && break; sleep 0.2; done
  dd if="$W/mnt/img/1.img" of=/dev/null bs=1M 2>/dev/null
  f=$(best dd if="$W/mnt/img/1.img" of=/dev/null bs=1M)
  r=$(best dd if="$W/raw.img" of=/dev/null bs=1M)
  printf '%-44s %8s/s %8s/s %8.2f\n' "FUSE file vs raw file, dd bs=1M (MB/s)" "$(mbs "$f")" "$(mbs "$r")" "$(echo "$r / $f" | bc -l)"
fi
echo "(ratio = peer time / circular time: above 1 means circular is faster)"
