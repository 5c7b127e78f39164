#!/usr/bin/env bash
# Set up LEO and run its main job on the built-in example repository (demo-repo/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/.venv/bin/python" "$root/examples/demo_repo.py" "$root/demo-repo" >/dev/null
exec "$root/.venv/bin/leo" verify --repo "$root/demo-repo" --base main --head feature/demo "$@"
