"""Failures that are not the change's (issue 18): a test that fails the same way at the base
commit, a collection warning a warnings filter made an error, the project's own metadata, an
environment the tests cannot start in at the base either, and a project without tests.

Each case is rebuilt small from the real-world corpus (tqdm 4.66.5, requests 2.32.3, pyparsing
3.1.2, markdown 3.7, humanize 4.10.0, urllib3 2.2.2, decorator 5.1.1, tomli 2.0.2) in a real
throwaway repository with a real venv, pip and pytest; each relaxation has its hostile twin.
"""

from __future__ import annotations

import pytest
from leo_testing.agent import unconventional_test_files
from leo_testing.junit import TestCase

CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
#: A test that needs what the sandbox does not have (requests' connect timeouts, pyparsing's
#: optional ``railroad``): it fails at the base commit exactly as at the head.
NEEDS_EXTRA = "\n\ndef test_diagram():\n    import railroad_not_installed  # noqa: F401\n"
BASE = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST + NEEDS_EXTRA}


def agent_of(result):
    return result.agent("testing")


# ------------------------------------------------------------ failing the same way at the base


def test_a_test_failing_the_same_way_at_the_base_is_context_even_in_an_edited_file(
    leo_repo, run_testing
):
    # requests 2.32.3 and pyparsing 3.1.2 edit the very test files whose environment-bound
    # tests fail at both ends.
    edited = CALC_TEST + "\n\ndef test_add_more():\n    assert add(2, 2) == 4\n" + NEEDS_EXTRA
    repo = leo_repo(base=BASE, head={"tests/test_calc.py": edited})
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.test_failed", path="tests/test_calc.py")
    assert finding.severity == "low" and not finding.on_changed_line
    assert "fails the same way at the base commit" in finding.message
    details = agent_of(result).details
    assert details["failing_at_base_too"] == ["tests/test_calc.py::test_diagram"]
    assert details["failing_tests"] == []
    assert "1 failing test(s) fail the same way at the base commit" in agent_of(result).summary


#: pytest-checkdocs reports its item under a path no file has (zipp 3.18.1: ``.py::::project``).
ODD_ITEM = """import pytest


class Project(pytest.Item):
    def runtest(self):
        raise RuntimeError("the project's metadata cannot be built here")


def pytest_collection_modifyitems(session, config, items):
    items.append(Project.from_parent(session, name="project", nodeid=".py::::project"))
"""


def test_an_item_under_a_path_no_file_has_does_not_stop_the_base_from_holding_the_rest(
    leo_repo, run_testing
):
    # pytest stops the whole re-run at a path it cannot find: zipp 3.18.1's lint items that
    # fail at both ends were blamed on the change because the same run asked for that item.
    edited = CALC_TEST + "\n\ndef test_add_more():\n    assert add(2, 2) == 4\n" + NEEDS_EXTRA
    repo = leo_repo(base={**BASE, "conftest.py": ODD_ITEM}, head={"tests/test_calc.py": edited})
    result = run_testing(repo.change())
    details = agent_of(result).details
    assert details["failing_at_base_too"] == ["tests/test_calc.py::test_diagram"]
    # The odd item cannot be asked for at the base: it still counts against the change.
    assert details["failing_tests"] == [".py::::project"]
    result.assert_verdict("FAIL")


#: pytest-ruff names its format check ``file.py::ruff::format``: no node id pytest can select.
LINT_ITEMS = """import pytest


class Lint(pytest.Item):
    def runtest(self):
        raise RuntimeError("the linter cannot run in this environment")


class LintFile(pytest.File):
    def collect(self):
        yield Lint.from_parent(self, name="lint::format")


def pytest_collect_file(file_path, parent):
    if file_path.name == "calc.py":
        return LintFile.from_parent(parent, path=file_path)
"""


def test_an_item_no_node_id_can_select_is_held_by_its_file(leo_repo, run_testing):
    # zipp 3.18.1: pytest-ruff's ``ruff::format`` items failed alike at both ends, but pytest
    # cannot select them by id, so the re-run asks for their file and keeps their outcome.
    repo = leo_repo(base={**BASE, "conftest.py": LINT_ITEMS}, head={"calc.py": CALC + "# note\n"})
    result = run_testing(repo.change())
    details = agent_of(result).details
    assert details["failing_at_base_too"] == [
        "calc.py::lint::format",
        "tests/test_calc.py::test_diagram",
    ]
    result.assert_verdict("PASS")


