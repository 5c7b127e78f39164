"""Does the change edit what pytest or coverage read as configuration? Then its own green
tests are weak evidence, and only a LEAD can judge the edit.

Every file pytest 8/9 reads its options from (``pytest.ini``, ``.pytest.ini``, ``pytest.toml``,
``.pytest.toml``, ``pyproject.toml``'s ``[tool.pytest.ini_options]``/``[tool.pytest]``,
``tox.ini [pytest]``, ``setup.cfg [tool:pytest]``), ``conftest.py`` at any depth, interpreter
start-up hooks (``sitecustomize.py``, ``usercustomize.py``, ``.pth``), pytest plugins the project
declares (``pytest11`` entry points) and coverage's configuration wherever it is named
(``.coveragerc``, the ``[coverage:*]``/``[tool.coverage]`` sections, a ``--cov-config`` file).
The base pass runs with the base's versions of all of them (``baseline.py``); a change to any
is ``testing.harness_changed``, which needs a LEAD, with the diff in the report (issue 17,
THREATS.md D-07).
"""

from __future__ import annotations

import ast
import configparser
import difflib
import fnmatch
import posixpath
import shlex
import tomllib
from collections.abc import Sequence
from typing import Any

from leo import Change, parse_python
from leo_testing.changed_coverage import DEFAULT_EXCLUDE

HARNESS_FILES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini",
     ".coveragerc", "noxfile.py", "sitecustomize.py", "usercustomize.py", "setup.cfg",
     "pyproject.toml"}
)  # fmt: skip
#: Files read partly: only their test-related sections count as harness.
_MIXED = frozenset({"pyproject.toml", "setup.cfg", "tox.ini"})
#: Root files that may name further configuration (``--cov-config``, ``-c``).
_ROOT_CONFIG = ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "pyproject.toml",
                "tox.ini", "setup.cfg")  # fmt: skip
_MAX_DIFF = 4000
_MAX_FILES = 20


def is_harness_file(path: str) -> bool:
    """A file that can be test configuration by its name (``.pth`` and the files above)."""
    name = posixpath.basename(path)
    return name in HARNESS_FILES or name.endswith(".pth")


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _toml_sections(data: bytes | None) -> Any:
    try:
        doc = tomllib.loads(_text(data))
    except tomllib.TOMLDecodeError:
        return "unparseable"
    tool = doc.get("tool", {})
    tool = tool if isinstance(tool, dict) else {}
    project = doc.get("project", {})
    points = project.get("entry-points", {}) if isinstance(project, dict) else {}
    return {
        "pytest": tool.get("pytest"),
        "coverage": tool.get("coverage"),
        "pytest11": points.get("pytest11") if isinstance(points, dict) else None,
    }


def _ini_sections(data: bytes | None) -> Any:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_text(data))
    except configparser.Error:
        return "unparseable"
    return {
        name: dict(parser[name])
        for name in parser.sections()
        if name in ("tool:pytest", "pytest", "options.entry_points") or name.startswith("coverage:")
    }


def _sections(path: str, data: bytes | None) -> Any:
    """The part of a mixed file (pyproject.toml, setup.cfg, tox.ini) pytest or coverage reads."""
    if posixpath.basename(path) == "pyproject.toml":
        return _toml_sections(data)
    return _ini_sections(data)


def named_configs(files: dict[str, bytes | None]) -> set[str]:
    """Files the root configuration names with ``--cov-config=`` or ``-c``/``--config-file``."""
    named: set[str] = set()
    for data in files.values():
        text = _text(data)
        options: list[str] = []
        for line in text.splitlines():
            if "addopts" in line or "--cov-config" in line or "--config-file" in line:
                try:
                    options += shlex.split(line.split("=", 1)[-1].strip(" []\"'"), posix=True)
                except ValueError:
                    continue
        for i, opt in enumerate(options):
            for prefix in ("--cov-config=", "--config-file="):
                if opt.startswith(prefix):
                    named.add(opt[len(prefix) :].strip("\"',"))
            if opt in ("--cov-config", "-c", "--config-file") and i + 1 < len(options):
                named.add(options[i + 1].strip("\"',"))
    return {posixpath.normpath(n) for n in named if n and not n.startswith(("/", ".."))}


