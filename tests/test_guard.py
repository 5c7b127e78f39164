"""The guard: a verdict exit code comes only from a run that wrote its report (issue 17.6),
and the worker never outlives the ``leo`` process."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from leo.errors import ExitCode


def verify(leo_cli, repo, env, *args):
    return leo_cli(
        "verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
        "-q", "-p", "leo_fixture_exits", "--no-cache", *args, env=env,
    )  # fmt: skip


@pytest.fixture
def env(plugin_path):
    return {**plugin_path, "LEO_LOAD_PLUGINS": ""}


@pytest.mark.parametrize("agent", ["osexit", "osexit3", "killed"])
def test_a_sub_agent_that_ends_the_process_is_exit_5_not_a_pass(leo_cli, small_repo, env, agent):
    done = verify(leo_cli, small_repo, env, "--agents", f"fine2,{agent}")
    assert done.returncode == ExitCode.INTERNAL, done.stdout + done.stderr
    assert done.stdout == ""
    assert "no report was written" in done.stderr


def test_a_run_that_writes_its_report_keeps_its_exit_code(leo_cli, small_repo, env):
    done = verify(leo_cli, small_repo, env, "--agents", "fine2", "--format", "json")
    assert done.returncode == ExitCode.PASS, done.stderr
    assert json.loads(done.stdout)["verdict"] == "PASS"


def test_bad_input_keeps_exit_2(leo_cli, small_repo, env):
    done = verify(leo_cli, small_repo, env, "--agents", "nosuchagent")
    assert done.returncode == ExitCode.USAGE, done.stderr


def test_commands_without_a_verdict_keep_exit_0(leo_cli):
    assert leo_cli("schema").returncode == 0
    assert leo_cli("verify", "--help").returncode == 0
    assert leo_cli("--version").returncode == 0


@pytest.mark.parametrize("spelling", [["-p", "leo_fixture_exits"], ["-pleo_fixture_exits"]])
def test_a_lane_event_that_ends_the_process_is_exit_5_not_a_handoff(
    leo_cli, small_repo, env, tmp_path, spelling
):
    """``bundle create`` runs in the ``leo`` process only when no plugin could hear its event;
    a ``-p`` module, however spelled, puts it back in the guarded worker."""
    done = leo_cli(
        "bundle", "create", "--repo", str(small_repo.path), "--base", "main", "--head", "feature",
        "-o", str(tmp_path / "artifact.tar.zst"), *spelling,
        env={**env, "LEO_DATABASE_URL": str(tmp_path / "audit.db")},
    )  # fmt: skip
    assert done.returncode == ExitCode.INTERNAL, done.stdout + done.stderr
    assert "CODEX-READY" not in done.stdout
    assert "no report was written" in done.stderr


def _default_signals() -> None:
    """In the child: the signals at their defaults, as for a ``leo`` a CI runner starts. An
    ignored signal is inherited (``nohup``, a background job of a script) and never delivered,
    which ``leo`` rightly keeps."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _serve(extra: list[str] = (), **popen) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "leo", "metrics", "serve", "--port", "0", *extra]
    popen.setdefault("preexec_fn", _default_signals)
    return subprocess.Popen(argv, text=True, **popen)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan whose reaper has not reaped it yet is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(pid)


