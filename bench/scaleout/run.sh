#!/usr/bin/env bash
# Scale-out benchmark (issue 14), three measurements side by side with a peer, in one run:
#   1. replication: `circular mirror` of an archive served by nginx - full copy, incremental copy of a v2 with
#      3 x 8 MiB changed (bytes nginx served vs what the new version added), up-to-date check (requests nginx saw);
#   2. S3 push to moto_server vs push to a directory vs `rclone copy` of the same chunk files into the bucket;
#   3. many clients: READERS concurrent cold `circular cat` (v1/v2 mixed) from `circular serve` and from nginx on
#      the same directory, ROUNDS alternating rounds; server RSS, fds and CPU; every sampled read compared with
#      the image; then a chunk-latency pass with curl (50 keep-alive clients over the chunk URLs) against both.
#   bench/scaleout/run.sh [WORKDIR]       (default /var/tmp/circular-bench-scaleout; needs root: mkfs -d ownership,
#                                          mknod, a tmpfs mount; 11-15 min on 2 shared cores)
# Environment: CIRCULAR=/path/to/circular uses an existing build instead of publishing one; READERS (50), ROUNDS (3),
#   REPS (3, S3 part), LAT_CLIENTS (50), LAT_PER_CLIENT (300 chunk requests each); CONTENT as in bench/push.
# The 1 GiB image is bench/push's (mkfs.ext4 -d of CONTENT); WORKDIR/img is reused when present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
W=${1:-/var/tmp/circular-bench-scaleout}
CONTENT=${CONTENT:-"/usr/lib/gcc /usr/share/locale /usr/lib/python3.11"}
READERS=${READERS:-50}; ROUNDS=${ROUNDS:-3}; REPS=${REPS:-3}; LAT_CLIENTS=${LAT_CLIENTS:-50}; LAT_PER_CLIENT=${LAT_PER_CLIENT:-300}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1" >&2; exit 1; }; }
for t in nginx curl rclone moto_server mkfs.ext4 python3; do need "$t"; done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time" >&2; exit 1; }

mkdir -p "$W"; chmod 755 "$W"
if mountpoint -q "$W/ram"; then umount "$W/ram"; fi
find "$W" -mindepth 1 -maxdepth 1 ! -name img -exec rm -rf {} +
if [ -z "${CIRCULAR:-}" ]; then
  ARTIFACTS=$W/art bash "$repo/scripts/build.sh" "$W/bin" >/dev/null
  CIRCULAR=$W/bin/circular
fi
C=$CIRCULAR
GiB=1073741824

if [ ! -f "$W/img" ]; then
  if [ -f /tmp/circular-bench-push/img ]; then cp --sparse=always /tmp/circular-bench-push/img "$W/img"
  else
    echo "== building a 1 GiB ext4 image from: $CONTENT"
    mkdir -p "$W/root"
    for d in $CONTENT; do tar -C / -cf - "${d#/}" | tar -C "$W/root" -xf -; done
    mkfs.ext4 -q -F -E root_owner=0:0 -d "$W/root" "$W/img" 1G
    rm -rf "$W/root"
  fi
fi
[ "$(stat -c %s "$W/img")" = $GiB ] || { echo "$W/img is not 1 GiB" >&2; exit 1; }
# v2: the same image with 8 MiB of random data written in place at 3 offsets.
cp --sparse=always "$W/img" "$W/img2"
for off in 64 300 700; do dd if=/dev/urandom of="$W/img2" bs=1M count=8 seek=$off conv=notrunc status=none; done
cat "$W/img" "$W/img2" >/dev/null

source "$here/lib.sh"
cleanup() { stop_all; if mountpoint -q "$W/ram"; then umount "$W/ram" || true; fi; }
trap cleanup EXIT