def test_a_suite_whose_every_test_fails_at_both_ends_is_no_evidence(leo_repo, run_testing):
    # Each failure alone is not the change's, but with none passing the tests said nothing
    # about it: missing evidence, never a pass (a reused environment without platformdirs'
    # generated version.py failed every module at both ends).
    base = {"calc.py": CALC, "tests/test_calc.py": NEEDS_EXTRA}
    result = run_testing(leo_repo(base=base, head={"calc.py": CALC + "# note\n"}).change())
    agent = agent_of(result)
    assert agent.status == "error" and "no test passed" in agent.summary, agent.summary
    assert agent.details["failing_at_base_too"] == ["tests/test_calc.py::test_diagram"]
    result.assert_verdict("FAIL")


def test_a_new_failing_test_does_not_stop_the_base_from_holding_the_old_ones(leo_repo, run_testing):
    # requests 2.32.3 adds an mTLS test that fails in the sandbox; pytest stops a re-run at a
    # node id the base does not have, so only the base's tests are re-run there.
    new_failing = "\n\ndef test_new_feature():\n    assert add(1, 1) == 3\n"
    repo = leo_repo(base=BASE, head={"tests/test_calc.py": CALC_TEST + NEEDS_EXTRA + new_failing})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    severities = {
        f.message.split(" ")[0]: f.severity
        for f in result.findings
        if f.rule_id.startswith("testing.test_")
    }
    assert severities == {
        "tests/test_calc.py::test_diagram": "low",
        "tests/test_calc.py::test_new_feature": "high",
    }


#: urllib3 2.2.2: test/contrib/test_pyopenssl.py runs the TLS test classes it imports from
#: test/with_dummyserver/test_https.py, whose tests fail alike at both ends in the sandbox.
SHARED_CLASS = (
    "class TestTLS:\n    def test_diagram(self):\n        import railroad_not_installed\n"
)
IMPORTED_CLASS = "from ..with_dummy.test_https import TestTLS  # noqa: F401\n"


def test_a_test_class_imported_from_another_folder_is_held_under_its_own_node_id(
    leo_repo, run_testing
):
    # xunit1 names the defining file; the id LEO made from it named no test at the base, so
    # pytest stopped the re-run there and none of urllib3's 31 environment failures was held.
    base = {
        "calc.py": CALC,
        "tests/test_calc.py": CALC_TEST,
        "test/__init__.py": "",
        "test/with_dummy/__init__.py": "",
        "test/with_dummy/test_https.py": SHARED_CLASS,
        "test/contrib/__init__.py": "",
        "test/contrib/test_pyopenssl.py": IMPORTED_CLASS,
    }
    repo = leo_repo(base=base, head={"calc.py": CALC + "# a comment\n"})
    result = run_testing(repo.change())
    assert agent_of(result).details["failing_at_base_too"] == [
        "test/contrib/test_pyopenssl.py::TestTLS::test_diagram",
        "test/with_dummy/test_https.py::TestTLS::test_diagram",
    ]
    result.assert_verdict("PASS")


#: Parameter ids that come from the code: the head's code names a case the base's cannot.
NAMED = "NAMES = ['a', 'b']\nKNOWN = ['a']\n"
NAMED_TEST = (
    "import pytest\nfrom calc import NAMES, KNOWN\n\n\n"
    "@pytest.mark.parametrize('name', NAMES)\ndef test_name(name):\n    assert name in KNOWN\n"
)


def test_a_failing_test_the_base_cannot_find_does_not_stop_it_holding_the_rest(
    leo_repo, run_testing
):
    # test_name[b] exists only with the head's code: pytest stops a re-run at an id it cannot
    # find, so it is left out and the re-run goes on; test_name[b] still counts.
    base = {**BASE, "calc.py": CALC + "NAMES = ['a']\nKNOWN = ['a']\n",
            "tests/test_named.py": NAMED_TEST}  # fmt: skip
    repo = leo_repo(base=base, head={"calc.py": CALC + NAMED})
    result = run_testing(repo.change())
    details = agent_of(result).details
    assert details["failing_at_base_too"] == ["tests/test_calc.py::test_diagram"]
    assert details["failing_tests"] == ["tests/test_named.py::test_name[b]"]
    result.assert_verdict("FAIL")


