"""Which files of a change are migrations, in which folder, with which version and rollback.

Plain SQL folders (Supabase, golang-migrate ``.up.sql``/``.down.sql``, dbmate sections, Flyway
``V1__x.sql``) are found by path; Alembic revisions and Django migrations by path and then by
their Python AST (``pymigrations``). Folder listings at either side come from ``git ls-tree``,
so no checkout is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from leo import Change, ChangedFile, LeoError, run_git

_ROLLBACK_SUFFIXES = (".down.sql", ".undo.sql", ".rollback.sql")
_FLYWAY = re.compile(r"^[VR](\d+(?:[._]\d+)*)__")
_LEADING = re.compile(r"^(\d+)")


@dataclass
class SqlMigration:
    """One forward SQL migration of a folder, at the head of the change."""

    path: str
    folder: str
    version: tuple[int, ...] | None
    status: str
    """How the change touches it: added, modified, renamed, copied, or ``unchanged``."""
    rollback: str | None = None
    """Path of its separate rollback file at head, if any."""
    rollback_changed: bool = False


@dataclass
class SqlFolder:
    """A migration folder the change touches, listed at both sides."""

    path: str
    base: list[str] = field(default_factory=list)
    """Forward migrations on the base branch, in apply order."""
    head: list[SqlMigration] = field(default_factory=list)
    """Forward migrations at head, in apply order."""
    rollbacks_used: bool = False
    """True when the folder follows a convention with rollback files."""

    @property
    def supabase(self) -> bool:
        return self.path == "supabase/migrations" or self.path.endswith("/supabase/migrations")

    def changed(self) -> list[SqlMigration]:
        return [m for m in self.head if m.status != "unchanged" or m.rollback_changed]


def in_sql_dir(path: str, dirs: tuple[str, ...]) -> bool:
    if not path.endswith(".sql"):
        return False
    return any(path.startswith(d) or f"/{d}" in path for d in dirs)


def is_rollback(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(_ROLLBACK_SUFFIXES) or (name.startswith("U") and "__" in name)


def rollback_names(path: str) -> list[str]:
    """Rollback files a forward migration may have: ``x.up.sql`` or ``x.sql`` -> ``x.down.sql``."""
    stem = path[: -len(".up.sql")] if path.endswith(".up.sql") else path[: -len(".sql")]
    return [stem + s for s in _ROLLBACK_SUFFIXES]


def version_of(path: str) -> tuple[int, ...] | None:
    """The ordering version of a migration file name, or None when it has none."""
    name = PurePosixPath(path).name
    if m := _FLYWAY.match(name):
        return tuple(int(p) for p in re.split(r"[._]", m[1]))
    if m := _LEADING.match(name):
        return (int(m[1]),)
    return None


def order_key(path: str) -> tuple[int, tuple[int, ...], str]:
    version = version_of(path)
    return (0 if version is not None else 1, version or (), PurePosixPath(path).name)


async def list_tree(change: Change, sha: str, folder: str) -> list[str]:
    """Paths of the regular files directly in ``folder`` at commit ``sha``."""
    out = await run_git(
        change.repo,
        "ls-tree",
        "-z",
        "--full-tree",
        "--name-only",
        sha,
        f"{folder}/",
        timeout=60,
        check=False,
    )
    if out.returncode != 0:
        msg = f"git ls-tree {folder} failed: {out.stderr_text.strip()[:300]}"
        raise LeoError(msg)
    return [p for p in out.stdout_text.split("\0") if p]


async def sql_folders(change: Change, dirs: tuple[str, ...]) -> list[SqlFolder]:
    """The SQL migration folders the change touches, with their migrations at both sides."""
    touched: dict[str, ChangedFile] = {
        f.path: f for f in change.files if f.status != "deleted" and in_sql_dir(f.path, dirs)
    }
    folders = sorted({str(PurePosixPath(p).parent) for p in touched})
    result = []
    for folder in folders:
        base_files = [
            p for p in await list_tree(change, change.base_sha, folder) if p.endswith(".sql")
        ]
        head_files = [
            p for p in await list_tree(change, change.head_sha, folder) if p.endswith(".sql")
        ]
        base_set, head_set = set(base_files), set(head_files)
        sql = SqlFolder(folder)
        sql.base = sorted((p for p in base_files if not is_rollback(p)), key=order_key)
        sql.rollbacks_used = any(is_rollback(p) or p.endswith(".up.sql") for p in head_set)
        for path in sorted((p for p in head_files if not is_rollback(p)), key=order_key):
            changed = touched.get(path)
            status = changed.status if changed else "unchanged"
            if status == "modified" and path not in base_set:
                status = "added"
            rollback = next((r for r in rollback_names(path) if r in head_set), None)
            sql.head.append(
                SqlMigration(
                    path=path,
                    folder=folder,
                    version=version_of(path),
                    status=status,
                    rollback=rollback,
                    rollback_changed=rollback is not None and rollback in touched,
                )
            )
        if sql.changed():
            result.append(sql)
    return result
