"""Benchmarks judged from the base: the base's benchmark files are measured on both sides.

A change could hide a slowdown by editing the benchmark over the slow code (``benchmark(lambda:
1 + 2)``), skipping it, or deleting it. So the head side is measured with the base's version of
every benchmark file, of every ``conftest.py``, of pytest's configuration files and of the
interpreter's start-up files (a ``sitecustomize.py`` on ``PYTHONPATH`` had slowed the clock
200-fold), laid over the head's worktree (files of those kinds the change added are removed);
only the code under them is the head's. A benchmark the change edits, moves or deletes is a finding that needs a
LEAD, never a pass (issue 17 item 2).
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from leo import Change, Finding, LeoError, parse_python, run_git
from leo_performance.discovery import Benchmark

#: Files that decide how pytest collects and runs the benchmarks.
CONFIG_FILES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini",
     "setup.cfg", "pyproject.toml"}
)  # fmt: skip
#: Modules the interpreter imports on its own from ``PYTHONPATH`` when it starts, before pytest.
STARTUP_FILES = frozenset({"sitecustomize.py", "usercustomize.py"})
#: Top-level modules of the runner: one the change adds on ``PYTHONPATH`` runs instead of it.
RUNNER_MODULES = frozenset(
    {"pytest", "_pytest", "pytest_benchmark", "pluggy", "iniconfig", "packaging", "py", "cpuinfo",
     "leo_performance_outcomes"}
)  # fmt: skip
#: What follows a module's name in a file Python imports: ``py``, ``pyc``, ``cpython-311-….so``.
_IMPORTABLE = re.compile(r"(^|\.)(py|pyc|so|pyd)$")
#: Directories whose other files are benchmark support (workloads, data), never the code measured.
SUPPORT_DIRS = frozenset({"tests", "test", "testing", "benchmarks", "bench"})
EDITED = "performance.benchmark_edited"
DELETED = "performance.benchmark_deleted"
_GIT_TIMEOUT_S = 300


@dataclass(frozen=True)
class Edit:
    """A base benchmark the change touched."""

    benchmark: Benchmark
    how: str
    """``edited``, ``deleted`` or ``moved``."""


def _defs(source: bytes | None) -> tuple[dict[str, str], str] | None:
    """Per ``name``/``Class::name`` the AST of each test function, and of everything else."""
    try:
        tree = parse_python(source or b"")
    except (SyntaxError, ValueError):
        return None
    found: dict[str, str] = {}
    rest: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                found[prefix + node.name] = ast.dump(node)
            else:
                rest.append(ast.dump(node))

    visit(tree.body, "")
    return found, "\n".join(rest)


async def edits(change: Change, at_base: Sequence[Benchmark]) -> list[Edit]:
    """Base benchmarks whose function, or the module code around it, the change edits or
    removes (a renamed file moves them)."""
    by_path = {f.old_path or f.path: f for f in change.files}
    touched = sorted({b.path for b in at_base if b.path in by_path})
    if not touched:
        return []
    base_src = await change.read_many(touched, "base")
    head_paths = {p: by_path[p].path for p in touched if by_path[p].status != "deleted"}
    head_src = await change.read_many(list(head_paths.values()), "head")
    out: list[Edit] = []
    for b in at_base:
        f = by_path.get(b.path)
        if f is None:
            continue
        if f.status == "deleted":
            out.append(Edit(b, "deleted"))
            continue
        before = _defs(base_src.get(b.path))
        after = _defs(head_src.get(head_paths[b.path]))
        if after is None or before is None or b.name not in after[0]:
            out.append(Edit(b, "deleted"))
        elif f.status == "renamed":
            out.append(Edit(b, "moved"))
        elif after[0][b.name] != before[0].get(b.name) or after[1] != before[1]:
            out.append(Edit(b, "edited"))
    return out


def edit_findings(found: Sequence[Edit]) -> list[Finding]:
    """One finding per touched benchmark; each needs a LEAD."""
    findings = []
    for e in found:
        b = e.benchmark
        what = {
            "edited": "edits the benchmark (or the module code around it)",
            "deleted": "deletes the benchmark",
            "moved": "moves the benchmark's file",
        }[e.how]
        findings.append(
            Finding(
                rule_id=DELETED if e.how == "deleted" else EDITED,
                severity="medium",
                message=f"the change {what} {b.path}::{b.name}; its base version was measured on "
                "both sides, and a LEAD must confirm the benchmark change is intended",
                path=b.path,
                line=b.line,
            )
        )
    return findings


async def plain_dirs(
    change: Change, at_base: Sequence[Benchmark], roots: Sequence[str]
) -> frozenset[str]:
    """Directories of base benchmark files that are no package at the base (no ``__init__.py``)
    and no import root: what else they hold is the benchmarks' (``perf/workload.py``), not code
    the project ships, whatever the directory is called."""
    dirs = {posixpath.dirname(b.path) for b in at_base} - {r.strip("/") for r in roots} - {""}
    inits = await change.read_many([f"{d}/__init__.py" for d in sorted(dirs)], "base")
    return frozenset(d for d in dirs if inits.get(f"{d}/__init__.py") is None)


def is_support(
    path: str, at_base: Sequence[Benchmark], plain: frozenset[str] = frozenset()
) -> bool:
    """A file beside or below a base benchmark file in a test directory or in one of the
    ``plain`` directories (a workload, data)."""
    if any(path.startswith(d + "/") for d in plain):
        return True
    parts = path.split("/")[:-1]
    if not any(p in SUPPORT_DIRS for p in parts):
        return False
    return any(
        path.startswith(posixpath.dirname(b.path) + "/") and posixpath.dirname(b.path)
        for b in at_base
    )


def support_findings(
    change: Change, at_base: Sequence[Benchmark], plain: frozenset[str] = frozenset()
) -> list[Finding]:
    """Benchmark support files the change edits or deletes: the base's are measured."""
    files = {b.path for b in at_base}
    return [
        Finding(
            rule_id=EDITED,
            severity="medium",
            message=f"the change edits {f.path}, which sits beside the benchmarks "
            "(a workload or data they may use); the base's version was measured on both sides, "
            "and a LEAD must confirm the change is intended",
            path=f.path,
        )
        for f in change.files
        if f.status != "added"
        and (f.old_path or f.path) not in files
        and posixpath.basename(f.path) not in CONFIG_FILES
        and is_support(f.old_path or f.path, at_base, plain)
    ]


