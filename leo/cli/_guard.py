"""``leo`` runs its work in a child process: a pass only counts when the child said so itself.

Sub-agents run inside LEO's process, so one that calls ``os._exit(0)`` (or ``sys.exit(0)``, or
is killed) would end ``leo verify`` with exit 0 and no report, which CI reads as PASS (issue
17.6, THREATS.md C-02). The ``leo`` process therefore starts the command again as a child and
waits. The child *seals* its exit code on a private pipe where the command finishes on purpose
(``emit_report``, ``fail``, a finished ``leo agent``). The parent exits with the child's code only
when the seal matches it; a child that died by a signal, or ended with a passing code (0 or 3)
it never sealed, exits 5: no report, no pass. Unsealed failing codes pass through unchanged, as
they fail closed anyway. ``--help``, ``--version`` and the commands that run no plugin code
(``UNGUARDED``) stay in one process: nothing in them could end it early; so do the lane
commands (``LANE``) when no plugin is there to hear their event.

This guards against crashes and careless plugins, not against code that sets out to forge the
seal: that code runs in the child and could write to the pipe itself.

A signal that would end the ``leo`` process (SIGTERM, SIGINT, SIGHUP) is passed on to the child,
which the parent then waits for: a CI runner stops ``leo`` by its process id, and a child left
behind kept working, or kept ``leo metrics serve`` listening on its port. A signal the kernel sent
(the terminal's Ctrl-C, to the whole foreground process group) already reached the child and is
not sent twice. A guard killed outright (SIGKILL, the OOM killer) cannot pass anything on, so
the child asks the kernel for a SIGTERM when its guard dies (Linux's parent-death signal).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import signal

#: The child's end of the seal pipe (a file descriptor number) travels in this variable.
ENV = "LEO_SEAL_FD"
#: The guard's process id, so that the child sees whether the guard died before it started.
GUARD_PID = "LEO_GUARD_PID"
#: Arguments that never run a command: answered in the ``leo`` process itself.
INLINE = frozenset({"--help", "-h", "--version", "-V"})
#: Commands that run plugin code and end in a verdict or a result: sealed only on purpose.
REPORTING = frozenset({"verify", "agent", "aggregate"})
#: Commands that load no plugin and run no code but LEO's and its libraries': run in the
#: ``leo`` process itself, which saves an interpreter's start (benchmarks/RESULTS.md (6)).
UNGUARDED = frozenset({("bundle", "verify")})
#: Commands whose only plugin code is a lane event told to third-party plugins (built-ins hear
#: none): run in the ``leo`` process when ``-p`` names no module and no third party's entry
#: point is installed (``leo.plugins.third_party_listeners``), so no plugin code can run.
LANE = frozenset({("bundle", "create"), ("bundle", "apply")})
#: Exit codes that let a change through (PASS, CONDITIONAL_PASS): never without a seal.
PASSING = frozenset({0, 3})
INTERNAL = 5

_fd: int | None = None
_LISTENERS: dict[tuple[str, ...], bool] = {}


def seal(code: int) -> None:
    """Record, in the child, that the command is ending on purpose with ``code``."""
    global _fd
    if _fd is None:
        return
    fd, _fd = _fd, None
    try:
        os.write(fd, f"{int(code)}\n".encode())
    finally:
        os.close(fd)


def run(command: Callable[[], object], argv: Sequence[str]) -> int:
    """Run ``command`` (the click group) guarded: as the child when started by a guard, else
    inline for ``--help``/``--version`` and ``UNGUARDED``, else by starting the child and
    judging how it ended."""
    global _fd
    if ENV in os.environ:
        _fd = int(os.environ.pop(ENV))
        import signal

        _end_with_guard(os.environ.pop(GUARD_PID, ""))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _held())  # blocked by the guard
        try:
            command()
        except SystemExit as exc:
            if not argv or argv[0] not in REPORTING:
                seal(exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1)
            raise
        return 0
    if not argv or INLINE & set(argv) or tuple(argv[:2]) in UNGUARDED:
        command()
        return 0
    if tuple(argv[:2]) in LANE and not _plugins_could_run(argv):
        command()
        return 0
    return _supervise(list(argv))


def _end_with_guard(guard: str) -> None:
    """Have the kernel send this child SIGTERM when its guard dies (``PR_SET_PDEATHSIG``); it
    stays pending until ``run`` unblocks it. A guard already gone gets the same signal now."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the guard's forwarding is all there is
        return
    if guard.isdigit() and os.getppid() != int(guard):
        os.kill(os.getpid(), signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _plugins_could_run(argv: Sequence[str]) -> bool:
    """Whether a ``LANE`` command could load a plugin that hears its event. Reads every
    ``-p`` value as click would (``-p X`` or ``-pX``); an argument that only looks like one
    errs towards the guard."""
    named = tuple(
        (argv[i + 1] if i + 1 < len(argv) else "") if arg == "-p" else arg[2:]
        for i, arg in enumerate(argv)
        if arg.startswith("-p")
    )
    return listeners(named)


def listeners(plugin_args: tuple[str, ...]) -> bool:
    """``leo.plugins.third_party_listeners`` for these ``-p`` values, asked once per process
    (it reads every entry point): by the guard, then by the command's lane event."""
    if plugin_args not in _LISTENERS:
        from leo.plugins import third_party_listeners

        _LISTENERS[plugin_args] = third_party_listeners(plugin_args)
    return _LISTENERS[plugin_args]


def _supervise(argv: list[str]) -> int:
    # Imported here: the commands that run in this process (``UNGUARDED``) need neither.
    import signal
    import subprocess

    read, write = os.pipe()
    env = {**os.environ, ENV: str(write), GUARD_PID: str(os.getpid())}
    # Held from before the child starts, so none ends this process and leaves the child behind;
    # the child inherits the mask and unblocks them first thing (``run``).
    held = _held()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        child = subprocess.Popen([sys.executable, "-m", "leo", *argv], pass_fds=(write,), env=env)
        os.close(write)
        while child.poll() is None:
            # SIGCHLD wakes the wait when the child ends; the timeout only bounds a lost one.
            got = signal.sigtimedwait(held, 1.0)
            if got is not None and got.si_signo != signal.SIGCHLD and got.si_code <= 0:
                child.send_signal(got.si_signo)  # si_code <= 0: sent by a process, to this one
        code = child.returncode
        while signal.sigtimedwait(held, 0) is not None:
            pass  # the child has ended: a signal still pending has nothing left to stop
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    os.set_blocking(read, False)
    try:
        sealed = os.read(read, 64).decode("ascii", "replace").strip()
    except BlockingIOError:
        sealed = ""
    finally:
        os.close(read)
    if code < 0:
        _say(f"LEO's worker was killed by signal {-code}; no report was written")
        return INTERNAL
    if sealed != str(code) and code in PASSING:
        _say(
            f"LEO's worker exited {code} without finishing its command (a plugin may have "
            "called os._exit or sys.exit); no report was written, so this is not a pass"
        )
        return INTERNAL
    return code


def _held() -> set[signal.Signals]:
    """The signals the guard waits for: those it passes on to its child, and the child's end."""
    import signal

    return {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}


def _say(message: str) -> None:
    sys.stderr.write(f"leo: error: {message}\n")