echo "== 1. replication: circular mirror from nginx"
"$C" init "$W/A" >/dev/null
read -r push1_s _ < <(timed push-v1 "$C" push "$W/A" os "$W/img")
NP=$(port); nginx_start "$W/nginx1" "$W/A" "$NP" ""
LOG1=$W/nginx1/access.log
# mirror_run LABEL: one `circular mirror` from nginx into $W/M; its wall time in MW, its requests in $W/LABEL.log
mirror_run() { local label=$1 from to; from=$(lines "$LOG1")
  read -r MW _ < <(timed "$label" "$C" mirror "http://127.0.0.1:$NP" "$W/M")
  to=$(lines "$LOG1"); log_slice "$LOG1" "$from" "$to" >"$W/$label.log"; }
sum_bytes() { awk '{s+=$4} END {print s+0}' "$@"; }
mirror_run mirror-full; full_s=$MW
full_req=$(wc -l <"$W/mirror-full.log"); full_bytes=$(sum_bytes "$W/mirror-full.log")
read -r push2_s _ < <(timed push-v2 "$C" push "$W/A" os "$W/img2")
written2=$(grep -m1 'written:' "$W/push-v2.out" | sed 's/^ *//')
"$C" log "$W/A" os --json >"$W/log.json"
added2=$(python3 -c 'import json,sys; v=[x for x in json.load(open(sys.argv[1]))["versions"]["versions"] if x["version"]==2][0]; print(v["addedBytes"], v["addedChunks"])' "$W/log.json")
read -r added2_bytes added2_chunks <<<"$added2"
man2=$(stat -c %s "$W/A/images/os/versions/2"); refs=$(stat -c %s "$W/A/images/os/refs.json")
expect2=$(( added2_bytes + man2 + refs ))
mirror_run mirror-incr; incr_s=$MW
incr_req=$(wc -l <"$W/mirror-incr.log"); incr_bytes=$(sum_bytes "$W/mirror-incr.log")
incr_chunk_bytes=$( (grep ' /chunks/' "$W/mirror-incr.log" || true) | sum_bytes); incr_chunk_req=$(grep -c ' /chunks/' "$W/mirror-incr.log" || true)
incr_other=$( (grep -v ' /chunks/' "$W/mirror-incr.log" || true) | awk '{printf "%s%s %s %s", (NR>1?", ":""), $2, $3, $4} END {print ""}')
# The mirror must now be the same archive: same objects, and v2 byte for byte.
diff <(cd "$W/A" && find chunks images circular.json images.json -type f | sort) <(cd "$W/M" && find chunks images circular.json images.json -type f | sort) >/dev/null \
  || { echo "mirror holds other objects than the source" >&2; exit 1; }
"$C" cat "$W/M" os@2 -o "$W/check.img" >/dev/null && cmp -s "$W/check.img" "$W/img2" || { echo "mirror's os@2 differs from img2" >&2; exit 1; }
rm -f "$W/check.img"
mirror_run mirror-noop1; upd1_s=$MW
upd1_req=$(wc -l <"$W/mirror-noop1.log"); upd1_list=$(awk '{printf "%s%s %s", (NR>1?", ":""), $2, $3} END {print ""}' "$W/mirror-noop1.log")
# Four more (small) images: the up-to-date check again with 5 images separates the per-image from the fixed requests.
for i in 1 2 3 4; do head -c 1048576 /dev/urandom >"$W/small$i.img"; "$C" push "$W/A" "tools$i" "$W/small$i.img" >/dev/null; done
mirror_run mirror-catchup
mirror_run mirror-noop5; upd5_s=$MW
upd5_req=$(wc -l <"$W/mirror-noop5.log")
per_image=$(awk -v a="$upd1_req" -v b="$upd5_req" 'BEGIN{printf "%.2f", (b-a)/4}')
fixed_req=$(awk -v a="$upd1_req" -v k="$per_image" 'BEGIN{printf "%.0f", a-k}')
stop "$NGINX_PID"

