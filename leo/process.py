"""The one helper that runs external tools: argv only, a timeout, and a kill of the whole tree.

Tools run in their own session (process group), so a timeout or a cancellation kills the tool
and everything it started, never only the direct child (python/cpython#76116 shows why).
``run_tool`` runs them from the event loop; ``run_tool_blocking`` does the same for code that
has none (``leo bundle create``), which spares it anyio and asyncio.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leo import tracing
from leo.errors import ToolNotFoundError

if TYPE_CHECKING:
    from anyio.abc import ByteReceiveStream, Process

#: Output kept per stream; a hostile or broken tool cannot exhaust memory.
MAX_OUTPUT = 64 * 1024 * 1024
_KILL_GRACE_S = 2.0

#: Process groups started and not yet reaped, with the thread that started them, so the tools
#: of an abandoned sub-agent (each runs on its own thread) can be killed.
_live_groups: dict[int, int] = {}


@dataclass(frozen=True)
class ToolResult:
    """What a tool did."""

    argv: tuple[str, ...]
    returncode: int | None
    """None when the tool was killed at its timeout."""
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    truncated: bool = False
    """True when output beyond ``MAX_OUTPUT`` was dropped."""

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


async def run_tool(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> ToolResult:
    """Run ``argv`` and collect its output; kill its process group at ``timeout`` or on cancel.

    Raises ``ToolNotFoundError`` when ``argv[0]`` is not installed. A non-zero exit is not an
    error here: many tools (bandit, zizmor) use it to report findings.
    """
    with tracing.span(f"leo.tool {os.path.basename(argv[0])}") as span:
        result = await _run_tool(argv, cwd=cwd, env=env, timeout=timeout, stdin=stdin)
        _record(span, result)
    return result


def _record(span: Any, result: ToolResult) -> None:
    """The tool's exit on its tracing span (when tracing is on)."""
    if span is not None:
        span.set_attribute(
            "leo.tool.returncode", -1 if result.returncode is None else result.returncode
        )
        span.set_attribute("leo.tool.timed_out", result.timed_out)


def _result(
    argv: Sequence[str], returncode: int | None, out: bytearray, err: bytearray, truncated: bool
) -> ToolResult:
    return ToolResult(
        argv=tuple(argv),
        returncode=returncode,
        stdout=bytes(out),
        stderr=bytes(err),
        timed_out=returncode is None,
        truncated=truncated,
    )


async def _run_tool(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    timeout: float | None,
    stdin: bytes | None,
) -> ToolResult:
    import anyio

    exe = _executable(argv[0], env)
    process = await anyio.open_process(
        [exe, *argv[1:]],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _live_groups[process.pid] = threading.get_ident()
    out, err = bytearray(), bytearray()
    truncated = False

    async def drain(stream: ByteReceiveStream | None, into: bytearray) -> None:
        nonlocal truncated
        if stream is None:
            return
        async for chunk in stream:
            room = MAX_OUTPUT - len(into)
            if len(chunk) > room:
                truncated = True
            into += chunk[: max(room, 0)]

    async def feed() -> None:
        assert process.stdin is not None
        async with process.stdin:
            try:
                await process.stdin.send(stdin or b"")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the tool exited without reading all its input

    returncode: int | None = None
    try:
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain, process.stdout, out)
                tg.start_soon(drain, process.stderr, err)
                if stdin is not None:
                    tg.start_soon(feed)
                returncode = await process.wait()
                # Kill what the tool left behind (daemons holding our pipes) so draining ends.
                _signal_group(process.pid, signal.SIGKILL)
    finally:
        with anyio.CancelScope(shield=True):
            await _terminate_tree(process)
    return _result(argv, returncode, out, err, truncated)


