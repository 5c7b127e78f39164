"""Changed-line coverage calibrated as Codecov and diff-cover are (issue 18): what is measured
comes from the base's settings, lines a change excluded itself still count, and an uncovered
line the base's own tests did not run either is pre-existing debt. Each calibration has its
hostile twin, which must still block."""

from __future__ import annotations

import pytest
from leo_testing import changed_coverage as cc

from leo import Change, ChangedFile, Hunk

CONFIG = cc.CoverageConfig()


@pytest.mark.parametrize(
    ("path", "packages", "config", "outside"),
    [
        ("demos/demo01.py", set(), CONFIG, True),  # colorama 0.4.6
        ("bin/update-tables.py", set(), CONFIG, True),  # wcwidth 0.2.13
        ("scripts/release.py", set(), CONFIG, True),  # pluggy 1.5.0
        ("src/pkg/mod.py", {"pkg"}, CONFIG, False),
        ("pkg/mod.py", set(), CONFIG, False),  # a namespace package is never guessed away
        ("six.py", set(), CONFIG, False),
        ("examples/shared.py", {"examples"}, CONFIG, False),  # a package, so importable
        # pyparsing's .coveragerc: source = pyparsing; its examples/ is a package all the same
        ("examples/apicheck.py", {"examples"}, cc.CoverageConfig(source=("pyparsing",)), True),
        ("pyparsing/core.py", {"pyparsing"}, cc.CoverageConfig(source=("pyparsing",)), False),
        ("src/pkg/win.py", {"pkg"}, cc.CoverageConfig(omit=("*/win.py",)), True),
    ],
)
def test_only_the_code_the_base_measures_is_in_the_denominator(path, packages, config, outside):
    assert (cc.not_measured(path, config, packages) is not None) is outside


def test_coverage_settings_are_read_as_coverage_py_reads_them():
    config = cc.CoverageConfig.from_options(
        {
            "run.source": ("pkg, other",),
            "run.omit": ("*/win32.py",),
            "report.exclude_also": ("raise NotImplementedError",),
        }
    )
    assert config.source == ("pkg", "other") and config.omit == ("*/win32.py",)
    assert config.exclude == (*cc.DEFAULT_EXCLUDE, "raise NotImplementedError")
    replaced = cc.CoverageConfig.from_options({"report.exclude_lines": ("if DEBUG:",)})
    assert replaced.exclude == ("if DEBUG:",)


FUNC = b"def f():\n    x = 1\n    return x\n"


def test_a_pragma_the_change_added_does_not_shrink_its_denominator():
    head = FUNC + b"\n\ndef g():  # pragma: no cover\n    y = 2\n    return y\n"
    assert cc.excluded_by_change(head, {6, 7, 8}, CONFIG, CONFIG) == {6, 7, 8}


def test_a_pragma_on_code_that_can_never_run_hides_nothing():
    """pyjwt 2.9.0 marked its new ``@overload`` stubs ``# pragma: no cover``."""
    head = (
        b"from typing import TYPE_CHECKING, overload\n"
        b"if TYPE_CHECKING:  # pragma: no cover\n"
        b"    import json\n"
        b"class K:\n"
        b"    @overload\n"
        b"    def to_jwk(\n"
        b"        self, as_dict: bool\n"
        b"    ) -> str:  # pragma: no cover\n"
        b"        x = 1\n"
        b"    def g(self):  # pragma: no cover\n"
        b"        return 2\n"
    )
    no_default = cc.CoverageConfig(exclude=(cc.PRAGMA,))  # exclude_lines without the stubs
    # The overload and the TYPE_CHECKING block are out; the hostile twin, ``g``, still counts.
    assert cc.excluded_by_change(head, set(range(1, 12)), no_default, CONFIG) == {10, 11}


