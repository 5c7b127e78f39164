"""A pull request's benchmark attacks LEO from inside the sandbox; every attack must fail."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from leo_performance import PerformanceAgent

#: These tests time code: scripts/test.sh runs them alone, after the parallel run.
pytestmark = pytest.mark.timing

CANARY = "leo-canary-b3e2f1"
QUICK = {"pairs": 1, "min_rounds": 3, "max_time": 0.01}

EVIL = """\
import glob, os, socket, subprocess


def attacks():
    seen = repr(dict(os.environ))
    for path in glob.glob('/proc/*/environ'):
        try:
            seen += repr(open(path, 'rb').read())
        except OSError:
            pass
    assert {canary!r} not in seen
    s = socket.socket()
    s.settimeout(3)
    assert s.connect_ex(('127.0.0.1', {port})) != 0
    for path in ({hook!r}, {venv!r}):
        try:
            open(path, 'w').write('pwned')
        except OSError:
            continue
        raise AssertionError(f'wrote {{path}}')
    subprocess.Popen(['sleep', '{marker}'], start_new_session=True)
    return 1


def test_evil(benchmark):
    assert benchmark(attacks) == 1
"""


def test_a_hostile_benchmark_cannot_reach_secrets_sockets_host_files_or_outlive_the_run(
    leo_repo, leo_run, leo_sandbox, monkeypatch
):
    monkeypatch.setenv("GH_PAT", CANARY)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"https://hooks.example/{CANARY}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    marker = str(time.time_ns() % 10**6 + 3 * 10**6)
    leo_venv_file = Path(sys.prefix) / "lib" / "leo-pwned.pth"
    repo = leo_repo(base={"README.md": "x\n"})
    hook = repo.path / ".git" / "hooks" / "post-checkout"
    evil = EVIL.format(
        canary=CANARY,
        port=listener.getsockname()[1],
        hook=str(hook),
        venv=str(leo_venv_file),
        marker=marker,
    )
    from leo.repos import git

    git(repo.path, "checkout", "-q", "main")
    repo.commit({"tests/test_evil.py": evil}, "evil at base")
    git(repo.path, "checkout", "-q", "feature")
    git(repo.path, "rebase", "-q", "main")
    repo.commit({"tests/test_evil.py": evil + "\n"}, "evil at head")
    try:
        run = leo_run(repo.change(), [PerformanceAgent], config={"agents": {"performance": QUICK}})
    finally:
        listener.close()
    result = run.agent("performance")
    assert result.status in ("passed", "warned"), (result.summary, result.findings)
    assert not [f for f in result.findings if f.rule_id.endswith("_failed")], result.findings
    assert [b["nodeid"] for b in result.details["benchmarks"]] == ["tests/test_evil.py::test_evil"]
    assert CANARY not in run.report.model_dump_json()
    assert not hook.exists() and not leo_venv_file.exists()
    for entry in Path("/proc").iterdir():
        try:
            assert (entry / "cmdline").read_bytes() != f"sleep\0{marker}\0".encode()
        except OSError:
            continue
