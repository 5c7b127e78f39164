"""The sandbox against hostile code: real bubblewrap, real processes, real sockets; no mocks."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import anyio
import pytest

from leo.process import ToolResult
from leo.sandbox import (
    Limits,
    Sandbox,
    SandboxUnavailable,
    allowed_environ,
    interpreter_paths,
    isolation,
    require_sandbox,
    sandbox_problem,
)

PYTHON = sys._base_executable  # the interpreter LEO's venv was made from, never the venv
CANARY = "leo-canary-7f3a9c"


def _box(tmp_path: Path, **kwargs: object) -> tuple[Sandbox, dict[str, str]]:
    scratch = tmp_path / "scratch"
    (scratch / "home").mkdir(parents=True)
    box = Sandbox(scratch=scratch, readable=interpreter_paths(PYTHON), **kwargs)  # type: ignore[arg-type]
    return box, allowed_environ(home=scratch / "home")


def _python(box: Sandbox, env: dict[str, str], code: str, timeout: float = 60) -> ToolResult:
    async def run() -> ToolResult:
        return await box.run([PYTHON, "-c", code], cwd=box.scratch, env=env, timeout=timeout)

    return anyio.run(run)


@pytest.fixture(autouse=True)
def _sandbox(leo_sandbox: str) -> None:
    """Every test here needs a working sandbox."""


def test_code_runs_as_nobody_and_sees_only_its_own_processes(tmp_path: Path) -> None:
    box, env = _box(tmp_path)
    done = _python(
        box,
        env,
        "import os; print(os.getuid(), os.getgid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))",
    )
    assert done.returncode == 0, done.stderr_text
    uid, gid, pids = done.stdout_text.split(" ", 2)
    assert (uid, gid) == ("65534", "65534")
    assert os.getpid() not in eval(pids)
    assert len(eval(pids)) <= 4


def test_secrets_in_leos_environment_and_any_proc_environ_stay_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    monkeypatch.setenv("LEO_GITHUB_APP_PRIVATE_KEY", CANARY)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://leo:{CANARY}@localhost/db")
    holder = os.spawnlpe(os.P_NOWAIT, "sleep", "sleep", "60", {**os.environ, "HOLDER": CANARY})
    try:
        box, env = _box(tmp_path)
        code = (
            "import glob, os\n"
            "print(dict(os.environ))\n"
            "for f in glob.glob('/proc/*/environ'):\n"
            "    try: print(open(f, 'rb').read())\n"
            "    except OSError as e: print(f, e)\n"
            f"print(os.path.exists('/proc/{holder}'), os.path.exists('/proc/{os.getpid()}'))\n"
        )
        done = _python(box, env, code)
    finally:
        os.kill(holder, 9)
        os.waitpid(holder, 0)
    assert done.returncode == 0, done.stderr_text
    assert CANARY not in done.stdout_text + done.stderr_text
    assert done.stdout_text.strip().endswith("False False")


def test_no_loopback_listener_and_no_host_unix_socket_answers(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    path = tmp_path / "host.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(path))
    unix.listen()
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0leo-test-{os.getpid()}")
    abstract.listen()
    try:
        box, env = _box(tmp_path)
        code = (
            "import socket\n"
            "def attempt(family, address):\n"
            "    s = socket.socket(family); s.settimeout(3)\n"
            "    try: s.connect(address); return 'connected'\n"
            "    except OSError as e: return type(e).__name__\n"
            f"print(attempt(socket.AF_INET, ('127.0.0.1', {port})))\n"
            f"print(attempt(socket.AF_UNIX, {str(path)!r}))\n"
            f"print(attempt(socket.AF_UNIX, '\\0leo-test-{os.getpid()}'))\n"
            "print(attempt(socket.AF_INET, ('169.254.169.254', 80)))\n"
        )
        done = _python(box, env, code)
    finally:
        listener.close()
        unix.close()
        abstract.close()
    assert done.returncode == 0, done.stderr_text
    assert "connected" not in done.stdout_text, done.stdout_text


def test_only_the_scratch_and_the_named_writable_paths_can_be_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git" / "hooks").mkdir(parents=True)
    tree = tmp_path / "tree"
    tree.mkdir()
    box, env = _box(tmp_path, writable=(tree,))
    targets = {
        "hooks": repo / ".git" / "hooks" / "post-checkout",
        "venv": Path(sys.prefix) / "lib" / "sitecustomize.py",
        "base": Path(PYTHON).resolve().parent.parent / "lib" / "leo-owned.pth",
        "usr": Path("/usr/lib/leo-owned"),
        "etc": Path("/etc/leo-owned"),
        "root": Path("/leo-owned"),
        "tree": tree / "ok",
        "scratch": box.scratch / "ok",
        "tmp": Path("/tmp/ok"),
    }
    code = (
        "import sys\n"
        f"for name, path in {dict((k, str(v)) for k, v in targets.items())!r}.items():\n"
        "    try: open(path, 'w').write('pwned'); print(name, 'written')\n"
        "    except OSError as e: print(name, type(e).__name__)\n"
    )
    done = _python(box, env, code)
    assert done.returncode == 0, done.stderr_text
    written = {
        line.split()[0] for line in done.stdout_text.splitlines() if line.endswith("written")
    }
    assert written == {"tree", "scratch", "tmp"}
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    assert not Path("/tmp/ok").exists()


def test_nothing_the_code_starts_outlives_the_call(tmp_path: Path) -> None:
    box, env = _box(tmp_path)
    marker = f"{time.time_ns() % 10**6 + 10**6}"
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "import os\n"
        f"if os.fork() == 0:\n    os.setsid(); os.execvp('sleep', ['sleep', '{marker}'])\n"
        "print('detached')\n"
    )
    done = _python(box, env, code)
    assert done.stdout_text.strip() == "detached", done.stderr_text
    time.sleep(0.3)
    survivors = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline == f"sleep\0{marker}\0".encode():
            survivors.append(entry.name)
    assert survivors == []


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="the kernel exempts processes whose host uid is root from RLIMIT_NPROC; run as a "
    "non-root user to test the process limit (a fork bomb as root still ends with the PID "
    "namespace at the timeout)",
)
def test_a_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    box, env = _box(tmp_path, limits=Limits(processes=16))
    code = (
        "import os, time\n"
        "made = 0\n"
        "try:\n"
        "    for _ in range(64):\n"
        "        if os.fork() == 0:\n            time.sleep(5); os._exit(0)\n"
        "        made += 1\n"
        "except OSError as e:\n    print('stopped', made, type(e).__name__)\n"
        "else:\n    print('not stopped', made)\n"
    )
    done = _python(box, env, code)
    assert done.stdout_text.startswith("stopped"), done.stdout_text + done.stderr_text
    assert int(done.stdout_text.split()[1]) < 16


def test_network_for_an_environment_setup_is_the_callers_choice(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        box, env = _box(tmp_path, network=True)
        done = _python(
            box,
            env,
            f"import socket; socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), 3); print('ok')",
        )
    finally:
        listener.close()
    assert done.stdout_text.strip() == "ok", done.stderr_text


def test_missing_bubblewrap_refuses_to_run_and_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    problem = sandbox_problem()
    assert problem is not None
    assert "bubblewrap (bwrap) is not installed" in problem
    assert "apt-get install bubblewrap" in problem
    box, env = _box(tmp_path)
    with pytest.raises(SandboxUnavailable, match="not installed"):
        _python(box, env, "print('ran')")
    with pytest.raises(SandboxUnavailable):
        anyio.run(require_sandbox)


def test_isolation_none_runs_unisolated_only_when_the_policy_says_so(tmp_path: Path) -> None:
    box, env = _box(tmp_path)
    with isolation("none"):
        done = _python(box, env, "import os; print(os.getuid())")
    assert done.stdout_text.strip() == str(os.getuid())
