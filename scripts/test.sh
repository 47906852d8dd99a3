#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, runs every test project, prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "dependency installation failed"; exit 1; }
log=$(mktemp)
# The tests that run the `circular` command run the native build users get (scripts/build.sh), not the JIT build.
bin=$(mktemp -d)
bash scripts/build.sh "$bin" || { echo "building circular failed"; rm -rf "$bin" "$log"; exit 1; }
# dotnet test runs as many test projects at once as the machine has cores (MSBuild's nodes): on CI's two, Boot's QEMU
# boots share the machine with one other project at a time, and timing tests must hold under that load.
# The whole suite stays near 28 of CI's 45 minutes. Tests inside a project run in parallel where xunit's collections
# allow. A test that hangs is stopped after 20 minutes (no single test takes 5) with a dump, and fails.
CIRCULAR=$bin/circular dotnet test Circular.slnx -c Release --nologo --blame-hang-timeout 20m 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# Every test project must have run tests: one that discovers none (a broken reference, a filter) would pass silently.
projects=$(ls tests/*/*.Tests.csproj | wc -l)
summaries=$(grep -cE '^(Passed|Failed)!' "$log")
if grep -q "No test is available" "$log" || [ "$summaries" -ne "$projects" ]; then
  echo "test projects: $projects, but $summaries reported tests (see 'No test is available' above)"
  rc=1
fi
read -r passed failed skipped < <(grep -E '^(Passed|Failed)!' "$log" | awk '
  { for (i = 1; i <= NF; i++) { k = $i; v = $(i + 1); gsub(/[^0-9]/, "", v);
      if (k == "Passed:") p += v; if (k == "Failed:") f += v; if (k == "Skipped:") s += v } }
  END { print p + 0, f + 0, s + 0 }')
rm -rf "$log" "$bin"
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "$rc" -eq 0 ] && [ "${passed:-0}" -gt 0 ] || exit 1
