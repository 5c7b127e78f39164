"""Apply migrations for real: base branch, then the change, then its rollbacks, then again.

Before the change's first migration and after each one, the tables and columns of the scratch
database are listed from PostgreSQL's catalog: a base table or column that is gone was dropped,
however the SQL spelt it (a ``DO`` block's ``EXECUTE``, ``DROP TYPE ... CASCADE``, ``DROP
SCHEMA ... CASCADE``). A table or column keeps its identity (oid, attnum) through a rename.

The server is ``LEO_DATABASE_TEST_URL`` when set, else a throw-away ``TemporaryPostgres``. Each
run gets its own scratch database owned by a fresh non-superuser role, so the migrations under
review (hostile input) cannot reach the server's files or programs (``COPY ... TO PROGRAM``
needs a superuser). Statements run one at a time in autocommit, as ``psql -f`` runs them.
Blocking (psycopg); the agent calls it from a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from leo import PostgresUnavailable, TemporaryPostgres
from leo_database import rows
from leo_database.rows import Discarded, Emptied, Overwritten
from leo_database.sql import SplitError, line_at, split

Phase = Literal["base", "change", "rollback", "reapply", "fresh"]

#: What Supabase's platform provides before the first migration runs: the API roles and a
#: minimal ``auth`` schema, so RLS policies that name them apply on a plain PostgreSQL.
SUPABASE_PRELUDE = """
DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE service_role NOLOGIN BYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE TABLE IF NOT EXISTS auth.users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text,
    raw_user_meta_data jsonb,
    created_at timestamptz DEFAULT now()
);
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS $f$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $f$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE
    AS $f$ SELECT nullif(current_setting('request.jwt.claim.role', true), '')::text $f$;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE
    AS $f$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
GRANT USAGE ON SCHEMA auth, extensions, storage TO anon, authenticated, service_role;
"""
_SUPABASE_GRANTS = """
GRANT USAGE ON SCHEMA auth, storage TO {role};
GRANT ALL ON SCHEMA extensions TO {role};
GRANT SELECT, REFERENCES ON auth.users TO {role};
GRANT anon, authenticated, service_role TO {role};
"""


@dataclass(frozen=True)
class Step:
    """One file (or dbmate section) to apply."""

    phase: Phase
    path: str
    text: str
    region: tuple[int, int] | None = None


@dataclass(frozen=True)
class Failure:
    phase: Phase
    path: str
    line: int | None
    message: str


@dataclass(frozen=True)
class Lost:
    """A table or column of the base's schema that applying one of the change's files removed."""

    path: str
    kind: Literal["table", "column"]
    name: str
    """``schema.table`` or ``schema.table.column``."""


@dataclass
class LiveRun:
    server: str = ""
    version: str = ""
    applied: list[dict[str, object]] = field(default_factory=list)
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)
    lost: list[Lost] = field(default_factory=list)
    emptied: list[Emptied] = field(default_factory=list)
    overwritten: list[Overwritten] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)
    fresh: Fresh | None = None
    """A fresh install from the head's files, when the change edits an applied migration."""


@dataclass(frozen=True)
class Fresh:
    """A database built from the head's migration files alone, beside a deployed one (the
    base's files, then the change's new ones): what editing an applied migration changes."""

    failure: Failure | None
    paths: tuple[str, ...] = ()
    """The migration files it applied."""
    only_fresh: tuple[str, ...] = ()
    """Columns, indexes and constraints a fresh install gets and a deployed database lacks."""
    only_deployed: tuple[str, ...] = ()


class LiveUnavailable(Exception):
    """No PostgreSQL to apply the migrations to: the live proof is missing evidence."""


@contextlib.contextmanager
def server() -> Iterator[tuple[str, str]]:
    """(url, description) of the server to use."""
    url = os.environ.get("LEO_DATABASE_TEST_URL", "").strip()
    if url:
        yield url, "LEO_DATABASE_TEST_URL"
        return
    try:
        with TemporaryPostgres() as pg:
            yield pg.url, "a throw-away PostgreSQL"
    except PostgresUnavailable as exc:
        raise LiveUnavailable(str(exc)) from None


