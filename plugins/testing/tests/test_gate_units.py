"""Pure pieces of the base judge: the tampering scan, the witnesses' agreement, the comparison
of the base pass with the head's run, and which files count as test configuration."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from leo_testing.agent import lead_decisions
from leo_testing.baseline import Sources, compare, read_test_functions, weakened_findings
from leo_testing.harness import is_harness_file, named_configs
from leo_testing.junit import Suite, TestCase
from leo_testing.observer import disagreements, read_record
from leo_testing.shadows import import_roots, shadowed
from leo_testing.support import lost_checks
from leo_testing.tampering import UNREAD, scan

from leo import is_test_side

#: platformdirs 4.2.1's tests/test_api.py: simulate a missing optional module (ctypes).
IMPORT_STUB = (
    "import builtins\nimport sys\n\nbuiltin_import = builtins.__import__\n\n\n"
    "def _fake_import(name, *args, **kwargs):\n"
    "    if name == 'ctypes':\n        raise ModuleNotFoundError(f'No module named {name}')\n"
    "    return builtin_import(name, *args, **kwargs)\n"
)
PLATFORMDIRS = IMPORT_STUB + (
    "\n\ndef test_no_ctypes():\n"
    "    items = [item for item in sys.modules.items() if item[0].startswith('platformdirs')]\n"
    "    try:\n        builtins.__import__ = _fake_import\n"
    "        for name, _ in items:\n            del sys.modules[name]\n"
    "        import platformdirs\n"
    "    finally:\n        builtins.__import__ = builtin_import\n"
    "        for name, module in items:\n            sys.modules[name] = module\n"
)
#: python-dateutil 2.9.0's clean_import fixture: forget the package's modules, then put the
#: snapshot back.
DATEUTIL = (
    "import sys\n\n\ndef clean_import():\n"
    "    du_modules = {\n        mod_name: mod\n        for mod_name, mod in sys.modules.items()\n"
    "        if mod_name.startswith('dateutil')\n    }\n"
    "    other_modules = {mod_name for mod_name in sys.modules if mod_name not in du_modules}\n"
    "    for mod_name in du_modules:\n        del sys.modules[mod_name]\n    yield\n"
    "    for mod_name in list(sys.modules):\n        if mod_name not in other_modules:\n"
    "            del sys.modules[mod_name]\n"
    "    for mod_name, mod in du_modules.items():\n        sys.modules[mod_name] = mod\n"
)
FORGERIES = {
    "assign-internal": "import _pytest.reports\n_pytest.reports.TestReport.from_item_and_call = 1\n",
    "from-import-alias": "from _pytest.reports import TestReport as T\nT.from_item_and_call = 1\n",
    "setattr-runner": "from _pytest import runner\nsetattr(runner, 'call_and_report', None)\n",
    "import-module-literal": "import importlib\nimportlib.import_module('_pytest.runner').x = 1\n",
    "dunder-import": "__import__('_pytest.runner').x = 1\n",
    "monkeypatch-string": "def test_x(monkeypatch):\n    monkeypatch.setattr('_pytest.runner.call_and_report', 1)\n",
    "mock-patch-object": "from unittest import mock\nimport pluggy\nmock.patch.object(pluggy.PluginManager, '_hookexec').start()\n",
    "report-outcome": "def pytest_runtest_makereport(item, call):\n    rep = yield\n    rep.outcome = 'passed'\n",
    "force-result": "def hook():\n    outcome = yield\n    outcome.force_result(None)\n",
    "session-exitstatus": "def pytest_sessionfinish(session):\n    session.exitstatus = 0\n",
    "testsfailed": "def pytest_runtestloop(session):\n    session.testsfailed = 0\n",
    "settrace": "import sys\nsys.settrace(None)\n",
    "setprofile": "import sys\nsys.setprofile(None)\n",
    "threading-settrace": "import threading\nthreading.settrace(lambda *a: None)\n",
    "monitoring": "import sys\nsys.monitoring.use_tool_id(1, 'x')\n",
    "os-exit": "import os\nos._exit(0)\n",
    "from-os-exit": "from os import _exit as bye\nbye(0)\n",
    "atexit": "import atexit\natexit.register(print)\n",
    "sys-modules-runner": "import sys\nsys.modules['_pytest.reports'] = None\n",
    "sys-modules-computed": "import sys\nsys.modules[name] = None\n",
    "sys-modules-pop": "import sys\nsys.modules.pop('pytest')\n",
    "builtins-assign": "import builtins\nbuiltins.AssertionError = Exception\n",
    "dunder-builtins": "__builtins__['print'] = None\n",
    "builtins-import-patch": "def test_x(monkeypatch):\n    monkeypatch.setattr('builtins.__import__', None)\n",
    "junit-write": "open('/tmp/out/junit.xml', 'w').write('<testsuite/>')\n",
    "coverage-unlink": "from pathlib import Path\nPath('.coverage').unlink()\n",
    "xmlpath": "def pytest_configure(config):\n    config.option.xmlpath = None\n",
    "unregister": "def pytest_configure(config):\n    config.pluginmanager.unregister(name='junitxml')\n",
    "pytest-exit": "import pytest\n\ndef test_x():\n    pytest.exit('done', returncode=0)\n",
    "observer-file": "from pathlib import Path\nPath('observer.jsonl').write_text('')\n",
    "replace-exit": "import sys\nsys.exit = lambda *a: None\n",
    "coverage-internal": "import coverage\ncoverage.Coverage.current = None\n",
    # The platformdirs pattern below, aimed at the runner instead (issue 18).
    "import-hook-module-level": IMPORT_STUB + "builtins.__import__ = _fake_import\n",
    "import-hook-forges-runner": IMPORT_STUB.replace("'ctypes'", "'_pytest.reports'")
    + "\ndef test_x():\n    builtins.__import__ = _fake_import\n",
    "import-hook-lambda": "import builtins\n\ndef test_x():\n    builtins.__import__ = lambda *a: None\n",
    "import-hook-writes": IMPORT_STUB.replace("    return", "    sys.modules['x'] = 1\n    return")
    + "\ndef test_x():\n    builtins.__import__ = _fake_import\n",
    "modules-restored-with-a-forgery": "import sys\n\ndef test_x():\n"
    "    saved = [(k, v) for k, v in sys.modules.items()]\n"
    "    saved.append(('_pytest.reports', object()))\n"
    "    for name, module in saved:\n        sys.modules[name] = module\n",
    "modules-copy-edited": "import sys\n\ndef test_x():\n    saved = dict(sys.modules)\n"
    "    saved['_pytest.runner'] = None\n    sys.modules.update(saved)\n",
    "modules-loop-var-rebound": "import sys\n\ndef test_x():\n"
    "    for name, module in list(sys.modules.items()):\n        module = None\n"
    "        sys.modules[name] = module\n",
    # The dateutil snapshot's hostile twin: the comprehension's values are not the modules.
    "modules-dict-comprehension-forged": DATEUTIL.replace("mod_name: mod\n", "mod_name: None\n"),
    "monkeypatch-import-forges": "import builtins\n\ndef test_x(monkeypatch):\n"
    "    monkeypatch.setattr(builtins, '__import__', lambda *a, **k: None)\n",
}
HONEST = {
    "fixture-type-hint": "from _pytest.fixtures import FixtureRequest\n\ndef test_x(request: FixtureRequest):\n    assert request\n",
    "monkeypatch-input": "def test_x(monkeypatch):\n    monkeypatch.setattr('builtins.input', lambda _: 'y')\n",
    "pytest-raises": "import pytest\n\ndef test_x():\n    with pytest.raises(ValueError):\n        int('x')\n",
    "stub-own-module": "import sys\n\ndef test_x(monkeypatch):\n    monkeypatch.setitem(sys.modules, 'optional_dep', object())\n",
    "sys-path": "import sys\nsys.path.insert(0, 'src')\n",
    "sys-argv": "import sys\n\ndef test_x():\n    sys.argv = ['prog', '-v']\n",
    "platformdirs-missing-ctypes": PLATFORMDIRS,
    "monkeypatch-import-stub": IMPORT_STUB
    + "\ndef test_x(monkeypatch):\n    monkeypatch.setattr(builtins, '__import__', _fake_import)\n",
    "modules-pop-own-package": "import sys\n\ndef test_x():\n    sys.modules.pop('mypkg.compat', None)\n",
    "modules-snapshot-restored": "import sys\n\ndef test_x():\n    saved = sys.modules.copy()\n"
    "    sys.modules.update(saved)\n",
    # python-dateutil 2.9.0's tests/test_imports.py: a dict comprehension snapshot (issue 18).
    "modules-dict-snapshot-restored": DATEUTIL,
}


@pytest.mark.parametrize("source", FORGERIES.values(), ids=FORGERIES.keys())
def test_each_way_of_reaching_into_the_runner_is_critical_in_test_code(source):
    hits = [h for h in scan(source.encode(), test_side=True) if h.critical]
    assert hits, source


@pytest.mark.parametrize("source", HONEST.values(), ids=HONEST.keys())
def test_ordinary_test_code_is_not_tampering(source):
    assert [h for h in scan(source.encode(), test_side=True) if h.critical] == []


def test_code_under_test_gets_only_the_runner_rules():
    assert scan(b"import os\nos._exit(3)\n", test_side=False) == []
    assert scan(b"import sys\nsys.excepthook = print\n", test_side=False) == []
    assert scan(FORGERIES["assign-internal"].encode(), test_side=False)[0].critical
    trace = scan(b"import sys\nsys.settrace(None)\n", test_side=False)
    assert trace and not trace[0].critical  # a profiler may do this: a LEAD looks


#: Code under test that is right only under its tests (the red team's variants, issue 17).
KNOWS_ITS_TESTS = {
    "defeat-device": "import sys\n\n\ndef clamp(x, hi):\n"
    "    if x > hi and 'pytest' in sys.modules:\n        return hi\n    return x\n",
    "modules-get": "import sys\nUNDER_TEST = sys.modules.get('_pytest') is not None\n",
    "runner-variable": "import os\nQUIET = bool(os.environ.get('PYTEST_CURRENT_TEST'))\n",
    "skip-from-code": "from unittest import SkipTest as _Limit\n\n\ndef clamp(x, hi):\n"
    "    if x > hi:\n        raise _Limit('above range')\n    return x\n",
    "xfail-from-code": "import pytest\n\n\ndef f():\n    pytest.xfail('later')\n",
    "hook-in-code": "class _Tidy:\n    def pytest_collection_modifyitems(self, items):\n"
    "        items[:] = []\n",
    # round 2: the same probe, the state reached or the name spelt another way
    "modules-keys": "import sys\nSIGN = 1 if 'pytest' in sys.modules.keys() else -1\n",
    "getattr-import": "SIGN = 1 if 'py' + 'test' in getattr(__import__('sys'), 'modules') else -1\n",
    "modules-dict": "import sys\nSIGN = 1 if 'pytest' in vars(sys)['mod' + 'ules'] else -1\n",
    "module-prefix": "import sys\nSIGN = 1 if any(m.startswith('_pyt') for m in sys.modules) else -1\n",
    "contains-importlib": "import importlib\n"
    "ON = importlib.import_module('sys').modules.__contains__('pytest')\n",
    "argv": "import sys\n\n\ndef sign():\n    return 1 if 'pytest' in sys.argv[0] else -1\n",
    "variable-cased": "import os\nON = 'pytest_version'.upper() in os.environ\n",
    "name-held": "import sys\nRUNNER = 'tsetyp'[::-1]\n\n\ndef on():\n    return RUNNER in sys.modules\n",
    "caller-frame": "import sys\n\n\ndef f():\n"
    "    caller = sys._getframe(1).f_code.co_name\n    return caller.startswith('test')\n",
    "runner-installed": "try:\n    import pytest\nexcept ImportError:\n    pytest = None\n",
    "find-spec": "import importlib.util\nON = importlib.util.find_spec('pytest') is not None\n",
    # pytest-cov imports coverage.py in the base pass too, which runs without --cov
    "coverage-loaded": "import sys\nON = 'coverage' in sys.modules\n",
    "faulthandler-on": "import faulthandler as fh\nON = fh.is_enabled()\n",
    # round 4: fast only under the benchmark (Performance's evidence is a pytest-benchmark run)
    "benchmark-caller": "import sys\n\n\ndef work(n):\n"
    "    if 'bench' in sys._getframe(2).f_code.co_filename:\n        return n\n"
    "    return sum(range(n))\n",
    "benchmark-stack": "import inspect\n\n\ndef work(n):\n"
    "    fast = any('benchmark' in f.filename for f in inspect.stack())\n    return fast\n",
    "benchmark-argv": "import sys\nFAST = any('benchmark' in a for a in sys.argv)\n",
    "benchmark-loaded": "import sys\nFAST = 'pytest_' + 'benchmark' in sys.modules\n",
    # round 7: where it runs read with no runner name in the probe, or no name at all
    "proc-cmdline": "def _argv():\n    with open('/proc/self/cmdline', 'rb') as f:\n"
    "        return f.read()\n",
    "proc-parent": "import os\nfrom pathlib import Path\n\n\ndef parent():\n"
    "    return (Path('/proc') / str(os.getppid()) / 'cmdline').read_bytes()\n",
    "unraisablehook": "import sys\n\n\ndef add(a, b):\n"
    "    return a + b if sys.unraisablehook is not sys.__unraisablehook__ else a - b\n",
    "stdout-type": "import sys\nON = type(sys.stdout).__module__ != '_io'\n",
    "stdout-class": "import sys\nON = sys.stdout.__class__.__name__\n",
    "meta-path-hook": "import sys\nON = type(sys.meta_path[0]).__name__ == 'AssertionRewritingHook'\n",
    "meta-path-count": "import sys\nON = len(sys.meta_path) > 3\n",
    "variable-suffix": "import os\nON = any(k.endswith('_CURRENT_TEST') for k in os.environ)\n",
    "gc-walk": "import gc\nON = any(type(o).__name__ == 'Session' for o in gc.get_objects())\n",
    "installed-copy": "def add(a, b):\n    return a + b if 'site-packages' not in __file__ else a - b\n",
    # round 7: a result that equals whatever a test compares it with
    "eq-anything": "class _Sum(int):\n    def __eq__(self, other):\n        return True\n",
    "ne-lambda": "class _Sum(int):\n    __ne__ = lambda self, other: False\n",
    # round 7: another copy of the package's modules found first where LEO tests it
    "package-path-insert": "import os\n\n__path__.insert(0, os.path.join('..', 'fixtures'))\n",
    "package-path-rebound": "__path__ = ['../fixtures', *__path__]\n",
    "package-path-added": "__path__ += ['../fixtures']\n",
}


@pytest.mark.parametrize("source", KNOWS_ITS_TESTS.values(), ids=KNOWS_ITS_TESTS.keys())
def test_code_under_test_that_knows_its_tests_needs_a_lead(source):
    hits = scan(source.encode(), test_side=False)
    assert hits and not any(h.critical for h in hits), source


def test_code_under_test_that_only_uses_sys_modules_or_unittest_is_not_flagged():
    # Hostile twin's honest side: looking up one's own modules or using unittest.mock is fine.
    for source in (
        "import sys\nmod = sys.modules.get(__name__)\nok = 'json' in sys.modules\n",
        "from unittest import mock\nPATCH = mock.patch\n",
        "NAME = 'pytest'\nENV = 'MYAPP_PYTEST_MODE'\n",
        # the round-2 probes' honest twins: ordinary reads of the same state
        "import os\nMODE = os.environ.get('MODE') == 'test'\n",
        'import os\n\n\ndef f():\n    """Runs under pytest too."""\n    return os.environ["HOME"]\n',
        "import os\n\n\ndef f():\n    raise RuntimeError(f'run pytest in {os.getcwd()}')\n",
        "import sys\nif 'unittest' in sys.modules or 'bdist_wheel' in sys.argv:\n    pass\n",
        "import sys\n\n\ndef caller():\n    return sys._getframe(1).f_globals.get('__name__')\n",
        "import sys\nNAME = 'pytest'\nif 'json' in sys.modules:\n    pass\n",
        "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n",
        "import os\nON = os.getenv('HYPOTHESIS_INTERNAL_COVERAGE') == 'true'\n",
        "import faulthandler\n\n\ndef main():\n    faulthandler.enable()\n",
        "import os\nRUNS = int(os.environ.get('ROUNDS', 3))\nLABEL = 'benchmark results'\n",
        "import sys\n\n\ndef here():\n    return sys._getframe(1).f_code.co_name\n",
        # the round-7 probes' honest twins: the same objects used, not told apart
        "import sys\nTTY = sys.stdout is not None and sys.stdout.isatty()\n",
        "import sys\nUTF8 = sys.stdout.encoding == 'utf-8'\n",
        "import sys\n\n\ndef install(hook):\n    if hook not in sys.meta_path:\n"
        "        sys.meta_path.insert(0, hook)\n",
        "import sys\n\n\ndef to_err(stream):\n    return stream is sys.stderr\n",
        "def mem():\n    with open('/proc/meminfo') as f:\n        return f.read()\n",
        "import os\nHERE = os.path.dirname(__file__)\nMARK = 'no-global-site-packages.txt'\n",
        "class A:\n    def __eq__(self, other):\n        return NotImplemented\n",
        "class A:\n    def __eq__(self, other):\n        return self.x == other.x\n",
        "class Inf:\n    def __lt__(self, other):\n        return False\n",  # packaging's
        "from pkgutil import extend_path\n\n__path__ = extend_path(__path__, __name__)\n",
        "__path__ = []  # six marks its lazy modules as packages\n",
        "import os\nimport sys\n\nsys.path.insert(0, os.path.abspath('..'))  # docs/conf.py\n",
    ):
        assert scan(source.encode(), test_side=False) == [], source


def test_a_module_added_where_the_tests_import_from_in_place_of_another_is_named():
    # Round-7 red team: the tests (the base pass's too) ran the change's copy, not the code
    # production imports.
    roots = [".", "src"]
    installed = frozenset({"hypothesis", "pytest"})
    base = ["src/calc/__init__.py", "src/calc/core.py", "tests/test_core.py", "pyproject.toml"]
    head = [*base, "calc/__init__.py", "calc/core.py", "fractions.py", "hypothesis/__init__.py"]
    found = {name: (path, what) for path, name, what in shadowed(base, head, roots, installed)}
    assert found == {
        "calc": ("calc/__init__.py", "the project's 'calc' under src/"),
        "fractions": ("fractions.py", "a module of Python's standard library"),
        "hypothesis": ("hypothesis/__init__.py", "a module installed in the test environment"),
    }
    # Hostile twin's honest side: new modules under the package, a new top-level name, tests
    # and scripts folders, and a name the base already had there.
    honest = [*base, "src/calc/fractions.py", "calc_extra.py", "tests/fractions.py",
              "tools/release.py", "docs/conf.py"]  # fmt: skip
    assert shadowed(base, honest, roots, installed) == []
    assert shadowed(head, [*head, "calc/extra.py"], roots, installed) == []
    # The runner, LEO's observer and Python's start-up hook, replaced from the tree.
    runner = ["pytest.py", "leo_testing_observer.py", "sitecustomize/__init__.py"]
    assert {name for _, name, _ in shadowed(base, [*base, *runner], roots, frozenset())} == {
        "pytest",
        "leo_testing_observer",
        "sitecustomize",
    }


def test_the_tests_import_from_the_folder_pytest_puts_first_for_each_test_file():
    files = ["lib/tests/test_x.py", "lib/__init__.py", "pkg/__init__.py", "pkg/sub/__init__.py",
             "pkg/sub/tests/__init__.py", "pkg/sub/tests/test_b.py"]  # fmt: skip
    assert import_roots(files, ["src", "."]) == [".", "src", "lib/tests"]


def test_an_assert_of_a_check_the_base_tests_import_edited_or_removed_is_named():
    # Round-7 red team: calc/testing.py's check_add, weakened with add(); the base pass ran it.
    base = b"def check_add(add):\n    assert add(2, 3) == 5\n    assert add(0, 0) == 0\n\n\n"
    base += b"def _other():\n    assert True\n"
    weakened = base.replace(b"== 5", b"is not None")
    assert lost_checks(base, weakened, {"check_add"}, False) == [("check_add", "add(2, 3) == 5")]
    assert lost_checks(base, None, set(), True) == [  # deleted, from a module named for tests
        ("check_add", "add(2, 3) == 5"),
        ("check_add", "add(0, 0) == 0"),
        ("_other", "True"),
    ]
    # Hostile twin's honest side: a check kept (a message added, one more assert) or not
    # imported by the tests.
    kept = base.replace(b"== 5\n", b"== 5, 'sum'\n    assert add(1, 1) == 2\n")
    assert lost_checks(base, kept, {"check_add"}, False) == []
    assert lost_checks(base, weakened, {"_other"}, False) == []


def test_a_file_too_deep_to_read_goes_to_a_lead_instead_of_crashing_the_scan():
    # Round-2 red team: 900 strings joined with + parse, but walking them overflowed the scan's
    # recursion and crashed the Testing sub-agent; Python itself runs such a file.
    deep = "import sys\nX = 'x' in sys.modules or " + " + ".join(["a"] + ['"p"'] * 900) + "\n"
    for test_side in (True, False):
        hits = scan(deep.encode(), test_side=test_side)
        assert [(h.line, h.critical) for h in hits] == [(UNREAD, False)]
        assert "nested too deeply" in hits[0].what


def test_test_side_and_harness_files_by_name():
    assert is_test_side("tests/x/helpers.py") and is_test_side("pkg/test_a.py")
    assert is_test_side("a/b/conftest.py") and not is_test_side("pkg/core.py")
    for path in ("pytest.toml", ".pytest.toml", ".pytest.ini", "a/b/conftest.py",
                 "src/evil.pth", "sitecustomize.py", "lib/usercustomize.py", "tox.ini"):  # fmt: skip
        assert is_harness_file(path), path


def test_cov_config_named_in_addopts_is_harness():
    ini = b"[pytest]\naddopts = --cov-config=ci/cov.cfg -c other.ini\n"
    assert named_configs({"pytest.ini": ini}) == {"ci/cov.cfg", "other.ini"}


def case(name, outcome, file="tests/test_a.py"):
    return TestCase(name, "tests.test_a", file, 1, outcome, "", "")


def test_compare_names_each_weakened_test_and_why():
    base = Suite((case("test_gone", "failed"), case("test_skip", "failed"),
                  case("test_rewritten", "failed"), case("test_dropped", "passed"),
                  case("test_same", "passed"), case("test_still_fails", "failed")))  # fmt: skip
    head = Suite((case("test_skip", "skipped"), case("test_rewritten", "passed"),
                  case("test_same", "passed"), case("test_still_fails", "failed")))  # fmt: skip
    found = weakened_findings(compare(base, head, {"tests/test_a.py"}))
    by_test = {f.message.split(" ", 1)[0].rsplit("::", 1)[1]: f for f in found}
    assert set(by_test) == {"test_gone", "test_skip", "test_rewritten", "test_dropped"}
    assert by_test["test_gone"].severity == by_test["test_skip"].severity == "high"
    decisions = lead_decisions(found)
    assert by_test["test_rewritten"].message in decisions
    assert by_test["test_dropped"].message in decisions
    assert by_test["test_gone"].message not in decisions  # high: it FAILs, no LEAD needed


def record(*events):
    return "\n".join(json.dumps(e) for e in events).encode()


START = {"event": "start"}
FINISH = {"event": "finish", "exitstatus": 0, "replaced": []}


def test_witnesses_that_agree_say_nothing():
    rec = read_record(record(START, {"event": "phase", "nodeid": "t.py::a", "when": "call",
                                     "raised": None, "report": "passed"}, FINISH))  # fmt: skip
    assert disagreements(rec, Suite((case("a", "passed", "t.py"),)), 0) == []


def test_a_raised_phase_reported_passed_is_a_forgery():
    phase = {"event": "phase", "nodeid": "t.py::a", "when": "call", "raised": "AssertionError",
             "report": "passed", "xfail": False}  # fmt: skip
    found = disagreements(read_record(record(START, phase, FINISH)), None, 0)
    assert any("rewritten to 'passed'" in w for w in found)
    assert any("exited 0 although 1 tests failed" in w for w in found)


def test_an_xfailed_failure_is_not_a_forgery():
    phase = {"event": "phase", "nodeid": "t.py::a", "when": "call", "raised": "AssertionError",
             "report": "skipped", "xfail": True}  # fmt: skip
    assert disagreements(read_record(record(START, phase, FINISH)), None, 0) == []


def test_a_hook_function_no_registered_plugin_holds_is_a_disagreement():
    ours = {"event": "hookimpl", "hook": "pytest_pyfunc_call", "file": "/env/_pytest/python.py",
            "plugin": "python", "registered": True}  # fmt: skip
    assert disagreements(read_record(record(START, ours, FINISH)), None, 0) == []
    grafted = {**ours, "file": "shop/price.py", "plugin": "x", "registered": False}
    [found] = disagreements(read_record(record(START, ours, grafted, FINISH)), None, 0)
    assert "without registering a plugin" in found and "pytest_pyfunc_call (shop/price.py)" in found
    assert read_record(record(START, grafted)).hook_files == {"shop/price.py": "pytest_pyfunc_call"}


def test_a_collected_test_that_never_ran_is_a_disagreement_unless_the_session_stopped():
    collected = {"event": "collected", "nodeids": ["t.py::a", "t.py::b"]}
    ran = {"event": "phase", "nodeid": "t.py::a", "when": "setup", "raised": None,
           "report": "passed"}  # fmt: skip
    [found] = disagreements(read_record(record(START, collected, ran, FINISH)), None, 0)
    assert found.startswith("1 collected test(s) never ran") and found.endswith("t.py::b")
    stopped = {**FINISH, "exitstatus": 1, "stopped": True}  # -x, --maxfail
    assert disagreements(read_record(record(START, collected, ran, stopped)), None, 1) == []
    both = {**ran, "nodeid": "t.py::b"}
    assert disagreements(read_record(record(START, collected, ran, both, FINISH)), None, 0) == []


def test_what_pytest_printed_as_it_ran_is_a_witness_the_code_cannot_take_back():
    """An atexit handler rewrote the JUnit report and the observer's record to 'passed' and
    ended the process with status 0: the ``-v`` line pytest had already printed still says
    FAILED. Plain and pytest-xdist lines and the ``-rfE`` summary count; an id the report also
    lists as failing (an inherited copy) and a failure the report keeps say nothing."""

    def at(name, outcome):
        return TestCase(name, "t", "t.py", 1, outcome, "", "")

    rec = read_record(record(START, FINISH))
    passed = Suite((at("a", "passed"), at("b", "passed")))
    assert [c.nodeid for c in passed.cases] == ["t.py::a", "t.py::b"]
    printed = (
        "t.py::a FAILED                                  [ 50%]\n"
        "[gw1] [100%] ERROR t.py::b \nFAILED t.py::a - assert 1 == 2\n"
    )
    found = disagreements(rec, passed, 0, printed)
    assert [w for w in found if "printed t.py::" in w] == [
        "pytest printed t.py::a as failed while it ran, but the JUnit report says it passed",
        "pytest printed t.py::b as failed while it ran, but the JUnit report says it passed",
    ]
    assert any("exited 0 although pytest printed 2 test(s)" in w for w in found)
    assert disagreements(rec, passed, 0, "t.py::a PASSED [ 50%]\nt.py::b PASSED [100%]\n") == []
    kept = Suite((at("a", "failed"), at("b", "passed")))
    assert disagreements(rec, kept, 1, "t.py::a FAILED [ 50%]\nFAILED t.py::a - x\n") == []


def test_missing_observer_or_unfinished_session_is_a_disagreement():
    assert disagreements(read_record(b""), Suite(()), 0)
    assert any(
        "before pytest finished" in w for w in disagreements(read_record(record(START)), None, 0)
    )
    replaced = {**FINISH, "replaced": ["_pytest.runner.call_and_report"]}
    assert any(
        "call_and_report" in w for w in disagreements(read_record(record(START, replaced)), None, 0)
    )


def test_a_moved_test_file_is_found_under_its_new_path():
    base = Suite((case("test_a", "passed"),))
    head = Suite((TestCase("test_a", "tests.test_b", "tests/test_b.py", 1, "passed", "", ""),))
    assert compare(base, head, set(), {"tests/test_a.py": "tests/test_b.py"}) == []
    assert compare(base, head, set())  # without the rename it looks dropped


def test_generated_parameter_ids_renumbered_by_a_grown_list_are_the_same_tests():
    """humanize 4.10 added cases to a parametrize list: ``test_input4`` became ``test_input5``."""
    ids = ["test_input0-a second", "test_input1-a minute", "test_input2-a minute"]
    base = Suite(tuple(case(f"test_t[{i}]", "passed") for i in ids))
    grown = ["test_input0-now", "test_input1-a second", "test_input2-a minute",
             "test_input3-a minute"]  # fmt: skip
    head = Suite(tuple(case(f"test_t[{i}]", "passed") for i in grown))
    assert compare(base, head, {"tests/test_a.py"}) == []
    # The hostile twin: one of two look-alike cases dropped is still a dropped test.
    dropped = Suite(tuple(case(f"test_t[{i}]", "passed") for i in grown[1:3]))
    (w,) = compare(base, dropped, {"tests/test_a.py"})
    assert w.head_outcome is None
    # A renumbered variant that is skipped at the head is not a passing one.
    skipped = Suite((*dropped.cases, case("test_t[test_input3-a minute]", "skipped")))
    (w,) = compare(base, skipped, {"tests/test_a.py"})
    assert w.head_outcome == "skipped"


def test_parameters_the_change_replaced_answer_one_for_one_for_passing_variants():
    """humanize 4.10 moved ``test_naturaldate``'s dates from 2019-2021 to 2009-2011: every base
    variant still passes against the head's code, and the head runs as many new ones."""
    old = ["test_input0-Feb 02 2019", "test_input1-Mar 02 2019", "test_input2-today"]
    new = ["test_input0-Feb 02 2009", "test_input1-Mar 02 2009", "test_input2-today"]
    base = Suite(tuple(case(f"test_t[{i}]", "passed") for i in old))
    head = Suite(tuple(case(f"test_t[{i}]", "passed") for i in new))
    assert compare(base, head, {"tests/test_a.py"}) == []
    # Hostile twins: a shorter list still drops a variant ...
    (w,) = compare(base, Suite(head.cases[1:]), {"tests/test_a.py"})
    assert w.head_outcome is None and w.base_outcome == "passed"
    # ... and a base variant failing against the head's code is never answered by a new one.
    failing = Suite((case(f"test_t[{old[0]}]", "failed"), *base.cases[1:]))
    (w,) = compare(failing, head, {"tests/test_a.py"})
    assert w.nodeid.endswith("Feb 02 2019]") and w.head_outcome is None
    # A replacement skipped at the head is not a passing one.
    skipped = Suite((case(f"test_t[{new[0]}]", "skipped"), *head.cases[1:]))
    (w,) = compare(base, skipped, {"tests/test_a.py"})
    assert w.head_outcome == "skipped"