@pytest.mark.parametrize(
    "fake",
    [
        b"def overload(f):\n    return f\nTYPE_CHECKING = True\n",  # home-made names
        b"from typing import overload, TYPE_CHECKING\nTYPE_CHECKING = True\noverload = id\n",
    ],
)
def test_a_pragma_on_look_alikes_of_overload_and_type_checking_still_counts(fake):
    """The hostile twin: a home-made ``overload`` or ``TYPE_CHECKING = True`` runs the code."""
    head = fake + (
        b"if TYPE_CHECKING:  # pragma: no cover\n"
        b"    x = 1\n"
        b"@overload\n"
        b"def f():  # pragma: no cover\n"
        b"    return 2\n"
    )
    n = fake.count(b"\n")
    added = set(range(n + 1, n + 6))
    no_default = cc.CoverageConfig(exclude=(cc.PRAGMA,))
    assert cc.excluded_by_change(head, added, no_default, CONFIG) == added


def test_a_pragma_the_base_had_still_excludes_what_the_change_adds_under_it():
    head = b"def g():  # pragma: no cover\n    y = 2\n    return y\n"
    assert cc.excluded_by_change(head, {2}, CONFIG, CONFIG) == set()


def test_an_exclusion_the_change_added_to_the_coverage_settings_does_not_count():
    head = FUNC + b"\n\ndef g():\n    raise RuntimeError('secret path')\n"
    hiding = cc.CoverageConfig(exclude=(*cc.DEFAULT_EXCLUDE, "raise RuntimeError"))
    assert cc.excluded_by_change(head, {6, 7}, CONFIG, hiding) == {7}


BASE = (
    b"import sys\n\n\ndef f(x):\n    if sys.platform == 'win32':\n        return 1\n    return x\n"
)


def _scopes(source: bytes) -> cc.Scopes:
    scopes = cc.scopes(source)
    assert scopes is not None
    return scopes


def test_a_line_changed_only_in_its_comment_and_unrun_at_the_base_is_debt():
    # platformdirs 4.2.1: a comment on a Windows-only line the base's tests never ran either
    head = BASE.replace(b"return 1\n", b"return 1  # noqa: X\n")
    base_hits = {1: 1, 4: 1, 5: 1, 6: 0, 7: 1}
    why = cc.debt(6, _scopes(head), {5: 1, 6: 0}, _scopes(BASE), base_hits)
    assert why is not None and "comments or spacing" in why


def test_new_uncovered_code_in_a_function_the_tests_run_is_the_changes():
    head = BASE.replace(b"return 1\n", b"return 2\n")
    assert cc.debt(6, _scopes(head), {5: 1, 6: 0}, _scopes(BASE), {5: 1, 6: 0}) is None


def test_a_second_copy_of_an_unrun_line_is_new_code():
    head = BASE.replace(b"    return x\n", b"    if x:\n        return 1\n    return x\n")
    assert cc.debt(8, _scopes(head), {5: 1, 6: 0, 7: 1, 8: 0}, _scopes(BASE), {6: 0}) is None


def test_a_changed_line_in_a_function_no_test_ran_at_the_base_or_head_is_debt():
    head = BASE.replace(b"return x\n", b"return x * 2\n")
    why = cc.debt(7, _scopes(head), {1: 1, 4: 1}, _scopes(BASE), {1: 1, 4: 1})
    assert why == "f() ran in no test at the base either"


def test_a_function_the_base_tests_ran_is_not_debt_when_the_change_stops_running_it():
    head = BASE.replace(b"return x\n", b"return x * 2\n")
    assert cc.debt(7, _scopes(head), {1: 1}, _scopes(BASE), {5: 1, 7: 1}) is None


def test_a_new_function_no_test_runs_is_never_debt():
    head = BASE + b"\n\ndef g():\n    return 3\n"
    assert cc.debt(11, _scopes(head), {1: 1}, _scopes(BASE), {1: 1}) is None
    assert cc.debt(11, _scopes(head), {1: 1}, None, {}) is None  # no base evidence


#: parso 0.8.4's Grammar.parse: two ``return module_node``, the first run by the tests.
TWO_RETURNS = (
    b"def parse(cached, node):\n    if cached:\n        return node  # type: ignore\n"
    b"    if node:\n        return node  # type: ignore\n    return None\n"
)
NARROWED = TWO_RETURNS.replace(b"return node  # type: ignore\n    return None", b"return node  # type: ignore[no-any-return]\n    return None")  # fmt: skip
SECOND_UNRUN = {1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 1}


