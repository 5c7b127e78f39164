"""Code only another interpreter or platform runs (issue 18): exceptiongroup 1.2.1's backport
module and colorama 0.4.6's Windows-only code are set aside, never counted as untested. Each
decided guard has its hostile twin, an undecidable one whose lines must still count."""

from __future__ import annotations

import sys

import anyio
import pytest
from leo_testing import changed_coverage as cc
from leo_testing.reachable import (
    Target,
    gated_modules,
    probe,
    regions,
    shadowing,
    unreachable,
)

HERE = Target(
    (3, 11, 7, "final", 0), "linux", "posix", "Linux",
    frozenset({"msvcrt", "winreg", "_winapi", "ctypes.WinDLL", "ctypes.windll", "ctypes.WinError"}),
)  # fmt: skip


def _gated(body: str, header: str = "import sys\nimport os\nimport platform\n") -> set[int]:
    """The lines of ``header + body`` that ``HERE`` never runs, counted from ``body``'s first."""
    offset = header.count("\n")
    return {n - offset for r in regions((header + body).encode(), HERE) for n in r.lines}


@pytest.mark.parametrize(
    "guard",
    [
        "sys.version_info < (3, 11)",
        "sys.version_info[0] == 2",
        "sys.version_info.major < 3",
        "sys.version_info[:2] <= (3, 10)",
        "sys.version_info.minor >= 12",
        "sys.version_info >= (3, 13, 0, 'beta')",
        "sys.platform == 'win32'",
        "sys.platform.startswith(('win', 'cygwin'))",
        "sys.platform in ('darwin', 'win32')",
        "os.name == 'nt'",
        "platform.system() == 'Windows'",
        "not sys.platform.startswith('linux')",
        "sys.platform == 'win32' and os.environ.get('X')",  # False whatever the unknown is
        "sys.version_info < (3, 8) or sys.platform == 'darwin'",
    ],
)
def test_a_guard_false_here_keeps_its_body_out(guard):
    assert _gated(f"if {guard}:\n    a = 1\n    b = 2\nc = 3\n") == {2, 3}


@pytest.mark.parametrize(
    "guard",
    [
        "os.environ.get('X')",
        "hasattr(sys, 'pypy_version_info')",
        "sys.version_info < VERSION",
        "sys.platform == PLATFORM",
        "sys.maxsize > 2**32",
        "sys.implementation.name == 'pypy'",
        "sys.platform == 'win32' or os.environ.get('X')",  # the unknown may be True
        "sys.platform",
        "'a' == 'b'",  # no test of the interpreter at all
    ],
)
def test_hostile_twin_an_undecidable_guard_keeps_its_lines_counted(guard):
    assert _gated(f"VERSION = (3, 8)\nPLATFORM = 'win32'\nif {guard}:\n    a = 1\n") == set()


@pytest.mark.parametrize(
    ("header", "guard"),
    [
        ("import sys\nsys.platform = 'win32'\n", "sys.platform == 'win32'"),
        ("import sys\nsetattr(sys, 'platform', 'win32')\n", "sys.platform == 'win32'"),
        ("import sys\nimport sys as s\ns.platform = 'win32'\n", "sys.platform == 'win32'"),
        ("from sys import platform\nimport sys\nsys.platform = 'x'\n", "platform == 'win32'"),
        ("import sys\ndef sys():\n    pass\n", "sys.version_info < (3, 8)"),
        ("import sys\ndef f(sys):\n    pass\n", "sys.version_info < (3, 8)"),
        ("import os as sys\n", "sys.platform == 'win32'"),  # os has no platform
        ("import sys\nfrom mine import sys\n", "sys.version_info < (3, 8)"),
        ("from sys import platform\nplatform = 'win32'\n", "platform == 'win32'"),
        ("from mine import platform\n", "platform == 'win32'"),
        ("import platform\n", "platform.system == 'Windows'"),  # no call: a function object
        ("", "sys.platform == 'win32'"),  # never imported: a name of unknown origin
        ("import sys\nfrom mine import *\n", "sys.platform == 'win32'"),  # may rebind sys
    ],
)
def test_hostile_twin_a_rebound_or_foreign_name_is_unknown(header, guard):
    assert _gated(f"if {guard}:\n    a = 1\n", header) == set()


