#!/usr/bin/env bash
# HTTP read benchmark (issue 3): a 1 GiB ext4 image with ~440 MB of real files, pushed to an archive, then read
# side by side on loopback in one run:
#   (a) circular cat from `circular serve`, cold cache      (b) curl of the raw image from nginx
#   (c) nbdkit curl plugin + nbdcopy from nginx              (d) circular cat again, warm cache
#   (e) circular cat to stdout (sequential stream), cold     (f) curl of serve's virtual /images/os/1.img
# Usage: bench/http/run.sh [WORKDIR]   (WORKDIR default /tmp/circ-bench-http; kept for reruns). Needs root (loop mount).
# Env: CIRC=path/to/circular (a build from scripts/build.sh) to skip the build step; KEEP_IMAGE=1 to reuse WORKDIR/raw.img;
# INIT_ARGS="--format 1" for an archive without stored-chunk digests (clients then hash what they decode);
# PUSH_ARGS="--chunking content --chunk-size 64K" to push content-defined chunks.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/circ-bench-http}
mkdir -p "$W"; chmod 755 "$W"
need() { command -v "$1" >/dev/null || { echo "missing $1 (scripts/install-deps.sh installs it)" >&2; exit 1; }; }
for t in nginx curl nbdkit nbdcopy mkfs.ext4 dotnet; do need "$t"; done

if [[ -z "${CIRC:-}" ]]; then
  ARTIFACTS=$W/art bash scripts/build.sh "$W/cli" >/dev/null
  CIRC=$W/cli/circular
fi
circ() { "$CIRC" "$@"; }

if [[ ! -f "$W/raw.img" || -z "${KEEP_IMAGE:-}" ]]; then
  rm -rf "$W/tree" "$W/raw.img"; mkdir -p "$W/tree"
  cp -a /usr/share/doc /usr/share/locale /usr/lib/python3.11 /usr/lib/python3 "$W/tree/" 2>/dev/null || true
  truncate -s 1G "$W/raw.img"
  mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/tree" "$W/raw.img"
  rm -rf "$W/tree"
fi
SIZE=$(stat -c %s "$W/raw.img")
DATA=$(( $(stat -c %b "$W/raw.img") * 512 ))

rm -f "$W/check.img"
if [[ ! -d "$W/archive" || -z "${KEEP_IMAGE:-}" ]]; then
  rm -rf "$W/archive" "$W/www"; mkdir -p "$W/www"; chmod 755 "$W/www"
  circ init "$W/archive" ${INIT_ARGS:-} >/dev/null
  circ push "$W/archive" os "$W/raw.img" ${PUSH_ARGS:-} | sed 's/^/  /'
  cp --sparse=always "$W/raw.img" "$W/www/raw.img"; chmod 644 "$W/www/raw.img"
fi

CFS=$W/cachefs

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
NP=$(port); SP=$(port); SOCK=$W/nbd.sock
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<CONF
user root; worker_processes 2; daemon off; pid $W/nginx/nginx.pid; error_log $W/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  client_body_temp_path $W/nginx/b; proxy_temp_path $W/nginx/p; fastcgi_temp_path $W/nginx/f; uwsgi_temp_path $W/nginx/u; scgi_temp_path $W/nginx/s;
  server { listen 127.0.0.1:$NP; root $W/www; } }