#: argcomplete 3.4.0's ``test/test_package/test_module.py`` imports a package its own runner puts
#: on ``sys.path``: neither end can collect it under pytest.
UNIMPORTABLE = {
    "tests/pkg/__init__.py": "",
    "tests/pkg/test_module.py": "from not_here import main\n",
}
HELD = ["tests/pkg/test_module.py::tests.pkg.test_module", "tests/test_calc.py::test_diagram"]


@pytest.mark.parametrize(
    ("code", "held", "verdict"),
    [
        (CALC + "# note\n", HELD, "PASS"),
        # the twin: the same shape around a bug the change brings is still the change's
        (BROKEN, HELD, "FAIL"),
    ],
)
def test_a_module_neither_end_can_import_does_not_stop_the_base_from_holding_the_rest(
    leo_repo, run_testing, code, held, verdict
):
    # pytest ends a re-run at a node id of a module it cannot import ("found no collectors"):
    # argcomplete 3.4.0's 20 tests that fail alike at both ends were blamed on the change.
    repo = leo_repo(base={**BASE, **UNIMPORTABLE}, head={"calc.py": code})
    result = run_testing(repo.change())
    details = agent_of(result).details
    assert sorted(details["failing_at_base_too"]) == held, details
    assert details["failing_tests"] == (
        [] if verdict == "PASS" else ["tests/test_calc.py::test_add"]
    )
    result.assert_verdict(verdict)


#: A test whose outcome depends on which of LEO's runs it is in (as a timing test's depends on
#: the load): the head's run measures coverage, the base pass does not, its re-run names the
#: test it re-runs.
BY_RUN = """import sys

from calc import add


def test_counted():
    head = any(a.startswith("--cov") for a in sys.argv)
    rerun = any(a.endswith("::test_counted") for a in sys.argv)
    assert {passes}
"""


@pytest.mark.parametrize(
    ("passes", "code", "rule", "severity"),
    [
        # zipp 3.18.1's timing test under load: it fails once, then passes the same way
        ("head or rerun", CALC + "# note\n", "testing.flaky", "medium"),
        # the twin: the head's code breaks it and only the head's run passes it, so it stands
        ("head or add(1, 2) == 3", BROKEN, "testing.test_weakened", "high"),
    ],
)
def test_a_base_pass_failure_that_passes_when_re_run_is_flaky(
    leo_repo, run_testing, passes, code, rule, severity
):
    repo = leo_repo(
        base={**BASE, "tests/test_counted.py": BY_RUN.replace("{passes}", passes)},
        head={"calc.py": code},
    )
    result = run_testing(repo.change())
    finding = result.assert_finding(rule, path="tests/test_counted.py")
    assert finding.severity == severity, finding.message
    passed_again = agent_of(result).details["base_pass"].get("passed_again", [])
    assert passed_again == (
        ["tests/test_counted.py::test_counted"] if rule == "testing.flaky" else []
    )
    result.assert_verdict("CONDITIONAL_PASS" if rule == "testing.flaky" else "FAIL")


def test_a_rewritten_test_whose_code_behaves_only_when_re_run_is_no_flake(leo_repo, run_testing):
    # The attack on the flaky rule: the head's code is right only in a quiet re-run, and the
    # change loosened the test so its own run passes. It is judged as the rewritten test it is
    # (the check it failed on is gone: a LEAD decides), never waved through as a flake.
    sneaky = (
        "import sys\n\n\ndef add(a, b):\n"
        "    return a + b if any(a.endswith('::test_add') for a in sys.argv) else a - b\n"
    )
    loosened = CALC_TEST.replace("assert add(1, 2) == 3", "assert add(1, 2) in (3, -1)")
    repo = leo_repo(
        base={"calc.py": CALC, "tests/test_calc.py": CALC_TEST},
        head={"calc.py": sneaky, "tests/test_calc.py": loosened},
    )
    result = run_testing(repo.change())
    finding = result.assert_finding("testing.test_weakened", path="tests/test_calc.py")
    assert "the change deleted that check" in finding.message, finding.message
    assert not [f for f in result.findings if f.rule_id == "testing.flaky"]
    result.assert_verdict("ESCALATE")