def test_names_are_read_as_they_were_imported():
    header = "from sys import version_info as vi, platform as plat\nimport sys as s\n"
    assert _gated("if vi < (3, 8):\n    a = 1\nif plat == 'win32':\n    b = 2\n", header) == {2, 4}
    assert _gated("if s.version_info < (3, 8):\n    a = 1\n", header) == {2}


def test_the_else_of_a_guard_true_here_is_out_and_its_body_counts():
    body = "if sys.version_info >= (3, 8):\n    a = 1\nelse:\n    b = 2\n"
    assert _gated(body) == {4}


def test_elif_chains_are_decided_branch_by_branch():
    body = (
        "if sys.platform == 'win32':\n    a = 1\nelif sys.platform == 'linux':\n    b = 2\n"
        "elif sys.platform == 'darwin':\n    c = 3\nelse:\n    d = 4\n"
    )
    assert _gated(body) == {2, 5, 6, 7, 8}


def test_the_rest_of_a_block_after_a_guard_true_here_that_leaves_is_out():
    """colorama 0.4.6 ``just_fix_windows_console()``."""
    body = (
        "def fix():\n"
        "    global done\n"
        "    if sys.platform != 'win32':\n"
        "        return\n"
        "    done = 1\n"
        "    for x in range(3):\n"
        "        print(x)\n"
        "def after():\n"
        "    return 2\n"
    )
    assert _gated(body) == {5, 6, 7}


def test_hostile_twin_an_early_return_under_a_guard_false_here_hides_nothing_after_it():
    body = "def f():\n    if sys.platform == 'win32':\n        return\n    a = 1\n    b = 2\n"
    assert _gated(body) == {3}


def test_hostile_twin_an_early_return_under_an_undecidable_guard_hides_nothing():
    body = "def f():\n    if os.environ.get('X'):\n        return\n    a = 1\n"
    assert _gated(body) == set()


WIN32 = """\
try:
    import ctypes
    from ctypes import LibraryLoader
    windll = LibraryLoader(ctypes.WinDLL)
    from ctypes import wintypes
except (AttributeError, ImportError):
    windll = None
else:
    from ctypes import byref
    def get_mode(handle):
        return windll.kernel32.GetConsoleMode(handle)
"""


def test_a_try_whose_body_raises_here_keeps_its_rest_and_else_out():
    """colorama 0.4.6 ``win32.py``: ``ctypes.WinDLL`` exists only on Windows, so the rest of
    the ``try`` and its ``else`` never run here; the handler does."""
    assert _gated(WIN32, "") == {5, 9, 10, 11}


@pytest.mark.parametrize(
    "statement",
    [
        "import msvcrt",
        "import os, winreg",
        "from msvcrt import get_osfhandle",
        "from ctypes import WinDLL",
        "import ctypes\n    x = f(g(), ctypes.windll.kernel32)",
        "import ctypes as c\n    c.WinError()",
    ],
)
def test_a_statement_certain_to_raise_here_ends_its_try(statement):
    body = f"try:\n    {statement}\n    a = 1\nexcept ImportError:\n    a = 2\nelse:\n    b = 3\n"
    end = statement.count("\n")
    assert _gated(body, "") == {3 + end, 7 + end}


