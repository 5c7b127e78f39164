"""A change cannot make its own tests green without fixing the code (issue 17 item 1).

Every case is a real throwaway repository whose change breaks ``add()`` and then tries to
hide it; each must end FAIL or ESCALATE with evidence from the Testing sub-agent. The control
is an honest, tested change that PASSes.
"""

from __future__ import annotations

import pytest

CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
OTHER_TEST = "def test_truth():\n    assert True\n"
BASE = {"calc.py": CALC, "tests/test_calc.py": CALC_TEST, "tests/test_other.py": OTHER_TEST}


def agent_of(result):
    return result.agent("testing")


def blocked(result):
    __tracebackhide__ = True
    assert result.report.verdict in ("FAIL", "ESCALATE"), result.report.reasons


def weakened(result, severity="high"):
    __tracebackhide__ = True
    finding = result.assert_finding("testing.test_weakened", path="tests/test_calc.py")
    assert "tests/test_calc.py::test_add" in finding.message
    assert finding.severity == severity, finding
    return finding


def test_honest_tested_change_passes_with_the_base_pass_agreeing(leo_repo, run_testing):
    head = {
        "calc.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n",
        "tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    }
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("PASS")
    details = agent_of(result).details
    assert details["base_pass"]["passed"] == 2 and details["base_pass"]["weakened"] == []
    assert details["observer"] == {"started": True, "finished": True, "exit_forced": False}
    assert details["passed"] == 3


def test_new_module_patching_testreport_is_runner_tampering(leo_repo, run_testing):
    forge = (
        "import _pytest.reports\n\n"
        "_orig = _pytest.reports.TestReport.from_item_and_call\n\n\n"
        "def _always_pass(cls, item, call):\n"
        "    report = _orig.__func__(cls, item, call)\n"
        "    report.outcome = 'passed'\n"
        "    report.longrepr = None\n"
        "    return report\n\n\n"
        "_pytest.reports.TestReport.from_item_and_call = classmethod(_always_pass)\n"
    )
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_aaa_helpers.py": forge})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    tampering = [f for f in result.findings if f.rule_id == "testing.runner_tampering"]
    assert {f.severity for f in tampering} == {"critical"}
    assert any(
        f.path == "tests/test_aaa_helpers.py" and "TestReport.from_item_and_call" in f.message
        for f in tampering
    ), tampering
    # The observer saw the forged pass, and the base pass (without the new module) saw the failure.
    messages = [f.message for f in tampering]
    assert any("witnesses disagree" in m and "test_add" in m for m in messages), messages
    weakened(result)


def test_dynamic_patch_hidden_in_the_code_is_seen_by_the_observer(leo_repo, run_testing):
    """A variant the static scan cannot read: the patch lives in the code under test and
    imports pytest's internals by a computed name."""
    sneaky = (
        "import importlib\n\n"
        "_r = importlib.import_module('_py' + 'test.reports')\n"
        "_orig = _r.TestReport.from_item_and_call\n\n\n"
        "def _ok(cls, item, call):\n"
        "    rep = _orig.__func__(cls, item, call)\n"
        "    rep.outcome = 'passed'\n"
        "    return rep\n\n\n"
        "setattr(_r.TestReport, 'from_item_and_call', classmethod(_ok))\n\n\n" + BROKEN
    )
    result = run_testing(leo_repo(base=BASE, head={"calc.py": sneaky}).change())
    result.assert_verdict("FAIL")
    messages = [f.message for f in result.findings if f.rule_id == "testing.runner_tampering"]
    assert any("_pytest.reports.TestReport.from_item_and_call" in m for m in messages), messages


def test_pytest_ini_addopts_deselect_and_coverage_exclude_all(leo_repo, run_testing):
    head = {
        "calc.py": BROKEN + "\n\ndef untested(x):\n    return x * 2\n",
        ".pytest.ini": "[pytest]\naddopts = --deselect tests/test_calc.py::test_add\n",
        ".coveragerc": "[report]\nexclude_also =\n    .*\n",
    }
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("FAIL")
    weakened(result)
    harness = result.assert_finding("testing.harness_changed")
    assert harness.message in agent_of(result).decisions
    diffs = agent_of(result).details["harness_changed"]
    assert "--deselect" in diffs[".pytest.ini"] and "exclude_also" in diffs[".coveragerc"]


def test_coverage_exclusion_alone_escalates_with_the_diff(leo_repo, run_testing):
    head = {
        "calc.py": CALC + "\n\ndef untested(x):\n    return x * 2\n",
        "pyproject.toml": "[tool.coverage.report]\nexclude_also = ['.*']\n",
    }
    result = run_testing(leo_repo(base=BASE, head=head).change())
    blocked(result)
    assert result.report.verdict != "PASS"
    assert "exclude_also" in agent_of(result).details["harness_changed"]["pyproject.toml"]
    assert any(
        q.met is None and q.name == "testing decisions" and "pytest or coverage" in q.detail
        for q in result.report.requirements
    )


def test_failing_test_marked_xfail_is_weakened(leo_repo, run_testing):
    xfail = CALC_TEST.replace("def test_add", "import pytest\n\n\n@pytest.mark.xfail\ndef test_add")
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_calc.py": xfail})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert "skips it" in weakened(result).message


def test_deleted_failing_test_is_weakened(leo_repo, run_testing):
    """Deleting the failing test must not earn a milder verdict than leaving it failing
    (test_failed, high): the change's edit to the gate's evidence is a finding at the same
    severity. sqlparse 0.5.1 deleted such a test on purpose and still FAILs; a LEAD overrides."""
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_calc.py": None})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert "no longer runs it" in weakened(result).message


def test_failing_test_left_in_place_but_no_longer_collected_is_weakened(leo_repo, run_testing):
    """The test is still in the file, but ``__test__ = False`` stops pytest from collecting it."""
    hidden = CALC_TEST.replace("def test_add", "__test__ = False\n\n\ndef test_add")
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_calc.py": hidden})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert "no longer runs it" in weakened(result).message


def test_failing_test_rewritten_to_match_the_broken_code_needs_a_lead(leo_repo, run_testing):
    """With ``updated_tests = "lead"``; by default such a rewrite, which keeps its assertions,
    is a test updated with its behaviour (test_real_release_tests.py)."""
    rewritten = CALC_TEST.replace("== 3", "== -1")
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_calc.py": rewritten})
    result = run_testing(repo.change(), updated_tests="lead")
    blocked(result)
    finding = weakened(result, severity="medium")
    assert "after the change edited it" in finding.message
    assert finding.message in agent_of(result).decisions


def test_failing_test_stripped_of_its_assertion_needs_a_lead(leo_repo, run_testing):
    """planted-test-assertion-neutered: the assertion that catches the bug is removed."""
    test = CALC_TEST.replace(
        "    assert add(1, 2) == 3\n", "    assert add(0, 0) == 0\n    assert add(1, 2) == 3\n"
    )
    neutered = CALC_TEST.replace("    assert add(1, 2) == 3\n", "    assert add(0, 0) == 0\n")
    base = {**BASE, "tests/test_calc.py": test}
    repo = leo_repo(base=base, head={"calc.py": BROKEN, "tests/test_calc.py": neutered})
    result = run_testing(repo.change())
    result.assert_verdict("ESCALATE")
    finding = weakened(result, severity="medium")
    assert "assertions 2 at base, 1 at head" in finding.message
    assert finding.message in agent_of(result).decisions


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("pytest.toml", '[pytest]\naddopts = ["-k", "not test_add"]\n'),
        ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = \"-k 'not test_add'\"\n"),
        ("tox.ini", "[tox]\nenvlist = py\n\n[pytest]\naddopts = -k 'not test_add'\n"),
    ],
    ids=["pytest.toml", "pyproject", "tox.ini"],
)
def test_config_file_deselecting_the_failing_test(leo_repo, run_testing, name, config):
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, name: config})
    result = run_testing(repo.change())
    blocked(result)
    assert result.assert_finding("testing.harness_changed").path == name
    # pytest 9 reads pytest.toml, pytest 8 does not: either the test failed or it was weakened.
    rules = {f.rule_id for f in result.findings}
    assert rules & {"testing.test_weakened", "testing.test_failed"}, rules


