"""examples/leo-license installs like a third party's package and runs inside LEO."""

from __future__ import annotations

import json
import os
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

    check = leo_cli("plugins", "check", "license", "--json", env=installed, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    conformance = json.loads(check.stdout)
    assert conformance["conforms"] is True
    # Its sample_files put the awkward changes into requirements.txt and pyproject.toml, so
    # the situations reach added_dependencies instead of "the change adds no dependencies".
    status = {s["situation"]: s["status"] for s in conformance["situations"]}
    for reached in ("renamed file", "huge file", "non-UTF-8 text", "path with spaces and unicode"):
        assert status[reached] == "passed", (reached, status)
    assert "note:" not in check.stderr

    repo = leo_repo(base={"requirements.txt": ""}, head={"requirements.txt": "pluggy\n"})
    done = leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "--agents", "license", "--format", "json", "-q", env=installed,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["agents"][0]["plugin"] == "leo-license"
    assert report["verdict"] == "PASS", report["reasons"]


def test_the_examples_own_tests_pass_against_the_installed_package(installed, tmp_path):
    """Its tests import ``leo_license`` as a user's would: installed, no ``sys.path`` patch
    (``-P`` and a foreign working directory keep the checkout off ``sys.path``)."""
    assert not (EXAMPLE / "tests" / "conftest.py").exists()
    where = tmp_path / "where.py"
    where.write_text("import leo_license\n\ndef test_where():\n    print(leo_license.__file__)\n")
    done = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         str(EXAMPLE / "tests"), str(where)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, **installed},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 passed" in done.stdout and "skipped" not in done.stdout, done.stdout
    assert f"{installed['PYTHONPATH']}/leo_license/__init__.py" in done.stdout, done.stdout


TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "writing-plugins.md"


def _python_blocks(section: str) -> list[str]:
    text = TUTORIAL.read_text().split(section, 1)[1].split("\n## ", 1)[0]
    import re

    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)  # not indented examples


def test_the_tutorials_sub_agent_is_the_examples_code_verbatim():
    source = (EXAMPLE / "leo_license" / "__init__.py").read_text()
    (block,) = _python_blocks("## 2. The sub-agent")
    pieces = [p.strip() for p in block.split("# ... added_dependencies")[0].split("\n\n\n")]
    pieces.append(block.split("...\n", 1)[1].strip())
    comment, imports = pieces[0].split("\n", 1)
    assert comment.startswith("# examples/leo-license/")
    for piece in [imports, *pieces[1:]]:
        assert piece in source, piece[:80]


def test_the_tutorials_by_name_test_runs_against_the_example(installed, tmp_path):
    (block,) = _python_blocks("## 3. Tests with LEO's helpers")
    test = block[block.index("def test_by_name_as_leo_verify_loads_it") :]
    (tmp_path / "test_tutorial.py").write_text(test)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, **installed},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_examples_readme_lists_every_rule_id_with_its_severity():
    import re

    source = (EXAMPLE / "leo_license" / "__init__.py").read_text()
    rules = re.findall(r'rule_id="([a-z_.]+)", severity="([a-z]+)"', source)
    readme = (EXAMPLE / "README.md").read_text()
    assert rules
    for rule_id, severity in rules:
        assert f"| `{rule_id}` | {severity} |" in readme, rule_id
    assert ".venv/bin/pip install" not in readme
    # It installs into a fresh environment from the checkout, and its tests run from there.
    env = "/tmp/leo-license-env/bin/"
    assert f"python3 -m venv {env[:-5]}" in readme
    assert f'{env}python -m pip install -c constraints.txt \\\n    ".[testing]"' in readme
    assert f"{env}pytest examples/leo-license/tests" in readme
