#!/usr/bin/env bash
# Create .venv/ (or $LEO_VENV) at the repository root and install LEO, its five built-in sub-agents (each its
# own distribution, installed as a third party's would be) and the test tools. Idempotent.
set -euo pipefail
venv="${LEO_VENV:-.venv}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if [ ! -x "$venv"/bin/python ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv"/.leo-setup
constraints=(-c constraints.txt)
if [ "${LEO_LATEST:-}" = 1 ]; then
    constraints=(--upgrade --upgrade-strategy eager)
fi
inputs=$(cat pyproject.toml plugins/*/pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
inputs="$inputs ${LEO_LATEST:-}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
    exit 0
fi
echo "leo: setting up $venv (the first run takes a few minutes)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pip_install() {
    if ! "$venv"/bin/python -m pip install --disable-pip-version-check "$@" >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" >&2
        echo "leo: setup failed: pip install $* (output above)" >&2
        exit 1
    fi
}
pip_install --upgrade pip
plugins=()
for p in plugins/*/; do plugins+=(-e "$p"); done
pip_install "${constraints[@]}" -e ".[test]" "${plugins[@]}"
"$venv"/bin/leo --version >/dev/null
echo "$inputs" > "$stamp"
