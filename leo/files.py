"""Writing a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
