#!/usr/bin/env bash
# Issue 20's two Debian pairs, against casync in the same run:
#   (1) a Debian root image rebuilt from the same tree with one package added (curl, with its dependencies);
#   (2) two Debian images with different package sets, each debootstrapped on its own.
# For each pair: what the second image adds to a store holding the first, per chunking (bench/chunking/Measure: chunk
# files as `push` writes them, zstd level 3) and for casync (its defaults); then the time of `circular push` of the
# second image (content chunks, CHUNK average) against `casync make` of it.
#   bench/chunking/pairs.sh [WORKDIR]     (as root; needs the Debian archive for debootstrap and apt)
# Env: CIRCULAR=BIN (else scripts/build.sh), CONFIGS="fixed:256K content:32K ...", CHUNK=64K, PAIRS="1 2".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
W=${1:-/var/tmp/circular-bench-pairs}
CONFIGS=${CONFIGS:-"fixed:256K content:16K content:32K content:64K content:128K"}
CHUNK=${CHUNK:-64K}
PAIRS=${PAIRS:-"1 2"}
mkdir -p "$W"
for t in debootstrap casync mkfs.ext4; do command -v $t >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap casync e2fsprogs >/dev/null; done
if [ -z "${CIRCULAR:-}" ]; then bash "$repo/scripts/build.sh" "$W/bin" >/dev/null; CIRCULAR=$W/bin/circular; fi

# The mirror this machine's apt already uses, never a hard-coded host (as bench/wan/make-debian-image.sh).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
           | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i }' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
           | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -1 || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }

# A root tree: debootstrap minbase with the given packages (cached in $W/NAME.tree).
tree() {
  local name=$1 include=$2
  [ -d "$W/$name.tree" ] && return
  echo "debootstrap $name: minbase + $include"
  debootstrap --variant=minbase --include="$include" bookworm "$W/$name.tree.tmp" "$mirror" >"$W/$name.log" 2>&1 \
    || { tail -20 "$W/$name.log" >&2; exit 1; }
  chroot "$W/$name.tree.tmp" apt-get clean
  mv "$W/$name.tree.tmp" "$W/$name.tree"
}

# Installs packages into a copy of a tree, as a user adding a package to an image build would.
with_packages() {
  local from=$1 to=$2; shift 2
  [ -d "$W/$to.tree" ] && return
  rm -rf "$W/$to.tree.tmp"; cp -a "$W/$from.tree" "$W/$to.tree.tmp"
  local r=$W/$to.tree.tmp
  mount -t proc proc "$r/proc"; mount --bind /dev "$r/dev"
  trap 'umount "$r/proc" "$r/dev" 2>/dev/null || true' EXIT
  chroot "$r" apt-get install -y -qq --no-install-recommends "$@" >>"$W/$to.log" 2>&1 || { tail -20 "$W/$to.log" >&2; exit 1; }
  chroot "$r" apt-get clean
  umount "$r/proc" "$r/dev"; trap - EXIT
  mv "$r" "$W/$to.tree"
}

image() { [ -f "$W/$1.img" ] || { truncate -s 2G "$W/$1.img.tmp"; mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/$1.tree" "$W/$1.img.tmp"; mv "$W/$1.img.tmp" "$W/$1.img"; }; }

base=systemd,systemd-sysv,udev,python3,zstd
tree base "$base"
with_packages base base+curl curl
tree other "systemd,systemd-sysv,udev,openssh-server,curl,less,nano,rsync"
for n in base base+curl other; do image "$n"; done

dotnet build "$here/Measure" -c Release -o "$W/measure" --nologo -v quiet >/dev/null
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc -l; }

for pair in $PAIRS; do
  case $pair in
    1) a=base; b=base+curl; what="rebuilt with one package added (curl)";;
    2) a=base; b=other; what="two package sets, debootstrapped independently";;
  esac
  echo
  echo "== pair ($pair): $what: $a.img -> $b.img; $(du -m "$W/$a.img" | cut -f1) and $(du -m "$W/$b.img" | cut -f1) MiB allocated; load $(cut -d' ' -f1-3 /proc/loadavg)"
  dotnet "$W/measure/chunking-measure.dll" "$W/$a.img" "$W/$b.img" $CONFIGS
  rm -rf "$W/store" "$W/archive"
  casync make --store="$W/store" "$W/a.caibx" "$W/$a.img" >/dev/null
  before=$(du -sb "$W/store" | cut -f1)
  tc=$(secs casync make --store="$W/store" "$W/b.caibx" "$W/$b.img")
  after=$(du -sb "$W/store" | cut -f1)
  "$CIRCULAR" init "$W/archive" >/dev/null
  "$CIRCULAR" push "$W/archive" os "$W/$a.img" --chunking content --chunk-size "$CHUNK" >/dev/null
  pb=$(du -sb "$W/archive" | cut -f1)
  tp=$(secs "$CIRCULAR" push "$W/archive" os "$W/$b.img" --chunking content --chunk-size "$CHUNK")
  pa=$(du -sb "$W/archive" | cut -f1)
  awk -v b="$before" -v a="$after" -v pb="$pb" -v pa="$pa" -v tc="$tc" -v tp="$tp" -v c="$CHUNK" 'BEGIN {
    printf "casync (its defaults): store grew %.1f MiB; circular push --chunking content --chunk-size %s: archive grew %.1f MiB (%.2fx casync)\n", (a - b) / 1048576, c, (pa - pb) / 1048576, (pa - pb) / (a - b)
    printf "time for the second image: casync make %.1f s, circular push %.1f s (%.1fx faster)\n", tc, tp, tc / tp }'
done
