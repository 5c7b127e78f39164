"""Does the change's code reach into the test runner or the interpreter's tracing?

A test that patches ``_pytest.reports.TestReport``, rewrites a report's ``outcome``, swaps
``sys.settrace`` (coverage's tracer) or calls ``os._exit(0)`` turns a failing suite into a green
one without fixing anything (issue 17, THREATS.md D-07). Such code is found by reading the
change's Python files with ``ast`` (nothing is imported or run) and is ``testing.runner_tampering``,
a critical finding, on the lines the change added. Test files, ``conftest.py`` and start-up
hooks get every rule; the code under test gets the rules that have no business outside a test
runner (writes into pytest, pluggy or coverage; ``sys.modules`` surgery on them), and code
under test that looks for the runner, raises its skip or implements its hooks is
``testing.runner_hook``, for a LEAD: code that is right only under its tests passes them.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from leo import Change, ChangedFile, Finding, code_named_like_tests, is_test_side, parse_python

#: Modules whose objects decide what a test run reports: writing into them forges the run.
RUNNER_MODULES = frozenset(
    {"_pytest", "pytest", "pluggy", "coverage", "pytest_cov", "xdist", "py", "builtins",
     "junitparser", "xmlrunner", "unittest"}
)  # fmt: skip
#: Calls that take over the interpreter's tracing, kill it, or run code at its exit.
TRACE_CALLS = frozenset(
    {"sys.settrace", "sys.setprofile", "threading.settrace", "threading.setprofile",
     "threading.settrace_all_threads", "threading.setprofile_all_threads",
     "sys.monitoring.use_tool_id", "sys.monitoring.register_callback",
     "sys.monitoring.set_events", "sys.monitoring.set_local_events", "sys.monitoring.free_tool_id",
     "os._exit", "os.abort", "posix._exit", "atexit.register", "atexit.unregister",
     "sys.addaudithook", "ctypes.pythonapi", "pytest.exit", "_pytest.outcomes.exit"}
)  # fmt: skip
#: Interpreter functions the runner relies on; replacing one (not calling it) forges the run.
REPLACED_FUNCTIONS = frozenset(
    {"sys.exit", "sys.settrace", "sys.setprofile", "sys.gettrace", "sys.monitoring",
     "sys.modules", "os._exit", "os.abort", "atexit.register", "atexit._run_exitfuncs",
     "threading.settrace", "threading.setprofile"}
)  # fmt: skip
#: Report and session attributes a forger sets to turn a failure into a pass.
OUTCOME_ATTRS = frozenset(
    {"outcome", "longrepr", "wasxfail", "excinfo", "exitstatus", "testsfailed",
     "testscollected", "shouldfail", "shouldstop", "_excinfo", "_result", "_exception"}
)  # fmt: skip
#: Pluggy result methods that replace what a hook returned (``outcome.force_result(...)``).
FORCE_CALLS = frozenset({"force_result", "force_exception", "get_result"})
#: pytest hooks that decide whether and how a test runs or is reported.
OUTCOME_HOOKS = frozenset(
    {"pytest_pyfunc_call", "pytest_runtest_call", "pytest_runtest_protocol",
     "pytest_runtest_makereport", "pytest_report_teststatus", "pytest_runtest_logreport",
     "pytest_sessionfinish", "pytest_unconfigure", "pytest_runtestloop",
     "pytest_collection_modifyitems", "pytest_deselected", "pytest_ignore_collect",
     "pytest_collect_file", "pytest_pycollect_makeitem", "pytest_configure",
     "pytest_load_initial_conftests", "pytest_cmdline_main", "pytest_terminal_summary"}
)  # fmt: skip
#: Plugin-manager calls that remove or replace another plugin (junitxml, LEO's observer).
PLUGIN_CALLS = frozenset(
    {"unregister", "set_blocked", "add_hookcall_monitoring", "subset_hook_caller",
     "_inner_hookexec", "import_plugin", "consider_pluginarg"}
)  # fmt: skip
#: What the code under test has no business raising: a failing check becomes a skip or xfail.
SKIP_NAMES = frozenset(
    {"unittest.SkipTest", "unittest.case.SkipTest", "pytest.skip", "pytest.xfail",
     "pytest.importorskip", "_pytest.outcomes.skip", "_pytest.outcomes.Skipped",
     "_pytest.outcomes.xfail", "_pytest.outcomes.XFailed"}
)  # fmt: skip
#: Where code can see that it runs under its tests: the modules loaded, the command line, the
#: environment, what can be imported, the calling frames.
_PROBED = (
    "sys.modules", "sys.argv", "sys.orig_argv", "os.environ", "os.environb", "os.getenv",
    "importlib.util.find_spec", "importlib.import_module", "importlib.metadata.version",
    "importlib.metadata.distribution", "pkgutil.find_loader", "__import__",
)  # fmt: skip
_FRAMES = frozenset(
    {"sys._getframe", "sys._current_frames", "inspect.stack", "inspect.currentframe",
     "inspect.getouterframes", "inspect.trace", "traceback.extract_stack", "traceback.walk_stack"}
)  # fmt: skip
_PROBED_ALL = frozenset(_PROBED) | _FRAMES
_PROBED_LAST = frozenset(name.rsplit(".", 1)[-1] for name in _PROBED_ALL)
#: What pytest turns on in every run that production leaves off (found in no library module
#: of LEO's own environment).
_RUNNER_TRACES = {
    "faulthandler.is_enabled": "pytest's faulthandler plugin enables it",
    # pytest's session, config and items are live objects: a walk finds them by type name
    "gc.get_objects": "a walk of every live object finds pytest's session without naming it",
    "gc.get_referrers": "a walk of every live object finds pytest's session without naming it",
}
#: What pytest replaces while a test runs (its capture, assertion rewriting, unraisable- and
#: thread-exception plugins) and their interpreter originals: code that compares one, or asks
#: for its type, tells a test run from production without naming the runner (round-7 red team:
#: ``sys.unraisablehook is not sys.__unraisablehook__``, ``type(sys.stdout).__module__ !=
#: "_io"``, ``type(sys.meta_path[0]).__name__ == "AssertionRewritingHook"`` each PASSed).
_SWAPPED = frozenset(
    {"sys.unraisablehook", "sys.__unraisablehook__", "threading.excepthook",
     "threading.__excepthook__", "sys.stdout", "sys.stderr", "sys.stdin", "sys.__stdout__",
     "sys.__stderr__", "sys.__stdin__", "sys.meta_path"}
)  # fmt: skip
#: What an inspection of a swapped object is read through: its type, its name, an entry, a count.
_INSPECTING_ATTRS = frozenset({"__class__", "__name__", "__module__", "__qualname__"})
_INSPECTING_CALLS = frozenset({"type", "len", "id"})
#: The files of the process table that hold a process's command line and environment: this
#: process's or its parent's tell the head run, the base pass and production apart as
#: ``sys.argv`` and ``os.environ`` do (round-7 red team: ``b"pytest" in
#: open("/proc/self/cmdline", "rb").read()`` PASSed).
_PROC_FILES = re.compile(r"(^|/)(cmdline|environ|status|comm|stat)$")
#: Where an installed copy lives: code that tells it from a source tree is right where LEO
#: tests it (the worktree) and may be wrong where it runs (round-7 red team: ``"site-packages"
#: not in __file__`` PASSed).
_INSTALLED_DIRS = ("site-packages", "dist-packages")
#: The comparisons a test's assertion is made of: one that ignores what it is compared with
#: answers every assertion on it the same way (round-7 red team: an ``int`` subclass whose
#: ``__eq__`` returned True made a broken ``add()`` pass ``assert add(2, 3) == 5``: PASS).
#: Orderings are left out: a sentinel that sorts above everything (packaging's ``Infinity``)
#: answers ``<`` the same way by design.
_COMPARISONS = frozenset({"__eq__", "__ne__"})
#: Where imports are looked up: code under test that adds a folder there can have the tests
#: import another copy of a module than the one production ships (round-7 red team: a package
#: ``__init__.py`` put ``../fixtures/calc`` first on its ``__path__``, which exists in the tree
#: LEO tests and not in an installed copy: the tests ran the correct copy there, PASS).
#: ``sys.path`` is left out: a Sphinx ``docs/conf.py`` inserts the project there as a rule.
_IMPORT_PATHS = frozenset({"__path__"})
_PATH_EDITS = frozenset({"insert", "append", "extend", "__iadd__", "__setitem__"})
#: Names of the runner a probe looks for; a piece of ``_pytest`` or ``py.test`` of four
#: characters or more with its ``py`` counts too (``m.startswith("_pyt") for m in sys.modules``);
#: ``PYTEST_CURRENT_TEST`` read by its end (``k.endswith("_CURRENT_TEST") for k in os.environ``)
#: and pytest's import hook by its class name count too.
_RUNNER_WORDS = (
    "pytest",
    "py.test",
    "xdist",
    "cov_core",
    "unittest.mock",
    "benchmark",
    "current_test",
    "assertionrewrit",
)
#: What a caller's name (its file, function or module) shows when it is a test or a benchmark.
_FRAME_WORDS = ("test", "bench")
_RUNNER_PIECES = ("_pytest", "py.test")
#: Environment variables the runner sets (``PYTEST_CURRENT_TEST``, ``PYTEST_VERSION``, …).
_RUNNER_ENV = re.compile(r"^(PYTEST_|PYTEST$|COV_CORE_)")
#: Where Python looks up ``import``: tests replace it to simulate a missing optional module.
_IMPORT_HOOKS = frozenset({"builtins.__import__", "__builtins__.__import__"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
#: Calls that copy ``sys.modules`` or list its entries without changing them.
_SNAPSHOT_METHODS = frozenset({"copy", "items", "keys"})
_SNAPSHOT_COPIES = frozenset({"dict", "list", "tuple", "sorted", "set"})
#: Methods that change a list or dict in place (a changed copy of sys.modules is no snapshot).
_MUTATORS = frozenset(
    {"update", "setdefault", "__setitem__", "append", "extend", "insert", "add", "__iadd__"}
)
PATCHERS = frozenset({"setattr", "delattr", "patch", "object", "dict", "setitem", "delitem"})
#: Calls that write, move or delete a file.
FILE_CALLS = frozenset(
    {"open", "io.open", "os.open", "os.remove", "os.unlink", "os.replace", "os.rename",
     "os.truncate", "shutil.copy", "shutil.copyfile", "shutil.move", "pathlib.Path"}
)  # fmt: skip
#: Attributes that hold where pytest and pytest-cov write their reports.
REPORT_ATTRS = frozenset({"xmlpath", "cov_controller", "_xml", "cov_report", "cov_config"})
#: Strings that name the files the gate reads the run's outcome from.
_EVIDENCE = re.compile(
    r"junit|\.coverage\b|coverage\.(xml|json|lcov)|LEO_TESTING_OBSERVER|leo_testing_observer"
    r"|observer\.jsonl"
)


#: The line of a hit on the whole file (one LEO could not read).
UNREAD = 0


@dataclass(frozen=True)
class Hit:
    """One place in a file that reaches into the runner."""

    line: int
    what: str
    critical: bool = True


class _Scanner(ast.NodeVisitor):
    def __init__(self, test_side: bool, tree: ast.Module | None = None) -> None:
        self.test_side = test_side
        self.tree = tree
        self.aliases: dict[str, str] = {}
        self.hits: list[Hit] = []
        self.depth = 0  # inside a function: monkeypatch/mock on builtins is undone there
        self.snapshots: set[str] = set()
        """Names holding a copy of ``sys.modules`` (or a filtered list of its items)."""
        self.snapshot_vars: set[str] = set()
        """Loop variables bound to a snapshot's keys and modules: putting them back restores."""
        self._snapshots_found = False
        self._constants: dict[str, ast.expr] | None = None

    # -- names ---------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases[a.name.split(".")[0]] = a.name.split(".")[0]
            self._check_module(a.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{module}.{a.name}" if module else a.name
            if f"{module}.{a.name}" in TRACE_CALLS | {"posix._exit"}:
                self._hit(node.lineno, f"imports {module}.{a.name}")
            self._check_skip(f"{module}.{a.name}", node.lineno)
        self._check_module(module, node.lineno)

    def _check_module(self, module: str, line: int) -> None:
        # Importing pytest's internals is common for type hints; writing into them is not.
        if self.test_side and module.split(".")[0] == "coverage" and module != "coverage":
            self._hit(line, f"imports coverage internals ({module})", critical=False)

    def dotted(self, node: ast.AST) -> str | None:
        """``a.b.c`` with import aliases resolved, or None when it is not a plain name chain."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Call):  # importlib.import_module("_pytest").x, getattr(sys, "x")
            inner = self._imported(node) or self._getattr(node)
            if inner is None:
                return None
            parts.append(inner)
        elif isinstance(node, ast.Name):
            parts.append(self.aliases.get(node.id, node.id))
        elif isinstance(node, ast.Subscript):  # sys.modules["x"], vars(sys)["x"], sys.__dict__["x"]
            key = self.folded(node.slice)
            owner = self._namespace_of(node.value)
            if key is None or owner is None:
                return None
            parts.append(f"{owner}.{key}" if owner else key)
        else:
            return None
        return ".".join(reversed(parts))

    def constants(self) -> dict[str, ast.expr]:
        """Module-level names bound once, to the expression they hold (read by ``folded``)."""
        if self._constants is None:
            self._constants = _module_constants(self.tree) if self.tree is not None else {}
        return self._constants

    def _getattr(self, call: ast.Call) -> str | None:
        """``getattr(x, "name")`` read as ``x.name`` (the name may be built from pieces)."""
        if self.dotted(call.func) not in ("getattr", "builtins.getattr") or len(call.args) < 2:
            return None
        owner = self.dotted(call.args[0])
        name = self.folded(call.args[1])
        return f"{owner}.{name}" if owner is not None and name is not None else None

    def _namespace_of(self, node: ast.AST) -> str | None:
        """What a subscript with a name looks up in: ``""`` for sys.modules (its keys are
        module names), the module for ``vars(m)`` and ``m.__dict__``; None otherwise."""
        if self.dotted(node) == "sys.modules":
            return ""
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return self.dotted(node.value)
        if isinstance(node, ast.Call) and self.dotted(node.func) == "vars" and len(node.args) == 1:
            return self.dotted(node.args[0])
        return None

    def folded(self, node: ast.AST) -> str | None:
        """The string ``node`` always evaluates to when it is built from literals only: joined
        with ``+``, ``str.join`` or an f-string, sliced, cased, or a module-level constant."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            value = self.constants().get(node.id)
            return self.folded(value) if value is not None and value is not node else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.folded(node.left), self.folded(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            pieces = [self.folded(v) for v in node.values]
            return "".join(p for p in pieces if p is not None) if None not in pieces else None
        if isinstance(node, ast.FormattedValue) and node.format_spec is None:
            return self.folded(node.value)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            text = self.folded(node.value)
            ints = [_integer(b) for b in (node.slice.lower, node.slice.upper, node.slice.step)]
            if text is None or "?" in ints:
                return None
            return text[slice(*ints)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, owner = node.func.attr, self.folded(node.func.value)
            if owner is None:
                return None
            if method in ("upper", "lower", "casefold", "strip", "title") and not node.args:
                return str(getattr(owner, method)())
            if method == "join" and len(node.args) == 1:
                seq = node.args[0]
                if isinstance(seq, ast.List | ast.Tuple):
                    items = [self.folded(e) for e in seq.elts]
                    return (
                        owner.join(i for i in items if i is not None) if None not in items else None
                    )
        return None

    def _imported(self, call: ast.Call) -> str | None:
        func = self.dotted(call.func)
        if func in ("importlib.import_module", "__import__", "builtins.__import__") and call.args:
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
        return None

    def _runner(self, name: str | None) -> bool:
        return name is not None and (
            name.split(".")[0] in RUNNER_MODULES or name.startswith("__builtins__")
        )

    def _hit(self, line: int, what: str, *, critical: bool = True) -> None:
        self.hits.append(Hit(line, what, critical))

    # -- writes --------------------------------------------------------------------------
    def _check_target(self, target: ast.AST, line: int, value: ast.AST | None = None) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for t in target.elts:
                self._check_target(t, line)
            return
        if isinstance(target, ast.Attribute):
            name = self.dotted(target)
            if name in _IMPORT_HOOKS and self.depth > 0 and self._import_stub(value):
                return  # a test simulating a missing optional module (platformdirs 4.2.1)
            if self._runner(name):
                self._hit(line, f"assigns {name}")
            elif target.attr in OUTCOME_ATTRS and self.test_side:
                self._hit(line, f"sets a report's or session's .{target.attr}")
            elif name in REPLACED_FUNCTIONS:
                self._hit(line, f"assigns {name}")
        elif isinstance(target, ast.Subscript):
            base = self.dotted(target.value)
            if base == "sys.modules":
                name = fixed_package(target.slice)  # f"requests.packages.{mod}": requests
                aliased = name is not None and not self._runner(name)
                if not aliased and not self._ordinary_module_entry(target.slice, value):
                    self._hit(line, "replaces a test-runner module in sys.modules")
            elif base in ("__builtins__", "builtins.__dict__", "vars.builtins"):
                self._hit(line, "rewrites the builtins")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._check_target(t, node.lineno, node.value)
            if not _adds_nothing(node.value):
                self._check_import_path(t, node.lineno)
        self.generic_visit(node)

    def _check_import_path(self, target: ast.AST, line: int) -> None:
        """The code under test rebinding or editing its package's ``__path__``."""
        if isinstance(target, ast.Subscript):
            target = target.value
        name = self.dotted(target)
        if not self.test_side and name in _IMPORT_PATHS:
            what = f"changes where modules are imported from ({name}): the tests may import "
            what += "another copy than the one production ships"
            self._hit(line, what, critical=False)

    def _find_snapshots(self) -> None:
        """Names bound only to a snapshot of ``sys.modules`` and never changed, and loop
        variables bound only by iterating one (a fixed point over the whole file)."""
        assert self.tree is not None
        bound: dict[str, list[ast.AST]] = {}
        loops: dict[str, list[ast.AST]] = {}
        changed: set[str] = set()
        stores: Counter[str] = Counter()  # every binding, to catch one made another way
        known: Counter[str] = Counter()
        for n in ast.walk(self.tree):
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Name):
                        bound.setdefault(t.id, []).append(n.value)
                        known[t.id] += 1
            elif isinstance(n, ast.For | ast.AsyncFor):
                targets = n.target.elts if isinstance(n.target, ast.Tuple) else [n.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        loops.setdefault(t.id, []).append(n.iter)
                        known[t.id] += 1
            elif isinstance(n, ast.comprehension):
                known.update(x.id for x in ast.walk(n.target) if isinstance(x, ast.Name))
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
                stores[n.id] += 1
            elif isinstance(n, ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
                changed |= {x.id for x in ast.walk(n.target) if isinstance(x, ast.Name)}
            elif (
                isinstance(n, ast.Subscript | ast.Attribute)
                and isinstance(n.value, ast.Name)
                and (
                    isinstance(n.ctx, ast.Store | ast.Del)
                    or (isinstance(n, ast.Attribute) and n.attr in _MUTATORS)
                )
            ):
                changed.add(n.value.id)
        changed |= {name for name, count in stores.items() if count > known[name]}
        self.snapshots = set()
        for _ in range(3):
            self.snapshots = {
                name for name, values in bound.items()
                if values and name not in changed and name not in loops
                and all(self._snapshot(v) for v in values)
            }  # fmt: skip
        self.snapshot_vars = {
            name for name, iters in loops.items()
            if name not in changed and not bound.get(name) and all(self._snapshot(i) for i in iters)
        }  # fmt: skip

    # -- ordinary module juggling ----------------------------------------------------------
    def _snapshot(self, node: ast.AST | None) -> bool:
        """Does ``node`` hold real entries of ``sys.modules`` and nothing else: the dict, a copy,
        its items or keys, a name holding one, or a comprehension that only filters one?"""
        if node is None:
            return False
        if isinstance(node, ast.Name) and node.id in self.snapshots:
            return True
        if self.dotted(node) == "sys.modules":
            return True
        if isinstance(node, ast.Call) and not node.keywords:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _SNAPSHOT_METHODS and not node.args:
                return self._snapshot(func.value)
            if isinstance(func, ast.Name) and func.id in _SNAPSHOT_COPIES and len(node.args) == 1:
                return self._snapshot(node.args[0])
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            if len(node.generators) != 1 or not self._snapshot(node.generators[0].iter):
                return False
            target = ast.dump(node.generators[0].target)
            elt = (
                ast.Tuple([node.key, node.value], ast.Load())
                if isinstance(node, ast.DictComp)
                else node.elt
            )
            return ast.dump(elt).replace("Load()", "Store()") == target
        return False

    def _ordinary_module_entry(self, key: ast.AST, value: ast.AST | None = None) -> bool:
        """Is ``sys.modules[key] (= value)`` the project's own business: a literal name outside
        the runner, or a snapshot's key put back (with its own module)?"""
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return not self._runner(key.value)
        if not self._snapshots_found and self.tree is not None:
            self._snapshots_found = True
            self._find_snapshots()
        restored = isinstance(key, ast.Name) and key.id in self.snapshot_vars
        return restored and (
            value is None or (isinstance(value, ast.Name) and value.id in self.snapshot_vars)
        )

    def _import_stub(self, value: ast.AST | None) -> bool:
        """Is ``value`` the saved original ``__import__``, or a function of this file that only
        refuses some imports and hands the rest to the saved original, naming no runner module?"""
        if not isinstance(value, ast.Name) or self.tree is None:
            return False
        originals = self._saved_imports()
        if value.id in originals:
            return True
        defs = [
            n for n in ast.walk(self.tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == value.id
        ]  # fmt: skip
        if len(defs) != 1:
            return False
        refuses = delegates = False
        for node in ast.walk(defs[0]):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                refuses |= isinstance(exc, ast.Name) and exc.id in _IMPORT_ERRORS
            elif isinstance(node, ast.Return):
                call = node.value
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in originals
                ):
                    return False
                delegates = True
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.split(".")[0] in RUNNER_MODULES - {"builtins"}:
                    return False
            elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(
                node.ctx, ast.Store | ast.Del
            ):
                return False  # it writes somewhere besides its own locals
        return refuses and delegates

    def _saved_imports(self) -> set[str]:
        """Names this file binds to the original ``builtins.__import__``."""
        assert self.tree is not None
        return {
            t.id
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Assign) and self.dotted(n.value) in _IMPORT_HOOKS
            for t in n.targets
            if isinstance(t, ast.Name)
        }

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target, node.lineno)
        self._check_import_path(node.target, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._check_target(t, node.lineno)
        self.generic_visit(node)

    # -- calls ---------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = self.dotted(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        line = node.lineno
        if func in TRACE_CALLS and (self.test_side or func.startswith(("sys.", "threading."))):
            self._hit(line, f"calls {func}", critical=self.test_side)
        elif func in ("setattr", "delattr", "builtins.setattr") and node.args:
            target = self.dotted(node.args[0])
            if self._runner(target) or target == "sys.modules":
                self._hit(line, f"{func}() on {target}")
        elif attr in PATCHERS and node.args and self.test_side:
            self._check_patch(node, line)
        elif attr in ("pop", "update", "setdefault", "clear", "__setitem__", "__delitem__"):
            if (
                isinstance(node.func, ast.Attribute)
                and self.dotted(node.func.value) == "sys.modules"
                and not self._ordinary_modules_call(attr, node)
            ):
                self._hit(line, f"sys.modules.{attr}()")
        elif (func in FILE_CALLS or attr in ("write_text", "write_bytes", "unlink")) and any(
            isinstance(a, ast.Constant) and isinstance(a.value, str) and _EVIDENCE.search(a.value)
            for a in [*node.args, getattr(node.func, "value", None)]
        ):
            self._hit(line, "writes or removes a report file the gate reads")
        elif attr in FORCE_CALLS - {"get_result"} and self.test_side:
            self._hit(line, f"replaces a hook's result (.{attr}())")
        elif attr in PLUGIN_CALLS and self.test_side:
            self._hit(line, f"changes pytest's plugins (.{attr}())")
        if attr in _PATH_EDITS and isinstance(node.func, ast.Attribute):
            self._check_import_path(node.func.value, line)
        if not self.test_side and func == "type" and len(node.args) == 1:
            name, _ = self._swapped(node.args[0])
            if name is not None:
                self._looks_at(line, name)
        if not self.test_side and func in _RUNNER_TRACES:  # no runner name needed
            what = f"looks for its test runner ({func}(): {_RUNNER_TRACES[func]})"
            self._hit(line, what, critical=False)
        self.generic_visit(node)

    def _ordinary_modules_call(self, attr: str, node: ast.Call) -> bool:
        """``sys.modules.pop("pkg")``, ``.pop(name)`` of a snapshot's key, ``.update(saved)``."""
        args = node.args
        if not self._snapshots_found and self.tree is not None:
            self._snapshots_found = True
            self._find_snapshots()
        if attr == "update":
            return len(args) == 1 and not node.keywords and self._snapshot(args[0])
        if attr in ("pop", "__delitem__") and args:
            return self._ordinary_module_entry(args[0])
        if attr in ("setdefault", "__setitem__") and len(args) == 2:
            return self._ordinary_module_entry(args[0], args[1])
        return False

    def _check_patch(self, node: ast.Call, line: int) -> None:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            target: str | None = first.value
        else:
            target = self.dotted(first)
        if target == "sys.modules" and len(node.args) > 1:
            value = node.args[2] if len(node.args) > 2 else None
            if not self._ordinary_module_entry(node.args[1], value):
                self._hit(line, "patches a test-runner module in sys.modules")
            return
        if not self._runner(target):
            return
        scoped = self.depth > 0 and target is not None and target.split(".")[0] == "builtins"
        attr = node.args[1] if len(node.args) > 1 else None
        by_string = isinstance(first, ast.Constant)
        named = str(target).rsplit(".", 1)[-1] if by_string or attr is None else None
        if not by_string and isinstance(attr, ast.Constant):
            named = str(attr.value)
        if scoped and named not in ("__import__", "exit", "quit", "print", "compile", "exec"):
            return  # monkeypatch.setattr(builtins, "input", ...) inside a test is undone after it
        if scoped and named == "__import__":
            replacement = node.args[1] if by_string and len(node.args) > 1 else None
            if not by_string and len(node.args) > 2:
                replacement = node.args[2]
            if self._import_stub(replacement):
                return
        self._hit(line, f"patches {target}")

    # -- what pytest swaps while a test runs ----------------------------------------------
    def _swapped(self, node: ast.AST) -> tuple[str | None, bool]:
        """The object pytest swaps (``_SWAPPED``) that ``node`` is or inspects, and whether it
        inspects it through its type, name, entries or count (``type(sys.meta_path[0])
        .__name__``); ``(None, False)`` otherwise: ``sys.stdout.encoding`` is a use of the
        stream, not a look at which one it is."""
        inspected = False
        while True:
            if isinstance(node, ast.Subscript) or (
                isinstance(node, ast.Attribute) and node.attr in _INSPECTING_ATTRS
            ):
                node = node.value
            elif (
                isinstance(node, ast.Call)
                and len(node.args) == 1
                and self.dotted(node.func) in _INSPECTING_CALLS
            ):
                node = node.args[0]
            else:
                break
            inspected = True
        name = self.dotted(node)
        return (name, inspected) if name in _SWAPPED else (None, False)

    def visit_Compare(self, node: ast.Compare) -> None:
        """A swapped object compared with its original (``sys.unraisablehook is not
        sys.__unraisablehook__``) or inspected (``type(sys.stdout).__module__ != "_io"``).
        One compared with the code's own object (``hook in sys.meta_path``, ``stream is
        sys.stdout``) or with None is an ordinary use."""
        if not self.test_side:
            seen = [self._swapped(o) for o in (node.left, *node.comparators)]
            names = [name for name, _ in seen if name is not None]
            if names and (len(names) > 1 or any(inspected for _, inspected in seen)):
                self._looks_at(node.lineno, names[0])
        self.generic_visit(node)

    def _looks_at(self, line: int, name: str) -> None:
        what = f"looks at which {name} it has (pytest replaces it while a test runs)"
        self._hit(line, what, critical=False)

    # -- definitions and strings ----------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in OUTCOME_HOOKS:  # in the code under test: registered from there at run time
            self._hit(node.lineno, f"implements the pytest hook {node.name}", critical=False)
        if not self.test_side and node.name in _COMPARISONS and _answers_anything(node):
            self._answers(node.lineno, node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        """``__eq__ = lambda self, other: True`` in the code under test's class body."""
        for stmt in node.body if not self.test_side else ():
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Lambda)
                and _answers_anything(stmt.value)
            ):
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and target.id in _COMPARISONS:
                        self._answers(stmt.lineno, target.id)
        self.generic_visit(node)

    def _answers(self, line: int, name: str) -> None:
        what = (
            f"defines {name} that answers the same whatever it is compared with: an "
            "assertion on it cannot fail"
        )
        self._hit(line, what, critical=False)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self.test_side and node.attr == "__class__":
            name, _ = self._swapped(node.value)
            if name is not None:
                self._looks_at(node.lineno, name)
        if self.test_side and node.attr in REPORT_ATTRS:
            self._hit(node.lineno, f"reads .{node.attr}, where the run's report is written")
        self._check_skip(self.dotted(node), node.lineno)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if self.test_side and isinstance(node.value, str) and _EVIDENCE.search(node.value):
            self._hit(node.lineno, f"names a report file ({node.value[:60]!r})", critical=False)
        if not self.test_side and isinstance(node.value, str) and _RUNNER_ENV.match(node.value):
            self._hit(node.lineno, f"reads the test runner's variable {node.value}", critical=False)

    # -- the code under test and its tests ---------------------------------------------------
    def _check_skip(self, name: str | None, line: int) -> None:
        """The code under test raising the runner's skip: its bug reads as a skipped test."""
        if not self.test_side and name in SKIP_NAMES:
            self._hit(line, f"uses the test runner's skip or xfail ({name})", critical=False)

    def find_probes(self, tree: ast.Module) -> None:
        """Code under test that looks for its runner: in one function, or one statement outside
        any, a read of the loaded modules, the command line, the environment, what imports or
        the calling frames, and a string naming the runner (or, with frames, a test). However
        the string is pieced or the state reached (``"py" + "test" in getattr(__import__("sys"),
        "modules")``, ``"pytest" in sys.argv[0]``, ``sys._getframe(1).f_code.co_name
        .startswith("test")``), the code can be right only under its tests."""
        for scope in _scopes(tree.body):
            self._where_it_runs(scope)
            reads = {self.dotted(n) for n in scope if self._may_read_state(n)} - {None}
            probed = [r for r in _PROBED if r in reads]
            frames = reads & _FRAMES
            if not (probed or frames):
                continue
            for node, text in self._strings(scope):
                if isinstance(node, ast.Constant) and _RUNNER_ENV.match(text):
                    continue  # reported as the runner's variable already
                low = text.lower()
                if probed and _names_runner(low):
                    what = f"looks for its test runner ({text[:40]!r} in {probed[0]})"
                    self._hit(node.lineno, what, critical=False)
                elif (
                    frames
                    and any(w in low for w in _FRAME_WORDS)
                    and not any(c.isspace() for c in low)
                ):
                    what = f"looks for a test or benchmark among its callers ({text[:40]!r}, {min(frames)})"
                    self._hit(node.lineno, what, critical=False)

    def _where_it_runs(self, scope: list[ast.AST]) -> None:
        """Code under test that reads where it runs with no runner name needed: a process's
        command line or environment in ``/proc`` (its own or its parent's: the names in them
        differ between the head run, the base pass and production), or whether its own file
        is an installed copy (``site-packages`` beside ``__file__``)."""
        texts = [
            (n, n.value) for n in scope if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        procs = [n for n, t in texts if t.rstrip("/") == "/proc" or t.startswith("/proc/")]
        if procs and any(_PROC_FILES.search(t.rstrip("/")) for _, t in texts):
            what = "reads a process's command line or environment in /proc"
            self._hit(procs[0].lineno, what, critical=False)
        own_file = any(
            (isinstance(n, ast.Name) and n.id == "__file__")
            or (isinstance(n, ast.Attribute) and n.attr == "__file__")
            for n in scope
        )
        for n, t in texts:
            if own_file and t.strip("/\\") in _INSTALLED_DIRS:
                what = f"tells an installed copy of itself from a source tree ({t[:40]!r})"
                self._hit(n.lineno, what, critical=False)
                break

    def _may_read_state(self, node: ast.AST) -> bool:
        """A cheap test before ``dotted``: could ``node`` name one of the probed places?"""
        if isinstance(node, ast.Attribute):
            return node.attr in _PROBED_LAST
        if isinstance(node, ast.Name):
            return node.id in _PROBED_LAST or self.aliases.get(node.id, "") in _PROBED_ALL
        return isinstance(node, ast.Call | ast.Subscript)

    def _strings(self, scope: list[ast.AST]) -> Iterator[tuple[ast.expr, str]]:
        """Each whole string ``scope`` builds from literals (not its pieces), docstrings aside."""
        inside: set[int] = set()
        docs = {id(n.value) for n in scope if isinstance(n, ast.Expr)}
        for node in scope:
            if id(node) in inside or id(node) in docs or not isinstance(node, ast.expr):
                continue
            text = self.folded(node)
            if text is not None:
                inside |= {id(n) for n in ast.walk(node)}
                yield node, text

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        """``try: import pytest`` with the ImportError caught, in the code under test: it tells
        a machine that has its test runner (a test run) from one that does not (production)."""
        if not self.test_side and any(
            h.type is None or _catches_import_error(h.type) for h in node.handlers
        ):
            for inner in (n for stmt in node.body for n in ast.walk(stmt)):
                names = (
                    [a.name for a in inner.names] if isinstance(inner, ast.Import)
                    else [inner.module or ""] if isinstance(inner, ast.ImportFrom) else []
                )  # fmt: skip
                for name in names:
                    if name.split(".")[0] in ("pytest", "_pytest", "xdist", "pytest_cov"):
                        what = f"imports {name} only where it can (its test runner)"
                        self._hit(inner.lineno, what, critical=False)
        self.generic_visit(node)

    visit_TryStar = visit_Try


def _integer(node: ast.expr | None) -> int | str | None:
    """A slice bound written as a literal (``-1`` included), None when absent, else ``"?"``."""
    if node is None:
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return -inner if isinstance(inner, int) else "?"
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else "?"


def _adds_nothing(value: ast.AST) -> bool:
    """``__path__ = []`` (marks a module as a package) or ``pkgutil.extend_path(__path__,
    __name__)`` (a namespace package's own folders only)."""
    if isinstance(value, ast.List | ast.Tuple) and not value.elts:
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute | ast.Name)
        and (value.func.attr if isinstance(value.func, ast.Attribute) else value.func.id)
        == "extend_path"
    )


def _answers_anything(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    """A comparison that never reads what it is compared with and only returns constants
    (``return True``); ``return NotImplemented`` is no constant here: it hands the comparison on."""
    params = node.args.posonlyargs + node.args.args
    if len(params) < 2:
        return False
    other = params[1].arg
    if any(isinstance(n, ast.Name) and n.id == other for n in ast.walk(node)):
        return False
    if isinstance(node, ast.Lambda):
        return isinstance(node.body, ast.Constant)
    returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) for r in returns)


