"""The Testing sub-agent: run the change's tests at the head like a CI, report exactly what
happened, and measure how much of the added code the tests ran.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import anyio

from leo import (
    Analysed,
    Change,
    Conflict,
    Finding,
    LeoError,
    NotAnalysed,
    SubAgent,
    SubAgentResult,
    Tool,
    ToolResult,
    code_named_like_tests,
    current_isolation,
    is_test_side,
)
from leo_testing import baseline, changed_coverage, django, environment, observer, reachable
from leo_testing.harness import (
    CONFIG_FILES,
    coverage_options,
    effective_pytest_options,
    harness_changes,
    harness_effect,
)
from leo_testing.junit import ReportError, Suite, TestCase, clean, parse_junit, read_report
from leo_testing.sandbox import Sandbox, expand
from leo_testing.settings import DEFAULT_RERUN, Settings
from leo_testing.shadows import shadowing_findings
from leo_testing.support import support_findings
from leo_testing.tampering import tampering_findings

#: pytest's exit code when it collected no tests.
NO_TESTS_COLLECTED = 5
#: pytest's exit code for a command line (or ``addopts``) it does not understand.
USAGE_ERROR = 4
_NODEID = re.compile(r"^(\S+\.py::\S+)", re.MULTILINE)
_TEST_RULES = ("testing.test_failed", "testing.test_error")
#: Failing tests re-run at the base commit at most (attrs 24.2.0 fails 89 mypy cases).
_MAX_RERUN = 300


@dataclass(frozen=True)
class SuiteRun:
    """What one run of the test command left behind, read before its worktree is removed."""

    result: ToolResult
    tree: str
    junit: bytes | None
    coverage: bytes | None
    report_error: str | None
    environment: environment.Environment
    environment_modified: bool
    duration_s: float
    observer: bytes | None = None
    """What LEO's observer plugin recorded; None when it was not loaded (a custom command)."""
    base: SuiteRun | None = None
    """The base pass: the base's tests and test configuration against the head's code."""
    base_paths: tuple[str, ...] = ()
    """Paths the base pass restored from the base or removed."""
    failing_before: frozenset[str] = frozenset()
    """Tests failing in the base pass or at the head that also fail against the base's own code."""
    failed_at_base: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """How each of those failed at the base commit (``TestCase.failure_signature``)."""
    passed_again: frozenset[str] = frozenset()
    """Base-pass failures the head's run passes that passed when re-run the same way: flaky."""
    deprecations_allowed: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Base-pass failures on a deprecation warning, of tests the head's run no longer has,
    re-run with deprecation warnings allowed: node id -> (outcome, the error line)."""
    skipped_by_code: frozenset[str] = frozenset()
    """Base tests the base pass skipped that pass at the base commit: the head's code skips them."""
    skipped_once: frozenset[str] = frozenset()
    """Those of ``skipped_by_code`` that passed when the base pass's run of them was repeated."""
    skipped_again: frozenset[str] = frozenset()
    """Base-pass passes the head's run skipped that passed when re-run in the head's own tree."""
    collected_at_base: frozenset[str] | None = None
    """What the base's tests, configuration and code collect; None when not known."""
    named_tests: tuple[str, ...] = ()
    """Test files named on the command line because the command collected nothing without."""
    base_coverage: SuiteRun | None = None
    """The base's own tests on the base's own code, with coverage: run only when the change
    left uncovered lines in files the base had, to tell its own from pre-existing debt."""


async def run_suite(
    change: Change,
    settings: Settings,
    command: tuple[str, ...],
    *,
    tests: tuple[str, ...] = (),
    coverage: bool = True,
    base_pass: bool = False,
) -> SuiteRun:
    """Run ``command`` at the head in a fresh worktree and the cached environment, sandboxed;
    with ``base_pass``, then run it again in the same worktree turned into the base pass's
    (unless the head's run timed out)."""
    async with _checkout(change, "head") as tree:
        with tempfile.TemporaryDirectory(prefix="leo-testing-") as tmp:
            sandbox = Sandbox.create(settings, Path(tmp) / "head")
            await sandbox.check_available()
            async with environment.prepare(tree, settings, sandbox, change) as env:
                generated = await environment.untracked_files(tree) if base_pass else {}
                run = await _run_once(tree, settings, sandbox, env, command, tests, coverage)
                if not tests and command == settings.command:
                    run = await _named_test_files(
                        tree, settings, Path(tmp), env, run, coverage, "head"
                    )
                # A head run that timed out is a ``timeout`` result whatever the base does:
                # cachelib 0.13.0's DynamoDB and MongoDB tests wait on servers the sandbox has
                # not, and a base pass and re-runs would have waited again, past 30 minutes.
                if base_pass and not run.result.timed_out:
                    extra = _test_files(run.junit)
                    paths = await baseline.prepare_base_pass(change, tree, extra, generated)
                    await anyio.to_thread.run_sync(_drop_bytecode, tree)  # git restored it
                    base_sandbox = Sandbox.create(settings, Path(tmp) / "base")
                    # Coverage comes from the head's run only: the base pass runs without it,
                    # which matters on a large suite (packaging 24.0 runs 26,852 tests).
                    plain = _without_coverage(command) if settings.is_default_command else command
                    base = await _run_once(tree, settings, base_sandbox, env, plain, (), False)
                    base = await _named_test_files(
                        tree, settings, Path(tmp), env, base, False, "base"
                    )
                    again = await _passes_again(tree, settings, env, run, base, Path(tmp))
                    allowed = await _deprecations_allowed(tree, settings, env, run, base, Path(tmp))
                    before = await _failing_before(change, settings, env, run, base, Path(tmp))
                    skipped = await _skipped_by_code(change, settings, env, base, Path(tmp))
                    once = await _skipped_once(tree, settings, env, skipped, Path(tmp))
                    work = Path(tmp)
                    skips = await _skips_again(change, settings, env, run, base, work, generated)
                    at_base = await _collected_at_base(
                        change, settings, env, base, work, plain, generated
                    )
                    run = replace(
                        run, base=base, base_paths=tuple(paths), failing_before=frozenset(before),
                        failed_at_base=before, passed_again=again, deprecations_allowed=allowed,
                        skipped_by_code=skipped, skipped_once=once, skipped_again=skips,
                        collected_at_base=at_base,
                    )  # fmt: skip
                    if (
                        coverage
                        and run.duration_s <= settings.hold_the_line_max_s
                        and changed_coverage.wants_base_run(
                            change, run.coverage, tree, settings.coverage_omit
                        )
                    ):
                        base_coverage = await _base_coverage(change, settings, env, tmp, generated)
                        run = replace(run, base_coverage=base_coverage)
                modified = await environment.discard_if_modified(env, settings)
    return replace(run, environment_modified=modified)


#: Test modules pytest's default ``python_files`` (``test_*.py``, ``*_test.py``) miss but that
#: projects do name so: decorator 5.1.1's unittest suite is ``src/tests/test.py``.
UNCONVENTIONAL_TEST_FILES = ("test.py", "tests.py")
_SKIP_DIRS = frozenset({".git", ".tox", ".nox", ".venv", "venv", "node_modules", "build", "dist"})
_MAX_NAMED = 20


def unconventional_test_files(tree: Path) -> list[str]:
    """``test.py`` and ``tests.py`` files in ``tree`` (regular files, hidden and build
    directories skipped), relative and sorted, at most ``_MAX_NAMED``."""
    found: list[str] = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree)
        if path.name not in UNCONVENTIONAL_TEST_FILES or path.is_symlink() or not path.is_file():
            continue
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        found.append(rel.as_posix())
    return found[:_MAX_NAMED]


async def _named_test_files(
    tree: Path,
    settings: Settings,
    tmp: Path,
    env: environment.Environment,
    run: SuiteRun,
    coverage: bool,
    name: str,
) -> SuiteRun:
    """When the default command collected nothing, run it again naming the tree's
    ``test.py``/``tests.py`` files (pytest collects a file named on its command line whatever
    its name), as a CI that runs the project's tests would; ``run`` when there are none."""
    if not settings.is_default_command or not _collected_nothing(run):
        return run
    named = tuple(p for p in unconventional_test_files(tree) if not p.startswith("-"))
    if not named:
        return run
    sandbox = Sandbox.create(settings, tmp / f"{name}-named")
    command = settings.command if coverage else _without_coverage(settings.command)
    again = await _run_once(tree, settings, sandbox, env, (*command, *named), (), coverage)
    return replace(again, named_tests=named)


