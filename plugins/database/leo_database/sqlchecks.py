"""The SQL rules squawk lacks, on sqlglot's parse: row-level security, TRUNCATE, unbounded writes.

It also tracks the tables the change's migrations create, so that squawk's lock rules are not
reported for a table that is new (and therefore empty and unused) in the same change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from leo import Finding
from leo_database.rules import finding
from leo_database.sql import Statement, embedded, parse_qualified, routine, table_name

_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(TEMP\s+|TEMPORARY\s+|UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?",
    re.IGNORECASE,
)
_ALTER_TABLE = re.compile(r"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?", re.IGNORECASE)
_CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+)?ON\s+(?:ONLY\s+)?",
    re.IGNORECASE,
)
_ENABLE_RLS = re.compile(r"\bENABLE\s+ROW\s+LEVEL\s+SECURITY\b", re.IGNORECASE)
_DISABLE_RLS = re.compile(r"\bDISABLE\s+ROW\s+LEVEL\s+SECURITY\b", re.IGNORECASE)

ChangedLine = Callable[[str, int, int], bool]
"""(path, first line, last line) -> does the change touch any of those lines?"""


def target_table(stmt: Statement) -> str | None:
    """The table an ALTER TABLE or CREATE INDEX statement acts on."""
    ast = stmt.ast
    if isinstance(ast, exp.Alter):
        return table_name(ast.this)
    if isinstance(ast, exp.Create) and str(ast.kind).upper() == "INDEX":
        index = ast.this
        return table_name(index.args.get("table")) if isinstance(index, exp.Index) else None
    for pattern in (_ALTER_TABLE, _CREATE_INDEX):
        if m := pattern.match(stmt.text):
            return parse_qualified(stmt.text[m.end() :])[0]
    return None


def created_table(stmt: Statement) -> tuple[str, bool] | None:
    """(name, temporary) of a CREATE TABLE statement."""
    m = _CREATE_TABLE.match(stmt.text)
    if m is None:
        return None
    temporary = bool(m[1]) and m[1].strip().upper() != "UNLOGGED"
    ast = stmt.ast
    name = table_name(ast.this) if isinstance(ast, exp.Create) else None
    return (name or parse_qualified(stmt.text[m.end() :])[0] or "?"), temporary


def always_true(condition: exp.Expression) -> bool:
    """A WHERE condition that holds for every row: it simplifies to TRUE (``1 = 1``,
    ``email IS NULL OR TRUE``) or to a comparison of an expression with itself (``id = id``), or
    names no column and is not FALSE (``now() > '2020-01-01'``).
    A ``DELETE ... WHERE 1 = 1`` deletes every row as surely as one without WHERE."""
    from sqlglot.optimizer.simplify import simplify

    simplified = simplify(condition.copy())
    if isinstance(simplified, exp.Boolean):
        return bool(simplified.this)
    if isinstance(simplified, exp.EQ) and simplified.this == simplified.expression:
        return True  # id = id: every row whose id is not null
    return not any(True for _ in condition.find_all(exp.Column))


def _keyword(stmt: Statement) -> str:
    return stmt.tokens[0].text.upper() if stmt.tokens else ""


@dataclass
class SqlChecks:
    """Runs over the change's migrations in apply order, one statement at a time."""

    require_rls: bool
    rls_schemas: tuple[str, ...] = ("public",)
    created: set[str] = field(default_factory=set)
    """Tables created by the change's migrations so far."""
    findings: list[Finding] = field(default_factory=list)
    _rls_pending: dict[str, tuple[str, Statement, bool]] = field(default_factory=dict)

    def is_new(self, table: str | None) -> bool:
        return table is not None and table in self.created

    def check(self, path: str, stmt: Statement, changed: bool) -> None:
        """Check one forward statement; ``changed`` says whether the change touched its lines."""
        for inner in embedded(stmt):
            self.check(path, inner, changed)
        if (defined := routine(stmt)) is not None:
            self._routine(path, *defined, changed)
            return
        if (made := created_table(stmt)) is not None:
            name, temporary = made
            self.created.add(name)
            schema = name.split(".", 1)[0]
            if self.require_rls and not temporary and schema in self.rls_schemas:
                self._rls_pending[name] = (path, stmt, changed)
            return
        keyword = _keyword(stmt)
        ast = stmt.ast
        if keyword == "ALTER":
            table = target_table(stmt)
            if table is not None and _ENABLE_RLS.search(stmt.text):
                self._rls_pending.pop(table, None)
            elif table is not None and _DISABLE_RLS.search(stmt.text) and self.require_rls:
                self._add("database.table-without-rls",
                          f"disables row-level security on {table}, exposing every row to the API roles",
                          path, stmt, changed)  # fmt: skip
            return
        if keyword == "TRUNCATE" or isinstance(ast, exp.TruncateTable):
            tables = (
                [table_name(t) for t in ast.expressions]
                if isinstance(ast, exp.TruncateTable)
                else []
            )
            if tables and all(self.is_new(t) for t in tables):
                return
            self._add("database.truncate", "TRUNCATE deletes every row of "
                      + (", ".join(t or "?" for t in tables) or "the table"), path, stmt, changed)  # fmt: skip
            return
        if isinstance(ast, exp.Delete | exp.Update) or (
            ast is None and keyword in ("DELETE", "UPDATE", "WITH")
        ):
            self._unbounded(path, stmt, changed)

    def _unbounded(self, path: str, stmt: Statement, changed: bool) -> None:
        ast = stmt.ast
        if isinstance(ast, exp.Delete | exp.Update):
            where = ast.args.get("where")
            if where is not None and not always_true(where.this):
                return
            table = table_name(ast.this)
            verb = "DELETE" if isinstance(ast, exp.Delete) else "UPDATE"
        else:
            # sqlglot could not parse it: fail closed on the tokens (any WHERE counts as bounded).
            if any(t.text.upper() == "WHERE" for t in stmt.tokens):
                return
            verbs = [t.text.upper() for t in stmt.tokens if t.text.upper() in ("DELETE", "UPDATE")]
            if not verbs:
                return
            table, verb = None, verbs[0]
        if self.is_new(table):
            return
        self._add("database.unbounded-write",
                  f"{verb} without WHERE changes every row of {table or 'the table'}",
                  path, stmt, changed)  # fmt: skip

    def _routine(self, path: str, name: str, body: list[Statement], changed: bool) -> None:
        """A routine's body runs when it is called, not by the migration: what it would do to
        every row is for a LEAD to weigh (medium), not a defect of this migration."""
        inner = SqlChecks(require_rls=False, created=set(self.created))
        for stmt in body:
            inner.check(path, stmt, changed)
        for found in inner.findings:
            message = f"{found.message}, in the body of {name}, whenever it is called"
            self.findings.append(
                found.model_copy(update={"severity": "medium", "message": message})
            )

    def finish(self) -> list[Finding]:
        """Report the tables still without row-level security at the end of the change."""
        for name, (path, stmt, changed) in self._rls_pending.items():
            self._add("database.table-without-rls",
                      f"table {name} is created without ENABLE ROW LEVEL SECURITY, so the API roles can read and write every row",
                      path, stmt, changed)  # fmt: skip
        self._rls_pending.clear()
        return self.findings

    def _add(self, rule: str, message: str, path: str, stmt: Statement, changed: bool) -> None:
        self.findings.append(
            finding(rule, message, path, stmt.line, end_line=stmt.end_line, on_changed_line=changed)
        )
