# Helpers shared by the scale-out benchmarks (sourced by run.sh and boots.sh). Expects W (work directory).
# Every server or client started in the background is added to PIDS; stop_all stops them (TERM, then KILL).
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done; (( alive )) || break; sleep 0.1; done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }

TCK=$(getconf CLK_TCK)
procs() { echo "$1"; ps --ppid "$1" -o pid= 2>/dev/null || true; }          # a server and its workers (nginx)
cpu_s() { local s=0 p; for p in $(procs "$1"); do s=$(( s + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; awk -v t=$s -v k=$TCK 'BEGIN{printf "%.2f", t/k}'; }
rss_kb() { local s=0 p; for p in $(procs "$1"); do s=$(( s + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo $s; }
fds() { local s=0 p; for p in $(procs "$1"); do s=$(( s + $(ls "/proc/$p/fd" 2>/dev/null | wc -l) )); done; echo $s; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
# timed LABEL CMD...: "wall cpu" (client CPU user+sys) of CMD, its output in $W/LABEL.out/.err; fails loudly.
timed() { local label=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$W/$label.time" "$@" >"$W/$label.out" 2>"$W/$label.err" || { echo "failed: $*" >&2; cat "$W/$label.err" >&2; exit 1; }
  awk '{printf "%.2f %.2f\n", $1, $2+$3}' "$W/$label.time"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# nginx_start DIR ROOT PORT BUFFER: the deploy.md recipe, with an access log of bytes and request times.
nginx_start() { local d=$1 root=$2 p=$3 buf=$4; mkdir -p "$d"
  cat >"$d/nginx.conf" <<CONF
user root; worker_processes auto; worker_rlimit_nofile 16384; daemon off; pid $d/nginx.pid; error_log $d/error.log;
events { worker_connections 8192; }
http {
  log_format bench '\$request_method \$uri \$status \$body_bytes_sent \$request_time \$msec \$connection \$remote_port';
  access_log $d/access.log bench $buf;
  sendfile on; tcp_nopush on; default_type application/octet-stream;
  client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;
  server { listen 127.0.0.1:$p; root $root;
    location ~ /\. { return 404; }
    location ~ ^/(chunks|packs|keys)/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
    location ~ ^/images/[^/]+/(versions|profiles|packs)/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
    location / { add_header Cache-Control "public, max-age=10"; } } }
CONF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" & PIDS+=($!); NGINX_PID=$!
  wait_port "$p" || { echo "nginx did not start" >&2; cat "$d/error.log" >&2; exit 1; }; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# log_slice LOG FROM TO: access-log lines FROM+1..TO
log_slice() { sed -n "$(( $2 + 1 )),$3p" "$1"; }