def _without_coverage(command: tuple[str, ...]) -> tuple[str, ...]:
    """The default command without LEO's own ``--cov`` options."""
    return tuple(arg for arg in command if not arg.startswith("--cov"))


#: Files a build backend writes into the sources (hatch-vcs, setuptools-scm): the only files of
#: the head's setup a base coverage run gets, since the change's code wrote them.
_VERSION_FILES = ("version.py", "_version.py", "__version__.py")


@contextlib.asynccontextmanager
async def _checkout(change: Change, side: Literal["base", "head"]) -> AsyncIterator[Path]:
    """``change.worktree(side)`` without the compiled bytecode it holds: Python runs an
    unchecked-hash ``__pycache__/x.cpython-311.pyc`` instead of ``x.py`` however the source
    reads, so a change that commits one has its tests (and the base pass) run code nobody
    reviewed (round-3 red team). Without it Python compiles the reviewed sources."""
    async with change.worktree(side) as tree:
        await anyio.to_thread.run_sync(_drop_bytecode, tree)
        yield tree


def _drop_bytecode(tree: Path) -> None:
    for folder, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                Path(folder, name).unlink()


def _versions(tree: Path, generated: Mapping[str, bytes]) -> None:
    """Put the version files the head's build generated (``_VERSION_FILES``) into a worktree of
    the base that lacks them: platformdirs 4.2.0's tests import its version.py."""
    for path, data in generated.items():
        target = tree.joinpath(*path.split("/"))
        if path.rsplit("/", 1)[-1] in _VERSION_FILES and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


async def _base_coverage(
    change: Change,
    settings: Settings,
    env: environment.Environment,
    tmp: str,
    generated: dict[str, bytes],
) -> SuiteRun:
    """Hold the line for coverage: the base's tests, configuration and code, run with coverage
    (Codecov and diff-cover compare with the base's coverage the same way)."""
    async with _checkout(change, "base") as tree:
        _versions(tree, generated)
        sandbox = Sandbox.create(settings, Path(tmp) / "base-coverage")
        return await _run_once(tree, settings, sandbox, env, settings.command, (), True)


async def _passes_again(
    tree: Path,
    settings: Settings,
    env: environment.Environment,
    run: SuiteRun,
    base: SuiteRun,
    tmp: Path,
) -> frozenset[str]:
    """The base pass's failures that the head's run passes, re-run once the same way (the
    base's tests against the head's code, in ``tree`` as the base pass left it): those that pass
    now failed by chance, as zipp 3.18.1's timing test did under load, not because the change's
    edits to its tests hide a failure."""
    base_suite, head_suite = _suite(base.junit), _suite(run.junit)
    if settings.rerun_command is None or base_suite is None or head_suite is None:
        return frozenset()
    passing = {c.nodeid for c in head_suite.cases if c.outcome == "passed"}
    ids = _rerun_ids(
        c.nodeid
        for c in base_suite.cases
        if c.outcome in ("failed", "error") and c.nodeid in passing and not c.collection_error
    )
    if not ids:
        return frozenset()
    return _passed(await _rerun(tree, settings, env, tmp / "base-again", ids), ids)


async def _skipped_once(
    tree: Path,
    settings: Settings,
    env: environment.Environment,
    skipped: frozenset[str],
    tmp: Path,
) -> frozenset[str]:
    """Those of ``skipped`` (the base pass skipped them, the base commit passes them) that pass
    when re-run the same way (the base's tests against the head's code, in ``tree`` as the base
    pass left it): skipped once by chance, as zipp 3.18.1's ``flaky`` timing tests are under
    load (pytest-ignore-flaky turns their failure into a skip). Code that skips a test it would
    fail cannot pass it when asked again; code that passes it when asked again is judged by that
    pass, as a flaky failure is (``_passes_again``)."""
    ids = _rerun_ids(sorted(skipped))
    if settings.rerun_command is None or not ids:
        return frozenset()
    return _passed(await _rerun(tree, settings, env, tmp / "skipped-once", ids), ids)


def _passed(suite: Suite | None, ids: Iterable[str]) -> frozenset[str]:
    """Those of ``ids`` that a re-run's ``suite`` reports passed, and nothing else (a test that
    passed and then errored in its teardown did not)."""
    if suite is None:
        return frozenset()
    outcomes: dict[str, set[str]] = {}
    for case in suite.cases:
        outcomes.setdefault(case.nodeid, set()).add(case.outcome)
    return frozenset(i for i in ids if outcomes.get(i) == {"passed"})


async def _skips_again(
    change: Change,
    settings: Settings,
    env: environment.Environment,
    run: SuiteRun,
    base: SuiteRun,
    tmp: Path,
    generated: Mapping[str, bytes],
) -> frozenset[str]:
    """The base pass's passes that the head's run skipped (or xfailed), in test files the change
    left alone, re-run once in a fresh worktree of the head (its own tests and configuration):
    those that pass now were skipped by chance, not by the change. zipp 3.18.1 marks its timing
    tests ``flaky`` and pytest-ignore-flaky turns their failure under load into an xfail."""
    base_suite, head_suite = _suite(base.junit), _suite(run.junit)
    if settings.rerun_command is None or base_suite is None or head_suite is None:
        return frozenset()
    skipped = {c.nodeid for c in head_suite.cases if c.outcome == "skipped"}
    edited = {f.path for f in change.files} | {f.old_path for f in change.files if f.old_path}
    ids = _rerun_ids(
        c.nodeid
        for c in base_suite.cases
        if c.outcome == "passed" and c.nodeid in skipped
        and c.nodeid.partition("::")[0] not in edited
    )  # fmt: skip
    if not ids:
        return frozenset()
    async with _checkout(change, "head") as tree:
        for path, data in generated.items():  # as the head's run had them (a version file)
            target = tree.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return _passed(await _rerun(tree, settings, env, tmp / "skipped-again", ids), ids)


async def _collected_at_base(
    change: Change,
    settings: Settings,
    env: environment.Environment,
    base: SuiteRun,
    tmp: Path,
    command: tuple[str, ...],
    generated: Mapping[str, bytes],
) -> frozenset[str] | None:
    """The tests the base's own tests, configuration and code collect (``--collect-only``), to
    compare with what the base pass collected with the head's code: code that keeps a base test
    from being collected at all (a patched ``os.scandir``, a hook gone before anyone looked)
    leaves no trace in the base pass's own reports. None when it cannot tell (a command of the
    project's own, a run that did not finish)."""
    if not settings.is_default_command or base.observer is None:
        return None
    async with _checkout(change, "base") as tree:
        _versions(tree, generated)
        sandbox = Sandbox.create(settings, tmp / "base-collect")
        argv = (*command, "--collect-only", *base.named_tests)
        done = await _run_once(tree, settings, sandbox, env, argv, (), False)
    record = observer.read_record(done.observer)
    if done.result.timed_out or not record.finished:
        return None
    return frozenset(record.collected)


def _not_collected(at_base: frozenset[str], collected: set[str], suite: Suite) -> list[str]:
    """Base test functions the base commit collects that the base pass did not (``collected``
    by its observer, or reported in its ``suite``), in test files
    the base pass could import (a file it could not is judged as a module). Compared by
    function, without parameters: a parameter list may come from the code."""

    def function(nodeid: str) -> str:
        return nodeid.split("[", 1)[0]

    unimportable = {c.file for c in suite.cases if c.collection_error}
    seen = collected | {c.nodeid for c in suite.cases}
    have = {function(n) for n in seen}
    wanted = {
        function(n)
        for n in at_base
        if is_test_side(n.partition("::")[0]) and n.partition("::")[0] not in unimportable
    }
    return sorted(wanted - have)


#: pytest options that let deprecation warnings through (printed, not raised) after the base's
#: ``filterwarnings = error``: pytest applies ``-W`` after the configuration's filters.
_ALLOW_DEPRECATIONS = (
    "-W", "default::DeprecationWarning", "-W", "default::PendingDeprecationWarning",
)  # fmt: skip