@pytest.mark.parametrize(
    "statement",
    [
        "import fcntl",  # there here
        "import msvcrt_compat",  # not a module another platform has
        "from mine import WinDLL",
        "import ctypes\n    x = ctypes.WinDLL if flag else None",  # may never read it
        "import ctypes\n    f = lambda: ctypes.WinDLL",
        "import ctypes\n    x = flag and ctypes.WinDLL",
        "import ctypes\n    ctypes.WinDLL = object\n    x = ctypes.WinDLL",  # rebound
        "ctypes = mine\n    x = ctypes.WinDLL",  # not the module
        "if flag:\n        import msvcrt",
    ],
)
def test_hostile_twin_a_try_that_may_not_raise_here_keeps_its_lines(statement):
    body = f"try:\n    {statement}\n    a = 1\nexcept ImportError:\n    a = 2\nelse:\n    b = 3\n"
    assert _gated(body, "") == set()


def test_hostile_twin_a_module_the_project_or_its_environment_provides_may_import(tmp_path):
    """A project's own ``msvcrt.py`` (or a distribution's) imports anywhere: nothing is out."""
    body = "try:\n    import msvcrt\n    a = 1\nexcept ImportError:\n    a = 2\n"
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "winreg.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    names = shadowing(["src/pkg/__init__.py", "vendor/msvcrt/__init__.py"], tmp_path)
    assert {"msvcrt", "winreg", "pkg", "src", "vendor"} <= names
    target = HERE.without(names)
    assert target.missing == HERE.missing - {"msvcrt", "winreg"}
    assert regions(body.encode(), target) == []
    assert HERE.without(["ctypes"]).missing == {"msvcrt", "winreg", "_winapi"}


def test_a_region_coverage_saw_run_is_trusted_over_the_evaluation():
    """If coverage says a line ran, the evaluation was wrong (a test patched ``sys.platform``):
    the whole region stays counted."""
    source = b"import sys\nif sys.platform == 'win32':\n    a = 1\n    b = 2\n"
    assert set(unreachable(source, HERE, {})) == {3, 4}
    assert unreachable(source, HERE, {3: 1, 4: 0}) == {}


def test_the_target_is_the_interpreter_that_ran_the_tests():
    other = Target((3, 8, 10, "final", 0), "win32", "nt", "Windows")
    source = b"import sys\nif sys.version_info < (3, 11):\n    a = 1\nelse:\n    b = 2\n"
    assert {n for r in regions(source, other) for n in r.lines} == {5}
    assert HERE.describe() == "Python 3.11.7 / linux"


def test_another_interpreter_is_asked_and_one_that_cannot_say_decides_nothing(tmp_path):
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    assert anyio.run(probe, str(wrapper)) == Target.here()
    assert {"msvcrt", "ctypes.WinDLL"} <= Target.here().missing  # LEO runs on Linux
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho '{\"version\": [3]}'\n")
    broken.chmod(0o755)
    assert anyio.run(probe, str(broken)) is None
    assert anyio.run(probe, str(tmp_path / "missing")) is None


# --- Modules imported only where the interpreter never goes (exceptiongroup 1.2.1) --------

INIT = (
    "import sys\n"
    "if sys.version_info < (3, 11):\n"
    "    from ._backport import Group\n"
    "    from ._format import fmt\n"
    "else:\n"
    "    Group = BaseExceptionGroup\n"
)
BACKPORT = "class Group(Exception):\n    pass\n"
FORMAT = "from ._backport import Group\n\n\ndef fmt():\n    return Group\n"
TEST = "import pkg\n\n\ndef test_it():\n    assert pkg.Group\n"
PROJECT = {"src/pkg/__init__.py": INIT, "src/pkg/_format.py": FORMAT, "tests/test_pkg.py": TEST}


def _modules(leo_repo, head: dict[str, str], ran: tuple[str, ...] = ()) -> dict[str, str]:
    change = leo_repo(base=PROJECT, head=head).change()
    candidates = [p for p in change.paths(suffixes=(".py",)) if p not in ran]
    files = anyio.run(change.listing)
    return anyio.run(gated_modules, change, files, candidates, dict.fromkeys(ran, True), HERE)