def test_a_line_edited_only_in_its_comment_is_debt_when_the_line_it_replaced_did_not_run():
    head, base = _scopes(NARROWED), _scopes(TWO_RETURNS)
    assert cc.replaced_lines([Hunk(old_start=5, old_lines=1, new_start=5, new_lines=1)]) == {5: 5}
    why = cc.debt(5, head, SECOND_UNRUN, base, SECOND_UNRUN, {5: 5})
    assert why is not None and "comments or spacing" in why
    # by its text alone it is not: the other copy of the same code ran at the base
    assert cc.debt(5, head, SECOND_UNRUN, base, SECOND_UNRUN) is None


def test_hostile_twin_the_line_a_change_replaced_must_have_the_same_code_and_be_unrun():
    changed = NARROWED.replace(b"        return node  # type: ignore[", b"        return None  # [")
    assert (
        cc.debt(5, _scopes(changed), SECOND_UNRUN, _scopes(TWO_RETURNS), SECOND_UNRUN, {5: 5})
        is None
    )
    ran = {**SECOND_UNRUN, 5: 2}
    assert cc.debt(5, _scopes(NARROWED), SECOND_UNRUN, _scopes(TWO_RETURNS), ran, {5: 5}) is None
    # a hunk that adds lines pairs none of them
    assert cc.replaced_lines([Hunk(old_start=5, old_lines=1, new_start=5, new_lines=2)]) == {}


#: prettytable 3.10.0 moved the messages of 30 raises no test ran into ``msg`` (ruff's EM102).
CHECK = b"def check(x):\n    if x < 0:\n        raise ValueError(\n            f'negative {x}'\n        )\n    return x\n"
WORDED = CHECK.replace(
    b"        raise ValueError(\n            f'negative {x}'\n        )\n",
    b"        msg = f'negative {x}'\n        raise ValueError(msg)\n",
)
RAN = {1: 1, 2: 1, 6: 1}


def test_a_raise_reworded_into_msg_and_unrun_at_the_base_is_debt():
    for line in (3, 4):
        why = cc.debt(line, _scopes(WORDED), {1: 1, 2: 1, 5: 1}, _scopes(CHECK), RAN)
        assert why is not None and "the same statement" in why


def test_a_statement_only_reflowed_onto_one_line_and_unrun_at_the_base_is_debt():
    flat = CHECK.replace(b"(\n            f'negative {x}'\n        )", b"(f'negative {x}')")
    assert cc.debt(3, _scopes(flat), {1: 1, 2: 1, 4: 1}, _scopes(CHECK), RAN) is not None


def test_hostile_twin_a_reworded_raise_with_a_new_message_is_the_changes():
    other = WORDED.replace(b"f'negative {x}'", b"f'negative: {x!r}'")
    assert cc.debt(3, _scopes(other), {1: 1, 2: 1, 5: 1}, _scopes(CHECK), RAN) is None


def test_hostile_twin_code_added_beside_a_reworded_raise_is_the_changes():
    # the reworded raise is debt, the cleanup the change slipped in before it is not
    sneaky = WORDED.replace(b"        msg =", b"        os.remove(x)\n        msg =")
    scopes, hits = _scopes(sneaky), {1: 1, 2: 1, 6: 1}
    assert cc.debt(3, scopes, hits, _scopes(CHECK), RAN) is None
    assert cc.debt(5, scopes, hits, _scopes(CHECK), RAN) is not None
    # ``msg`` used twice is no EM fix, and the base running the raise makes it the change's
    twice = WORDED.replace(b"ValueError(msg)", b"ValueError(msg, msg)")
    assert cc.debt(4, _scopes(twice), {1: 1, 2: 1, 5: 1}, _scopes(CHECK), RAN) is None
    assert cc.debt(4, _scopes(WORDED), {1: 1, 2: 1}, _scopes(CHECK), {**RAN, 3: 1}) is None


