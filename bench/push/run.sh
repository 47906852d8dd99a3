#!/usr/bin/env bash
# Push benchmark (issue 2): casync make vs circular push of the same 1 GiB ext4 image, in one run.
#   bench/push/run.sh [WORKDIR]          (run from anywhere; needs root for mkfs -d ownership, apt-get)
# Environment: CIRCULAR=/path/to/circular uses an existing build instead of publishing one;
#              CONTENT="dir ..." overrides the directories copied into the image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
W=${1:-/tmp/circular-bench-push}
CONTENT=${CONTENT:-"/usr/lib/gcc /usr/share/locale /usr/lib/python3.11"}

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2 for $1" >&2; apt-get install -y -qq "$2" >/dev/null; }; }
need casync casync
need mkfs.ext4 e2fsprogs
[ -x /usr/bin/time ] || { echo "installing time" >&2; apt-get install -y -qq time >/dev/null; }

rm -rf "$W"; mkdir -p "$W"
if [ -z "${CIRCULAR:-}" ]; then
  ARTIFACTS=$W/art bash "$repo/scripts/build.sh" "$W/bin" >/dev/null
  CIRCULAR=$W/bin/circular
fi

echo "== building a 1 GiB ext4 image from: $CONTENT"
mkdir -p "$W/root"
for d in $CONTENT; do tar -C / -cf - "${d#/}" | tar -C "$W/root" -xf -; done
content_mb=$(du -sm --apparent-size "$W/root" | cut -f1)
mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/root" "$W/img" 1G
rm -rf "$W/root"
img_bytes=$(stat -c %s "$W/img")
alloc_mb=$(( $(stat -c %b "$W/img") * 512 / 1048576 ))
cat "$W/img" >/dev/null   # both tools start with the image in the page cache

# run LABEL CMD...: wall seconds and peak RSS (KiB) of CMD from /usr/bin/time -v
run() {
  local label=$1; shift
  /usr/bin/time -v -o "$W/$label.time" "$@" >"$W/$label.out" 2>"$W/$label.err"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/$label.time")
  cpu=$(awk -F': ' '/(User|System) time/ {s+=$2} END {print s}' "$W/$label.time")
  echo "$wall $rss $cpu"
}

echo "== casync make"
read -r casync_s casync_rss casync_cpu < <(run casync casync make --store="$W/castr" "$W/out.caibx" "$W/img")
echo "== circular push (fresh archive)"
"$CIRCULAR" init "$W/arch" >/dev/null
read -r push_s push_rss push_cpu < <(run push "$CIRCULAR" push "$W/arch" os "$W/img")
echo "== circular push (unchanged re-push)"
read -r repush_s repush_rss repush_cpu < <(run repush "$CIRCULAR" push "$W/arch" os "$W/img")
"$CIRCULAR" cat "$W/arch" os@1 -o "$W/check.img" >/dev/null && cmp -s "$W/img" "$W/check.img" || { echo "round trip FAILED" >&2; exit 1; }
rm -f "$W/check.img"

store_mb=$(du -sm "$W/castr" | cut -f1)
arch_mb=$(du -sm "$W/arch" | cut -f1)
mbs() { awk -v b="$img_bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
awk -v cc="$casync_cpu" -v pc="$push_cpu" -v rc="$repush_cpu" -v c="$casync_s" -v p="$push_s" -v r="$repush_s" -v cr="$casync_rss" -v pr="$push_rss" -v rr="$repush_rss" \
    -v cm="$(mbs "$casync_s")" -v pm="$(mbs "$push_s")" -v rm="$(mbs "$repush_s")" -v sm="$store_mb" -v am="$arch_mb" \
    -v content="$content_mb" -v alloc="$alloc_mb" -v cpus="$(nproc)" -v cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\nmachine: %s CPUs, %s; load average at end %s\n", cpus, cpu, load
  printf "image: 1 GiB ext4, %s MB of files, %s MiB allocated\n\n", content, alloc
  printf "| run | wall s | MB/s of image | CPU s (user+sys) | peak RSS MB | stored MB |\n|---|---:|---:|---:|---:|---:|\n"
  printf "| casync make | %.2f | %s | %.2f | %.0f | %s |\n", c, cm, cc, cr / 1024, sm
  printf "| circular push (new archive) | %.2f | %s | %.2f | %.0f | %s |\n", p, pm, pc, pr / 1024, am
  printf "| circular push (unchanged re-push) | %.2f | %s | %.2f | %.0f | 0 |\n", r, rm, rc, rr / 1024
  printf "\npush vs casync: %.1fx faster in wall time, %.1fx less CPU (goal >= 3x); re-push %s MB/s (goal >= 1000); peak RSS %.0f MB (goal < 200)\n", c / p, cc / pc, rm, (pr > rr ? pr : rr) / 1024
}' | tee "$W/summary.md"
echo "(circular's own report:)"; cat "$W/push.out" "$W/repush.out"
