"""LEO and its five sub-agents install outside the checkout: from wheels, or pinned to a commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from leo.github.workflow import SUBAGENT_DISTRIBUTIONS
from leo.plugins import BUILTIN_PLUGINS

ROOT = Path(__file__).resolve().parent.parent
DISTS = ["leo-gate", *SUBAGENT_DISTRIBUTIONS]
#: This run's pip installs into the fresh environments (``--python``), which have none.
PIP = (sys.executable, "-m", "pip")


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _venv(where: Path) -> Path:
    """A fresh environment whose third-party dependencies come from this test run's.

    A ``.pth`` line adds this run's site-packages after the new environment's own; the
    editable installs there stay inert (a path line does not process that directory's .pth
    files), so ``leo`` and the sub-agents can only come from what the test installs.
    """
    _run(sys.executable, "-m", "venv", "--without-pip", where, cwd=where.parent)
    site = next((where / "lib").glob("python3*/site-packages"))
    (site / "zz_leo_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


def _assert_all_six_load_from(bin_dir: Path, cwd: Path) -> None:
    where = _run(bin_dir / "python", "-c", "import leo; print(leo.__file__)", cwd=cwd)
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)
    listed = json.loads(_run(bin_dir / "leo", "plugins", "--json", cwd=cwd).stdout)
    found = {p["distribution"] for p in listed["plugins"] if p.get("builtin")}
    assert set(SUBAGENT_DISTRIBUTIONS) <= found, listed
    agents = {
        a if isinstance(a, str) else a["name"] for p in listed["plugins"] for a in p["subagents"]
    }
    assert set(BUILTIN_PLUGINS) <= agents, listed
    assert listed["failures"] == [], listed


def test_the_workflow_table_names_the_built_in_sub_agents():
    assert {f"leo-{n}": f"plugins/{n}" for n in BUILTIN_PLUGINS} == SUBAGENT_DISTRIBUTIONS


@pytest.mark.slow
def test_the_readme_wheels_build_into_dist_and_install_outside_the_checkout(tmp_path):
    readme = (ROOT / "README.md").read_text()
    build = "python -m pip wheel --no-deps --wheel-dir dist . plugins/*/"
    assert build in readme and "python -m pip install -c constraints.txt dist/*.whl" in readme
    dist = tmp_path / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--wheel-dir",
        dist,
        ".",
        *sorted(str(p) for p in (ROOT / "plugins").glob("*/")),
        cwd=ROOT,
    )
    wheels = sorted(dist.glob("*.whl"))
    assert sorted(w.name.split("-")[0] for w in wheels) == sorted(
        d.replace("-", "_") for d in DISTS
    )
    bin_dir = _venv(tmp_path / "venv")
    _run(
        *PIP,
        "--python",
        bin_dir / "python",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        *wheels,
        cwd=tmp_path,
    )
    _assert_all_six_load_from(bin_dir, tmp_path)


@pytest.mark.slow
def test_install_pinned_to_a_commit_of_the_repository_with_subdirectories(tmp_path):
    sha = _run("git", "rev-parse", "HEAD", cwd=ROOT).stdout.strip()
    url = f"git+file://{ROOT}@{sha}"
    reqs = [f"leo-gate @ {url}"]
    reqs += [f"{d} @ {url}#subdirectory={sub}" for d, sub in SUBAGENT_DISTRIBUTIONS.items()]
    bin_dir = _venv(tmp_path / "venv")
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", *reqs, cwd=tmp_path)
    _assert_all_six_load_from(bin_dir, tmp_path)
    record = json.loads(
        _run(
            bin_dir / "python",
            "-c",
            "import importlib.metadata as m; print(m.distribution('leo-gate')"
            ".read_text('direct_url.json'))",
            cwd=tmp_path,
        ).stdout
    )
    assert record["vcs_info"]["commit_id"] == sha


def test_verify_without_sub_agents_names_the_distributions_to_install(leo_repo, leo_cli):
    repo = leo_repo(head={"app.py": "x = 1\n"})
    blocked = [a for n in BUILTIN_PLUGINS for a in ("-p", f"no:{n}")]
    done = leo_cli(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "feature",
        *blocked,
        env={"LEO_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert all(d in done.stderr for d in SUBAGENT_DISTRIBUTIONS), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.slow
def test_the_example_plugin_installs_beside_leo_in_a_fresh_environment(tmp_path):
    """examples/leo-license's README: LEO from the checkout and the example, installed into an
    environment of their own (not the checkout's .venv); its conformance run and its own tests
    pass there, importing both as installed."""
    readme = (ROOT / "examples" / "leo-license" / "README.md").read_text()
    assert '".[testing]" ./plugins/security "./examples/leo-license[test]"' in readme
    bin_dir = _venv(tmp_path / "venv")
    _run(
        *PIP, "--python", bin_dir / "python", "install", "-q", "--no-deps",
        ".", "plugins/security", "examples/leo-license", cwd=ROOT, timeout=900,
    )  # fmt: skip
    where = _run(bin_dir / "python", "-c", "import leo_license; print(leo_license.__file__)",
                 cwd=tmp_path).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(bin_dir.parent), where
    check = _run(bin_dir / "leo", "plugins", "check", "license", "--json", cwd=tmp_path)
    assert json.loads(check.stdout)["conforms"] is True
    tests = _run(
        bin_dir / "python", "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        ROOT / "examples" / "leo-license" / "tests", cwd=tmp_path,
    )  # fmt: skip
    assert "7 passed" in tests.stdout, tests.stdout