def apply(
    plans: list[list[Step]], *, supabase: list[bool], statement_timeout_s: int = 60
) -> list[LiveRun]:
    """Apply each plan (one per migration folder) to its own scratch database."""
    with server() as (url, description):
        return [
            _apply_one(url, description, plan, sb, statement_timeout_s)
            for plan, sb in zip(plans, supabase, strict=True)
        ]


def _apply_one(
    url: str, description: str, plan: list[Step], supabase: bool, timeout_s: int
) -> LiveRun:
    import psycopg

    run = LiveRun(server=description)
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=15)
    except psycopg.Error as exc:
        raise LiveUnavailable(
            f"cannot connect to {description}: {str(exc).strip()[:500]}"
        ) from None
    options = f"-c statement_timeout={timeout_s * 1000} -c lock_timeout={timeout_s * 1000}"
    with admin:
        run.version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        fresh = [step for step in plan if step.phase == "fresh"]
        plan = [step for step in plan if step.phase != "fresh"]
        deployed_at = max(
            (i for i, step in enumerate(plan) if step.phase in ("base", "change")), default=-1
        )
        deployed: set[str] | None = None
        with _scratch(admin, url, description, supabase, run, options) as (name, conn):
            base_schema: dict[tuple[int, int], str] | None = None
            for index, step in enumerate(plan):
                if step.phase == "change" and base_schema is None:
                    base_schema = _schema(url, name)
                started = time.perf_counter()
                failure, count = _apply_step(conn, step)
                run.applied.append({
                    "phase": step.phase, "path": step.path, "statements": count,
                    "ok": failure is None, "ms": round((time.perf_counter() - started) * 1000, 1),
                })  # fmt: skip
                if step.phase == "change" and base_schema is not None:
                    run.lost += _lost(base_schema, _schema(url, name), step.path, run.lost)
                if failure is not None:
                    run.failure = failure
                    break
                if index == deployed_at and fresh:
                    deployed = _shape(url, name)
        if run.failure is None and deployed is not None:
            with _scratch(admin, url, description, supabase, run, options) as (name, conn):
                run.fresh = _fresh(url, name, conn, fresh, deployed)
        if run.failure is None and any(step.phase == "change" for step in plan):
            with _scratch(admin, url, description, supabase, run, options) as (name, conn):
                _count_rows(url, name, conn, plan, run)
    return run


@contextlib.contextmanager
def _scratch(
    admin: Any, url: str, description: str, supabase: bool, run: LiveRun, options: str
) -> Iterator[tuple[str, Any]]:
    """(name, connection) of a fresh scratch database owned by a fresh non-superuser role,
    both dropped afterwards; the connection runs the migrations as that role."""
    import psycopg
    from psycopg import sql

    name = f"leo_{secrets.token_hex(6)}"
    password = secrets.token_hex(16)
    role: str | None = name
    try:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    except psycopg.errors.InsufficientPrivilege:
        role = None
        note = "could not create a role; migrations ran as the server's user"
        if note not in run.notes:
            run.notes.append(note)
    try:
        owner = sql.SQL(" OWNER {}").format(sql.Identifier(role)) if role else sql.SQL("")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)) + owner)
    except psycopg.Error as exc:
        _drop_role(admin, role)
        raise LiveUnavailable(
            f"cannot create a scratch database on {description}: {str(exc).strip()[:500]}"
        ) from None
    try:
        if supabase:
            with psycopg.connect(url, dbname=name, autocommit=True, connect_timeout=15) as setup:
                setup.execute(SUPABASE_PRELUDE)
                if role:
                    setup.execute(
                        _SUPABASE_GRANTS.format(role=sql.Identifier(role).as_string(setup))
                    )
        creds = {"user": role, "password": password} if role else {}
        with psycopg.connect(
            url, dbname=name, autocommit=True, connect_timeout=15, options=options, **creds
        ) as conn:
            yield name, conn
    finally:
        with contextlib.suppress(psycopg.Error):
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        _drop_role(admin, role)


