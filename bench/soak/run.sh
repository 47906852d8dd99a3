#!/usr/bin/env bash
# Soak (hardening issue): `serve`, `nbd --writable` and `mount` run side by side for SECONDS (default 1800) under a
# mixed load, and must stay flat (memory, file descriptors) and exact (every read checked, every write read back).
#   CIRCULAR=out/circular bash bench/soak/run.sh [SECONDS]
# Load, all at once, until the time is up:
#   - serve: cold `circular cat` of the whole image through it, one after another (every chunk over HTTP);
#   - nbd --writable (reading through serve, with its own cache): qemu-io writes of a random pattern at a random
#     4 KiB-aligned offset, each read back at once with `read -P`, plus random reads of unwritten areas;
#   - mount (reading through serve, cache off): random 1 MiB ranges of latest.img compared with the source image.
# Every 30 s the RSS and open fds of the three servers are sampled. At the end every written block is read back
# through NBD once more, the servers are stopped (exit 0 expected) and the overlay is committed and read back.
# Prints one line per sample and a summary; exit 1 on any wrong byte, failed command or unclean exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
C=${CIRCULAR:-$repo/out/circular}
DURATION=${1:-1800}
W=${SOAK_DIR:-/var/tmp/circular-soak}
source "$repo/bench/scaleout/lib.sh"
trap stop_all EXIT
rm -rf "$W"; mkdir -p "$W"
MiB=$((1 << 20)); SIZE=$((256 * MiB))

# A 256 MiB image: random data (nothing compresses or dedups away), 64 KiB of zeros every 4 MiB.
python3 - "$W/os.img" "$SIZE" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    for at in range(0, size, 4 << 20):
        block = bytearray(os.urandom(4 << 20)); block[:65536] = bytes(65536); f.write(block)
PY
"$C" init "$W/archive" >/dev/null
"$C" push "$W/archive" os "$W/os.img" >/dev/null

P=$(port)
"$C" serve "$W/archive" --listen "127.0.0.1:$P" >"$W/serve.log" 2>&1 & PIDS+=($!); SERVE=$!
wait_port "$P" || { echo "serve did not start" >&2; cat "$W/serve.log" >&2; exit 1; }
URL=http://127.0.0.1:$P/
SOCK=$W/nbd.sock
"$C" nbd "$URL" --socket "$SOCK" --writable --overlay "$W/overlay" --cache "$W/cache-nbd" >"$W/nbd.log" 2>&1 & PIDS+=($!); NBD=$!
mkdir -p "$W/mnt"
"$C" mount "$URL" "$W/mnt" --cache none >"$W/mount.log" 2>&1 & PIDS+=($!); MOUNT=$!
for _ in $(seq 300); do [ -S "$SOCK" ] && mountpoint -q "$W/mnt" && break; sleep 0.1; done
[ -S "$SOCK" ] && mountpoint -q "$W/mnt" || { echo "nbd or mount did not start" >&2; cat "$W/nbd.log" "$W/mount.log" >&2; exit 1; }
NBDURI="nbd+unix:///os?socket=$SOCK"

END=$(( $(date +%s) + DURATION ))
fail() { echo "FAIL: $*" >&2; touch "$W/failed"; }

serve_load() { local n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    "$C" cat "$URL" os -o "$W/cat.out" --cache none 2>>"$W/cat.err" || { fail "cat through serve"; return; }
    cmp -s "$W/cat.out" "$W/os.img" || { fail "cat through serve read wrong bytes"; return; }
    n=$((n + 1)); echo "$n" >"$W/serve.count"
  done; }

nbd_load() { local n=0 blocks=$((SIZE / 4096)) off pat
  : >"$W/writes"
  while [ "$(date +%s)" -lt "$END" ]; do
    off=$(( (RANDOM * 32768 + RANDOM) % (blocks - 16) * 4096 )); pat=$(( RANDOM % 255 + 1 ))
    # qemu-io exits 0 after a failed pattern check: its output says so.
    qemu-io -f raw -c "write -P $pat $off 65536" -c "read -P $pat $off 65536" -c flush "$NBDURI" >"$W/nbd-load.out" 2>&1 \
      || { fail "nbd write+read at $off"; return; }
    ! grep -q "Pattern verification failed" "$W/nbd-load.out" || { fail "nbd read back wrong bytes at $off"; return; }
    echo "$off $pat" >>"$W/writes"
    n=$((n + 1)); echo "$n" >"$W/nbd.count"
  done; }

