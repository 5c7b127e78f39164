"""A pull request's tests attack LEO from inside the sandbox; every attack must fail.

Real bubblewrap, real pytest in a real virtual environment; the host side checks afterwards
that nothing leaked, was written or kept running (THREATS.md D-01..D-05, issue 16).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

CANARY = "leo-canary-5d1e0b"

EVIL = """\
import glob, os, socket, subprocess


def test_reads_no_secret():
    seen = repr(dict(os.environ))
    for path in glob.glob('/proc/*/environ'):
        try:
            seen += repr(open(path, 'rb').read())
        except OSError:
            pass
    assert {canary!r} not in seen


def test_reaches_no_host_socket():
    for family, address in ((socket.AF_INET, ('127.0.0.1', {port})),
                            (socket.AF_UNIX, {unix!r})):
        s = socket.socket(family)
        s.settimeout(3)
        try:
            s.connect(address)
        except OSError:
            continue
        raise AssertionError(f'connected to {{address}}')


def test_writes_nothing_of_the_host():
    for path in ({hook!r}, {venv!r}):
        try:
            open(path, 'w').write('pwned')
        except OSError:
            continue
        raise AssertionError(f'wrote {{path}}')


def test_leaves_a_daemon_behind():
    subprocess.Popen(['sleep', '{marker}'], start_new_session=True)
"""


def _survivors(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_a_hostile_test_suite_cannot_reach_secrets_sockets_host_files_or_outlive_the_run(
    leo_repo, run_testing, leo_sandbox, tmp_path, monkeypatch
):
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://leo:{CANARY}@localhost/leo")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "agent.sock"))
    unix.listen()
    marker = str(time.time_ns() % 10**6 + 2 * 10**6)
    leo_venv_file = Path(sys.prefix) / "lib" / "leo-pwned.pth"
    repo = leo_repo(base={"calc.py": "X = 1\n", "tests/test_ok.py": "def test_ok():\n    pass\n"})
    hook = repo.path / ".git" / "hooks" / "post-checkout"
    evil = EVIL.format(
        canary=CANARY,
        port=listener.getsockname()[1],
        unix=str(tmp_path / "agent.sock"),
        hook=str(hook),
        venv=str(leo_venv_file),
        marker=marker,
    )
    repo.commit({"tests/test_evil.py": evil})
    try:
        result = run_testing(repo.change(), coverage=False)
    finally:
        listener.close()
        unix.close()
    agent = result.agent("testing")
    assert agent.status == "passed", [f.message for f in agent.findings]
    assert agent.details["passed"] == 5
    assert CANARY not in result.report.model_dump_json()
    assert not hook.exists() and not leo_venv_file.exists()
    assert _survivors(marker) == []


def test_a_test_cannot_poison_the_cached_environment(leo_repo, run_testing, leo_sandbox):
    poison = (
        "import glob, sys\n\n\ndef test_poison():\n"
        "    site = glob.glob(sys.prefix + '/lib/python*/site-packages')[0]\n"
        "    try:\n"
        "        open(site + '/sitecustomize.py', 'w').write('raise SystemExit')\n"
        "    except OSError:\n"
        "        return\n"
        "    raise AssertionError('the environment was writable')\n"
    )
    repo = leo_repo(base={"calc.py": "X = 1\n", "tests/test_poison.py": poison})
    result = run_testing(repo.change(), coverage=False)
    agent = result.agent("testing")
    assert agent.status == "passed", [f.message for f in agent.findings]
    assert "discarded" not in agent.details["environment"]


def test_without_a_sandbox_the_tests_are_not_run(leo_repo, run_testing, monkeypatch, tmp_path):
    import shutil

    repo = leo_repo(base={"tests/test_ok.py": "def test_ok():\n    pass\n"})
    only_git = tmp_path / "bin"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(only_git))  # git, but no bubblewrap
    agent = run_testing(repo.change()).agent("testing")
    assert agent.status == "error"
    assert "bubblewrap (bwrap) is not installed" in agent.summary
    assert "apt-get install bubblewrap" in agent.summary


@pytest.mark.skipif(not os.path.exists("/usr/bin/prlimit"), reason="needs util-linux prlimit")
def test_isolation_none_in_the_policy_runs_unsandboxed_and_says_so(leo_repo, run_testing):
    from leo.sandbox import isolation

    repo = leo_repo(base={"tests/test_ok.py": "def test_ok():\n    pass\n"})
    with isolation("none"):
        agent = run_testing(repo.change(), coverage=False).agent("testing")
    assert agent.status == "passed", [f.message for f in agent.findings]
    assert agent.details["isolation"]["sandbox"] == "none"
