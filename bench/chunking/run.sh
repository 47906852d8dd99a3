#!/usr/bin/env bash
# Dedup across rebuilt images (issue 20): fixed blocks vs content-defined chunks vs casync, in one run.
#   bench/chunking/run.sh [WORKDIR]
# Builds two 2 GiB ext4 images with `mkfs.ext4 -d` from the Debian root of the latency benchmark (DEBIAN_IMG, built by
# bench/boot/run.sh): the second from the same tree with one 5 MB file added and one small file changed, so nearly
# every file lands at another place. Prints, per chunking, what the second image adds to a store holding the first;
# and casync's store growth for the same pair.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
W=${1:-/var/tmp/circular-bench-chunking}
DEBIAN_IMG=${DEBIAN_IMG:-/var/tmp/circular-bench-debian/debian.img}
CONFIGS=${CONFIGS:-"fixed:256K content:64K content:128K content:256K"}
[ -f "$DEBIAN_IMG" ] || { echo "no $DEBIAN_IMG: run bench/boot/run.sh first (or set DEBIAN_IMG)" >&2; exit 2; }
command -v casync >/dev/null || apt-get install -y -qq casync >/dev/null

mkdir -p "$W"
mnt=$W/mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" || mount -o loop,ro "$DEBIAN_IMG" "$mnt"
trap 'umount "$mnt" 2>/dev/null || true' EXIT
if [ ! -f "$W/a.img" ] || [ ! -f "$W/b.img" ]; then
  rm -rf "$W/tree"
  cp -a "$mnt" "$W/tree"
  mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/tree" "$W/a.img" 2G
  head -c 5000000 /dev/urandom > "$W/tree/usr/share/added.bin"   # one 5 MB file added (not a multiple of any chunk size)...
  echo "rebuilt $(date +%s)" >> "$W/tree/etc/motd"            # ...and one small file changed
  mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/tree" "$W/b.img" 2G
  rm -rf "$W/tree"
fi
echo "images: $(du -m --apparent-size "$W/a.img" | cut -f1) MiB each, $(du -m "$W/a.img" | cut -f1) MiB allocated"

dotnet build "$here/Measure" -c Release -o "$W/measure" --nologo -v quiet >/dev/null
dotnet "$W/measure/chunking-measure.dll" "$W/a.img" "$W/b.img" $CONFIGS

rm -rf "$W/store"
casync make --store="$W/store" "$W/a.caibx" "$W/a.img" >/dev/null
before=$(du -sb "$W/store" | cut -f1)
casync make --store="$W/store" "$W/b.caibx" "$W/b.img" >/dev/null
after=$(du -sb "$W/store" | cut -f1)
awk -v b="$before" -v a="$after" 'BEGIN { printf "casync (its defaults): store grew %.1f MiB\n", (a - b) / 1048576 }'
