"""Files shared between runs: written so that readers see the old content or the new, never
half of it, and locked so that one run at a time changes what they guard."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file beside it and a rename; raise ``OSError``.

    mkstemp creates the file 0600 under a unique name (two writers never share a temporary
    file); the result gets the mode ``open()`` would have given it (0666 less the umask), so a
    CI job's other steps can read it. Nothing is left behind on failure.
    """
    umask = os.umask(0o022)
    os.umask(umask)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.asynccontextmanager
async def held_lock(
    path: Path, mode: int = fcntl.LOCK_EX, *, poll_s: float = 0.1
) -> AsyncIterator[int]:
    """Hold ``flock(mode)`` on ``path`` (created if missing) and yield its descriptor. Polled
    without blocking, so a cancelled wait never holds it; closing the file releases it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await anyio.sleep(poll_s)
        yield fd
    finally:
        os.close(fd)
