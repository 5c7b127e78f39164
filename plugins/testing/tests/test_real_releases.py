"""The Testing sub-agent on what real releases do (issue 18): requirement files written for the
project's own CI, configuration moved or tidied, tests that become parametrized.

Each case is taken from the real-world corpus (benchmarks/realworld/) and rebuilt small: a real
throwaway repository, a real venv, real pip and pytest. The hostile twin of each relaxation is
pinned beside it, so none of them opens a way to a green check without the work.
"""

from __future__ import annotations

import sys

import pytest
from leo_testing.environment import sdist_version
from leo_testing.harness import judge_options
from leo_testing.requirements import (
    dependency_groups,
    project_name,
    read_requirements,
    requirement_files,
)

CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
BASE = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}
PY = f"{sys.version_info.major}{sys.version_info.minor}"


def agent_of(result):
    return result.agent("testing")


# ---------------------------------------------------------------- requirement files


def test_a_lock_for_another_python_is_left_out_beside_the_one_for_this_python(tmp_path):
    # jinja2 3.1.5: requirements/tests.txt (3.13) and tests37.txt (3.7) pin attrs 24.3 / 24.2.
    (tmp_path / "requirements" / "3.3").mkdir(parents=True)
    for name in ("tests.txt", "tests37.txt", "docs.txt", "dev.txt", "3.3/requirements-dev.txt"):
        (tmp_path / "requirements" / name).write_text("attrs\n")
    assert requirement_files(tmp_path, (3, 11)) == [tmp_path / "requirements" / "tests.txt"]
    assert requirement_files(tmp_path, (3, 7)) == [tmp_path / "requirements" / "tests37.txt"]


def test_requirements_in_the_test_directory_are_found(tmp_path):
    # packaging 24.0 keeps its test requirements in tests/requirements.txt.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "requirements.txt").write_text("pretend\n")
    (tmp_path / "requirements.txt").write_text("attrs\n")
    assert requirement_files(tmp_path) == [
        tmp_path / "requirements.txt",
        tmp_path / "tests" / "requirements.txt",
    ]


def test_lines_pip_cannot_install_here_are_left_out_or_taken_from_the_index_with_a_note(
    tmp_path,
):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "Demo_Pkg"\n')
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "common.txt").write_text("six==1.16.0 \\\n  --hash=sha256:abc\n")
    (tmp_path / "constraints.txt").write_text("attrs<30\n")
    (tmp_path / "requirements-dev.txt").write_text(
        "-e .[socks]\n"  # requests 2.32.3
        "demo-pkg==0.9  # the project at its last release (click 8.1.8's docs pins)\n"
        "trustme @ git+https://github.com/python-trio/trustme@b3a767f  # urllib3 2.2.2\n"
        "git+https://github.com/casperdcl/nbval.git@master#egg=nbval\n"
        "--index-url https://example.invalid/simple\n"
        "-r requirements/common.txt\n"
        "-c constraints.txt\n"
        "-r ../../etc/passwd\n"
        "pytest>=2.8.0,<=6.2.5\n"
        "freezegun ; python_version != '3.3'\n"
    )
    assert project_name(tmp_path) == "Demo_Pkg"
    reqs = read_requirements(tmp_path, [tmp_path / "requirements-dev.txt"], "Demo_Pkg")
    assert reqs.lines == [
        "trustme",
        "nbval",
        "six==1.16.0",
        "pytest>=2.8.0,<=6.2.5",  # left for pip: it conflicts only with LEO's runner
        "freezegun ; python_version != '3.3'",
    ]
    assert reqs.constraints == ["attrs<30"]
    assert reqs.extras == ["socks"]  # installed with the project itself
    notes = "\n".join(reqs.notes)
    for expected in (
        "local path '.[socks]' skipped",
        "'demo-pkg==0.9' skipped: the project itself",
        "trustme taken from the index instead of its URL",
        "nbval taken from the index",
        "pip option '--index-url' ignored",
        "hash pins dropped",
        "'-r ../../etc/passwd' not followed",
    ):
        assert expected in notes, notes