def test_conftest_at_depth_dropping_the_failing_test(leo_repo, run_testing):
    conftest = (
        "def pytest_collection_modifyitems(config, items):\n"
        "    items[:] = [i for i in items if 'add' not in i.name]\n"
    )
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/deep/er/conftest.py": conftest})
    # At depth the conftest only sees its own directory: put the test there too.
    repo = leo_repo(
        base={**BASE, "tests/deep/er/test_calc2.py": CALC_TEST},
        head={"calc.py": BROKEN, "tests/deep/er/conftest.py": conftest},
    )
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert result.assert_finding("testing.harness_changed").path == "tests/deep/er/conftest.py"
    finding = result.assert_finding("testing.test_weakened", path="tests/deep/er/test_calc2.py")
    assert finding.severity == "high"


def test_conftest_hookwrapper_rewriting_outcomes_is_tampering(leo_repo, run_testing):
    conftest = (
        "import pytest\n\n\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    rep = outcome.get_result()\n"
        "    rep.outcome = 'passed'\n"
    )
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "conftest.py": conftest})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    result.assert_finding("testing.runner_tampering", path="conftest.py", line=8)
    weakened(result)


def test_settrace_in_a_test_is_tampering(leo_repo, run_testing):
    trace = "import sys\n\n\ndef test_quiet():\n    sys.settrace(None)\n"
    head = {"calc.py": CALC + "\n\ndef untested(x):\n    return x\n", "tests/test_q.py": trace}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.runner_tampering", path="tests/test_q.py", line=5)
    assert "sys.settrace" in finding.message


def test_os_exit_zero_in_a_test_is_tampering(leo_repo, run_testing):
    bail = "import os\n\n\ndef test_aaa_first():\n    os._exit(0)\n"
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "tests/test_aaa.py": bail})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    result.assert_finding("testing.runner_tampering", path="tests/test_aaa.py", line=5)
    messages = [f.message for f in result.findings]
    assert any("exited 0 before pytest finished" in m for m in messages), messages


def test_addopts_cannot_switch_off_leos_observer(leo_repo, run_testing):
    ini = "[pytest]\naddopts = -p no:leo_testing_observer --deselect tests/test_calc.py::test_add\n"
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN, "pytest.ini": ini})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    assert agent_of(result).details["observer"] == {
        "started": True,
        "finished": True,
        "exit_forced": False,
    }
    weakened(result)
    assert "-p no:leo_testing_observer" in agent_of(result).details["harness_changed"]["pytest.ini"]


