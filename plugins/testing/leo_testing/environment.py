"""The virtual environment the tests run in, cached by the hash of the dependency files.

One directory per key under the cache dir. A run holds a shared ``flock`` on the key's lock file
while it uses the environment; building takes the exclusive lock, so concurrent runs never see
a half-built environment and a rebuild waits for the runs still using the old one. A build is
published atomically: the manifest (with a fingerprint of every file) is written to a temporary
name and renamed into place last. The change's code can write into the environment, so the
fingerprint is checked before reuse and after each run; a mismatch discards the environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from leo import LeoError, Tool, run_tool
from leo_testing.sandbox import Sandbox, expand
from leo_testing.settings import Settings

MANIFEST = "leo-environment.json"
_FORMAT = 1
_LOCK_POLL_S = 0.1
_MAX_DEPENDENCY_FILE = 8 * 1024 * 1024


class EnvironmentSetupError(LeoError):
    """The environment could not be created or its setup command failed."""


@dataclass(frozen=True)
class Environment:
    """A ready virtual environment."""

    path: Path
    key: str
    reused: bool
    setup_s: float
    """Seconds spent building it in this run (0 when reused)."""

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def tools(self, names: tuple[str, ...] = ("pytest", "coverage", "pytest-cov")) -> list[Tool]:
        """Versions of the test tools installed in the environment (from their metadata)."""
        from importlib.metadata import distributions

        found = {}
        for site in (self.path / "lib").glob("python*/site-packages"):
            for dist in distributions(path=[str(site)]):
                name = (dist.metadata["Name"] or "").lower()
                if name in names and name not in found:
                    found[name] = str(dist.version)[:50]
        return [Tool(name=n, version=found[n]) for n in names if n in found]


def dependency_files(tree: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Regular files (not symlinks) below ``tree`` that match ``patterns``, sorted."""
    found = set()
    for pattern in patterns:
        for path in tree.glob(pattern):
            if (
                path.is_file()
                and not path.is_symlink()
                and path.stat().st_size <= _MAX_DEPENDENCY_FILE
            ):
                found.add(path)
    return sorted(found)


def environment_key(tree: Path, settings: Settings) -> str:
    """sha256 of the interpreter, the setup recipe and every dependency file's path and bytes."""
    python = Path(settings.python)
    try:
        stat = python.resolve().stat()
        interpreter = [str(python), str(python.resolve()), stat.st_size, stat.st_mtime_ns]
    except OSError:
        interpreter = [str(python)]
    recipe = {
        "format": _FORMAT,
        "interpreter": interpreter,
        "leo_python": sys.version if settings.python == sys.executable else "",
        "setup": settings.setup,
        "extras": settings.extras,
        "runner_requirements": settings.runner_requirements,
        "system_site_packages": settings.system_site_packages,
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for path in dependency_files(tree, settings.dependency_files):
        rel = path.relative_to(tree).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:32]


def fingerprint(root: Path) -> str:
    """sha256 over every path, symlink target and file content below ``root`` (manifest aside)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(
            filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        ):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if rel == MANIFEST or rel.startswith(MANIFEST):
                continue
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            if os.path.islink(path):
                digest.update(b"L" + os.readlink(path).encode("utf-8", "surrogateescape") + b"\0")
                continue
            st = os.lstat(path)
            digest.update(b"F" + st.st_mode.to_bytes(4, "big"))
            file_digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    file_digest.update(block)
            digest.update(file_digest.digest())
    return digest.hexdigest()


def _read_manifest(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


async def _is_valid(path: Path, key: str, verify: bool) -> bool:
    manifest = _read_manifest(path)
    if manifest is None or manifest.get("key") != key or not (path / "bin" / "python").exists():
        return False
    if not verify:
        return True
    actual = await anyio.to_thread.run_sync(fingerprint, path)
    return actual == manifest.get("fingerprint")


@contextlib.asynccontextmanager
async def _flock(lock_path: Path, mode: int) -> AsyncIterator[int]:
    """Hold ``flock(mode)`` on ``lock_path``; polls without blocking so cancellation works."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await anyio.sleep(_LOCK_POLL_S)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def default_setup(tree: Path, settings: Settings, report: Path) -> list[list[str]]:
    """Install the project with its test extras, its requirements files and the test runner."""
    targets: list[str] = []
    pyproject = tree / "pyproject.toml"
    metadata: dict[str, object] = {}
    if pyproject.is_file() and not pyproject.is_symlink():
        try:
            metadata = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            metadata = {}
    project = metadata.get("project")
    installable = isinstance(project, dict) or any(
        (tree / name).is_file() for name in ("setup.py", "setup.cfg")
    )
    if installable:
        declared = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
        extras = [e for e in settings.extras if isinstance(declared, dict) and e in declared]
        targets.append(f"{tree}[{','.join(extras)}]" if extras else str(tree))
    for path in requirement_files(tree):
        targets += ["-r", str(path)]
    targets += list(settings.runner_requirements)
    if not targets:
        return []
    return [["{python}", "-m", "pip", "install", "--report", str(report), *targets]]


