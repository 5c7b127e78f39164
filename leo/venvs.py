"""What a build did to a virtual environment beyond installing distributions.

A change's ``setup.py`` or build backend runs while the environment it installs into is
writable, and that environment then runs both sides' tests or benchmarks. A ``.pth`` it wrote
there runs at every interpreter start, before any test: it can strip a check from the base's
code too, so that the base's run "fails the same way" (Testing) or is slowed like the head
(Performance). So every sub-agent that builds an environment from a change's head checks it
against the distributions' RECORDs before any run (``planted``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

#: Files the interpreter runs at start-up from a site directory.
_STARTUP = ("sitecustomize.py", "usercustomize.py")
_LIMIT = 50


def planted(venv: Path, own: Iterable[str] = ()) -> list[str]:
    """What the build did to ``venv`` beyond installing distributions: an installed file whose
    content differs from its distribution's RECORD (pytest's own source edited), a ``.pth`` or
    start-up module no distribution's RECORD lists, and one that a distribution named in
    ``own`` (the change's own project, when it stays installed) lists, whatever other RECORD
    claims it too (a wheel can install a second ``.dist-info`` as data): its wheel is the
    change's code too. So is a distribution pip installed from a local file or folder (its
    PEP 610 ``direct_url.json`` names a ``file:`` URL, not editable): the only index is the
    configured one, so a local path is the change's own vendored code (round-5 red team: a
    committed wheel required as ``shopboot @ file:///proc/self/cwd/vendor/…`` shipped a
    ``.pth`` that repaired the change's broken function in every test run: PASS); a pytest
    plugin such a local distribution registers (``[pytest11]``) runs in every run too.

    Bytecode is removed instead: a build that imports installed code rewrites their caches
    (tqdm 4.66.5's build left numpy's ``conv_template.cpython-311.pyc`` unlike its RECORD), yet
    a planted one is run in place of its verified source. Without them Python compiles from the
    sources, which the environment, read-only during the runs, keeps as checked."""
    mine = {_normalise(name) for name in own}
    found: list[str] = []
    for site in sorted(venv.glob("lib/python*/site-packages")):
        owned: dict[Path, str] = {}
        owners: dict[Path, set[str]] = {}
        for record in sorted(site.glob("*.dist-info/RECORD")):
            try:
                rows = list(csv.reader(record.read_text("utf-8", "replace").splitlines()))
            except csv.Error:
                continue
            for row in rows:
                if not row or not row[0]:
                    continue
                file = (site / row[0]).resolve()
                owned[file] = row[1] if len(row) > 1 else ""
                owners.setdefault(file, set()).add(record.parent.name)
                if not owned[file].startswith("sha256=") or not file.is_file():
                    continue
                if file.suffix == ".pyc" or _digest(file) == owned[file].removeprefix("sha256="):
                    continue
                found.append(f"{row[0]} differs from what {record.parent.name} installed")
        for cache in site.rglob("__pycache__/*.pyc"):
            digest = owned.get(cache.resolve(), "").removeprefix("sha256=")
            if not digest or _digest(cache) != digest:
                cache.unlink()
        for entry in sorted(site.iterdir()):
            hook = entry.suffix == ".pth" or entry.name in _STARTUP
            if not hook or not entry.is_file():
                continue
            by = sorted(owners.get(entry.resolve(), ()))
            ours = [b for b in by if _normalise(b.split("-")[0]) in mine or _local(site / b)]
            if not by:
                found.append(f"{entry.name} (start-up code no distribution installed)")
            elif ours:  # listed by the project's RECORD, whatever else claims it too
                found.append(f"{entry.name} (start-up code the change's own {ours[0]} installed)")
        for info in sorted(site.glob("*.dist-info")):
            # a pytest plugin's own wheel registers itself: the project's tests need it
            own_project = _normalise(info.name.split("-")[0]) in mine
            if not own_project and _local(info) and _plugs_into_pytest(info):
                found.append(f"{info.name} (a pytest plugin installed from the change's files)")
    return found[:_LIMIT]


def _local(info: Path) -> bool:
    """Whether pip installed the ``.dist-info`` at ``info`` from a local file or folder, not
    as an editable project (a custom setup's ``pip install -e .``)."""
    try:
        origin = json.loads((info / "direct_url.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(origin, dict) or not str(origin.get("url", "")).startswith("file:"):
        return False
    folder = origin.get("dir_info")
    return not (isinstance(folder, dict) and folder.get("editable") is True)


def _plugs_into_pytest(info: Path) -> bool:
    try:
        text = (info / "entry_points.txt").read_text("utf-8", "replace")
    except OSError:
        return False
    return re.search(r"^\s*\[\s*pytest11\s*\]", text, re.MULTILINE) is not None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _digest(path: Path) -> str:
    """A file's sha256 as a wheel's RECORD writes it (urlsafe base64, unpadded)."""
    with path.open("rb") as fh:
        digest = base64.urlsafe_b64encode(hashlib.file_digest(fh, "sha256").digest())
    return digest.rstrip(b"=").decode()
