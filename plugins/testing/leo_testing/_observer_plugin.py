"""LEO's own pytest plugin, loaded with ``-p`` before any conftest or test module is imported.

It writes, one JSON line per event, what really happened: whether each phase of each test
raised, what its report finally said, and at the end of the session which of pytest's
internals the run replaced since start-up. LEO compares this record with the JUnit report and
the exit status (``observer.py``). It runs inside the change's process, so it can be defeated
by code that sets out to; its job is to make the forgeries that are easy to write visible.

Once pytest is done, it also sees that the interpreter ends: a project's atexit handler or
thread that never returns would otherwise hold a finished run until its timeout (issue 18).
Standard library and pytest only: it is copied into the test environment.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import types
from typing import Any

import pytest

#: The file to write to; read once at import and removed from the environment the tests see.
_PATH = os.environ.pop("LEO_TESTING_OBSERVER", "")
_FH = open(_PATH, "a", encoding="utf-8", buffering=1) if _PATH else None  # noqa: SIM115
#: Seconds the interpreter may take to exit after pytest is done; 0 leaves its exit alone.
_EXIT_GRACE_S = float(os.environ.pop("LEO_TESTING_EXIT_GRACE", "0") or 0)
#: Objects that decide what a run reports: (module, dotted attribute).
_WATCHED = (
    ("_pytest.reports", "TestReport.from_item_and_call"),
    ("_pytest.reports", "TestReport.__init__"),
    ("_pytest.reports", "BaseReport.passed"),
    ("_pytest.reports", "BaseReport.failed"),
    ("_pytest.runner", "CallInfo.from_call"),
    ("_pytest.runner", "call_and_report"),
    ("_pytest.runner", "call_runtest_hook"),
    ("_pytest.runner", "runtestprotocol"),
    ("_pytest.runner", "pytest_runtest_makereport"),
    ("_pytest.runner", "pytest_runtest_call"),
    ("_pytest.python", "Function.runtest"),
    ("_pytest.python", "pytest_pyfunc_call"),
    ("_pytest.skipping", "pytest_runtest_makereport"),
    ("_pytest.junitxml", "LogXML.pytest_runtest_logreport"),
    ("_pytest.junitxml", "LogXML.pytest_sessionfinish"),
    ("_pytest.junitxml", "_NodeReporter.append_pass"),
    ("_pytest.junitxml", "_NodeReporter.append_failure"),
    ("_pytest.main", "Session.perform_collect"),
    ("_pytest.main", "pytest_runtestloop"),
    ("_pytest.terminal", "TerminalReporter.pytest_runtest_logreport"),
    ("_pytest.outcomes", "fail"),
    ("_pytest.outcomes", "skip"),
    ("pluggy._callers", "_multicall"),
    ("pluggy._hooks", "HookCaller.__call__"),
    ("pluggy._manager", "PluginManager._hookexec"),
    ("os", "_exit"),
    ("sys", "exit"),
    ("sys", "settrace"),
    ("builtins", "AssertionError"),
)


def _resolve(module: str, dotted: str) -> Any:
    import importlib

    try:
        obj: Any = importlib.import_module(module)
        for part in dotted.split("."):
            # A class attribute as stored (the function, classmethod or property object), so a
            # replacement is seen even when it wraps the original.
            own = getattr(obj, "__dict__", {})
            obj = own[part] if part in own else getattr(obj, part)
    except (ImportError, AttributeError, KeyError):
        return None
    return obj


_ORIGINALS = {(m, a): _resolve(m, a) for m, a in _WATCHED}
_EXIT = os._exit  # the real one, even if a test replaces it later
_SESSION: list[pytest.Session] = []
#: Per hook: the implementations last seen (``_hooks``), and each one already written.
_IMPLS: dict[str, tuple[int, ...]] = {}
_SEEN: set[tuple[str, str, str, bool]] = set()


def _write(record: dict[str, Any]) -> None:
    if _FH is not None:
        _FH.write(json.dumps(record, default=str) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION.append(session)
    _write({"event": "start", "pid": os.getpid(), "pytest": pytest.__version__})


@pytest.hookimpl
def pytest_plugin_registered(plugin: object, manager: Any) -> None:
    """Each plugin and the file that defines it (a historic hook: the ones registered before
    this plugin too), whoever registered it: an entry point, a conftest, or the code under test
    reaching pytest's Config through ``gc``."""
    module = plugin if isinstance(plugin, type(sys)) else sys.modules.get(type(plugin).__module__)
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        _write({"event": "plugin", "name": str(manager.get_name(plugin)), "file": file})