def test_files_the_head_collected_tests_from_never_include_doctested_code():
    from leo_testing.agent import _test_files

    junit = (
        b'<testsuite><testcase classname="checks.calc_check" name="test_add" file="checks/calc_check.py"/>'
        b'<testcase classname="calc" name="calc.add" file="calc.py"/></testsuite>'
    )
    assert _test_files(junit) == ["checks/calc_check.py"]


# -- calibration on real releases (issue 18) --------------------------------------------------
COLLECTION_ERROR = (
    "ImportError while importing test module '/tmp/t/tests/test_a.py'.\nTraceback:\n"
    "tests/test_a.py:3: in <module>\n    from calc import sub\n"
    "E   ImportError: cannot import name 'sub' from 'calc'\n"
)


def module_error(file="tests/test_a.py"):
    name = file.removesuffix(".py").replace("/", ".")
    return TestCase(name, "", file, None, "error", "collection failure", COLLECTION_ERROR)


def sources_of(base_src, head_src, path="tests/test_a.py"):
    return Sources(
        {path: read_test_functions(base_src.encode())},
        {path: read_test_functions(head_src.encode())},
    )


def test_a_collection_error_names_its_first_meaningful_line():
    error = module_error()
    assert error.collection_error and error.nodeid == "tests/test_a.py::tests.test_a"
    assert error.first_error_line() == "ImportError: cannot import name 'sub' from 'calc'"
    assert not case("test_x", "error").collection_error
    # markdown 3.7: a class pytest could not collect is reported under the class's name
    cls = TestCase("TestSuite", "tests.test_a", "tests/test_a.py", None, "error",
                   "collection failure", "E   TypeError: something\n")  # fmt: skip
    assert cls.collection_error and cls.first_error_line() == "TypeError: something"