def _count_rows(url: str, name: str, conn: Any, plan: list[Step], run: LiveRun) -> None:
    """The base's migrations, rows seeded into the base's tables, then the change's
    migrations with the seeded tables counted after each statement that runs (``rows``)."""
    import psycopg

    with psycopg.connect(url, dbname=name, autocommit=True, connect_timeout=15) as admin:
        # a table the migration's open transaction locks is counted after a later statement
        admin.execute(b"SET lock_timeout = '1s'")
        admin.execute(b"SET statement_timeout = '60s'")
        seeded: dict[int, tuple[str, int]] | None = None
        kept: dict[int, str] = {}
        differ: dict[int, dict[int, rows.Column]] = {}
        for step in plan:
            if step.phase not in ("base", "change"):
                break
            if step.phase == "change" and seeded is None:
                seeded, notes = rows.seed(admin)
                run.notes += notes
                kept = {o: n for o, (n, _r) in seeded.items() if rows.keeps_inserts(admin, o)}
                differ = rows.varied(admin, seeded)
            after = None
            if seeded:
                after = _counter(admin, seeded, kept, differ, step.path, run)
            # A statement the made-up rows make fail (a new CHECK they break) must not end the
            # count: the statements after it still run and are counted.
            failure, _count = _apply_step(conn, step, after, keep_going=step.phase == "change")
            if failure is not None and step.phase == "base":
                return
            if failure is not None:
                run.notes.append(
                    f"on the seeded rows {failure.path}:{failure.line} failed "
                    f"({failure.message[:300]}); the made-up rows may not fit what it adds, and "
                    "the statements after it were still counted"
                )
        # a rule or trigger a later statement of the change takes off again loses nothing
        run.discarded = [d for d in run.discarded if rows.keeps_inserts(admin, d.oid) is not True]


def _counter(
    admin: Any,
    seeded: dict[int, tuple[str, int]],
    kept: dict[int, str],
    differ: dict[int, dict[int, rows.Column]],
    path: str,
    run: LiveRun,
) -> Callable[[int], None]:
    """After each statement: the seeded tables it emptied, the columns whose differing seeded
    values it made one or replaced (``rows.overwritten``), and the tables that kept an inserted
    row before the change and now write none (``rows.keeps_inserts``)."""

    def after(line: int) -> None:
        for oid, name in (rows.emptied(admin, seeded) or {}).items():
            run.emptied.append(Emptied(path, line, name, seeded.pop(oid)[1]))
            differ.pop(oid, None)
        for name, column, count, values in rows.overwritten(admin, differ):
            run.overwritten.append(Overwritten(path, line, name, column, count, values))
        for oid in [o for o in kept if rows.keeps_inserts(admin, o) is False]:
            run.discarded.append(Discarded(path, line, kept.pop(oid), oid))

    return after


def _fresh(url: str, name: str, conn: Any, steps: list[Step], deployed: set[str]) -> Fresh:
    paths = tuple(step.path for step in steps)
    for step in steps:
        failure, _count = _apply_step(conn, step)
        if failure is not None:
            return Fresh(failure, paths)
    shape = _shape(url, name)
    return Fresh(None, paths, tuple(sorted(shape - deployed)), tuple(sorted(deployed - shape)))


#: The schema by name: each column with its type and nullability, each index and constraint
#: with its definition, outside PostgreSQL's own schemas.
_SHAPE_QUERY = b"""
SELECT format('column %I.%I.%I %s%s', n.nspname, c.relname, a.attname,
              format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' not null' END)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT format('index %s', indexdef) FROM pg_catalog.pg_indexes
WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\\_%'
UNION ALL
SELECT format('constraint %s %I %s', con.conrelid::regclass, con.conname,
              pg_catalog.pg_get_constraintdef(con.oid))
FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
WHERE con.conrelid <> 0 AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
"""


