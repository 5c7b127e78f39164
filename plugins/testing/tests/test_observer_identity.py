"""The observer sees a collected test run other code than was collected (``_identity``).

Each case is a real pytest run with LEO's observer plugin; the hostile ones replace a later
test's code from inside an earlier one, as code under test that finds the session with ``gc``
would, and the ordinary ones use what real suites use to shape their tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from leo_testing.observer import PLUGIN, disagreements, install, read_record


def observe(tmp_path: Path, files: dict[str, str], *args: str):
    """Run pytest on ``files`` with the observer; its record and pytest's output."""
    for name, text in files.items():
        path = tmp_path / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    out = tmp_path / "observer.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(install(tmp_path / "plugin")),
        "LEO_TESTING_OBSERVER": str(out),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", "-q", *args],
        cwd=tmp_path / "project", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return read_record(out.read_bytes() if out.exists() else b""), done.stdout + done.stderr


#: An early test that reaches the session as code under test would and changes ``test_zero``.
SWAP = """\
    import gc


    def _zero():
        for o in gc.get_objects():
            if type(o).__name__ == "Session" and hasattr(o, "items"):
                return next(i for i in o.items if i.name == "test_zero")


    def test_first():
        item = _zero()
        {how}
"""
ZERO = "def test_zero():\n    assert 0 == 1\n"
HOW = {
    "obj": "item.obj = lambda: None",
    "_obj": "item._obj = lambda: None",
    "code": "item.obj.__code__ = (lambda: None).__code__.replace(\n"
    "            co_filename=item.obj.__code__.co_filename,\n"
    "            co_firstlineno=item.obj.__code__.co_firstlineno)",
    "runtest": "item.runtest = lambda: None",
    "module attribute": "import test_b\n        test_b.test_zero = lambda: None\n"
    "        item._obj = None",
    "runtest of the class": "import copy\n        type(item).runtest = copy.copy",
    "runtest forged as pytest's": "import types\n"
    "        real = type(item).runtest.__code__\n"
    "        type(item).runtest = types.FunctionType((lambda self: None).__code__.replace(\n"
    "            co_filename=real.co_filename, co_name=real.co_name,\n"
    "            co_qualname=real.co_qualname, co_firstlineno=real.co_firstlineno), {})",
    "hook proxy": "real = item.session.gethookproxy\n\n"
    "        class Relay:\n"
    "            def __init__(self, relay):\n"
    "                self.relay = relay\n\n"
    "            def __getattr__(self, name):\n"
    "                if name == 'pytest_pyfunc_call':\n"
    "                    return lambda **kwargs: True\n"
    "                return getattr(self.relay, name)\n\n"
    "        item.session.gethookproxy = lambda path: Relay(real(path))",
    "item": "o = [o for o in gc.get_objects() if type(o).__name__ == 'Session'][0]\n"
    "        twin = type(item).from_parent(item.parent, name=item.name,\n"
    "                                      callobj=lambda: None)\n"
    "        o.items[o.items.index(item)] = twin",
}


@pytest.mark.parametrize("how", HOW.values(), ids=HOW.keys())
def test_a_test_whose_code_is_replaced_after_collection_is_tampering(tmp_path, how):
    files = {"test_a.py": SWAP.format(how=how), "test_b.py": ZERO}
    record, output = observe(tmp_path, files, "-p", "no:randomly")
    assert "2 passed" in output, output  # test_zero "passed"
    assert "test_b.py::test_zero" in record.swapped, (record.swapped, output)
    assert any("ran other code than the test pytest collected" in d for d in
               disagreements(record, None, 0))  # fmt: skip


def test_a_doctest_whose_examples_are_emptied_is_tampering(tmp_path):
    files = {
        "test_a.py": SWAP.format(how="item.dtest.examples.clear()").replace(
            'i.name == "test_zero"', '"zero" in i.name'
        ),
        "zero.py": 'def zero():\n    """\n    >>> 0\n    1\n    """\n',
    }
    record, output = observe(tmp_path, files, "--doctest-modules")
    assert "zero.py::zero.zero" in record.swapped, (record.swapped, output)


