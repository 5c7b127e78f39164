"""Runs the benchmarks at base and head, interleaved, and reads what each run measured.

Every run is the change's code (or the base's), so it runs in LEO's sandbox (``leo.Sandbox``)
without network, with an allow-listed environment, its own scratch directory and only its own
worktree writable; the interpreter is a cached virtual environment holding pytest,
pytest-benchmark and the project with its declared dependencies (never LEO's own), mounted
read-only, or the one ``python``/``command`` names.

Both sides get their own throw-away worktree and are measured on the same machine in
alternating order (base, head, head, base, base, head, ...): drift of the machine's speed hits
both sides alike instead of looking like a regression, and the order of each pair flips so that
a steady drift does not favour the side that always runs first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

import anyio

from leo import (
    LeoError,
    Sandbox,
    allowed_environ,
    held_lock,
    interpreter_paths,
    planted,
    run_tool,
)

if TYPE_CHECKING:
    from leo import Change
    from leo_performance.settings import Settings

Side = Literal["base", "head"]
#: What the benchmark environment holds when ``python`` and ``command`` are unset.
RUNNER_REQUIREMENTS = ("pytest>=8,<10", "pytest-benchmark>=4,<6")
#: What ``pip install DIR`` reads to learn the project's dependencies: the environment's key.
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
_MAX_PROJECT_FILE = 8 * 1024 * 1024
_PLUGIN = "leo_performance_outcomes"
_MAX_ROUNDS_KEPT = 100_000
_MAX_OUTCOME_LINES = 100_000
_TAIL = 1500


@dataclass
class Run:
    """One pytest run of the benchmarks on one side."""

    side: Side
    pair: int
    """Index of the interleaved (base, head) pair this run belongs to."""
    argv: tuple[str, ...]
    returncode: int | None
    """pytest's exit code; None when the run hit ``run_timeout``."""
    samples: dict[str, list[float]] = field(default_factory=dict)
    """Per benchmark node id: the time of each round, in seconds."""
    environment: str = ""
    """What the benchmark environment holds of the project (``Runner.project``)."""
    outcomes: dict[str, str] = field(default_factory=dict)
    """Per node id: ``passed``, ``failed`` or ``skipped`` (the worst of its phases)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Per failed node id (or collected file): the end of pytest's report."""
    version: str = ""
    """pytest-benchmark's version, from its JSON."""
    output_tail: str = ""
    """The end of pytest's output, to explain a run that failed as a whole."""

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def ran(self) -> bool:
        """True when the run measured at least one benchmark."""
        return bool(self.samples)


class Tampered(LeoError):
    """The change's own build left code in its benchmark environment that would run at start-up
    in both sides' runs, or edited what a distribution installed (``leo.planted``)."""

    def __init__(self, found: Sequence[str]) -> None:
        self.found = tuple(found)
        super().__init__("; ".join(self.found))


@dataclass(frozen=True)
class Runner:
    """The interpreter (or command) that runs the benchmarks, and what the sandbox must show."""

    python: str
    """Interpreter for ``-m pytest`` and import timing."""
    readable: tuple[Path, ...]
    """Directories bound read-only so that it runs inside the sandbox."""
    project: str = ""
    """What the environment holds of the project: where it was installed from, or why not."""


def sandbox_environ(
    settings: Settings, home: Path, pythonpath: Sequence[str], outcomes: Path
) -> dict[str, str]:
    """The run's whole environment: LEO's allow-list, the run's ``PYTHONPATH`` and switches.

    Nothing else of LEO's environment reaches the code under benchmark (no deny-list).
    """
    env = allowed_environ(home=home)
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts on both sides
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env["LEO_PERFORMANCE_OUTCOMES"] = str(outcomes)
    if not settings.autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(dict(settings.env))
    return env


def _cache_root(settings: Settings) -> Path:
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    if os.environ.get("LEO_CACHE_DIR"):
        return Path(os.environ["LEO_CACHE_DIR"]) / "venvs"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leo" / "venvs"


def installable(tree: Path) -> bool:
    """True when ``pip install tree`` can build the project: a ``setup.py``, or a
    ``pyproject.toml`` with a ``[project]`` or ``[build-system]`` table."""
    if (tree / "setup.py").is_file():
        return True
    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return "project" in data or "build-system" in data


