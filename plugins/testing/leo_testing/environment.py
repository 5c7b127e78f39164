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
import re
import secrets
import shutil
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from leo import (
    Change,
    LeoError,
    Tool,
    ToolResult,
    held_lock,
    is_test_side,
    planted,
    run_git,
    run_tool,
)
from leo_testing.harness import is_harness_file
from leo_testing.requirements import (
    Requirements,
    dependency_groups,
    project_name,
    read_requirements,
    requirement_files,
)
from leo_testing.sandbox import Sandbox, expand
from leo_testing.settings import Settings

MANIFEST = "leo-environment.json"
#: The directory in the environment that holds the project's own metadata (``project_metadata``).
PROJECT_METADATA = "leo-project-metadata"
#: The files of a ``.dist-info`` that say what the project is; RECORD and the rest would name
#: files the environment no longer has.
_METADATA_FILES = ("METADATA", "entry_points.txt", "top_level.txt")
#: The directory in the environment with wheels of the project's build requirements, so that a
#: test which builds the project (pytest-checkdocs, ``pip install .``) finds them offline.
BUILD_WHEELHOUSE = "leo-build-wheelhouse"
#: PEP 518: what a project without ``[build-system] requires`` is built with.
_DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
#: Raised whenever the same dependency files come to mean another environment, so environments
#: cached before are rebuilt once: 5 builds a shared environment from the base commit and adds
#: the wheelhouse of build requirements; 6 records what the change's own build planted there;
#: 7 builds the project's wheel while the environment is read-only (``_build_project``); 8 counts
#: start-up code and pytest plugins of distributions installed from local paths, and a
#: ``.dist-info`` no pip install reported, as planted; 9 installs the runner's oldest major
#: release when none is as old as ``resolve_as_of`` (``lowest_majors``); 10 installs the test
#: extras a built wheel declares (a setup.py's ``extras_require``), else its ``dev`` extra.
_FORMAT = 10
_LOCK_POLL_S = 0.1
_MAX_DEPENDENCY_FILE = 8 * 1024 * 1024
#: The pip that knows ``--uploaded-prior-to`` (``resolve_as_of``); ``python -m venv`` bundles an
#: older one. It is installed as of today: it is LEO's installer, not the project's dependency.
PIP_AS_OF = "pip>=26,<27"


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
    notes: tuple[str, ...] = ()
    """What the setup left out or changed (a requirement pip could not install here), and why."""
    runner_as_of_today: bool = False
    """With ``resolve_as_of``: no release of the runner requirements was uploaded before the
    date, so LEO's test runner was installed as of today (the project's requirements were not)."""
    pruned: tuple[str, ...] = ()
    """Keys of the cached environments this run's build deleted (``prune``)."""
    tampered: tuple[str, ...] = ()
    """What the change's own build did to the environment beyond installing: installed files
    that differ from their distribution's RECORD, start-up hooks no distribution installed
    (``planted``)."""

    def has_module(self, name: str) -> bool:
        """Whether the environment has the top-level module or package ``name`` installed."""
        return any(
            any(site.glob(pattern))
            for site in self.path.glob("lib/python*/site-packages")
            for pattern in (f"{name}.py", f"{name}/__init__.py")
        )

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def wheelhouse(self) -> Path | None:
        """The wheels of the project's build requirements (``BUILD_WHEELHOUSE``), if made."""
        path = self.path / BUILD_WHEELHOUSE
        return path if path.is_dir() and not path.is_symlink() else None

    @property
    def project_metadata(self) -> Path | None:
        """The directory with the project's own ``.dist-info``, for the tests' ``PYTHONPATH``:
        the tests import the project from the worktree, and ``importlib.metadata.version`` of
        it must still answer (humanize 4.10.0 asks for its own version at import)."""
        path = self.path / PROJECT_METADATA
        return path if path.is_dir() and not path.is_symlink() else None

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
    if settings.resolve_as_of is not None:  # unset keeps the keys of environments built before
        recipe["resolve_as_of"] = settings.resolve_as_of
    groups = dependency_groups(tree, settings.extras)
    if groups:  # the same pyproject.toml installs more than it did before groups were read
        recipe["dependency_groups"] = groups
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for path in dependency_files(tree, settings.dependency_files):
        rel = path.relative_to(tree).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:32]


def edits_dependencies(change: Change, patterns: Sequence[str]) -> bool:
    """Whether the change adds, edits, renames or deletes a file that may key the environment
    (a path matching a pattern at any depth: more than ``dependency_files`` finds, never less)."""
    return any(
        PurePosixPath(path).match(pattern)
        for f in change.files
        for path in (f.path, f.old_path)
        if path
        for pattern in patterns
    )


