"""Rows of the base's tables that the change's migrations delete, however the SQL spells it.

The static rules read a ``DELETE``/``UPDATE``/``TRUNCATE`` and its ``WHERE``; a condition true
for every row has endless spellings (``id = id + 0``, ``abs(id) >= 0``, a function the
migration calls). So a second scratch database gets the base's migrations, then a few rows in
every base table, made to differ (low and high numbers, old and future dates, a NULL where one
is allowed), then the change's migrations one statement at a time: a base table that had rows
and has none after a statement lost them all to it, and a column whose rows held different
values and now hold one, or none of the values they held, was overwritten in every row. Seeding
runs as the server's user with foreign-key and user triggers off (``session_replication_role =
replica``); the rows need not mean anything, only differ. A statement that fails on them (a new
``CHECK`` the made-up rows do not meet) ends the count without a finding: the empty database's
run judges applying.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

SEEDED = 4
#: Values per PostgreSQL type category, one per seeded row; written as untyped literals, which
#: PostgreSQL reads with the column's own type.
_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "N": ("1", "2", "1000000", "-3"),
    "S": ("a", "leo", "", "z"),
    "B": ("true", "false", "true", "false"),
    "T": ("1 day", "0", "100 years", "-1 hour"),
    "I": ("10.0.0.1", "10.0.0.2", "192.168.0.1", "::1"),
    "V": ("1", "0", "1", "0"),
    "A": ("{}", "{}", "{}", "{}"),
}
_DATES = ("1970-01-02", "2000-01-01", "now", "2100-01-01")
_TIMES = ("00:00", "12:00", "23:59", "06:00")
_JSON = ("{}", '{"leo": 1}', "[]", "null")
_BY_TYPE: dict[str, tuple[str, ...]] = {
    "date": _DATES, "timestamp": _DATES, "timestamptz": _DATES,
    "time": _TIMES, "timetz": _TIMES,
    "json": _JSON, "jsonb": _JSON,
    "bytea": ("\\x00", "\\x01", "", "\\xff"),
}  # fmt: skip
#: Every column of every base table (partitions are reached through their parent).
_COLUMNS = b"""
SELECT c.oid::bigint, format('%I.%I', n.nspname, c.relname), quote_ident(a.attname),
       t.typcategory::text, t.typname::text, a.attnotnull, a.atthasdef,
       a.attidentity::text, a.attgenerated::text,
       coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''),
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
             WHERE e.enumtypid = a.atttypid ORDER BY e.enumsortorder)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY c.oid, a.attnum