def test_a_module_imported_only_under_a_guard_false_here_is_out(leo_repo):
    gated = _modules(leo_repo, {"src/pkg/_backport.py": BACKPORT}, ran=("src/pkg/__init__.py",))
    assert list(gated) == ["src/pkg/_backport.py"]
    assert (
        "src/pkg/__init__.py:3 only runs where `sys.version_info < (3, 11)`"
        in gated["src/pkg/_backport.py"]
    )
    assert "src/pkg/_format.py:1, a module itself imported only so" in gated["src/pkg/_backport.py"]


def test_a_module_imported_only_by_a_module_imported_only_under_a_guard_is_out(leo_repo):
    init = INIT.replace("    from ._backport import Group\n", "")
    head = {"src/pkg/_backport.py": BACKPORT, "src/pkg/__init__.py": init}
    gated = _modules(leo_repo, head, ran=("src/pkg/__init__.py",))
    assert gated == {
        "src/pkg/_backport.py": "every import of it in the project lies where the tests' "
        "interpreter never goes (src/pkg/_format.py:1, a module itself imported only so)"
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"tests/test_backport.py": "from pkg._backport import Group\n"},  # a reachable import
        {"src/pkg/util.py": "from . import _backport\n"},  # relative, reachable
        {"tests/test_dyn.py": "import importlib\nm = importlib.import_module('pkg._backport')\n"},
        {"pyproject.toml": "[project.entry-points.x]\ny = 'pkg._backport:Group'\n"},
        {"src/pkg/util.py": "import os\nif os.environ.get('X'):\n    from . import _backport\n"},
        {"tools/run.py": "from ._backport import Group\n"},  # a relative import not resolvable
        {
            "src/pkg/util.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import _backport\n"
        },
    ],
)
def test_hostile_twin_a_module_imported_anywhere_else_or_by_name_is_ordinary(leo_repo, extra):
    head = {"src/pkg/_backport.py": BACKPORT, **extra}
    assert _modules(leo_repo, head, ran=("src/pkg/__init__.py",)) == {}


def test_hostile_twin_a_module_a_test_ran_or_nobody_imports_is_ordinary(leo_repo):
    head = {"src/pkg/_backport.py": BACKPORT, "src/pkg/orphan.py": BACKPORT}
    assert _modules(leo_repo, head, ran=("src/pkg/__init__.py", "src/pkg/_backport.py")) == {}


def test_hostile_twin_a_module_imported_by_a_module_a_test_ran_is_ordinary(leo_repo):
    head = {"src/pkg/_backport.py": BACKPORT}
    assert _modules(leo_repo, head, ran=("src/pkg/__init__.py", "src/pkg/_format.py")) == {}


def test_a_test_dropping_the_module_from_sys_modules_does_not_import_it(leo_repo):
    head = {
        "src/pkg/_backport.py": BACKPORT,
        "tests/test_reload.py": "import sys\n\n\ndef test_x():\n    sys.modules.pop('pkg._format', None)\n",
    }
    assert list(_modules(leo_repo, head, ran=("src/pkg/__init__.py",))) == ["src/pkg/_backport.py"]


# --- Through changed-line coverage and the Testing sub-agent ------------------------------


def test_gated_lines_leave_the_count_and_are_listed_once_per_file():
    from leo import Change, ChangedFile, Hunk

    source = (
        b"import sys\n\n\ndef f():\n    if sys.platform == 'win32':\n        a = 1\n    return 2\n"
    )
    hunk = Hunk(old_start=0, old_lines=0, new_start=1, new_lines=7)
    change = Change(
        repo="/x", base_sha="a" * 40, head_sha="b" * 40,
        files=(ChangedFile(path="m.py", status="added", hunks=(hunk,)),),
    )  # fmt: skip
    hits = {"m.py": {1: 1, 4: 1, 5: 1, 6: 0, 7: 1}}
    gated = {"m.py": unreachable(source, HERE, hits["m.py"])}
    measured = cc.measure(change, hits, {"m.py": source}, (), gated=gated)
    assert (measured.covered, measured.executable) == (4, 4)
    (finding,) = cc.context_findings(measured, HERE.describe())
    assert finding.rule_id == "testing.coverage.not_measured" and finding.severity == "low"
    assert "(Python 3.11.7 / linux)" in finding.message
    assert "only runs where `sys.platform == 'win32'` (line 5)" in finding.message
    # Many guards in one file: one finding, the first three named.
    unrun = {"m.py": dict.fromkeys(hits["m.py"], 0)}
    many = {"m.py": {n: f"guard {n}" for n in hits["m.py"]}}
    measured = cc.measure(change, unrun, {"m.py": source}, (), gated=many)
    (finding,) = cc.context_findings(measured)
    assert finding.message.endswith("guard 1; guard 4; guard 5; and 2 more")
    # A covered line stays covered, whatever the evaluation said.
    ran = {"m.py": {**hits["m.py"], 6: 3}}
    measured = cc.measure(change, ran, {"m.py": source}, (), gated=gated)
    assert (measured.covered, measured.executable) == (5, 5)