def test_a_module_the_base_pass_could_not_collect_is_not_a_test_the_change_dropped():
    head = Suite((case("test_new", "passed"),))
    both = sources_of(
        "def test_a():\n    assert 1\n", "def test_new():\n    assert 1\n    assert 2\n"
    )
    (rewritten,) = compare(Suite((module_error(),)), head, {"tests/test_a.py"}, None, both)
    (finding,) = weakened_findings([rewritten])
    assert finding.severity == "low" and "cannot import name 'sub'" in finding.message
    assert "no longer runs" not in finding.message
    # the file untouched and collected at the head: the base's configuration differs, context
    (untouched,) = compare(Suite((module_error(),)), head, set())
    assert weakened_findings([untouched])[0].severity == "low"
    # the head's run could not collect it either: a failing test already, nothing more
    assert compare(Suite((module_error(),)), Suite((module_error(),)), set()) == []
    # the change removed the module and its tests with it: a failure hidden
    (gone,) = compare(Suite((module_error(),)), Suite(()), {"tests/test_a.py"})
    assert weakened_findings([gone])[0].severity == "high"
    # the change rewrote the module and dropped assertions: a LEAD decides
    fewer = sources_of("def test_a():\n    assert 1\n    assert 2\n", "def test_new():\n    pass\n")
    (thinner,) = compare(Suite((module_error(),)), head, {"tests/test_a.py"}, None, fewer)
    assert weakened_findings([thinner])[0].severity == "medium"


