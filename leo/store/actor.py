"""Who is acting, as every audit row records it."""

from __future__ import annotations

import getpass
import os
import socket


def default_actor() -> str:
    """Who is acting: ``LEO_ACTOR``, ``GITHUB_ACTOR``, else ``user@host``."""
    for var in ("LEO_ACTOR", "GITHUB_ACTOR"):
        if os.environ.get(var):
            return os.environ[var][:200]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:200]
