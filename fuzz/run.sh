#!/usr/bin/env bash
# Fuzzes one target under AFL++ for a given time (fuzz/README.md):
#   fuzz/run.sh TARGET SECONDS [WORKDIR]       e.g. fuzz/run.sh manifest 1800
# Builds the fuzz harness (fuzz/Circular.Fuzz), instruments the Circular assemblies with SharpFuzz, seeds AFL++ with
# fuzz/corpus/TARGET and runs it for SECONDS. Prints executions, paths, crashes and hangs; inputs that crash or hang
# are copied to fuzz/findings/TARGET/ (fix the parser, then move them to fuzz/regressions/TARGET/, which CI replays).
# Exit status: 0 no crash or hang, 1 some found, 2 bad usage or set-up failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
usage() { echo "usage: fuzz/run.sh TARGET SECONDS [WORKDIR]   (targets: $(ls "$here/corpus" | tr '\n' ' '))" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 secs=$2 W=${3:-/var/tmp/circular-fuzz}
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || usage
[ -d "$here/corpus/$target" ] || { echo "fuzz/run.sh: no target '$target'" >&2; usage; }

if ! command -v afl-fuzz >/dev/null; then
  echo "installing afl++" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null; }
fi
mkdir -p "$W"
sharpfuzz=$W/tools/sharpfuzz
[ -x "$sharpfuzz" ] || dotnet tool install --tool-path "$W/tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null

# A fresh, instrumented build: SharpFuzz rewrites the assemblies in place and refuses to do it twice.
bin=$W/bin
rm -rf "$bin"
dotnet publish "$here/Circular.Fuzz" -c Release -o "$bin" --nologo -v quiet ${ARTIFACTS:+--artifacts-path "$ARTIFACTS"} >/dev/null
for a in Circular.Core Circular.Storage Circular.Imaging Circular.Nbd Circular.Fuse Circular.Server Circular.Boot; do
  "$sharpfuzz" "$bin/$a.dll" >/dev/null
done

out=$W/out/$target
rm -rf "$out"; mkdir -p "$out"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_QUIET=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_TieredPGO=0
set +e
afl-fuzz -V "$secs" -t 5000 -m none -i "$here/corpus/$target" -o "$out" -- dotnet "$bin/circular-fuzz.dll" "$target" >"$W/afl-$target.log" 2>&1
rc=$?
set -e
stats=$out/default/fuzzer_stats
if [ ! -f "$stats" ]; then
  echo "fuzz/run.sh: afl-fuzz did not run (exit $rc); see $W/afl-$target.log:" >&2
  grep -E "PROGRAM ABORT|Error|error" "$W/afl-$target.log" | head -5 >&2
  exit 2
fi
stat() { awk -F': *' -v k="$1" '$1 ~ "^"k"[ ]*$" {print $2}' "$stats"; }
crashes=$(stat saved_crashes) hangs=$(stat saved_hangs)
echo "$target: $(stat execs_done) executions in $(stat run_time) s ($(stat execs_per_sec)/s), $(stat corpus_count) paths, $crashes crashes, $hangs hangs (stability $(stat stability))"
if [ "${crashes:-0}" -gt 0 ] || [ "${hangs:-0}" -gt 0 ]; then
  mkdir -p "$here/findings/$target"
  find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*' -exec cp {} "$here/findings/$target/" \; 2>/dev/null || true
  # The instrumented build cannot replay outside AFL++ (its coverage map is AFL's shared memory): replay with CI's build.
  echo "inputs copied to fuzz/findings/$target/; see what each does with: dotnet build fuzz/Circular.Fuzz -c Release -o /tmp/circular-fuzz-plain && dotnet /tmp/circular-fuzz-plain/circular-fuzz.dll replay $target fuzz/findings/$target" >&2
  exit 1
fi