def test_a_test_that_passes_at_the_base_and_fails_at_the_head_still_fails(leo_repo, run_testing):
    # The hostile twin: the change breaks the code (planted-test-bug-caught-by-tests).
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.test_failed", path="tests/test_calc.py")
    assert finding.severity == "high" and "test_add" in finding.message


def test_a_test_failing_at_the_base_that_fails_differently_at_the_head_still_fails(
    leo_repo, run_testing
):
    # The test failed before, but the change makes it fail another way: not the same failure.
    base_test = CALC_TEST.replace("== 3", "== 4")  # fails at base: assert 3 == 4
    repo = leo_repo(
        base={"calc.py": CALC, "tests/test_calc.py": base_test},
        head={"calc.py": CALC.replace("return a + b", "raise RuntimeError('boom')")},
    )
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.test_failed", path="tests/test_calc.py")
    assert finding.severity == "high" and "RuntimeError" in finding.message


def test_a_failure_signature_ignores_paths_addresses_and_ports_but_not_the_error():
    def failing(text, outcome="failed"):
        return TestCase("test_x", "tests.test_a", "tests/test_a.py", 1, outcome, "", text)

    head = failing(
        "E   ConnectionError: HTTPSConnectionPool(host='localhost', port=42821) <obj at "
        "0x7f00aa> in /tmp/leo-head-abc123/tree/src/pkg/x.py"
    )
    base = failing(
        "E   ConnectionError: HTTPSConnectionPool(host='localhost', port=40001) <obj at "
        "0x7f11bb> in /tmp/leo-base-zz9/tree/src/pkg/x.py"
    )
    assert head.failure_signature() == base.failure_signature()
    assert head.failure_signature() != failing("E   AssertionError: boom").failure_signature()
    # the same error as a failure at one end and a teardown error at the other is not the same
    assert head.failure_signature() != failing(head.text, "error").failure_signature()


# ------------------------------------------------------------------------ collection warnings

WARNINGS_AS_ERRORS = (
    "import warnings\n\nwarnings.simplefilter('error')\n\n\ndef test_ok():\n    pass\n"
)
CLASS_WITH_INIT = (
    "class TestSuite:\n    def __init__(self):\n        pass\n\n\n"
    "def test_more():\n    assert True\n"
)


def test_a_collection_warning_made_an_error_by_a_warnings_filter_is_not_a_collection_error(
    leo_repo, run_testing
):
    # markdown 3.7: tests/test_legacy.py sets simplefilter('error') at import, so pytest's
    # "cannot collect test class 'TestSuite' because it has a __init__" becomes an error.
    base = {
        "calc.py": CALC,
        "tests/test_a_legacy.py": WARNINGS_AS_ERRORS,
        "tests/test_calc.py": CALC_TEST,
    }
    repo = leo_repo(base=base, head={"tests/test_z_suite.py": CLASS_WITH_INIT})
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.collection_warning", path="tests/test_z_suite.py")
    assert finding.severity == "low" and "PytestCollectionWarning" in finding.message
    result.assert_no_finding("testing.test_error")


def test_a_module_that_fails_to_import_is_still_a_collection_error(leo_repo, run_testing):
    # The twin: a module-level error, even one that names the warning, hides the module's tests.
    fake = "import pytest\n\nraise pytest.PytestCollectionWarning('cannot collect test class')\n"
    repo = leo_repo(
        base={"calc.py": CALC, "tests/test_calc.py": CALC_TEST},
        head={"tests/test_new.py": fake + "\n\ndef test_new():\n    assert False\n"},
    )
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.test_error", path="tests/test_new.py")
    assert finding.severity == "high"


# ----------------------------------------------------------------- the project's own metadata

#: hatchling, as humanize: unlike setuptools it leaves no ``*.egg-info`` in the worktree.
PYPROJECT = (
    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
    '[project]\nname = "leo-calc-demo"\nversion = "1.2.3"\n\n'
    '[tool.hatch.build.targets.wheel]\ninclude = ["calc.py"]\n'
)
CALC_WITH_VERSION = (
    "from importlib.metadata import version\n\n__version__ = version('leo-calc-demo')\n\n\n" + CALC
)