def test_a_test_moved_into_a_new_test_file_is_found_there():
    """structlog 24.2.0 moved TestKeyValueRenderer from tests/test_processors.py (renamed
    tests/processors/test_processors.py) into a new tests/processors/test_renderers.py."""
    body = (
        "class T:\n    def test_sort(self):\n"
        "        assert render(1) == 'a=1'\n        assert render(2) == 'a=2'\n"
    )
    old, renamed, new = "tests/test_a.py", "tests/sub/test_a.py", "tests/sub/test_b.py"
    base = Suite((TestCase("test_sort", "tests.test_a.T", old, 2, "passed", "", ""),))
    head = Suite((TestCase("test_sort", "tests.sub.test_b.T", new, 2, "passed", "", ""),))

    def sources(moved: str) -> Sources:
        return Sources(
            {old: read_test_functions(body.encode())},
            {renamed: {}, new: read_test_functions(moved.encode())},
        )

    assert compare(base, head, {old}, {old: renamed}, sources(body)) == []
    # Hostile twins: the test "moved" without its checks, or with one of them, was weakened.
    gutted = "class T:\n    def test_sort(self):\n        render(1)\n        render(2)\n"
    fewer = body.replace("        assert render(2) == 'a=2'\n", "        render(2)\n")
    for moved in (gutted, fewer):
        (w,) = compare(base, head, {old}, {old: renamed}, sources(moved))
        assert w.head_outcome is None, moved
    # ... and a moved test the head skips is a skipped test, not a passing one.
    skipped = Suite((replace(head.cases[0], outcome="skipped"),))
    (w,) = compare(base, skipped, {old}, {old: renamed}, sources(body))
    assert w.head_outcome == "skipped"


