#!/usr/bin/env bash
# Builds the circular command into ./out (run it as out/circular).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Circular.Cli -c Release -o out --nologo -v quiet
echo "built $(pwd)/out/circular"
