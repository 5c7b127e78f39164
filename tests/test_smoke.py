"""The demo repository verifies end to end through the real CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from demo_repo import create  # noqa: E402


def test_demo_change_fails_with_real_findings(tmp_path, leo_cli):
    repo = create(tmp_path / "demo")
    done = leo_cli(
        "verify",
        "--repo",
        str(repo),
        "--base",
        "main",
        "--head",
        "feature/demo",
        "--format",
        "json",
        "-q",
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "FAIL"
    # Every built-in sub-agent did its work on the example: none is missing evidence.
    assert {
        a["name"]: a["status"] for a in report["agents"] if a["status"] in ("error", "timeout")
    } == {}
    rules = {f["rule_id"] for a in report["agents"] for f in a["findings"]}
    assert "security.bandit.B602" in rules