async def _deprecations_allowed(
    tree: Path,
    settings: Settings,
    env: environment.Environment,
    run: SuiteRun,
    base: SuiteRun,
    tmp: Path,
) -> dict[str, tuple[str, str]]:
    """The base pass's failures on a deprecation warning raised as an error, of tests the head's
    run no longer has, re-run with deprecation warnings allowed (the base's tests against the
    head's code, in ``tree`` as the base pass left it): whether the deprecated feature still
    does what the deleted test checked (blinker 1.8.0 deprecated ``receiver_connected`` and
    deleted its tests), or is broken behind the warning. Node id -> (outcome, error line)."""
    if settings.rerun_command != DEFAULT_RERUN:  # ``-W`` is pytest's: a custom command may not be
        return {}
    base_suite, head_suite = _suite(base.junit), _suite(run.junit)
    if base_suite is None or head_suite is None:
        return {}
    at_head = {c.nodeid for c in head_suite.cases}
    ids = _rerun_ids(
        c.nodeid
        for c in base_suite.cases
        if c.outcome in ("failed", "error") and c.nodeid not in at_head
        and not c.collection_error and baseline.stopped_at_deprecation(c.first_error_line())
    )  # fmt: skip
    if not ids:
        return {}
    out_dir = tmp / "base-deprecations"
    suite = await _rerun(tree, settings, env, out_dir, ids, options=_ALLOW_DEPRECATIONS)
    if suite is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for case in suite.cases:  # a test that passed and then errored in its teardown: the error
        if case.nodeid in ids and out.get(case.nodeid, ("passed",))[0] == "passed":
            out[case.nodeid] = (case.outcome, case.first_error_line())
    return out


async def _skipped_by_code(
    change: Change, settings: Settings, env: environment.Environment, base: SuiteRun, tmp: Path
) -> frozenset[str]:
    """The base tests the base pass skipped (or xfailed) that pass when re-run at the base
    commit with ``rerun_command``: the base's tests and configuration are the same in both, so
    the head's code made them skip. A bug that raises the runner's skip (``unittest.SkipTest``
    under any name) was a skipped test in both passes and PASSed."""
    suite = _suite(base.junit)
    if settings.rerun_command is None or suite is None:
        return frozenset()
    ids = _rerun_ids(
        c.nodeid for c in suite.cases if c.outcome == "skipped" and not c.collection_error
    )
    if not ids:
        return frozenset()
    async with _checkout(change, "base") as tree:
        ids = tuple(i for i in ids if (tree / i.partition("::")[0]).is_file())
        if not ids:
            return frozenset()
        before = await _rerun(tree, settings, env, tmp / "skipped-before", ids)
    if before is None:
        return frozenset()
    wanted = set(ids)
    return frozenset(c.nodeid for c in before.cases if c.outcome == "passed" and c.nodeid in wanted)


async def _failing_before(
    change: Change,
    settings: Settings,
    env: environment.Environment,
    run: SuiteRun,
    base: SuiteRun,
    tmp: Path,
) -> dict[str, frozenset[str]]:
    """Hold the line for tests: the tests that fail at the head, and the base tests that fail
    against the head's code but no longer at the head, re-run at the base commit (the base's
    tests, configuration and code, in the same environment) with ``rerun_command``. Returns
    those that fail there too, each with how it failed (``TestCase.failure_signature``): a test
    that fails the same way before the change is not the change's doing (a Python without
    ``dbm.ndbm``: six 1.17.0; a host the sandbox's empty network cannot reach: requests' timeout
    tests; today's pandas against tqdm 4.66's tests; a missing optional extra: pyparsing)."""
    if settings.rerun_command is None:
        return {}
    base_suite, head_suite = _suite(base.junit), _suite(run.junit)
    candidates: list[str] = []
    if base_suite is not None:  # a base pass that could not run still leaves the head's list
        weakened = baseline.compare(base_suite, head_suite or Suite(()), set())
        candidates += [w.nodeid for w in weakened if w.base_outcome in ("failed", "error")]
    candidates += [
        c.nodeid
        for c in (head_suite.cases if head_suite else ())
        if c.outcome in ("failed", "error")
    ]
    # A test the base does not have cannot fail before the change, and pytest stops the whole
    # re-run at a node id it cannot find (requests 2.32.3's new mTLS test): only the base's.
    known = {c.nodeid for c in base_suite.cases} if base_suite is not None else None
    # Collection errors stay: a module neither commit can import failed before the change.
    ids = _rerun_ids(n for n in candidates if known is None or n in known)
    if not ids:
        return {}
    async with _checkout(change, "base") as tree:
        # pytest stops the whole re-run at a path it cannot find, and plugins report items
        # under made-up paths (zipp 3.18's ``.py::::project`` from pytest-checkdocs beside its
        # ``conftest.py::ruff`` lint items): only ids whose file exists at the base.
        ids = tuple(i for i in ids if (tree / i.partition("::")[0]).is_file())
        if not ids:
            return {}
        suite = await _rerun(tree, settings, env, tmp / "before", ids, files_if_not_found=True)
    if suite is None:
        return {}
    failed_as = [c for s in (base_suite, head_suite) if s is not None for c in s.cases]
    return failed_again(set(ids), suite, failed_as)


def _rerun_ids(nodeids: Iterable[str]) -> tuple[str, ...]:
    """The node ids to re-run: each once, in order, at most ``_MAX_RERUN``. A node id comes
    from a report the head's code wrote: one that is empty or starts with ``-`` (an option to
    pytest) is never passed on."""
    return tuple(dict.fromkeys(n for n in nodeids if n and not n.startswith("-")))[:_MAX_RERUN]


async def _rerun(
    tree: Path,
    settings: Settings,
    env: environment.Environment,
    root: Path,
    ids: tuple[str, ...],
    *,
    options: tuple[str, ...] = (),
    files_if_not_found: bool = False,
) -> Suite | None:
    """Run ``ids`` again in ``tree`` with ``rerun_command`` (after ``options``), without
    coverage, in a fresh sandbox at ``root``. None when the run timed out or left no readable
    report: nothing to conclude. With ``files_if_not_found``, ids pytest could not find are
    asked for again by their files (the whole file runs, its ids are kept), in a second
    sandbox, rather than losing every other test."""
    assert settings.rerun_command is not None  # every caller returns before without one
    command = settings.rerun_command
    again = await _run_once(
        tree, settings, Sandbox.create(settings, root), env, command, (*options, *ids), False
    )
    missing = _not_found(again.result, ids) if files_if_not_found else frozenset()
    if missing:
        files = dict.fromkeys(i.partition("::")[0] for i in ids if i in missing)
        found = tuple(i for i in ids if i not in missing)
        sandbox = Sandbox.create(settings, root.with_name(f"{root.name}-files"))
        again = await _run_once(
            tree, settings, sandbox, env, command, (*options, *found, *files), False
        )
    suite = _suite(again.junit)
    return None if suite is None or again.result.timed_out else suite


def failed_again(
    wanted: set[str], rerun: Suite, failed_as: Sequence[TestCase]
) -> dict[str, frozenset[str]]:
    """The ``wanted`` tests that fail in ``rerun`` at the base, each with how. pytest names a
    file it cannot import there, not its tests: a test of that file that failed (``failed_as``)
    the same way failed before the change (isodate 0.7.0 dropped six, which every base test
    module imports through the package's ``__init__.py``)."""
    found: dict[str, set[str]] = {}
    for case in rerun.cases:
        if case.outcome in ("failed", "error") and case.nodeid in wanted:
            found.setdefault(case.nodeid, set()).add(case.failure_signature())
    unimportable = {c.file: c.failure_signature() for c in rerun.cases if c.collection_error}
    for case in failed_as:
        how = unimportable.get(case.file)
        if how and case.nodeid in wanted - found.keys() and case.failure_signature() == how:
            found[case.nodeid] = {how}
    return {nodeid: frozenset(how) for nodeid, how in found.items()}


#: pytest's ``ERROR: not found: /tree/tests/test_x.py::test_y`` for a node id it cannot collect,
#: and ``ERROR: found no collectors for …`` for one in a module it cannot import (argcomplete
#: 3.4.0's ``test/test_package/test_module.py``, which only its own runner can import).
_NOT_FOUND = re.compile(r"^ERROR: (?:not found:|found no collectors for) (\S+)", re.MULTILINE)