def private_key(key: str, change: Change) -> str:
    """The key of an environment the change's own build made: its head commit's alone."""
    return hashlib.sha256(f"{key}:{change.head_sha}".encode()).hexdigest()[:32]


#: Where an environment keeps the files its build wrote into the sources (``keep_generated``).
GENERATED = "leo-generated"
#: What a build leaves that no test needs: its own caches and staging copies.
_NOT_GENERATED = frozenset({"__pycache__", "build", ".eggs"})
_MAX_GENERATED_BYTES = 32 * 1024 * 1024


async def untracked_files(
    tree: Path, leave_out: Callable[[str], bool] = lambda path: False
) -> dict[str, bytes]:
    """Files in ``tree`` that git does not track, ignored ones included: what building the
    environment generated there (hatch-vcs and setuptools-scm write ``version.py`` into the
    sources; platformdirs 4.2.1, filelock 3.13.4). Symlinks, test and harness files (the setup
    ran the change's code: no ``conftest.py``, ``.pth`` or test module it wrote may reach another
    run), paths ``leave_out`` names, and anything past the size cap are left out."""
    result = await run_git(str(tree), "ls-files", "--others", "-z", timeout=300, check=False)
    kept: dict[str, bytes] = {}
    room = _MAX_GENERATED_BYTES
    for raw in result.stdout.split(b"\0") if result.returncode == 0 else ():
        path = raw.decode(errors="surrogateescape")
        target = tree.joinpath(*path.split("/"))
        if not path or target.is_symlink() or not target.is_file():
            continue
        if is_test_side(path) or is_harness_file(path) or leave_out(path):
            continue
        size = target.stat().st_size
        if size > room:
            continue
        kept[path] = target.read_bytes()
        room -= size
    return kept


def _build_leftover(path: str) -> bool:
    parts = path.split("/")
    return bool(_NOT_GENERATED.intersection(parts[:-1])) or any(
        p.endswith(".egg-info") for p in parts
    )


async def keep_generated(build_tree: Path, venv: Path) -> list[str]:
    """Copy the files the setup wrote into ``build_tree`` (``untracked_files``, without the
    build's caches and staging copies) into the environment, so that every run that uses it can
    put them into its own worktree: a reused environment builds nothing, and a shared one was
    built in the base's worktree; a team's own setup may generate modules too."""
    generated = await untracked_files(build_tree, _build_leftover)
    for rel, data in generated.items():
        target = venv / GENERATED / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return list(generated)


def restore_generated(venv: Path, tree: Path) -> list[str]:
    """Write the environment's generated files into ``tree`` where it has none of its own, and
    only into folders really inside it: a folder the change replaced with a symlink must not
    carry LEO's write out of the worktree."""
    root = venv / GENERATED
    inside = tree.resolve()
    written = []
    for source in sorted(root.rglob("*")) if root.is_dir() else ():
        if source.is_symlink() or not source.is_file():
            continue
        rel = source.relative_to(root).as_posix()
        target = tree.joinpath(*rel.split("/"))
        if target.exists() or target.is_symlink() or not target.parent.is_dir():
            continue
        if not target.parent.resolve().is_relative_to(inside):
            continue
        shutil.copyfile(source, target)
        written.append(rel)
    return written


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


#: An environment's directory name in the cache: its key.
_KEY = re.compile(r"[0-9a-f]{32}")


def _touch(lock: Path) -> None:
    """Record a use of the environment whose lock this is: ``prune`` keeps the recently used."""
    with contextlib.suppress(OSError):
        os.utime(lock)