def test_the_heads_gitattributes_cannot_garble_the_base_tests_it_restores(leo_repo, run_testing):
    """git applies attributes as it checks files out, read from the tree it writes into: the
    head's ``working-tree-encoding=UTF-16LE`` for the base's test file made the restored test
    unreadable, so the base pass never saw it fail, and a renamed copy without the failing test
    passed as a rewrite with fewer assertions (ESCALATE, not FAIL)."""
    two = CALC_TEST + "\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
    kept = "from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
    head = {
        "calc.py": BROKEN,
        "tests/test_calc.py": None,
        "tests/test_calc_kept.py": kept,
        ".gitattributes": "tests/test_calc.py working-tree-encoding=UTF-16LE\n",
    }
    result = run_testing(leo_repo(base={**BASE, "tests/test_calc.py": two}, head=head).change())
    result.assert_verdict("FAIL")
    assert "`assert add(1, 2) == 3`" in weakened(result).message


def test_code_that_turns_its_failing_test_into_a_skip_needs_a_lead(leo_repo, run_testing):
    # The bug raises unittest.SkipTest under a computed name: the test skipped in the head's run
    # and in the base pass alike, and the change PASSed; at the base commit it passes.
    skips = (
        "def add(a, b):\n"
        "    if a > 0:\n"
        "        raise getattr(__import__('unit' + 'test'), 'Skip' + 'Test')('later')\n"
        "    return a + b\n"
    )
    result = run_testing(leo_repo(base=BASE, head={"calc.py": skips}).change())
    blocked(result)
    finding = weakened(result, severity="medium")
    assert "skips against the head's code" in finding.message
    # It skips again when the base pass's run of it is repeated: no flake.
    assert "skipped_once" not in agent_of(result).details["base_pass"]


#: Code that skips its caller's test once, in the base pass only (the head's run measures
#: coverage; the base pass does not), and passes it ever after: zipp 3.18.1's ``flaky`` timing
#: test under load, skipped by pytest-ignore-flaky in the base pass and passing everywhere else.
SKIPS_ONCE = (
    "import os\nimport sys\n\n"
    "_MARK = os.path.join(os.path.dirname(__file__), '.skipped-once')\n\n\n"
    "def add(a, b):\n"
    "    if not any(a.startswith('--cov') for a in sys.argv) and not os.path.exists(_MARK):\n"
    "        open(_MARK, 'w').close()\n"
    "        raise __import__('unittest').SkipTest('flaky under load')\n"
    "    return a + b\n"
)


def test_a_test_the_base_pass_skipped_once_and_passes_when_re_run_is_a_flake(leo_repo, run_testing):
    result = run_testing(leo_repo(base=BASE, head={"calc.py": SKIPS_ONCE}).change())
    finding = result.assert_finding("testing.flaky", path="tests/test_calc.py")
    assert finding.severity == "low" and "skipped by chance" in finding.message
    assert not [f for f in result.findings if f.rule_id == "testing.test_weakened"]
    assert agent_of(result).details["base_pass"]["skipped_once"] == ["tests/test_calc.py::test_add"]
    # What is left for a LEAD is the code's own SkipTest (a runner hook) and its lines the
    # head's run never reached, not a weakened test.
    assert {f.rule_id for f in result.findings if f.severity == "medium"} == {
        "testing.runner_hook",
        "testing.coverage.changed_lines",
    }


def test_a_test_that_skips_at_the_base_too_is_not_the_changes(leo_repo, run_testing):
    # Hostile twin's honest side: a base test that skips before the change as well.
    base = {
        **BASE,
        "tests/test_skip.py": "import pytest\n\n\n@pytest.mark.skip\ndef test_later():\n    pass\n",
    }
    head = {"calc.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n",
            "tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"}  # fmt: skip
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")


#: A change's package that, at exit, strips the failures from the JUnit report and rewrites
#: LEO's observer record to 'passed', then ends the process with status 0 (red team, V16).
FORGER = """

def _tidy():
    import json, re, sys

    for p in [a.split("=", 1)[1] for a in sys.argv if a.startswith("--j" "unitxml=")]:
        with open(p) as fh:
            text = fh.read()
        text = re.sub(r"<failure[^>]*>.*?</failure>", "", text, flags=re.S)
        with open(p, "w") as fh:
            fh.write(re.sub(r'failures="\\d+"', 'failures="0"', text))
    where = getattr(sys.modules.get("leo_testing_" "observer"), "_PATH", "")
    if where:
        rows = []
        with open(where) as fh:
            for line in fh:
                row = json.loads(line)
                row.update({k: v for k, v in (("raised", None), ("report", "passed"))
                            if row.get(k) not in (None, "skip", "skipped")})
                if row.get("event") == "finish":
                    row.update(exitstatus=0, testsfailed=0)
                rows.append(json.dumps(row) + "\\n")
        with open(where, "w") as fh:
            fh.writelines(rows)
    getattr(__import__("o" "s"), "_e" "xit")(0)


__import__("ate" "xit").register(_tidy)
"""