def _not_found(result: ToolResult, ids: Sequence[str]) -> frozenset[str]:
    """The ``ids`` pytest stopped a run at because it could not find them: a test the base does
    not define the way the head's report named it, parameters the head's code made, an item a
    plugin named with ``::`` (pytest-ruff's ``file.py::ruff::format``). The re-run asks for their
    files instead rather than losing every other test. pytest names them by absolute path, in
    the sandbox's view, and without their parameters."""
    if result.returncode != 4:
        return frozenset()
    text = result.stdout_text[-100_000:] + "\n" + result.stderr_text[-100_000:]
    named = _NOT_FOUND.findall(text)
    return frozenset(
        i
        for i in ids
        for bare in (i.partition("[")[0],)
        if any(n in (i, bare) or n.endswith(("/" + i, "/" + bare)) for n in named)
    )


async def _with_django_settings(change: Change, settings: Settings) -> Settings:
    """``settings`` with the Django settings module the base names for the tests, when the
    settings leave it unset and pytest's own configuration does not name one (``django.py``)."""
    if settings.django_settings is not None or not settings.is_default_command:
        return settings
    paths = await change.listing("base")
    wanted = [p for p in dict.fromkeys((*django.FILES, *CONFIG_FILES)) if p in set(paths)]
    files = await change.read_many(wanted, "base")
    found = django.find(files, paths)
    if found is None or found.module is None:
        return settings
    update: dict[str, str | None] = {"django_settings": found.module}
    if "python_files" in effective_pytest_options(files):
        update["django_test_files"] = None  # the project's own patterns, not Django's runner's
    return settings.model_copy(update=update)


async def _report_everything_measured(
    tree: Path,
    sandbox: Sandbox,
    env: environment.Environment,
    environ: dict[str, str],
    report: str,
) -> None:
    """Write LEO's coverage report from the run's data when the project's own ``[report]
    include`` left it empty: LEO's ``--cov`` measures the tree, and python-dotenv 1.0.1's
    ``include = */site-packages/dotenv/*`` (its tox runs) matched none of it, so pytest-cov
    wrote no report and the change's coverage went unknown. ``--include=*`` only widens the
    report; LEO decides which lines count. No data file, no report: still unknown."""
    argv = [str(env.python), "-m", "coverage", "xml", "-i", "--include=*", "-o", report]
    await sandbox.run(argv, phase="test", cwd=tree, env=environ, timeout=300, venv=env.path)


async def _run_once(
    tree: Path,
    settings: Settings,
    sandbox: Sandbox,
    env: environment.Environment,
    command: tuple[str, ...],
    tests: tuple[str, ...],
    coverage: bool,
) -> SuiteRun:
    values = {
        "python": str(env.python),
        "project": str(tree),
        "outdir": str(sandbox.out),
        "junit": str(sandbox.out / "junit.xml"),
        "coverage": str(sandbox.out / "coverage.xml"),
        "test_case_timeout": f"{settings.test_case_timeout:g}",
    }
    pythonpath = [tree / p for p in settings.pythonpath if (tree / p).is_dir()]
    if env.project_metadata is not None:  # after the tree: the code comes from the worktree
        pythonpath.append(env.project_metadata)
    argv = expand(command, values, tests)
    if settings.is_default_command and env.has_module("pytest_django"):
        if not env.has_module("django"):
            argv[3:3] = ["-p", "no:django"]
        elif settings.django_settings is not None:
            argv[3:3] = [f"--ds={settings.django_settings}"]
            if settings.django_test_files is not None:
                argv[4:4] = ["-o", f"python_files={settings.django_test_files}"]
    if settings.deselect:  # the base's policy: tests of services the sandbox has not
        argv[3:3] = [f"--deselect={nodeid}" for nodeid in settings.deselect]
    if not env.has_module("pytest_timeout"):  # a setup of the project's own may not install it
        timeout_arg = f"--timeout={values['test_case_timeout']}"
        argv = [a for a in argv if a != timeout_arg]
    record = sandbox.root / "observer.jsonl"
    if settings.is_default_command:  # LEO's own witness, loaded before any conftest
        pythonpath.insert(0, observer.install(sandbox.root / "plugin"))
        argv[3:3] = ["-p", observer.PLUGIN]
    environ = sandbox.environ(
        "test", venv=env.path, pythonpath=pythonpath, values=values, wheelhouse=env.wheelhouse
    )
    if settings.is_default_command:
        environ[observer.ENV] = str(record)
        environ[observer.EXIT_GRACE_ENV] = f"{observer.EXIT_GRACE_S:g}"
    started = time.monotonic()
    result = await sandbox.run(
        argv, phase="test", cwd=tree, env=environ, timeout=settings.test_timeout, venv=env.path
    )
    duration = time.monotonic() - started
    junit = cov = None
    error = None
    if coverage and settings.is_default_command and not Path(values["coverage"]).exists():
        await _report_everything_measured(tree, sandbox, env, environ, values["coverage"])
    try:
        junit = read_report(sandbox.out / "junit.xml")
        if coverage and settings.coverage and settings.coverage_report:
            cov = read_report(Path(expand([settings.coverage_report], values)[0]))
    except ReportError as exc:
        error = str(exc)
    seen = None
    if settings.is_default_command:
        try:
            seen = read_report(record) or b""
        except ReportError:
            seen = b""
    return SuiteRun(
        result, str(tree), junit, cov, error, env, False, round(duration, 3), observer=seen
    )


def _test_files(junit: bytes | None) -> list[str]:
    """Files the run collected test functions from, whatever the files are called (a doctest
    of a code module is named after the code, never ``test…``, so code is never among them)."""
    suite = _suite(junit)
    cases = suite.cases if suite else ()
    return sorted({c.file for c in cases if c.file and c.name.startswith("test")})


def _suite(junit: bytes | None) -> Suite | None:
    try:
        return parse_junit(junit) if junit is not None else None
    except ReportError:
        return None


def _collected_nothing(run: SuiteRun) -> bool:
    """Did ``run`` finish without collecting a single test? (Every test skipped is not that:
    the code under test can make tests skip themselves.)"""
    if run.result.timed_out or run.report_error or run.result.returncode != NO_TESTS_COLLECTED:
        return False
    suite = _suite(run.junit)
    return (suite is None and run.junit is None) or (suite is not None and not suite.cases)


def _usage_hint(result: ToolResult) -> str:
    """What a LEAD can do when pytest refused its own command line (tqdm 4.66.5's addopts
    name ``--asyncio-mode``, an option of pytest-asyncio, which its test extra lacks)."""
    text = result.stderr_text + result.stdout_text
    if result.returncode != 4 or not re.search(r"unrecognized arguments|unknown config", text):
        return ""
    return (
        " (the project's pytest configuration names an option of a pytest plugin that is not "
        "installed in the test environment: declare the plugin in a test extra or test "
        "requirements file, or give [tool.leo.agents.testing] a setup that installs it)"
    )


def _startup_error(result: ToolResult) -> str | None:
    """The last ``E   Error: …`` line pytest printed, with what differs between runs blanked."""
    lines = [
        line[1:].strip()
        for line in (
            result.stdout_text[-50_000:] + "\n" + result.stderr_text[-50_000:]
        ).splitlines()
        if line.startswith("E ")
    ]
    if not lines:
        return None
    return TestCase("", "", None, None, "error", "", f"E {lines[-1]}").failure_signature()


def _same_startup_error(run: SuiteRun) -> str | None:
    """The error both the head's run and the base pass stopped with before any test report (an
    import error in ``conftest.py``: urllib3 2.2.2's test server under today's Quart and Flask),
    when it is the same; None otherwise."""
    base = run.base
    if base is None or base.junit is not None or base.result.timed_out:
        return None
    head_error = _startup_error(run.result)
    if head_error is None or head_error != _startup_error(base.result):
        return None
    return clean(head_error.removeprefix("error: "), 300)


def _rule(case: TestCase) -> str:
    return "testing.test_failed" if case.outcome == "failed" else "testing.test_error"


def _error(summary: str, **kwargs: Any) -> SubAgentResult:
    return SubAgentResult(
        status="error", confidence=0, summary=summary[:2000], error=summary, **kwargs
    )


#: Exceptions of a client that could not reach its server (the sandbox has no network).
_UNREACHABLE = re.compile(
    r"Connect|Connection|Endpoint|Unreachable|ServerSelection|Refused|URLError|gaierror"
)


