#!/usr/bin/env bash
# Interleaved A/B of NBD read paths: several `circular nbd` builds and nbdkit's file plugin serve the same archive
# and raw image at once; N rounds of (nbdcopy to null:, 20,000 random 4 KiB reads at depth 16) against each, in turn;
# prints the median and every time. W holds raw.img and arch (an archive of it: circular init W/arch; circular push
# W/arch img W/raw.img). NAME=CMD names a build; CMD may start with VAR=value settings (run through env).
# Usage: bench/block/ab.sh W N NAME=CMD...   e.g. bench/block/ab.sh /var/tmp/rr 7 old=/tmp/a/circular new=/tmp/b/circular
set -u
W=$1; N=$2; shift 2
declare -A SOCK
pids=()
for spec in "$@"; do
  name=${spec%%=*}; cmd=${spec#*=}
  rm -f $W/$name.sock
  env $cmd nbd $W/arch --socket $W/$name.sock >/dev/null 2>&1 & pids+=($!)
  SOCK[$name]="nbd+unix:///img?socket=$W/$name.sock"
done
rm -f $W/k.sock; nbdkit -U $W/k.sock -f file $W/raw.img & pids+=($!)
SOCK[nbdkit]="nbd+unix:///?socket=$W/k.sock"
sleep 2
names=("${!SOCK[@]}")
for n in "${names[@]}"; do nbdcopy "${SOCK[$n]}" null:; done
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
declare -A C R
for i in $(seq $N); do
  for n in "${names[@]}"; do
    C[$n]+="$(t nbdcopy "${SOCK[$n]}" null:) "
    R[$n]+="$(t qemu-img bench -f raw -c 20000 -d 16 -s 4096 -S 104857601 "${SOCK[$n]}") "
  done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for n in "${names[@]}"; do
  echo "$n nbdcopy median $(echo ${C[$n]} | med) s [${C[$n]}]  random median $(echo ${R[$n]} | med) s [${R[$n]}]"
done
kill "${pids[@]}"