def test_tox_extras_are_installed_with_the_project(tmp_path):
    """pyparsing 3.1.2's tests need ``railroad``, which only tox's ``extras = diagrams`` asks."""
    (tmp_path / "tox.ini").write_text(
        "[testenv]\ndeps = pytest\nextras =\n    diagrams\n    py38: old\n    {env:X}\n"
    )
    reqs = read_requirements(tmp_path, [], "pyparsing", tox=True)
    assert reqs.lines == ["pytest"]
    assert reqs.extras == ["diagrams"]  # a factor's extra and a substitution are left out
    # Beside a requirement file (pyparsing's tests/requirements.txt pins coverage and tox),
    # tox's deps are not read but its extras are: they name the project's own extras.
    pinned = tmp_path / "tests" / "requirements.txt"
    pinned.parent.mkdir()
    pinned.write_text("coverage==4.4.2\n")
    beside = read_requirements(tmp_path, [pinned], "pyparsing")
    assert beside.lines == ["coverage==4.4.2"] and beside.extras == ["diagrams"]


def test_sdist_version_comes_from_pkg_info(tmp_path):
    # pluggy 1.5.0 and python-dateutil 2.9.0 use setuptools-scm: outside their own git
    # history they become 0.1.dev…, which pytest (pluggy) and freezegun (dateutil) reject.
    assert sdist_version(tmp_path) is None
    (tmp_path / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: pluggy\nVersion: 1.5.0\n")
    assert sdist_version(tmp_path) == "1.5.0"


def test_unsatisfiable_dev_requirements_still_run_the_tests_and_say_what_was_left_out(
    leo_repo, run_testing
):
    """requests 2.31.0: ``-e .[socks]`` and ``pytest<=6.2.5`` beside LEO's pytest 8+."""
    files = {
        **BASE,
        "pyproject.toml": '[project]\nname = "demo-calc"\nversion = "1.0"\n',
        "requirements-test.txt": "-e .\ndemo-calc==0.9\npytest>=2.8.0,<=6.2.5\n",
    }
    head = {"calc.py": CALC + "\n\nZERO = 0\n"}
    result = run_testing(leo_repo(base=files, head=head).change())
    result.assert_verdict("PASS")
    agent = agent_of(result)
    assert agent.status == "passed" and agent.details["passed"] == 1
    finding = result.assert_finding("testing.environment_incomplete")
    assert finding.severity == "low"
    notes = "\n".join(agent.details["environment"]["notes"])
    assert "'demo-calc==0.9' skipped: the project itself" in notes
    assert "'pytest>=2.8.0,<=6.2.5' not installed" in notes


def test_a_missing_requirement_never_turns_a_failing_test_into_a_pass(leo_repo, run_testing):
    files = {
        **BASE,
        "requirements-test.txt": "-e .\n",
        "setup.py": "from setuptools import setup\nsetup(name='calc', py_modules=['calc'])\n",
    }
    result = run_testing(leo_repo(base=files, head={"calc.py": BROKEN}).change())
    result.assert_verdict("FAIL")
    result.assert_finding("testing.test_failed", path="tests/test_calc.py")


def test_a_test_that_hangs_fails_alone_and_the_rest_of_the_suite_still_counts(
    leo_repo, run_testing
):
    # zipp 3.19.0 against 3.19.1's regression test for CVE-2024-5569 (an infinite loop): the
    # whole suite used to run into its 600 s timeout twice and the case gave no verdict.
    loop = "def walk(n):\n    while n:\n        pass\n    return n\n"
    hang = "from walk import walk\n\n\ndef test_walk_ends():\n    assert walk(1) == 1\n"
    repo = leo_repo(base={**BASE, "walk.py": "def walk(n):\n    return n\n"},
                    head={"walk.py": loop, "tests/test_walk.py": hang})  # fmt: skip
    result = run_testing(repo.change(), test_case_timeout=5)
    result.assert_verdict("FAIL")
    hung = result.assert_finding("testing.test_failed", path="tests/test_walk.py")
    assert "Timeout" in hung.message, hung.message
    agent = agent_of(result)
    assert agent.status == "failed" and agent.details["passed"] >= 1, agent.summary


# ---------------------------------------------------------------- harness edits


def test_moving_unchanged_pytest_config_from_setup_cfg_to_pyproject_does_not_stop_a_release(
    leo_repo, run_testing
):
    # itsdangerous 2.2.0 and click 8.1.8 moved [tool:pytest] and [coverage:run] to pyproject.
    cfg = "[tool:pytest]\ntestpaths = tests\nfilterwarnings =\n    error\n\n[coverage:run]\nbranch = True\n"
    toml = (
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\nfilterwarnings = ["error"]\n\n'
        "[tool.coverage.run]\nbranch = true\n"
    )
    repo = leo_repo(
        base={**BASE, "setup.cfg": cfg},
        head={"setup.cfg": None, "pyproject.toml": toml, "calc.py": CALC + "\n\nZERO = 0\n"},
    )
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.harness_changed")
    assert finding.severity == "low" and "unchanged" in finding.message
    assert agent_of(result).decisions == ()
    assert "setup.cfg" in agent_of(result).details["harness_changed"]


def test_removing_a_lint_plugin_option_is_reported_but_does_not_stop_a_release(
    leo_repo, run_testing
):
    # six 1.17.0 dropped pep8ignore / flakes-ignore from [tool:pytest].
    cfg = "[tool:pytest]\nminversion = 2.2.0\npep8ignore =\n    test_six.py ALL\n"
    repo = leo_repo(
        base={**BASE, "setup.cfg": cfg},
        head={"setup.cfg": "[tool:pytest]\nminversion = 2.2.0\n", "calc.py": CALC + "\nZ = 0\n"},
    )
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    assert result.assert_finding("testing.harness_changed").severity == "low"
    effect = agent_of(result).details["harness_effect"]
    assert effect == {"may_bend": [], "cannot_bend": ["pytest pep8ignore removed"]}


def test_an_added_ignore_still_needs_a_lead_even_when_every_test_passes(leo_repo, run_testing):
    cfg = "[tool:pytest]\nminversion = 2.2.0\n"
    repo = leo_repo(
        base={**BASE, "setup.cfg": cfg, "tests/test_more.py": "def test_more():\n    pass\n"},
        head={"setup.cfg": cfg + "addopts = --ignore=tests/test_more.py\n"},
    )
    result = run_testing(repo.change())
    assert result.report.verdict == "ESCALATE", result.report.reasons
    finding = result.assert_finding("testing.harness_changed")
    assert finding.severity == "medium" and "pytest addopts added" in finding.message
    assert finding.message in agent_of(result).decisions


@pytest.mark.parametrize(
    ("omit", "bends"),
    [
        (("tests/",), False),  # isodate 0.7.0
        (("./tests/*", "*/conftest.py"), False),
        # the hostile twins: code among the tests, a climb out of tests/, nothing LEO leaves out
        (("tests/*", "src/iso/duration.py"), True),
        (("tests/../src/*",), True),
        (("*",), True),
    ],
)
def test_omitting_only_files_leo_never_counts_cannot_bend_and_omitting_code_still_does(omit, bends):
    from leo_testing.settings import COVERAGE_OMIT

    head = {"run.omit": omit}
    bending, _ = judge_options({}, head, "coverage", own_coverage=True, left_out=COVERAGE_OMIT)
    assert bool(bending) is bends
    assert judge_options({}, head, "coverage", own_coverage=True)[0]  # coverage_omit = []


@pytest.mark.parametrize(
    ("base", "head", "bends"),
    [
        ({"run.omit": ("a.py",)}, {}, False),  # packaging 24.0: measures more
        ({"run.omit": ("a.py", "b.py")}, {"run.omit": ("a.py",)}, False),
        ({}, {"run.omit": ("calc.py",)}, True),
        ({"report.exclude_lines": ("pragma: no cover",)}, {"report.exclude_also": (".*",)}, True),
        ({"report.show_missing": ("true",)}, {}, False),
        ({}, {"paths.source": ("src", "*/site-packages")}, True),
    ],
)
def test_coverage_edits_that_leave_lines_out_need_a_lead_and_others_do_not(base, head, bends):
    bending, inert = judge_options(base, head, "coverage")
    assert bool(bending) is bends
    assert inert or bends


EXCEPTIONGROUP_BASE = {"report.exclude_lines": ("pragma: no cover", "if TYPE_CHECKING:")}


@pytest.mark.parametrize(
    ("head", "bends"),
    [
        # exceptiongroup 1.2.1: exclude_lines -> exclude_also, keeping coverage.py's defaults
        ({"report.exclude_also": ("if TYPE_CHECKING:", "@overload")}, False),
        ({"report.exclude_lines": ("pragma: no cover", "if typing.TYPE_CHECKING:")}, False),
        # the hostile twins: a pattern that hides running code, beside the harmless one
        ({"report.exclude_also": ("@overload", "def risky")}, True),
        ({"report.exclude_also": (".*",)}, True),
        ({"report.exclude_also": ("raise NotImplementedError",)}, True),
    ],
)
def test_exclusions_of_never_run_typing_code_cannot_bend_and_others_still_do(head, bends):
    for own in (True, False):
        bending, inert = judge_options(EXCEPTIONGROUP_BASE, head, "coverage", own_coverage=own)
        assert bool(bending) is bends
        assert bends or all("exclu" in i for i in inert)


@pytest.mark.parametrize(
    ("head", "bends"),
    [
        ({"run.source": ("src",)}, False),  # blinker 1.8.0: LEO's --cov names the tree
        ({"run.source_pkgs": ("blinker",)}, False),
        ({"paths.source": ("src", "*/site-packages")}, False),  # blinker 1.8.0
        ({"paths.source": ("src", "vendored/copy")}, True),  # remaps a folder of the tree
        ({"paths.source": ("src",)}, True),
        ({"run.omit": ("calc.py",)}, True),
    ],
)
def test_coverage_edits_leo_measures_around_cannot_bend_and_the_rest_still_need_a_lead(head, bends):
    bending, _ = judge_options({}, head, "coverage", own_coverage=True)
    assert bool(bending) is bends
    assert bool(judge_options({}, head, "coverage")[0])  # a custom command reads them all


@pytest.mark.parametrize(
    ("base", "head", "bends"),
    [
        ({"markers": ("slow",)}, {"markers": ("slow", "fast")}, False),
        (
            {"filterwarnings": ("error",)},
            {"filterwarnings": ("error", "ignore::UserWarning")},
            False,
        ),
        # termcolor 2.5.0: collection only; every base test must still run at the head
        ({}, {"testpaths": ("tests",)}, False),
        ({"testpaths": ("tests",)}, {}, False),
        ({}, {"python_files": ("check_*.py",)}, False),
        # the hostile twins: options that load code or change outcomes
        ({}, {"pythonpath": ("fakes",)}, True),
        ({}, {"usefixtures": ("patch_everything",)}, True),
        ({"addopts": ("-v",)}, {"addopts": ("-v -k 'not lru'",)}, True),
        ({}, {"my_plugin_option": ("1",)}, True),
        ({"testpaths": ("tests",)}, {"testpaths": ("tests",)}, False),
    ],
)
def test_pytest_edits_to_outcomes_need_a_lead_and_collection_or_cosmetic_ones_do_not(
    base, head, bends
):
    bending, inert = judge_options(base, head, "pytest")
    assert bool(bending) is bends
    assert bool(inert) is (not bends and base != head)


# ---------------------------------------------------------------- parametrized tests


def test_a_test_the_change_parametrizes_is_not_weakened(leo_repo, run_testing):
    # jinja2 3.1.5 ran its async tests on asyncio and trio: test_x became test_x[asyncio] …
    split = (
        "import pytest\n\nfrom calc import add\n\n\n"
        "@pytest.mark.parametrize('n', [1, 2], ids=['one', 'two'])\n"
        "def test_add(n):\n    assert add(n, 2) == n + 2\n"
    )
    result = run_testing(leo_repo(base=BASE, head={"tests/test_calc.py": split}).change())
    result.assert_verdict("PASS")
    assert agent_of(result).details["base_pass"]["weakened"] == []


def test_a_failing_test_parametrized_into_skips_is_still_weakened(leo_repo, run_testing):
    hidden = (
        "import pytest\n\nfrom calc import add\n\n\n"
        "@pytest.mark.parametrize('n', [pytest.param(1, marks=pytest.mark.skip)])\n"
        "def test_add(n):\n    assert add(n, 2) == 3\n"
    )
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_calc.py": hidden})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.test_weakened", path="tests/test_calc.py")
    assert finding.severity == "high" and "skips it" in finding.message