def _failures_before_timeout(data: bytes | None) -> str:
    """What the tests that failed before a timeout raised most, by the observer's record: the
    time often went to them (cachelib 0.13.0's DynamoDB tests waited 51 s each on retries)."""
    raised = observer.read_record(data).raised
    if not raised:
        return ""
    name, count = Counter(raised.values()).most_common(1)[0]
    files = sorted({nodeid.partition("::")[0] for nodeid, r in raised.items() if r == name})
    text = (
        f"; before it, {len(raised)} test(s) failed, {count} of them raising {name} "
        f"({', '.join(files[:3])}{', …' if len(files) > 3 else ''})"
    )
    if _UNREACHABLE.search(name):
        text += (
            ": a client retrying a server the sandbox cannot reach can take the time, so "
            "list such tests under the Testing settings' deselect (the base's policy) or "
            "give the sandbox that service"
        )
    return text


def _last_test(stdout: str) -> str | None:
    found = _NODEID.findall(stdout[-200_000:])
    return clean(found[-1], 300) if found else None


def _tail(result: ToolResult, lines: int = 15) -> str:
    text = result.stderr_text.strip() or result.stdout_text.strip()
    return clean("\n".join(text.splitlines()[-lines:]), 2000)


#: Findings on the gate's own evidence that only a LEAD can settle: the result lists them as
#: ``decisions``, so the verdict is at best ESCALATE (issue 17).
LEAD_RULES = frozenset(
    {"testing.harness_changed", "testing.runner_hook", "testing.base_pass_missing"}
)


def _harness_finding(paths: list[str], bending: list[str], inert: list[str]) -> Finding:
    """``testing.harness_changed``: for a LEAD to decide when the edit may have bent which of the
    head's tests ran or what coverage measured; ``low`` (reported, never gating) when it cannot
    have, since the base pass ran under the base's configuration anyway (issue 18)."""
    edited = ", ".join(paths[:5])
    if bending:
        return Finding(
            rule_id="testing.harness_changed",
            severity="medium",
            message=f"the change edits what pytest or coverage read as configuration ({edited}: "
            + "; ".join(bending[:8])
            + "), so its own passing tests are weak evidence; the base pass used the base's "
            "versions, and a LEAD must review the diff (details.harness_changed)",
            path=paths[0],
        )
    return Finding(
        rule_id="testing.harness_changed",
        severity="low",
        message=f"the change edits test configuration ({edited}) in ways that cannot bend the "
        "evidence LEO uses: the base's tests, their outcomes, or what coverage measures ("
        + "; ".join(inert[:8])
        + "); the base pass used the base's versions; the diff is in details.harness_changed",
        path=paths[0],
    )


def _flaky_in_base_pass(w: baseline.Weakened) -> Finding:
    """``testing.flaky`` for a base test that failed against the head's code once and passed
    when re-run the same way: a warning a LEAD weighs, not a failure the change hides."""
    return Finding(
        rule_id="testing.flaky",
        severity="medium",
        message=f"{w.nodeid} {w.base_outcome} against the head's code in the base's version, "
        "passed when re-run the same way, and passes in the change's own run: flaky, not a "
        "failure the change hides",
        path=w.nodeid.split("::", 1)[0] if "::" in w.nodeid else None,
    )


def _bytecode_finding(paths: list[str]) -> Finding:
    """``testing.bytecode_ignored`` (low): the compiled bytecode the change commits was removed
    from every run (``_checkout``), so the tests ran the reviewed sources."""
    named = ", ".join(paths[:5]) + (", …" if len(paths) > 5 else "")
    return Finding(
        rule_id="testing.bytecode_ignored",
        severity="low",
        message=f"the change commits compiled bytecode ({named}), which Python may run instead "
        "of the source beside it; it was removed before every run, so the tests ran the "
        "reviewed sources",
        path=paths[0],
        fix="do not commit compiled bytecode",
    )


def _not_collected_finding(missing: list[str]) -> Finding:
    """``testing.base_pass_missing`` for base tests the base pass never collected: a LEAD
    decides (a test the change made obsolete, or one its code hid)."""
    named = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
    return Finding(
        rule_id="testing.base_pass_missing",
        severity="medium",
        message=f"{len(missing)} base test(s) that the base commit collects were not collected "
        f"in the base pass (the base's tests against the head's code): {named}; the head's code "
        "kept them from running (details.base_pass.not_collected)",
        path=missing[0].partition("::")[0],
    )


def _skipped_by_chance(w: baseline.Weakened) -> Finding:
    """``testing.flaky`` (low) for a base test the base pass passed against the head's code, that
    the change's own run skipped once and passed when re-run: nothing failed in either."""
    return Finding(
        rule_id="testing.flaky",
        severity="low",
        message=f"{w.nodeid} passes against the head's code in the base's version; the change's "
        "own run skipped it (skip or xfail) and passed it when re-run: skipped by chance (a "
        "flaky test), not by the change",
        path=w.nodeid.split("::", 1)[0] if "::" in w.nodeid else None,
    )


def _skipped_by_code_findings(
    skipped: frozenset[str], once: frozenset[str], base_suite: Suite, edited: set[str]
) -> list[Finding]:
    """For each base test in a file the change left alone that passes at the base and skips
    against the head's code: ``testing.test_weakened`` (medium, a LEAD decides), or
    ``testing.flaky`` (low) when it passed as the base pass's run of it was repeated (``once``):
    nothing failed."""
    files = {c.nodeid: c.file for c in base_suite.cases}
    untouched = sorted(n for n in skipped if (files.get(n) or n.partition("::")[0]) not in edited)
    chance = (
        "testing.flaky", "low",
        "skipped (skip or xfail) against the head's code in the base's version, then passed "
        "when re-run the same way, and passes at the base commit: skipped by chance (a flaky "
        "test), not by the change",
    )  # fmt: skip
    by_code = (
        "testing.test_weakened", "medium",
        "passes at the base commit but skips against the head's code, its test file untouched: "
        "the code under test made it skip, which hides what it checks (a skip or xfail raised "
        "from the code); a LEAD decides",
    )  # fmt: skip
    out = []
    for nodeid in untouched[:_MAX_NAMED]:
        rule, severity, why = chance if nodeid in once else by_code
        path = files.get(nodeid) or nodeid.partition("::")[0]
        out.append(Finding(rule_id=rule, severity=severity, message=f"{nodeid} {why}", path=path))
    return out


def lead_decisions(findings: Sequence[Finding]) -> list[str]:
    """The messages of the findings a LEAD must decide (a weakened test that hides no failure
    included; a ``low`` one, a test updated with its behaviour, is context), for the result's
    ``decisions``."""
    return [
        f.message[:1000]
        for f in findings
        if f.on_changed_line
        and (
            (f.rule_id in LEAD_RULES and f.severity != "low")
            or (f.rule_id == "testing.test_weakened" and f.severity == "medium")
        )
    ][:50]