def run_tool_blocking(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> ToolResult:
    """``run_tool`` without an event loop: the same session, output cap and kills. Inside
    ``leo bundle create`` the loop's read of a 24 MiB ``git diff`` cost 0.03-0.04 s of CPU more
    than this one, and anyio with asyncio 0.03-0.05 s to import (benchmarks/RESULTS.md (6))."""
    exe = _executable(argv[0], env)
    with tracing.span(f"leo.tool {os.path.basename(argv[0])}") as span:
        process = subprocess.Popen(
            [exe, *argv[1:]],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _live_groups[process.pid] = threading.get_ident()
        out, err = bytearray(), bytearray()
        try:
            returncode, truncated = _collect(process, stdin, out, err, timeout)
        finally:
            _terminate_tree_blocking(process)
        result = _result(argv, returncode, out, err, truncated)
        _record(span, result)
    return result


def _collect(
    process: subprocess.Popen[bytes],
    stdin: bytes | None,
    out: bytearray,
    err: bytearray,
    timeout: float | None,
) -> tuple[int | None, bool]:
    """Feed ``stdin`` and drain both pipes until they close; ``(returncode, truncated)``, with
    None for a tool still running at ``timeout``. A tool that exits while something it left
    behind holds the pipes has its group killed, so the pipes close (as ``run_tool`` does)."""
    import selectors

    assert process.stdout is not None and process.stderr is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    into = {process.stdout.fileno(): out, process.stderr.fileno(): err}
    pending = memoryview(stdin or b"")
    truncated = False
    with selectors.DefaultSelector() as selector:
        for fd in into:
            selector.register(fd, selectors.EVENT_READ)
        if process.stdin is not None:
            selector.register(process.stdin.fileno(), selectors.EVENT_WRITE)
        while selector.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None, truncated
            # Wake up now and then to notice a tool that exited with its pipes still held.
            events = selector.select(0.5 if left is None else min(left, 0.5))
            if not events and process.poll() is not None:
                _signal_group(process.pid, signal.SIGKILL)
            for key, _ in events:
                if key.fd not in into:  # stdin has room
                    try:
                        pending = pending[os.write(key.fd, pending[: 1 << 16]) :]
                    except BrokenPipeError:
                        pending = pending[:0]  # the tool exited without reading all its input
                    if not pending:
                        selector.unregister(key.fd)
                        assert process.stdin is not None
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, 1 << 20)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                buffer = into[key.fd]
                room = MAX_OUTPUT - len(buffer)
                if len(chunk) > room:
                    truncated = True
                buffer += chunk[: max(room, 0)]
    left = None if deadline is None else max(deadline - time.monotonic(), 0)
    try:
        return process.wait(left), truncated
    except subprocess.TimeoutExpired:
        return None, truncated


def _terminate_tree_blocking(process: subprocess.Popen[bytes]) -> None:
    """``_terminate_tree`` for ``run_tool_blocking``."""
    pgid = process.pid
    if process.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            process.wait(_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(pgid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    _live_groups.pop(pgid, None)


def _executable(name: str, env: Mapping[str, str] | None) -> str:
    exe = find_tool(name, env)
    if exe is None:
        msg = f"tool {name!r} is not installed (not found on PATH); install it to run this check"
        raise ToolNotFoundError(msg)
    return exe


def find_tool(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Path of executable ``name``: LEO's own environment first (tools installed with a
    plugin live beside the interpreter even when the venv is not activated), then ``PATH``."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    own = shutil.which(name, path=os.path.dirname(sys.executable))
    return own or shutil.which(name, path=(env or os.environ).get("PATH"))


async def _terminate_tree(process: Process) -> None:
    """SIGTERM the tool's process group, SIGKILL it after a grace period, and reap the child."""
    import anyio

    pgid = process.pid
    if process.returncode is None:
        _signal_group(pgid, signal.SIGTERM)
        with anyio.move_on_after(_KILL_GRACE_S):
            await process.wait()
    _signal_group(pgid, signal.SIGKILL)
    if process.returncode is None:
        await process.wait()
    await process.aclose()
    _live_groups.pop(pgid, None)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tools_of(thread_id: int | None) -> int:
    """Kill every tool still running that ``thread_id`` started (an abandoned sub-agent's)."""
    groups = [pgid for pgid, owner in list(_live_groups.items()) if owner == thread_id]
    for pgid in groups:
        _signal_group(pgid, signal.SIGKILL)
        _live_groups.pop(pgid, None)
    return len(groups)