def _suite(*cases):
    from leo_testing.junit import Suite, TestCase

    return Suite(
        tuple(
            TestCase(name, "tests.test_f", "tests/test_f.py", 1, outcome, "", "")
            for name, outcome in cases
        )
    )


@pytest.mark.parametrize(
    ("head", "weakened"),
    [
        (
            [("test_first[asyncio-<lambda>0]", "passed"), ("test_first[trio-<lambda>0]", "passed")],
            [],
        ),
        (
            [
                ("test_first[asyncio-<lambda>0]", "passed"),
                ("test_first[trio-<lambda>0]", "skipped"),
            ],
            [],
        ),
        ([("test_first[asyncio-<lambda>0]", "skipped")], [("passed", "skipped")]),
        ([("test_first[asyncio-<lambda>1]", "passed")], [("passed", None)]),
    ],
)
def test_a_parametrized_base_test_split_further_is_matched_by_its_ids(head, weakened):
    from leo_testing.baseline import compare

    base = _suite(("test_first[<lambda>0]", "passed"))
    found = compare(base, _suite(*head), {"tests/test_f.py"})
    assert [(w.base_outcome, w.head_outcome) for w in found] == weakened


def test_skipping_a_test_that_already_failed_at_the_base_is_context(leo_repo, run_testing):
    # six 1.17.0 skips test_move_items[dbm_ndbm] where dbm.ndbm is missing; it failed there
    # before the change too, so the change hides no failure it introduced.
    failing = CALC_TEST + "\n\ndef test_platform():\n    import no_such_module_here  # noqa\n"
    skipped = failing.replace(
        "def test_platform", "import pytest\n\n\n@pytest.mark.skip\ndef test_platform"
    )
    repo = leo_repo(
        base={**BASE, "tests/test_calc.py": failing}, head={"tests/test_calc.py": skipped}
    )
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.test_weakened", path="tests/test_calc.py")
    assert finding.severity == "low" and not finding.on_changed_line
    assert "against the base's own code too" in finding.message
    details = agent_of(result).details["base_pass"]
    assert details["failing_before"] == ["tests/test_calc.py::test_platform"]


