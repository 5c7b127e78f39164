"""run_tool and run_tool_blocking: output, missing tools, and the kill of the whole process tree.

Every test runs both: the blocking runner (``leo bundle create``'s, no event loop) must behave
exactly as the one the sub-agents use."""

from __future__ import annotations

import secrets
import subprocess

import anyio
import pytest

from leo.errors import ToolNotFoundError
from leo.process import run_tool, run_tool_blocking


def _in_event_loop(argv, **kwargs):
    return anyio.run(lambda: run_tool(argv, **kwargs))


@pytest.fixture(params=[_in_event_loop, run_tool_blocking], ids=["run_tool", "run_tool_blocking"])
def run(request):
    return request.param


def test_collects_output_and_exit_code(run):
    result = run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (result.returncode, result.stdout, result.stderr, result.timed_out) == (
        3,
        b"out\n",
        b"err\n",
        False,
    )


def test_feeds_stdin(run):
    assert run(["cat"], stdin=b"hello", timeout=10).stdout == b"hello"
    big = bytes(range(256)) * 4096  # more than a pipe holds: written while output is read
    assert run(["cat"], stdin=big, timeout=10).stdout == big
    assert run(["cat"], stdin=b"", timeout=10).stdout == b""


def test_a_tool_that_reads_no_input_is_no_error(run):
    result = run(["sh", "-c", "exec 0<&-; echo done"], stdin=b"x" * (1 << 20), timeout=10)
    assert result.returncode == 0 and result.stdout == b"done\n"


def test_missing_tool_is_a_clear_error(run):
    with pytest.raises(ToolNotFoundError, match="'leo-no-such-tool' is not installed"):
        run(["leo-no-such-tool"], timeout=10)


def test_timeout_kills_the_tool_and_its_grandchildren(run):
    # a marker of this run alone: the other parametrisation may be running on another worker
    marker = f"sleep 3599.{secrets.randbelow(10**6):06d}"
    result = run(["sh", "-c", f"{marker} & {marker}"], timeout=0.5)
    assert result.timed_out and result.returncode is None
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_a_daemon_left_behind_does_not_hold_the_call(run):
    marker = f"sleep 3598.{secrets.randbelow(10**6):06d}"
    result = run(["sh", "-c", f"({marker} &) ; echo done"], timeout=30)
    assert result.returncode == 0 and result.stdout == b"done\n"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps
