"""The sandbox every execution of a change's code goes through: bubblewrap, fail closed.

A pull request's tests, benchmarks, build backend and setup scripts are hostile code. They run
in new user, PID, IPC, UTS, cgroup, mount and (unless the caller asks for the network) network
namespaces, as an unprivileged uid, with a cleared environment that holds only what the caller
passes (an allow-list, see ``allowed_environ``), the system mounted read-only, a private
``/tmp``, and as the only writable places the paths the caller names (a worktree copy and a
scratch directory). Nothing of LEO is visible: not its processes, environment, files, cache,
audit database, virtualenv, nor the host repository's ``.git``. The PID namespace ends with
the call, so nothing the code starts outlives it (issue 16).

Without bubblewrap or user namespaces there is no sandbox, and the run is refused
(``SandboxUnavailable``) unless the base policy says ``isolation = "none"``; the report then
says the code ran unisolated and the verdict is at best CONDITIONAL_PASS.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from leo.errors import LeoError
from leo.process import ToolResult, run_tool

Isolation = Literal["sandbox", "none"]

#: The uid and gid the change's code runs as inside the sandbox (``nobody``).
SANDBOX_UID = 65534
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    'bubblewrap), or set isolation = "none" in [tool.leo] of the base branch to run the '
    "change's code unisolated"
)
#: Variables copied from LEO's environment into every sandbox: locale and terminal only.
SAFE_ENV = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TERM")
#: Variables an environment setup may also see, so that pip finds the configured index and
#: proxy. A value carrying credentials (``https://user:token@host``) is still withheld.
SETUP_ENV = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT", "PIP_CONSTRAINT", "PIP_RETRIES", "PIP_NO_INDEX",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)  # fmt: skip
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
#: Entries of ``/etc`` the sandbox sees (read-only): name resolution, certificates, the linker,
#: pip's index configuration. Never ``shadow``, ``gitconfig``, ``ssh`` or anything else.
ETC = (
    "alternatives", "ca-certificates", "ca-certificates.conf", "gai.conf", "host.conf",
    "hosts", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types",
    "nsswitch.conf", "os-release", "pip.conf", "pki", "protocols", "python3", "resolv.conf",
    "services", "ssl", "timezone", "xdg/pip",
)  # fmt: skip
#: System directories bound read-only (when they exist and are not symlinks into /usr).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
MB = 1024 * 1024
_URL_CREDENTIALS = re.compile(r"://[^/\s@]+@")
_PROBE_TIMEOUT_S = 30

_isolation: contextvars.ContextVar[Isolation] = contextvars.ContextVar(
    "leo_isolation", default="sandbox"
)
_probed: dict[str, str | None] = {}


class SandboxUnavailable(LeoError):
    """No sandbox can be made here; the change's code is not run without one."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of every process in the sandbox; 0 leaves a limit unset."""

    memory_mb: int = 4096
    """Address space per process (``RLIMIT_AS``)."""
    processes: int = 1024
    """Processes of the sandbox's user (``RLIMIT_NPROC``): stops fork bombs."""
    file_size_mb: int = 1024
    """Largest file a process may write (``RLIMIT_FSIZE``)."""
    cpu_seconds: int = 0
    """CPU time per process (``RLIMIT_CPU``)."""
    open_files: int = 0
    """Open file descriptors per process (``RLIMIT_NOFILE``)."""
    tmp_mb: int = 1024
    """Size of the private ``/tmp`` (a tmpfs)."""

    def prlimit_args(self) -> list[str]:
        """``prlimit`` options for these limits; core dumps are always off."""
        args = ["--core=0"]
        for option, value, scale in (
            ("--as", self.memory_mb, MB),
            ("--nproc", self.processes, 1),
            ("--fsize", self.file_size_mb, MB),
            ("--cpu", self.cpu_seconds, 1),
            ("--nofile", self.open_files, 1),
        ):
            if value > 0:
                args.append(f"{option}={value * scale}")
        return args


@contextlib.contextmanager
def isolation(mode: Isolation) -> Iterator[None]:
    """Within this block, sandboxes run as the base policy's ``isolation`` says."""
    token = _isolation.set(mode)
    try:
        yield
    finally:
        _isolation.reset(token)


def current_isolation() -> Isolation:
    """``"sandbox"`` unless the base policy explicitly chose ``isolation = "none"``."""
    return _isolation.get()


def allowed_environ(
    *,
    home: Path,
    path: Sequence[Path] = (),
    setup: bool = False,
    names: Sequence[str] = (),
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of the change's code: an allow-list, never a deny-list.

    Locale and terminal variables, ``names`` (the caller's explicit pass-through) and, for an
    environment setup, pip's index and proxy variables, each copied from LEO's environment
    only when its value carries no URL credentials; then a private HOME and a plain PATH.
    """
    parent = os.environ if source is None else source
    wanted = [*SAFE_ENV, *names, *(SETUP_ENV if setup else ())]
    env = {n: parent[n] for n in wanted if n in parent and not _URL_CREDENTIALS.search(parent[n])}
    env.update(
        HOME=str(home),
        TMPDIR="/tmp",  # noqa: S108 - the sandbox's own private tmpfs
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PATH=":".join([*(str(p) for p in path), SYSTEM_PATH]),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def interpreter_paths(python: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Directories to bind read-only so that ``python`` (or a venv built on it) runs inside.

    The interpreter's installation prefix, unless it is under ``/usr`` (bound anyway); for a
    virtual environment, the environment itself and the prefix of the interpreter it was made
    from.
    """
    exe = Path(python)
    if not exe.is_absolute():
        found = shutil.which(str(exe))
        if found is None:
            return ()
        exe = Path(found)
    found_paths: list[Path] = []
    cfg = exe.parent.parent / "pyvenv.cfg"
    with contextlib.suppress(OSError):
        for line in cfg.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                found_paths += [exe.parent.parent, Path(value.strip()).resolve().parent]
    found_paths.append(exe.resolve().parent.parent)
    return tuple(p for p in dict.fromkeys(found_paths) if not _under_system(p))


def _under_system(path: Path) -> bool:
    return any(path == Path(s) or path.is_relative_to(s) for s in ("/usr", "/bin", "/lib"))


def sandbox_problem() -> str | None:
    """None when bubblewrap is installed; else one line saying what is missing and what to do.

    Whether it can create namespaces here is checked by ``require_sandbox``.
    """
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed, so the change's code cannot be sandboxed; {INSTALL_HINT}"
    return None


async def require_sandbox() -> str:
    """The path of a working ``bwrap``; raise ``SandboxUnavailable`` (one line) otherwise.

    The probe starts a real sandbox once per process and remembers the answer.
    """
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(problem)
    bwrap = shutil.which("bwrap")
    assert bwrap is not None  # sandbox_problem checked it
    if bwrap not in _probed:
        with tempfile.TemporaryDirectory(prefix="leo-sandbox-probe-") as tmp:
            argv = _bwrap_argv(bwrap, Path(tmp), Sandbox(scratch=Path(tmp)), cwd=Path("/"))
            try:
                probe = await run_tool([*argv, "/bin/true"], env={}, timeout=_PROBE_TIMEOUT_S)
            except LeoError as exc:
                _probed[bwrap] = str(exc)
            else:
                ok = probe.returncode == 0
                _probed[bwrap] = None if ok else probe.stderr_text.strip()[:300] or "no output"
    reason = _probed[bwrap]
    if reason is not None:
        msg = (
            f"bubblewrap cannot create a sandbox here ({reason}); enable unprivileged user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu "
            f"kernel.apparmor_restrict_unprivileged_userns=0), or {INSTALL_HINT.split(', or ')[1]}"
        )
        raise SandboxUnavailable(msg)
    return bwrap


@dataclass(frozen=True)
class Sandbox:
    """Where and how one piece of the change's code runs. Bind paths keep their host path."""

    scratch: Path
    """A private directory of this run (HOME and reports live here); writable inside."""
    writable: tuple[Path, ...] = ()
    """Further directories the code may write, e.g. the worktree copy under test."""
    readable: tuple[Path, ...] = ()
    """Directories the code may read (e.g. ``interpreter_paths``, a prepared virtualenv)."""
    network: bool = False
    """Share the host's network (an environment setup reaching the package index); off: an
    empty network namespace with only its own loopback."""
    limits: Limits = field(default_factory=Limits)

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        stdin: bytes | None = None,
    ) -> ToolResult:
        """Run ``argv`` inside the sandbox with exactly ``env``; everything ends with the call.

        ``argv[0]`` is looked up on ``env["PATH"]`` as the sandbox will see it. Raises
        ``SandboxUnavailable`` when there is no sandbox and the policy did not waive it.
        """
        limits = ["prlimit", *self.limits.prlimit_args(), "--"]
        if current_isolation() == "none":
            return await run_tool(
                [*limits, *argv], cwd=cwd, env=dict(env), timeout=timeout, stdin=stdin
            )
        bwrap = await require_sandbox()
        with tempfile.TemporaryDirectory(prefix="leo-sandbox-etc-") as private:
            command = _bwrap_argv(bwrap, Path(private), self, cwd=cwd)
            return await run_tool(
                [*command, *limits, *argv], env=dict(env), timeout=timeout, stdin=stdin
            )


def _bwrap_argv(bwrap: str, private: Path, box: Sandbox, *, cwd: Path) -> list[str]:
    """bubblewrap's argv for ``box``: namespaces, a read-only system, the caller's binds."""
    argv = [
        bwrap,
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--disable-userns",
        "--hostname", "leo-sandbox",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
    ]  # fmt: skip
    argv.append("--share-net" if box.network else "--unshare-net")
    for path in SYSTEM:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for name in ETC:
        host = f"/etc/{name}"
        if os.path.lexists(host):
            argv += ["--ro-bind-try", host, host]
    # Who the sandbox's user is, without LEO's /etc/passwd (it names the host's accounts).
    (private / "passwd").write_text(
        f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
        f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (private / "group").write_text(f"root:x:0:\nnogroup:x:{SANDBOX_UID}:\n")
    argv += ["--ro-bind", str(private / "passwd"), "/etc/passwd"]
    argv += ["--ro-bind", str(private / "group"), "/etc/group"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(max(box.limits.tmp_mb, 1) * MB), "--tmpfs", "/tmp"]  # noqa: S108
    for place in (box.scratch, *box.writable):
        argv += ["--bind", str(place), str(place)]
    for place in box.readable:  # after the writable ones: a read-only path may lie inside one
        argv += ["--ro-bind", str(place), str(place)]
    argv += ["--remount-ro", "/", "--chdir", str(cwd)]
    return argv