async def harness_changes(change: Change) -> dict[str, str]:
    """Harness files the change edits (their test-related part), each with a unified diff."""
    roots = await change.read_many(_ROOT_CONFIG, "base")
    heads = await change.read_many(_ROOT_CONFIG, "head")
    extra = named_configs(roots) | named_configs(heads)
    touched: dict[str, str] = {}
    for f in change.files:
        old = f.old_path or f.path
        if not (is_harness_file(f.path) or is_harness_file(old) or f.path in extra or old in extra):
            continue
        base = await change.read(old, "base") if f.status != "added" else None
        head = await change.read(f.path, "head") if f.status != "deleted" else None
        name = posixpath.basename(f.path)
        if name in _MIXED and _sections(f.path, base) == _sections(f.path, head):
            continue
        if len(touched) < _MAX_FILES:
            diff = "".join(
                difflib.unified_diff(
                    _text(base).splitlines(keepends=True),
                    _text(head).splitlines(keepends=True),
                    f"a/{old}",
                    f"b/{f.path}",
                )
            )
            touched[f.path] = diff[:_MAX_DIFF] + (
                "\n[diff truncated]" if len(diff) > _MAX_DIFF else ""
            )
        else:
            touched[f.path] = "[diff not shown]"
    return touched


# ------------------------------------------------------------- what an edit can have bent
#
# The base pass runs the base's tests under the base's configuration, so a harness edit cannot
# hide a failing base test; what the head's configuration still decides is which of the head's
# own tests run and what coverage measures. An edit that cannot touch either (a log format, a
# marker, a removed lint-plugin option, the configuration moved from setup.cfg to pyproject.toml
# unchanged) is reported for the LEAD but does not stop a release (issue 18). Anything else —
# collection (addopts, testpaths, python_files, …), conftest.py, start-up hooks, plugins, an
# added coverage exclusion — still needs a LEAD.

