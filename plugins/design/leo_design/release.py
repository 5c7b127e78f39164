"""Whether a change declares its API breaks: a major version bump, or a changelog entry naming them.

A break that is announced is a release decision, not an accident, so it is reported as ``info``
instead of blocking. Both declarations are read from the change itself (base vs head).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import PurePosixPath

from leo import Change
from leo_design.settings import DesignSettings

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")
_ASSIGNED = re.compile(r"""^\s*__version__\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_VERSION_MODULES = ("__about__.py", "_version.py", "version.py", "__init__.py")


async def version_bump(change: Change, package_dir: str, settings: DesignSettings) -> str | None:
    """``"version 1.4.2 -> 2.0.0"`` when the change bumps the major version, else None.

    For 0.x versions a minor bump counts as major (semver: anything may change before 1.0).
    The first file that holds the version at both sides decides; when none does, the version
    moved (docopt-ng 0.9.0: ``__version__`` from ``__init__.py`` into ``_version.py``), and the
    first file that holds it at each side decides.
    """
    candidates = _version_files(package_dir, settings)
    bases = [_version_in(c, await change.read(c, "base")) for c in candidates]
    heads = [_version_in(c, await change.read(c, "head")) for c in candidates]
    both = [(c, b, h) for c, b, h in zip(candidates, bases, heads, strict=True) if b and h]
    if both:
        [(where, base, head), *_] = both
    else:
        found = [
            next(((c, v) for c, v in zip(candidates, side, strict=True) if v), None)
            for side in (bases, heads)
        ]
        if found[0] is None or found[1] is None:
            return None
        (was_in, base), (where, head) = found
        where = f"{where} (moved from {was_in})"
    old, new = _major_minor(base), _major_minor(head)
    if old is None or new is None:
        return None
    if new[0] > old[0] or (old[0] == new[0] == 0 and new[1] > old[1]):
        return f"version {base} -> {head} in {where}"
    return None


async def changelog_additions(change: Change, settings: DesignSettings) -> str:
    """The lines the change adds to the configured changelog ("" when none is configured)."""
    if settings.changelog is None:
        return ""
    changed = change.file(settings.changelog)
    if changed is None:
        return ""
    data = await change.read(settings.changelog, "head")
    if data is None:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[n - 1] for n in changed.added_lines if 0 < n <= len(lines))


#: Words with which a changelog line announces a break (``Removed``, ``renamed``, ``no longer``,
#: ``now requires``, ``changed the default``, ``keyword-only``, ``BREAKING``).
_BREAK_WORDS = re.compile(
    r"remov|renam|delet|drop|deprecat|break|no\s+longer|replac|\bmov(?:e|ed|es|ing)\b|chang"
    r"|requir|incompatib|keyword|positional|\bsignature",
    re.IGNORECASE,
)


def mentions(text: str, dotted: str) -> bool:
    """True when a line of ``text`` names the object ``dotted`` (by its full or its short name)
    and says it breaks (``_BREAK_WORDS``): a line that only names it ("Fixed a typo in the docs
    of `load_config`", round-7 red team) announces nothing.

    A parameter break (``pkg.mod.func(param)``) needs both the function and the parameter
    named: announcing one change to a function does not announce every other.
    """
    obj, _, param = dotted.partition("(")
    param = param.rstrip(")")
    return any(
        _BREAK_WORDS.search(line)
        and (not param or _names(line, param))
        and (_names(line, obj) or _names(line, obj.rsplit(".", 1)[-1]))
        for line in text.splitlines()
    )


def _names(text: str, name: str) -> bool:
    return bool(name) and re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None


def _version_files(package_dir: str, settings: DesignSettings) -> list[str]:
    if settings.version_file is not None:
        return [settings.version_file]
    package = PurePosixPath(package_dir)
    # The nearest pyproject.toml above the package first (a monorepo's distribution, or the
    # root), then the package's own version module, then pyproject files further up.
    projects = [str(parent / "pyproject.toml") for parent in package.parents]
    modules = [str(package / name) for name in _VERSION_MODULES]
    return list(dict.fromkeys([*projects[:1], *modules, *projects[1:]]))


def _version_in(path: str, data: bytes | None) -> str | None:
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    if path.endswith(".toml"):
        return _toml_version(text)
    match = _ASSIGNED.search(text)
    if match:
        return match[1]
    stripped = text.strip()  # a bare VERSION file
    return stripped if "\n" not in stripped and _VERSION.match(stripped) else None


def _toml_version(text: str) -> str | None:
    """``[project].version`` or ``[tool.poetry].version``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    tool = doc.get("tool")
    tables = [doc.get("project"), tool.get("poetry") if isinstance(tool, dict) else None]
    versions = [t.get("version") for t in tables if isinstance(t, dict)]
    return next((v for v in versions if isinstance(v, str)), None)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = _VERSION.match(version)
    if not match:
        return None
    return int(match[1]), int(match[2] or 0)
