"""Public API compatibility with griffe: an undeclared break is a decision a LEAD takes (ESCALATE)."""

from __future__ import annotations

import pytest
from leo_design import DesignAgent

from leo import LeoError

CORE = '''"""Core of the app."""


def legacy_helper(value):
    return value * 2


def compute_total(items, tax=0.0):
    return sum(items) * (1 + tax)


def _private_helper():
    return 1
'''

BROKEN = '''"""Core of the app."""


def compute_total(items, tax):
    return sum(items) * (1 + tax)
'''


def _api(run):
    return sorted(
        (f.rule_id, f.severity, f.message)
        for f in run.findings
        if f.rule_id.startswith("design.api")
    )


def test_removed_function_and_required_parameter_are_two_named_breaks(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE},
        head={"app/core.py": BROKEN},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        (
            "design.api.object-removed",
            "medium",
            "public function app.core.legacy_helper was removed or renamed",
        ),
        (
            "design.api.parameter-required",
            "medium",
            "parameter 'tax' of app.core.compute_total is now required",
        ),
    ]
    removed = run.assert_finding("design.api.object-removed", path="app/core.py", line=4)
    assert removed.on_changed_line
    run.assert_finding("design.api.parameter-required", path="app/core.py", line=4)
    run.assert_verdict("ESCALATE")
    assert run.agent("design").decisions == (
        "accept the API break: public function app.core.legacy_helper was removed or renamed",
        "accept the API break: parameter 'tax' of app.core.compute_total is now required",
    )
    assert run.agent("design").details["api_packages"] == ["app"]


def test_compatible_changes_are_not_breaks(leo_repo, leo_run):
    compatible = CORE.replace("tax=0.0)", "tax=0.0, currency='USD')").replace(
        "def _private_helper():\n    return 1\n", ""
    )
    compatible += "\n\ndef new_helper():\n    return 3\n"
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": compatible}
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    run.assert_verdict("PASS")


def test_changed_default_and_removed_parameter_are_breaks(leo_repo, leo_run):
    changed = CORE.replace("tax=0.0", "tax=0.2").replace("legacy_helper(value)", "legacy_helper()")
    changed = changed.replace("return value * 2", "return 2")
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": changed}
    )
    rules = [rule for rule, _, _ in _api(leo_run(repo.change(), [DesignAgent]))]
    assert rules == ["design.api.parameter-default", "design.api.parameter-removed"]