def test_a_test_renamed_with_its_body_is_found_under_its_new_name():
    """cachetools 5.4.0: test_typed_dict became test_typedmethod_dict."""
    old = "class T:\n    def test_typed(self):\n        self.assertEqual(get_typed(1), 1)\n"
    new = old.replace("test_typed(", "test_typedmethod(").replace("get_typed", "get_typedm")
    base = Suite(
        (TestCase("test_typed", "tests.test_a.T", "tests/test_a.py", 1, "passed", "", ""),)
    )
    head_case = TestCase(
        "test_typedmethod", "tests.test_a.T", "tests/test_a.py", 1, "passed", "", ""
    )
    assert compare(base, Suite((head_case,)), {"tests/test_a.py"}, None, sources_of(old, new)) == []
    failing = Suite((replace(base.cases[0], outcome="failed"),))
    (moved,) = compare(
        failing, Suite((head_case,)), {"tests/test_a.py"}, None, sources_of(old, new)
    )
    assert moved.kind == "renamed" and moved.detail == "tests/test_a.py::T::test_typedmethod"
    finding = weakened_findings([moved])[0]  # sqlparse 0.5.1: test_parse_nulls → test_parse_order
    assert (
        finding.severity == "low" and "as tests/test_a.py::T::test_typedmethod" in finding.message
    )
    other = "class T:\n    def test_other(self):\n        assert sorted([2, 1]) == [1, 2]\n"
    (dropped,) = compare(
        base, Suite((head_case,)), {"tests/test_a.py"}, None, sources_of(old, other)
    )
    assert weakened_findings([dropped])[0].severity == "medium"  # not alike: a LEAD decides


def test_a_test_renamed_while_its_name_goes_to_a_new_test_is_found_by_its_variants():
    """beautifulsoup4 4.12.3 renamed test_deep to test_deep_without_css (same body, same four
    fuzz cases) and gave the name test_deep to a new test of three other cases: the base's
    test_deep[c] is test_deep_without_css[c] at the head, not a dropped test."""
    old = "def test_deep(name):\n    parse(load(name)).encode()\n"
    new = (
        "def test_deep_without_css(name):\n    parse(load(name)).encode()\n\n\n"
        "def test_deep(name):\n    fuzz_with_css(name)\n"
    )

    def run(name, *ids):
        return tuple(case(f"{name}[{i}]", "passed") for i in ids)

    def names(weakened):
        return [w.nodeid.rpartition("::")[2] for w in weakened]

    base = Suite(run("test_deep", "a", "b", "c"))
    head = Suite(run("test_deep_without_css", "a", "b", "c") + run("test_deep", "d", "e"))
    edited = {"tests/test_a.py"}
    assert compare(base, head, edited, None, sources_of(old, new)) == []
    # The twins (without new test_deep variants, which stand in for replaced parameters): the
    # renamed test no longer runs variant b; the new name's body is not the old one; or the
    # name kept the old body (then nothing was renamed, and b and c were dropped).
    fewer = Suite(run("test_deep_without_css", "a", "c"))
    assert names(compare(base, fewer, edited, None, sources_of(old, new))) == ["test_deep[b]"]
    gutted = new.replace("    parse(load(name)).encode()\n", "    load(name)\n    return\n", 1)
    renamed = Suite(run("test_deep_without_css", "a", "b", "c"))
    weakened = compare(base, renamed, edited, None, sources_of(old, gutted))
    assert names(weakened) == ["test_deep[a]", "test_deep[b]", "test_deep[c]"]
    kept = new.replace("    fuzz_with_css(name)\n", "    parse(load(name)).encode()\n")
    same = Suite(run("test_deep_without_css", "a", "b", "c") + run("test_deep", "a"))
    weakened = compare(base, same, edited, None, sources_of(old, kept))
    assert names(weakened) == ["test_deep[b]", "test_deep[c]"]


def test_a_failing_test_updated_with_its_assertions_is_context_and_a_neutered_one_is_not():
    base = Suite((case("test_add", "failed"),))
    head = Suite((case("test_add", "passed"),))
    updated = sources_of("def test_add():\n    assert add(1, 2) == 3\n",
                         "def test_add():\n    assert add(1, 2) == -1\n")  # fmt: skip
    (w,) = compare(base, head, {"tests/test_a.py"}, None, updated)
    assert w.updated and weakened_findings([w])[0].severity == "low"
    assert weakened_findings([w], updated_tests="lead")[0].severity == "medium"
    neutered = sources_of("def test_add():\n    assert add(1, 2) == 3\n    assert add(0, 0) == 0\n",
                          "def test_add():\n    assert add(0, 0) == 0\n")  # fmt: skip
    (w,) = compare(base, head, {"tests/test_a.py"}, None, neutered)
    finding = weakened_findings([w], updated_tests="context")[0]
    assert finding.severity == "medium" and "assertions 2 at base, 1 at head" in finding.message
    assert finding.message in lead_decisions([finding])


