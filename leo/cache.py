"""Result cache: reuse a sub-agent's result when nothing it depends on has changed.

The key covers the sub-agent and its plugin's version, its settings, the versions of the tools
its distribution depends on, LEO's version, and the content it analyses: the changed files'
blob ids (``cache_scope = "change"``) or the base and head trees (``"tree"``, the default,
safe for agents that read more than the changed files). Errors and timeouts are never cached.

Entries are JSON files named by the key's sha256, written atomically (safe under concurrent
runs), validated on read (a corrupt entry is a miss) and evicted oldest-first beyond a size cap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from leo.__about__ import __version__
from leo.models import SubAgentResult
from leo.process import run_tool

if TYPE_CHECKING:
    from leo.change import Change
    from leo.subagent import Job

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
CACHEABLE = frozenset({"passed", "warned", "failed", "skipped"})
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def default_dir() -> Path:
    """``LEO_CACHE_DIR``, else ``$XDG_CACHE_HOME/leo/results`` (``~/.cache/leo/results``)."""
    if os.environ.get("LEO_CACHE_DIR"):
        return Path(os.environ["LEO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leo" / "results"


def tool_versions(distribution: str) -> dict[str, str]:
    """Versions of the installed distributions ``distribution`` depends on (its tools)."""
    try:
        requires = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    out = {}
    for req in requires:
        match = _REQ_NAME.match(req)
        if not match or "extra ==" in req:
            continue
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[match[1].lower()] = importlib.metadata.version(match[1])
    return out


def code_digest(cls: type) -> str:
    """sha256 of the source files of the package defining ``cls``: an edited plugin (an
    editable install keeps its version) never reuses results of its older code."""
    module = importlib.import_module(cls.__module__.split(".")[0])
    file = getattr(module, "__file__", None)
    if not file:
        return ""
    top = Path(file).parent if Path(file).name == "__init__.py" else Path(file)
    files = sorted(top.rglob("*.py")) if top.is_dir() else [top]
    digest = hashlib.sha256()
    for path in files:
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()


class ResultCache:
    """A directory of cached ``SubAgentResult``s, bounded to ``max_bytes``."""

    def __init__(self, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root or default_dir()
        self.max_bytes = max_bytes
        self._trees: dict[tuple[str, str], list[str]] = {}

    async def key(self, job: Job, change: Change) -> str | None:
        """The cache key of ``job`` on ``change``; None when the sub-agent opts out."""
        scope = getattr(job.spec.cls, "cache_scope", "tree")
        if scope == "none":
            return None
        if scope == "change":
            content: Any = [
                [f.path, f.old_path, f.status, f.mode, f.old_blob, f.new_blob] for f in change.files
            ]
        else:
            content = await self._trees_of(change)
        doc = {
            "leo": __version__,
            "agent": job.spec.name,
            "plugin": [job.spec.plugin, job.spec.version, code_digest(job.spec.cls)],
            "settings": job.settings,
            "tools": tool_versions(job.spec.plugin),
            "scope": scope,
            "content": content,
        }
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def _trees_of(self, change: Change) -> list[str]:
        pair = (change.base_sha, change.head_sha)
        if pair not in self._trees:
            done = await run_tool(
                [
                    "git",
                    "-C",
                    change.repo,
                    "rev-parse",
                    f"{pair[0]}^{{tree}}",
                    f"{pair[1]}^{{tree}}",
                ],
                timeout=60,
            )
            self._trees[pair] = done.stdout_text.split()
        return self._trees[pair]

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> SubAgentResult | None:
        path = self._path(key)
        try:
            result = SubAgentResult.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError):
            with contextlib.suppress(OSError):
                path.unlink()  # corrupt or unreadable: a miss, and gone
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used: evicted last
        return result.model_copy(update={"cached": True})

    def put(self, key: str, result: SubAgentResult) -> None:
        if result.status not in CACHEABLE:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(result.model_copy(update={"cached": False}).model_dump_json())
            os.replace(tmp, path)
            self._evict()
        except OSError:
            return  # a cache that cannot be written is only a slower run

    def _evict(self) -> None:
        entries = []
        for path in self.root.glob("*/*.json"):
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