def test_a_report_forged_at_exit_is_caught_by_what_pytest_printed(leo_repo, run_testing):
    """The JUnit report and the observer's record are files in the sandbox the code can
    rewrite after the last test; what pytest printed as it ran reached LEO's pipe already."""
    repo = leo_repo(base=BASE, head={"calc.py": BROKEN + FORGER})
    result = run_testing(repo.change())
    result.assert_verdict("FAIL")
    finding = result.assert_finding("testing.runner_tampering")
    assert "pytest printed tests/test_calc.py::test_add as failed" in finding.message


#: A project whose own distribution declares a pytest plugin in setup.py (not pyproject.toml or
#: setup.cfg, where harness.py reads pytest11): pytest loads it in the head's run and the base
#: pass alike, from the environment built from the head.
PLUGGED = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "shop"\nversion = "0.1.0"\n\n'
    '[tool.setuptools]\npackages = ["shop"]\n',
    "shop/__init__.py": "",
    "shop/_compat.py": "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef _shim():\n"
    "    yield\n",
    "shop/price.py": "STRICT = False\n\n\ndef net(price):\n    return price - 1\n",
    "tests/test_price.py": "from shop.price import net\n\n\ndef test_net():\n"
    "    assert net(10) == 9\n",
}
#: ``PLUGGED`` whose ``net`` never goes below zero, with the base test that checks it.
GUARDED = {
    **PLUGGED,
    "shop/price.py": "def net(price):\n    return max(price - 1, 0)\n",
    "tests/test_zero.py": "from shop.price import net\n\n\ndef test_zero():\n"
    "    assert net(0) == 0\n",
}
DECLARED = (
    "from setuptools import setup\n\nsetup(entry_points={'pytest11': ['shop = shop._compat']})\n"
)


def test_a_plugin_the_project_declares_in_setup_py_and_the_change_edits_needs_a_lead(
    leo_repo, run_testing
):
    # Round-2 red team: the plugin's autouse fixture made the code right only under its tests
    # (both passes load it), and setup.py's pytest11 was read by nothing: PASS.
    fixture = "import pytest\n\nimport shop.price\n\n\n@pytest.fixture(autouse=True)\n"
    fixture += "def _shim():\n    shop.price.STRICT = True\n    yield\n"
    price = "STRICT = False\n\n\ndef net(price):\n    return price - (1 if STRICT else 2)\n"
    head = {"setup.py": DECLARED, "shop/_compat.py": fixture, "shop/price.py": price}
    result = run_testing(leo_repo(base=PLUGGED, head=head).change())
    finding = result.assert_finding("testing.runner_hook", path="shop/_compat.py")
    assert "pytest ran shop/_compat.py as a plugin" in finding.message
    result.assert_verdict("ESCALATE")
    # Hostile twin's honest side: the plugin declared before, the change edits other code only.
    honest = leo_repo(
        base={**PLUGGED, "setup.py": DECLARED},
        head={"shop/price.py": PLUGGED["shop/price.py"] + "\n\ndef gross(p):\n    return p + 1\n",
              "tests/test_gross.py": "from shop.price import gross\n\n\ndef test_gross():\n"
              "    assert gross(1) == 2\n"},
    )  # fmt: skip
    result = run_testing(honest.change())
    assert not [f for f in result.findings if f.rule_id == "testing.runner_hook"]
    result.assert_verdict("PASS")


def test_code_under_test_that_registers_a_pytest_plugin_itself_needs_a_lead(leo_repo, run_testing):
    # Round-2 red team: the package found pytest's Config with gc and registered a plugin whose
    # hook name setattr built; it deselected the base test that caught the missing check in
    # both passes, and the static scan reads hooks by their def names: PASS.
    tidy = (
        "import gc\n\n\nclass _Tidy:\n    pass\n\n\ndef _keep(session, config, items):\n"
        "    items[:] = [i for i in items if 'zero' not in i.name]\n\n\n"
        "setattr(_Tidy, 'pytest_collection_' + 'modifyitems', staticmethod(_keep))\n"
        "for _o in gc.get_objects():\n"
        "    if type(_o).__name__ == 'Config' and hasattr(_o, 'pluginmanager'):\n"
        "        _o.pluginmanager.register(_Tidy(), 'tidy')\n\n\n"
        "def net(price):\n    return price - 1\n"
    )
    result = run_testing(leo_repo(base=GUARDED, head={"shop/price.py": tidy}).change())
    result.assert_finding("testing.runner_hook", path="shop/price.py")
    hooks = [f.message for f in result.findings if f.rule_id == "testing.runner_hook"]
    assert any("registered as 'tidy'" in m for m in hooks), hooks
    assert any("gc.get_objects()" in m for m in hooks), hooks  # the walk, read (round 7)
    result.assert_verdict("ESCALATE")