def test_hostile_twin_a_second_copy_of_a_reworded_raise_is_new_code():
    copy = WORDED.replace(b"    return x\n", b"    if x > 9:\n        msg = f'negative {x}'\n"
                          b"        raise ValueError(msg)\n    return x\n")  # fmt: skip
    assert cc.debt(7, _scopes(copy), {1: 1, 2: 1, 5: 1, 8: 1}, _scopes(CHECK), RAN) is None


def test_overloads_share_a_name_and_the_implementation_body_counts():
    source = (
        b"from typing import overload\n\n\n@overload\ndef f(x: int) -> int: ...\n"
        b"@overload\ndef f(x: str) -> str: ...\ndef f(x):\n    return x\n"
    )
    assert _scopes(source).of(9) == "f"


# --- End to end: real repositories, a real venv, real pytest and coverage.py -----------------

CALC = "def add(a, b):\n    return a + b\n\n\ndef legacy(x):\n    return x + 1\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
REPO = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}
UNTESTED = "\n\ndef fresh(x):\n    y = x * 3\n    return y\n"


def _coverage(result):
    return result.agent("testing").details["coverage"]


def test_editing_a_function_no_test_ran_at_the_base_is_pre_existing_debt(leo_repo, run_testing):
    head = {"calc.py": CALC.replace("return x + 1", "return x + 2")}
    result = run_testing(leo_repo(base=REPO, head=head).change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py", line=6)
    assert finding.severity == "low" and "legacy() ran in no test at the base" in finding.message
    assert _coverage(result)["base_run"]["usable"] is True
    assert _coverage(result)["pre_existing"] == {"calc.py": "6"}


def test_hostile_twin_new_untested_function_beside_the_debt_still_blocks(leo_repo, run_testing):
    head = {"calc.py": CALC.replace("return x + 1", "return x + 2") + UNTESTED}
    result = run_testing(leo_repo(base=REPO, head=head).change())
    assert result.report.verdict != "PASS"
    blocking = [
        f
        for f in result.findings
        if f.rule_id == "testing.coverage.changed_lines" and f.severity == "medium"
    ]
    assert [(f.path, f.line, f.end_line) for f in blocking] == [("calc.py", 10, 11)]


def test_hostile_twin_a_pragma_the_change_added_does_not_hide_untested_code(leo_repo, run_testing):
    hidden = UNTESTED.replace("def fresh(x):", "def fresh(x):  # pragma: no cover")
    result = run_testing(leo_repo(base=REPO, head={"calc.py": CALC + hidden}).change())
    assert result.report.verdict != "PASS"
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py")
    assert finding.severity == "medium" and "pragma: no cover" in finding.message
    assert _coverage(result)["excluded_by_change"] == {"calc.py": "9-11"}


GUARD = "def add(a, b):\n    if a is None:\n        raise TypeError(\n            f'no {a}'\n        )\n    return a + b\n"
EM_FIX = GUARD.replace("raise TypeError(\n            f'no {a}'\n        )", "msg = f'no {a}'\n        raise TypeError(msg)")  # fmt: skip


def test_raises_reworded_as_ruff_em102_and_unrun_at_the_base_are_debt(leo_repo, run_testing):
    base = {**REPO, "calc.py": GUARD}
    result = run_testing(leo_repo(base=base, head={"calc.py": EM_FIX}).change())
    result.assert_verdict("PASS")
    assert _coverage(result)["pre_existing"] == {"calc.py": "3-4"}
    # The twin: the same rewording, with a new untested step in the branch before it.
    sneaky = EM_FIX.replace("        msg =", "        print('wiping', b)\n        msg =")
    result = run_testing(leo_repo(base=base, head={"calc.py": sneaky}).change())
    assert result.report.verdict != "PASS"
    assert _coverage(result)["uncovered"] == {"calc.py": "3"}
    assert _coverage(result)["pre_existing"] == {"calc.py": "4-5"}


def test_a_demo_script_is_not_measured_but_the_same_code_in_the_package_is(leo_repo, run_testing):
    demo = "from calc import add\n\nprint(add(2, 3))\n"
    result = run_testing(leo_repo(base=REPO, head={"demos/demo01.py": demo}).change())
    result.assert_verdict("PASS")
    result.assert_finding("testing.coverage.not_measured", path="demos/demo01.py")
    # The twin: the change tells coverage.py to omit its new package module. The settings
    # come from the base, so the module is measured, and the edit itself goes to a LEAD.
    hide = '[tool.coverage.run]\nomit = ["pkg/*"]\n'
    head = {"pkg/__init__.py": "", "pkg/util.py": UNTESTED, "pyproject.toml": hide}
    result = run_testing(leo_repo(base=REPO, head=head).change())
    assert result.report.verdict != "PASS"
    finding = result.assert_finding("testing.coverage.changed_lines", path="pkg/util.py")
    assert finding.severity == "medium"


def test_a_docs_folder_for_one_language_is_left_out_as_docs_is(leo_repo, run_testing):
    """beautifulsoup4 4.12.3 added ``doc.es/source/conf.py`` (Sphinx settings for its Spanish
    docs, beside ``doc/``, ``doc.zh/``, ``doc.ru/``) and its 21 unrun lines made the change's
    coverage 27.6%: a folder with a dot in its name is never an importable package."""
    small = cc.SMALL_CHANGE_LINES  # more lines than a small change may leave unrun
    conf = "".join(f"option_{i} = {i}\n" for i in range(small + 1))
    result = run_testing(leo_repo(base=REPO, head={"doc.es/source/conf.py": conf}).change())
    result.assert_verdict("PASS")
    assert _coverage(result)["executable"] == 0
    # The twin: a package whose name starts like a docs folder is code, measured as such.
    head = {
        "docs_render/__init__.py": "",
        "docs_render/html.py": "def fresh(x):\n" + "    x += 1\n" * small + "    return x\n",
        "calc.py": "import docs_render.html\n" + CALC,
    }
    result = run_testing(leo_repo(base=REPO, head=head).change())
    assert result.report.verdict != "PASS"
    finding = result.assert_finding("testing.coverage.changed_lines", path="docs_render/html.py")
    assert finding.severity == "medium"


def test_without_the_base_coverage_run_nothing_is_pre_existing(leo_repo, run_testing):
    head = {"calc.py": CALC.replace("return x + 1", "return x + 2")}
    result = run_testing(leo_repo(base=REPO, head=head).change(), hold_the_line_max_s=0)
    assert result.report.verdict != "PASS"
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py", line=6)
    assert finding.severity == "medium"
    assert "over hold_the_line_max_s" in _coverage(result)["base_run"]["skipped"]


PLUGGY_LIKE = b"X = 1\n\n\ndef f():\n    return X\n\n\nY = 2\n"


def test_a_module_imported_before_coverage_started_has_its_own_lines_set_aside():
    # pluggy 1.5.0: pytest imported pluggy before pytest-cov started, so f's body ran under
    # coverage and none of the module's own lines (X = 1, def f, Y = 2) did.
    hits = {1: 0, 4: 0, 5: 3, 8: 0}
    assert cc.imported_early(_scopes(PLUGGY_LIKE), hits)
    change = _change("pkg/mod.py", [8])
    measured = cc.measure(change, {"pkg/mod.py": hits}, {"pkg/mod.py": PLUGGY_LIKE}, ())
    assert measured.files[0].early == [8] and measured.executable == 0


def test_hostile_twin_a_new_function_in_a_module_imported_early_is_still_measured():
    source = PLUGGY_LIKE + b"\n\ndef g():\n    return Y\n"
    hits = {1: 0, 4: 0, 5: 3, 8: 0, 11: 0, 12: 0}
    measured = cc.measure(
        _change("pkg/mod.py", [11, 12]), {"pkg/mod.py": hits}, {"pkg/mod.py": source}, ()
    )
    assert measured.files[0].early == [11] and measured.files[0].uncovered == [12]
    # A module no test imported at all is not "imported early": every line counts.
    assert not cc.imported_early(_scopes(PLUGGY_LIKE), {1: 0, 4: 0, 5: 0, 8: 0})


MAIN = b"from .cli import main\n\nif __name__ == '__main__':\n    main()\n"


@pytest.mark.parametrize("hits", [{}, {"pkg/__main__.py": {1: 0, 3: 0, 4: 0}}])
def test_a_packages_main_module_no_test_ran_is_a_program_not_measured(hits):
    # chardet 5.2.0 added __main__.py (python -m chardet): no test imports a program; coverage
    # lists it with no line run, as it does every file of its source.
    measured = cc.measure(
        _change("pkg/__main__.py", [1, 3, 4]), hits, {"pkg/__main__.py": MAIN}, ()
    )
    assert measured.outside == {"pkg/__main__.py": cc.RUN_AS_PROGRAM}
    assert measured.executable == 0


def test_hostile_twin_a_main_module_a_test_ran_is_measured():
    hits = {1: 1, 3: 1, 4: 0}  # a test ran it (runpy), so its lines are evidence like any
    measured = cc.measure(
        _change("pkg/__main__.py", [1, 3, 4]),
        {"pkg/__main__.py": hits},
        {"pkg/__main__.py": MAIN},
        (),
    )
    assert measured.outside == {} and measured.files[0].uncovered == [4]


def _change(path, lines):
    hunks = tuple(Hunk(old_start=n, old_lines=0, new_start=n, new_lines=1) for n in lines)
    changed = ChangedFile(path=path, status="modified", hunks=hunks)
    return Change(repo="/nonexistent", base_sha="0" * 40, head_sha="1" * 40, files=(changed,))


def test_hostile_twin_an_overload_exclusion_does_not_hide_a_home_made_overload(
    leo_repo, run_testing
):
    """exceptiongroup 1.2.1's ``exclude_also = ["@overload"]`` is no LEAD's decision, but the
    pattern also matches a decorator of the project's own: its untested code still counts."""
    home_made = (
        "\n\ndef overload_cache(f):\n    return f\n\n\n"
        "@overload_cache\ndef fresh(x):\n    y = x * 3\n    return y\n"
    )
    config = '[tool.coverage.report]\nexclude_also = ["@overload"]\n'
    head = {"calc.py": CALC + home_made, "pyproject.toml": config}
    result = run_testing(leo_repo(base=REPO, head=head).change())
    assert result.report.verdict != "PASS"
    harness = result.assert_finding("testing.harness_changed")
    assert harness.severity == "low"
    finding = result.assert_finding("testing.coverage.changed_lines", path="calc.py")
    assert finding.severity == "medium"
    assert _coverage(result)["excluded_by_change"] == {"calc.py": "13-16"}


#: python-dotenv 1.0.1's setup.cfg: the report names only the copy its tox runs install.
SITE_ONLY = "[coverage:report]\ninclude = */site-packages/calc/*\n"


def test_a_report_include_of_installed_copies_only_still_measures_the_tree(leo_repo, run_testing):
    tested = CALC.replace("return x + 1", "return x + 2")
    base = {**REPO, "setup.cfg": SITE_ONLY}
    result = run_testing(leo_repo(base=base, head={"calc.py": tested + UNTESTED}).change())
    assert not [f for f in result.findings if f.rule_id == "testing.coverage.missing"]
    assert _coverage(result)["measured"] is True
    assert _coverage(result)["uncovered"] == {"calc.py": "10-11"}
    assert _coverage(result)["pre_existing"] == {"calc.py": "6"}  # the base's run measured too


def test_hostile_twin_a_report_include_the_change_adds_hides_nothing(leo_repo, run_testing):
    head = {"calc.py": CALC + UNTESTED, "setup.cfg": SITE_ONLY}
    result = run_testing(leo_repo(base=REPO, head=head).change())
    assert result.report.verdict != "PASS"
    assert result.assert_finding("testing.harness_changed").severity == "medium"
    assert _coverage(result)["uncovered"] == {"calc.py": "10-11"}