echo "== 2. S3 push (moto_server) vs directory push vs rclone copy of the same chunks"
MP=$(port)
moto_server -H 127.0.0.1 -p "$MP" >"$W/moto.log" 2>&1 & PIDS+=($!); MOTO=$!
wait_port "$MP" || { echo "moto_server did not start" >&2; exit 1; }
curl -sf -X PUT "http://127.0.0.1:$MP/bench" >/dev/null
S3=(env AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 "$C")   # + --s3-endpoint
EP=(--s3-endpoint "http://127.0.0.1:$MP")
# rclone: AWS_CA_BUNDLE (set in some environments) breaks its plain-HTTP endpoint
RC=(env AWS_CA_BUNDLE= RCLONE_CONFIG_MOTO_TYPE=s3 RCLONE_CONFIG_MOTO_PROVIDER=Other RCLONE_CONFIG_MOTO_ENDPOINT="http://127.0.0.1:$MP"
  RCLONE_CONFIG_MOTO_ACCESS_KEY_ID=test RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY=test RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE=true rclone)
: >"$W/s3.tsv"
for i in $(seq "$REPS"); do
  "$C" init "$W/D$i" >/dev/null
  read -r w c < <(timed dir-$i "$C" push "$W/D$i" os "$W/img"); echo "dir $w $c 0" >>"$W/s3.tsv"
  "${S3[@]}" init "s3://bench/push$i" "${EP[@]}" >/dev/null
  m0=$(cpu_s "$MOTO"); read -r w c < <(timed s3-$i "${S3[@]}" push "s3://bench/push$i" os "$W/img" "${EP[@]}"); m1=$(cpu_s "$MOTO")
  echo "s3 $w $c $(awk -v a="$m0" -v b="$m1" 'BEGIN{print b-a}')" >>"$W/s3.tsv"
  # Diagnostic: the same push with 8 chunk workers instead of one per core (push's pipeline is sized by the core count;
  # DOTNET_PROCESSOR_COUNT is the .NET runtime's override of it, no change to circular).
  "${S3[@]}" init "s3://bench/push8-$i" "${EP[@]}" >/dev/null
  m0=$(cpu_s "$MOTO"); read -r w c < <(timed s38-$i env DOTNET_PROCESSOR_COUNT=8 "${S3[@]}" push "s3://bench/push8-$i" os "$W/img" "${EP[@]}"); m1=$(cpu_s "$MOTO")
  echo "s38 $w $c $(awk -v a="$m0" -v b="$m1" 'BEGIN{print b-a}')" >>"$W/s3.tsv"
  m0=$(cpu_s "$MOTO"); read -r w c < <(timed rclone-$i "${RC[@]}" copy "$W/D1/chunks" "moto:bench/rclone$i/chunks"); m1=$(cpu_s "$MOTO")
  echo "rclone $w $c $(awk -v a="$m0" -v b="$m1" 'BEGIN{print b-a}')" >>"$W/s3.tsv"
