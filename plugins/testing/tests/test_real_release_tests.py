"""Releases that update their tests are not weakened tests, and ordinary test tricks are not
runner tampering (issue 18: platformdirs 4.2.1, filelock 3.13.4, cachetools 5.4.0, sqlparse
0.5.1, more-itertools 10.3.0, decorator 5.1.1, tqdm 4.66.5). Each is a real throwaway
repository run through the Testing sub-agent; each names the real release it stands for.
"""

from __future__ import annotations

CALC = "def add(a, b):\n    return a + b\n\n\ndef neg(a):\n    return -a\n"
CALC_TEST = (
    "from calc import add, neg\n\n\n"
    "class TestCalc:\n"
    "    def test_add(self):\n        assert add(1, 2) == 3\n        assert add(0, 0) == 0\n\n"
    "    def test_neg(self):\n        assert neg(1) == -1\n"
)
BASE = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}


def weakened_of(result):
    return [f for f in result.findings if f.rule_id == "testing.test_weakened"]


def test_a_release_updating_a_test_with_its_behaviour_passes_with_the_update_as_context(
    leo_repo, run_testing
):
    """sqlparse 0.5.1 / more-itertools 10.3.0: the behaviour changed on purpose and the test's
    expectation changed with it, keeping its assertions."""
    head = {  # add(0, 0) is 1 now, and the test says so
        "calc.py": CALC.replace("return a + b", "return a + b or 1"),
        "tests/test_calc.py": CALC_TEST.replace("add(0, 0) == 0", "add(0, 0) == 1"),
    }
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low" and "updated along with the behaviour" in finding.message
    assert result.agent("testing").decisions == ()


def test_a_renamed_test_and_a_module_the_base_pass_cannot_import_are_not_dropped_tests(
    leo_repo, run_testing
):
    """cachetools 5.4.0 renamed test_typed_dict; platformdirs 4.2.1's base test modules could
    not be imported against the head's code: a module id is not a test the change stopped
    running, and the finding says why the module did not import."""
    head_test = CALC_TEST.replace("add, neg", "add, negate").replace("neg(1)", "negate(1)")
    head_test = head_test.replace("def test_neg(", "def test_negate(")
    head = {"calc.py": CALC.replace("def neg(", "def negate("), "tests/test_calc.py": head_test}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low"
    assert "ImportError: cannot import name 'neg' from 'calc'" in finding.message
    assert "no longer runs" not in finding.message
    assert result.agent("testing").details["passed"] == 2


def test_a_stub_import_simulating_a_missing_module_is_not_tampering(leo_repo, run_testing):
    """platformdirs 4.2.1's tests/test_api.py: ``builtins.__import__`` replaced by a stub that
    refuses ``ctypes``, ``sys.modules`` entries of the package removed and put back."""
    stub = (
        "import builtins\nimport sys\n\nbuiltin_import = builtins.__import__\n\n\n"
        "def _fake_import(name, *args, **kwargs):\n"
        "    if name == 'ctypes':\n        raise ModuleNotFoundError(f'No module named {name}')\n"
        "    return builtin_import(name, *args, **kwargs)\n\n\n"
        "def test_no_ctypes():\n"
        "    items = [item for item in sys.modules.items() if item[0].startswith('calc')]\n"
        "    try:\n        builtins.__import__ = _fake_import\n"
        "        for name, _ in items:\n            del sys.modules[name]\n"
        "        import calc\n        assert calc.add(1, 2) == 3\n"
        "    finally:\n        builtins.__import__ = builtin_import\n"
        "        for name, module in items:\n            sys.modules[name] = module\n"
    )
    result = run_testing(leo_repo(base=BASE, head={"tests/test_no_ctypes.py": stub}).change())
    result.assert_verdict("PASS")
    assert not [f for f in result.findings if f.rule_id.startswith("testing.runner")]


def test_a_stub_import_aimed_at_the_runner_is_tampering(leo_repo, run_testing):
    """The same shape, but the stub hands pytest a forged ``_pytest.reports`` and stays for the
    whole session."""
    forge = (
        "import builtins\nimport types\n\nbuiltin_import = builtins.__import__\n\n\n"
        "def _fake_import(name, *args, **kwargs):\n"
        "    if name == '_pytest.reports':\n        return types.ModuleType(name)\n"
        "    return builtin_import(name, *args, **kwargs)\n\n\n"
        "builtins.__import__ = _fake_import\n"
    )
    head = {"calc.py": CALC.replace("a + b", "a - b"), "tests/conftest.py": forge}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("FAIL")
    assert any(
        f.rule_id == "testing.runner_tampering" and f.severity == "critical"
        for f in result.findings
    )


def test_a_project_whose_tests_pytest_never_collects_is_skipped_not_failed(leo_repo, run_testing):
    """A project keeps its unittest tests where pytest's default python_files never looks
    (``checks/suite.py``), before and after the change: no tests is never a pass, but it is not
    the change's doing, so the sub-agent is skipped. (decorator 5.1.1's ``src/tests/test.py``
    is named on pytest's command line and runs: test_not_the_change.py.)"""
    unittest_style = (
        "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"
    )
    base = {"calc.py": CALC, "checks/suite.py": unittest_style}
    result = run_testing(leo_repo(base=base, head={"calc.py": CALC + "\n# a comment\n"}).change())
    assert result.agent("testing").status == "skipped"
    finding = result.assert_finding("testing.no_tests")
    assert finding.severity == "low" and "collect none either" in finding.message
    # the change removing every test the base had is still a FAIL
    gone = run_testing(leo_repo(base=BASE, head={"tests/test_calc.py": None}).change())
    gone.assert_verdict("FAIL")


def test_an_option_of_a_missing_pytest_plugin_says_what_to_install(leo_repo, run_testing):
    """tqdm 4.66.5: addopts name --asyncio-mode=strict, and pytest-asyncio is not installed."""
    config = '[tool.pytest.ini_options]\naddopts = "--asyncio-mode=strict"\n'
    base = {**BASE, "pyproject.toml": config}
    result = run_testing(leo_repo(base=base, head={"calc.py": CALC + "\n# a comment\n"}).change())
    agent = result.agent("testing")
    assert agent.status == "error"
    assert "unrecognized arguments: --asyncio-mode=strict" in agent.summary
    assert "pytest plugin that is not installed" in agent.summary


def test_files_the_setup_generated_reach_the_base_pass_but_no_conftest_does(leo_repo, run_testing):
    """platformdirs 4.2.1 / filelock 3.13.4: hatch-vcs writes the ignored ``version.py`` when the
    environment is built; the base pass used to lose it to ``git clean -x``. A ``conftest.py``
    the setup wrote is not put back."""
    setup = (
        "open('gen_version.py', 'w').write('VERSION = 1\\n');"
        "open('conftest.py', 'w').write('raise SystemExit(3)\\n')"
    )
    base = {
        **BASE,
        ".gitignore": "gen_version.py\nconftest.py\n",
        "tests/test_version.py": "from gen_version import VERSION\n\n\ndef test_v():\n    assert VERSION == 1\n",
    }
    head = {"calc.py": CALC + "\n# a comment\n"}
    # a setup of its own: its key is new, so it runs (cold) in this test
    steps = [["{python}", "-m", "pip", "install", "pytest>=8,<10", "pytest-cov>=5,<8"],
             ["{python}", "-c", setup]]  # fmt: skip
    result = run_testing(leo_repo(base=base, head=head).change(), setup=steps)
    agent = result.agent("testing")
    # the base pass imported gen_version and was not stopped by the conftest.py
    assert agent.details["base_pass"]["passed"] == 3, agent.details["base_pass"]
    assert result.report.verdict != "PASS"  # the head's own run was (exit 3)