def test_sys_modules_aliases_under_afixed_package_are_not_runner_tampering():
    import ast

    from leo_testing.tampering import fixed_package

    def key(source):
        return fixed_package(ast.parse(source, mode="eval").body)

    # requests 2.32: sys.modules[f"requests.packages.{mod}"] = sys.modules[mod]
    assert key('f"requests.packages.{mod}"') == "requests"
    assert key('"requests.packages." + mod') == "requests"
    assert key('f"_pytest.{mod}"') == "_pytest"
    for anything in ('f"{mod}"', 'f"py{mod}.x"', "mod", '"x" + mod'):
        assert key(anything) is None, anything


FIXTURE = (
    "import sys\n\nimport pytest\n\n\n@pytest.fixture\ndef untraced():\n"
    "    old = sys.gettrace()\n    sys.settrace(None)\n    yield '{prefix}'\n"
    "    sys.settrace(old)\n"
)


@pytest.mark.parametrize(("prefix", "severity"), [("dateutil", "low"), ("_pytest", "critical")])
def test_a_moved_test_file_keeps_the_bases_runner_hits_only_if_unchanged(
    leo_repo, prefix, severity
):
    # python-dateutil 2.9.0 moved dateutil/test/ to tests/ (git pairs no rename: edits too).
    import anyio
    from leo_testing.tampering import tampering_findings

    base = {"pkg/test/test_imports.py": FIXTURE.replace("{prefix}", "dateutil")}
    moved = FIXTURE.replace("{prefix}", prefix) + "\n\ndef test_other():\n" + "    x = 1\n" * 30
    repo = leo_repo(
        base=base, head={"pkg/test/test_imports.py": None, "tests/test_imports.py": moved}
    )
    findings = anyio.run(tampering_findings, repo.change())
    assert {f.severity for f in findings} == {severity}, findings
    finding = findings[0]
    assert finding.path == "tests/test_imports.py"
    assert finding.on_changed_line is (severity == "critical")


