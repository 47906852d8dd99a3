#!/usr/bin/env bash
# Builds the circular command into ./out, or into DIR (run it as out/circular): a native executable compiled ahead
# of time (the C toolchain it links with comes from scripts/install-deps.sh), and beside it guest/circular, the
# smaller build the Circular initramfs carries into booting machines. Usage: scripts/build.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out}
dotnet publish src/Circular.Cli -c Release -r linux-x64 -o "$out" --nologo -v quiet ${ARTIFACTS:+--artifacts-path "$ARTIFACTS"}
dotnet publish src/Circular.Guest -c Release -r linux-x64 -o "$out/guest" --nologo -v quiet -p:DebugType=none ${ARTIFACTS:+--artifacts-path "$ARTIFACTS/guest"}
rm -f "$out/guest/"*.dbg "$out/guest/"*.pdb
echo "built $(cd "$out" && pwd)/circular"