"""
_NAMES = b"""
SELECT c.oid::bigint, format('%%I.%%I', n.nspname, c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY(%s)
"""


@dataclass(frozen=True)
class Emptied:
    """A base table whose seeded rows one of the change's statements deleted, all of them."""

    path: str
    line: int
    name: str
    rows: int


@dataclass(frozen=True)
class Discarded:
    """A base table that kept an inserted row before the change, and writes none after one of
    its statements (a rule ``DO INSTEAD NOTHING``, a trigger returning NULL)."""

    path: str
    line: int
    name: str
    oid: int


@dataclass(frozen=True)
class Overwritten:
    """A column of a base table whose seeded values, which differed, one of the change's
    statements made one and the same in every row (``values`` 1) or replaced in every row."""

    path: str
    line: int
    name: str
    column: str
    rows: int
    values: int


#: A base table's columns by number, as named and typed now (a rename keeps the number).
_ATTRIBUTES = b"""
SELECT a.attnum::int, quote_ident(a.attname), a.atttypid::bigint FROM pg_catalog.pg_attribute a
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
#: Tables with more rows than this at the base are left out of the column checks: their values
#: are read after every statement.
_READ_AT_MOST = 1000


@dataclass(frozen=True)
class Column:
    """One column of a base table as read after a statement: its values as text, None for NULL."""

    name: str
    type: int
    rows: int
    values: frozenset[str | None]


def varied(conn: Any, seeded: dict[int, tuple[str, int]]) -> dict[int, dict[int, Column]]:
    """oid -> the columns (by number) whose seeded rows hold three values or more (NULL counts
    as one): a conditional write may by chance leave a two-valued column (a boolean, an enum
    of two labels) with one value in four rows, not one with three."""
    out: dict[int, dict[int, Column]] = {}
    for oid in seeded:
        found = _columns(conn, oid)
        if found:
            out[oid] = {n: c for n, c in found[1].items() if len(c.values) >= 3}
    return out


def overwritten(conn: Any, varied: dict[int, dict[int, Column]]) -> list[tuple[str, str, int, int]]:
    """(table, column, rows, values now) for each column of ``varied`` whose two or more rows
    now all hold one value, or (its type unchanged) none of the values they held: an UPDATE
    that overwrote it everywhere, whatever its WHERE (round-5 red team: ``UPDATE users SET
    email = 'redacted' WHERE id <> -42`` PASSed; so did ``SET email = 'user' || id ||
    '@example.invalid'``, whose rows still differ). A row the statement left alone keeps a
    value it held, so a bounded write keeps one; a type change rewrites every value's text and
    is squawk's to judge. The column leaves ``varied``; a table LEO cannot read now is read
    after a later statement."""
    out = []
    for oid, columns in varied.items():
        found = _columns(conn, oid) if columns else None
        if found is None:
            continue
        table, now = found
        for number, after in now.items():
            before = columns.get(number)
            if before is None or after.rows < 2:
                continue
            replaced = after.type == before.type and after.values.isdisjoint(before.values)
            if len(after.values) == 1 or replaced:
                del columns[number]
                out.append((table, after.name, after.rows, len(after.values)))
    return out


def _columns(conn: Any, oid: int) -> tuple[str, dict[int, Column]] | None:
    """The table ``oid``'s name and its columns by number; None when it cannot be read now
    (gone, locked) or holds more than ``_READ_AT_MOST`` rows."""
    import psycopg
    from psycopg import sql

    try:
        name = conn.execute(_NAMES, ([oid],), prepare=False).fetchone()
        columns = conn.execute(_ATTRIBUTES, (oid,), prepare=False).fetchall()
        if not name or not columns:
            return None
        values = sql.SQL(", ").join(
            sql.SQL("array_agg(DISTINCT {c}::text)").format(c=sql.SQL(column))
            for _n, column, _t in columns
        )
        query = sql.SQL("SELECT count(*), {} FROM (SELECT * FROM {} LIMIT {}) AS t").format(
            values, sql.SQL(name[1]), sql.Literal(_READ_AT_MOST + 1)
        )
        rows, *found = conn.execute(query).fetchone()
    except psycopg.Error:
        return None
    if rows > _READ_AT_MOST:
        return None
    return name[1], {
        number: Column(column, typ, rows, frozenset(held or ()))
        for (number, column, typ), held in zip(columns, found, strict=True)
    }


def _value(row: int, category: str, typname: str, labels: list[str]) -> str | None:
    """The literal for seeded row ``row`` of a column, None when LEO has none for its type."""
    if labels:
        return labels[row % len(labels)]
    if typname == "uuid":
        return str(uuid.uuid4())
    values = _BY_TYPE.get(typname) or _BY_CATEGORY.get(category)
    return values[row] if values else None


def seed(conn: Any) -> tuple[dict[int, tuple[str, int]], list[str]]:
    """Insert ``SEEDED`` rows into every base table LEO can fill: (oid -> (name, rows)), notes.
    ``conn`` is an autocommit connection of the server's user."""
    import psycopg

    notes: list[str] = []
    try:
        conn.execute(b"SET session_replication_role = replica")
    except psycopg.Error:
        notes.append("the seeded rows obey foreign keys (not a superuser): some tables stay empty")
    tables: dict[int, tuple[str, list[tuple[Any, ...]]]] = {}
    for oid, name, *column in conn.execute(_COLUMNS, prepare=False).fetchall():
        tables.setdefault(oid, (name, []))[1].append(tuple(column))
    seeded: dict[int, tuple[str, int]] = {}
    for oid, (name, columns) in tables.items():
        rows = sum(_insert(conn, name, columns, row) for row in range(SEEDED))
        if rows:
            seeded[oid] = (name, rows)
    if unfilled := sorted(tables[oid][0] for oid in tables if oid not in seeded):
        notes.append(f"no rows could be seeded into {', '.join(unfilled[:20])}")
    return seeded, notes


def _insert(conn: Any, table: str, columns: list[tuple[Any, ...]], row: int) -> bool:
    """Insert seeded row ``row``; False when LEO has no value for a required column or the
    row breaks a CHECK or UNIQUE (the next row may fit)."""
    import psycopg

    query = _insert_query(table, columns, row)
    if query is None:
        return False
    try:
        conn.execute(query)
    except psycopg.Error:
        return False
    return True


def _insert_query(table: str, columns: list[tuple[Any, ...]], row: int) -> Any:
    """The INSERT of seeded row ``row``; None when LEO has no value for a required column."""
    from psycopg import sql

    names, values = [], []
    for column, category, typname, notnull, hasdef, ident, generated, default, labels in columns:
        if generated or ident == "a":
            continue  # PostgreSQL computes it
        sequence = bool(ident) or "nextval(" in default
        value = _literal(row, category, typname, labels, notnull, hasdef, sequence)
        if value is None:
            return None
        names.append(sql.SQL(column))
        values.append(value)
    if not names:
        return sql.SQL("INSERT INTO {} DEFAULT VALUES").format(sql.SQL(table))
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.SQL(table), sql.SQL(", ").join(names), sql.SQL(", ").join(values)
    )