def project_digest(tree: Path) -> str | None:
    """sha256 over ``PROJECT_FILES`` as ``tree`` has them; None when one cannot be read."""
    digest = hashlib.sha256()
    for name in PROJECT_FILES:
        path = tree / name
        try:
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        except OSError:
            return None
        if len(data) > _MAX_PROJECT_FILE:
            return None
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def edits_project(change: Change) -> bool:
    """True when the change edits what the project's dependencies are read from."""
    return any(f.path in PROJECT_FILES or f.old_path in PROJECT_FILES for f in change.files)


async def prepare_runner(
    settings: Settings, work: Path, project: Path | None = None, *, private: bool = False
) -> Runner:
    """The interpreter of the runs: ``command``/``python`` when set, else a cached venv.

    The venv holds ``RUNNER_REQUIREMENTS`` and, when ``project`` is a tree ``pip`` can install
    (and ``install_project`` is on), the project with its declared dependencies: a benchmark
    that imports the package imports its dependencies too. The runs still import the code
    from their own worktree (``PYTHONPATH`` comes first). The venv is keyed by the interpreter,
    the requirements and the project's ``PROJECT_FILES``; built in the sandbox, published by an
    atomic rename under an exclusive lock, and mounted read-only into every run. A ``private``
    one (built from a change's head) lives in ``work`` and goes with it: no other change may
    use what that change's build code made, and it is checked before any run: what its build
    planted there beyond installing distributions raises ``Tampered``. A project that cannot be
    installed leaves the benchmarks with pytest alone, as without one, and says why.
    """
    if settings.command or settings.python:
        name = settings.command[0] if settings.command else settings.python
        exe = shutil.which(name) if "/" not in name else name
        if exe is None or not os.access(exe, os.X_OK):
            msg = f"the performance interpreter {name!r} was not found; check python/command"
            raise LeoError(msg)
        return Runner(python=settings.python or exe, readable=interpreter_paths(exe))
    base = getattr(sys, "_base_executable", sys.executable)
    digest = None
    if project is not None and settings.install_project and installable(project):
        digest = project_digest(project)
    if digest is None:
        return await _cached_runner(settings, base, work, None, _cache_root(settings))
    root = work / "venvs" if private else _cache_root(settings)
    try:
        return await _cached_runner(settings, base, work, (project, digest), root, private=private)
    except Tampered:
        raise
    except LeoError as exc:
        runner = await _cached_runner(settings, base, work, None, _cache_root(settings))
        return Runner(runner.python, runner.readable, project=f"not installed: {exc}")


async def _cached_runner(
    settings: Settings,
    base: str,
    work: Path,
    project: tuple[Path, str] | None,
    root: Path,
    *,
    private: bool = False,
) -> Runner:
    recipe = [base, sys.version, RUNNER_REQUIREMENTS, *([project[1]] if project else [])]
    name = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:24]
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"performance-{name}"
    python = venv / "bin" / "python"
    async with held_lock(root / f"{venv.name}.lock"):
        if not python.exists():
            await _build_runner(
                settings, base, venv, work, project[0] if project else None, private=private
            )
    return Runner(
        python=str(python),
        readable=interpreter_paths(python),
        project="installed with its dependencies" if project else "",
    )


async def _build_runner(
    settings: Settings,
    base: str,
    venv: Path,
    work: Path,
    project: Path | None,
    *,
    private: bool = False,
) -> None:
    tmp = venv.with_name(f"{venv.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    made = await run_tool([base, "-m", "venv", str(tmp)], env={}, timeout=settings.run_timeout)
    if made.returncode != 0:
        msg = f"could not create the benchmark environment: {made.stderr_text.strip()[-500:]}"
        raise LeoError(msg)
    scratch = work / f"setup-{venv.name}"
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    box = Sandbox(
        scratch=scratch,
        writable=(tmp,),
        readable=tuple(p for p in interpreter_paths(base)),
        network=settings.setup_network == "allow",
    )
    env = allowed_environ(home=scratch / "home", setup=True)
    pip = [str(tmp / "bin" / "python"), "-m", "pip"]
    needs = f"install {', '.join(RUNNER_REQUIREMENTS)}"
    await _pip(box, [*pip, "install", *RUNNER_REQUIREMENTS], scratch, env, settings, tmp, needs)
    own: list[str] = []
    if project is not None:
        # A copy, so the build's files (build/, *.egg-info) never reach a measured worktree;
        # without .git, setuptools-scm and hatch-vcs need a version to be given.
        source = scratch / "project"
        await anyio.to_thread.run_sync(_copy_tree, project, source)
        env.setdefault("SETUPTOOLS_SCM_PRETEND_VERSION", "0")
        # The project's build code runs while the environment is read-only: it builds a wheel,
        # and only pip, running none of the change's code, writes the environment from it (so
        # every RECORD there is pip's own, and the wheel names the project's distribution).
        wheels = scratch / "wheels"
        sealed = Sandbox(
            scratch=scratch,
            readable=(*interpreter_paths(base), tmp),
            network=settings.setup_network == "allow",
        )
        build = [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)]
        await _pip(sealed, build, scratch, env, settings, tmp, "build the project")
        built = sorted(str(w) for w in wheels.glob("*.whl"))
        own = [PurePosixPath(w).name.split("-")[0] for w in built]
        await _pip(
            box, [*pip, "install", *built], scratch, env, settings, tmp, "install the project"
        )
    if private:  # the environment holds what the change's wheel installed
        found = await anyio.to_thread.run_sync(lambda: planted(tmp, own))
        if found:
            shutil.rmtree(tmp, ignore_errors=True)
            raise Tampered(found)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(venv)
    os.rename(tmp, venv)  # the atomic publish: a half-built environment is never used


