"""examples/leo-license installs like a third party's package and runs inside LEO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "leo-license"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {"PYTHONPATH": str(target)}


def test_installed_example_is_listed_checked_and_run(installed, leo_cli, leo_repo):
    doc = json.loads(leo_cli("plugins", "--json", env=installed).stdout)
    plugin = next(p for p in doc["plugins"] if p["name"] == "license")
    assert (plugin["distribution"], plugin["subagents"]) == ("leo-license", ["license"])

    check = leo_cli("plugins", "check", "license", env=installed, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "license: conforms" in check.stdout

    repo = leo_repo(base={"requirements.txt": ""}, head={"requirements.txt": "pluggy\n"})
    done = leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "--agents", "license", "--format", "json", "-q", env=installed,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["agents"][0]["plugin"] == "leo-license"
    assert report["verdict"] == "PASS", report["reasons"]
