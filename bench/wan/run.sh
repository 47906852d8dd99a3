#!/usr/bin/env bash
# Issue 6 benchmark: booting a real distribution over an emulated WAN, cold caches, one run per configuration.
# Guest: Debian bookworm minbase with systemd and python3 in a 2 GiB ext4 raw image (make-debian-image.sh), the
# Debian kernel and initramfs given to QEMU directly, until circular-ready.service prints CIRCULAR-WAN-READY.
# All network configurations read from one nginx (HTTP/1.1 static files: the archive, the raw image and its .zst)
# behind one WanProxy (RTT/2 each way, one RTT per new connection, BANDWIDTH per direction shared by all
# connections); a fresh proxy per run gives that run's bytes (server->client) and connections.
#   (a) circular boot, on demand (--no-prefetch --no-packs when this circular has them)
#   (b) circular boot with profile prefetch (--no-packs), after --record-profile and 'circular profile push'
#   (c) circular boot with packs, after 'circular optimize'
#   (d) nbdkit curl plugin + cache filter (cache-on-read) on the raw image; QEMU over an NBD unix socket
#   (e) QEMU's curl block driver (qemu-block-extra) on the raw image
#   (f) curl the zstd-compressed image, decompress while downloading, then boot it locally (the time includes both)
#   (g) local raw file (the baseline every "added" figure is measured against)
# Time is from the start of the command (circular, nbdkit, curl, qemu) to the marker on the guest's console; the
# command is then stopped, so bytes are those needed to reach the marker.
# Usage: bench/wan/run.sh [RTT_MS...]   (default 50 150; from the repository, as root)
#   CONFIGS="a d e f g"   run only these (default: all; b and c need the profile/optimize commands)
#   REPEAT=3 REPEAT_CONFIGS="g a b c"   run those configurations 3 times per RTT; the table shows medians
#   BANDWIDTH=100mbit  MEMORY=1G  CIRCULAR=/path/to/prebuilt/circular  ARTIFACTS=DIR (dotnet --artifacts-path)
#   KEEP=1 keeps the work directory (console logs, proxy stats, archive)
#   NICE=-10 runs nginx, the proxy and every measured command at that nice level (same for all configurations),
#   so that other jobs on a shared machine disturb the figures less
set -euo pipefail
RTTS=("$@"); [ ${#RTTS[@]} -gt 0 ] || RTTS=(50 150)
CONFIGS=${CONFIGS:-a b c d e f g}
BANDWIDTH=${BANDWIDTH:-100mbit}
MEMORY=${MEMORY:-1G}
PRIO=(); [ -n "${NICE:-}" ] && PRIO=(nice -n "$NICE")
TIMEOUT=${TIMEOUT:-900}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /var/tmp/circ-bench-wan.XXXX)
ARTIFACTS=${ARTIFACTS:-$W/artifacts}
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
has() { [[ " $CONFIGS " == *" $1 "* ]]; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
log() { echo "[$(date +%T)] $*" >&2; }

# --- guest --------------------------------------------------------------------------------------------------
IMGDIR=${OUT:-/var/tmp/circular-bench-debian}
OUT=$IMGDIR bash "$ROOT/bench/wan/make-debian-image.sh" >&2
IMG=$IMGDIR/debian.img KERNEL=$IMGDIR/vmlinuz INITRD=$IMGDIR/initrd.img
APPEND=$(cat "$IMGDIR/append") MARKER=$(cat "$IMGDIR/marker")
if [ ! -s "$IMGDIR/debian.img.zst" ]; then
  log "compressing the image for (f) (zstd -9, once)"
  zstd -q -9 -T0 -f "$IMG" -o "$IMGDIR/debian.img.zst.tmp" && mv "$IMGDIR/debian.img.zst.tmp" "$IMGDIR/debian.img.zst"
fi

# --- tools --------------------------------------------------------------------------------------------------
if [ -n "${CIRCULAR:-}" ]; then C=$CIRCULAR; else
  log "building circular"
  ARTIFACTS=$ARTIFACTS bash "$ROOT/scripts/build.sh" "$W/bin" >"$W/build.log" 2>&1 || { cat "$W/build.log" >&2; exit 1; }
  C=$W/bin/circular
fi
log "building WanProxy"
dotnet publish "$ROOT/bench/WanProxy" -c Release -o "$W/proxy" --artifacts-path "$ARTIFACTS" --nologo -v quiet \
  >"$W/build-proxy.log" 2>&1 || { cat "$W/build-proxy.log" >&2; exit 1; }
BOOT_HELP=$("$C" boot --help)
ONDEMAND_FLAGS=()
for f in --no-prefetch --no-packs; do grep -q -- "$f" <<<"$BOOT_HELP" && ONDEMAND_FLAGS+=("$f"); done
NOPACKS_FLAGS=(); grep -q -- --no-packs <<<"$BOOT_HELP" && NOPACKS_FLAGS+=(--no-packs)
BOOT_ARGS=(--kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --ready-marker "$MARKER" --accel tcg --memory "$MEMORY")
QEMU=(qemu-system-x86_64 -m "$MEMORY" -nographic -no-reboot -nodefaults -serial stdio -accel tcg
      -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND")
DRIVE_OPTS=format=raw,if=virtio,cache=writeback,snapshot=on

# --- the served directory: archive, raw image, compressed image ----------------------------------------------
mkdir -p "$W/www"
ln "$IMG" "$W/www/debian.img" 2>/dev/null || cp --sparse=always "$IMG" "$W/www/debian.img"
ln "$IMGDIR/debian.img.zst" "$W/www/debian.img.zst" 2>/dev/null || cp "$IMGDIR/debian.img.zst" "$W/www/debian.img.zst"
ARCHIVE=$W/www/archive
log "circular push"
"$C" init "$ARCHIVE" >"$W/push.log" 2>&1 && "$C" push "$ARCHIVE" debian "$IMG" >>"$W/push.log" 2>&1 || { cat "$W/push.log" >&2; exit 1; }
SETUP_B=ok SETUP_C=ok
if has b || has c; then
  if grep -q -- --record-profile <<<"$BOOT_HELP"; then
    log "recording the boot profile (local archive boot)"
    python3 "$ROOT/bench/wan/until-marker.py" --wait-exit --timeout "$TIMEOUT" --log "$W/record.console" "$MARKER" \
      "$C" boot "$ARCHIVE" debian@1 --record-profile "$W/boot.profile" --cache "$W/cache-record" "${BOOT_ARGS[@]}" \
      >/dev/null || SETUP_B="the profile-recording boot did not reach the marker (see $W/record.console)"
    if [ "$SETUP_B" = ok ]; then
      "$C" profile push "$ARCHIVE" debian@1 "$W/boot.profile" >&2 || SETUP_B="profile push failed"
    fi
  else
    SETUP_B="this circular has no --record-profile"
  fi
  SETUP_C=$SETUP_B
  if has c && [ "$SETUP_C" = ok ]; then
    log "circular optimize"
    "$C" optimize "$ARCHIVE" debian@1 >&2 || SETUP_C="optimize failed"
  fi
fi

NPORT=$(free_port)
cat >"$W/nginx.conf" <<NGINX
daemon on;
user root;
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  log_format wan '\$msec \$connection \$request_method \$uri range=\$http_range status=\$status sent=\$bytes_sent';
  access_log $W/access.log wan;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  client_body_temp_path $W/nginx-tmp;
  proxy_temp_path $W/nginx-tmp;
  fastcgi_temp_path $W/nginx-tmp;
  uwsgi_temp_path $W/nginx-tmp;
  scgi_temp_path $W/nginx-tmp;
  server { listen 127.0.0.1:$NPORT; root $W/www; }
}
NGINX
${PRIO[@]+"${PRIO[@]}"} nginx -c "$W/nginx.conf" -e "$W/nginx-error.log"
for _ in $(seq 50); do curl -sfo /dev/null "http://127.0.0.1:$NPORT/debian.img.zst" -r 0-0 && break; sleep 0.1; done
cat "$IMG" "$IMGDIR/debian.img.zst" >/dev/null   # server side warm for every run alike

# --- what the boot reads: the local boot through nbdkit's log filter (once per image, cached) -----------------
if [ ! -s "$IMGDIR/reads.json" ]; then
  log "measuring what the boot reads (local boot through nbdkit's log filter)"
  nbdkit -f --exit-with-parent -U "$W/reads.sock" --filter=log file "$IMG" logfile="$W/reads.log" & PIDS+=($!)
  for _ in $(seq 100); do [ -S "$W/reads.sock" ] && break; sleep 0.1; done
  python3 "$ROOT/bench/wan/until-marker.py" --timeout "$TIMEOUT" --log "$W/reads.console" "$MARKER" \
    "${QEMU[@]}" -drive "file=nbd+unix:///?socket=$W/reads.sock,$DRIVE_OPTS" >"$W/reads.time"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  python3 "$ROOT/bench/wan/boot-reads.py" "$W/reads.log" "$IMG" "$(cat "$W/reads.time")" >"$IMGDIR/reads.json"
fi

# --- runs ----------------------------------------------------------------------------------------------------
# run NAME RTT COMMAND...: a fresh proxy, the command timed to the marker, then the proxy's counters.
run() {
  local name=$1 rtt=$2; shift 2
  local stats=$W/stats-$name-$rtt.json t
  ${PRIO[@]+"${PRIO[@]}"} "$W/proxy/WanProxy" --listen "127.0.0.1:$PPORT" --target "127.0.0.1:$NPORT" --rtt "${rtt}ms" \
    --bandwidth "$BANDWIDTH" --stats "$stats" 2>>"$W/proxy.log" & local proxy=$!
  PIDS+=("$proxy")
  for _ in $(seq 100); do [ -s "$stats" ] && break; sleep 0.05; done
  cat "$IMG" "$IMGDIR/debian.img.zst" >/dev/null   # the server side is warm for every run alike
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  t=$(python3 "$ROOT/bench/wan/until-marker.py" --timeout "$TIMEOUT" --log "$W/console-$name-$rtt.log" "$MARKER" \
        ${PRIO[@]+"${PRIO[@]}"} "$@" || true)
  kill -TERM "$proxy"; wait "$proxy" 2>/dev/null || true
  echo "== $name $rtt" >>"$W/access.log"
  echo "$name $rtt $t $load $(cat "$stats")" >>"$W/results"
  log "($name) rtt ${rtt} ms: ${t} s (load $load), $(python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print("%.1f MiB in %d connections" % (d["serverToClientBytes"]/2**20, d["connections"]))' "$stats")"
}

PPORT=$(free_port)
URL=http://127.0.0.1:$PPORT
: >"$W/results"
for rtt in "${RTTS[@]}"; do
  for rep in $(seq "${REPEAT:-1}"); do
  for cfg in g a b c d e f; do
    has "$cfg" || continue
    # REPEAT=N repeats the configurations in REPEAT_CONFIGS (default: all) N times; report.py takes medians.
    [ "$rep" -gt 1 ] && [[ " ${REPEAT_CONFIGS:-$CONFIGS} " != *" $cfg "* ]] && continue
    case $cfg in
      a) rm -rf "$W/cache"; run a "$rtt" "$C" boot "$URL/archive" debian@1 --cache "$W/cache" "${BOOT_ARGS[@]}" "${ONDEMAND_FLAGS[@]}" ;;
      b) if [ "$SETUP_B" != ok ]; then log "(b) skipped: $SETUP_B"; echo "b $rtt skip" >>"$W/results"; continue; fi
         rm -rf "$W/cache"; run b "$rtt" "$C" boot "$URL/archive" debian@1 --cache "$W/cache" "${BOOT_ARGS[@]}" "${NOPACKS_FLAGS[@]}" ;;
      c) if [ "$SETUP_C" != ok ]; then log "(c) skipped: $SETUP_C"; echo "c $rtt skip" >>"$W/results"; continue; fi
         rm -rf "$W/cache"; run c "$rtt" "$C" boot "$URL/archive" debian@1 --cache "$W/cache" "${BOOT_ARGS[@]}" ;;
      d) rm -rf "$W/nbdkit-cache" "$W/nbdkit.sock"; mkdir -p "$W/nbdkit-cache"
         run d "$rtt" env TMPDIR="$W/nbdkit-cache" bash -c '
           sock=$1; shift; url=$1; shift
           nbdkit -f --exit-with-parent -U "$sock" --filter=cache curl "url=$url" cache-on-read=true & 
           for _ in $(seq 1000); do [ -S "$sock" ] && break; sleep 0.01; done
           exec "$@"' _ "$W/nbdkit.sock" "$URL/debian.img" "${QEMU[@]}" -drive "file=nbd+unix:///?socket=$W/nbdkit.sock,$DRIVE_OPTS" ;;
      e) run e "$rtt" "${QEMU[@]}" -drive "file.driver=http,file.url=$URL/debian.img,$DRIVE_OPTS" ;;
      f) rm -f "$W/f.img"
         run f "$rtt" bash -c 'curl -sf "$1" | zstd -q -d -o "$2" && shift 2 && exec "$@"' _ "$URL/debian.img.zst" "$W/f.img" \
           "${QEMU[@]}" -drive "file=$W/f.img,$DRIVE_OPTS"
         rm -f "$W/f.img" ;;
      g) run g "$rtt" "${QEMU[@]}" -drive "file=$IMG,$DRIVE_OPTS" ;;
    esac
  done
  done
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); QEMU TCG, -m $MEMORY"
echo "guest: Debian bookworm minbase + systemd + python3, 2 GiB ext4 raw, kernel $(file -bL "$KERNEL" | grep -o "version [^ ]*" | cut -d" " -f2) via -kernel/-initrd"
echo "link: WanProxy, $BANDWIDTH per direction, RTT as listed; server: nginx (HTTP/1.1, static files); one run each, cold caches${NICE:+, nice $NICE}"
python3 "$ROOT/bench/wan/report.py" "$W/results" "$IMGDIR/reads.json" "$(stat -c %s "$IMGDIR/debian.img.zst")" "$(du -sb "$ARCHIVE" | cut -f1)"