def requirement_files(tree: Path) -> list[Path]:
    """The requirement files the tests need: the runtime ``requirements.txt`` and those named for
    tests, else a ``dev`` one. Docs, build, typing and full dev locks are left out: they often pin
    the project itself at its last release, which cannot be installed beside the head (click
    8.1.8's ``requirements/dev.txt`` pins click 8.1.7 through its docs requirements)."""
    found = [
        p
        for p in sorted(tree.glob("*requirements*.txt")) + sorted(tree.glob("requirements/*.txt"))
        if p.is_file() and not p.is_symlink()
    ]
    runtime = [p for p in found if p.name == "requirements.txt"]
    tests = [p for p in found if "test" in p.name.lower()]
    dev = [p for p in found if "dev" in p.name.lower()]
    return runtime + (tests or dev)


def installed_from_directory(report: Path) -> list[str]:
    """Names of the distributions pip installed from a local directory (the project itself)."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return []
    names = []
    for item in data.get("install", []) if isinstance(data, dict) else []:
        info = item.get("download_info", {}) if isinstance(item, dict) else {}
        name = item.get("metadata", {}).get("name") if isinstance(item, dict) else None
        if isinstance(info, dict) and "dir_info" in info and isinstance(name, str):
            names.append(name)
    return names


async def _build(path: Path, key: str, tree: Path, settings: Settings, sandbox: Sandbox) -> None:
    if path.exists():
        await anyio.to_thread.run_sync(shutil.rmtree, path)
    argv = [settings.python, "-m", "venv"]
    if settings.system_site_packages:
        argv.append("--system-site-packages")
    if settings.setup == "none":
        argv.append("--without-pip")
    env = sandbox.environ("setup")
    made = await run_tool([*argv, str(path)], cwd=tree, env=env, timeout=settings.setup_timeout)
    if made.timed_out or made.returncode != 0:
        msg = f"could not create a virtual environment with {settings.python}: {_tail(made)}"
        raise EnvironmentSetupError(msg)
    report = sandbox.root / "pip-report.json"
    if settings.setup == "default":
        steps = default_setup(tree, settings, report)
    elif settings.setup == "none":
        steps = []
    else:
        steps = [list(step) for step in settings.setup]
    env = sandbox.environ("setup", venv=path)
    values = {"python": str(path / "bin" / "python"), "project": str(tree)}
    for step in steps:
        argv = expand(step, values)
        done = await sandbox.run(
            argv, phase="setup", cwd=tree, env=env, timeout=settings.setup_timeout, venv=path
        )
        if done.timed_out or done.returncode != 0:
            what = "timed out" if done.timed_out else f"exited {done.returncode}"
            msg = f"the environment setup {' '.join(step[:4])} ... {what}: {_tail(done)}"
            raise EnvironmentSetupError(msg)
    if settings.setup == "default":
        # The cached environment outlives this worktree: keep the project's dependencies but
        # not a stale copy of the project itself; the tests import it from the worktree.
        names = installed_from_directory(report)
        if names:
            argv = [values["python"], "-m", "pip", "uninstall", "-y", *names]
            await sandbox.run(
                argv, phase="setup", cwd=tree, env=env, timeout=settings.setup_timeout, venv=path
            )
    print_ = await anyio.to_thread.run_sync(fingerprint, path)
    manifest = {"key": key, "fingerprint": print_, "created": time.time(), "format": _FORMAT}
    tmp = path / f"{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, path / MANIFEST)  # the atomic publish: without the manifest, no reuse


def _tail(result: object) -> str:
    stderr = getattr(result, "stderr_text", "") or getattr(result, "stdout_text", "")
    return " ".join(stderr.strip().splitlines()[-5:])[-800:] or "no output"


@contextlib.asynccontextmanager
async def prepare(tree: Path, settings: Settings, sandbox: Sandbox) -> AsyncIterator[Environment]:
    """An environment for ``tree``: reused when its key and fingerprint match, else built.

    Holds a shared lock while the caller uses it, so no other run rebuilds it meanwhile.
    """
    key = await anyio.to_thread.run_sync(environment_key, tree, settings)
    cache = settings.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / key
    lock = cache / f"{key}.lock"
    while True:
        async with _flock(lock, fcntl.LOCK_SH):
            if await _is_valid(path, key, settings.verify_environment):
                yield Environment(path=path, key=key, reused=True, setup_s=0.0)
                return
        async with _flock(lock, fcntl.LOCK_EX) as fd:
            if await _is_valid(path, key, settings.verify_environment):
                continue  # another run built it while we waited
            started = time.monotonic()
            with contextlib.suppress(OSError):
                (path / MANIFEST).unlink()
            await _build(path, key, tree, settings, sandbox)
            fcntl.flock(fd, fcntl.LOCK_SH)  # keep it while we use it
            yield Environment(
                path=path, key=key, reused=False, setup_s=round(time.monotonic() - started, 3)
            )
            return


async def discard_if_modified(env: Environment, settings: Settings) -> bool:
    """True (and the environment unpublished) when the run changed the environment's files."""
    if not settings.verify_environment:
        return False
    manifest = _read_manifest(env.path)
    actual = await anyio.to_thread.run_sync(fingerprint, env.path)
    if manifest is not None and actual == manifest.get("fingerprint"):
        return False
    with contextlib.suppress(OSError):
        (env.path / MANIFEST).unlink()  # the next run rebuilds it under the exclusive lock
    return True