CALC = "def add(a, b):\n    return a + b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
GATED = (
    "import sys\n\n\n" + CALC + "\n\n"
    "def double(x):\n"
    "    if sys.version_info < (3, 0):\n"
    "        y = x * 2\n"
    "        return y\n"
    "    return x + x\n"
)
DOUBLE_TEST = "\n\ndef test_double():\n    from calc import double\n\n    assert double(2) == 4\n"


def test_a_change_whose_only_uncovered_lines_are_gated_passes(leo_repo, run_testing):
    base = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}
    head = {"calc.py": GATED, "tests/test_calc.py": CALC_TEST + DOUBLE_TEST}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    coverage = result.agent("testing").details["coverage"]
    assert coverage["not_runnable_here"] == {"calc.py": "10-11"}
    assert coverage["interpreter"].startswith("Python 3.")
    finding = result.assert_finding("testing.coverage.not_measured", path="calc.py", line=10)
    assert "sys.version_info < (3, 0)" in finding.message
    # The hostile twin: the same lines behind a guard LEO cannot decide still block.
    head["calc.py"] = GATED.replace("sys.version_info < (3, 0)", "x is None")
    result = run_testing(leo_repo(base=base, head=head).change())
    assert result.report.verdict != "PASS"
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py", line=10)
    assert finding.severity == "medium"


COMPAT_INIT = (
    "import os\nimport sys\n\nif {guard}:\n    from ._compat import text\nelse:\n    text = str\n"
)
COMPAT = "def text(value):\n    made = unicode(value)\n    return made\n"
COMPAT_TEST = "from pkg import text\n\n\ndef test_text():\n    assert text(1) == '1'\n"


def test_a_module_only_another_python_imports_passes_and_its_twin_does_not(leo_repo, run_testing):
    """exceptiongroup 1.2.1: ``_exceptions.py`` is imported only on Python < 3.11."""
    base = {"pkg/__init__.py": "text = str\n", "tests/test_pkg.py": COMPAT_TEST}
    head = {
        "pkg/__init__.py": COMPAT_INIT.format(guard="sys.version_info < (3, 0)"),
        "pkg/_compat.py": COMPAT,
    }
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    coverage = result.agent("testing").details["coverage"]
    assert coverage["not_runnable_here"] == {"pkg/__init__.py": "5", "pkg/_compat.py": "1-3"}
    finding = result.assert_finding("testing.coverage.not_measured", path="pkg/_compat.py")
    assert "pkg/__init__.py:5 only runs where `sys.version_info < (3, 0)`" in finding.message
    # The twin: imported under a guard LEO cannot decide, the module counts, untested.
    head["pkg/__init__.py"] = COMPAT_INIT.format(guard="os.environ.get('PKG_COMPAT')")
    result = run_testing(leo_repo(base=base, head=head).change())
    assert result.report.verdict != "PASS"
    assert result.agent("testing").details["coverage"]["uncovered"] == {
        "pkg/__init__.py": "5",
        "pkg/_compat.py": "1-3",
    }
