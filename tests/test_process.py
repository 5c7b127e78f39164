"""run_tool: output, missing tools, and the kill of the whole process tree."""

from __future__ import annotations

import subprocess

import anyio
import pytest

from leo.errors import ToolNotFoundError
from leo.process import run_tool


def test_collects_output_and_exit_code():
    result = anyio.run(lambda: run_tool(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10))
    assert (result.returncode, result.stdout, result.stderr, result.timed_out) == (
        3,
        b"out\n",
        b"err\n",
        False,
    )


def test_feeds_stdin():
    result = anyio.run(lambda: run_tool(["cat"], stdin=b"hello", timeout=10))
    assert result.stdout == b"hello"


def test_missing_tool_is_a_clear_error():
    with pytest.raises(ToolNotFoundError, match="'leo-no-such-tool' is not installed"):
        anyio.run(lambda: run_tool(["leo-no-such-tool"], timeout=10))


def test_timeout_kills_the_tool_and_its_grandchildren():
    marker = "sleep 3599"
    result = anyio.run(lambda: run_tool(["sh", "-c", f"{marker} & {marker}"], timeout=0.5))
    assert result.timed_out and result.returncode is None
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps


def test_a_daemon_left_behind_does_not_hold_the_call():
    marker = "sleep 3598"
    result = anyio.run(lambda: run_tool(["sh", "-c", f"({marker} &) ; echo done"], timeout=30))
    assert result.returncode == 0 and result.stdout == b"done\n"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps
