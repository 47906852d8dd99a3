#!/usr/bin/env bash
# Soak (hardening issue): `serve`, `nbd --writable` and `mount --writable` run side by side for SECONDS (default
# 1800) under a mixed load, and must stay flat (memory, threads, file descriptors) and exact.
#   CIRCULAR=out/circular bash bench/soak/run.sh [SECONDS]
# Load, all at once, until the time is up:
#   - serve: `circular cat` of the whole image through it, one after another, every third one killed after a second
#     (a client that goes away mid-transfer), and a new version of another image pushed to the served archive
#     every minute;
#   - nbd --writable (reading through serve, with its own cache): qemu-io writes of a random pattern at a random
#     offset, each read back at once with `read -P`;
#   - mount --writable (reading through serve): the ext4 image loop-mounted from the FUSE file, files written,
#     checked and deleted in it (sha256 of every file kept, all checked each round).
# Every 30 s the RSS, threads and open fds of the three servers are sampled. At the end: every block written through
# NBD reads back, the servers stop on SIGTERM with exit 0, both overlays are committed, the NBD one reads back as
# base + every write and the mount one passes `e2fsck -fn`. Exit 1 on any wrong byte, failed command or unclean exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
C=${CIRCULAR:-$repo/out/circular}
DURATION=${1:-1800}
W=${SOAK_DIR:-/var/tmp/circular-soak}
source "$repo/bench/scaleout/lib.sh"
trap stop_all EXIT
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rm -rf "$W"; mkdir -p "$W"
MiB=$((1 << 20)); SIZE=$((256 * MiB))

# A 256 MiB ext4 image holding 96 MiB of random files (nothing compresses or dedups away).
mkdir -p "$W/tree"
for i in $(seq 48); do head -c $((2 * MiB)) /dev/urandom >"$W/tree/f$i"; done
truncate -s "$SIZE" "$W/os.img"; mkfs.ext4 -q -F -d "$W/tree" "$W/os.img"; rm -rf "$W/tree"
"$C" init "$W/archive" >/dev/null
"$C" push "$W/archive" os "$W/os.img" >/dev/null
head -c $((4 * MiB)) /dev/urandom >"$W/other.img"
"$C" push "$W/archive" other "$W/other.img" >/dev/null

P=$(port)
"$C" serve "$W/archive" --listen "127.0.0.1:$P" >"$W/serve.log" 2>&1 & PIDS+=($!); SERVE=$!
wait_port "$P" || { echo "serve did not start" >&2; cat "$W/serve.log" >&2; exit 1; }
URL=http://127.0.0.1:$P/
SOCK=$W/nbd.sock
"$C" nbd "$URL" --socket "$SOCK" --writable --overlay "$W/overlay" --cache "$W/cache-nbd" >"$W/nbd.log" 2>&1 & PIDS+=($!); NBD=$!
mkdir -p "$W/mnt"
"$C" mount "$URL" "$W/mnt" --writable --overlay "$W/mount-overlay" --cache "$W/cache-mount" >"$W/mount.log" 2>&1 & PIDS+=($!); MOUNT=$!
for _ in $(seq 300); do [ -S "$SOCK" ] && mountpoint -q "$W/mnt" && break; sleep 0.1; done
[ -S "$SOCK" ] && mountpoint -q "$W/mnt" || { echo "nbd or mount did not start" >&2; cat "$W/nbd.log" "$W/mount.log" >&2; exit 1; }
NBDURI="nbd+unix:///os?socket=$SOCK"
mkdir -p "$W/fs"; mount -o loop "$W/mnt/os/latest.img" "$W/fs"
cleanup() { umount "$W/fs" 2>/dev/null || true; stop_all; }
trap cleanup EXIT

END=$(( $(date +%s) + DURATION ))
fail() { echo "FAIL: $*" >&2; touch "$W/failed"; }

serve_load() { local n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    n=$((n + 1)); echo "$n" >"$W/serve.count"
    if (( n % 3 == 0 )); then timeout -s KILL 1 "$C" cat "$URL" os -o /dev/null --cache none 2>/dev/null || true; continue; fi
    "$C" cat "$URL" os -o "$W/cat.out" --cache none 2>>"$W/cat.err" || { fail "cat through serve"; return; }
    cmp -s "$W/cat.out" "$W/os.img" || { fail "cat through serve read wrong bytes"; return; }
  done; }

push_load() { local n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    sleep 60; [ "$(date +%s)" -lt "$END" ] || return 0
    dd if=/dev/urandom of="$W/other.img" bs=64K count=4 seek=$((RANDOM % 60)) conv=notrunc status=none
    "$C" push "$W/archive" other "$W/other.img" >/dev/null 2>>"$W/push.err" || { fail "push while serving"; return; }
    n=$((n + 1)); echo "$n" >"$W/push.count"
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

mount_load() { local n=0 f
  mkdir -p "$W/fs/churn"; : >"$W/sums"
  while [ "$(date +%s)" -lt "$END" ]; do
    n=$((n + 1)); f="$W/fs/churn/f$((n % 40))"
    head -c $(( (RANDOM % 512 + 1) * 1024 )) /dev/urandom >"$f"
    (cd "$W/fs/churn" && sha256sum f* >"$W/sums")
    sync -f "$W/fs"
    (cd "$W/fs/churn" && sha256sum --quiet -c "$W/sums") || { fail "mount: files read back wrong"; return; }
    # The original files too: reads that come from the archive through serve.
    cmp -s "$W/fs/f$((n % 48 + 1))" <(debugfs -R "cat /f$((n % 48 + 1))" "$W/os.img" 2>/dev/null) || { fail "mount: f$((n % 48 + 1)) reads wrong"; return; }
    echo "$n" >"$W/mount.count"
  done; }

serve_load & L1=$!; nbd_load & L2=$!; mount_load & L3=$!; push_load & L4=$!
echo "t(s) serve_rss_MB serve_thr serve_fds nbd_rss_MB nbd_thr nbd_fds mount_rss_MB mount_thr mount_fds cats nbd_writes mount_rounds pushes"
START=$(date +%s)
count() { cat "$W/$1.count" 2>/dev/null || echo 0; }
sample() { echo "$(( $(date +%s) - START ))" \
  "$(( $(rss_kb $SERVE) / 1024 )) $(threads $SERVE) $(fds $SERVE)" \
  "$(( $(rss_kb $NBD) / 1024 )) $(threads $NBD) $(fds $NBD)" \
  "$(( $(rss_kb $MOUNT) / 1024 )) $(threads $MOUNT) $(fds $MOUNT)" \
  "$(count serve) $(count nbd) $(count mount) $(count push)" | tee -a "$W/samples"; }
sample
while kill -0 $L1 2>/dev/null || kill -0 $L2 2>/dev/null || kill -0 $L3 2>/dev/null || kill -0 $L4 2>/dev/null; do
  sleep 30; [ -f "$W/failed" ] && break; sample
done
wait $L1 $L2 $L3 $L4 || true
[ -f "$W/failed" ] && { echo "soak failed" >&2; exit 1; }
umount "$W/fs"

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
sys.exit(0 if bytes(want) == got else "FAIL: the committed NBD overlay is not base + every write")
PY
"$C" commit "$W/archive" os --overlay "$W/mount-overlay" >/dev/null
"$C" cat "$W/archive" os -o "$W/committed-fs.img" >/dev/null
e2fsck -fn "$W/committed-fs.img" >"$W/e2fsck.log" 2>&1 || { echo "FAIL: e2fsck of the committed mount overlay" >&2; cat "$W/e2fsck.log" >&2; exit 1; }
"$C" verify "$W/archive" | grep -q "all good" || { echo "FAIL: verify" >&2; exit 1; }
echo "summary: $(wc -l <"$W/expect") written 4 KiB blocks read back and committed exactly; the mount's overlay committed and e2fsck -fn clean; servers exited 0 after SIGTERM"
awk 'NR==1 {for (i = 2; i <= 10; i++) first[i] = $i} {for (i = 2; i <= 10; i++) {if ($i > peak[i]) peak[i] = $i; last[i] = $i}; c=$11; w=$12; r=$13; p=$14}
  END {printf "serve RSS MB %d/%d/%d thr %d/%d/%d fds %d/%d/%d\n", first[2], peak[2], last[2], first[3], peak[3], last[3], first[4], peak[4], last[4];
       printf "nbd   RSS MB %d/%d/%d thr %d/%d/%d fds %d/%d/%d\n", first[5], peak[5], last[5], first[6], peak[6], last[6], first[7], peak[7], last[7];
       printf "mount RSS MB %d/%d/%d thr %d/%d/%d fds %d/%d/%d   (first/peak/last)\n", first[8], peak[8], last[8], first[9], peak[9], last[9], first[10], peak[10], last[10];
       printf "%d cats (a third killed after 1 s), %d nbd writes, %d mount rounds, %d pushes\n", c, w, r, p}' "$W/samples"