def test_src_layout_and_removed_module_are_checked(leo_repo, leo_run):
    repo = leo_repo(
        base={"src/lib/__init__.py": "", "src/lib/old.py": "def f():\n    return 1\n"},
        head={"src/lib/old.py": None, "src/lib/new.py": "def f():\n    return 1\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    finding = run.assert_finding("design.api.object-removed")
    assert "lib.old" in finding.message
    assert run.agent("design").details["api_packages"] == ["src/lib"]


def test_major_version_bump_declares_the_breaks(leo_repo, leo_run):
    project = '[project]\nname = "app"\nversion = "{}"\n'
    repo = leo_repo(
        base={
            "pyproject.toml": project.format("1.4.2"),
            "app/__init__.py": "",
            "app/core.py": CORE,
        },
        head={"pyproject.toml": project.format("2.0.0"), "app/core.py": BROKEN},
    )
    run = leo_run(repo.change(), [DesignAgent])
    api = _api(run)
    assert len(api) == 2
    assert all(severity == "info" for _, severity, _ in api)
    assert all("version 1.4.2 -> 2.0.0 in pyproject.toml" in message for _, _, message in api)
    run.assert_verdict("PASS")


def test_minor_bump_does_not_declare_breaks_after_1_0(leo_repo, leo_run):
    project = '[project]\nname = "app"\nversion = "{}"\n'
    repo = leo_repo(
        base={
            "pyproject.toml": project.format("1.4.2"),
            "app/__init__.py": "",
            "app/core.py": CORE,
        },
        head={"pyproject.toml": project.format("1.5.0"), "app/core.py": BROKEN},
    )
    assert {s for _, s, _ in _api(leo_run(repo.change(), [DesignAgent]))} == {"medium"}


def test_changelog_entry_naming_the_object_declares_only_that_break(
    leo_repo, leo_run, design_config
):
    repo = leo_repo(
        base={"CHANGELOG.md": "# Changes\n", "app/__init__.py": "", "app/core.py": CORE},
        head={
            "CHANGELOG.md": "# Changes\n\n- Removed `legacy_helper`; use `compute_total`.\n",
            "app/core.py": BROKEN.replace("tax)", "tax, rounding)"),
        },
    )
    run = leo_run(repo.change(), [DesignAgent], config=design_config(changelog="CHANGELOG.md"))
    severities = {rule: severity for rule, severity, _ in _api(run)}
    assert severities == {
        "design.api.object-removed": "info",
        "design.api.parameter-required": "medium",
        "design.api.parameter-added-required": "medium",
    }
    assert len(run.agent("design").decisions) == 2


def test_changelog_line_that_only_names_the_object_declares_no_break(
    leo_repo, leo_run, design_config
):
    """Round-7 red team: "Fixed a typo in the docs of `legacy_helper`" beside its removal
    declared it, and the change PASSed; the line must say it breaks."""
    repo = leo_repo(
        base={"CHANGELOG.md": "# Changes\n", "app/__init__.py": "", "app/core.py": CORE},
        head={
            "CHANGELOG.md": "# Changes\n\n- Fixed a typo in the docs of `legacy_helper`.\n",
            "app/core.py": CORE.replace("def legacy_helper", "def _gone"),
        },
    )
    run = leo_run(repo.change(), [DesignAgent], config=design_config(changelog="CHANGELOG.md"))
    removed = run.assert_finding("design.api.object-removed", path="app/core.py")
    assert removed.severity == "medium"
    run.assert_verdict("ESCALATE")


def test_a_function_made_async_is_a_break(leo_repo, leo_run):
    """Round-7 red team: ``def compute_total`` made ``async def`` PASSed: griffe compares the
    parameters only, and every caller now gets a coroutine. A private one may change."""
    head = CORE.replace("def compute_total", "async def compute_total").replace(
        "def _private_helper", "async def _private_helper"
    )
    repo = leo_repo(base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        (
            "design.api.object-kind",
            "medium",
            "public function app.core.compute_total returned its value and now returns a "
            "coroutine (async def): its callers break",
        )
    ]
    run.assert_verdict("ESCALATE")


ASYNC_BASE = (
    "import functools\n\n\n"
    "def variant(f):\n    @functools.wraps(f)\n    def run(*a):\n        return f(*a)\n"
    "    return run\n\n\n"
    "async def items(xs):\n    for x in xs:\n        yield x\n\n\n"
    "def unique(xs):\n    return list(dict.fromkeys(xs))\n"
)


@pytest.mark.parametrize(
    ("old", "new", "breaks"),
    [
        # jinja2 3.1.5: an async generator function made a function returning an async iterator
        (
            "async def items(xs):\n    for x in xs:\n        yield x\n",
            "def items(xs):\n    return _Aiter(xs)\n",
            False,
        ),
        # jinja2 3.1.5: made async def under a decorator that serves sync callers too
        ("def unique(xs):", "@variant\nasync def unique(xs):", False),
        # the hostile twins: an async generator made a plain generator; async def, undecorated
        (
            "async def items(xs):\n    for x in xs:\n        yield x\n",
            "def items(xs):\n    for x in xs:\n        yield x\n",
            True,
        ),
        ("def unique(xs):", "async def unique(xs):", True),
    ],
)
def test_what_calling_a_function_gives_decides_an_async_break(leo_repo, leo_run, old, new, breaks):
    head = ASYNC_BASE.replace(old, new) + "\n\nclass _Aiter:\n    pass\n"
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": ASYNC_BASE}, head={"app/core.py": head}
    )
    run = leo_run(repo.change(), [DesignAgent])
    kinds = [rule for rule, _severity, _message in _api(run) if rule == "design.api.object-kind"]
    assert bool(kinds) is breaks, _api(run)


def test_tests_packages_have_no_public_api(leo_repo, leo_run):
    repo = leo_repo(
        base={"tests/__init__.py": "", "tests/test_core.py": "def test_a():\n    pass\n"},
        head={"tests/test_core.py": "def test_b():\n    pass\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    assert "api_packages" not in run.agent("design").details


def test_test_modules_of_a_package_named_otherwise_have_no_public_api(leo_repo, leo_run):
    """celery 5.7.0 and django-celery-results 2.6.0 keep their tests in a package ``t/``: a
    removed ``t/integration/test_*.py`` or a test class's ``setup`` asked a LEAD. The same
    removal in the package's own module, of a function named ``test_*``, still asks."""
    tests = "class test_CacheBackend:\n    def setup(self):\n        pass\n"
    base = {
        "t/__init__.py": "",
        "t/unit/__init__.py": "",
        "t/unit/test_cache.py": tests,
        "t/unit/test_gone.py": "def test_a():\n    pass\n",
        "t/unit/conftest.py": "def app():\n    pass\n",
        "shop/__init__.py": "",
        "shop/db.py": "def test_connection():\n    pass\n\n\ndef query():\n    pass\n",
    }
    head = {
        "t/unit/test_cache.py": "class test_CacheBackend:\n    pass\n",
        "t/unit/test_gone.py": None,
        "t/unit/conftest.py": "",
        "shop/db.py": "def query():\n    pass\n",
    }
    run = leo_run(leo_repo(base=base, head=head).change(), [DesignAgent])
    assert [m for _, _, m in _api(run)] == [
        "public function shop.db.test_connection was removed or renamed"
    ]
    assert run.agent("design").details["api_packages"] == ["shop", "t"]


def test_minor_bump_before_1_0_declares_the_breaks(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/__init__.py": '__version__ = "0.3.1"\n', "app/core.py": CORE},
        head={"app/__init__.py": '__version__ = "0.4.0"\n', "app/core.py": BROKEN},
    )
    api = _api(leo_run(repo.change(), [DesignAgent]))
    assert [severity for _, severity, _ in api] == ["info", "info"]
    assert "version 0.3.1 -> 0.4.0 in app/__init__.py" in api[0][2]


def test_api_packages_setting_limits_the_check(leo_repo, leo_run, design_config):
    repo = leo_repo(
        base={"a/__init__.py": "def f():\n    pass\n", "b/__init__.py": "def g():\n    pass\n"},
        head={"a/__init__.py": "X = 1\n", "b/__init__.py": "Y = 1\n"},
    )
    run = leo_run(repo.change(), [DesignAgent], config=design_config(api_packages=["b"]))
    assert [message for _, _, message in _api(run)] == [
        "public function b.g was removed or renamed"
    ]


def test_api_packages_outside_the_repository_are_refused(leo_repo, leo_run, design_config):
    repo = leo_repo(head={"x.py": "X = 1\n"})
    config = design_config(api_packages=["../elsewhere"])
    with pytest.raises(LeoError, match=r"api_packages = '\.\./elsewhere' is invalid"):
        leo_run(repo.change(), [DesignAgent], config=config)


def test_throw_away_worktrees_are_removed(leo_repo, leo_run):
    from leo.testing import git

    repo = leo_repo(base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": BROKEN})
    leo_run(repo.change(), [DesignAgent])
    assert git(repo.path, "worktree", "list").count("\n") == 1


def test_move_to_a_src_layout_is_not_a_removal(leo_repo, leo_run):
    """requests 2.31.0 -> 2.32.3 moved its package under src/: nothing was removed."""
    repo = leo_repo(
        base={"app/__init__.py": "from app.core import compute_total\n", "app/core.py": CORE},
        head={
            "app/__init__.py": None,
            "app/core.py": None,
            "src/app/__init__.py": "from app.core import compute_total\n",
            "src/app/core.py": CORE,
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    assert "app moved to src/app" in run.agent("design").details["api_not_breaks"]
    run.assert_verdict("PASS")


def test_lazy_getattr_attribute_and_completed_deprecation_are_not_removals(leo_repo, leo_run):
    """itsdangerous 2.2.0 serves __version__ from __getattr__; attrs 24 removed what it had
    deprecated; python-dateutil 2.9.0 serves its submodules lazily through __all__."""
    base_init = '__version__ = "2.1.2"\n\n\ndef old_api():\n    """Deprecated: use new_api."""\n'
    base_init += "    return 1\n\n\ndef kept():\n    return 2\n"
    head_init = (
        "def __getattr__(name):\n"
        '    if name == "__version__":\n'
        '        return "2.2.0"\n'
        "    raise AttributeError(name)\n\n\ndef kept():\n    return 2\n"
    )
    repo = leo_repo(
        base={"app/__init__.py": base_init, "app/core.py": CORE},
        head={"app/__init__.py": head_init},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    excused = run.agent("design").details["api_not_breaks"]
    assert "app.__version__: still served by the module's __getattr__" in excused
    assert "app.old_api: its deprecation was already announced at the base" in excused
    run.assert_verdict("PASS")


@pytest.mark.parametrize(
    ("deprecation", "removed"),
    [
        ('    """Deprecated: use new_api."""\n', False),
        ('    warnings.warn("old_api is deprecated", DeprecationWarning)\n', False),
        ("    _deprecate(old_api)\n", False),
        # round-6 red team: a parameter or a value deprecated inside is not the function
        (
            '    if legacy:\n        warnings.warn("legacy is deprecated", DeprecationWarning)\n',
            True,
        ),
        (
            '    try:\n        pass\n    except KeyError:\n        raise DeprecationError("x")\n',
            True,
        ),
    ],
)
def test_only_a_deprecation_of_the_function_itself_completes(
    leo_repo, leo_run, deprecation, removed
):
    """Removing a function whose base announced its own deprecation completes it; one that only
    deprecated a parameter under an ``if`` is still removed (round-6 red team: ``refund(...,
    legacy=False)`` went with no break reported). The function above's warning is not its own."""
    before = 'def older():\n    warnings.warn("older is deprecated")\n\n\n'
    base = f"import warnings\n\n\n{before}def old_api(legacy=False):\n{deprecation}    return 1\n"
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": base},
        head={"app/core.py": f"import warnings\n\n\n{before}"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    found = [m for _, _, m in _api(run)]
    assert found == (["public function app.core.old_api was removed or renamed"] if removed else [])


@pytest.mark.parametrize(
    ("definition", "removed"),
    [
        ("# Deprecated: use new_api.\ndef old_api(legacy=False):\n    return 1\n", False),
        (
            'def old_api(legacy=False):\n    """Return 1.\n\n    .. deprecated:: 2.0\n    """\n',
            False,
        ),
        ('def old_api(legacy=False):\n    """This function is deprecated."""\n', False),
        # round-7 red team: what the text deprecates is a parameter, or another name
        (
            'def old_api(legacy=False):\n    """Return 1.\n\n    The ``legacy`` argument is '
            'deprecated.\n    """\n',
            True,
        ),
        ("# Replaces the deprecated older().\ndef old_api(legacy=False):\n    return 1\n", True),
        (
            'def old_api(legacy=False):\n    """Return 1.\n\n    Args:\n        legacy: ignored.\n'
            '\n            .. deprecated:: 2.0\n    """\n',
            True,
        ),
    ],
)
def test_only_text_that_deprecates_the_definition_itself_completes(
    leo_repo, leo_run, definition, removed
):
    """A docstring or comment that deprecates a parameter or names another deprecated thing
    does not make removing the function a completed deprecation (round-7 red team: "The
    ``encoding`` argument is deprecated" in load_config's docstring, then load_config removed,
    PASSed)."""
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": f"def kept():\n    return 2\n\n\n{definition}"},
        head={"app/core.py": "def kept():\n    return 2\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    found = [m for _, _, m in _api(run)]
    assert found == (["public function app.core.old_api was removed or renamed"] if removed else [])


#: pyparsing 3.1: the package star-imports its submodules and publishes what its __all__ lists.
STARRED_INIT = (
    "from .util import *\nfrom .core import *\nfrom .extra import *\n\n"
    "__all__ = ['compute_total', 'kept']\n"
)
EXTRA = "__all__ = ['tool']\n\n\ndef tool():\n    return 1\n"
UTIL = "def helper(fn):\n    return fn\n\n\ndef kept():\n    return 1\n"


def test_a_name_the_package_star_imports_but_leaves_out_of_its_all_is_not_api(leo_repo, leo_run):
    """pyparsing 3.1.2 changed ``util.replaced_by_pep8`` and removed
    ``exceptions.ExceptionWordUnicode``: neither is in pyparsing's ``__all__``, which publishes
    a selection of the names its ``__init__`` star-imports. The hostile twins: a listed name, and
    a name of a submodule with an ``__all__`` of its own, stay breaks."""
    head_util = "def helper(fn, compat_name):\n    return fn\n"
    repo = leo_repo(
        base={
            "app/__init__.py": STARRED_INIT,
            "app/util.py": UTIL,
            "app/core.py": CORE,
            "app/extra.py": EXTRA,
        },
        head={
            "app/util.py": head_util,
            "app/extra.py": "__all__ = []\n",
            "app/core.py": "__all__ = ['compute_total']\n\n\n" + BROKEN,
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert [(rule, message) for rule, _, message in _api(run)] == [
        ("design.api.object-removed", "public function app.extra.tool was removed or renamed"),
        ("design.api.object-removed", "public function app.util.kept was removed or renamed"),
        ("design.api.parameter-required", "parameter 'tax' of app.core.compute_total is now required"),
    ]  # fmt: skip
    excused = run.agent("design").details["api_not_breaks"]
    assert any(e.startswith("app.util.helper: left out of app.__all__") for e in excused)
    assert any(e.startswith("app.core.legacy_helper: left out of app.__all__") for e in excused)


def test_stub_re_exporting_another_package_is_compared_without_a_crash(leo_repo, leo_run):
    """attrs 23.2.0 -> 24.2.0: attrs/__init__.pyi re-exports attr, and griffe raised
    AliasResolutionError, which crashed the whole sub-agent."""
    stub = (
        "from typing import overload\n\n@overload\ndef field(x: int) -> int: ...\n"
        "@overload\ndef field(x: None = None) -> None: ...\n"
    )
    attr = "def field(x=None):\n    return x\n\n\ndef define(c):\n    return c\n"
    repo = leo_repo(
        base={
            "src/attr/__init__.py": attr,
            "src/attrs/__init__.py": "from attr import define, field\n",
            "src/attrs/__init__.pyi": stub,
        },
        head={"src/attrs/__init__.py": "from attr import define, field\n\nVERSION = 1\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    design = run.agent("design")
    assert design.status != "error", design.error
    assert _api(run) == []


def test_package_with_a_generated_module_of_many_names_is_not_compared_not_timed_out(
    leo_repo, leo_run
):
    """griffe's cost grows with the square of a module's top-level names: one generated file of
    them timed the sub-agent out; the package's API is listed as not compared instead."""
    names = "".join(f"NAME_{i} = {i}\n" for i in range(2500))
    repo = leo_repo(
        base={"app/__init__.py": "", "app/names.py": names, "app/core.py": CORE},
        head={"app/core.py": BROKEN},
    )
    run = leo_run(repo.change(), [DesignAgent])
    design = run.agent("design")
    assert design.status == "warned"
    run.assert_finding("design.api.not-compared", path="app")
    reasons = {n.path: n.reason for n in design.analysed.not_analysed}
    assert "app/names.py has 2500 top-level statements" in reasons["app"]


STATE = """import atexit

orig_stdout = None
wrapped_stdout = None


def init():
    global wrapped_stdout
    wrapped_stdout = object()
"""
STATE_WIPED = """import atexit


def _wipe_internal_state_for_tests():
    global orig_stdout, wrapped_stdout
    orig_stdout = None
    wrapped_stdout = None


def init():
    global wrapped_stdout
    wrapped_stdout = object()


_wipe_internal_state_for_tests()
"""


def test_module_state_assigned_by_a_function_called_on_import_is_not_removed(leo_repo, leo_run):
    """colorama 0.4.6 moved its module globals into a function it calls on import."""
    repo = leo_repo(
        base={"app/__init__.py": "", "app/state.py": STATE},
        head={"app/state.py": STATE_WIPED},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    excused = run.agent("design").details["api_not_breaks"]
    assert any(e.startswith("app.state.orig_stdout: still a module global") for e in excused)
    run.assert_verdict("PASS")


def test_module_state_the_import_no_longer_assigns_is_removed(leo_repo, leo_run):
    """The same function, never called at import: ``app.state.orig_stdout`` is gone."""
    repo = leo_repo(
        base={"app/__init__.py": "", "app/state.py": STATE},
        head={"app/state.py": STATE_WIPED.replace("\n\n_wipe_internal_state_for_tests()\n", "\n")},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert ("design.api.object-removed", "medium",
            "public attribute app.state.orig_stdout was removed or renamed") in _api(run)  # fmt: skip
    run.assert_verdict("ESCALATE")


UNDEFINED = """class Undefined:
    def __getattr__(self, _):
        return self

    __getitem__ = __getattr__

    def render(self, context, strict=False):
        return ""
"""


def test_special_method_signature_changes_are_not_breaks_but_public_ones_are(leo_repo, leo_run):
    """jinja2 3.1.5 renamed ``__getattr__``'s parameter and made ``__getitem__`` a def: the
    interpreter calls them by position. A public method's renamed parameter still escalates."""
    head = UNDEFINED.replace("__getattr__(self, _)", "__getattr__(self, name)").replace(
        "    __getitem__ = __getattr__\n",
        "    def __getitem__(self, name):\n        return self\n",
    )
    head = head.replace("strict=False", "strictness=False")
    repo = leo_repo(
        base={"app/__init__.py": "", "app/runtime.py": UNDEFINED},
        head={"app/runtime.py": head},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        (
            "design.api.parameter-removed",
            "medium",
            "parameter 'strict' of app.runtime.Undefined.render was removed or renamed",
        )
    ]
    excused = run.agent("design").details["api_not_breaks"]
    assert any("__getattr__: the interpreter calls this special method" in e for e in excused)
    assert any("__getitem__: the interpreter calls this special method" in e for e in excused)
    run.assert_verdict("ESCALATE")


NUMBER = """class Number:
    def __bool__(self):
        return True

    __nonzero__ = __bool__

    def __truediv__(self, other):
        return 1

    def __div__(self, other):
        return 1

    def __unicode__(self):
        return ""
"""


def test_removing_special_methods_only_python_2_called_is_no_break_but_a_python_3_one_is(
    leo_repo, leo_run
):
    """pyasn1 0.6.1 removed ``__nonzero__``, ``__div__`` and ``__unicode__`` beside the Python 3
    methods they aliased. Removing ``__bool__`` changes what ``if number:`` does: still a break."""
    head = NUMBER.replace("    __nonzero__ = __bool__\n\n", "")
    head = head.replace("    def __div__(self, other):\n        return 1\n\n", "")
    head = head.replace('\n    def __unicode__(self):\n        return ""\n', "")
    head = head.replace("    def __bool__(self):\n        return True\n\n", "")
    repo = leo_repo(base={"app/__init__.py": "", "app/num.py": NUMBER}, head={"app/num.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        (
            "design.api.object-removed",
            "medium",
            "public function app.num.Number.__bool__ was removed or renamed",
        )
    ]
    excused = run.agent("design").details["api_not_breaks"]
    assert sum("only Python 2 looked up" in e for e in excused) == 3, excused
    run.assert_verdict("ESCALATE")


def test_packages_beside_a_src_layout_are_not_published(leo_repo, leo_run):
    """urllib3 keeps its test server package ``dummyserver`` beside ``src/``: not in the wheel."""
    repo = leo_repo(
        base={
            "src/lib/__init__.py": "def f(a):\n    return a\n",
            "dummyserver/__init__.py": "def serve(quit_event):\n    return quit_event\n",
        },
        head={
            "src/lib/__init__.py": "def f(a):\n    return a + 1\n",
            "dummyserver/__init__.py": "def serve():\n    return None\n",
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    assert run.agent("design").details["api_packages"] == ["src/lib"]


def test_move_out_of_a_src_layout_is_not_a_removal(leo_repo, leo_run):
    """reverse-requests (2.32.2 -> 2.31.0) moves the package from src/ back to the root."""
    repo = leo_repo(
        base={
            "src/app/__init__.py": "from app.core import compute_total\n",
            "src/app/core.py": CORE,
        },
        head={
            "src/app/__init__.py": None,
            "src/app/core.py": None,
            "app/__init__.py": "from app.core import compute_total\n",
            "app/core.py": CORE,
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    assert "src/app moved to app" in run.agent("design").details["api_not_breaks"]
    run.assert_verdict("PASS")


SIGNALS = '''"""Signals, as blinker 1.7.0 wrote them."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    T_callable = t.TypeVar("T_callable", bound=t.Callable[..., t.Any])
    WrapperType = t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]

F = t.TypeVar("F")
cast = t.cast
Handler = t.Callable[[int], int]


def lazy_property(func):
    return property(func)


class Base:
    pass


class Signal(object):
    @lazy_property
    def receiver_connected(self):
        return Signal()

    def send(self, sender=None, **kwargs):
        return sender

    def emit(self, sender=None, value=None):
        return sender, value

    def parseString(self, text):
        return text

    def reset(self):
        return None


class Named(Base):
    pass


class OldProcessor:
    pass


class Plain:
    pass
'''

SIGNALS_HEAD = '''"""Signals, as blinker 1.8.0 writes them."""

from __future__ import annotations

import typing as t
from functools import cached_property


def deprecated(message):
    def wrapper(func):
        return func

    return wrapper


def replaced_by_pep8(name, fn):
    return fn


class Base:
    pass


class Signal:
    @cached_property
    def receiver_connected(self):
        return Signal()

    def send(self, /, sender=None, **kwargs):
        return sender

    def emit(self, sender=None, /, value=None):
        return sender, value

    def parse_string(self, text):
        return text

    parseString = replaced_by_pep8("parseString", parse_string)
    reset = 0


class Named:
    pass


class NewProcessor:
    pass


OldProcessor = deprecated("OldProcessor was renamed to NewProcessor")(NewProcessor)
Plain = replaced_by_pep8("Plain", NewProcessor)
'''


def test_typing_helpers_imports_and_compatibility_aliases_are_not_breaks(leo_repo, leo_run):
    """blinker 1.8.0, iniconfig 2.0.0, pyparsing 3.1.2 and markdown 3.7 each escalated for
    changes no caller can see; the same file keeps the breaks a caller does see."""
    repo = leo_repo(
        base={"sig/__init__.py": "", "sig/base.py": SIGNALS},
        head={"sig/base.py": SIGNALS_HEAD},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        ("design.api.base-removed", "medium", "sig.base.Named no longer derives from Base"),
        ("design.api.object-kind", "medium", "sig.base.Plain changed from a class to an attribute"),
        ("design.api.object-kind", "medium", "sig.base.Signal.reset changed from a function to an attribute"),
        ("design.api.object-removed", "medium", "public attribute sig.base.Handler was removed or renamed"),
        ("design.api.object-removed", "medium", "public function sig.base.lazy_property was removed or renamed"),
        ("design.api.parameter-kind", "medium", "parameter 'sender' of sig.base.Signal.emit changed from positional or keyword to positional-only"),
    ]  # fmt: skip
    excused = "\n".join(run.agent("design").details["api_not_breaks"])
    for expected in (
        "sig.base.T_callable: a type variable",
        "sig.base.F: a type variable",
        "sig.base.WrapperType: defined only under `if TYPE_CHECKING:`",
        "sig.base.cast: a local name for typing.cast, imported from another package",
        "sig.base.Signal: an explicit `object` base is implied",
        "sig.base.Signal.receiver_connected: a property before and after",
        "sig.base.Signal.send: a method's first parameter is bound by the instance",
        "sig.base.Signal.parseString: still callable: a compatibility alias",
        "sig.base.OldProcessor: a deprecated alias of the renamed class",
    ):
        assert expected in excused
    assert "Expr" not in excused + "".join(m for _, _, m in _api(run))
    run.assert_verdict("ESCALATE")


def test_a_removal_re_exported_by_wildcard_imports_is_named_once(leo_repo, leo_run):
    """pyparsing 3.1.2 renamed ``exceptions.ExceptionWordUnicode``, which ``from .exceptions
    import *`` re-exported in three modules: one decision, not four."""
    repo = leo_repo(
        base={
            "pp/__init__.py": "",
            "pp/exceptions.py": "class WordChars:\n    pass\n\n\nclass ParseError(Exception):\n    pass\n",
            "pp/core.py": "from .exceptions import *\n",
            "pp/helpers.py": "from .core import *\n",
        },
        head={
            "pp/exceptions.py": "class _WordChars:\n    pass\n\n\nclass ParseError(Exception):\n    pass\n"
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        ("design.api.object-removed", "medium", "public class pp.exceptions.WordChars was removed or renamed")
    ]  # fmt: skip
    excused = run.agent("design").details["api_not_breaks"]
    assert "pp.core.WordChars: the same removal as pp.exceptions.WordChars" in excused
    assert "pp.helpers.WordChars: the same removal as pp.core.WordChars" in excused


def test_a_public_name_deleted_at_import_or_refused_by_getattr_is_removed(leo_repo, leo_run):
    # Round-3 red team: griffe reads `def legacy_helper` and never the `del legacy_helper` after
    # it, and a __getattr__ naming the old name only to raise read as one still serving it: PASS.
    deleted = CORE + "\n\ndel legacy_helper\n"
    refused = CORE.replace("def legacy_helper(value):\n    return value * 2\n\n\n", "") + (
        "\n\ndef __getattr__(name):\n"
        '    if name == "legacy_helper":\n'
        '        raise AttributeError("legacy_helper was removed in 2.0")\n'
        "    raise AttributeError(name)\n"
    )
    for head, line in ((deleted, 16), (refused, 4)):
        repo = leo_repo(
            base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": head}
        )
        run = leo_run(repo.change(), [DesignAgent])
        found = run.assert_finding("design.api.object-removed", path="app/core.py", line=line)
        assert "app.core.legacy_helper" in found.message
        run.assert_verdict("ESCALATE")
    # Hostile twins' honest sides: a deleted import or private helper, a name the base already
    # deleted, and a __getattr__ that warns and still returns the old name are no removals.
    kept = CORE.replace("def legacy_helper", "import os\n\n\ndef legacy_helper") + "\n\ndel os\n"
    served = refused.replace(
        '        raise AttributeError("legacy_helper was removed in 2.0")\n',
        "        return compute_total\n",
    )
    for base, head in (
        (CORE, kept),
        (deleted, deleted + "\n\ndel _private_helper\n"),
        (CORE, served),
    ):
        repo = leo_repo(
            base={"app/__init__.py": "", "app/core.py": base}, head={"app/core.py": head}
        )
        run = leo_run(repo.change(), [DesignAgent])
        assert _api(run) == [], head


ARRAY = '''class Items:
    @staticmethod
    def array(raw: str = None, *, sep=None):
        """Make an array from its text."""
        if raw is None:
            raw = "[]"
        return raw.strip()
'''
SAME = ARRAY.replace("raw: str = None", 'raw: str = "[]"')


@pytest.mark.parametrize(
    ("head", "changed"),
    [
        # the base's first step turned None into "[]": a call without it gets the same value
        (SAME, []),
        # hostile twins: another value than the base substituted; a default the base kept
        (ARRAY.replace("raw: str = None", 'raw: str = "{}"'), ["raw"]),
        (SAME.replace("sep=None", 'sep="x"'), ["sep"]),
    ],
)
def test_a_default_the_base_put_in_place_of_none_is_the_same_default(
    leo_repo, leo_run, head, changed
):
    repo = leo_repo(base={"app/__init__.py": "", "app/make.py": ARRAY}, head={"app/make.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    found = [f.message for f in run.findings if f.rule_id == "design.api.parameter-default"]
    assert [message.split("'")[1] for message in found] == changed


@pytest.mark.parametrize(
    "base_body",
    [
        '    if raw is None:\n        raw = "[]"\n    else:\n        raw = raw.upper()\n',
        '    print(raw)\n    if raw is None:\n        raw = "[]"\n',
        '    if not raw:\n        raw = "[]"\n',
        '    if raw is None:\n        raw = "[]"\n        raw = raw + " "\n',
    ],
)
def test_a_none_the_base_replaced_otherwise_is_still_a_changed_default(
    leo_repo, leo_run, base_body
):
    base = f"def array(raw=None):\n{base_body}    return raw\n"
    head = 'def array(raw="[]"):\n    return raw\n'
    repo = leo_repo(base={"app/__init__.py": "", "app/make.py": base}, head={"app/make.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    run.assert_finding("design.api.parameter-default")


NEVER_IMPORTS = "escapes = ['0', 'b']\nescapedchars = ['\\0', '\\b']\npairs = dict(zip(_escapes, _escapedchars))\n"


@pytest.mark.parametrize(
    ("common", "removed"),
    [
        # toml 0.10.1's common.py read names nothing defines: importing it always raised
        (NEVER_IMPORTS, False),
        # hostile twins: a module that imports fine is API, whatever it reads later or guards
        (
            NEVER_IMPORTS.replace("_escapes", "escapes").replace("_escapedchars", "escapedchars"),
            True,
        ),
        (NEVER_IMPORTS + "_escapes = _escapedchars = []\n", True),
        ("try:\n    pairs = dict(zip(_escapes, []))\nexcept NameError:\n    pairs = {}\n", True),
        ("from string import *\n\npairs = dict(zip(_escapes, []))\n", True),
        ("from __future__ import annotations\n\npairs: Mapping = {}\n", True),
        ("def pairs():\n    return dict(zip(_escapes, []))\n", True),
        ("label = _('gettext installs _ into builtins')\n", True),
        # round-6 red team: names bound where the module's statements do not show them
        ("globals().update({'_escapes': []})\npairs = dict(zip(_escapes, []))\n", True),
        ("vars()['_escapes'] = []\npairs = list(_escapes)\n", True),
        ("exec('_escapes = []')\npairs = list(_escapes)\n", True),
        (
            "import sys\nsetattr(sys.modules[__name__], '_escapes', [])\npairs = list(_escapes)\n",
            True,
        ),
        ("import builtins\nbuiltins._escapes = []\npairs = list(_escapes)\n", True),
        (
            "import gettext\ngettext.install('app', names=['ngettext'])\nn = ngettext('a', 'b', 2)\n",
            True,
        ),
    ],
)
def test_a_module_that_could_never_be_imported_is_no_api_to_remove(
    leo_repo, leo_run, common, removed
):
    repo = leo_repo(
        base={"lib/__init__.py": "", "lib/common.py": common, "lib/core.py": "X = 1\n"},
        head={"lib/common.py": None, "lib/core.py": "X = 2\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    found = [f.message for f in run.findings if f.rule_id == "design.api.object-removed"]
    assert bool(found) == removed, found
    if not removed:
        (why,) = [w for w in run.agent("design").details["api_not_breaks"] if "lib.common" in w]
        assert "could never be imported at the base" in why and "`_escapes`" in why


def test_a_module_reading_a_name_another_module_puts_into_builtins_is_api(leo_repo, leo_run):
    """Round-7 red team: the package's ``__init__`` ran ``builtins.BASE_RATE = 2`` before
    importing ``common``, which reads ``BASE_RATE``: it imports fine, yet its removal was
    "never importable" and PASSed."""
    init = "import builtins\n\nbuiltins.BASE_RATE = 2\nfrom lib import common  # noqa: E402\n"
    repo = leo_repo(
        base={"lib/__init__.py": init, "lib/common.py": "RATE = BASE_RATE * 2\n"},
        head={"lib/__init__.py": "", "lib/common.py": None},
    )
    run = leo_run(repo.change(), [DesignAgent])
    run.assert_finding("design.api.object-removed", path="lib/common.py")
    run.assert_verdict("ESCALATE")


@pytest.mark.parametrize(
    ("head_body", "changed"),
    [
        # python-multipart: a mutable default made None and put in place inside
        ("    if config is None:\n        config = {}\n", False),
        # hostile twins: another value in its place, or none at all
        ("    if config is None:\n        config = []\n", True),
        ("    config = config or {}\n", True),
    ],
)
def test_a_default_made_none_and_put_in_place_inside_is_the_same_default(
    leo_repo, leo_run, head_body, changed
):
    base = "def parse(data, config={}):\n    return dict(config, data=data)\n"
    head = f"def parse(data, config=None):\n{head_body}    return dict(config, data=data)\n"
    repo = leo_repo(base={"app/__init__.py": "", "app/form.py": base}, head={"app/form.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    found = [f for f in run.findings if f.rule_id == "design.api.parameter-default"]
    assert bool(found) == changed


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        ("[]", True),
        ("{}", True),
        ("set()", True),
        ("time.time()", True),
        ("(1, -2)", False),
        ("DEFAULT", False),
    ],
)
def test_a_default_made_once_at_the_head_must_be_the_same_value_at_each_call(
    leo_repo, leo_run, value, changed
):
    """Round-6 red team: ``cart=None`` that the base's body made ``[]`` became ``cart=[]``: one
    list every call shares (carts leaked between calls), reported as the same default. A value
    made once or at each call alike (a constant, a name, a tuple of them) still is."""
    base = (
        "import time\n\nDEFAULT = 3\n\n\ndef add(item, cart=None):\n"
        f"    if cart is None:\n        cart = {value}\n    return cart\n"
    )
    head = base.replace("cart=None", f"cart={value}")
    repo = leo_repo(base={"app/__init__.py": "", "app/cart.py": base}, head={"app/cart.py": head})
    run = leo_run(repo.change(), [DesignAgent])
    found = [f.message for f in run.findings if f.rule_id == "design.api.parameter-default"]
    assert bool(found) == changed, found


def test_a_minor_bump_before_1_0_declares_the_breaks_when_the_version_moved_files(
    leo_repo, leo_run
):
    """docopt-ng 0.9.0 moved ``__version__`` from ``__init__.py`` into ``_version.py`` and
    removed ``magic``: its 0.8.1 -> 0.9.0 bump was not found, so the breaks asked a LEAD."""
    repo = leo_repo(
        base={"app/__init__.py": '__version__ = "0.3.1"\n', "app/core.py": CORE},
        head={
            "app/__init__.py": "from ._version import __version__ as __version__\n",
            "app/_version.py": '__version__ = "0.4.0"\n',
            "app/core.py": BROKEN,
        },
    )
    api = _api(leo_run(repo.change(), [DesignAgent]))
    assert [severity for _, severity, _ in api] == ["info", "info"]
    assert "version 0.3.1 -> 0.4.0 in app/_version.py (moved from app/__init__.py)" in api[0][2]


@pytest.mark.parametrize(
    "head",
    [
        # the version moved, with no major (0.x: minor) bump
        {"app/__init__.py": "from ._version import __version__\n", "app/_version.py": '__version__ = "0.3.2"\n'},
        # a second file claims a bump while the file that holds it at both sides does not
        {"app/__init__.py": '__version__ = "0.3.2"\n', "app/_version.py": '__version__ = "9.0.0"\n'},
    ],
)  # fmt: skip
def test_a_moved_or_contradicted_version_without_a_bump_declares_nothing(leo_repo, leo_run, head):
    repo = leo_repo(
        base={"app/__init__.py": '__version__ = "0.3.1"\n', "app/core.py": CORE},
        head={**head, "app/core.py": BROKEN},
    )
    assert {s for _, s, _ in _api(leo_run(repo.change(), [DesignAgent]))} == {"medium"}