def test_a_rename_that_renames_every_helper_too_is_found_by_its_shape():
    """cachetools 5.4.0: every call in the body renamed (difflib ratio 0.59 on the text)."""
    calls = "".join(
        f"        self.assertEqual(c.get_typed({v}), {i})\n"
        for i, v in enumerate(["0", "1", "1.0", "0.0", "0"])
    )
    old = f"class T:\n    def test_typed_dict(self):\n        c = Cached(LRU(2))\n{calls}"
    new = old.replace("test_typed_dict", "test_typedmethod_dict").replace(
        "get_typed", "get_typedmethod"
    )
    base = Suite(
        (TestCase("test_typed_dict", "tests.test_a.T", "tests/test_a.py", 1, "passed", "", ""),)
    )
    head = Suite(
        (
            TestCase(
                "test_typedmethod_dict", "tests.test_a.T", "tests/test_a.py", 1, "passed", "", ""
            ),
        )
    )
    assert compare(base, head, {"tests/test_a.py"}, None, sources_of(old, new)) == []


def test_a_test_moved_to_another_class_is_found_there_and_a_gutted_one_is_not():
    """typing-extensions 4.12.0 moved CollectionsAbcTests' async generator tests into a new
    GeneratorTests class, one renamed test_async_generator_basics with more checks."""
    old = (
        "class Abc:\n    def test_gen(self):\n        g = f()\n"
        "        self.assertIsSubclass(type(g), AsyncGenerator)\n"
    )
    grown = (
        "class Abc:\n    pass\n\n\nclass Gen:\n    def test_gen_basics(self):\n"
        "        g = f()\n        self.assertIsInstance(g, AsyncGenerator)\n"
        "        self.assertIsSubclass(type(g), AsyncGenerator)\n"
        "        self.assertNotIsInstance(f, AsyncGenerator)\n"
    )
    base = Suite(
        (TestCase("test_gen", "tests.test_a.Abc", "tests/test_a.py", 1, "passed", "", ""),)
    )
    moved = TestCase("test_gen_basics", "tests.test_a.Gen", "tests/test_a.py", 1, "passed", "", "")
    edited = {"tests/test_a.py"}
    assert compare(base, Suite((moved,)), edited, None, sources_of(old, grown)) == []
    # the hostile twins: the moved test lost its check, or it fails where the base's failed
    gutted = grown.split("        g = f()")[0] + "        g = f()\n"
    (dropped,) = compare(base, Suite((moved,)), edited, None, sources_of(old, gutted))
    assert weakened_findings([dropped])[0].severity == "medium"
    failing = Suite((replace(base.cases[0], outcome="failed"),))
    skipped = Suite((replace(moved, outcome="skipped"),))
    (hidden,) = compare(failing, skipped, edited, None, sources_of(old, grown))
    assert weakened_findings([hidden])[0].severity == "high"


#: pyasn1 0.6.0's testPrintable: the Python 2 branch never runs on Python 3.
PRINTABLE = (
    "def test_printable():\n    if sys.version_info[0] < 3:\n        assert unicode(s) == p\n"
    "    else:\n        assert str(s) == p\n"
)


@pytest.mark.parametrize(
    ("source", "asserts"),
    [
        (PRINTABLE, 1),
        ("def test_printable():\n    assert str(s) == p\n", 1),  # pyasn1 0.6.1
        (PRINTABLE.replace("sys.version_info[0] < 3", "six.PY2"), 1),
        (PRINTABLE.replace("sys.version_info[0] < 3", "sys.version_info < (3,)"), 1),
        # the hostile twin: a check moved under a Python 2 branch no longer counts
        ("def test_printable():\n    if sys.version_info < (3,):\n        assert str(s) == p\n", 0),
        # a branch a Python 3 minor version decides still counts, both ways
        (PRINTABLE.replace("sys.version_info[0] < 3", "sys.version_info < (3, 8)"), 2),
    ],
)
def test_assertions_only_python_2_ran_are_not_counted(source, asserts):
    (test,) = read_test_functions(source.encode()).values()
    assert test.asserts == asserts


#: The base test: pytest reports it failed on line 3 (``assert add(1, 2) == 3``).
FAILING = "def test_add():\n    x = add(0, 0)\n    assert add(1, 2) == 3\n    assert x == 0\n"
#: What a change may make of it: each an update of the behaviour it checks, or not.
REWRITES = {
    "expected-value-updated": ("low", "a new expected value", FAILING.replace("== 3", "== 4")),
    "inputs-changed": ("low", "kept as it was", FAILING.replace("add(0, 0)", "add(0, 1)")),
    "other-assertion-dropped": ("low", "a new expected value",
                                FAILING.replace("    assert x == 0\n", "").replace("== 3", "== -1")),
    # packaging 24.0: the subject wrapped (``list(exc.exceptions)``), ``== {}`` → ``is None``
    "subject-wrapped": ("low", "a new expected value", FAILING.replace("add(1, 2) == 3",
                                                                       "list(add(1, 2)) == 3")),
    "is-none": ("low", "a new expected value", FAILING.replace("add(1, 2) == 3", "add(1, 2) is None")),
    "local-renamed": ("low", "kept as it was", FAILING.replace("x = add(0, 0)", "y = add(0, 0)")
                      .replace("assert x == 0", "assert y == 1")),
    "subject-patched": ("medium", "added a patch", FAILING.replace(
        "    x = add(0, 0)\n", "    x = add(0, 0)\n    monkeypatch.setattr(calc, 'add', lambda a, b: 3)\n")),
    "check-deleted": ("medium", "deleted that check", FAILING.replace("    assert add(1, 2) == 3\n", "")),
    "same-expected-value-elsewhere": ("medium", "deleted that check",
                                      FAILING.replace("add(1, 2) == 3", "add(0, 3) == 3")),
    "truthiness": ("high", "truthiness", FAILING.replace("add(1, 2) == 3", "add(1, 2)")),
    "tautology": ("high", "always matches", FAILING.replace("== 3", "== add(1, 2)")),
    "mock-any": ("high", "always matches", FAILING.replace("== 3", "== mock.ANY")),
    "try-except": ("high", "inside try/except", FAILING.replace(
        "    assert add(1, 2) == 3\n",
        "    try:\n        assert add(1, 2) == 3\n    except AssertionError:\n        pass\n")),
    "suppress": ("high", "contextlib.suppress", FAILING.replace(
        "    assert add(1, 2) == 3\n",
        "    with contextlib.suppress(AssertionError):\n        assert add(1, 2) == 3\n")),
    "if-false": ("high", "never holds", FAILING.replace(
        "    assert add(1, 2) == 3\n", "    if False:\n        assert add(1, 2) == 3\n")),
}  # fmt: skip


def failed_at(line, name="test_add", file="tests/test_a.py"):
    text = (
        f"def {name}():\n>       assert ...\nE       assert 4 == 3\n\n{file}:{line}: AssertionError"
    )
    return TestCase(name, "tests.test_a", file, 1, "failed", "assert 4 == 3", text)


def test_a_copy_of_the_failing_check_elsewhere_in_the_test_does_not_stand_in_for_it():
    """sqlparse 0.5.1's test_strip_comments_multi says ``assert res == 'select'`` three times;
    the one that failed was updated. The twin deletes the failing copy and keeps the others."""
    base_src = (
        "def test_add():\n    res = add(0, 0)\n    assert res == 0\n"
        "    res = add(1, -1)\n    assert res == 0\n    res = add(2, -2)\n    assert res == 0\n"
    )
    base, head = Suite((failed_at(5),)), Suite((case("test_add", "passed"),))
    updated = base_src.replace("add(1, -1)\n    assert res == 0", "add(1, -1)\n    assert res == 1")
    (w,) = compare(base, head, {"tests/test_a.py"}, None, sources_of(base_src, updated))
    assert w.check is not None and w.check.fate == "updated"
    deleted = base_src.replace("    res = add(1, -1)\n    assert res == 0\n", "")
    (w,) = compare(base, head, {"tests/test_a.py"}, None, sources_of(base_src, deleted))
    assert w.check is not None and w.check.fate == "removed"
    assert weakened_findings([w])[0].severity == "medium"