#: pytest options that change neither which tests run nor their outcome.
INERT_PYTEST = frozenset(
    {"minversion", "markers", "filterwarnings", "console_output_style", "cache_dir",
     "junit_suite_name", "junit_logging", "junit_log_passing_tests", "junit_duration_report",
     "junit_family", "required_plugins", "faulthandler_timeout", "doctest_encoding",
     "tmp_path_retention_count", "tmp_path_retention_policy", "verbosity_assertions",
     "verbosity_test_cases", "truncation_limit_lines", "truncation_limit_chars"}
)  # fmt: skip
#: pytest options that decide outcomes or load code: any edit, removal included, needs a LEAD.
COLLECTION_PYTEST = frozenset(
    {"addopts", "usefixtures", "xfail_strict", "pythonpath", "confcutdir",
     "empty_parameter_set_mark", "doctest_optionflags", "asyncio_mode", "strict",
     "strict_markers", "strict_xfail", "strict_config", "rootdir", "timeout"}
)  # fmt: skip
#: pytest options that only choose which files and names are collected. The base's tests ran
#: under the base's configuration, and each must still run in the head's run or it is
#: ``testing.test_weakened``; so these can only choose which of the head's own new tests run,
#: which no more bends the evidence than not writing a test (termcolor 2.5.0 added testpaths).
COLLECTING_PYTEST = frozenset(
    {"testpaths", "python_files", "python_classes", "python_functions", "norecursedirs",
     "consider_namespace_packages", "collect_imported_tests"}
)  # fmt: skip
#: coverage options (section.key) that only change how a report looks or where data goes.
INERT_COVERAGE = frozenset(
    {"run.branch", "run.parallel", "run.concurrency", "run.data_file", "run.relative_files",
     "run.debug", "run.disable_warnings", "run.dynamic_context", "run.context", "run.sigterm",
     "run.timid", "report.show_missing", "report.skip_covered", "report.skip_empty",
     "report.precision", "report.sort", "report.format", "report.fail_under",
     "report.ignore_errors", "report.title"}
)  # fmt: skip
#: coverage options LEO's own ``--cov=<project>`` decides: it overrides ``[run] source``, and
#: ``source_pkgs`` can only add files to measure (blinker 1.8.0 added ``run.source``).
OVERRIDDEN_COVERAGE = frozenset({"run.source", "run.source_pkgs"})
#: Markers of an installed copy of a package: a ``[paths]`` alias naming only such copies
#: cannot remap a file of the project's tree, the only files LEO measures.
_INSTALLED = ("site-packages", "dist-packages", ".tox/", ".nox/", ".venv/")
#: coverage options that leave lines out: removing entries measures more, adding hides lines.
EXCLUDING_COVERAGE = frozenset(
    {"run.omit", "run.include", "report.omit", "report.include", "report.exclude_lines",
     "report.exclude_also", "report.partial_branches", "report.partial_also"}
)  # fmt: skip
#: coverage options that leave files out by name.
_OMITTING = frozenset({"run.omit", "report.omit"})
#: coverage options that exclude lines by pattern (``exclude_lines`` replaces the defaults).
_EXCLUDING_LINES = ("report.exclude_lines", "report.exclude_also")
#: Exclusion patterns that hide only code no test can run: typing's ``@overload`` stubs and
#: ``TYPE_CHECKING`` blocks, as projects spell them (exceptiongroup 1.2.1 added ``@overload``).
_NEVER_RUN_PATTERNS = frozenset(
    {"@overload", "@typing.overload", r"@(typing\.)?overload", r"^\s*@overload",
     "if TYPE_CHECKING:", "if typing.TYPE_CHECKING:", r"if (typing\.)?TYPE_CHECKING:"}
)  # fmt: skip
_REPORT_SECTIONS = ("html.", "xml.", "json.", "lcov.")
#: pytest's order for the root configuration file (pytest 9; 8 has no pytest.toml).
_PYTEST_ORDER = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml",
                 "tox.ini", "setup.cfg")  # fmt: skip
_COVERAGE_ORDER = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")
CONFIG_FILES = tuple(dict.fromkeys(_PYTEST_ORDER + _COVERAGE_ORDER))

Options = dict[str, tuple[str, ...]]


def _entries(value: Any) -> tuple[str, ...]:
    """A value as its entries, the same for INI text and TOML: a list's items or a text's lines."""
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, list):
        items = [str(v) for v in value]
    else:
        items = str(value).splitlines() or [""]
        if len(items) == 1 and "\n" not in str(value):
            items = [str(value)]
    out = tuple(i.strip() for i in items if i.strip())
    return tuple(o.lower() if o.lower() in ("true", "false") else o for o in out)


def _tokens(entries: tuple[str, ...]) -> tuple[str, ...]:
    """Entries split on whitespace, so ``testpaths = a b`` equals ``testpaths = ["a", "b"]``."""
    return tuple(t for e in entries for t in e.split())


def _ini(data: bytes | None) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_text(data))
    except configparser.Error:
        return None
    return parser