mount_load() { local n=0 off
  while [ "$(date +%s)" -lt "$END" ]; do
    off=$(( (RANDOM * 32768 + RANDOM) % (SIZE / MiB - 1) ))
    cmp -s <(dd if="$W/mnt/os/latest.img" bs=1M skip="$off" count=1 2>/dev/null) <(dd if="$W/os.img" bs=1M skip="$off" count=1 2>/dev/null) \
      || { fail "mount read wrong bytes at $off MiB"; return; }
    n=$((n + 1)); echo "$n" >"$W/mount.count"
  done; }

serve_load & L1=$!; nbd_load & L2=$!; mount_load & L3=$!
echo "t(s) serve_rss_MB serve_fds nbd_rss_MB nbd_fds mount_rss_MB mount_fds cats nbd_writes mount_reads"
START=$(date +%s)
sample() { echo "$(( $(date +%s) - START )) $(( $(rss_kb $SERVE) / 1024 )) $(fds $SERVE) $(( $(rss_kb $NBD) / 1024 )) $(fds $NBD)" \
  "$(( $(rss_kb $MOUNT) / 1024 )) $(fds $MOUNT) $(cat "$W/serve.count" 2>/dev/null || echo 0) $(cat "$W/nbd.count" 2>/dev/null || echo 0)" \
  "$(cat "$W/mount.count" 2>/dev/null || echo 0)" | tee -a "$W/samples"; }
sample
while kill -0 $L1 2>/dev/null || kill -0 $L2 2>/dev/null || kill -0 $L3 2>/dev/null; do
  sleep 30; [ -f "$W/failed" ] && break; sample
done
wait $L1 $L2 $L3 || true
[ -f "$W/failed" ] && { echo "soak failed" >&2; exit 1; }

# Every block written reads back as its last write (a later write may cover part of an earlier one: check by 4 KiB).
python3 - "$W/writes" "$W/expect" <<'PY'
import sys
last = {}
for line in open(sys.argv[1]):
    off, pat = map(int, line.split())
    for b in range(off, off + 65536, 4096): last[b] = pat
with open(sys.argv[2], "w") as f:
    for b, pat in sorted(last.items()): f.write(f"{b} {pat}\n")
PY
split -l 2000 "$W/expect" "$W/expect-part."
for part in "$W"/expect-part.*; do
  args=(); while read -r off pat; do args+=(-c "read -P $pat $off 4096"); done <"$part"
  qemu-io -r -f raw "${args[@]}" "$NBDURI" >"$W/final-read.out" 2>&1 || { echo "FAIL: written blocks do not read back" >&2; exit 1; }
  ! grep -q "Pattern verification failed" "$W/final-read.out" || { echo "FAIL: a written block reads back wrong" >&2; exit 1; }
done

for pid in $SERVE $NBD $MOUNT; do kill -TERM "$pid"; done
for pid in $SERVE $NBD $MOUNT; do wait "$pid" || { echo "FAIL: a server exited $? after SIGTERM" >&2; exit 1; }; done
PIDS=()
"$C" commit "$W/archive" os --overlay "$W/overlay" >/dev/null
"$C" cat "$W/archive" os -o "$W/committed.img" >/dev/null
python3 - "$W/os.img" "$W/committed.img" "$W/expect" <<'PY'
import sys
base, got = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
want = bytearray(base)
for line in open(sys.argv[3]):
    off, pat = map(int, line.split()); want[off:off + 4096] = bytes([pat]) * 4096
sys.exit(0 if bytes(want) == got else "FAIL: the committed version is not base + every write")
PY
"$C" verify "$W/archive" | grep -q "all good" || { echo "FAIL: verify" >&2; exit 1; }
echo "summary: $(wc -l <"$W/expect") written 4 KiB blocks read back and committed exactly; servers exited 0 after SIGTERM"
awk 'NR==1 {s0=$2; n0=$4; m0=$6} {if ($2>sp) sp=$2; if ($4>np) np=$4; if ($6>mp) mp=$6; if ($3>sf) sf=$3; if ($5>nf) nf=$5; if ($7>mf) mf=$7; s=$2; n=$4; m=$6; c=$8; w=$9; r=$10}
  END {printf "RSS MB first/peak/last: serve %d/%d/%d, nbd %d/%d/%d, mount %d/%d/%d; peak fds serve %d nbd %d mount %d; %d cats, %d nbd writes, %d mount reads\n",
       s0, sp, s, n0, np, n, m0, mp, m, sf, nf, mf, c, w, r}' "$W/samples"
