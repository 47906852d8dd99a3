#!/usr/bin/env bash
# Scale-out benchmark, part 4 (issue 14): BOOTS concurrent cold boots of a real distribution from one `circular serve`
# and from nginx serving the same archive directory, ROUNDS alternating rounds. Per round: each guest's time to its
# ready marker, the round's wall time, bytes fetched (the guests' cache directories), server CPU, RSS and open files
# at the start, sampled during the round and after it; nginx's $request_time for the round's requests.
#   bench/scaleout/boots.sh [WORKDIR]      (default /var/tmp/circular-bench-scaleout-boots; root; QEMU TCG)
# Environment: CIRCULAR=/path/to/circular (else a build is published into WORKDIR/bin), BOOTS (5), ROUNDS (2),
#   MEMORY (guest memory, 512M), IMGDIR (the Debian guest of bench/wan/make-debian-image.sh, built when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
W=${1:-/var/tmp/circular-bench-scaleout-boots}
BOOTS=${BOOTS:-5}; ROUNDS=${ROUNDS:-2}; MEMORY=${MEMORY:-512M}
IMGDIR=${IMGDIR:-/var/tmp/circular-bench-debian}
for t in nginx qemu-system-x86_64 python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done

mkdir -p "$W"; chmod 755 "$W"
find "$W" -mindepth 1 -maxdepth 1 ! -name bin -exec rm -rf {} +
if [ -z "${CIRCULAR:-}" ]; then
  ARTIFACTS=$W/art bash "$repo/scripts/build.sh" "$W/bin" >/dev/null
  CIRCULAR=$W/bin/circular
fi
C=$CIRCULAR
[ -f "$IMGDIR/debian.img" ] || OUT=$IMGDIR bash "$repo/bench/wan/make-debian-image.sh"
APPEND=$(cat "$IMGDIR/append"); MARKER=$(cat "$IMGDIR/marker")

source "$here/lib.sh"
trap stop_all EXIT