def _below_roots(path: str, roots: Sequence[str]) -> list[str]:
    """``path`` relative to each import root (``.``, ``src``) it lies under."""
    out = []
    for root in roots:
        r = root.strip("/")
        if r in ("", "."):
            out.append(path)
        elif path.startswith(r + "/"):
            out.append(path[len(r) + 1 :])
    return out


def is_interpreter_hook(path: str, status: str, roots: Sequence[str]) -> bool:
    """A file the benchmark interpreter would run on its own from an import root: a
    ``sitecustomize``/``usercustomize``, or a module named like the runner's that the change adds
    (``pytest.py``, ``pytest_benchmark/__init__.py``, ``pytest.pyc``); a project whose own package
    is one of those has it at the base, and edits it."""
    for rel in _below_roots(path, roots):
        if rel in STARTUP_FILES:
            return True
        first, _, rest = rel.partition("/")
        name, _, suffix = first.partition(".")
        module = rest in ("__init__.py", "__init__.pyc") if rest else _IMPORTABLE.search(suffix)
        if status == "added" and name in RUNNER_MODULES and module:
            return True
    return False


def is_bytecode(path: str) -> bool:
    """Compiled Python: an unchecked ``__pycache__/x.cpython-311.pyc`` runs instead of ``x.py``
    however the source reads (round-3 red team: the base's fast total, committed as bytecode
    beside a quadratic pricing.py, was what both the tests and the benchmark ran)."""
    return path.endswith((".pyc", ".pyo"))


def hook_findings(change: Change, roots: Sequence[str]) -> list[Finding]:
    """Interpreter start-up files and bytecode the change adds or edits: the base's are used
    on both sides (bytecode the base did not have is removed)."""
    findings = []
    for f in change.files:
        if is_bytecode(f.path) and f.status != "deleted":
            what = "compiled bytecode, which Python may run instead of the reviewed source"
        elif is_interpreter_hook(f.path, f.status, roots) or (
            f.old_path and is_interpreter_hook(f.old_path, "modified", roots)
        ):
            what = (
                "which the benchmark interpreter imports on its own from PYTHONPATH before any "
                "benchmark (it can replace the clock or the runner)"
            )
        else:
            continue
        findings.append(
            Finding(
                rule_id=EDITED,
                severity="medium",
                message=f"the change {'adds' if f.status == 'added' else 'edits'} {f.path}, "
                f"{what}; the base's version was used on both sides, and a LEAD must confirm "
                "the change is intended",
                path=f.path,
            )
        )
    return findings


def lead_decisions(findings: Sequence[Finding]) -> list[str]:
    """The messages of the benchmark edits, for the result's ``decisions`` (a LEAD decides)."""
    return [f.message[:1000] for f in findings if f.rule_id in (EDITED, DELETED)][:50]


def overlay(
    change: Change,
    at_base: Sequence[Benchmark],
    roots: Sequence[str] = (".", "src"),
    plain: frozenset[str] = frozenset(),
) -> Callable[[Path], Awaitable[list[str]]]:
    """A function that lays the base's benchmark files, their support files (``plain``: see
    ``plain_dirs``), pytest's configuration and the interpreter's start-up files (``roots``: the
    import roots) over a head worktree; it returns the paths it restored or removed."""
    benchmark_files = {b.path for b in at_base}

    def ours(path: str, status: str) -> bool:
        return (
            path in benchmark_files
            or posixpath.basename(path) in CONFIG_FILES
            or is_support(path, at_base, plain)
            or is_interpreter_hook(path, status, roots)
            or is_bytecode(path)
        )

    restore = sorted({f.old_path or f.path for f in change.files
                      if f.status != "added" and ours(f.old_path or f.path, "modified")})  # fmt: skip
    remove = sorted({f.path for f in change.files
                     if ours(f.path, f.status) and f.path not in restore
                     and (f.status == "added" or f.path != (f.old_path or f.path))})  # fmt: skip

    async def apply(tree: Path) -> list[str]:
        for path in remove:
            target = tree.joinpath(*path.split("/"))
            if target.is_symlink() or target.is_file():
                target.unlink()
        if restore:
            argv = ["--literal-pathspecs", "checkout", change.base_sha,
                    "--pathspec-from-file=-", "--pathspec-file-nul"]  # fmt: skip
            stdin = b"".join(p.encode() + b"\0" for p in restore)
            done = await run_git(tree, *argv, timeout=_GIT_TIMEOUT_S, stdin=stdin, check=False)
            if done.returncode != 0:
                msg = f"could not lay the base's benchmarks over the head: {done.stderr_text.strip()[:300]}"
                raise LeoError(msg)
        return restore + remove

    return apply