def _shape(url: str, dbname: str) -> set[str]:
    """The schema of ``dbname`` by name (``_SHAPE_QUERY``), as the server's user reads it."""
    import psycopg

    with psycopg.connect(url, dbname=dbname, autocommit=True, connect_timeout=15) as conn:
        return {str(row[0]) for row in conn.execute(_SHAPE_QUERY, prepare=False).fetchall()}


#: Every column of every ordinary or partitioned table outside PostgreSQL's own schemas.
_SCHEMA_QUERY = b"""
SELECT c.oid::bigint, a.attnum::int, n.nspname, c.relname, a.attname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\\_%'
"""


def _schema(url: str, dbname: str) -> dict[tuple[int, int], str]:
    """(table oid, column number) -> ``schema.table.column``, on a connection of the server's
    user (the migrations' own session settings and privileges cannot hide a table from it);
    column number 0 stands for the table itself."""
    import psycopg

    with psycopg.connect(url, dbname=dbname, autocommit=True, connect_timeout=15) as conn:
        rows = conn.execute(_SCHEMA_QUERY, prepare=False).fetchall()
    schema: dict[tuple[int, int], str] = {}
    for oid, attnum, nspname, relname, attname in rows:
        schema[(oid, 0)] = f"{nspname}.{relname}"
        schema[(oid, attnum)] = f"{nspname}.{relname}.{attname}"
    return schema


def _lost(
    base: dict[tuple[int, int], str],
    now: dict[tuple[int, int], str],
    path: str,
    known: list[Lost],
) -> list[Lost]:
    """What of ``base`` is gone from ``now`` and not yet in ``known``: a table whose oid is
    gone, else a column whose number is gone from a table that is still there."""
    seen = {(k.kind, k.name) for k in known}
    tables = {oid for oid, attnum in base if attnum == 0 and (oid, 0) not in now}
    found = [Lost(path, "table", base[(oid, 0)]) for oid in sorted(tables)]
    found += [
        Lost(path, "column", name)
        for (oid, attnum), name in sorted(base.items())
        if attnum and oid not in tables and (oid, attnum) not in now
    ]
    return [k for k in found if (k.kind, k.name) not in seen]


def _drop_role(admin: object, role: str | None) -> None:
    import psycopg
    from psycopg import sql

    if role and isinstance(admin, psycopg.Connection):
        with contextlib.suppress(psycopg.Error):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _apply_step(
    conn: object,
    step: Step,
    after: Callable[[int], None] | None = None,
    *,
    keep_going: bool = False,
) -> tuple[Failure | None, int]:
    """Run one step's statements; the first error stops it (with ``keep_going``, is kept while
    the rest still run), with its file line. ``after`` is called with each statement's line
    once it has run."""
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    start, end = step.region or (0, len(step.text))
    try:
        statements = [
            (s.text, s.line, s.start) for s in split(step.text, offset=start, end=end, parse=False)
        ]
    except SplitError:
        # sqlglot's tokenizer gave up: let PostgreSQL parse the region as one query.
        statements = [(step.text[start:end], line_at(step.text, start), start)]
    first: Failure | None = None
    for count, (text, line, _offset) in enumerate(statements):
        try:
            conn.execute(text.encode("utf-8"), prepare=False)  # bytes: no placeholders, ever
        except psycopg.Error as exc:
            diag = exc.diag
            position = diag.statement_position
            where = (
                line + text.count("\n", 0, int(position) - 1)
                if position and position.isdigit()
                else line
            )
            message = (
                f"{diag.severity or 'ERROR'}: {diag.message_primary}"
                if diag.message_primary
                else str(exc).strip()
            )
            if diag.message_detail:
                message += f" DETAIL: {diag.message_detail}"
            if diag.message_hint:
                message += f" HINT: {diag.message_hint}"
            if diag.sqlstate:
                message += f" (SQLSTATE {diag.sqlstate})"
            failure = Failure(step.phase, step.path, where, message[:2000])
            if not keep_going:
                return failure, count
            first = first or failure
            continue
        if after is not None:
            after(line)
    return first, len(statements)