def _code_file(function: Any) -> str:
    """The file that defines ``function`` (through wrappers, bound methods, partials and
    callable objects); "?" when it has none."""
    for _ in range(10):
        code = getattr(function, "__code__", None)
        if code is not None:
            return str(code.co_filename)
        inner = (
            getattr(function, "__wrapped__", None)
            or getattr(function, "__func__", None)
            or getattr(function, "func", None)
        )
        if inner is None:
            inner = type(function).__call__ if callable(function) else None
            if inner is None or getattr(inner, "__code__", None) is None:
                return "?"
        function = inner
    return "?"


def _local(file: str) -> str:
    """``file`` relative to the run's directory (the worktree) when it lies below it."""
    here = os.getcwd() + os.sep
    return file[len(here) :] if file.startswith(here) else file


#: The hooks that decide how a test runs and what its report says: read around every test
#: (all of them are read at every collector and around collection): 26,852 tests read twice.
_RUN_HOOKS = (
    "pytest_runtest_protocol", "pytest_runtest_setup", "pytest_runtest_call",
    "pytest_runtest_teardown", "pytest_runtest_makereport", "pytest_runtest_logreport",
    "pytest_pyfunc_call", "pytest_report_teststatus", "pytest_runtestloop",
    "pytest_sessionfinish", "pytest_terminal_summary", "pytest_fixture_setup",
    "pytest_exception_interact", "pytest_assertrepr_compare",
)  # fmt: skip


def _hooks(config: pytest.Config, names: tuple[str, ...] | None = None) -> None:
    """Write each function pytest's hooks would call that was not written before: its file,
    and whether a registered plugin holds it. Code that attaches a function to a hook without
    registering a plugin (``_add_hookimpl``; to deselect the test that catches its bug, or to
    answer ``pytest_pyfunc_call`` without running the test) and then removes it again is seen
    at the next call: before and after collection and each test, and at every collector."""
    manager = config.pluginmanager
    relay = vars(manager.hook)
    callers = relay.items() if names is None else ((n, relay.get(n)) for n in names if n in relay)
    for name, caller in list(callers):
        impls = getattr(caller, "_hookimpls", None)  # pluggy >= 1.1; get_hookimpls copies it
        if not isinstance(impls, list) and callable(getattr(caller, "get_hookimpls", None)):
            impls = caller.get_hookimpls()
        if not isinstance(impls, list):
            key = (name, "?", "replaced", False)
            if key not in _SEEN:
                _SEEN.add(key)
                _write({"event": "hookimpl", "hook": name, "file": "?", "plugin": "replaced",
                        "registered": False})  # fmt: skip
            continue
        ids = tuple(id(i.function) for i in impls)
        if _IMPLS.get(name) == ids:
            continue
        _IMPLS[name] = ids
        for impl in impls:
            registered = manager.is_registered(impl.plugin)
            key = (name, _local(_code_file(impl.function)), str(impl.plugin_name), registered)
            if key not in _SEEN:
                _SEEN.add(key)
                _write({"event": "hookimpl", "hook": name, "file": key[1], "plugin": key[2],
                        "registered": registered})  # fmt: skip


