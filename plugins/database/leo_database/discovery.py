"""Which files of a change are migrations, in which folder, with which version and rollback.

Migrations are found the way the tools that apply them find them (issue 17.5): the Supabase CLI
applies every ``<digits>_<name>.sql`` directly in ``supabase/migrations/`` (``.down.sql``
included, it has no rollbacks); Flyway ``V<v>__<name>.sql`` (``U`` undo, ``R`` repeatable) and
golang-migrate ``<v>_<name>.up.sql``/``.down.sql`` wherever they are; Prisma
``prisma/migrations/<dir>/migration.sql``; dbmate sections and the configured folders by path.
Alembic revisions and Django migrations are found by path and then by their Python AST
(``pymigrations``). Any other changed ``.sql`` file is still analysed as SQL (``loose_sql``).
Folder listings at either side come from ``git ls-tree``, so no checkout is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from leo import Change, ChangedFile, LeoError, run_git

_ROLLBACK_SUFFIXES = (".down.sql", ".undo.sql", ".rollback.sql")
_FLYWAY = re.compile(r"^[VR](\d+(?:[._]\d+)*)__")
_LEADING = re.compile(r"^(\d+)")
#: The Supabase CLI's migration file name (``migration.go``: ``^([0-9]+)_(.*)\.sql$``).
SUPABASE_NAME = re.compile(r"^\d+_.*\.sql$")
#: File names a migration tool claims wherever the file is (Flyway, golang-migrate).
TOOL_NAMES = (
    re.compile(r"^[VUR]\d*(?:[._]\d+)*__.+\.sql$"),  # Flyway: V1__x.sql, U1__x.sql, R__x.sql
    re.compile(r"^\d+_.+\.(?:up|down)\.sql$"),  # golang-migrate
)
#: Prisma keeps one folder per migration: ``prisma/migrations/<timestamp>_<name>/migration.sql``.
_PRISMA = re.compile(r"(?:^|/)prisma/migrations/[^/]+/migration\.sql$")


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
        return is_supabase(self.path)

    def changed(self) -> list[SqlMigration]:
        return [m for m in self.head if m.status != "unchanged" or m.rollback_changed]


def in_sql_dir(path: str, dirs: tuple[str, ...]) -> bool:
    """True when a migration tool would apply ``path``: by its folder or by its name."""
    if not path.endswith(".sql"):
        return False
    name = PurePosixPath(path).name
    if any(p.match(name) for p in TOOL_NAMES) or _PRISMA.search(path):
        return True
    return any(path.startswith(d) or f"/{d}" in path for d in dirs)


def is_supabase(folder: str) -> bool:
    return folder == "supabase/migrations" or folder.endswith("/supabase/migrations")


def is_forward(path: str, folder: str) -> bool:
    """A file its folder's tool applies going forward (Supabase applies its ``.down.sql`` too)."""
    if is_supabase(folder):
        return bool(SUPABASE_NAME.match(PurePosixPath(path).name))
    return not is_rollback(path)


#: SQL a template engine renders before anything runs it (``0002_drop.sql.j2``, ``.sql.tmpl``,
#: ``.pgsql.mako``): what it will run is known only once rendered.
_SQL_TEMPLATE = re.compile(r"\.(?:sql|pgsql|psql)\.\w+$", re.IGNORECASE)


def unreadable_migration(path: str) -> str | None:
    """Why a changed migration of a framework LEO cannot analyse is unread, or None."""
    if re.search(r"(?:^|/)db/migrate/\d+_\w+\.rb$", path):
        return "a Rails migration (Ruby): the Database sub-agent cannot analyse it"
    if _SQL_TEMPLATE.search(path):
        # round-7 red team: migrations/0002_drop.sql.j2 dropping a table PASSed as no migration
        return "SQL in a template: what it runs is known only once rendered"
    return None


#: A shell line that hands psql SQL written in the script itself: a here-document or ``-c``.
_INLINE_PSQL = re.compile(rb"\bpsql\b[^\n]*(?:<<|\s-c\b|\s--command\b)")


async def inline_psql(change: Change) -> list[str]:
    """Changed shell scripts that feed psql SQL of their own (round-7 red team: ``psql <<'SQL'
    DROP TABLE users; SQL`` in ``scripts/cleanup.sh`` PASSed, the same statement in
    ``scripts/cleanup.sql`` FAILed): SQL the Database sub-agent does not read."""
    paths = [
        f.path for f in change.files if f.status != "deleted" and f.path.endswith((".sh", ".bash"))
    ]
    data = await change.read_many(paths, "head") if paths else {}
    return [p for p in paths if _INLINE_PSQL.search(data.get(p) or b"")]


#: Suffixes of SQL scripts besides ``.sql``: ``psql -f`` runs a ``.pgsql`` or ``.psql`` all the
#: same (``db/changes/0003_cleanup.pgsql`` dropping a table had PASSed as no migration).
SQL_SCRIPT_SUFFIXES = (".sql", ".pgsql", ".psql")


def loose_sql(change: Change, folders: list[SqlFolder]) -> list[ChangedFile]:
    """Changed SQL scripts no migration discovery claims: still analysed as SQL."""
    claimed = {m.path for f in folders for m in f.head}
    claimed |= {m.rollback for f in folders for m in f.head if m.rollback}
    return [
        f
        for f in change.files
        if f.path.endswith(SQL_SCRIPT_SUFFIXES) and f.status != "deleted" and f.path not in claimed
    ]


#: Folder names that hold a project's test data, not SQL anyone applies (issue 18: sqlparse's
#: ``tests/files/*.sql`` are inputs for a SQL parser, in dialects squawk does not read).
_TEST_DATA_DIRS = frozenset({"tests", "test", "testing", "testdata", "test_data", "fixtures"})


def is_test_data(path: str) -> bool:
    """Whether loose SQL lives in a test-data folder (only for files no migration tool claims)."""
    return any(part in _TEST_DATA_DIRS for part in PurePosixPath(path).parts[:-1])


async def named_outside_tests(change: Change, paths: list[str]) -> set[str]:
    """Those of ``paths`` whose file name a file outside the test-data folders mentions at head.

    Test-data SQL is context only while nothing applies it: a script, Makefile, workflow or
    migration that names the file (``psql -f tests/seed.sql``, ``op.execute(open(...).read())``)
    may feed it to a real database, so the file gates again. One ``git grep`` over the head tree.
    """
    names = {PurePosixPath(p).name: p for p in paths}
    if not names:
        return set()
    patterns = [arg for name in names for arg in ("-e", name)]
    out = await run_git(
        change.repo, "grep", "-z", "-o", "-I", "-F", *patterns, change.head_sha, "--",
        timeout=60, check=False,
    )  # fmt: skip
    if out.returncode not in (0, 1):  # 1: no match
        # Unknown is not "nothing applies it": every file keeps gating.
        return set(paths)
    named: set[str] = set()
    for line in out.stdout_text.splitlines():
        where, _, match = line.partition("\0")
        path = where.partition(":")[2]
        if match in names and not is_test_data(path):
            named.add(names[match])
    return named


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
        sql.base = sorted((p for p in base_files if is_forward(p, folder)), key=order_key)
        sql.rollbacks_used = not sql.supabase and any(
            is_rollback(p) or p.endswith(".up.sql") for p in head_set
        )
        for path in sorted((p for p in head_files if is_forward(p, folder)), key=order_key):
            changed = touched.get(path)
            status = changed.status if changed else "unchanged"
            if status == "modified" and path not in base_set:
                status = "added"
            rollback = None
            if not sql.supabase:
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
