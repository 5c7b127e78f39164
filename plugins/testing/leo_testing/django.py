"""Which Django settings a project's tests run with, read from the base's files.

A reusable Django app's tests need Django configured, and many name their settings only where
pytest does not look: tox's ``django test --settings=tests.settings`` (django-taggit 5.0.0), a
``runtests.py``'s ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)``, or nowhere but a
``tests/settings.py`` beside the tests (django-oauth-toolkit 2.4.0's sdist, which leaves its
tox.ini out). Without them every test errors with "settings are not configured" and the suite
gives no evidence. pytest-django runs them once it knows the module; one that pytest's own
configuration names is pytest-django's to read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from leo import parse_python
from leo_testing.harness import pytest_options

#: Files that may name the settings, in the order they are believed.
PYTEST_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
TOX_FILES = ("tox.ini", "pyproject.toml", "setup.cfg")
RUNNERS = ("runtests.py", "tests/runtests.py", "manage.py", "tests/manage.py")
#: Where a reusable app keeps the settings its tests use, when nothing names them; the module
#: must read as settings (django-oauth-toolkit's ``tests/test_settings.py`` is a test module).
CONVENTIONAL = (
    "tests/settings.py", "tests/settings/__init__.py", "tests/test_settings.py", "test_settings.py",
)  # fmt: skip
FILES = tuple(dict.fromkeys((*PYTEST_FILES, *TOX_FILES, *RUNNERS, *CONVENTIONAL)))
_SETTINGS_LIKE = re.compile(rb"^(INSTALLED_APPS|DATABASES)\s*[:=]", re.MULTILINE)
_TOX_OPTION = re.compile(r"--settings[= ]([A-Za-z_][\w.]*)")
_TOX_ENV = re.compile(r"\bDJANGO_SETTINGS_MODULE\s*=\s*([A-Za-z_][\w.]*)")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Settings:
    """The settings module the tests need, and where LEO read it."""

    module: str | None
    """None when pytest's own configuration names it (pytest-django reads it there)."""
    source: str


def find(files: Mapping[str, bytes | None], listing: Iterable[str]) -> Settings | None:
    """The Django settings for a project's tests from its (base) ``files`` (``FILES``) and the
    paths it holds, or None when nothing names any. A module LEO names itself must be a file
    of the project."""
    paths = set(listing)
    for name in PYTEST_FILES:
        options = pytest_options(name, files.get(name)) if files.get(name) is not None else None
        if options and any(k.lower() == "django_settings_module" and v for k, v in options.items()):
            return Settings(None, f"{name} (pytest's configuration)")
    for name in TOX_FILES:
        text = (files.get(name) or b"").decode("utf-8", "replace")
        for pattern in (_TOX_OPTION, _TOX_ENV):
            for m in pattern.finditer(text):
                if _exists(m[1], paths):
                    return Settings(m[1], f"{name} ({m[0].strip()})")
    for name in RUNNERS:
        module = _set_in(files.get(name))
        if module is not None and _exists(module, paths):
            return Settings(module, f"{name} (DJANGO_SETTINGS_MODULE)")
    for path in CONVENTIONAL:
        if path in paths and _SETTINGS_LIKE.search(files.get(path) or b""):
            module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            return Settings(module, f"{path} (a test settings module beside the tests)")
    return None


def _exists(module: str, paths: set[str]) -> bool:
    if not _DOTTED.fullmatch(module):
        return False
    stem = module.replace(".", "/")
    return f"{stem}.py" in paths or f"{stem}/__init__.py" in paths


def _set_in(data: bytes | None) -> str | None:
    """The literal a script gives ``DJANGO_SETTINGS_MODULE`` (``os.environ.setdefault(...)``,
    ``os.environ[...] = ...``)."""
    if not data:
        return None
    try:
        tree = parse_python(data)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        args: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "setdefault" and len(node.args) == 2:
                args = list(node.args)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Subscript):
                args = [target.slice, node.value]
        if (
            len(args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args)
            and args[0].value == "DJANGO_SETTINGS_MODULE"  # type: ignore[attr-defined]
        ):
            return str(args[1].value)  # type: ignore[attr-defined]
    return None
