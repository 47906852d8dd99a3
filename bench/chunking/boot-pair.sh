#!/usr/bin/env bash
# Issue 20, the boot side of pair (1): the WAN benchmark's Debian image (bench/wan/make-debian-image.sh) rebuilt from
# the same tree with one package added (curl), both pushed as versions 1 and 2 of one image with CHUNKING. Through
# bench/WanProxy (RTT, BANDWIDTH) from nginx, each with a profile and packs as a publisher would make them:
#   (g1) (g2)  local boots of the two images (QEMU reads the raw files): the reference times
#   (c1)       `circular boot URL debian@1`, cold cache
#   (c2)       `circular boot URL debian@2` with the cache (c1) left: what a client that booted version 1 downloads
#   (c2cold)   the same with a cold cache
# and, from version 2's profile, the changed data its boot reads (bench/chunking/Measure --reads).
#   bench/chunking/boot-pair.sh [WORKDIR]    (as root; the first run builds the Debian image: needs the Debian archive)
# Env: CIRCULAR=BIN (else scripts/build.sh), CHUNKING="--chunking content --chunk-size 32K", RTT=50,
#      BANDWIDTH=100mbit, REPEAT=1 (runs of each, medians printed), MEMORY=1G, TIMEOUT=900, CONFIGS="fixed:256K content:32K content:64K" (for the read figures)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
W=${1:-/var/tmp/circular-bench-boot-pair}
CHUNKING=${CHUNKING:---chunking content --chunk-size 32K}
REPEAT=${REPEAT:-1} RTT=${RTT:-50} BANDWIDTH=${BANDWIDTH:-100mbit} MEMORY=${MEMORY:-1G} TIMEOUT=${TIMEOUT:-900}
CONFIGS=${CONFIGS:-"fixed:256K content:32K content:64K"}
mkdir -p "$W"
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  umount "$W/mnt" "$W/b.tree.tmp/proc" "$W/b.tree.tmp/dev" 2>/dev/null
}
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" >&2; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

IMGDIR=${OUT:-/var/tmp/circular-bench-debian}
OUT=$IMGDIR bash "$ROOT/bench/wan/make-debian-image.sh" >&2
KERNEL=$IMGDIR/vmlinuz INITRD=$IMGDIR/initrd.img APPEND=$(cat "$IMGDIR/append") MARKER=$(cat "$IMGDIR/marker")
if [ -z "${CIRCULAR:-}" ]; then bash "$ROOT/scripts/build.sh" "$W/bin" >/dev/null; CIRCULAR=$W/bin/circular; fi
C=$CIRCULAR

# --- the pair: the image's tree rebuilt as it is (a) and with curl installed (b) --------------------------------
if [ ! -f "$W/a.img" ] || [ ! -f "$W/b.img" ]; then
  log "rebuilding the image's tree twice (as is, and with curl)"
  rm -rf "$W/a.tree" "$W/b.tree.tmp"; mkdir -p "$W/mnt"
  mount -o loop,ro "$IMGDIR/debian.img" "$W/mnt"; cp -a "$W/mnt" "$W/a.tree"; umount "$W/mnt"
  cp -a "$W/a.tree" "$W/b.tree.tmp"
  mount -t proc proc "$W/b.tree.tmp/proc"; mount --bind /dev "$W/b.tree.tmp/dev"
  chroot "$W/b.tree.tmp" apt-get install -y -qq --no-install-recommends curl >"$W/apt.log" 2>&1 || { tail "$W/apt.log" >&2; exit 1; }
  chroot "$W/b.tree.tmp" apt-get clean
  umount "$W/b.tree.tmp/proc" "$W/b.tree.tmp/dev"
  for t in a b; do
    src=$W/a.tree; [ $t = b ] && src=$W/b.tree.tmp
    rm -f "$W/$t.img"; truncate -s 2G "$W/$t.img"; mkfs.ext4 -q -F -L circular-bench -d "$src" "$W/$t.img"
  done
  rm -rf "$W/a.tree" "$W/b.tree.tmp"
fi

# --- the archive, with a profile and packs per version ------------------------------------------------------------
BOOT_ARGS=(--kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --ready-marker "$MARKER" --accel tcg --memory "$MEMORY")
QEMU=(qemu-system-x86_64 -m "$MEMORY" -nographic -no-reboot -nodefaults -serial stdio -accel tcg
      -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND")
DRIVE_OPTS=format=raw,if=virtio,cache=writeback,snapshot=on
A=$W/www/archive
rm -rf "$W/www"; mkdir -p "$W/www"
log "push (${CHUNKING})"
"$C" init "$A" >/dev/null
"$C" push "$A" debian "$W/a.img" $CHUNKING | sed 's/^/  v1: /' >&2
"$C" push "$A" debian "$W/b.img" $CHUNKING | sed 's/^/  v2: /' >&2
for v in 1 2; do
  log "recording version $v's boot profile (local archive boot), optimize"
  rm -rf "$W/cache-rec"
  python3 "$ROOT/bench/wan/until-marker.py" --wait-exit --timeout "$TIMEOUT" --log "$W/record$v.console" "$MARKER" \
    "$C" boot "$A" "debian@$v" --record-profile "$W/profile$v.json" --cache "$W/cache-rec" "${BOOT_ARGS[@]}" >/dev/null \
    || { echo "the profile-recording boot of version $v did not reach the marker ($W/record$v.console)" >&2; exit 1; }
  "$C" profile push "$A" "debian@$v" "$W/profile$v.json" >&2
  "$C" optimize "$A" "debian@$v" >&2
done

# --- the WAN -------------------------------------------------------------------------------------------------------
log "building WanProxy"
dotnet publish "$ROOT/bench/WanProxy" -c Release -o "$W/proxy" --nologo -v quiet >"$W/build-proxy.log" 2>&1 \
  || { cat "$W/build-proxy.log" >&2; exit 1; }
NPORT=$(free_port) PPORT=$(free_port)
cat >"$W/nginx.conf" <<NGINX
daemon on;
user root;
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  log_format kinds '\$uri \$body_bytes_sent';
  access_log $W/access.log kinds;
  sendfile on; tcp_nopush on; keepalive_requests 100000; keepalive_timeout 300s;
  default_type application/octet-stream;
  client_body_temp_path $W/nginx-tmp; proxy_temp_path $W/nginx-tmp; fastcgi_temp_path $W/nginx-tmp;
  uwsgi_temp_path $W/nginx-tmp; scgi_temp_path $W/nginx-tmp;
  server { listen 127.0.0.1:$NPORT; root $W/www; }
}
NGINX
nginx -c "$W/nginx.conf" -e "$W/nginx-error.log"
URL=http://127.0.0.1:$PPORT/archive