#: Code under test that finds pytest's Config with gc and attaches a function to one of its
#: hooks without registering any plugin (pluggy's ``_add_hookimpl``), then, once it ran, takes
#: it off again: invisible to plugin registration and gone by the end of the session.
ATTACH = (
    "import gc\n\n\ndef _attach(hook, function):\n"
    "    for o in gc.get_objects():\n"
    "        if type(o).__name__ == 'Config' and hasattr(o, 'pluginmanager'):\n"
    "            caller = getattr(o.pluginmanager.hook, hook)\n"
    "            impl = type(caller.get_hookimpls()[0])(object(), 'x', function, dict(\n"
    "                wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=True,\n"
    "                trylast=False, specname=None))\n"
    "            caller._add_hookimpl(impl)\n"
    "            return caller, impl\n\n\n"
)
DESELECT = ATTACH + (
    "def _keep(session, config, items):\n"
    "    items[:] = [i for i in items if 'zero' not in i.name]\n"
    "    _caller._hookimpls.remove(_impl)\n\n\n"
    "_caller, _impl = _attach('pytest_collection_' + 'modifyitems', _keep)\n\n\n"
    "def net(price):\n    return price - 1\n"
)
ANSWER = ATTACH + (
    "def _answer(pyfuncitem):\n    return True\n\n\n"
    "_attach('pytest_pyfunc' + '_call', _answer)\n\n\n"
    "def net(price):\n    return price - 1\n"
)


@pytest.mark.parametrize("code", [DESELECT, ANSWER], ids=["deselects", "answers"])
def test_a_function_the_code_attaches_to_a_pytest_hook_unregistered_is_tampering(
    leo_repo, run_testing, code
):
    # Round-3: no plugin registered, so nothing saw it; the base pass ran without the base test
    # that caught the missing check (deselected), or "passed" it without calling it: PASS.
    result = run_testing(leo_repo(base=GUARDED, head={"shop/price.py": code}).change())
    finding = result.assert_finding("testing.runner_tampering")
    assert "without registering a plugin" in finding.message
    assert "(shop/price.py)" in finding.message
    result.assert_verdict("FAIL")
    result.assert_finding("testing.runner_hook", path="shop/price.py")
    hooks = [f.message for f in result.findings if f.rule_id == "testing.runner_hook"]
    assert any("a function of it attached to pytest_" in m for m in hooks), hooks


def test_a_conftest_hook_that_deselects_tests_is_no_tampering(leo_repo, run_testing):
    # The honest twin: the base's conftest narrows the run through a registered hook.
    conftest = (
        "def pytest_collection_modifyitems(config, items):\n"
        "    items[:] = [i for i in items if 'slow' not in i.name]\n"
    )
    slow = "def test_slow():\n    assert False\n"
    base = {**PLUGGED, "conftest.py": conftest, "tests/test_slow.py": slow}
    head = {"shop/price.py": PLUGGED["shop/price.py"] + "\n# reviewed\n"}
    result = run_testing(leo_repo(base=base, head=head).change())
    assert not [f for f in result.findings if f.rule_id.startswith("testing.runner")]
    result.assert_verdict("PASS")


#: A head conftest that xfails ``test_add`` only in a run that measures coverage: the head's own
#: run (LEO's command adds ``--cov``), never a re-run (``rerun_command`` measures nothing), as a
#: flaky timing test fails under load and pytest-ignore-flaky reports it as an xfail (zipp 3.18.1).
SKIPS_UNDER_COVERAGE = (
    "import pytest\n\n\ndef pytest_runtest_setup(item):\n"
    "    if item.config.getoption('cov_source', None) and item.name == 'test_add':\n"
    "        pytest.xfail('flaky under load')\n"
)


def test_a_test_the_head_skipped_once_and_passes_when_re_run_is_a_flake(leo_repo, run_testing):
    head = {"calc.py": CALC + "\n# note\n", "conftest.py": SKIPS_UNDER_COVERAGE}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    finding = result.assert_finding("testing.flaky", path="tests/test_calc.py")
    assert finding.severity == "low" and "skipped by chance" in finding.message
    assert not [f for f in result.findings if f.rule_id == "testing.test_weakened"]
    assert agent_of(result).details["base_pass"]["skipped_again"] == [
        "tests/test_calc.py::test_add"
    ]
    # The twin: a skip the head's configuration makes every time stays a LEAD's decision.
    always = SKIPS_UNDER_COVERAGE.replace("item.config.getoption('cov_source', None) and ", "")
    head = {"calc.py": CALC + "\n# note\n", "conftest.py": always}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    finding = weakened(result, severity="medium")
    assert "the change's own run skips it" in finding.message
    assert not [f for f in result.findings if f.rule_id == "testing.flaky"]


#: Code under test that, once a test calls it, finds pytest's session with gc and takes the
#: base test that would catch its bug out of the run: no hook, no plugin, no skip.
TAKES_OUT = (
    "import gc\n\n\ndef net(price):\n"
    "    for o in gc.get_objects():\n"
    "        if type(o).__name__ == 'Session' and hasattr(o, 'items'):\n"
    "            o.items[:] = [i for i in o.items if 'zero' not in i.name]\n"
    "    return price - 1\n"
)


def test_a_collected_test_the_code_takes_out_of_the_run_is_tampering(leo_repo, run_testing):
    result = run_testing(leo_repo(base=GUARDED, head={"shop/price.py": TAKES_OUT}).change())
    finding = result.assert_finding("testing.runner_tampering")
    assert "collected test(s) never ran" in finding.message
    assert "tests/test_zero.py::test_zero" in finding.message
    result.assert_verdict("FAIL")


