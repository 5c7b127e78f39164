"""Releases that update their tests are not weakened tests, and ordinary test tricks are not
runner tampering (issue 18: platformdirs 4.2.1, filelock 3.13.4, cachetools 5.4.0, sqlparse
0.5.1, more-itertools 10.3.0, decorator 5.1.1, tqdm 4.66.5). Each is a real throwaway
repository run through the Testing sub-agent; each names the real release it stands for.
"""

from __future__ import annotations

import time

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


def test_a_test_class_split_into_a_new_test_file_is_not_a_dropped_test(leo_repo, run_testing):
    """structlog 24.2.0 moved TestKeyValueRenderer and eight more classes out of
    tests/test_processors.py into a new tests/processors/test_renderers.py; the twin moves the
    class without its checks, which still drops them."""
    moved = "from calc import neg\n\n\nclass TestCalc:\n    def test_neg(self):\n        assert neg(1) == -1\n"
    kept = CALC_TEST.split("\n\n    def test_neg")[0] + "\n"
    head = {"tests/test_calc.py": kept, "tests/test_neg.py": moved}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("PASS")
    assert weakened_of(result) == []
    gutted = {**head, "tests/test_neg.py": moved.replace("assert neg(1) == -1", "neg(1)")}
    result = run_testing(leo_repo(base=BASE, head=gutted).change())
    (finding,) = weakened_of(result)
    assert "tests/test_calc.py::TestCalc::test_neg" in finding.message
    assert "no longer runs" in finding.message


RETRY = "\n\ndef _retry(f):\n    return f()\n"
RETRY_TEST = (
    "\n\nclass TestRetry:\n    def test_returns(self):\n        assert _retry(lambda: 1) == 1\n"
)