async def _pip(
    box: Sandbox,
    argv: list[str],
    scratch: Path,
    env: dict[str, str],
    settings: Settings,
    venv: Path,
    doing: str,
) -> None:
    """One pip step of the build in ``box``; a failure removes the half-built ``venv`` and
    says what it could not do (``doing``)."""
    done = await box.run(argv, cwd=scratch, env=env, timeout=max(settings.run_timeout, 600))
    if done.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        tail = (done.stderr_text.strip() or done.stdout_text.strip())[-500:]
        msg = f"could not {doing} for the benchmarks: {tail}"
        raise LeoError(msg)


def _copy_tree(tree: Path, target: Path) -> None:
    shutil.copytree(tree, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))


def pytest_argv(
    settings: Settings, json_path: Path, targets: Sequence[str], python: str
) -> list[str]:
    """The argv of one run: the configured pytest, the benchmark options, then the targets."""
    argv = [*settings.pytest_argv(python), "-p", "no:cacheprovider", "-p", _PLUGIN]
    if not settings.autoload:
        argv += ["-p", "pytest_benchmark.plugin"]
    argv += [
        "-q",
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        f"--benchmark-min-rounds={settings.min_rounds}",
        f"--benchmark-max-time={settings.max_time}",
    ]
    if settings.min_time is not None:
        argv.append(f"--benchmark-min-time={settings.min_time}")
    if settings.select:
        argv += ["-k", settings.select]
    return [*argv, *settings.pytest_args, *targets]


async def run_once(
    settings: Settings,
    tree: Path,
    side: Side,
    targets: Sequence[str],
    work: Path,
    index: int,
    pair: int = 0,
    runner: Runner | None = None,
) -> Run:
    """One sandboxed pytest run in ``tree`` (a checkout of ``side``); its timings and outcomes.

    The run writes only its worktree and its own scratch directory: it cannot touch the
    other side's worktree, another run's results or the outcomes plugin.
    """
    runner = runner or await prepare_runner(settings, work)
    scratch = work / f"{index:02d}-{side}"
    (scratch / "home").mkdir(parents=True)
    json_path = scratch / "benchmark.json"
    outcomes = scratch / "outcomes.jsonl"
    plugin_dir = work / "plugin"
    if not plugin_dir.is_dir():
        plugin_dir.mkdir()
        shutil.copyfile(
            Path(__file__).with_name("pytest_outcomes.py"), plugin_dir / f"{_PLUGIN}.py"
        )
    pythonpath = [str(plugin_dir)] + [
        str(tree / p) for p in settings.pythonpath if (tree / p).is_dir()
    ]
    env = sandbox_environ(settings, scratch / "home", pythonpath, outcomes)
    readable = [*runner.readable, plugin_dir]
    if (tree / ".git").is_file():  # the worktree's link to the host repository: never rewritten
        readable.append(tree / ".git")
    box = Sandbox(scratch=scratch, writable=(tree,), readable=tuple(dict.fromkeys(readable)))
    run = Run(side=side, pair=pair, argv=(), returncode=0)
    if targets:  # never without targets: pytest would run the whole test suite
        argv = pytest_argv(settings, json_path, targets, runner.python)
        result = await box.run(argv, cwd=tree, env=env, timeout=settings.run_timeout)
        output = (result.stdout_text + result.stderr_text).strip()
        run.argv, run.returncode, run.output_tail = tuple(argv), result.returncode, output[-_TAIL:]
        run.samples, run.version = read_benchmark_json(json_path)
        run.environment = runner.project
        run.outcomes, run.errors = read_outcomes(outcomes)
    for module in settings.import_time:
        await time_import(settings, tree, module, run, env, box, runner.python)
    return run


