#!/usr/bin/env bash
# Set up LEO and run the whole test suite: lint, types, the import floors (pyproject.toml
# [tool.importlinter]), then the tests of LEO and its plugins.
set -euo pipefail
venv="${LEO_VENV:-.venv}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
"$venv"/bin/ruff check leo plugins tests examples
"$venv"/bin/mypy
"$venv"/bin/lint-imports --no-cache
# examples/leo-license's own tests run against it installed (tests/test_example_plugin.py).
# One worker per core (pytest-xdist; at most 4, since each builds its own test environments and
# PostgreSQL server); LEO_TEST_WORKERS=0 runs in one process. Tests that time code (marker
# `timing`) run afterwards on their own: a busy neighbour core makes a benchmark look slower.
"$venv"/bin/python -m pytest -n "${LEO_TEST_WORKERS:-auto}" --maxprocesses 4 --durations 15 \
    -m "not timing" tests plugins "$@"
status=0
"$venv"/bin/python -m pytest --durations 5 -m timing tests plugins "$@" || status=$?
# Exit 5 (no test) is a failure, unless the caller's own arguments chose no timing test.
if [ "$status" = 5 ] && [ "$#" -gt 0 ]; then status=0; fi
exit "$status"