# run NAME COMMAND...: a fresh proxy, the command timed to the marker, then what came down.
run() {
  local name=$1; shift
  local stats=$W/stats-$name.json
  "$W/proxy/WanProxy" --listen "127.0.0.1:$PPORT" --target "127.0.0.1:$NPORT" --rtt "${RTT}ms" --bandwidth "$BANDWIDTH" \
    --stats "$stats" 2>>"$W/proxy.log" & local proxy=$!
  PIDS+=("$proxy")
  for _ in $(seq 100); do [ -s "$stats" ] && break; sleep 0.05; done
  local load t; load=$(cut -d' ' -f1 /proc/loadavg)
  t=$(python3 "$ROOT/bench/wan/until-marker.py" --timeout "$TIMEOUT" --log "$W/console-$name.log" "$MARKER" "$@" || true)
  kill -TERM "$proxy"; wait "$proxy" 2>/dev/null || true
  local down; down=$(python3 -c 'import json,sys;print("%.2f" % (json.load(open(sys.argv[1]))["serverToClientBytes"]/2**20))' "$stats")
  # What came down, by kind of object (nginx's access log of this run).
  python3 - "$W/access.log" "$name" >>"$W/kinds" <<'PY'
import collections, re, sys
by = collections.Counter(); n = collections.Counter()
for line in open(sys.argv[1]):
    uri, size = line.split()
    kind = re.sub(r"^/archive/", "", uri)
    kind = "chunks" if kind.startswith("chunks/") else "packs" if kind.startswith("packs/") else re.sub(r"^images/[^/]+/", "", kind).split("/")[0]
    by[kind] += int(size); n[kind] += 1
print("(%s) " % sys.argv[2] + ", ".join("%s %d: %.3f MiB" % (k, n[k], by[k] / 2**20) for k in sorted(by)))
PY
  : >"$W/access.log"
  printf '| %s | %s | %s | %s |\n' "$name" "$t" "$down" "$load" >>"$W/results"
  log "($name) ${t} s, ${down} MiB down (load $load)"
}

: >"$W/results"; : >"$W/kinds"; : >"$W/access.log"
for r in $(seq "$REPEAT"); do
  run g1 "${QEMU[@]}" -drive "file=$W/a.img,$DRIVE_OPTS"
  run g2 "${QEMU[@]}" -drive "file=$W/b.img,$DRIVE_OPTS"
  rm -rf "$W/cache"; run c1 "$C" boot "$URL" debian@1 --cache "$W/cache" "${BOOT_ARGS[@]}"
  run c2 "$C" boot "$URL" debian@2 --cache "$W/cache" "${BOOT_ARGS[@]}"
  rm -rf "$W/cache2"; run c2cold "$C" boot "$URL" debian@2 --cache "$W/cache2" "${BOOT_ARGS[@]}"
done

echo
echo "machine: $(nproc) cores; QEMU TCG, -m $MEMORY; link: WanProxy ${RTT} ms RTT, $BANDWIDTH; server: nginx; push $CHUNKING"
echo "archive: $(du -sm "$A" | cut -f1) MiB; $REPEAT run(s) each"
echo
echo "| run | marker s | MiB down | load |"
echo "|---|---:|---:|---:|"
cat "$W/results"
echo
python3 - "$W/results" <<'PY'
import collections, statistics, sys
t = collections.defaultdict(list); d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, secs, down = [c.strip() for c in line.strip().strip("|").split("|")][:3]
    try: t[name].append(float(secs))
    except ValueError: pass
    d[name].append(float(down))
print("medians: " + "; ".join("%s %.2f s, %.2f MiB" % (n, statistics.median(t[n]), statistics.median(d[n])) for n in t))
if t.get("g1") and t.get("c1"): print("c1 - g1: %+.2f s; c2cold - g2: %+.2f s; c2 - g2: %+.2f s" % (
    statistics.median(t["c1"]) - statistics.median(t["g1"]), statistics.median(t["c2cold"]) - statistics.median(t["g2"]),
    statistics.median(t["c2"]) - statistics.median(t["g2"])))
PY
echo
echo "what came down, by kind (requests: MiB):"
cat "$W/kinds"
echo
dotnet build "$here/Measure" -c Release -o "$W/measure" --nologo -v quiet >/dev/null
dotnet "$W/measure/chunking-measure.dll" "$W/a.img" "$W/b.img" --reads "$W/profile2.json" $CONFIGS