#: Code under test that, once a test calls it, finds pytest's session with gc and gives the base
#: test that would catch its bug the code of an empty function, under its own file and line.
SWAPS = (
    "import gc\n\n\ndef net(price):\n"
    "    for o in gc.get_objects():\n"
    "        if type(o).__name__ == 'Session' and hasattr(o, 'items'):\n"
    "            for i in o.items:\n"
    "                if 'zero' in i.name:\n"
    "                    old = i.obj.__code__\n"
    "                    i.obj.__code__ = (lambda: None).__code__.replace(\n"
    "                        co_filename=old.co_filename, co_firstlineno=old.co_firstlineno)\n"
    "    return price - 1\n"
)


def test_a_collected_test_whose_code_the_code_replaces_is_tampering(leo_repo, run_testing):
    # The test stays collected and "passes" in both passes: PASS before the observer compared
    # each test's code at its call with what was collected.
    result = run_testing(leo_repo(base=GUARDED, head={"shop/price.py": SWAPS}).change())
    finding = result.assert_finding("testing.runner_tampering")
    assert "tests/test_zero.py::test_zero ran other code than the test pytest collected" in (
        finding.message
    )
    result.assert_verdict("FAIL")


#: Code under test that hides the base test that would catch its bug from collection itself:
#: pytest lists directories with ``os.scandir``, and the package is imported (from the first
#: test module) before pytest lists the next directory. No hook, no plugin, nothing to report.
HIDES = (
    "import os\n\n_scandir = os.scandir\n\n\n"
    "class _Listing:\n"
    "    def __init__(self, it):\n        self.it = it\n\n"
    "    def __enter__(self):\n        return self\n\n"
    "    def __exit__(self, *a):\n        self.it.close()\n\n"
    "    def __iter__(self):\n"
    "        return (e for e in self.it if 'zero' not in e.name)\n\n"
    "    def close(self):\n        self.it.close()\n\n\n"
    "os.scandir = lambda *a, **k: _Listing(_scandir(*a, **k))\n\n\n"
    "def net(price):\n    return price - 1\n"
)


def test_a_base_test_the_code_hides_from_collection_needs_a_lead(leo_repo, run_testing):
    base = {**GUARDED, "tests/test_zero.py": None,
            "tests/zero/test_zero.py": GUARDED["tests/test_zero.py"]}  # fmt: skip
    base = {k: v for k, v in base.items() if v is not None}
    result = run_testing(leo_repo(base=base, head={"shop/price.py": HIDES}).change())
    finding = result.assert_finding("testing.base_pass_missing")
    assert "tests/zero/test_zero.py::test_zero" in finding.message
    assert result.report.verdict in ("FAIL", "ESCALATE")
    # The twin: the base's own collection, the base pass's, agree on an honest change.
    honest = {"shop/price.py": GUARDED["shop/price.py"] + "\n# reviewed\n"}
    result = run_testing(leo_repo(base=base, head=honest).change())
    result.assert_no_finding("testing.base_pass_missing")
    result.assert_verdict("PASS")


def _bytecode(source: str, tmp_path) -> bytes:
    """``source`` compiled as an unchecked-hash .pyc: Python runs it whatever the .py says."""
    import py_compile

    src, out = tmp_path / "calc.py", tmp_path / "calc.pyc"
    src.write_text(source)
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    py_compile.compile(str(src), str(out), doraise=True, invalidation_mode=mode)
    return out.read_bytes()


def test_committed_bytecode_is_never_what_the_tests_run(leo_repo, run_testing, tmp_path):
    # Round-3 red team: the change broke calc.py and committed the base's add() compiled with an
    # unchecked hash beside it; both passes imported that and passed, and nobody reviews a .pyc.
    import sys

    cached = f"__pycache__/calc.{sys.implementation.cache_tag}.pyc"
    head = {"calc.py": BROKEN, cached: _bytecode(CALC, tmp_path)}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    blocked(result)
    result.assert_finding("testing.test_failed")
    finding = result.assert_finding("testing.bytecode_ignored", path=cached)
    assert finding.severity == "low"


SHOP = {
    "shop/__init__.py": "",
    "shop/test_rules.py": "def discount(price):\n    return price * 0.9\n",
    "shop/cart.py": "from shop.test_rules import discount\n\n\ndef total(p):\n    return discount(p)\n",
    "tests/test_cart.py": "from shop.cart import total\n\n\ndef test_total():\n    assert total(10) == 9\n",
}


DYNAMIC = (
    "import importlib\n\n\ndef total(p):\n"
    "    return importlib.import_module('shop.test_rules').discount(p)\n"
)


@pytest.mark.parametrize(
    ("module", "cart"),
    [
        ("shop/test_rules.py", None),
        ("shop/rules_test.py", None),
        ("shop/test_rules.py", DYNAMIC),
        ("shop/test_rules.py", "dummy test"),  # the module holds a test too
    ],
)
def test_code_named_like_a_test_that_the_code_imports_is_judged_as_code(
    leo_repo, run_testing, module, cart
):
    """Round-6 red team, T4: a package module named like a test was restored to its base copy
    by the base pass and left out of coverage, so a behaviour change there, with its test
    edited to match, passed with no finding. The code imports it, so it is code, even when
    it holds a test too: the base's test fails against it, and its changed line is measured
    like any other."""
    stem = module.rpartition("/")[2][:-3]
    base = {k.replace("test_rules", stem): v.replace("test_rules", stem) for k, v in SHOP.items()}
    head = {
        module: "def discount(price):\n    return price * 0.5\n",
        "tests/test_cart.py": base["tests/test_cart.py"].replace("== 9", "== 5"),
    }
    if cart == "dummy test":
        head[module] += "\n\ndef test_x():\n    pass\n"
    elif cart is not None:  # imported by name, in a string
        base["shop/cart.py"] = cart
    result = run_testing(leo_repo(base=base, head=head).change())
    agent = agent_of(result)
    assert module not in agent.details["base_pass"]["restored"]
    finding = result.assert_finding("testing.test_weakened", path="tests/test_cart.py")
    assert "updated along with the behaviour" in finding.message
    counted = 3 if cart == "dummy test" else 1  # the dummy test's two lines count too
    assert agent.details["coverage"]["covered"] == counted, agent.details["coverage"]