def prune(cache: Path, keep: int, in_use: str) -> list[str]:
    """Delete the cached environments beyond the ``keep`` most recently used (``in_use``, this
    run's, counts as one and stays), and any no run can use (no manifest: a failed or discarded
    build; another ``_FORMAT``), so the cache does not grow with every dependency set and every
    change that edits one. Environments built for one change (``private``) go before shared
    ones. One that another run holds is never touched: its lock is tried, never waited for.
    Returns the keys deleted."""
    entries = []
    for path in cache.iterdir():
        if path.name == in_use or not _KEY.fullmatch(path.name) or path.is_symlink():
            continue
        if not path.is_dir():
            continue
        manifest = _read_manifest(path) or {}
        usable = manifest.get("format") == _FORMAT
        lock = cache / f"{path.name}.lock"
        used = lock.stat().st_mtime if lock.is_file() else 0.0
        entries.append((usable, not manifest.get("private"), used, path))
    entries.sort(key=lambda e: e[:3], reverse=True)  # usable, shared, recently used: kept first
    deleted = []
    for n, (usable, _shared, _used, path) in enumerate(entries):
        if usable and n < keep - 1:
            continue
        fd = os.open(cache / f"{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:  # the lock file stays: a run waiting on it then finds no environment and builds
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with contextlib.suppress(OSError):
                (path / MANIFEST).unlink()  # unpublished first: a half-deleted one is never used
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(path.name)
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
    return deleted


def _read_manifest(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _notes(path: Path) -> tuple[str, ...]:
    notes = (_read_manifest(path) or {}).get("notes")
    return tuple(str(n)[:500] for n in notes) if isinstance(notes, list) else ()


def _tampered(path: Path) -> tuple[str, ...]:
    found = (_read_manifest(path) or {}).get("tampered")
    return tuple(str(n)[:500] for n in found) if isinstance(found, list) else ()


def _runner_as_of_today(path: Path) -> bool:
    return (_read_manifest(path) or {}).get("runner_as_of_today") is True


async def _is_valid(path: Path, key: str, verify: bool) -> bool:
    manifest = _read_manifest(path)
    if manifest is None or manifest.get("key") != key or not (path / "bin" / "python").exists():
        return False
    if not verify:
        return True
    actual = await anyio.to_thread.run_sync(fingerprint, path)
    return actual == manifest.get("fingerprint")


def read_pyproject(tree: Path) -> tuple[dict[str, object], str | None]:
    """``tree``'s ``pyproject.toml`` as a table (empty when absent), and why it could not be
    read, if it could not."""
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file() or pyproject.is_symlink():
        return {}, None
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8")), None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return {}, f"pyproject.toml could not be read ({str(exc)[:200]})"


def _installable(tree: Path, metadata: dict[str, object]) -> bool:
    # pip needs setup.py or pyproject.toml; a setup.cfg alone often holds only tool settings.
    return (
        isinstance(metadata.get("project"), dict)
        or "build-system" in metadata
        or (tree / "setup.py").is_file()
    )


def build_requirements(tree: Path) -> tuple[list[str], list[str]]:
    """What building the project takes from the index, and notes on what was left out.

    ``[build-system] requires`` (PEP 518's default without it), each a PEP 508 requirement,
    never a pip option; plus ``wheel`` for a setuptools backend, which before setuptools 70.1
    asks for it to build a wheel (pypa/build's metadata build for pytest-checkdocs does).
    """
    metadata, error = read_pyproject(tree)
    if error is not None:
        return [], [f"{error}: its build requirements are not available to the tests offline"]
    if not _installable(tree, metadata):
        return [], []
    system = metadata.get("build-system", {})
    system = system if isinstance(system, dict) else {}
    declared = system.get("requires", list(_DEFAULT_BUILD_REQUIRES))
    if not isinstance(declared, list):
        declared = [declared]
    requires, notes = [], []
    for item in declared:
        try:
            if not isinstance(item, str):
                raise InvalidRequirement(item)
            requires.append(str(Requirement(item)))
        except InvalidRequirement:
            notes.append(f"build requirement {str(item)[:100]!r} is not a requirement; left out")
    backend = system.get("build-backend")
    setuptools = not isinstance(backend, str) or backend.startswith("setuptools")
    if setuptools and "wheel" not in {Requirement(r).name.lower() for r in requires}:
        requires.append("wheel")
    return requires, notes


def install_targets(
    tree: Path, settings: Settings, wheels: Sequence[Path], wanted: Sequence[str] = ()
) -> list[str]:
    """The project's ``wheels`` (``_build_project``), with the test extras it declares (else its
    ``dev`` extra, as ``dependency_groups`` falls back to the ``dev`` group) and those its
    requirement files ask for (``wanted``), as pip targets.

    The extras declared are ``pyproject.toml``'s and the built wheels' (``Provides-Extra``): a
    setup.py's ``extras_require`` is known only once built (tenacity 8.3.0's ``test``, loguru
    0.7.2's ``dev``, which alone names freezegun, had never been installed)."""
    metadata, _error = read_pyproject(tree)
    project = metadata.get("project")
    table = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    declared = {canonicalize_name(str(e)) for e in table} if isinstance(table, dict) else set()
    declared |= wheel_extras(wheels)
    tests = [e for e in settings.extras if canonicalize_name(e) in declared]
    if not tests and "dev" in declared:
        tests = ["dev"]
    extras = list(dict.fromkeys([*tests, *(e for e in wanted if canonicalize_name(e) in declared)]))
    extras += [e for e in wanted if e not in extras and not isinstance(project, dict)]
    return [f"{w}[{','.join(extras)}]" if extras else str(w) for w in wheels]


#: A wheel's METADATA larger than this is not read for its extras (the change's build wrote it).
_MAX_METADATA = 1_000_000


def wheel_extras(wheels: Sequence[Path]) -> set[str]:
    """The extras ``wheels`` declare (``Provides-Extra`` of each ``.dist-info/METADATA``),
    normalised; a wheel that cannot be read declares none."""
    import email.parser
    import zipfile

    found: set[str] = set()
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as archive:
                infos = [
                    i for i in archive.infolist()
                    if re.fullmatch(r"[^/]+\.dist-info/METADATA", i.filename)
                ]  # fmt: skip
                if len(infos) != 1 or infos[0].file_size > _MAX_METADATA:
                    continue
                text = archive.read(infos[0])
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
            continue
        headers = email.parser.BytesHeaderParser().parsebytes(text)
        found |= {canonicalize_name(e) for e in headers.get_all("Provides-Extra") or ()}
    return found


def as_of_args(settings: Settings) -> list[str]:
    """pip's options that resolve as of ``resolve_as_of`` (none when it is unset)."""
    when = settings.resolve_as_of
    return [] if when is None else ["--uploaded-prior-to", when]


def default_setup(
    tree: Path,
    settings: Settings,
    wheels: Sequence[Path],
    requirements: Path | None = None,
    extras: Sequence[str] = (),
) -> list[list[str]]:
    """One pip call: the project's ``wheels`` with its test extras (and ``extras``), its test
    requirements (``requirements``, the file ``write_requirements`` made) and the test runner;
    with ``resolve_as_of``, as of that date and without the runner (``_install_runner``
    follows)."""
    targets = install_targets(tree, settings, wheels, extras)
    if requirements is not None:
        targets += ["-r", str(requirements)]
    if settings.resolve_as_of is None:
        targets += list(settings.runner_requirements)
    if not targets:
        return []
    pip = ["{python}", "-m", "pip", "install", *as_of_args(settings)]
    return [[*pip, *targets]]


def write_requirements(
    tree: Path, settings: Settings, scratch: Path
) -> tuple[Path | None, Requirements]:
    """The project's test requirements, read and cleaned (``requirements.py``), written to
    ``scratch`` (outside the worktree) with their constraints; the path is None when none."""
    found = requirement_files(tree)
    # No test requirement file (a runtime requirements.txt aside): tox.ini says what tests need.
    tox = all(p.name == "requirements.txt" and p.parent == tree for p in found)
    groups = dependency_groups(tree, settings.extras)
    reqs = read_requirements(tree, found, project_name(tree), tox=tox, groups=groups)
    if not reqs.lines:
        return None, reqs
    path = scratch / "leo-requirements.txt"
    lines = list(reqs.lines)
    if reqs.constraints:
        constraints = scratch / "leo-constraints.txt"
        constraints.write_text("\n".join(reqs.constraints) + "\n")
        lines.insert(0, f"-c {constraints}")
    path.write_text("\n".join(lines) + "\n")
    return path, reqs


def sdist_version(tree: Path) -> str | None:
    """The version in an sdist's ``PKG-INFO``, for a setuptools-scm project built outside its
    own git history (else it becomes ``0.1.dev…`` and conflicts with whatever depends on it:
    pytest on pluggy, freezegun on python-dateutil)."""
    info = tree / "PKG-INFO"
    if info.is_symlink() or not info.is_file():
        return None
    try:
        head = info.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return None
    found = re.search(r"^Version:\s*([0-9A-Za-z.+!_-]{1,60})\s*$", head, re.MULTILINE)
    return found.group(1) if found else None


class _Setup:
    """Runs the setup steps of one build in the sandbox, each under the setup timeout."""

    def __init__(self, path: Path, tree: Path, settings: Settings, sandbox: Sandbox) -> None:
        self.path, self.tree, self.settings, self.sandbox = path, tree, settings, sandbox
        self.env = sandbox.environ("setup", venv=path)
        version = sdist_version(tree) if settings.setup == "default" else None
        if version and "SETUPTOOLS_SCM_PRETEND_VERSION" not in self.env:
            self.env["SETUPTOOLS_SCM_PRETEND_VERSION"] = version
        if settings.resolve_as_of is not None and settings.setup != "default":
            # a custom setup's own pip calls resolve as of the date too (pip >= 26 reads it)
            self.env["PIP_UPLOADED_PRIOR_TO"] = settings.resolve_as_of
        self.values = {"python": str(path / "bin" / "python"), "project": str(tree)}
        self.runner_as_of_today = False
        self.installed: set[tuple[str, str]] = set()
        """Distributions pip reported installing, by a call that succeeded (``run``)."""
        self.reporting = True
        """Whether every pip install reported (pip 22.2 or newer)."""

    async def run(self, step: list[str], *, sealed: bool = False) -> ToolResult:
        """Run ``step``; a ``pip install`` writes a report of what it installed, under a name
        the change's build code cannot know ahead, read only when pip succeeded (pip writes it
        last, after every build, so no build can leave its own version there)."""
        report = self.sandbox.root / f"pip-report-{secrets.token_hex(8)}.json"
        install = step[:4] == ["{python}", "-m", "pip", "install"]
        if install and (pip_version(self.path) or (0,)) < (22, 2):  # pip without --report
            self.reporting = install = False
        if install:
            step = [*step[:4], "--report", str(report), *step[4:]]
        done = await self.sandbox.run(
            expand(step, self.values), phase="setup", cwd=self.tree, env=self.env,
            timeout=self.settings.setup_timeout, venv=self.path, sealed=sealed,
        )  # fmt: skip
        if install and not done.timed_out and done.returncode == 0:
            self.installed |= _reported(report)
        return done

    async def must(self, step: list[str], *, sealed: bool = False) -> None:
        done = await self.run(step, sealed=sealed)
        if done.timed_out or done.returncode != 0:
            what = "timed out" if done.timed_out else f"exited {done.returncode}"
            msg = f"the environment setup {' '.join(step[:4])} ... {what}: {_tail(done)}"
            raise EnvironmentSetupError(msg)

    def pip(self, *args: str, dated: bool = True) -> list[str]:
        """``pip install args``, as of ``resolve_as_of`` unless ``dated`` is False."""
        when = as_of_args(self.settings) if dated else []
        return ["{python}", "-m", "pip", "install", *when, *args]


async def _build_project(setup: _Setup) -> list[Path]:
    """The project's wheel, built while the environment is read-only: its ``setup.py`` or
    build backend is the change's code, and one that wrote the environment could plant a
    ``.pth`` with a ``.dist-info`` whose RECORD claims it, or rewrite pip's report, so that
    ``planted`` counts it as a dependency's. Only pip, running none of the change's code,
    then writes the environment from the wheel: every RECORD there is pip's, and the wheel
    names the project's distribution. None when the project is not installable."""
    metadata, _error = read_pyproject(setup.tree)
    if not _installable(setup.tree, metadata):
        return []
    wheels = setup.sandbox.root / "project-wheels"
    if wheels.exists():
        await anyio.to_thread.run_sync(shutil.rmtree, wheels)
    wheels.mkdir()
    build = ["{python}", "-m", "pip", "wheel", "--no-deps", *as_of_args(setup.settings)]
    try:
        await setup.must([*build, "--wheel-dir", str(wheels), str(setup.tree)], sealed=True)
    except EnvironmentSetupError as exc:
        msg = f"building the project's wheel, with the test environment read-only, failed: {exc}"
        raise EnvironmentSetupError(msg) from None
    return sorted(wheels.glob("*.whl"))


async def _default_build(setup: _Setup, wheels: Sequence[Path]) -> list[str]:
    """Install the project's ``wheels``, its test requirements and the runner; return the notes.

    One pip call first, as a CI would. When pip cannot satisfy everything together (a lock for
    another Python, a pin pytest cannot live with, a package the index lacks), the project and
    the runner are installed on their own — without them no test can run, so their failure is an
    error — and then the requirements, each file at once or else line by line; a line that
    still fails is left out with a note, never a silent gap.
    """
    settings, tree = setup.settings, setup.tree
    requirements, reqs = write_requirements(tree, settings, setup.sandbox.root)
    notes = list(reqs.notes)
    [step] = default_setup(tree, settings, wheels, requirements, reqs.extras) or [[]]
    if step:
        first = await setup.run(step)
        if first.timed_out or first.returncode != 0:
            what = "timed out" if first.timed_out else f"exited {first.returncode}"
            notes.append(
                f"installing everything at once {what} ({_tail(first)[-300:]}); installed in parts"
            )
            await _install_in_parts(setup, wheels, requirements, reqs, notes)
    if settings.resolve_as_of is not None:
        await _install_runner(setup)
    return notes


async def _install_in_parts(
    setup: _Setup,
    wheels: Sequence[Path],
    requirements: Path | None,
    reqs: Requirements,
    notes: list[str],
) -> None:
    """The project, the runner, then the requirements each file at once or line by line."""
    settings, tree = setup.settings, setup.tree
    # as of a date, the runner comes last (``_install_runner``), not with each part
    runner = list(settings.runner_requirements) if settings.resolve_as_of is None else []
    project = install_targets(tree, settings, wheels, reqs.extras)
    bare = [str(w) for w in wheels]
    if project == bare:
        if project:
            await setup.must(setup.pip(*project))
    else:  # an extra may pin what nothing else here can live with: the project goes in without
        done = await setup.run(setup.pip(*project))
        if done.timed_out or done.returncode != 0:
            why = "timed out" if done.timed_out else _tail(done)[-200:]
            notes.append(f"the project with its extras ({', '.join(project)}) not installed: {why}")
            await setup.must(setup.pip(*bare))
    if runner:
        await setup.must(setup.pip(*runner))
    if requirements is None:
        return
    whole = await setup.run(setup.pip("-r", str(requirements), *runner))
    if not whole.timed_out and whole.returncode == 0:
        return
    for line in reqs.lines:
        done = await setup.run(setup.pip(line, *runner, *_constraints(requirements)))
        if done.timed_out or done.returncode != 0:
            why = "timed out" if done.timed_out else _tail(done)[-200:]
            notes.append(f"{line!r} not installed: {why}")


async def _install_runner(setup: _Setup) -> None:
    """LEO's test runner, after the project's requirements resolved as of ``resolve_as_of``:
    as of the date too, keeping what the project's resolution installed when it fits; when no
    release within the runner's bounds is that old (pytest-cov 5 came out in March 2024), as of
    today, the oldest major releases first (``lowest_majors``), and the environment says so.
    It is LEO's tool, held by LEO's version bounds."""
    runner = list(setup.settings.runner_requirements)
    if not runner:
        return
    dated = await setup.run(setup.pip(*runner))
    if not dated.timed_out and dated.returncode == 0:
        return
    setup.runner_as_of_today = True
    oldest = await setup.run(setup.pip(*lowest_majors(runner), dated=False))
    if not oldest.timed_out and oldest.returncode == 0:
        return
    await setup.must(setup.pip(*runner, dated=False))


def lowest_majors(requirements: Sequence[str]) -> list[str]:
    """Each requirement held to the major release of its lower bound (``pytest>=8`` becomes
    ``pytest>=8,<9``): as of today, the release nearest the date. An old project's conftest
    can use what the next major removed (docopt-ng 0.9.0's ``pytest_collect_file(path)``,
    which pytest 9 refuses). A requirement without a ``>=`` bound is kept as it is."""
    held = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            held.append(line)
            continue
        floors = [Version(s.version).major for s in requirement.specifier if s.operator == ">="]
        if floors:  # a ">=" specifier holds a valid version, or Requirement refused the line
            requirement.specifier &= f"<{max(floors) + 1}"
        held.append(str(requirement))
    return held


async def _build_wheelhouse(setup: _Setup) -> list[str]:
    """Wheels of the project's build requirements into ``BUILD_WHEELHOUSE``, as of
    ``resolve_as_of`` like the install; return notes on what is missing. The tests run offline,
    so this is the only index a build inside them (pytest-checkdocs' ``.py::::project``, zipp
    3.18.1) can reach; a failure is a note, not an error: most suites build nothing."""
    requires, notes = build_requirements(setup.tree)
    if not requires:
        return notes
    house = setup.path / BUILD_WHEELHOUSE
    try:
        house.mkdir(exist_ok=True)
    except OSError as exc:  # the setup ran the change's build backend with the venv writable
        return [*notes, f"the build requirements' wheelhouse could not be made: {exc}"]
    step = ["{python}", "-m", "pip", "wheel", *as_of_args(setup.settings), "--wheel-dir"]
    done = await setup.run([*step, str(house), *requires])
    if done.timed_out or done.returncode != 0:
        why = "timed out" if done.timed_out else _tail(done)[-300:]
        notes.append(
            f"the build requirements {' '.join(requires)[:200]} are not available to the tests "
            f"offline ({why}); a test that builds the project fails"
        )
    return notes


def pip_version(venv: Path) -> tuple[int, ...] | None:
    """The version of the pip installed in ``venv`` (from its ``.dist-info``), if any."""
    for info in venv.glob("lib/python*/site-packages/pip-*.dist-info"):
        found = re.fullmatch(r"pip-(\d+(?:\.\d+)*)\.dist-info", info.name)
        if found:
            return tuple(int(part) for part in found.group(1).split("."))
    return None


async def _pip_for_as_of(setup: _Setup) -> None:
    """Make sure the environment's pip knows ``--uploaded-prior-to`` (pip 26)."""
    version = pip_version(setup.path)
    if version is not None and version >= (26,):
        return
    done = await setup.run(setup.pip(PIP_AS_OF, dated=False))
    if done.timed_out or done.returncode != 0:
        what = "timed out" if done.timed_out else f"exited {done.returncode}"
        msg = (
            f"resolve_as_of needs pip 26 or newer in the test environment "
            f"(--uploaded-prior-to), and installing {PIP_AS_OF!r} {what}: {_tail(done)}"
        )
        raise EnvironmentSetupError(msg)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _reported(report: Path) -> set[tuple[str, str]]:
    """The distributions (``_release``) a pip installation report lists."""
    try:
        items = json.loads(report.read_text("utf-8")).get("install", [])
        return {_release(str(i["metadata"]["name"]), str(i["metadata"]["version"])) for i in items}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()


def _release(name: str, version: str) -> tuple[str, str]:
    """A distribution's name and version as pip's report and a ``.dist-info`` folder agree."""
    try:
        version = str(Version(version))
    except InvalidVersion:
        version = version.lower()
    return canonicalize_name(name), version


def _release_of(info: Path) -> tuple[str, str]:
    name, _, version = info.name.removesuffix(".dist-info").partition("-")
    return _release(name, version)


def _dist_infos(venv: Path) -> list[Path]:
    return sorted(venv.glob("lib/python*/site-packages/*.dist-info"))


def unreported(venv: Path, installed: set[tuple[str, str]]) -> list[str]:
    """The ``.dist-info`` folders of ``venv`` no pip install reported (``installed``, by name
    and version): a build that writes the environment can make one up whose RECORD claims its
    ``.pth``, so that ``planted`` counts it as a dependency's (round-5 red team: a dependency
    the change required from a local folder, built with the environment writable, did so, and
    the .pth repaired the change's broken function in every run: PASS)."""
    return [
        f"{info.name} (no pip install reported it: a build wrote it)"
        for info in _dist_infos(venv)
        if _release_of(info) not in installed
    ]


def keep_project_metadata(venv: Path, names: Sequence[str]) -> list[str]:
    """Copy what each of ``names`` (the project, built and installed in the sandbox) says about
    itself out of site-packages into ``PROJECT_METADATA`` before it is uninstalled; return the
    ``.dist-info`` directories kept. Regular files only, size-capped: the build ran the
    change's code."""
    wanted = {_normalise(n) for n in names}
    target = venv / PROJECT_METADATA
    kept = []
    for site in sorted(venv.glob("lib/python*/site-packages")):
        for info in sorted(site.glob("*.dist-info")):
            if info.is_symlink() or _normalise(info.name.split("-")[0]) not in wanted:
                continue
            out = target / info.name
            out.mkdir(parents=True, exist_ok=True)
            for name in _METADATA_FILES:
                source = info / name
                regular = source.is_file() and not source.is_symlink()
                if regular and source.stat().st_size <= _MAX_DEPENDENCY_FILE:
                    shutil.copyfile(source, out / name)
            kept.append(info.name)
    return kept


def _constraints(requirements: Path) -> list[str]:
    constraints = requirements.with_name("leo-constraints.txt")
    return ["-c", str(constraints)] if constraints.is_file() else []


async def _build(
    path: Path, key: str, tree: Path, settings: Settings, sandbox: Sandbox, *, private: bool
) -> tuple[list[str], bool]:
    """Build the environment at ``path``; return the notes on what its setup left out, and
    whether LEO's runner had to be installed as of today (``Environment.runner_as_of_today``)."""
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
    setup = _Setup(path, tree, settings, sandbox)
    notes: list[str] = []
    own: list[str] = []
    if settings.resolve_as_of is not None and settings.setup != "none":
        await _pip_for_as_of(setup)
    # What the environment holds before any of the change's code runs (pip, from the index).
    setup.installed |= {_release_of(info) for info in _dist_infos(path)}
    if settings.setup == "default":
        wheels = await _build_project(setup)
        own = [w.name.split("-")[0] for w in wheels]
        notes = await _default_build(setup, wheels)
    elif settings.setup != "none":
        for step in settings.setup:
            await setup.must(list(step))
    if settings.setup != "none":
        notes += await _build_wheelhouse(setup)
    # Only the change's own build is suspect: a shared one ran the base's reviewed build code.
    # Read while the project's wheel is installed: start-up code it ships is the change's.
    # A custom setup's steps may install without pip (setup.py develop): no report to hold.
    tampered = await anyio.to_thread.run_sync(planted, path, own) if private else []
    if private and settings.setup == "default" and setup.reporting:
        tampered += unreported(path, setup.installed)
    if own:
        # The cached environment outlives this worktree: keep the project's dependencies but
        # not a stale copy of the project itself; the tests import it from the worktree.
        await anyio.to_thread.run_sync(keep_project_metadata, path, own)
        await setup.run(["{python}", "-m", "pip", "uninstall", "-y", *own])
    await keep_generated(tree, path)
    print_ = await anyio.to_thread.run_sync(fingerprint, path)
    manifest = {
        "key": key, "fingerprint": print_, "created": time.time(), "format": _FORMAT,
        "notes": notes[:100], "runner_as_of_today": setup.runner_as_of_today,
        "private": private, "tampered": tampered,
    }  # fmt: skip
    tmp = path / f"{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, path / MANIFEST)  # the atomic publish: without the manifest, no reuse
    return notes, setup.runner_as_of_today


def _tail(result: object) -> str:
    stderr = getattr(result, "stderr_text", "") or getattr(result, "stdout_text", "")
    return " ".join(stderr.strip().splitlines()[-5:])[-800:] or "no output"


@contextlib.asynccontextmanager
async def prepare(
    tree: Path, settings: Settings, sandbox: Sandbox, change: Change | None = None
) -> AsyncIterator[Environment]:
    """An environment for ``tree``: reused when its key and fingerprint match, else built.

    A build runs a build backend, ``setup.py`` and whatever they import, while the environment
    is writable, and files the key does not cover (a ``hatch_build.py``, a module ``setup.py``
    imports) can shape it. So with ``change``, an environment for dependency files the change
    left as they were is built from the **base** commit (its build code is the reviewed one,
    and every change with those files shares it); one for dependency files the change edits is
    built from the head under a key of the head commit alone (``private_key``), which no other
    change reuses. The files the build generated are put into ``tree`` either way.

    Holds a shared lock while the caller uses it, so no other run rebuilds it meanwhile.
    """
    key = await anyio.to_thread.run_sync(environment_key, tree, settings)
    own = change is not None and edits_dependencies(change, settings.dependency_files)
    if change is not None and own:
        key = private_key(key, change)
    cache = settings.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / key
    lock = cache / f"{key}.lock"
    while True:
        async with held_lock(lock, fcntl.LOCK_SH, poll_s=_LOCK_POLL_S):
            if await _is_valid(path, key, settings.verify_environment):
                await anyio.to_thread.run_sync(restore_generated, path, tree)
                _touch(lock)
                yield Environment(
                    path, key, reused=True, setup_s=0.0, notes=_notes(path),
                    runner_as_of_today=_runner_as_of_today(path), tampered=_tampered(path),
                )  # fmt: skip
                return
        async with held_lock(lock, poll_s=_LOCK_POLL_S) as fd:
            if await _is_valid(path, key, settings.verify_environment):
                continue  # another run built it while we waited
            started = time.monotonic()
            with contextlib.suppress(OSError):
                (path / MANIFEST).unlink()
            async with _build_tree(tree, None if own else change) as source:
                notes, runner_today = await _build(
                    path, key, source, settings, sandbox, private=own
                )
            await anyio.to_thread.run_sync(restore_generated, path, tree)
            fcntl.flock(fd, fcntl.LOCK_SH)  # keep it while we use it
            _touch(lock)
            setup_s = round(time.monotonic() - started, 3)
            pruned = await anyio.to_thread.run_sync(prune, cache, settings.max_environments, key)
            yield Environment(
                path, key, reused=False, setup_s=setup_s, notes=tuple(notes),
                runner_as_of_today=runner_today, pruned=tuple(pruned), tampered=_tampered(path),
            )  # fmt: skip
            return


@contextlib.asynccontextmanager
async def _build_tree(tree: Path, change: Change | None) -> AsyncIterator[Path]:
    """The tree to build the environment from: ``change``'s base commit, else ``tree``."""
    if change is None:
        yield tree
        return
    async with change.worktree("base") as base:
        yield base


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