done
stored=$(find "$W/D1/chunks" -type f -printf '%s\n' | awk '{s+=$1} END {print s}'); stored_n=$(find "$W/D1/chunks" -type f | wc -l)
"${RC[@]}" size --json "moto:bench/push1/chunks" >"$W/s3-size.json" 2>/dev/null; "${RC[@]}" size --json "moto:bench/rclone1/chunks" >"$W/rclone-size.json" 2>/dev/null
python3 - "$W/s3-size.json" "$W/rclone-size.json" "$stored" "$stored_n" <<'PY' || { echo "bucket holds other bytes than the directory archive" >&2; exit 1; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
want = (int(sys.argv[4]), int(sys.argv[3]))
assert (a["count"], a["bytes"]) == want == (b["count"], b["bytes"]), (a, b, want)
PY
med() { awk -v k="$1" -v f="$2" '$1==k {print $f}' "$W/s3.tsv" | median; }
runs() { awk -v k="$1" '$1==k {printf "%s%s", (n++?", ":""), $2} END {print ""}' "$W/s3.tsv"; }
stop "$MOTO"

echo "== 3. $READERS concurrent cold readers, circular serve vs nginx on the same directory ($ROUNDS rounds each)"
cat "$W"/A/chunks/*/* >/dev/null
# The sampled readers' files and nginx's access log go to a tmpfs: neither server should wait on disk writeback
# (a worker writing its log blocks when the page cache is throttled by dirty data, and these files are GiBs).
mkdir -p "$W/ram"; mount -t tmpfs -o size=$(( (READERS / 10 + 1) * 1100 + 512 ))m tmpfs "$W/ram"
SP=$(port); "$C" serve "$W/A" --listen "127.0.0.1:$SP" >"$W/serve.log" 2>&1 & PIDS+=($!); SERVE=$!
wait_port "$SP" || { echo "circular serve did not start" >&2; exit 1; }
NP=$(port); nginx_start "$W/ram/nginx3" "$W/A" "$NP" "buffer=64k flush=1s"; NGX=$NGINX_PID
LOG3=$W/ram/nginx3/access.log
sleep 1
declare -A URL=([serve]="http://127.0.0.1:$SP" [nginx]="http://127.0.0.1:$NP") PID=([serve]=$SERVE [nginx]=$NGX)
for s in serve nginx; do echo "${s}_start $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}") $(cpu_s "${PID[$s]}")" >>"$W/state.txt"; done
mkdir -p "$W/r" "$W/ram/o" "$W/null"
# Each reader writes into its own null device: `cat -o /dev/null` opens it with FileShare.None, which .NET implements
# as flock(LOCK_EX|LOCK_NB) on the device's inode, so concurrent readers with -o /dev/null fail ("being used by another
# process"). A private node (c 1 3) reached through /proc/self/fd/3 takes the same code path (a device, opened, pwrite).
for i in $(seq "$READERS"); do mknod "$W/null/$i" c 1 3; done
: >"$W/readers.tsv"
# sampler PID PORT OUT: RSS (KiB), fds, established connections and the listen socket's accept queue every 0.5 s
sampler() { while :; do echo "$(rss_kb "$1") $(fds "$1") $(ss -tnH state established "( sport = :$2 )" | wc -l) $(ss -ltnH "( sport = :$2 )" | awk '{print $2}')" >>"$3"; sleep 0.5; done; }
reader_round() { local s=$1 round=$2 t0 i v out pids=() bad=0 c0
  sampler "${PID[$s]}" "${URL[$s]##*:}" "$W/$s.samples" & local smp=$!
  c0=$(cpu_s "${PID[$s]}"); local l0; l0=$(lines "$LOG3")
  t0=$(now)
  for i in $(seq "$READERS"); do
    v=$(( 1 + i % 2 )); out=/proc/self/fd/3; (( i % 10 == 0 )) && out=$W/ram/o/$s-$round-$i-v$v.img
    /usr/bin/time -f "%e %U %S" -o "$W/r/$s-$round-$i.time" "$C" cat "${URL[$s]}" "os@$v" -o "$out" --cache none >/dev/null 2>"$W/r/$s-$round-$i.err" 3>"$W/null/$i" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || { bad=$((bad+1)); echo "reader $s round $round #$((i+1)) failed: $(head -c 300 "$W/r/$s-$round-$((i+1)).err")" >&2; }; done
  local wall; wall=$(since "$t0")
  kill "$smp" 2>/dev/null; wait "$smp" 2>/dev/null || true
  local cpu; cpu=$(awk -v a="$c0" -v b="$(cpu_s "${PID[$s]}")" 'BEGIN{printf "%.2f", b-a}')
  local ccpu; ccpu=$(cat "$W"/r/$s-$round-*.time | awk 'NF==3 {s+=$2+$3} END {printf "%.1f", s}')
  local cmpd=0 cmpbad=0 f
  for f in "$W"/ram/o/$s-$round-*.img; do
    [ -f "$f" ] || continue; cmpd=$((cmpd+1))
    case $f in *-v1.img) ref=$W/img;; *) ref=$W/img2;; esac
    cmp -s "$f" "$ref" || { cmpbad=$((cmpbad+1)); echo "corrupt read: $f differs from $ref" >&2; }
    rm -f "$f"
  done
  [ "$s" = nginx ] && { sleep 2; log_slice "$LOG3" "$l0" "$(lines "$LOG3")" >"$W/nginx-cat-$round.log"; }
  sleep 0.5
  echo "$s $round $wall $cpu $ccpu $bad $cmpd $cmpbad $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}")" >>"$W/readers.tsv"
  echo "  $s round $round: $wall s, server CPU $cpu s, clients' CPU $ccpu s, failed $bad, compared $cmpd (bad $cmpbad)"; }
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order="serve nginx"; else order="nginx serve"; fi
  for s in $order; do reader_round "$s" "$round"; done
done
sleep 30
for s in serve nginx; do echo "${s}_idle $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}")" >>"$W/state.txt"; done

echo "== 3b. chunk latency: $LAT_CLIENTS curl clients x $LAT_PER_CLIENT chunk GETs (keep-alive) against each server"
(cd "$W/A" && find chunks -type f | sort) >"$W/chunks.txt"
nchunks=$(wc -l <"$W/chunks.txt")
mkdir -p "$W/lat"
lat_pass() { local s=$1 k pids=() t0
  for k in $(seq 0 $(( LAT_CLIENTS - 1 ))); do
    awk -v n="$nchunks" -v k="$k" -v m="$LAT_PER_CLIENT" -v c="$LAT_CLIENTS" -v u="${URL[$s]}" \
      'BEGIN {start = int(k * n / c)} {l[NR-1]=$0} END {for (j = 0; j < m; j++) {printf "url = \"%s/%s\"\noutput = \"/dev/null\"\n", u, l[(start + j) % n]}}' \
      "$W/chunks.txt" >"$W/lat/$s-$k.cfg"
  done
  local l0; l0=$(lines "$LOG3"); t0=$(now)
  for k in $(seq 0 $(( LAT_CLIENTS - 1 ))); do
    curl -s -K "$W/lat/$s-$k.cfg" -w '%{http_code} %{size_download} %{time_total}\n' >"$W/lat/$s-$k.out" & pids+=($!)
  done
  wait "${pids[@]}" || true
  echo "$s $(since "$t0")" >>"$W/lat-wall.txt"
  [ "$s" = nginx ] && { sleep 2; log_slice "$LOG3" "$l0" "$(lines "$LOG3")" >"$W/nginx-lat.log"; }
  cat "$W"/lat/$s-*.out >"$W/lat-$s.txt"; }
: >"$W/lat-wall.txt"
lat_pass serve; lat_pass nginx
# pct FILE COLUMN: "n p50 p99 max" in ms of a column of seconds
pct() { awk -v c="$2" '{print $c * 1000}' "$1" | sort -g | awk '{a[NR]=$1} END {i50=int(NR*0.50+0.5); i99=int(NR*0.99+0.5); if(i50<1)i50=1; if(i99<1)i99=1; printf "%d %.1f %.1f %.1f\n", NR, a[i50], a[i99], a[NR]}'; }

# ---- report ----
st() { awk -v k="$1" -v f="$2" '$1==k {print $f}' "$W/state.txt"; }
# peak SERVER COLUMN: the largest value sampled during the rounds (1 RSS, 2 fds, 3 connections) or right after one
peak() { { awk -v f="$2" '{print $f}' "$W/$1.samples"; if [ "$2" -le 2 ]; then rd "$1" $(( $2 + 8 )); fi; } | awk 'BEGIN{m=0} $1>m {m=$1} END {print m}'; }
rd() { awk -v s="$1" -v f="$2" '$1==s {print $f}' "$W/readers.tsv"; }
sumcol() { awk -v s="$1" -v f="$2" '$1==s {t+=$f} END {print t+0}' "$W/readers.tsv"; }
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
{
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average at end $(cut -d' ' -f1-3 /proc/loadavg); circular $("$C" --version 2>/dev/null | head -1)"
echo "image: 1 GiB ext4 (bench/push's), $(( $(stat -c %b "$W/img") * 512 / 1048576 )) MiB allocated; v2 = v1 with 8 MiB of random bytes written at 64, 300 and 700 MiB"
echo
echo "### 1. Replication (circular mirror http://nginx DIR)"
echo
echo "| run | wall s | requests to nginx | bytes nginx served | |"
echo "|---|---:|---:|---:|---|"
printf '| full copy of v1 | %s | %s | %s (%s MiB) | |\n' "$full_s" "$full_req" "$full_bytes" "$(mb "$full_bytes")"
printf '| incremental copy of v2 | %s | %s | %s (%s MiB) | %.3fx of new chunks + manifest + refs (%s = %s + %s + %s); goal <= 1.05x: %s |\n' \
  "$incr_s" "$incr_req" "$incr_bytes" "$(mb "$incr_bytes")" "$(awk -v a="$incr_bytes" -v b="$expect2" 'BEGIN{print a/b}')" \
  "$expect2" "$added2_bytes" "$man2" "$refs" "$(awk -v a="$incr_bytes" -v b="$expect2" 'BEGIN{print (a/b <= 1.05) ? "met" : "**not met**"}')"
printf '| up to date, 1 image | %s | %s | | %s |\n' "$upd1_s" "$upd1_req" "$upd1_list"
printf '| up to date, 5 images | %s | %s | | %s per image + %s fixed per run; goal <= 2 per image: %s |\n' "$upd5_s" "$upd5_req" "$per_image" "$fixed_req" \
  "$(awk -v k="$per_image" 'BEGIN{print (k <= 2) ? "met" : "**not met**"}')"
echo
echo "v2 push: $written2; log --json: addedBytes $added2_bytes in $added2_chunks chunks. Incremental run: $incr_chunk_req chunk GETs, $incr_chunk_bytes chunk bytes; other requests (path status bytes): $incr_other"
echo
echo "### 2. Push of the 1 GiB image to S3 (moto_server on loopback)"
echo
echo "| run | wall s, median of $REPS | runs | client CPU s | moto CPU s | MB/s of stored bytes |"
echo "|---|---:|---|---:|---:|---:|"
for k in dir s3 s38 rclone; do
  case $k in dir) name="circular push to a directory";; s3) name="circular push to s3://bench/pushN";;
    s38) name="(diagnostic) the same with DOTNET_PROCESSOR_COUNT=8";; rclone) name="rclone copy DIR/chunks moto:bench/rcloneN/chunks";; esac
  m=$(med $k 2); printf '| %s | %.2f | %s | %.2f | %s | %.0f |\n' "$name" "$m" "$(runs $k)" "$(med $k 3)" "$([ $k = dir ] && echo - || med $k 4)" "$(awk -v b="$stored" -v s="$m" 'BEGIN{print b/s/1e6}')"
done
echo
echo "Same bytes: $stored_n chunk files, $stored bytes in the S3 push and in the rclone copy. S3 push / rclone wall time: $(awk -v a="$(med s3 2)" -v b="$(med rclone 2)" 'BEGIN{printf "%.2fx", a/b}') (goal <= 1.00x: $(awk -v a="$(med s3 2)" -v b="$(med rclone 2)" 'BEGIN{print (a <= b) ? "met" : "**not met**"}'))"
echo "With 8 chunk workers (diagnostic row): $(awk -v a="$(med s38 2)" -v b="$(med rclone 2)" 'BEGIN{printf "%.2fx", a/b}') of rclone."
echo
echo "### 3. $READERS concurrent cold readers (circular cat URL os@1|os@2 -o NULL --cache none), $ROUNDS rounds per server"
echo
echo "NULL: a private null device per reader (every 10th reader writes a file instead, compared with the image afterwards)."
echo
echo "| server | round walls s | aggregate MB/s of image, completed reads (median round) | server CPU s per round | clients' CPU s per round | RSS MB: start; after each round; peak; 30 s idle | fds: start; after each round; peak | peak connections | peak accept queue | failed reads | sampled reads compared (bad) |"
echo "|---|---|---:|---|---|---|---|---:|---:|---:|---:|"
# MB/s of a round: the image bytes of the reads that completed / the round's wall time
mbs() { awk -v s="$1" -v g=$GiB -v n="$READERS" '$1==s {print (n-$6)*g/$3/1e6}' "$W/readers.tsv"; }
for s in serve nginx; do
  printf '| %s | %s | %.0f | %s | %s | %.0f; %s; %.0f; %.0f | %s; %s; %s | %s | %s | %s | %s (%s) |\n' "$([ $s = serve ] && echo "circular serve" || echo nginx)" \
    "$(rd $s 3 | paste -sd, | sed 's/,/, /g')" "$(mbs $s | median)" \
    "$(rd $s 4 | paste -sd, | sed 's/,/, /g')" "$(rd $s 5 | paste -sd, | sed 's/,/, /g')" \
    "$(awk -v k="$(st ${s}_start 2)" 'BEGIN{print k/1024}')" "$(rd $s 9 | awk '{printf "%s%.0f", (NR>1?", ":""), $1/1024}')" "$(awk -v k="$(peak $s 1)" 'BEGIN{print k/1024}')" "$(awk -v k="$(st ${s}_idle 2)" 'BEGIN{print k/1024}')" \
    "$(st ${s}_start 3)" "$(rd $s 10 | paste -sd, | sed 's/,/, /g')" "$(peak $s 2)" "$(peak $s 3)" "$(peak $s 4)" "$(sumcol $s 6)" "$(sumcol $s 7)" "$(sumcol $s 8)"
done
ratio=$(awk -v a="$(mbs serve | median)" -v b="$(mbs nginx | median)" 'BEGIN{printf "%.2f", a/b}')
echo
echo "serve / nginx aggregate throughput: ${ratio}x (goal >= 0.8x: $(awk -v r="$ratio" 'BEGIN{print (r >= 0.8) ? "met" : "**not met**"}'))"
cat "$W"/nginx-cat-*.log >"$W/nginx-cat.log"
read -r nn n50 n99 nmax < <(pct "$W/nginx-cat.log" 5)
grep -h '^circular:' "$W"/r/*.err 2>/dev/null | sed -E 's/[0-9a-f]{64}/ID/g; s/chunks\/[0-9a-f]{2}\//chunks\/XX\//g' | sort | uniq -c | sed 's/^ */failed reads: /' || true
echo "nginx \$request_time over the reader rounds: $nn requests, p50 $n50 ms, p99 $n99 ms, max $nmax ms"
echo
echo "### 3b. Chunk latency, the same way for both: $LAT_CLIENTS parallel curl clients (keep-alive), $LAT_PER_CLIENT chunk GETs each, over the $nchunks chunk files"
echo
echo "| server | requests | non-200 | wall s | MB/s served | p50 ms | p99 ms | max ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for s in serve nginx; do
  read -r n p50 p99 pmax < <(pct "$W/lat-$s.txt" 3)
  w=$(awk -v s="$s" '$1==s {print $2}' "$W/lat-wall.txt")
  printf '| %s | %s | %s | %s | %.0f | %s | %s | %s |\n' "$([ $s = serve ] && echo "circular serve" || echo nginx)" "$n" "$(awk '$1!=200' "$W/lat-$s.txt" | wc -l)" "$w" \
    "$(awk -v w="$w" '{b+=$2} END {print b/w/1e6}' "$W/lat-$s.txt")" "$p50" "$p99" "$pmax"
done
read -r ln l50 l99 lmax < <(pct "$W/nginx-lat.log" 5)
echo
echo "nginx's own \$request_time in that pass: p50 $l50 ms, p99 $l99 ms (curl's time_total includes the client's own wait for a CPU)."
echo "5 concurrent boots: bench/scaleout/boots.sh."
echo "Run time: $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s."
} | tee "$W/summary.md"
