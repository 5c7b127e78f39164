"""Where the audit database lives: ``LEO_DATABASE_URL``, ``[tool.leo] database_url``, or a file.

The default is a SQLite file under the XDG data directory, so a developer's ``leo verify``
works with no setup; teams point every runner at one PostgreSQL server instead.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from leo.errors import ConfigError

if TYPE_CHECKING:
    from leo.store.repository import AuditStore

ENV_VAR = "LEO_DATABASE_URL"
SUPPORTED = ("sqlite", "postgresql")


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/leo/audit.db``, else ``~/.local/share/leo/audit.db``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "leo" / "audit.db"


def configured_url(repo_dir: Path | None) -> str | None:
    """``database_url`` from ``[tool.leo]`` of ``leo.toml`` or ``pyproject.toml`` in ``repo_dir``."""
    if repo_dir is None:
        return None
    for name in ("leo.toml", "pyproject.toml"):
        path = repo_dir / name
        if not path.is_file():
            continue
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"cannot read {path} ({exc}); fix it or set {ENV_VAR}"
            raise ConfigError(msg) from None
        table = doc.get("tool", {}).get("leo")
        if table is None and name == "leo.toml":
            table = doc
        if isinstance(table, dict):
            value = table.get("database_url")
            if value is not None and not isinstance(value, str):
                msg = f"database_url in {path} must be a string URL"
                raise ConfigError(msg)
            return value
    return None


def resolve_url(
    explicit: str | None = None,
    *,
    config_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The SQLAlchemy URL to use, normalised: an explicit URL (or ``LEO_DATABASE_URL``), then
    the configuration's ``database_url``, then the default SQLite file."""
    env = os.environ if environ is None else environ
    raw = explicit or env.get(ENV_VAR) or config_url
    if not raw:
        return f"sqlite:///{default_path(env)}"
    return normalise(raw)


def normalise(raw: str) -> str:
    """Accept ``postgresql://`` (psycopg 3 is the driver LEO ships) and a bare file path."""
    raw = raw.strip()
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    scheme, _, rest = raw.partition("://")
    dialect, _, driver = scheme.partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    if dialect not in SUPPORTED:
        msg = (
            f"unsupported audit database {scheme}:// in the database URL (supported: sqlite:///PATH, "
            f"postgresql://USER@HOST/DB); fix {ENV_VAR} or [tool.leo] database_url"
        )
        raise ConfigError(msg)
    if dialect == "postgresql" and driver in ("", "psycopg"):
        return f"postgresql+psycopg://{rest}"
    if dialect == "postgresql":
        msg = (
            f"the audit database driver {driver!r} is not supported; use postgresql://… (psycopg 3)"
        )
        raise ConfigError(msg)
    return f"sqlite://{rest}"


def git_output(cwd: Path, *args: str) -> str | None:
    """What a read-only git query prints, or None when it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def repository_key(repo: str) -> tuple[str, Path | None]:
    """The repository as ``leo verify`` records it (a work tree's top level, or ``owner/name``),
    and the work tree whose configuration names the database, if there is one."""
    path = Path(repo)
    if path.is_dir():
        top = git_output(path, "rev-parse", "--show-toplevel")
        if top:
            return top, Path(top)
        return str(path.resolve()), path.resolve()
    return repo, None


def open_store(database_url: str | None, config_dir: Path | None) -> AuditStore:
    """The audit store an explicit URL, the environment or ``config_dir``'s policy names."""
    from leo.store.repository import AuditStore

    return AuditStore.open(database_url, config_url=configured_url(config_dir or Path.cwd()))