def test_a_test_that_fails_at_the_base_too_in_an_untouched_file_is_context(leo_repo, run_testing):
    # requests 2.32.3: its timeout tests reach for a host the sandbox's empty network lacks;
    # they fail against the release before it just the same.
    offline = "import socket\n\n\ndef test_network():\n    socket.create_connection(('10.255.255.1', 80), 1)\n"
    repo = leo_repo(
        base={**BASE, "tests/test_net.py": offline}, head={"calc.py": CALC + "\n\nZERO = 0\n"}
    )
    result = run_testing(repo.change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.test_failed", path="tests/test_net.py")
    assert finding.severity == "low" and not finding.on_changed_line
    assert "fails the same way at the base commit" in finding.message
    # The hostile twin: the change breaks add(); that test passed at the base, so it is high.
    broken = run_testing(leo_repo(base=BASE, head={"calc.py": BROKEN}).change())
    broken.assert_verdict("FAIL")
    assert (
        broken.assert_finding("testing.test_failed", path="tests/test_calc.py").severity == "high"
    )


def test_test_dependency_groups_are_installed_pep_735_pdm_and_uv(tmp_path):
    """cattrs 24.1's tests import hypothesis, declared only in ``[tool.pdm.dev-dependencies]``
    ``test``: without reading it the tests could not start (an error, a FAIL)."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "demo"\n'
        "[dependency-groups]\n"
        'typing = ["mypy"]\n'
        'Test = ["hypothesis>=6", {include-group = "typing"}, {include-group = "test"}, 3]\n'
        'dev = ["black"]\n'
    )
    assert dependency_groups(tmp_path, ("test", "tests")) == ["hypothesis>=6", "mypy"]
    pyproject.write_text('[tool.pdm.dev-dependencies]\ntest = ["hypothesis"]\nlint = ["ruff"]\n')
    assert dependency_groups(tmp_path, ("test",)) == ["hypothesis"]
    # No test group: the dev group, as a dev requirements file is read when no test one exists.
    pyproject.write_text('[tool.uv]\ndev-dependencies = ["pytest-mock"]\n')
    assert dependency_groups(tmp_path, ("test",)) == ["pytest-mock"]
    pyproject.write_text('[dependency-groups]\ndocs = ["sphinx"]\n')
    assert dependency_groups(tmp_path, ("test",)) == []
    pyproject.write_text("[dependency-groups\n")
    assert dependency_groups(tmp_path, ("test",)) == []
    # Read like any requirement line: the project itself and URLs are left out, with notes.
    groups = ["demo[extra]", "trustme @ git+https://github.com/python-trio/trustme", "attrs"]
    reqs = read_requirements(tmp_path, [], "demo", groups=groups)
    assert reqs.lines == ["trustme", "attrs"]
    assert reqs.extras == ["extra"]  # a group's "demo[extra]" installs the extra with the project
    assert any("pyproject.toml: 'demo[extra]' skipped: the project itself" in n for n in reqs.notes)