#: Ordinary suites: what pytest, unittest, doctest, hypothesis and the async plugins do to
#: a test's function is decided at collection or inside the test's own call.
ORDINARY = {
    "conftest.py": """\
        import functools

        import pytest


        @pytest.fixture
        def number():
            return 2


        class Wrapped(pytest.Function):
            # pytest-asyncio >= 0.23: its item wraps ``obj`` inside ``runtest``.
            def runtest(self):
                self.obj = functools.wraps(self.obj)(lambda *a, **k: None)
                super().runtest()


        @pytest.hookimpl(tryfirst=True)
        def pytest_pycollect_makeitem(collector, name, obj):
            if name == "test_wrapped_in_runtest":
                return [Wrapped.from_parent(collector, name=name, callobj=obj)]


        @pytest.fixture(autouse=True, scope="class")
        def _like_pytest_django(request):
            # pytest-django sets TestCaseFunction.runtest to its own around Django's TestCases.
            from _pytest.python import Function
            from _pytest.unittest import TestCaseFunction

            if request.cls is None or request.cls.__name__ != "TestCase":
                yield
                return
            original = TestCaseFunction.runtest
            TestCaseFunction.runtest = Function.runtest
            yield
            TestCaseFunction.runtest = original


        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(item, nextitem):
            # pytest-rerunfailures runs an item's protocol again in the same session.
            if "wrapped" not in item.name:
                return None
            from _pytest.runner import runtestprotocol

            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            for _ in range(2):
                for report in runtestprotocol(item, nextitem=nextitem, log=False):
                    item.ihook.pytest_runtest_logreport(report=report)
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
            return True


        @pytest.hookimpl(trylast=True)
        def pytest_runtest_setup(item):
            # pytest 8.1's TestCaseFunction.setup reads the method again from its TestCase
            # (asgiref 3.8.1, where @async_to_sync then hands out a new partial)
            if item.name == "test_fresh_each_read":
                item._obj = getattr(item.parent.obj(item.name), item.name)


        @pytest.hookimpl(hookwrapper=True, tryfirst=True)
        def pytest_pyfunc_call(pyfuncitem):
            # pytest-asyncio 0.21: wraps ``obj`` in its pytest_pyfunc_call.
            if pyfuncitem.name == "test_wrapped_in_pyfunc_call":
                pyfuncitem.obj = functools.wraps(pyfuncitem.obj)(lambda *a, **k: None)
            yield
    """,
    "test_shapes.py": """\
        import functools
        import unittest

        import pytest
        from hypothesis import given, strategies as st


        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_parametrized(n, number):
            assert n * number == number * n


        class TestClass:
            def test_method(self, number):
                assert number == 2

            @pytest.mark.parametrize("n", [1, 2])
            def test_method_parametrized(self, n):
                assert n


        class FreshEachRead:
            # asgiref's @async_to_sync: each read of the method hands out a new partial.
            def __init__(self, function):
                functools.update_wrapper(self, function)
                self.function = function

            def __call__(self, *args):
                return self.function(*args)

            def __get__(self, parent, owner):
                return functools.partial(self.__call__, parent)


        class TestCase(unittest.TestCase):
            def test_unittest(self):
                self.assertEqual(1, 1)

            @FreshEachRead
            def test_fresh_each_read(self):
                self.assertTrue(True)

            @unittest.skip("skipped on purpose")
            def test_skipped(self):
                raise AssertionError


        @given(st.integers())
        def test_hypothesis(n):
            assert n == n


        def _decorated(test):
            @functools.wraps(test)
            def wrapper(*a, **k):
                return test(*a, **k)

            return wrapper


        @_decorated
        def test_decorated():
            assert True


        def test_wrapped_in_runtest():
            assert False


        def test_wrapped_in_pyfunc_call():
            assert False


        def doubled(n):
            \"\"\"
            >>> doubled(2)
            4
            \"\"\"
            return 2 * n
    """,
}


def test_ordinary_tests_run_the_code_collected(tmp_path):
    record, output = observe(
        tmp_path, ORDINARY, "--doctest-modules", "-p", "hypothesis.extra.pytestplugin"
    )
    assert "15 passed, 1 skipped" in output, output
    assert record.swapped == {}