def _stop(proc: subprocess.Popen[str], workers: list[int]) -> None:
    for pid in workers:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGTERM, ExitCode.INTERNAL), (signal.SIGHUP, ExitCode.INTERNAL), (signal.SIGINT, 0)],
)
def test_a_signal_to_leo_stops_its_worker_and_frees_the_port(sig, code):
    """A CI runner stops ``leo`` by its process id: the worker goes with it, not left serving
    (``leo metrics serve`` kept its port after CI). SIGINT ends the server on purpose (exit 0);
    a worker killed by SIGTERM or SIGHUP wrote no report (exit 5)."""
    proc = _serve(stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://\S+", line).group(0)
        with urllib.request.urlopen(url, timeout=10) as response:  # serving, not starting
            assert response.status == 200
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        workers = _children(proc.pid)
        assert len(workers) == 1, workers
        proc.send_signal(sig)
        # no stderr read: a left worker holds it open. 30 s: a liveness bound, not a speed
        # one (a busy 2-core CI machine once took over 10 s to stop the worker after SIGINT)
        assert proc.wait(timeout=30) == code
        assert _gone_within(workers[0], 5)
        with socket.socket() as sock:  # as the next server would: the scrape's TIME_WAIT is no one
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen()
    finally:
        _stop(proc, workers)


def test_an_interrupt_during_a_scrape_still_stops_the_server(tmp_path):
    """wsgiref answers an exception in a request, KeyboardInterrupt included, with a 500 and
    serves on: SIGINT arriving mid-scrape left ``leo metrics serve`` running (the SIGINT case
    above hung once in CI). A FIFO as the metrics file holds the scrape open while it arrives."""
    import threading

    fifo = tmp_path / "leo.prom"
    os.mkfifo(fifo)
    proc = _serve(stderr=subprocess.PIPE, extra=["--metrics-file", str(fifo)])
    workers: list[int] = []
    statuses: list[int] = []
    try:
        url = re.search(r"http://\S+", proc.stderr.readline()).group(0)
        workers = _children(proc.pid)

        def scrape() -> None:
            with urllib.request.urlopen(url, timeout=30) as response:
                statuses.append(response.status)

        scraper = threading.Thread(target=scrape, daemon=True)
        scraper.start()
        assert _blocked_on_the_fifo(workers[0], 10)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # the interrupt lands while the worker waits for the file
        with contextlib.suppress(OSError):  # ENXIO: the worker no longer waits to read it
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"# TYPE leo_up gauge\nleo_up 1\n")
            os.close(fd)
        scraper.join(30)
        assert proc.wait(timeout=30) == 0
        assert statuses == [200]  # the scrape in flight is answered, then the server stops
    finally:
        _stop(proc, workers)


def _blocked_on_the_fifo(pid: int, seconds: float) -> bool:
    """The worker sleeps in the kernel opening the FIFO (``/proc/PID/wchan``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/wchan").read_text() in ("wait_for_partner", "fifo_open"):
                return True
        time.sleep(0.05)
    return False


def test_a_guard_killed_outright_takes_its_worker_with_it():
    """SIGKILL (a CI runner's last resort, the OOM killer) gives the guard no chance to pass
    anything on: the worker used to be orphaned and serve on."""
    proc = _serve(stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        assert "http://" in proc.stderr.readline()
        workers = _children(proc.pid)
        assert len(workers) == 1, workers
        proc.kill()
        proc.wait(timeout=10)
        assert _gone_within(workers[0], 5)
    finally:
        _stop(proc, workers)


def test_ctrl_c_at_a_terminal_stops_leo_metrics_serve():
    """The terminal sends Ctrl-C to its whole foreground process group, the worker included:
    the worker used to inherit the guard's ignoring SIGINT and served on."""
    import fcntl
    import pty
    import select
    import termios

    terminal, tty = pty.openpty()

    def take_terminal() -> None:  # runs after setsid(): the pty becomes the controlling one
        _default_signals()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = _serve(
        stdin=tty, stdout=tty, stderr=tty, start_new_session=True, preexec_fn=take_terminal
    )
    os.close(tty)
    workers: list[int] = []
    output = b""

    def read(until: bytes, seconds: float) -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while until not in output and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    output += os.read(terminal, 4096)
                except OSError:  # EIO: every end of the pty's other side is closed
                    return

    try:
        read(b"/metrics", 30)
        workers = _children(proc.pid)
        assert len(workers) == 1, output
        os.write(terminal, b"\x03")
        assert proc.wait(timeout=10) == 0, output
        assert _gone_within(workers[0], 5)
        read(b"never", 0.5)
        assert b"Traceback" not in output, output
    finally:
        _stop(proc, workers)
        os.close(terminal)
