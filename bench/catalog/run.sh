#!/usr/bin/env bash
# Catalog benchmark (issue 15): an archive of IMAGES images x VERSIONS versions (default 20 x 1,000; metadata written
# by Generate/, since the catalog reads nothing else), then in one run:
#   - `circular serve` rendering the catalog live: the front page, an image's first and last page of versions and the
#     JSON list; the first request (cold: refs parsed, 51 manifests read and compared per page) and the median of RUNS
#   - `circular catalog` writing the static catalog (all 400 pages and their JSON), and rewriting it after a tag
#   - nginx serving the static index.html and an image page (the peer: what a plain web server costs for the same bytes)
# `serve` reads every image's refs once when it starts (SETTLE seconds are left for it; SETTLE=0 measures a first
# request racing it). Server time is curl's time from the request sent to the first byte (time_starttransfer - time_pretransfer).
# Usage: bench/catalog/run.sh [WORKDIR]  (default /var/tmp/circular-bench-catalog; the archive is kept for reruns)
# Env: CIRC=path/to/circular (else scripts/build.sh builds one), IMAGES, VERSIONS, RUNS (default 21).
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/var/tmp/circular-bench-catalog}
IMAGES=${IMAGES:-20}; VERSIONS=${VERSIONS:-1000}; RUNS=${RUNS:-21}
mkdir -p "$W"; chmod 755 "$W"
need() { command -v "$1" >/dev/null || { echo "missing $1 (scripts/install-deps.sh installs it)" >&2; exit 1; }; }
for t in nginx curl dotnet python3; do need "$t"; done
if [[ -z "${CIRC:-}" ]]; then bash scripts/build.sh "$W/cli" >/dev/null; CIRC=$W/cli/circular; fi

A=$W/archive-${IMAGES}x${VERSIONS}
if [[ ! -f "$A/images.json" ]]; then
  rm -rf "$A"
  dotnet run -c Release --project bench/catalog/Generate -- "$A" "$IMAGES" "$VERSIONS"
fi
rm -rf "$A/index.html" "$A/catalog" "$A/api"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
NP=$(port); SP=$(port)
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<CONF
user root; worker_processes 1; daemon off; pid $W/nginx/nginx.pid; error_log $W/nginx/error.log;
events { worker_connections 256; }
http { access_log off; sendfile on; default_type application/octet-stream; types { text/html html; application/json json; }
  client_body_temp_path $W/nginx/b; proxy_temp_path $W/nginx/p; fastcgi_temp_path $W/nginx/f; uwsgi_temp_path $W/nginx/u; scgi_temp_path $W/nginx/s;
  server { listen 127.0.0.1:$NP; root $A; } }
CONF
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# ms from request to first byte of one GET
ttfb() { curl -s -o /dev/null -w '%{time_pretransfer} %{time_starttransfer} %{http_code}\n' "$1" |
  awk '{ if ($3 != 200) { print "HTTP " $3 > "/dev/stderr"; exit 1 } printf "%.2f\n", ($2 - $1) * 1000 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
measure() { # LABEL URL: cold (first) and warm median
  local cold warm; cold=$(ttfb "$2"); warm=$(for _ in $(seq "$RUNS"); do ttfb "$2"; done | median)
  printf '| %s | %s | %s |\n' "$1" "$cold" "$warm"; }

"$CIRC" serve "$A" --listen 127.0.0.1:$SP >"$W/serve.log" 2>&1 & PIDS+=($!)
wait_port "$SP" || { echo "serve did not start" >&2; exit 1; }
ttfb "http://127.0.0.1:$SP/circular.json" >/dev/null # the server's own first request (connection set-up, code paths) is not the catalog's
sleep "${SETTLE:-2}" # serve reads every refs file once at start
LAST=$(( (VERSIONS + 49) / 50 ))
echo "catalog of $IMAGES images x $VERSIONS versions ($(du -sh "$A" | cut -f1) of metadata), $RUNS warm runs each, $(nproc) cores"
echo
echo "| request (serve, live) | first request, ms | median after, ms |"
echo "|---|---|---|"
measure "front page /" "http://127.0.0.1:$SP/"
measure "image page 1 (50 versions)" "http://127.0.0.1:$SP/catalog/distro-01/index.html"
measure "image page $LAST (oldest)" "http://127.0.0.1:$SP/catalog/distro-02/page-$LAST.html"
measure "/api/images" "http://127.0.0.1:$SP/api/images"
measure "/api/images/NAME/versions?page=2" "http://127.0.0.1:$SP/api/images/distro-03/versions?page=2"

t0=$(date +%s.%N); "$CIRC" catalog "$A" >/dev/null; t1=$(date +%s.%N)
"$CIRC" tag "$A" distro-05@3 bench >/dev/null; t2=$(date +%s.%N)
"$CIRC" tag "$A" distro-05@4 bench >/dev/null; t3=$(date +%s.%N)
echo
echo "| static catalog | seconds |"
echo "|---|---|"
printf '| circular catalog (first write: %s files) | %.2f |\n' "$(find "$A/catalog" "$A/api" -type f | wc -l)" "$(echo "$t1 - $t0" | bc)"
printf '| circular tag (publish + catalog rewrite) | %.2f |\n' "$(echo "$t2 - $t1" | bc)"
printf '| circular tag again | %.2f |\n' "$(echo "$t3 - $t2" | bc)"

nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" & PIDS+=($!)
wait_port "$NP" || { echo "nginx did not start" >&2; exit 1; }
echo
echo "| request (nginx, static catalog) | first request, ms | median after, ms |"
echo "|---|---|---|"
measure "index.html" "http://127.0.0.1:$NP/index.html"
measure "catalog/distro-01/index.html" "http://127.0.0.1:$NP/catalog/distro-01/index.html"