def _catches_import_error(handler: ast.expr) -> bool:
    caught = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(
        isinstance(c, ast.Name) and c.id in (*_IMPORT_ERRORS, "Exception", "BaseException")
        for c in caught
    )


def _names_runner(text: str) -> bool:
    """Does ``text`` (lower case) name the test runner, or is it a piece of such a name?"""
    if any(c.isspace() for c in text):  # a message, not a name
        return False
    piece = len(text) >= 4 and "py" in text and any(text in w for w in _RUNNER_PIECES)
    # coverage.py is loaded in every run (pytest-cov imports it), and only there
    return piece or text.startswith("coverage") or any(w in text for w in _RUNNER_WORDS)


def _scopes(body: Sequence[ast.stmt]) -> Iterator[list[ast.AST]]:
    """The nodes read together: a function whole, and outside functions each statement's own
    expressions (an ``if``'s test, a ``for``'s iterable), its nested statements apart."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield list(ast.walk(stmt))
            continue
        own: list[ast.AST] = []
        nested: list[ast.stmt] = []
        todo: list[ast.AST] = [stmt]
        while todo:
            node = todo.pop()
            for _, value in ast.iter_fields(node):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, ast.stmt):
                        nested.append(item)
                    elif isinstance(item, ast.excepthandler | ast.match_case):
                        todo.append(item)
                    elif isinstance(item, ast.AST):
                        own.extend(ast.walk(item))
        if own:
            yield own
        yield from _scopes(nested)


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Names the module binds exactly once, at its top level, with a plain assignment."""
    stores = Counter(
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    )
    found = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name) and stores[target.id] == 1:
                found[target.id] = stmt.value
    return found