@pytest.hookimpl(tryfirst=True)
def pytest_collectstart(collector: pytest.Collector) -> None:
    _hooks(collector.config)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The tests collected, to compare with those that ran: code that finds the session with
    ``gc`` and takes a test out of ``session.items`` while the run goes on needs no hook."""
    _write({"event": "collected", "nodeids": [item.nodeid for item in session.items]})
    for item in session.items:
        _IDENTITY[id(item)] = (item, _identity(item))
        _NODEIDS.add(item.nodeid)


#: id -> each item collected (kept, so the id stays its own) and what decides the code it runs.
_IDENTITY: dict[int, tuple[pytest.Item, dict[str, Any]]] = {}
_NODEIDS: set[str] = set()


def _identity(item: pytest.Item) -> dict[str, Any]:
    """What decides which code ``item`` runs, as objects compared by identity: its ``runtest``,
    the code objects its test function runs (``_codes``),
    how it reaches its hooks, and a doctest's runner and examples. Code under test that finds the session with ``gc`` and
    sets ``item.obj = lambda: None`` (or swaps ``runtest``, ``_obj`` or ``__code__``) leaves
    the test collected and "passing" without running it."""
    runtest = getattr(item, "runtest", None)
    runtest = getattr(runtest, "__func__", runtest)
    proxy = getattr(item.session, "gethookproxy", None)
    found: dict[str, Any] = {
        "runtest": runtest,
        "runtest.__code__": getattr(runtest, "__code__", None),
        # how the item reaches its hooks (pytest_pyfunc_call runs the test function)
        "ihook": next(
            (c.__dict__["ihook"] for c in type(item).__mro__ if "ihook" in c.__dict__), None
        ),
        "session.gethookproxy": getattr(proxy, "__func__", proxy),
    }
    if isinstance(item, pytest.Function):
        found["function"] = _codes(getattr(item, "obj", None))
    dtest, runner = getattr(item, "dtest", None), getattr(item, "runner", None)
    if dtest is not None:
        found["dtest"] = dtest
        found["dtest.examples"] = tuple(
            (getattr(e, "source", None), getattr(e, "want", None))
            for e in getattr(dtest, "examples", ())
        )
        found["runner"] = runner
        found["runner.run"] = getattr(type(runner), "run", None)
    return found


def _codes(function: Any) -> tuple[types.CodeType, ...]:
    """The code objects a test function runs, reached through bound methods, partials,
    ``__wrapped__`` and callable objects, compared rather than the function objects: a
    descriptor may hand out a new object at each read (asgiref 3.8.1's ``@async_to_sync`` on a
    TestCase method gives a fresh partial, and unittest reads the method again at setup),
    while a replaced function or ``__code__`` brings other code."""
    codes: list[types.CodeType] = []
    seen: set[int] = set()
    todo = [function]
    while todo and len(seen) < 20:
        each = todo.pop(0)
        if each is None or id(each) in seen:
            continue
        seen.add(id(each))
        code = getattr(each, "__code__", None)
        if isinstance(code, types.CodeType):
            if not any(c is code for c in codes):
                codes.append(code)
        elif callable(each) and not isinstance(each, type):
            todo.append(type(each).__call__)
        todo += [getattr(each, name, None) for name in ("__func__", "func", "__wrapped__")]
    return tuple(codes)


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is tuple and a == b)


#: Installed files -> the code objects compiled from them (``_installed_runtest``).
_COMPILED: dict[str, list[types.CodeType]] = {}


def _installed_runtest(function: Any) -> bool:
    """Whether ``function`` is a ``runtest`` exactly as an installed file defines it: below the
    interpreter's or the environment's prefix (read-only while the tests run), outside the
    worktree, its code the same as compiling that file gives. pytest-django sets
    ``TestCaseFunction.runtest`` to its own ``non_debugging_runtest`` around each Django
    ``TestCase`` class; every installed ``runtest`` runs its item (or raises), while code
    written to skip the test, under whatever file name it claims, compiles to other code."""
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType) or not code.co_name.endswith("runtest"):
        return False
    file = os.path.realpath(code.co_filename)
    roots = {os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)}
    if not any(file.startswith(r) for r in roots) or file.startswith(os.getcwd() + os.sep):
        return False
    if file not in _COMPILED:
        try:
            with open(file, "rb") as fh:
                found = [compile(fh.read(), code.co_filename, "exec")]
        except (OSError, SyntaxError, ValueError):
            found = []
        for each in found:  # the list grows with the functions and classes nested in each
            found.extend(c for c in each.co_consts if isinstance(c, types.CodeType))
        _COMPILED[file] = found
    return any(c == code for c in _COMPILED[file])


def _check_identity(item: pytest.Item) -> None:
    """Write what of ``item`` differs from what was collected (``_identity``), once: an item
    collected under its node id that is not this one is itself a replacement."""
    now = _identity(item)
    if id(item) in _IDENTITY:
        then = _IDENTITY[id(item)][1]
        changed = [
            k for k in sorted(then.keys() | now.keys()) if not _same(then.get(k), now.get(k))
        ]
        if set(changed) <= {"runtest", "runtest.__code__"} and _installed_runtest(now["runtest"]):
            changed = []
    else:
        changed = ["the item itself"] if item.nodeid in _NODEIDS else []
    if changed:
        new = now.get(changed[0], now.get("function"))
        code = new if isinstance(new, types.CodeType) else getattr(new, "__code__", None)
        file = code.co_filename if isinstance(code, types.CodeType) else _code_file(new)
        _write({"event": "swapped", "nodeid": item.nodeid, "what": changed[:5],
                "file": _local(file)})  # fmt: skip
    _IDENTITY[id(item)] = (item, now)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """The test's code is the one collected, just before it runs; what the item's own call then
    changes (pytest-asyncio wraps ``obj`` in ``runtest``) is what a re-run of it starts from."""
    _check_identity(item)
    yield
    _IDENTITY[id(item)] = (item, _identity(item))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config) -> Any:
    _hooks(config)
    yield
    _hooks(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart() -> None:
    if _SESSION:
        _hooks(_SESSION[-1].config, _RUN_HOOKS)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logfinish() -> None:
    if _SESSION:
        _hooks(_SESSION[-1].config, _RUN_HOOKS)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    excinfo = call.excinfo
    raised = None
    if excinfo is not None:
        raised = excinfo.type.__name__
        if isinstance(excinfo.value, pytest.skip.Exception | pytest.xfail.Exception):
            raised = "skip"
    try:
        report = outcome.get_result()
        said, xfail = report.outcome, hasattr(report, "wasxfail")
    except BaseException as exc:
        said, xfail = f"hook raised {type(exc).__name__}", False
    _write(
        {"event": "phase", "nodeid": item.nodeid, "when": call.when, "raised": raised,
         "report": said, "xfail": xfail}
    )  # fmt: skip


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _hooks(session.config)
    replaced = sorted(
        f"{module}.{attr}"
        for (module, attr), original in _ORIGINALS.items()
        if original is not None and _resolve(module, attr) is not original
    )
    _write(
        {"event": "finish", "exitstatus": int(exitstatus), "testsfailed": session.testsfailed,
         "replaced": replaced, "stopped": bool(session.shouldstop or session.shouldfail)}
    )  # fmt: skip
    if _FH is not None:
        _FH.flush()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Arm the exit watchdog: every report is written, only the interpreter's exit is left.

    tqdm 4.66.5's ``test_deprecated_gui`` leaks tqdm's multiprocessing lock; its monitor thread
    then blocks on it, and tqdm's atexit handler joins that thread forever. Python runs atexit
    handlers and joins non-daemon threads before it stops daemon threads, so this daemon thread
    still runs then and ends the process with pytest's own exit status.
    """
    if _EXIT_GRACE_S <= 0 or not _SESSION:
        return
    status = int(_SESSION[-1].exitstatus)
    threading.Thread(target=_exit_after, args=(status,), name="leo-exit", daemon=True).start()


def _exit_after(status: int) -> None:
    time.sleep(_EXIT_GRACE_S)
    _write({"event": "exit_forced", "exitstatus": status, "grace_s": _EXIT_GRACE_S})
    for stream in (_FH, sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    _EXIT(status)
