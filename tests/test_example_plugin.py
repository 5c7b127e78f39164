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
        env={**__import__("os").environ, **installed},
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