def test_a_test_module_beside_the_code_that_nothing_imports_stays_a_test(leo_repo, run_testing):
    """The twin: ``shop/test_misc.py`` holds a test and no code imports it; the base pass
    restores its base copy, so deleting its failing assertion is still caught."""
    base = {
        **SHOP,
        "shop/test_misc.py": "from shop.cart import total\n\n\ndef test_misc():\n    assert total(10) == 9\n",
    }
    head = {
        "shop/test_rules.py": "def discount(price):\n    return price * 0.5\n",
        "tests/test_cart.py": SHOP["tests/test_cart.py"].replace("== 9", "== 5"),
        "shop/test_misc.py": None,
    }
    result = run_testing(leo_repo(base=base, head=head).change())
    assert "shop/test_misc.py" in agent_of(result).details["base_pass"]["restored"]
    finding = result.assert_finding("testing.test_weakened", path="shop/test_misc.py")
    assert finding.severity == "high"


def test_code_named_like_a_test_is_scanned_for_runner_hooks_as_code(leo_repo, run_testing):
    """Package code that reads ``PYTEST_CURRENT_TEST`` behaves one way under pytest: a runner
    hook for a LEAD in ``shop/rules.py``, and so in ``shop/test_rules.py``, which the code
    imports, though the test side's rules did not look for it there."""
    device = (
        "import os\n\n\ndef discount(price):\n"
        "    return price * (0.9 if os.environ.get('PYTEST_CURRENT_TEST') else 0.5)\n"
    )
    result = run_testing(leo_repo(base=SHOP, head={"shop/test_rules.py": device}).change())
    finding = result.assert_finding("testing.runner_hook", path="shop/test_rules.py")
    assert "PYTEST_CURRENT_TEST" in finding.message
    assert result.report.verdict != "PASS"


def test_code_that_reads_its_command_line_in_proc_to_pass_its_tests_needs_a_lead(
    leo_repo, run_testing
):
    # Round-7 red team: right only when pytest is on its command line, read from /proc instead
    # of sys.argv: PASS with one low coverage finding.
    device = (
        "def _argv():\n    with open('/proc/self/cmdline', 'rb') as f:\n        return f.read()\n\n\n"
        "def add(a, b):\n    return a + b if b'pytest' in _argv() else a - b\n"
    )
    result = run_testing(leo_repo(base=BASE, head={"calc.py": device}).change())
    finding = result.assert_finding("testing.runner_hook", path="calc.py")
    assert "/proc" in finding.message and finding.severity == "medium"
    result.assert_verdict("ESCALATE")


SHADOWED_TEST = (
    "from fractions import Fraction\n\nfrom calc import add\n\n\n"
    "def test_add():\n    assert Fraction(add(1, 2)) == Fraction(3)\n"
)


def test_a_module_the_change_adds_in_place_of_a_standard_library_one_needs_a_lead(
    leo_repo, run_testing
):
    # Round-7 red team: the base's test compared through fractions.Fraction; the change added
    # a fractions.py whose Fraction equals anything, and the base pass imported it: PASS.
    fake = "class Fraction:\n    def __init__(self, value):\n        self.value = value\n\n"
    fake += "    def __eq__(self, other):\n        return self.value == self.value\n"
    base = {**BASE, "tests/test_calc.py": SHADOWED_TEST}
    result = run_testing(
        leo_repo(base=base, head={"calc.py": BROKEN, "fractions.py": fake}).change()
    )
    finding = result.assert_finding("testing.runner_hook", path="fractions.py")
    assert "standard library" in finding.message
    result.assert_verdict("ESCALATE")
    # Hostile twin's honest side: a new module under a name nothing else answers to.
    honest = {"calc.py": CALC, "calc_fractions.py": "def half(x):\n    return x / 2\n",
              "tests/test_half.py": "from calc_fractions import half\n\n\ndef test_half():\n"
              "    assert half(4) == 2\n"}  # fmt: skip
    result = run_testing(leo_repo(base=base, head=honest).change())
    assert not [f for f in result.findings if f.rule_id == "testing.runner_hook"]
    result.assert_verdict("PASS")


def test_a_flat_copy_of_the_packaged_src_module_needs_a_lead(leo_repo, run_testing):
    # Round-7 red team: the tests import the flat calc.py (the working directory comes first),
    # the project packages src/calc.py, which the change broke: PASS with one low coverage
    # finding.
    base = {"src/calc.py": CALC, "tests/test_calc.py": CALC_TEST}
    result = run_testing(
        leo_repo(base=base, head={"src/calc.py": BROKEN, "calc.py": CALC}).change()
    )
    finding = result.assert_finding("testing.runner_hook", path="calc.py")
    assert "under src/" in finding.message
    result.assert_verdict("ESCALATE")