def pytest_options(name: str, data: bytes | None) -> Options | None:
    """The pytest options of one root file, or None when pytest would not take it as config."""
    if name.endswith(".toml"):
        try:
            doc = tomllib.loads(_text(data))
        except tomllib.TOMLDecodeError:
            return {"<unparseable>": (name,)}
        table: Any = doc.get("pytest") if name != "pyproject.toml" else None
        if name == "pyproject.toml":
            tool = doc.get("tool", {})
            pytest_table = tool.get("pytest", {}) if isinstance(tool, dict) else {}
            if not isinstance(pytest_table, dict) or not pytest_table:
                return None
            table = {k: v for k, v in pytest_table.items() if k != "ini_options"}
            table.update(pytest_table.get("ini_options") or {})
        if not isinstance(table, dict):
            return None
        return {str(k): _entries(v) for k, v in table.items()}
    parser = _ini(data)
    if parser is None:
        return {"<unparseable>": (name,)}
    section = {"setup.cfg": "tool:pytest"}.get(name, "pytest")
    if not parser.has_section(section):
        return {} if name in ("pytest.ini", ".pytest.ini") else None
    return {k: _entries(v) for k, v in parser.items(section)}


def _coverage_options(name: str, data: bytes | None) -> Options | None:
    """coverage.py's options of one file as ``section.key``, or None when it holds none."""
    if name == "pyproject.toml":
        try:
            doc = tomllib.loads(_text(data))
        except tomllib.TOMLDecodeError:
            return {"<unparseable>": (name,)}
        tool = doc.get("tool", {})
        cov = tool.get("coverage") if isinstance(tool, dict) else None
        if not isinstance(cov, dict) or not cov:
            return None
        return {
            f"{section}.{key}": _entries(value)
            for section, table in cov.items()
            if isinstance(table, dict)
            for key, value in table.items()
        }
    parser = _ini(data)
    if parser is None:
        return {"<unparseable>": (name,)}
    options: Options = {}
    for section in parser.sections():
        short = section.removeprefix("coverage:")
        if short == section and name != ".coveragerc":
            continue
        for key, value in parser.items(section):
            options[f"{short}.{key}"] = _entries(value)
    return options if options or name == ".coveragerc" else None


def _effective(files: dict[str, bytes | None], order: tuple[str, ...], read: Any) -> Options:
    for name in order:
        if files.get(name) is None:
            continue
        options = read(name, files[name])
        if options is not None:
            return dict(options)
    return {}


def effective_pytest_options(files: dict[str, bytes | None]) -> Options:
    """The pytest options one side's root files give (``files`` keyed by ``CONFIG_FILES``),
    from the file pytest would pick."""
    return _effective(files, _PYTEST_ORDER, pytest_options)


def coverage_options(files: dict[str, bytes | None]) -> Options:
    """The coverage.py options one side's root files give (``files`` keyed by ``CONFIG_FILES``),
    from the file coverage.py would pick."""
    return _effective(files, _COVERAGE_ORDER, _coverage_options)


def _split_list(entries: tuple[str, ...]) -> set[str]:
    return {p.strip() for e in entries for p in e.split(",") if p.strip()}


