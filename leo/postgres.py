"""A throw-away PostgreSQL server from the Debian binaries, on a free loopback port.

Used by the Database sub-agent to prove migrations apply, and by the tests of the audit store.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (the
Debian package creates it). Starting and stopping are short blocking steps with timeouts.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from leo.errors import LeoError

_STEP_TIMEOUT_S = 60


class PostgresUnavailable(LeoError):
    """No PostgreSQL server binaries (or no way to run them) on this machine."""


def find_bindir() -> Path | None:
    """``LEO_PG_BINDIR``, else the newest ``/usr/lib/postgresql/*/bin`` holding ``initdb``."""
    env = os.environ.get("LEO_PG_BINDIR")
    candidates = (
        [env]
        if env
        else sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name),
            reverse=True,
        )
    )
    for c in candidates:
        if c and (Path(c) / "initdb").is_file():
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TemporaryPostgres:
    """``with TemporaryPostgres() as pg: pg.url`` - a private server, removed on exit."""

    def __init__(self, *, user: str = "leo") -> None:
        self.user = user
        self.port = 0
        self.dir: Path | None = None
        self._run_as: list[str] = []

    @property
    def url(self) -> str:
        """SQLAlchemy/psycopg URL of the ``postgres`` database (trust auth, loopback only)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        try:
            subprocess.run(
                [*self._run_as, *argv],
                check=True,
                capture_output=True,
                text=True,
                timeout=_STEP_TIMEOUT_S,
                cwd=self.dir,
            )
        except subprocess.CalledProcessError as exc:
            log = self.dir / "server.log" if self.dir else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            msg = f"PostgreSQL step {Path(argv[0]).name} failed: {(exc.stderr or exc.stdout).strip()} {tail}"
            raise PostgresUnavailable(msg) from None
        except subprocess.TimeoutExpired:
            msg = f"PostgreSQL step {Path(argv[0]).name} did not finish within {_STEP_TIMEOUT_S}s"
            raise PostgresUnavailable(msg) from None

    def start(self) -> TemporaryPostgres:
        bindir = find_bindir()
        if bindir is None:
            msg = "no PostgreSQL server binaries found (install the Debian package postgresql, or set LEO_PG_BINDIR)"
            raise PostgresUnavailable(msg)
        self.dir = Path(tempfile.mkdtemp(prefix="leo-pg-"))
        if os.geteuid() == 0:
            try:
                pg = pwd.getpwnam("postgres")
            except KeyError:
                msg = (
                    "PostgreSQL refuses to run as root and there is no 'postgres' user to run it as"
                )
                raise PostgresUnavailable(msg) from None
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._bindir = bindir
        self._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "30",
            "start",
        )
        return self

    def stop(self) -> None:
        if self.dir is None:
            return
        with contextlib.suppress(PostgresUnavailable):
            self._run(
                str(self._bindir / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> TemporaryPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