def scan(source: bytes, *, test_side: bool) -> list[Hit]:
    """Every place in ``source`` that reaches into the runner (none when it does not parse)."""
    try:
        tree = parse_python(source)
        scanner = _Scanner(test_side, tree)
        scanner.visit(tree)
        if not test_side:
            scanner.find_probes(tree)
    except (SyntaxError, ValueError):
        return []
    except RecursionError:  # Python may still run what its ast module cannot hold: a LEAD reads it
        return [Hit(UNREAD, "is nested too deeply for LEO to read it", critical=False)]
    return scanner.hits


async def tampering_findings(change: Change, paths: Sequence[str] | None = None) -> list[Finding]:
    """``testing.runner_tampering`` for each hit on a line the change added to a Python file."""
    files = [
        f for f in change.files
        if f.is_regular and f.path.endswith(".py") and (paths is None or f.path in paths)
    ]  # fmt: skip
    sources = await change.read_many([f.path for f in files], "head")
    code = await code_named_like_tests(change)
    before = await _base_hits(change, files, code)
    findings = []
    for f in files:
        data = sources.get(f.path)
        if data is None:
            continue
        contexts = _contexts(data)
        for hit in _on_added_lines(_scan_as(data, f.path, code), f.added_lines):
            if (hit.what, contexts(hit.line)) in before:
                findings.append(
                    Finding(
                        rule_id="testing.runner_tampering",
                        severity="low",
                        message=f"{f.path}:{hit.line} {hit.what}, as the base already did in "
                        "the same statement (a moved or reformatted file): not introduced by "
                        "the change",
                        path=f.path,
                        line=hit.line,
                        on_changed_line=False,
                    )
                )
                continue
            where = f"{f.path}:{hit.line}" if hit.line != UNREAD else f.path
            findings.append(
                Finding(
                    rule_id="testing.runner_tampering" if hit.critical else "testing.runner_hook",
                    severity="critical" if hit.critical else "medium",
                    message=f"{where} {hit.what}: code that reaches into the test "
                    "runner or the interpreter's tracing can forge the test outcome"
                    if hit.critical
                    else f"{where} {hit.what}; it can change which tests run or "
                    "what they report, so a LEAD must review it",
                    path=f.path,
                    line=hit.line or None,
                    fix=None if not hit.critical else "remove it; tests must not alter the runner",
                )
            )
    return findings