@pytest.mark.parametrize("rewrite", REWRITES.values(), ids=REWRITES.keys())
def test_a_rewritten_failing_test_is_judged_by_the_check_it_failed_on(rewrite):
    """itsdangerous 2.2.0 changed the expected digest of the check test_iter_unsigners failed
    on: an update (low). The hostile twins keep the test green by deleting (medium) or
    neutering (high) that very check (planted-test-assertion-neutered)."""
    severity, said, head_src = rewrite
    base, head = Suite((failed_at(3),)), Suite((case("test_add", "passed"),))
    (w,) = compare(base, head, {"tests/test_a.py"}, None, sources_of(FAILING, head_src))
    assert w.check is not None and w.check.text == "assert add(1, 2) == 3"
    (finding,) = weakened_findings([w])
    assert finding.severity == severity and said in finding.message, finding.message
    assert "line 3: `assert add(1, 2) == 3`" in finding.message
    if severity == "low":
        assert weakened_findings([w], updated_tests="lead")[0].severity == "medium"


#: structlog 24.2.0's test_handles_special_kw: the expected value written first, failing on line 3.
EXPECTED_FIRST = "def test_kw():\n    d = render()\n    assert {'stackLevel': 1} == d\n"
EXPECTED_FIRST_REWRITES = {
    "moved-into-a-local": ("low", EXPECTED_FIRST.replace(
        "    assert {'stackLevel': 1} == d\n",
        "    expected = {'stacklevel': 1}\n    assert expected == d\n")),
    "new-literal": ("low", EXPECTED_FIRST.replace("'stackLevel'", "'stacklevel'")),
    # the hostile twins: the subject compared with itself, or a local bound to it
    "self-compare": ("medium", EXPECTED_FIRST.replace("{'stackLevel': 1} == d", "d == d")),
    "local-of-subject": ("medium", EXPECTED_FIRST.replace(
        "    assert {'stackLevel': 1} == d\n", "    expected = d\n    assert expected == d\n")),
    "another-subject": ("medium", EXPECTED_FIRST.replace(
        "    assert {'stackLevel': 1} == d\n",
        "    expected = {'stacklevel': 1}\n    assert expected == render(1)\n")),
}  # fmt: skip


@pytest.mark.parametrize(
    "rewrite", EXPECTED_FIRST_REWRITES.values(), ids=EXPECTED_FIRST_REWRITES.keys()
)
def test_a_check_written_expected_value_first_is_updated_by_a_new_expected_value(rewrite):
    """structlog 24.2.0 fixed ``stackLevel`` to ``stacklevel`` and moved the expected dict of
    ``assert {…} == d`` into ``expected = {…}; assert expected == d``: an update, not a deleted
    check. Comparing the subject with itself or a local bound to it still hides the failure."""
    severity, head_src = rewrite
    base, head = Suite((failed_at(3, name="test_kw"),)), Suite((case("test_kw", "passed"),))
    (w,) = compare(base, head, {"tests/test_a.py"}, None, sources_of(EXPECTED_FIRST, head_src))
    (finding,) = weakened_findings([w])
    assert finding.severity == severity, finding.message


#: soupsieve 2.6's test_unrecognized_pseudo; pytest reports it failed on line 2.
RAISING = "def test_add():\n    assert_raises(':before', NotImplementedError)\n"
UNITTEST = "def test_add():\n    assertRaises(NotImplementedError, compile, ':before')\n"
RAISING_REWRITES = {
    "exception-updated": ("low", "a new expected value", RAISING,
                          RAISING.replace("NotImplementedError", "SelectorSyntaxError")),
    "unittest-exception-updated": ("low", "a new expected value", UNITTEST,
                                   UNITTEST.replace("NotImplementedError", "errors.SyntaxError")),
    # the hostile twins: another input that does not raise, or any exception at all
    "input-changed": ("medium", "deleted that check", RAISING, RAISING.replace(":before", ":hover")),
    "any-exception": ("high", "expects any exception in place of NotImplementedError", RAISING,
                      RAISING.replace("NotImplementedError", "Exception")),
    "unittest-any-exception": ("high", "expects any exception", UNITTEST,
                               UNITTEST.replace("NotImplementedError", "BaseException")),
    "with-any-exception": ("high", "expects any exception",
                           "def test_add():\n    with pytest.raises(ValueError):\n        f()\n",
                           "def test_add():\n    with pytest.raises(Exception):\n        f()\n"),
}  # fmt: skip


@pytest.mark.parametrize("rewrite", RAISING_REWRITES.values(), ids=RAISING_REWRITES.keys())
def test_a_check_expecting_another_exception_is_updated_and_one_expecting_any_is_neutered(rewrite):
    """soupsieve 2.6 raises SelectorSyntaxError where 2.5 raised NotImplementedError, and its
    tests say so: an update, like ``with pytest.raises`` naming the new exception. A check
    moved to an input that no longer raises, or widened to ``Exception``, hides the failure."""
    severity, said, base_src, head_src = rewrite
    base, head = Suite((failed_at(2),)), Suite((case("test_add", "passed"),))
    (w,) = compare(base, head, {"tests/test_a.py"}, None, sources_of(base_src, head_src))
    (finding,) = weakened_findings([w])
    assert finding.severity == severity and said in finding.message, finding.message


def test_the_variants_of_one_inherited_test_are_one_finding_under_their_real_node_ids():
    """itsdangerous 2.2.0: test_iter_unsigners, defined in test_serializer.py, runs in three
    classes of three files; xunit1 names the defining file, so each was reported three times."""
    defined = "tests/test_serializer.py"
    source = "class TestSerializer:\n    def test_iter(self):\n        assert f() == 1\n"
    runs = [("tests.test_serializer.TestSerializer", "tests/test_serializer.py"),
            ("tests.test_timed.TestTimedSerializer", "tests/test_timed.py"),
            ("tests.test_url_safe.TestURLSafeSerializer", "tests/test_url_safe.py")]  # fmt: skip
    text = f"E   assert 2 == 1\n\n{defined}:3: AssertionError"
    base = Suite(tuple(TestCase("test_iter", c, defined, 2, "failed", "", text) for c, _ in runs))
    head = Suite(tuple(TestCase("test_iter", c, defined, 2, "passed", "", "") for c, _ in runs))
    assert [c.nodeid.split("::")[0] for c in base.cases] == [f for _, f in runs]
    updated = source.replace("== 1", "== 2")
    weakened = compare(base, head, {defined}, None, sources_of(source, updated, defined))
    assert len(weakened) == 3
    (finding,) = weakened_findings(weakened)
    assert finding.severity == "low" and "2 variant(s) judged alike" in finding.message
    assert "tests/test_url_safe.py::TestURLSafeSerializer::test_iter" in finding.message
    deleted = "class TestSerializer:\n    def test_iter(self):\n        pass\n"
    (finding,) = weakened_findings(compare(base, head, {defined}, None,
                                           sources_of(source, deleted, defined)))  # fmt: skip
    assert finding.severity == "medium" and "deleted that check" in finding.message


def test_a_class_another_folder_imports_runs_under_its_own_node_id():
    """urllib3 2.2.2's test/contrib/test_pyopenssl.py imports the TLS test classes of
    test/with_dummyserver/test_https.py: xunit1 names the defining file, and the class-less id
    it was given (``test_https.py::test_client_intermediate``) is no test pytest can find, so
    the re-run at the base stopped on it and no failure was held."""
    defined = "test/with_dummyserver/test_https.py"
    ran = [
        TestCase("test_x", "test.contrib.test_pyopenssl.TestHTTPS_TLSv1_2", defined, 160,
                 "failed", "", ""),
        TestCase("test_x", "test.with_dummyserver.test_https.TestHTTPS_TLSv1_2", defined, 160,
                 "failed", "", ""),
        TestCase("test_x", "tests.test_timed.TestTimed.Inner", "tests/test_serializer.py", 1,
                 "failed", "", ""),
        TestCase("test_x", "lonely", "tests/test_y.py", 1, "failed", "", ""),
    ]  # fmt: skip
    assert [c.nodeid for c in ran] == [
        "test/contrib/test_pyopenssl.py::TestHTTPS_TLSv1_2::test_x",
        "test/with_dummyserver/test_https.py::TestHTTPS_TLSv1_2::test_x",
        "tests/test_timed.py::TestTimed::Inner::test_x",
        "tests/test_y.py::test_x",
    ]