def test_the_tests_of_a_removed_private_helper_go_with_it(leo_repo, run_testing):
    """structlog 24.2.0 removed the private ``_utils.until_not_interrupted`` and its test class
    from tests/test_utils.py, whose base version then cannot import against the head's code;
    the twin also drops a check of a test that does not use the helper, which a LEAD decides."""
    base = {
        "calc.py": CALC + RETRY,
        "tests/test_calc.py": CALC_TEST.replace("add, neg", "_retry, add, neg") + RETRY_TEST,
    }
    head = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low" and "tests of what it removed (calc._retry" in finding.message
    thinner = CALC_TEST.replace("        assert add(0, 0) == 0\n", "")
    result = run_testing(leo_repo(base=base, head={**head, "tests/test_calc.py": thinner}).change())
    (finding,) = weakened_of(result)
    assert finding.severity == "medium" and "fewer assertions" in finding.message


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
    environment is built; the base pass used to lose it to ``git clean -x``, and a run that
    reused the environment never had it. A ``conftest.py`` the setup wrote reaches neither run."""
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
    steps = [["{python}", "-m", "pip", "install", "pytest>=8,<10", "pytest-cov>=5,<7"],
             ["{python}", "-c", setup]]  # fmt: skip
    result = run_testing(leo_repo(base=base, head=head).change(), setup=steps)
    agent = result.agent("testing")
    # both runs imported gen_version and neither was stopped by the conftest.py
    assert agent.details["base_pass"]["passed"] == 3, agent.details["base_pass"]
    assert agent.details["passed"] == 3, agent.summary
    result.assert_verdict("PASS")


# ------------------------------------------------ what became of the failing check (issue 18)


def test_a_failing_check_updated_with_a_new_expected_value_passes_and_its_neutered_twin_fails(
    leo_repo, run_testing
):
    """itsdangerous 2.2.0 changed the digest ``test_iter_unsigners`` expects: the check it
    failed on is kept, with a new expected value. The twin keeps the test green by reducing
    that check to truthiness while the code breaks."""
    head = {  # neg(1) is -1.0 now, and the test's expected value says so
        "calc.py": CALC.replace("return -a", "return -a * 1.0"),
        "tests/test_calc.py": CALC_TEST.replace(
            "assert neg(1) == -1\n", "assert repr(neg(1)) == '-1.0'\n"
        ),
    }
    base_test = CALC_TEST.replace("assert neg(1) == -1\n", "assert repr(neg(1)) == '-1'\n")
    base = {**BASE, "tests/test_calc.py": base_test}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low" and "kept with a new expected value" in finding.message
    assert "`assert repr(neg(1)) == '-1'`" in finding.message
    twin = {
        "calc.py": CALC.replace("return a + b", "return a - b"),
        "tests/test_calc.py": CALC_TEST.replace("add(1, 2) == 3", "add(1, 2)"),
    }
    result = run_testing(leo_repo(base=BASE, head=twin).change())
    result.assert_verdict("FAIL")
    (finding,) = weakened_of(result)
    assert finding.severity == "high" and "truthiness" in finding.message


def test_a_test_deleted_with_the_module_it_tested_is_context_and_a_deleted_failing_test_is_not(
    leo_repo, run_testing
):
    """blinker 1.8.0 deleted the private ``blinker._saferef`` and ``tests/test_saferef.py`` with
    it: the base's test module cannot even be imported against the head's code. The twin deletes
    a test that fails an assertion (planted-test-deleted-with-bug): still high."""
    base = {
        **BASE,
        "_saferef.py": "def ref(x):\n    return x\n",
        "tests/test_saferef.py": "from _saferef import ref\n\n\ndef test_ref():\n    assert ref(1) == 1\n",
    }
    head = {"_saferef.py": None, "tests/test_saferef.py": None}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low" and "module _saferef (_saferef.py)" in finding.message
    twin = {**head, "calc.py": CALC.replace("return -a", "return a"), "tests/test_calc.py": None}
    result = run_testing(leo_repo(base=base, head=twin).change())
    result.assert_verdict("FAIL")
    high = [f for f in weakened_of(result) if f.severity == "high"]
    assert [f.path for f in high] == ["tests/test_calc.py"], weakened_of(result)
    assert "`assert neg(1) == -1`" in high[0].message


def test_a_test_deleted_after_the_change_deprecated_what_it_used_is_judged_with_the_warning_allowed(
    leo_repo, run_testing
):
    """blinker 1.8.0 deprecated the global ``receiver_connected``; under the base's
    ``filterwarnings = error`` its tests stop at the warning, and the release deleted them. Re-run
    with deprecation warnings allowed they pass: the feature still works, only deprecated. The
    twin breaks the feature it deprecates (high); a test that raises the warning itself, whatever
    pytest's filters say, cannot be re-run past it: a LEAD decides."""
    warn = (
        "import warnings\n\n\n"
        "def neg(a):\n    warnings.warn('neg is deprecated and will be removed', "
        "DeprecationWarning, stacklevel=2)\n    return -a\n"
    )
    config = "[tool.pytest.ini_options]\nfilterwarnings = ['error']\n"
    base = {**BASE, "pyproject.toml": config}
    head = {
        "calc.py": CALC.replace("def neg(a):\n    return -a\n", warn),
        "tests/test_calc.py": CALC_TEST.split("\n    def test_neg")[0] + "\n",
    }
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    (finding,) = weakened_of(result)
    assert finding.severity == "low" and "deprecation the change added" in finding.message
    assert "re-run with deprecation warnings allowed, it passes" in finding.message

    broken = {**head, "calc.py": head["calc.py"].replace("return -a", "return a")}
    result = run_testing(leo_repo(base=base, head=broken).change())
    result.assert_verdict("FAIL")
    (finding,) = weakened_of(result)
    assert finding.severity == "high" and "the deprecated feature is broken" in finding.message
    assert "neg(1)" in finding.message, finding.message

    strict = CALC_TEST.replace(
        "        assert neg(1) == -1\n",
        "        with warnings.catch_warnings():\n"
        "            warnings.simplefilter('error')\n"
        "            assert neg(1) == -1\n",
    )
    strict = "import warnings\n" + strict
    base = {**base, "tests/test_calc.py": strict}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("ESCALATE")
    (finding,) = weakened_of(result)
    assert finding.severity == "medium" and "a LEAD decides" in finding.message


def test_a_moved_conftest_and_added_testpaths_cannot_bend_the_evidence(leo_repo, run_testing):
    """python-dateutil 2.9.0 moved its conftest.py with its tests; termcolor 2.5.0 added
    ``testpaths``. The twin adds a hook to the conftest: a LEAD decides."""
    conftest = "import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n"
    base = {**BASE, "pkgtests/conftest.py": conftest,
            "pkgtests/test_two.py": "def test_two(two):\n    assert two == 2\n"}  # fmt: skip
    head = {
        "pkgtests/conftest.py": None,
        "pkgtests/test_two.py": None,
        "tests/conftest.py": conftest,
        "tests/test_two.py": "def test_two(two):\n    assert two == 2\n",
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    }
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    finding = result.assert_finding("testing.harness_changed")
    assert finding.severity == "low", finding.message
    effect = result.agent("testing").details["harness_effect"]
    assert effect["may_bend"] == [], effect
    hooked = conftest + "\n\ndef pytest_collection_modifyitems(items):\n    items.reverse()\n"
    result = run_testing(leo_repo(base=base, head={**head, "tests/conftest.py": hooked}).change())
    assert result.report.verdict == "ESCALATE", result.report.reasons
    assert result.assert_finding("testing.harness_changed").severity == "medium"


#: tqdm 4.66.5's exit hang in miniature: a test leaks a multiprocessing lock, a daemon monitor
#: thread then waits on it, and an atexit handler joins that thread (tqdm's TMonitor.exit).
EXIT_HANG = """\
import atexit, multiprocessing, threading

LOCK = multiprocessing.RLock()
LEAKED = threading.Event()


def monitor():
    LEAKED.wait()
    with LOCK:
        pass


MONITOR = threading.Thread(target=monitor, daemon=True)
MONITOR.start()
atexit.register(MONITOR.join)


def test_leaks_the_lock():
    LOCK.acquire()
    LEAKED.set()
"""


def test_a_finished_run_whose_interpreter_never_exits_keeps_its_results(
    leo_repo, run_testing, leo_sandbox, monkeypatch
):
    """tqdm 4.66.5: ``test_deprecated_gui`` leaks tqdm's multiprocessing lock, the monitor thread
    blocks on it and tqdm's atexit handler joins the monitor, so the interpreter never exited
    after a finished session and the suite hit its timeout in LEO's sandbox."""
    from leo_testing import observer

    monkeypatch.setattr(observer, "EXIT_GRACE_S", 1.0)
    base = {**BASE, "tests/test_exit.py": EXIT_HANG}
    head = {"calc.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n"}
    started = time.monotonic()
    result = run_testing(leo_repo(base=base, head=head).change(), coverage=False, test_timeout=60)
    agent = result.agent("testing")
    assert agent.status == "passed", [f.message for f in agent.findings]
    assert time.monotonic() - started < 60
    (finding,) = [f for f in agent.findings if f.rule_id == "testing.exit_hang"]
    assert finding.severity == "low" and "pytest's exit status 0" in finding.message
    assert agent.details["observer"]["exit_forced"] is True
    assert agent.details["passed"] == 3