def test_a_pytest_module_in_the_tree_that_fixes_the_code_and_runs_the_real_one_is_tampering(
    leo_repo, run_testing
):
    # Round-7 red team: ``python -m pytest`` runs the working directory's pytest.py first; it
    # put a correct add() in place and handed over to the real pytest in every pass: PASS.
    runner = (
        "import os\nimport sys\n\nimport calc\n\ncalc.add = lambda a, b: a + b\n"
        "_saved = list(sys.path)\n"
        "sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != os.getcwd()]\n"
        "import pytest  # noqa: E402\n\nsys.path[:] = _saved\n"
        "raise SystemExit(pytest.console_main())\n"
    )
    result = run_testing(
        leo_repo(base=BASE, head={"calc.py": BROKEN, "pytest.py": runner}).change()
    )
    finding = result.assert_finding("testing.runner_tampering", path="pytest.py")
    assert finding.severity == "critical" and "test runner" in finding.message
    result.assert_verdict("FAIL")


def test_a_result_that_equals_anything_needs_a_lead(leo_repo, run_testing):
    # Round-7 red team: add() returned an int subclass whose __eq__ answered True, so the base's
    # assert add(1, 2) == 3 held for a - b: PASS with 100% changed-line coverage.
    lie = "class _Sum(int):\n    def __eq__(self, other):\n        return True\n\n"
    lie += "    __hash__ = int.__hash__\n\n\ndef add(a, b):\n    return _Sum(a - b)\n"
    result = run_testing(leo_repo(base=BASE, head={"calc.py": lie}).change())
    finding = result.assert_finding("testing.runner_hook", path="calc.py")
    assert "__eq__" in finding.message and finding.line == 2
    result.assert_verdict("ESCALATE")


HELPER = "def check_add(add):\n    assert add(1, 2) == 3\n"
HELPED_TEST = "from calc import add\nfrom shop.checks import check_add\n\n\ndef test_add():\n"
HELPED_TEST += "    check_add(add)\n"


def test_a_check_in_the_code_the_base_tests_call_weakened_needs_a_lead(leo_repo, run_testing):
    # Round-7 red team: the base's test called the package's own check_add, which the change
    # weakened with add(); the base pass keeps the head's code: PASS, 100% coverage.
    base = {**BASE, "shop/__init__.py": "", "shop/checks.py": HELPER,
            "tests/test_calc.py": HELPED_TEST}  # fmt: skip
    weak = HELPER.replace("== 3", "is not None")
    result = run_testing(
        leo_repo(base=base, head={"calc.py": BROKEN, "shop/checks.py": weak}).change()
    )
    finding = result.assert_finding("testing.runner_hook", path="shop/checks.py")
    assert "assert add(1, 2) == 3" in finding.message
    result.assert_verdict("ESCALATE")
    # Hostile twin's honest side: the check grows, the code stays right.
    more = HELPER + "    assert add(0, 0) == 0\n"
    result = run_testing(leo_repo(base=base, head={"shop/checks.py": more}).change())
    assert not [f for f in result.findings if f.rule_id == "testing.runner_hook"]
    result.assert_verdict("PASS")


def test_a_package_path_that_finds_a_copy_only_the_tree_has_needs_a_lead(leo_repo, run_testing):
    # Round-7 red team: calc/__init__.py put ../fixtures/calc first on its __path__; it exists in
    # the tree LEO tests, not in an installed copy, so the tests ran its correct core.py: PASS.
    init = "import os\n\n__path__.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "
    init += "'fixtures', 'calc'))\n\nfrom calc.core import add  # noqa: E402\n"
    base = {"calc/__init__.py": "from calc.core import add\n", "calc/core.py": CALC,
            "tests/test_calc.py": CALC_TEST}  # fmt: skip
    head = {"calc/__init__.py": init, "calc/core.py": BROKEN, "fixtures/calc/core.py": CALC}
    result = run_testing(leo_repo(base=base, head=head).change())
    finding = result.assert_finding("testing.runner_hook", path="calc/__init__.py")
    assert "__path__" in finding.message
    result.assert_verdict("ESCALATE")


def test_code_the_code_imports_from_a_tests_folder_is_judged_as_code(leo_repo, run_testing):
    """Round 7's variant of T4: the rule moved to ``shop/testing/rules.py``, which the code
    imports; its folder made it test code, so the base pass restored the base's copy."""
    base = {
        **{k: v for k, v in SHOP.items() if k != "shop/test_rules.py"},
        "shop/testing/__init__.py": "",
        "shop/testing/rules.py": SHOP["shop/test_rules.py"],
        "shop/cart.py": SHOP["shop/cart.py"].replace("shop.test_rules", "shop.testing.rules"),
    }
    head = {
        "shop/testing/rules.py": "def discount(price):\n    return price * 0.5\n",
        "tests/test_cart.py": SHOP["tests/test_cart.py"].replace("== 9", "== 5"),
    }
    result = run_testing(leo_repo(base=base, head=head).change())
    agent = agent_of(result)
    assert "shop/testing/rules.py" not in agent.details["base_pass"]["restored"]
    finding = result.assert_finding("testing.test_weakened", path="tests/test_cart.py")
    assert "updated along with the behaviour" in finding.message