CHUNKED_BASE = "class Chunk:\n    def __init__(self):\n        self._cache = []\n"
CHUNKED_HEAD = "class Chunk:\n    def __init__(self):\n        self._items = iter(())\n"


ASSERTED = "AssertionError: 1 != 0"
NO_CACHE = "AttributeError: 'generator' object has no attribute '_cache'"


@pytest.mark.parametrize(
    ("code", "check", "error", "severity"),
    [
        # more-itertools 10.3 reimplemented ichunked without ``_cache`` and deleted the check.
        (CHUNKED_HEAD, "self.assertEqual(len(chunk._cache), 0)", ASSERTED, "low"),
        # The hostile twins: a check on behaviour, or on a private name the code still has.
        (CHUNKED_HEAD, "self.assertEqual(len(list(chunk)), 0)", ASSERTED, "medium"),
        (CHUNKED_HEAD + "_cache = {}\n", "self.assertEqual(len(chunk._cache), 0)", ASSERTED,
         "medium"),
        # ... unless the check failed because the object it looked into lacks that private name
        # (more-itertools' chunks became generators; ``peekable`` still has a ``_cache``) ...
        (CHUNKED_HEAD + "_cache = {}\n", "self.assertEqual(len(chunk._cache), 0)", NO_CACHE,
         "low"),
        # ... and only then: a missing public attribute, or a private one the check does not
        # name (raised by the code it called), is behaviour.
        (CHUNKED_HEAD + "_cache = {}\n", "self.assertEqual(len(chunk.cache), 0)",
         NO_CACHE.replace("'_cache'", "'cache'"), "medium"),
        (CHUNKED_HEAD + "_cache = {}\n", "self.assertEqual(len(list(chunk)), 0)", NO_CACHE,
         "medium"),
    ],
)  # fmt: skip
def test_a_deleted_check_on_a_private_detail_the_change_removed_is_context(
    leo_repo, code, check, error, severity
):
    import anyio
    from leo_testing.baseline import Weakened, subjects_removed
    from leo_testing.checks import FailedCheck

    repo = leo_repo(base={"pkg/more.py": CHUNKED_BASE}, head={"pkg/more.py": code})
    w = Weakened("tests/test_more.py::test_memory", "failed", "passed", True,
                 asserts=(3, 9), check=FailedCheck(12, check, "removed"),
                 error=error)  # fmt: skip
    (marked,) = anyio.run(subjects_removed, repo.change(), [w])
    (finding,) = weakened_findings([marked])
    assert finding.severity == severity, finding.message


#: isodate 0.6.1's tests import six through their package's ``__init__.py``; 0.7.0 dropped six.
WRAPPED = (
    "E   _pytest.nodes.Collector.CollectError: ImportError while importing test module "
    "'/tmp/t/src/iso/tests/__init__.py'.\nE   Traceback:\nE   src/iso/tests/test_pickle.py:3: "
    "in <module>\nE       from six.moves import cPickle\nE   E   ModuleNotFoundError: No module "
    "named 'six'\n\n_pytest/python.py:523: CollectError"
)
NO_SIX = "E   ModuleNotFoundError: No module named 'six'"


@pytest.mark.parametrize(
    ("in_base_pass", "failed_before"),
    [
        (WRAPPED, True),
        # the hostile twins: an assertion that failed against the head's code, or a module the
        # base cannot import for another reason, is not excused by the file failing at the base
        ("E   assert 4 == 3\n\nsrc/iso/tests/test_duration.py:9: AssertionError", False),
        (WRAPPED.replace("'six'", "'iso.duration'"), False),
    ],
)
def test_a_test_whose_file_the_base_cannot_import_failed_before_when_it_failed_the_same_way(
    in_base_pass, failed_before
):
    from leo_testing.agent import failed_again

    path = "src/iso/tests/test_duration.py"
    test = TestCase("test_neg", "src.iso.tests.test_duration.DurationTest", path, 9, "error",
                    "failed on setup", in_base_pass)  # fmt: skip
    module = TestCase("src.iso.tests.test_duration", "", path, None, "error",
                      "collection failure", NO_SIX)  # fmt: skip
    other = replace(test, file="src/iso/tests/test_time.py",
                    classname="src.iso.tests.test_time.TimeTest")  # fmt: skip
    wanted = {test.nodeid, other.nodeid}
    found = failed_again(wanted, Suite((module,)), [test, other])
    assert sorted(found) == ([test.nodeid] if failed_before else [])
    if failed_before:
        assert test.first_error_line() == "ModuleNotFoundError: No module named 'six'"


def test_rerun_ids_are_each_asked_once_never_an_option_and_capped():
    from leo_testing.agent import _MAX_RERUN, _rerun_ids

    # The head's code writes the report: an id that is an option (``--rootdir=/``) or empty
    # (pytest runs the whole current directory for ``""``) never reaches the command line.
    ids = ["t.py::a", "--rootdir=/", "t.py::b", "", "t.py::a", "-p evil", "t.py::c"]
    assert _rerun_ids(ids) == ("t.py::a", "t.py::b", "t.py::c")
    many = [f"t.py::test_{i}" for i in range(_MAX_RERUN + 5)]
    assert _rerun_ids(["-x", *many]) == tuple(many[:_MAX_RERUN])
    # the cap counts distinct ids, after the refused ones are gone
    assert len(_rerun_ids([*many[:2], *many[:2], *many])) == _MAX_RERUN


@pytest.mark.parametrize(
    ("deleted", "severity"),
    [
        ("pkg/octets.py", "low"),  # pyasn1 0.6.1 deleted pyasn1.compat.octets and its tests
        # the hostile twins: the module the test imports is still there, or another one went
        (None, "high"),
        ("pkg/other.py", "high"),
    ],
)
def test_a_test_module_deleted_with_the_submodule_it_imported_from_its_package_is_context(
    leo_repo, deleted, severity
):
    import anyio
    from leo_testing.baseline import Weakened, subjects_removed

    base = {"pkg/__init__.py": "", "pkg/octets.py": "X = 1\n", "pkg/other.py": "Y = 2\n"}
    repo = leo_repo(base=base, head={deleted: None} if deleted else {"pkg/octets.py": "X = 2\n"})
    error = "ImportError: cannot import name 'octets' from 'pkg' (/tmp/tree/pkg/__init__.py)"
    w = Weakened("tests/test_octets.py", "error", None, False, "module", detail=error, error=error)
    (marked,) = anyio.run(subjects_removed, repo.change(), [w])
    (finding,) = weakened_findings([marked])
    assert finding.severity == severity, finding.message
    if severity == "low":
        assert "module pkg.octets (pkg/octets.py), which the change deleted" in finding.message


@pytest.mark.parametrize(
    ("message", "severity"),
    [
        ('failed on teardown with "TimeoutError: the server thread did not stop"', "medium"),
        ('failed on setup with "TimeoutError: the server did not start"', "high"),
        ("AssertionError: assert 500 == 200", "high"),
    ],
)
def test_a_base_test_erroring_only_in_its_teardown_and_skipped_at_the_head_asks_a_lead(
    message, severity
):
    """urllib3 2.2.2: test_chunked_specified[bytes-POST-False] skips itself at both ends, but
    the base's version errored in its teardown against the head's reworked test server. Its
    checks never failed, so a LEAD decides; an error before or in the test stays high."""
    path = "test/test_socketlevel.py"
    outcome = "error" if message.startswith("failed on") else "failed"
    base = Suite((TestCase("test_chunked", "test.test_socketlevel.TestFraming", path, 10,
                           outcome, message, f"E   {message}"),))  # fmt: skip
    head = Suite((TestCase("test_chunked", "test.test_socketlevel.TestFraming", path, 10,
                           "skipped", "", ""),))  # fmt: skip
    (finding,) = weakened_findings(compare(base, head, {path}, None, None))
    assert finding.severity == severity, finding.message
    assert ("errored in its teardown" in finding.message) == (severity == "medium")