def test_the_tests_see_the_projects_own_metadata(leo_repo, run_testing):
    # humanize 4.10.0 calls importlib.metadata.version("humanize") at import; the tests import
    # the code from the worktree, and the environment keeps the project's dist-info for them.
    version_test = "import calc\n\n\ndef test_version():\n    assert calc.__version__ == '1.2.3'\n"
    repo = leo_repo(
        base={"pyproject.toml": PYPROJECT, "calc.py": CALC, "tests/test_calc.py": CALC_TEST},
        head={"calc.py": CALC_WITH_VERSION, "tests/test_version.py": version_test},
    )
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    assert agent_of(result).details["passed"] == 2


# ------------------------------------------------------------- an environment that cannot start

BROKEN_CONFTEST = "from no_such_test_dependency import app  # noqa: F401\n"


def test_tests_that_cannot_start_at_the_base_either_are_called_the_environment(
    leo_repo, run_testing
):
    # urllib3 2.2.2: today's Quart and Flask break test/conftest.py at both ends.
    base = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST, "conftest.py": BROKEN_CONFTEST}
    repo = leo_repo(base=base, head={"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")  # no evidence is never a pass
    agent = agent_of(result)
    assert agent.status == "error"
    assert "the test environment, not the change, is the likely cause" in agent.summary
    assert "No module named" in agent.details["same_error_at_base"]


def test_tests_the_change_cannot_start_are_not_blamed_on_the_environment(leo_repo, run_testing):
    repo = leo_repo(
        base={"calc.py": CALC, "tests/test_calc.py": CALC_TEST},
        head={"conftest.py": BROKEN_CONFTEST},
    )
    result = run_testing(repo.change())
    assert result.report.verdict != "PASS"
    assert "not the change" not in agent_of(result).summary


# ----------------------------------------------------------------------------------- no tests


def test_a_project_without_tests_at_the_base_nor_the_head_is_skipped(leo_repo, run_testing):
    # tomli 2.0.2 and certifi 2024.6.2 ship sdists without their tests.
    repo = leo_repo(base={"calc.py": CALC}, head={"calc.py": CALC + "\n\nX = 1\n"})
    result = run_testing(repo.change())
    agent = agent_of(result)
    assert agent.status == "skipped" and "no tests" in agent.summary
    assert result.assert_finding("testing.no_tests").severity == "low"


def test_a_policy_can_require_tests(leo_repo, run_testing):
    repo = leo_repo(base={"calc.py": CALC}, head={"calc.py": CALC + "\n\nX = 1\n"})
    result = run_testing(repo.change(), require_tests=True)
    assert agent_of(result).status != "skipped"
    assert result.assert_finding("testing.no_tests").severity == "medium"


def test_a_change_that_removes_every_test_still_fails(leo_repo, run_testing):
    # The twin: tests at the base, none at the head (iniconfig 2.0.0's sdist dropped them).
    repo = leo_repo(
        base={"calc.py": CALC, "tests/test_calc.py": CALC_TEST}, head={"tests/test_calc.py": None}
    )
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert result.assert_finding("testing.no_tests").severity == "high"


UNITTEST = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class TestAdd(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n"
)


def test_a_test_module_named_test_py_is_run(leo_repo, run_testing):
    # decorator 5.1.1 keeps its unittest suite in src/tests/test.py, which pytest's default
    # python_files does not match; named on the command line, pytest runs it.
    base = {"src/calc.py": CALC, "src/tests/__init__.py": "", "src/tests/test.py": UNITTEST}
    repo = leo_repo(base=base, head={"src/calc.py": CALC + "\n\nX = 1\n"})
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    assert agent_of(result).details["passed"] == 1
    # the twin: the change breaks the code those tests check
    broken = leo_repo(base=base, head={"src/calc.py": BROKEN})
    run_testing(broken.change()).assert_verdict("FAIL")


def test_unconventional_test_files_skip_hidden_and_build_directories(tmp_path):
    for rel in ("src/tests/test.py", "pkg/tests.py", ".tox/x/test.py", "build/lib/test.py", "a.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert unconventional_test_files(tmp_path) == ["pkg/tests.py", "src/tests/test.py"]


@pytest.mark.parametrize("name", ["test.py", "tests.py"])
def test_unconventional_names_are_the_two_common_ones(tmp_path, name):
    (tmp_path / name).write_text("")
    assert unconventional_test_files(tmp_path) == [name]