echo "== pushing the Debian guest ($(( $(stat -c %s "$IMGDIR/debian.img") >> 20 )) MiB)"
"$C" init "$W/A" >/dev/null
"$C" push "$W/A" debian "$IMGDIR/debian.img" >"$W/push.log" 2>&1 || { cat "$W/push.log" >&2; exit 1; }
cat "$W"/A/chunks/*/* >/dev/null   # both servers start from a warm page cache

SP=$(port); "$C" serve "$W/A" --listen "127.0.0.1:$SP" >"$W/serve.log" 2>&1 & PIDS+=($!); SERVE=$!
wait_port "$SP" || { echo "circular serve did not start" >&2; exit 1; }
NP=$(port); nginx_start "$W/nginx" "$W/A" "$NP" ""; NGX=$NGINX_PID
LOG=$W/nginx/access.log
sleep 1
declare -A URL=([serve]="http://127.0.0.1:$SP" [nginx]="http://127.0.0.1:$NP") PID=([serve]=$SERVE [nginx]=$NGX)
for s in serve nginx; do echo "${s}_start $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}")" >>"$W/state.txt"; done
sampler() { while :; do echo "$(rss_kb "$1") $(fds "$1")" >>"$2"; sleep 0.5; done; }
: >"$W/rounds.tsv"; : >"$W/boots.tsv"
boot_round() { local s=$1 round=$2 i pids=() failed=0
  sampler "${PID[$s]}" "$W/$s.samples" & local smp=$!
  local c0; c0=$(cpu_s "${PID[$s]}"); local l0; l0=$(lines "$LOG"); local t0; t0=$(now)
  for i in $(seq "$BOOTS"); do
    python3 "$repo/bench/wan/until-marker.py" --timeout 600 --log "$W/$s-$round-$i.console" "$MARKER" \
      "$C" boot "${URL[$s]}" debian --cache "$W/cache/$s-$round-$i" --accel tcg --memory "$MEMORY" \
      --kernel "$IMGDIR/vmlinuz" --initrd "$IMGDIR/initrd.img" --append "$APPEND" >"$W/$s-$round-$i.time" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || { failed=$((failed+1)); echo "boot $s round $round #$((i+1)) failed: $(tail -3 "$W/$s-$round-$((i+1)).console")" >&2; }; done
  local wall; wall=$(since "$t0")
  kill "$smp" 2>/dev/null; wait "$smp" 2>/dev/null || true
  local cpu; cpu=$(awk -v a="$c0" -v b="$(cpu_s "${PID[$s]}")" 'BEGIN{printf "%.2f", b-a}')
  local bytes; bytes=$(du -sb "$W"/cache/$s-$round-* | awk '{t+=$1} END {print t}')
  for i in $(seq "$BOOTS"); do echo "$s $round $(cat "$W/$s-$round-$i.time")" >>"$W/boots.tsv"; done
  [ "$s" = nginx ] && { sleep 1; log_slice "$LOG" "$l0" "$(lines "$LOG")" >"$W/nginx-$round.log"; }
  sleep 0.5
  echo "$s $round $wall $cpu $failed $bytes $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}")" >>"$W/rounds.tsv"
  echo "  $s round $round: $wall s, server CPU $cpu s, failed $failed, fetched $(( bytes >> 20 )) MiB"
  rm -rf "$W"/cache/$s-$round-*; }
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order="serve nginx"; else order="nginx serve"; fi
  for s in $order; do boot_round "$s" "$round"; done
done
sleep 30
for s in serve nginx; do echo "${s}_idle $(rss_kb "${PID[$s]}") $(fds "${PID[$s]}")" >>"$W/state.txt"; done

# ---- report ----
st() { awk -v k="$1" -v f="$2" '$1==k {print $f}' "$W/state.txt"; }
col() { awk -v s="$1" -v f="$2" '$1==s {printf "%s%s", (n++?", ":""), $f} END {print ""}' "$W/rounds.tsv"; }
peak() { awk -v f="$2" 'BEGIN{m=0} $f>m {m=$f} END {print m}' "$W/$1.samples"; }
{
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average at end $(cut -d' ' -f1-3 /proc/loadavg); circular $("$C" --version 2>/dev/null | head -1)"
echo "guest: Debian bookworm (bench/wan/make-debian-image.sh), $BOOTS concurrent cold boots per round (own cache each), TCG, $MEMORY; time to '$MARKER'"
echo
echo "| server | round walls s | boot to marker s: median; max (all rounds) | MiB fetched per round | aggregate MB/s (median round) | server CPU s per round | RSS MB: start; after each round; peak; 30 s idle | fds: start; after each round; peak; idle | failed boots |"
echo "|---|---|---|---|---:|---|---|---|---:|"
for s in serve nginx; do
  times=$(awk -v s="$s" '$1==s {print $3}' "$W/boots.tsv")
  printf '| %s | %s | %s; %s | %s | %.1f | %s | %.0f; %s; %.0f; %.0f | %s; %s; %s; %s | %s |\n' "$([ $s = serve ] && echo "circular serve" || echo nginx)" \
    "$(col $s 3)" "$(median <<<"$times")" "$(sort -g <<<"$times" | tail -1)" \
    "$(awk -v s="$s" '$1==s {printf "%s%.1f", (n++?", ":""), $6/1048576} END {print ""}' "$W/rounds.tsv")" \
    "$(awk -v s="$s" '$1==s {print $6/$3/1e6}' "$W/rounds.tsv" | median)" "$(col $s 4)" \
    "$(awk -v k="$(st ${s}_start 2)" 'BEGIN{print k/1024}')" "$(awk -v s="$s" '$1==s {printf "%s%.0f", (n++?", ":""), $7/1024} END {print ""}' "$W/rounds.tsv")" \
    "$(awk -v k="$(peak $s 1)" 'BEGIN{print k/1024}')" "$(awk -v k="$(st ${s}_idle 2)" 'BEGIN{print k/1024}')" \
    "$(st ${s}_start 3)" "$(col $s 8)" "$(peak $s 2)" "$(st ${s}_idle 3)" "$(awk -v s="$s" '$1==s {t+=$5} END {print t+0}' "$W/rounds.tsv")"
done
cat "$W"/nginx-*.log >"$W/nginx-all.log"
awk '$2 ~ /^\/chunks\// {print $5 * 1000}' "$W/nginx-all.log" | sort -g |
  awk '{a[NR]=$1} END {if (NR) printf "\nnginx $request_time of the boots'"'"' %d chunk requests: p50 %.0f ms, p99 %.0f ms, max %.0f ms (serve keeps no access log; bench/scaleout/run.sh part 3b measures both servers'"'"' chunk latency with curl)\n", NR, a[int(NR*0.5+0.5)], a[int(NR*0.99+0.5)], a[NR]}'
echo "Run time: $(( SECONDS / 60 )) min $(( SECONDS % 60 )) s."
} | tee "$W/summary.md"