def _scan_as(data: bytes, path: str, code: frozenset[str]) -> list[Hit]:
    """``scan`` as the side ``path`` is on; a module named like a test that the code imports
    (``code``) is scanned as both, for it is code and may hold tests."""
    hits = scan(data, test_side=is_test_side(path))
    if path in code:
        hits += [h for h in scan(data, test_side=False) if h not in hits]
    return hits


async def _base_hits(
    change: Change, files: Sequence[ChangedFile], code: frozenset[str] = frozenset()
) -> set[tuple[str, str]]:
    """Hold the line: (what, statement) of every hit in the base's version of the changed files
    and of the Python files the change deletes (a move git did not pair: python-dateutil 2.9.0
    moved ``dateutil/test/`` to ``tests/``), so a hit the base already had is not the change's."""
    olds = {f.old_path or f.path for f in files if f.status != "added"}
    olds |= {f.path for f in change.files if f.status == "deleted" and f.path.endswith(".py")}
    sources = await change.read_many(sorted(olds), "base")
    found: set[tuple[str, str]] = set()
    for path, data in sources.items():
        if data is None:
            continue
        contexts = _contexts(data)
        for hit in _scan_as(data, path, code):
            found.add((hit.what, contexts(hit.line)))
    return found


def _contexts(data: bytes) -> Callable[[int], str]:
    """``line -> `` the text of the innermost function around it (each line stripped), else the
    line itself: a hit counts as the base's only where its whole function is unchanged, so a
    moved file whose function now computes another module name is still the change's."""
    text = data.decode("utf-8", "replace").splitlines()
    try:
        spans = [
            (node.lineno, node.end_lineno or node.lineno)
            for node in ast.walk(parse_python(data))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
    except (SyntaxError, ValueError):
        spans = []

    def context(line: int) -> str:
        around = [(a, b) for a, b in spans if a <= line <= b]
        a, b = min(around, key=lambda s: s[1] - s[0]) if around else (line, line)
        return "\n".join(t.strip() for t in text[a - 1 : b])

    return context


def _on_added_lines(hits: list[Hit], added: Sequence[int]) -> Iterator[Hit]:
    lines = set(added)
    seen = set()
    for hit in hits:
        if (hit.line in lines or (hit.line == UNREAD and lines)) and (
            hit.line,
            hit.what,
        ) not in seen:
            seen.add((hit.line, hit.what))
            yield hit


def fixed_package(key: ast.AST) -> str | None:
    """The module name a ``sys.modules[key]`` key names, or its fixed top-level package when
    the rest is computed (``f"requests.packages.{mod}"``: requests 2.32 aliases its vendored
    modules so); None when even the top-level package could be anything."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    first: ast.AST | None = None
    if isinstance(key, ast.JoinedStr) and key.values:
        first = key.values[0]
    elif isinstance(key, ast.BinOp) and isinstance(key.op, ast.Add):
        first = key.left
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and "." in first.value:
        return first.value.split(".", 1)[0]
    return None