def keeps_inserts(conn: Any, oid: int) -> bool | None:
    """Whether a row inserted into the table ``oid`` is written: False when the INSERT runs
    without error and writes nothing (a rule ``DO INSTEAD NOTHING``, a ``BEFORE INSERT``
    trigger returning NULL: every later write is lost), None when LEO cannot tell (no value
    for a column, a constraint, a lock, not a superuser). Tried in a transaction rolled back,
    on the table emptied first with rules and triggers off, so seeded row 0 fits its keys."""
    import psycopg
    from psycopg import sql

    try:
        with conn.transaction(force_rollback=True):
            found = conn.execute(_COLUMNS, prepare=False).fetchall()
            columns = [tuple(c) for o, _name, *c in found if o == oid]
            names = [name for o, name, *_c in found if o == oid]
            query = _insert_query(names[0], columns, 0) if names else None
            if query is None:
                return None
            conn.execute(b"SET LOCAL session_replication_role = replica")
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.SQL(names[0])))
            conn.execute(b"SET LOCAL session_replication_role = origin")
            return bool(conn.execute(query).rowcount)
    except psycopg.Error:
        return None


def _literal(
    row: int, category: str, typname: str, labels: list[str], notnull: bool, hasdef: bool,
    sequence: bool,
) -> Any:  # fmt: skip
    """One column's value in seeded row ``row``: a sequence's own, NULL in row 2 where allowed,
    else a literal of its type; None when there is none to give."""
    from psycopg import sql

    if sequence:
        return sql.SQL("DEFAULT")  # an identity or a sequence: the change's rows use it too
    value = None if (not notnull and row == 2) else _value(row, category, typname, labels)
    if value is not None:
        return sql.Literal(value)
    if not notnull:
        return sql.SQL("NULL")
    return sql.SQL("DEFAULT") if hasdef else None


def emptied(conn: Any, seeded: dict[int, tuple[str, int]]) -> dict[int, str] | None:
    """oid -> current name of each seeded table still there with no row left; None when a
    table could not be counted now (the migration's own open transaction locks it: counted
    after a later statement). ``conn`` has a short ``lock_timeout``."""
    import psycopg
    from psycopg import sql

    if not seeded:
        return {}
    try:
        names = dict(conn.execute(_NAMES, (list(seeded),), prepare=False).fetchall())
        if not names:
            return {}
        oids = sorted(names)
        counts = sql.SQL(", ").join(
            sql.SQL("(SELECT count(*) FROM {})").format(sql.SQL(names[o])) for o in oids
        )
        row = conn.execute(sql.SQL("SELECT ") + counts).fetchone()
    except psycopg.Error:
        return None
    return {oid: names[oid] for oid, count in zip(oids, row, strict=True) if count == 0}