def judge_options(
    base: Options,
    head: Options,
    kind: str,
    own_coverage: bool = False,
    left_out: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(edits that may bend the evidence, edits that cannot) between two option sets;
    ``own_coverage`` when LEO measures coverage with its own ``--cov`` (the default command);
    ``left_out``, the files LEO's changed-line coverage never counts (``coverage_omit``)."""
    bending: list[str] = []
    inert: list[str] = []
    harmless = kind == "coverage" and _adds_only_never_run(base, head)
    for key in sorted(set(base) | set(head)):
        old, new = base.get(key), head.get(key)
        if old is not None and new is not None and _tokens(old) == _tokens(new):
            continue
        verb = "added" if old is None else "removed" if new is None else "changed"
        what = f"{kind} {key} {verb}"
        if harmless and key in _EXCLUDING_LINES:
            inert.append(f"{what} (it adds only coverage.py's defaults or exclusions of typing's "
                         "@overload stubs and TYPE_CHECKING blocks, code no test runs)")  # fmt: skip
        elif kind == "pytest":
            if key in COLLECTING_PYTEST:
                inert.append(f"{what} (it only chooses which of the head's own tests are "
                             "collected; every base test must still run)")  # fmt: skip
            elif key in INERT_PYTEST or (key not in COLLECTION_PYTEST and new is None):
                inert.append(what)
            else:
                bending.append(what)
        elif key in INERT_COVERAGE or key.startswith(_REPORT_SECTIONS):
            inert.append(what)
        elif own_coverage and key in OVERRIDDEN_COVERAGE:
            inert.append(f"{what} (LEO measures the project's tree with its own --cov)")
        elif own_coverage and key.startswith("paths.") and _installed_only(new or ()):
            inert.append(f"{what} (it maps only installed copies onto the project's tree)")
        elif key in EXCLUDING_COVERAGE and _split_list(new or ()) <= _split_list(old or ()):
            inert.append(f"{what} (entries only removed: more is measured)")
        elif key in _OMITTING and _inside(
            _split_list(new or ()) - _split_list(old or ()), left_out
        ):
            inert.append(f"{what} (only files LEO's changed-line coverage never counts: tests)")
        elif key not in EXCLUDING_COVERAGE and new is None:
            inert.append(what)
        else:
            bending.append(what)
    return bending, inert


def _exclusions(options: Options) -> set[str]:
    """The line exclusion patterns coverage.py applies under ``options``."""
    own = options.get("report.exclude_lines")
    listed = own if own is not None else DEFAULT_EXCLUDE
    return {p.strip() for p in (*listed, *options.get("report.exclude_also", ())) if p.strip()}


def _adds_only_never_run(base: Options, head: Options) -> bool:
    """Every exclusion pattern the head adds is coverage.py's own default or names only
    typing's never-run code. LEO counts added lines by the base's exclusions anyway
    (``changed_coverage.excluded_by_change``); this spares a LEAD the routine edit and keeps
    any other pattern (``.*``, ``def risky``) for a LEAD to read."""
    added = _exclusions(head) - _exclusions(base)
    return bool(added) and added <= _NEVER_RUN_PATTERNS | set(DEFAULT_EXCLUDE)


def _inside(patterns: set[str], left_out: Sequence[str]) -> bool:
    """Every pattern names files within ``left_out`` (isodate 0.7.0 omits ``tests/``): an
    ``omit`` of them hides nothing LEO measures. A ``..`` could climb out (coverage.py makes a
    relative pattern absolute, ``tests/../src/*`` is ``src/*``), so it never is."""

    def within(p: str) -> bool:
        p = p.removeprefix("./")
        p = p + "*" if p.endswith("/") else p
        return ".." not in p and any(fnmatch.fnmatchcase(p, o) for o in left_out)

    return bool(patterns) and all(map(within, patterns))


def _installed_only(entries: tuple[str, ...]) -> bool:
    """Every alias of a ``[paths]`` entry (all but the first, where files are mapped to) names
    an installed copy, never a folder of the project's tree."""
    aliases = _tokens(entries)[1:]
    return bool(aliases) and all(any(m in a for m in _INSTALLED) for a in aliases)


#: Names a ``conftest.py`` defines that change what pytest does, not just what tests can use.
_CONFTEST_HOOKS = ("pytest_",)
_CONFTEST_SETTINGS = frozenset({"pytest_plugins"})


def conftest_hooks(data: bytes | None) -> dict[str, str] | None:
    """What in a ``conftest.py`` can change what pytest does, each with its source: hooks
    (``pytest_*`` functions), ``pytest_plugins``, and any module-level statement other than an
    import, a definition, a plain assignment, a docstring or a ``collect_ignore`` edit (module
    code runs at start-up). None when it does not parse."""
    try:
        tree = parse_python(data or b"")
    except (SyntaxError, ValueError):
        return None
    hooks: dict[str, str] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith(_CONFTEST_HOOKS):
                    hooks[node.name] = ast.unparse(node)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif not _plain(node):
                hooks[f"<module statement {ast.unparse(node)[:60]}>"] = ast.unparse(node)

    visit(tree.body)
    return hooks


def _plain(node: ast.stmt) -> bool:
    """An import, a class, a docstring, ``name = …`` or ``collect_ignore.append(…)``."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.ClassDef | ast.Pass):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and t.id not in _CONFTEST_SETTINGS for t in targets)
    if isinstance(node, ast.Expr):
        value = node.value
        if isinstance(value, ast.Constant):
            return True
        func = value.func if isinstance(value, ast.Call) else None
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id.startswith("collect_ignore")
        )
    return False


def _conftest_effect(path: str, base: bytes | None, head: bytes | None) -> str | None:
    """Why a ``conftest.py`` edit cannot bend the evidence, or None when it may: its hooks and
    ``pytest_plugins`` are unchanged or only removed (fixtures and helpers serve the head's
    tests only; the base pass used the base's conftest). A moved, unchanged conftest
    (python-dateutil 2.9.0 moved dateutil/test/ to tests/) is the common case."""
    old, new = conftest_hooks(base), conftest_hooks(head)
    if new is None or (old is None and base is not None):
        return None
    old = old or {}
    if any(old.get(name) != text for name, text in new.items()):
        return None
    if base == head:
        return f"{path} (moved unchanged)"
    return (
        f"{path} (fixtures and helpers only; its pytest hooks and plugins are unchanged or removed)"
    )


async def harness_effect(
    change: Change,
    touched: dict[str, str],
    own_coverage: bool = False,
    left_out: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(edits that may have bent the evidence, edits that cannot have) for the harness files
    ``touched`` (from ``harness_changes``). Root configuration is compared as pytest and
    coverage.py read it — the file each would pick, option by option — so a section moved from
    ``setup.cfg`` to ``pyproject.toml`` unchanged is no edit at all; every other harness file
    (``conftest.py``, ``.pth``, a file named by ``--cov-config``, a nested ``pytest.ini``) can
    bend the evidence, except ``noxfile.py``, which pytest never reads."""
    bending: list[str] = []
    inert: list[str] = []
    root = [p for p in touched if p in CONFIG_FILES]
    for path in touched:
        if path in root:
            continue
        name = posixpath.basename(path)
        if name == "noxfile.py":
            inert.append(f"{path} (pytest does not read it)")
            continue
        if name == "conftest.py":
            f = change.file(path)
            old = (f.old_path or f.path) if f is not None else path
            was = await change.read(old, "base") if f is None or f.status != "added" else None
            now = await change.read(path, "head") if f is None or f.status != "deleted" else None
            why = _conftest_effect(path, was, now)
            if why is not None:
                inert.append(why)
                continue
        bending.append(path)
    if root:
        base = await change.read_many(CONFIG_FILES, "base")
        head = await change.read_many(CONFIG_FILES, "head")
        for kind, order, read in (
            ("pytest", _PYTEST_ORDER, pytest_options),
            ("coverage", _COVERAGE_ORDER, _coverage_options),
        ):
            b, i = judge_options(
                _effective(base, order, read),
                _effective(head, order, read),
                kind,
                own_coverage,
                left_out,
            )
            bending += b
            inert += i
        for path in root:
            if path in ("pyproject.toml", "setup.cfg") and _plugins(path, base) != _plugins(
                path, head
            ):
                bending.append(f"{path}: the pytest plugins the project declares (pytest11)")
        if not bending and not inert:
            inert.append(
                f"{', '.join(root)}: the options pytest and coverage.py read are unchanged"
            )
    return bending, inert


def _plugins(path: str, files: dict[str, bytes | None]) -> Any:
    """The ``pytest11`` entry points ``path`` declares."""
    if path == "pyproject.toml":
        sections = _toml_sections(files.get(path))
        return sections if sections == "unparseable" else sections["pytest11"]
    parser = _ini(files.get(path))
    if parser is None:
        return "unparseable"
    if not parser.has_option("options.entry_points", "pytest11"):
        return None
    return parser.get("options.entry_points", "pytest11")