#: Prefix of the pseudo node id under which a module's import time is compared.
IMPORT_PREFIX = "import:"


async def time_import(
    settings: Settings,
    tree: Path,
    module: str,
    run: Run,
    env: Mapping[str, str],
    box: Sandbox,
    python: str,
) -> None:
    """Time ``import module`` ``import_rounds`` times in fresh interpreters (``-X importtime``).

    Each import is one round of the pseudo benchmark ``import:<module>``: its cumulative time
    as CPython reports it, so interpreter start-up is left out.
    """
    key = IMPORT_PREFIX + module
    times: list[float] = []
    for _ in range(settings.import_rounds):
        result = await box.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            cwd=tree,
            env=env,
            timeout=settings.run_timeout,
        )
        seconds = import_seconds(result.stderr_text, module)
        if result.returncode != 0 or seconds is None:
            run.outcomes[key] = "failed"
            run.errors[key] = result.stderr_text.strip()[-_TAIL:] or "no import time reported"
            return
        times.append(seconds)
    run.samples[key] = times
    run.outcomes[key] = "passed"


def import_seconds(stderr: str, module: str) -> float | None:
    """The cumulative import time of ``module`` from ``-X importtime`` output, in seconds."""
    found = None
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            try:
                found = int(parts[1].strip()) / 1e6
            except ValueError:
                continue
    return found


async def measure(
    change: Change,
    settings: Settings,
    targets: Mapping[Side, Sequence[str]],
    pairs: int,
    work: Path,
    prepare_head: Callable[[Path], Awaitable[object]] | None = None,
) -> list[Run]:
    """``pairs`` interleaved (base, head) runs of ``targets``, in alternating order.

    ``prepare_head`` edits the head worktree before any run (the base's benchmarks laid over
    it). Stops early when the first pair shows that one side cannot run at all: more runs would
    only repeat the same error.
    """
    runs: list[Run] = []
    async with change.worktree("base") as base_tree, change.worktree("head") as head_tree:
        # The project as the base declares it (its build code is the reviewed one, and every
        # change that keeps those files shares the environment); a change that edits them gets
        # one built from its head that no other change reuses.
        own = edits_project(change)
        runner = await prepare_runner(settings, work, head_tree if own else base_tree, private=own)
        if prepare_head is not None:
            await prepare_head(head_tree)
        trees: dict[Side, Path] = {"base": base_tree, "head": head_tree}
        for i in range(pairs):
            order: tuple[Side, Side] = ("base", "head") if i % 2 == 0 else ("head", "base")
            for side in order:
                runs.append(
                    await run_once(
                        settings, trees[side], side, targets[side], work, len(runs), i, runner
                    )
                )
            if i == 0 and not all(r.ran for r in runs):
                break
    return runs


def read_benchmark_json(path: Path) -> tuple[dict[str, list[float]], str]:
    """Per node id, the round times of a ``--benchmark-json`` file; and the plugin's version.

    The file is written by code under review, so anything malformed is dropped, never trusted:
    only finite, non-negative times count.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}, ""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        return {}, ""
    version = doc.get("version")
    samples: dict[str, list[float]] = {}
    for bench in doc["benchmarks"]:
        if not isinstance(bench, dict):
            continue
        nodeid, stats = bench.get("fullname"), bench.get("stats")
        if not isinstance(nodeid, str) or not nodeid or not isinstance(stats, dict):
            continue
        data = stats.get("data")
        if not isinstance(data, list):
            continue
        times = [float(x) for x in data[:_MAX_ROUNDS_KEPT] if _is_time(x)]
        if len(times) >= 2:
            samples[nodeid] = times
    return samples, version if isinstance(version, str) else ""


def _is_time(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


_RANK = {"passed": 0, "skipped": 1, "failed": 2}


def read_outcomes(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Per node id, the worst outcome the outcomes plugin recorded, and failure texts."""
    outcomes: dict[str, str] = {}
    errors: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return outcomes, errors
    for line in lines[:_MAX_OUTCOME_LINES]:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        nodeid, outcome = rec.get("nodeid"), rec.get("outcome")
        if not isinstance(nodeid, str) or outcome not in _RANK:
            continue
        if _RANK[outcome] >= _RANK.get(outcomes.get(nodeid, "passed"), 0):
            outcomes[nodeid] = outcome
        text = rec.get("text")
        if outcome == "failed" and isinstance(text, str) and text:
            errors[nodeid] = text[-_TAIL:]
    return outcomes, errors