class TestingAgent(SubAgent):
    """Runs the change's tests in isolation and measures coverage of the changed lines."""

    __test__ = False  # not a pytest test class
    name = "testing"
    description = "runs the tests at the head in a cached, sandboxed venv; changed-line coverage"
    timeout = 1800
    Settings = Settings

    def result(self, findings: Sequence[Finding] = (), **kwargs: Any) -> SubAgentResult:
        """``SubAgent.result``, with the findings a LEAD must decide as ``decisions``."""
        kwargs.setdefault("decisions", lead_decisions(findings))
        return super().result(findings, **kwargs)

    async def check(self, change: Change) -> SubAgentResult:
        settings: Settings = self.settings
        try:
            settings = await _with_django_settings(change, settings)
            run = await run_suite(change, settings, settings.command, base_pass=True)
        except LeoError as exc:  # no sandbox, failed setup: no evidence
            return _error(str(exc))
        return await self._assess(change, settings, run)

    async def _assess(self, change: Change, settings: Settings, run: SuiteRun) -> SubAgentResult:
        env = run.environment
        tools = env.tools()
        details: dict[str, Any] = {
            "environment": {
                "key": env.key,
                "reused": env.reused,
                "setup_s": env.setup_s,
                # the date its dependencies were resolved as of (pip --uploaded-prior-to);
                # None: as of the day it was built
                "resolve_as_of": settings.resolve_as_of,
            },
            "exit_code": run.result.returncode,
            "test_duration_s": run.duration_s,
            "isolation": {
                "sandbox": "none" if current_isolation() == "none" else "bubblewrap",
                "network": settings.network,
                "setup_network": settings.setup_network,
                "memory_limit_mb": settings.memory_limit_mb,
                "max_processes": settings.max_processes,
            },
        }
        if settings.django_settings is not None:
            details["django_settings"] = settings.django_settings
        if settings.deselect:
            details["deselected"] = list(settings.deselect)
        findings: list[Finding] = []
        if env.runner_as_of_today:
            details["environment"]["runner_as_of_today"] = True
        if env.pruned:  # the least recently used cached environments, deleted after this build
            details["environment"]["pruned"] = len(env.pruned)
        if env.notes:
            details["environment"]["notes"] = list(env.notes)
            findings.append(
                Finding(
                    rule_id="testing.environment_incomplete",
                    severity="low",
                    message=f"the test environment was set up without {len(env.notes)} part(s) "
                    "of the project's declared test or build requirements "
                    "(details.environment.notes); a test that needed them fails or is "
                    f"skipped, never passes: {env.notes[0]}",
                    fix="make the test requirements installable from the package index alone",
                )
            )
        if env.tampered:
            details["environment"]["tampered"] = list(env.tampered)
            findings.append(
                Finding(
                    rule_id="testing.runner_tampering",
                    severity="critical",
                    message="the change's own build (setup.py or its build backend, run while "
                    "the environment was writable) changed the test environment beyond installing "
                    f"packages: {'; '.join(env.tampered[:3])}; every run of this change, the "
                    "re-runs at the base commit included, ran with it (details.environment.tampered)",
                    fix="do not write into the environment from the build",
                )
            )
        gate = await self._gate(change, run, details)
        if run.environment_modified:
            details["environment"]["discarded"] = True
            findings.append(
                Finding(
                    rule_id="testing.environment_modified",
                    severity="low",
                    message="the test run changed files in the cached environment; it was "
                    "discarded and will be rebuilt",
                )
            )
        if run.result.timed_out:
            last = _last_test(run.result.stdout_text)
            where = f"; the last test started was {last}" if last else ""
            where += _failures_before_timeout(run.observer)
            msg = f"the test suite did not finish within its {settings.test_timeout:g}s timeout and was killed{where}"
            details["last_test"] = last
            findings.append(Finding(rule_id="testing.timeout", severity="high", message=msg))
            findings += gate
            return SubAgentResult(
                status="timeout", confidence=0, summary=msg, error=msg, findings=tuple(findings),
                tools=tuple(tools), details=details,
            )  # fmt: skip
        blocking = [f for f in gate if f.severity in ("critical", "high")]
        if run.report_error:
            if blocking:  # evidence of tampering outweighs the missing report
                return self.result(
                    findings + gate, summary=run.report_error, tools=tools, details=details
                )
            return _error(
                run.report_error, tools=tuple(tools), details=details, findings=tuple(gate)
            )
        if run.junit is None:
            if run.result.returncode == NO_TESTS_COLLECTED:
                return self._no_tests(
                    findings + gate, tools, details, "the test command collected no tests", run
                )
            msg = (
                f"the test command exited {run.result.returncode} without writing a JUnit report"
                f"{_usage_hint(run.result)}: {_tail(run.result)}"
            )
            if run.result.returncode == USAGE_ERROR and "unrecognized arguments" in msg:
                msg = (
                    "pytest stopped with a usage error: the project's configuration passes "
                    "options of a pytest plugin the environment does not have (declare it in "
                    f"the test requirements or tox.ini's deps). {msg}"
                )
            drift = _same_startup_error(run)
            if drift:
                details["same_error_at_base"] = drift
                msg = (
                    "the tests could not start, and the base's tests and configuration stopped "
                    f"with the same error ({drift}): the test environment, not the change, is "
                    "the likely cause (a dependency released since the project's unpinned test "
                    "requirements last worked), but the tests gave no evidence, so a LEAD must "
                    f"look. {msg}"
                )
            if blocking:
                return self.result(findings + gate, summary=msg, tools=tools, details=details)
            return _error(msg, tools=tuple(tools), details=details, findings=tuple(gate))
        try:
            suite = parse_junit(run.junit)
        except ReportError as exc:
            if blocking:
                return self.result(findings + gate, summary=str(exc), tools=tools, details=details)
            return _error(str(exc), tools=tuple(tools), details=details, findings=tuple(gate))
        findings += gate
        details.update(suite.counts())
        if suite.ran == 0:
            why = (
                "every collected test was skipped"
                if suite.cases
                else "the test command collected no tests"
            )
            return self._no_tests(findings, tools, details, why, run)
        findings += self._test_findings(suite, details, run.failed_at_base)
        failing = suite.count("failed") + suite.count("error")
        if run.result.returncode != 0 and not failing:
            findings.append(
                Finding(
                    rule_id="testing.exit_status",
                    severity="high",
                    message=f"the test command exited {run.result.returncode} although its JUnit "
                    f"report lists no failure: {_tail(run.result, 5)}",
                )
            )
        summary = (
            f"{suite.ran} tests ran: {suite.count('passed')} passed, {suite.count('failed')} "
            f"failed, {suite.count('error')} errors, {suite.count('skipped')} skipped"
        )
        held = len(details.get("failing_at_base_too", ()))
        if held:
            summary += f" ({held} failing test(s) fail the same way at the base commit)"
        if held and not suite.count("passed") and not blocking:
            # e.g. platformdirs 4.2.1, whose modules could not import a generated version file
            msg = (
                f"{summary}: no test passed, so the tests gave no evidence about the change; "
                "failing the same way at the base commit says the environment cannot run this "
                "suite, not that the change is safe"
            )
            return _error(msg, tools=tuple(tools), details=details, findings=tuple(findings))
        not_analysed: list[NotAnalysed] = []
        if settings.coverage:
            coverage_summary = await self._coverage(
                change, settings, run, findings, details, not_analysed
            )
            summary += f"; {coverage_summary}"
        regular = [f for f in change.files if f.is_regular]
        analysed = Analysed(
            files=tuple(f.path for f in regular),
            lines=sum(len(f.added_lines) for f in regular),
            not_analysed=tuple(not_analysed),
        )
        return self.result(
            findings, summary=summary, analysed=analysed, tools=tools, details=details
        )

    async def _gate(self, change: Change, run: SuiteRun, details: dict[str, Any]) -> list[Finding]:
        """Findings on the gate's own evidence: runner tampering, witnesses that disagree, an
        edited harness, and base tests the change's own run weakened."""
        findings = await tampering_findings(change)
        findings += await shadowing_findings(change, self.settings.pythonpath, run.environment.path)
        findings += await support_findings(change, self.settings.pythonpath)
        head_suite = _suite(run.junit)
        # Each observer record is read once: a large suite writes three lines per test.
        head_record = observer.read_record(run.observer) if run.observer is not None else None
        base_record = (
            observer.read_record(run.base.observer)
            if run.base is not None and run.base.observer is not None
            else None
        )
        if head_record is not None:
            findings += observer.agreement_findings(
                head_record, head_suite, run.result.returncode, run.result.stdout_text
            )
            findings += observer.exit_findings(head_record)
            details["observer"] = {
                "started": head_record.started,
                "finished": head_record.finished,
                "exit_forced": head_record.exit_forced,
            }
        bytecode = [f.path for f in change.files if f.path.endswith((".pyc", ".pyo"))]
        if bytecode:
            findings.append(_bytecode_finding(bytecode))
        harness = await harness_changes(change)
        if harness:
            details["harness_changed"] = dict(harness)
            own = self.settings.is_default_command  # LEO's own --cov measures the tree
            bending, inert = await harness_effect(change, harness, own, self.settings.coverage_omit)
            details["harness_effect"] = {"may_bend": bending[:50], "cannot_bend": inert[:50]}
            findings.append(_harness_finding(list(harness), bending, inert))
        records = [r for r in (head_record, base_record) if r is not None]
        findings += observer.plugin_findings(records, run.tree, change)
        base = run.base
        if base is None:
            return findings
        base_suite = _suite(base.junit)
        info: dict[str, Any] = {
            "restored": list(run.base_paths[:100]),
            "exit_code": base.result.returncode,
            "duration_s": base.duration_s,
        }
        details["base_pass"] = info
        if run.failing_before:
            info["failing_before"] = sorted(run.failing_before)[:200]
        if base_record is not None:
            findings += [
                f.model_copy(update={"message": f"base pass: {f.message}"})
                for f in observer.agreement_findings(
                    base_record, base_suite, base.result.returncode, base.result.stdout_text
                )
            ]
        if base_suite is None:
            if base.result.returncode != NO_TESTS_COLLECTED or base.result.timed_out:
                ended = "timed out" if base.result.timed_out else f"exited {base.result.returncode}"
                why = f"the base pass (the base's tests against the head's code) {ended} without a readable JUnit report: {_tail(base.result, 5)}"
                info["error"] = why
                findings.append(
                    Finding(
                        rule_id="testing.base_pass_missing",
                        severity="medium",
                        message=why,
                    )
                )
            return findings
        info.update(base_suite.counts())
        edited = {f.path for f in change.files} | {f.old_path for f in change.files if f.old_path}
        renamed = {f.old_path: f.path for f in change.files if f.old_path and f.status == "renamed"}
        looked_at = sorted({c.file for c in base_suite.cases if c.file and c.file in edited})
        base_src = await change.read_many(looked_at, "base") if looked_at else {}
        # A test moved into a test file the change adds is looked for there too (structlog 24.2.0).
        added = {f.path for f in change.files if f.status in ("added", "copied")}
        moved_to = {c.file for c in (head_suite.cases if head_suite else ()) if c.file in added}
        head_paths = {renamed.get(p, p) for p in looked_at} | (moved_to if looked_at else set())
        head_src = await change.read_many(sorted(p for p in head_paths if p), "head")
        sources = baseline.Sources(
            {p: baseline.read_test_functions(data) for p, data in base_src.items()},
            {p: baseline.read_test_functions(data) for p, data in head_src.items()},
        )
        head_suite = head_suite or Suite(())
        weakened = baseline.compare(base_suite, head_suite, edited, renamed, sources)
        weakened = await baseline.subjects_removed(change, weakened)
        if run.deprecations_allowed:
            info["deprecations_allowed"] = {
                nodeid: f"{outcome}: {error}" if error else outcome
                for nodeid, (outcome, error) in list(run.deprecations_allowed.items())[:200]
            }
            weakened = [
                replace(w, allowed=run.deprecations_allowed.get(w.nodeid)) for w in weakened
            ]
        info["weakened"] = [w.nodeid for w in weakened[:200]]
        # Only in a test file the change left alone: a change that rewrote the test and made its
        # code behave when re-run (``-q`` in argv, a counter file) is no flake.
        flaky = [
            w
            for w in weakened
            if w.nodeid in run.passed_again and w.head_outcome == "passed" and not w.edited
        ]
        if flaky:
            info["passed_again"] = [w.nodeid for w in flaky[:200]]
            findings += [_flaky_in_base_pass(w) for w in flaky[:_MAX_NAMED]]
            weakened = [w for w in weakened if w not in flaky]
        chance = [
            w
            for w in weakened
            if w.nodeid in run.skipped_again and w.head_outcome == "skipped"
            and w.base_outcome == "passed" and not w.edited
        ]  # fmt: skip
        if chance:
            info["skipped_again"] = [w.nodeid for w in chance[:200]]
            findings += [_skipped_by_chance(w) for w in chance[:_MAX_NAMED]]
            weakened = [w for w in weakened if w not in chance]
        findings += baseline.weakened_findings(
            weakened, self.settings.updated_tests, run.failing_before
        )
        if run.skipped_once:  # drawn from ``skipped_by_code``
            info["skipped_once"] = sorted(run.skipped_once)[:200]
        findings += _skipped_by_code_findings(
            run.skipped_by_code, run.skipped_once, base_suite, edited
        )
        if run.collected_at_base is not None and base_record is not None:
            missing = _not_collected(run.collected_at_base, base_record.collected, base_suite)
            if missing:
                info["not_collected"] = missing[:200]
                findings.append(_not_collected_finding(missing))
        return findings

    def _no_tests(
        self,
        findings: list[Finding],
        tools: list[Tool],
        details: dict[str, Any],
        why: str,
        run: SuiteRun,
    ) -> SubAgentResult:
        # The base's tests, with the base's configuration, found nothing either: the project
        # has no tests (tomli 2.0.2's and certifi's sdists ship none). Not the change's doing:
        # like Database on a change without migrations, nothing to check, unless the policy
        # requires tests. A change that drops every test the base had stays high.
        before = run.base is not None and _collected_nothing(run) and _collected_nothing(run.base)
        required = self.settings.require_tests
        findings.append(
            Finding(
                rule_id="testing.no_tests",
                severity="high" if not before else "medium" if required else "low",
                message=f"{why}; a suite that runs no test proves nothing"
                + ("; the base's tests collect none either" if before else ""),
                fix="add tests, or set [tool.leo.agents.testing] command to run the tests the "
                "project has (pytest collects test_*.py and *_test.py by default)",
            )
        )
        if (
            before
            and not required
            and not [f for f in findings if f.severity not in ("low", "info")]
        ):
            summary = (
                "the project has no tests: neither the base nor the head collects any (set "
                "require_tests = true under [tool.leo.agents.testing] to require them)"
            )
            return self.result(
                findings, summary=summary, tools=tools, details=details, status="skipped"
            )
        return self.result(findings, summary=why, tools=tools, details=details)

    def _test_findings(
        self,
        suite: Suite,
        details: dict[str, Any],
        failed_at_base: Mapping[str, frozenset[str]] | None = None,
    ) -> list[Finding]:
        """A finding per failing test: ``high``, unless it fails the same way at the base commit
        (hold the line: ``low``, not the change's) or it is a test class pytest skipped with a
        warning a warnings filter made an error (``low``, no test lost)."""
        before = failed_at_base or {}
        findings = []
        failing = []
        pre_existing = []
        for case in suite.cases:
            if case.outcome not in ("failed", "error"):
                continue
            path, line = case.crash_location()
            verb = "failed" if case.outcome == "failed" else "errored"
            message = f"{case.nodeid} {verb}" + (f": {case.message}" if case.message else "")
            if case.failure_signature() in before.get(case.nodeid, ()):
                pre_existing.append(case.nodeid)
                findings.append(  # hold the line: the base's own code fails it the same way
                    Finding(
                        rule_id=_rule(case),
                        severity="low",
                        message=f"{message} (it fails the same way at the base commit, with the "
                        "base's tests and code in the same environment: not introduced by the "
                        "change)",
                        path=path,
                        line=line,
                        on_changed_line=False,
                    )
                )
                continue
            if case.collection_warning:  # markdown 3.7: not a collection error (issue 18)
                findings.append(
                    Finding(
                        rule_id="testing.collection_warning",
                        severity="low",
                        message=f"{case.nodeid}: {case.first_error_line()} (a warnings filter "
                        "the tests set turned pytest's collection warning into an error; pytest "
                        "never runs such a class, so no test is lost)",
                        path=path,
                        line=line,
                    )
                )
                continue
            failing.append(case.nodeid)
            if case.collection_error:  # say why, so a LEAD can act (zipp 3.18.1, markdown 3.7)
                what = case.file if case.name == case.module else case.nodeid
                message = f"{what} could not be collected: {case.first_error_line()}"
            findings.append(
                Finding(
                    rule_id=_rule(case),
                    severity="high",
                    message=message,
                    path=path,
                    line=line,
                )
            )
        details["failing_tests"] = failing[:500]
        if pre_existing:
            details["failing_at_base_too"] = list(dict.fromkeys(pre_existing))[:500]
        return findings

    async def _coverage(
        self,
        change: Change,
        settings: Settings,
        run: SuiteRun,
        findings: list[Finding],
        details: dict[str, Any],
        not_analysed: list[NotAnalysed],
    ) -> str:
        if not settings.coverage_report:
            details["coverage"] = {"measured": False, "reason": "no coverage_report configured"}
            return "changed-line coverage not configured"
        hits: changed_coverage.LineHits = {}
        if run.coverage is None:
            message = (
                "the test run wrote no coverage report, so coverage of the changed lines is unknown"
            )
            findings.append(
                Finding(
                    rule_id="testing.coverage.missing",
                    severity=settings.coverage_severity,
                    message=message,
                )
            )
            details["coverage"] = {"measured": False, "reason": message}
            return "no coverage report"
        try:
            hits = changed_coverage.parse_report(run.coverage, Path(run.tree))
        except ReportError as exc:
            findings.append(
                Finding(
                    rule_id="testing.coverage.missing",
                    severity=settings.coverage_severity,
                    message=str(exc),
                )
            )
            details["coverage"] = {"measured": False, "reason": str(exc)}
            return "unreadable coverage report"
        measured = await self._measure(change, settings, run, hits, details)
        not_analysed += [NotAnalysed(path=p, reason=r) for p, r in measured.unmeasured.items()]
        findings += changed_coverage.context_findings(
            measured, details["coverage"].get("interpreter", "")
        )
        percent = measured.percent
        details["coverage"].update(
            {
                "measured": True,
                "percent": percent,
                "covered": measured.covered,
                "executable": measured.executable,
                "threshold": settings.coverage_threshold,
                "uncovered": {
                    f.path: changed_coverage.ranges(f.uncovered)
                    for f in measured.files
                    if f.uncovered
                },
                "not_imported_by_tests": [f.path for f in measured.files if not f.reported],
                "pre_existing": {
                    f.path: changed_coverage.ranges(list(f.debt)) for f in measured.files if f.debt
                },
                "excluded_by_change": {
                    f.path: changed_coverage.ranges(f.excluded)
                    for f in measured.files
                    if f.excluded
                },
                "not_measured": dict(measured.outside),
                "imported_before_coverage": {
                    f.path: changed_coverage.ranges(f.early) for f in measured.files if f.early
                },
                "not_runnable_here": {
                    f.path: changed_coverage.ranges(list(f.gated))
                    for f in measured.files
                    if f.gated
                },
            }
        )
        if percent is None:
            return "no added executable lines to cover"
        text = f"changed-line coverage {percent:g}% ({measured.covered}/{measured.executable})"
        found, judged = changed_coverage.judge(
            measured, settings.coverage_threshold, settings.coverage_severity
        )
        findings += found
        return text + judged

    async def _measure(
        self,
        change: Change,
        settings: Settings,
        run: SuiteRun,
        hits: changed_coverage.LineHits,
        details: dict[str, Any],
    ) -> changed_coverage.ChangedCoverage:
        """``changed_coverage.measure`` with what it needs: the base's coverage settings (never
        the head's: the change's edits to them are evidence, not configuration), the packages,
        and the base's own coverage run when there was one."""
        configs = {
            side: changed_coverage.CoverageConfig.from_options(
                coverage_options(await change.read_many(CONFIG_FILES, side))
            )
            for side in ("base", "head")
        }
        paths = change.paths(suffixes=(".py",))
        inits = changed_coverage.package_dirs(change.paths())
        found = [await change.read_many(inits, side) for side in ("base", "head")]
        packages = frozenset(p.split("/")[-2] for f in found for p, d in f.items() if d is not None)
        base = None
        info: dict[str, Any] = {"ran": run.base_coverage is not None}
        if run.base_coverage is None and run.duration_s > settings.hold_the_line_max_s:
            info["skipped"] = (
                f"the head's run took {run.duration_s:g}s, over hold_the_line_max_s "
                f"({settings.hold_the_line_max_s:g}s)"
            )
        if run.base_coverage is not None:
            info["duration_s"] = run.base_coverage.duration_s
            base_hits, why = _base_hits(run.base_coverage)
            info["usable"] = base_hits is not None
            if why:
                info["unusable"] = why
            if base_hits is not None:
                old = [f.old_path or f.path for f in change.files if f.path.endswith(".py")]
                base = changed_coverage.BaseEvidence(base_hits, await change.read_many(old, "base"))
        details["coverage"] = {"base_run": info}
        sources = await change.read_many(paths, "head")
        gated = await self._gated(change, settings, hits, sources, details["coverage"])
        return changed_coverage.measure(
            change,
            hits,
            sources,
            settings.coverage_omit,
            base_config=configs["base"],
            head_config=configs["head"],
            packages=packages,
            base=base,
            gated=gated,
            code=await code_named_like_tests(change),
        )

    async def _gated(
        self,
        change: Change,
        settings: Settings,
        hits: changed_coverage.LineHits,
        sources: Mapping[str, bytes | None],
        details: dict[str, Any],
    ) -> dict[str, dict[int, str]]:
        """Added lines no test can run on the tests' interpreter and platform, with why
        (``reachable``). Only for a command run by ``{python}``, whose interpreter LEO knows."""
        if settings.command[:1] != ("{python}",):
            return {}
        unrun = {
            f.path: set(f.added_lines) - {n for n, c in hits.get(f.path, {}).items() if c}
            for f in change.files
            if f.path.endswith(".py") and sources.get(f.path) is not None
        }
        unrun = {p: lines for p, lines in unrun.items() if lines}
        if not unrun:
            return {}
        target = await reachable.probe(settings.python)
        if target is None:
            details["interpreter"] = f"unknown: {settings.python} did not say"
            return {}
        details["interpreter"] = target.describe()
        files = await change.listing("head")
        venv = Path(settings.python).parent.parent
        target = target.without(
            reachable.shadowing(files, venv if (venv / "pyvenv.cfg").is_file() else None)
        )
        ran = {p: any(h.values()) for p, h in hits.items()}
        modules = await reachable.gated_modules(
            change, files, [p for p in unrun if not ran.get(p)], ran, target
        )
        gated: dict[str, dict[int, str]] = {}
        for path, lines in unrun.items():
            found = reachable.unreachable(sources[path] or b"", target, hits.get(path, {}))
            if path in modules:
                found = dict.fromkeys(lines, f"the module: {modules[path]}") | found
            if mine := {n: why for n, why in found.items() if n in lines}:
                gated[path] = mine
        return gated

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> SubAgentResult | None:
        """Re-run the failing tests: one that fails, then passes, is flaky (a warning)."""
        own = conflict.own
        failing = own.details.get("failing_tests")
        settings: Settings = self.settings
        if not isinstance(failing, list) or not failing or settings.rerun_command is None:
            return None
        # A node id comes from the report the change's code wrote: never let it be an option.
        ids = tuple(t for t in failing if isinstance(t, str) and t and not t.startswith("-"))[:200]
        flaky: set[str] = set()
        for _ in range(settings.flaky_reruns):
            remaining = tuple(t for t in ids if t not in flaky)
            if not remaining:
                break
            try:
                run = await run_suite(
                    change, settings, settings.rerun_command, tests=remaining, coverage=False
                )
                suite = parse_junit(run.junit) if run.junit is not None else None
            except LeoError:
                break
            if suite is None or run.result.timed_out:
                break
            flaky |= {
                c.nodeid for c in suite.cases if c.outcome == "passed" and c.nodeid in remaining
            }
        if not flaky:
            return None
        revised = []
        for f in own.findings:
            nodeid = next((t for t in flaky if f.message.startswith(f"{t} ")), None)
            if f.rule_id in _TEST_RULES and nodeid is not None:
                revised.append(
                    Finding(
                        rule_id="testing.flaky",
                        severity="medium",
                        message=f"{nodeid} failed, then passed when re-run: a flaky test, "
                        "neither a pass nor a hard failure",
                        path=f.path,
                        line=f.line,
                        fix="make the test deterministic",
                    )
                )
            else:
                revised.append(f)
        details = {**own.details, "flaky_tests": sorted(flaky)}
        still = len([f for f in revised if f.rule_id in _TEST_RULES])
        summary = f"{own.summary}; on re-run {len(flaky)} failing test(s) passed (flaky), {still} still fail"
        return self.result(
            revised, summary=summary, analysed=own.analysed, tools=own.tools, details=details
        )


def _base_hits(run: SuiteRun) -> tuple[changed_coverage.LineHits | None, str]:
    """The base coverage run's line hits, or None and why it is no evidence: no report, a
    suite that passed no test, or a timeout (then nothing is pre-existing debt: fail closed)."""
    suite = _suite(run.junit)
    if run.result.timed_out:
        return None, "timed out"
    if suite is None or not suite.count("passed"):
        return None, f"no test passed (exit {run.result.returncode}): {_tail(run.result, 3)}"
    if run.coverage is None:
        return None, run.report_error or "no coverage report"
    try:
        return changed_coverage.parse_report(run.coverage, Path(run.tree)), ""
    except ReportError as exc:
        return None, str(exc)
