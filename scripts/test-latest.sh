#!/usr/bin/env bash
# Run the whole suite against the newest releases of every dependency, in .venv-latest/, to
# learn early what an upstream release breaks; refresh constraints.txt from it when green.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export LEO_LATEST=1 LEO_VENV=.venv-latest
exec scripts/test.sh "$@"