CONF
PIDS=()
# Servers are started directly (not through a shell function) so $! is the server itself; TERM, then KILL.
cleanup() { mountpoint -q "$CFS" && umount "$CFS"; rm -f "$W/cachefs.img"; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done; (( alive )) || break; sleep 0.1; done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -f "$SOCK"; }
trap cleanup EXIT
# The client's caches live on a fresh journaled ext4 of their own (a loop-mounted image), the usual file system for a
# home directory. This machine's root file system has no journal, and there ext4 looks up every free inode it
# considers for a new file to skip those deleted recently (60 s, 6 min once their inode-table block is dirty again,
# which creating files makes it): after any large deletion on it (earlier runs' caches) a cold read spent up to twice
# its CPU in recently_deleted and find_get_block_common (perf), even two minutes later.
mountpoint -q "$CFS" && umount "$CFS"
rm -f "$W/cachefs.img"; truncate -s 2G "$W/cachefs.img"; mkfs.ext4 -q -F "$W/cachefs.img"
mkdir -p "$CFS"; mount -o loop "$W/cachefs.img" "$CFS"
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" & PIDS+=($!)
"$CIRC" serve "$W/archive" --listen 127.0.0.1:$SP >"$W/serve.log" 2>&1 & PIDS+=($!)
wait_port "$NP" && wait_port "$SP" || { echo "servers did not start" >&2; exit 1; }

# Wall and CPU seconds (user+sys) of one client command; the servers' page caches are warm (read once before).
run() { /usr/bin/time -f "%e %U %S" -o "$W/time.out" "$@" >/dev/null 2>"$W/run.err" || { echo "failed: $*" >&2; cat "$W/run.err" >&2; exit 1; }
        read -r wall u s <"$W/time.out"; echo "$wall $(echo "$u + $s" | bc -l)"; }
curl -s -o /dev/null "http://127.0.0.1:$NP/raw.img"; cat "$W"/archive/chunks/*/* >/dev/null

sync
R_CURL=$(run curl -sf -o /dev/null "http://127.0.0.1:$NP/raw.img")
R_COLD=$(run "$CIRC" cat "http://127.0.0.1:$SP" os -o /dev/null --cache "$CFS/cache")
R_WARM=$(run "$CIRC" cat "http://127.0.0.1:$SP" os -o /dev/null --cache "$CFS/cache")
R_STREAM=$(run sh -c "'$CIRC' cat http://127.0.0.1:$SP os --cache '$CFS/cache2' >/dev/null")
R_WSTREAM=$(run sh -c "'$CIRC' cat http://127.0.0.1:$SP os --cache '$CFS/cache2' >/dev/null")
R_VIRT=$(run curl -sf -o /dev/null "http://127.0.0.1:$SP/images/os/1.img")
rm -f "$SOCK"
nbdkit -f -U "$SOCK" curl url="http://127.0.0.1:$NP/raw.img" & PIDS+=($!)
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
R_NBD=$(run nbdcopy "nbd+unix:///?socket=$SOCK" null:)
# Byte-exactness of what the benchmark read: the same cat to a file, compared with the raw image.
"$CIRC" cat "http://127.0.0.1:$SP" os -o "$W/check.img" --cache "$CFS/cache" >/dev/null 2>&1
cmp "$W/check.img" "$W/raw.img" || { echo "circular cat output differs from the image" >&2; exit 1; }
rm -f "$W/check.img"

T_CURL=${R_CURL%% *}
row() { local wall=${2%% *} cpu=${2##* }
  printf '| %s | %.2f | %.0f | %.2f | %.2f |\n' "$1" "$wall" "$(echo "$SIZE / $wall / 1000000" | bc -l)" "$(echo "$T_CURL / $wall" | bc -l)" "$cpu"; }
echo
echo "image: $SIZE bytes, $DATA allocated; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | MB/s of image | x curl | client CPU s |"
echo "|---|---:|---:|---:|---:|"
row "(b) curl raw.img from nginx" "$R_CURL"
row "(c) nbdkit curl plugin + nbdcopy, from nginx" "$R_NBD"
row "(a) circular cat -o /dev/null, cold cache" "$R_COLD"
row "(d) circular cat -o /dev/null, warm cache" "$R_WARM"
row "(e) circular cat > /dev/null (in order), cold" "$R_STREAM"
row "(e') circular cat > /dev/null (in order), warm" "$R_WSTREAM"
row "(f) curl of serve's /images/os/1.img" "$R_VIRT"
