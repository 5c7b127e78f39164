"""SQL text as statements with their lines, split by sqlglot's PostgreSQL tokenizer.

The statements serve two purposes: the static rules need each statement's parsed form and
its line, and the live apply runs a migration one statement at a time (as ``psql -f`` does,
so ``CREATE INDEX CONCURRENTLY`` can run outside a transaction) and maps PostgreSQL's error
position back to a line of the file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

# sqlglot logs a warning for every statement it parses as a generic Command (RLS, policies,
# functions); those are expected here.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_DBMATE_DOWN = re.compile(r"^\s*--\s*migrate:down\b", re.IGNORECASE | re.MULTILINE)
_DBMATE_UP = re.compile(r"^\s*--\s*migrate:up\b", re.IGNORECASE | re.MULTILINE)
_SQUAWK_IGNORE = re.compile(r"squawk-ignore", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    text: str
    """The statement without its terminating semicolon."""
    start: int
    """Offset of its first character in the file's text."""
    line: int
    """1-based line of its first token."""
    end_line: int
    """1-based line of its last token."""
    tokens: tuple[Token, ...]
    """Its sqlglot tokens (comments are not tokens)."""
    ast: exp.Expression | None
    """sqlglot's parse, or None when sqlglot could not parse it."""

    def first_keyword(self) -> TokenType | None:
        return self.tokens[0].token_type if self.tokens else None

    def line_of(self, offset: int) -> int:
        """The file line of character ``offset`` (0-based) within this statement."""
        return self.line + self.text.count("\n", 0, max(0, offset))


class SplitError(Exception):
    """sqlglot's tokenizer rejected the text (an unterminated string or comment, ...)."""


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split(
    text: str, *, offset: int = 0, end: int | None = None, parse: bool = True
) -> list[Statement]:
    """The statements of ``text[offset:end]``, with offsets and lines of the whole ``text``."""
    try:
        tokens = sqlglot.tokenize(text[offset:end], read="postgres")
    except SqlglotError as exc:
        raise SplitError(str(exc).splitlines()[0][:300]) from None
    groups: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(tok)
    statements = []
    for group in groups:
        if not group:
            continue
        start, end = offset + group[0].start, offset + group[-1].end + 1
        body = text[start:end]
        ast = None
        if parse:
            try:
                ast = sqlglot.parse_one(body, read="postgres")
            except SqlglotError:
                ast = None
        statements.append(
            Statement(
                text=body,
                start=start,
                line=line_at(text, start),
                end_line=line_at(text, end - 1),
                tokens=tuple(group),
                ast=ast,
            )
        )
    return statements


def dbmate_sections(text: str) -> tuple[tuple[int, int], tuple[int, int] | None] | None:
    """(up, down) character ranges of a dbmate file (``-- migrate:up`` / ``-- migrate:down``)."""
    up = _DBMATE_UP.search(text)
    if up is None:
        return None
    down = _DBMATE_DOWN.search(text, up.end())
    if down is None:
        return (up.end(), len(text)), None
    return (up.end(), down.start()), (down.end(), len(text))


def forward_region(text: str) -> tuple[int, int]:
    """The character range of a migration's forward SQL (all of it unless dbmate sections)."""
    sections = dbmate_sections(text)
    return sections[0] if sections else (0, len(text))


def rollback_region(text: str) -> tuple[int, int] | None:
    """The character range of a dbmate ``-- migrate:down`` section with any SQL in it."""
    sections = dbmate_sections(text)
    if sections is None or sections[1] is None or not text[slice(*sections[1])].strip():
        return None
    return sections[1]


def blank_outside(text: str, region: tuple[int, int]) -> str:
    """``text`` with everything outside ``region`` blanked, lines kept (for line-true linting)."""

    def blank(part: str) -> str:
        return re.sub(r"[^\n]", " ", part)

    return blank(text[: region[0]]) + text[region[0] : region[1]] + blank(text[region[1] :])


def neutralise_squawk_ignores(text: str) -> tuple[str, int]:
    """Disable squawk's inline suppressions (a PR must not silence the gate); keeps lines."""
    return _SQUAWK_IGNORE.subn("squawk-noted", text)


def table_name(node: exp.Expression | None, *, default_schema: str = "public") -> str | None:
    """``schema.table`` of a sqlglot Table (or a Schema wrapping one), unquoted names lowered."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table) or not node.name:
        return None
    return f"{_ident(node.args.get('db')) or default_schema}.{_ident(node.this)}"


def _ident(node: exp.Expression | None) -> str:
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.lower()
    return node.name.lower() if node is not None else ""


_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QUALIFIED = re.compile(rf"\s*({_NAME})(?:\s*\.\s*({_NAME}))?")


def parse_qualified(text: str, *, default_schema: str = "public") -> tuple[str | None, int]:
    """(``schema.table``, end offset) of a possibly quoted, possibly qualified name at ``text``'s start."""
    m = _QUALIFIED.match(text)
    if m is None:
        return None, 0
    parts = [_unquote(p) for p in m.groups() if p is not None]
    name = f"{parts[0]}.{parts[1]}" if len(parts) == 2 else f"{default_schema}.{parts[0]}"
    return name, m.end()


def _unquote(name: str) -> str:
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


_DO = re.compile(r"^\s*DO\b", re.IGNORECASE)
_DOLLAR_BODY = re.compile(r"\$([A-Za-z_]\w*|)\$(.*?)\$\1\$", re.DOTALL)
_LITERALS = re.compile(r"'(?:[^']|'')*'(?:\s*\|\|\s*'(?:[^']|'')*')*")
#: PL/pgSQL's block and control words before a statement (``BEGIN``, ``IF ... THEN``, ...).
_BLOCK_WORDS = re.compile(
    r"^(?:\s*(?:<<\w+>>|BEGIN|DECLARE|END(?:\s+(?:IF|LOOP|CASE))?|LOOP|ELSE|EXCEPTION|EXECUTE"
    r"|PERFORM|(?:IF|ELSIF|WHEN)\b.*?\bTHEN|(?:WHILE|FOR|FOREACH)\b.*?\bLOOP)\b)*\s*",
    re.IGNORECASE | re.DOTALL,
)
_WRITES = re.compile(r"^\s*(?:DELETE|UPDATE|TRUNCATE|WITH)\b", re.IGNORECASE)
_ROUTINE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+([^\s(]+)", re.IGNORECASE
)
_QUOTED_BODY = re.compile(r"\bAS\s+('(?:[^']|'')*')", re.IGNORECASE)


def embedded(stmt: Statement) -> list[Statement]:
    """The row-changing SQL a ``DO`` block runs, as statements on the block's lines: its own
    ``DELETE``/``UPDATE``/``TRUNCATE`` statements and the strings it ``EXECUTE``s (literals
    joined with ``||`` read as one). squawk and sqlglot see a ``DO`` block as one opaque
    command (round-3 red team: ``EXECUTE 'TRUNCATE ' || 'orders'; DELETE FROM users;`` PASSed)."""
    if not _DO.match(stmt.text):
        return []
    return _writes(stmt, [m[2] for m in _DOLLAR_BODY.finditer(stmt.text)])


def routine(stmt: Statement) -> tuple[str, list[Statement]] | None:
    """(name, row-changing SQL of its body) of a ``CREATE FUNCTION``/``PROCEDURE``: the body
    runs whenever the routine is called, by a trigger or the application, long after the
    migration (round-3 red team: a function that empties a table, defined and not called,
    PASSed). The body is read as a ``DO`` block's is; a body in single quotes too."""
    m = _ROUTINE.match(stmt.text)
    if m is None:
        return None
    bodies = [b[2] for b in _DOLLAR_BODY.finditer(stmt.text)]
    if not bodies:
        bodies = [q[1][1:-1].replace("''", "'") for q in _QUOTED_BODY.finditer(stmt.text)]
    return m[1], _writes(stmt, bodies)


def _candidates(body: str) -> list[str]:
    """What a procedural body may run: the strings it builds from literals (an ``EXECUTE``'s)
    and its own statements, block and control words cut off."""
    candidates = []
    for literal in _LITERALS.finditer(body):
        pieces = re.findall(r"'((?:[^']|'')*)'", literal[0])
        candidates.append("".join(p.replace("''", "'") for p in pieces))
    code = _LITERALS.sub("''", body)
    return candidates + [_BLOCK_WORDS.sub("", piece, count=1) for piece in code.split(";")]


def _writes(stmt: Statement, bodies: list[str]) -> list[Statement]:
    """The ``DELETE``/``UPDATE``/``TRUNCATE`` statements of procedural ``bodies``, placed on
    ``stmt``'s lines."""
    found = []
    for text in (c for body in bodies for c in _candidates(body)):
        # a lone word is a value ('update'), except TRUNCATE: its table may be computed
        if not _WRITES.match(text) or (len(text.split()) < 2 and "TRUNCATE" not in text.upper()):
            continue
        try:
            inner = split(text)
        except SplitError:
            continue
        found += [replace(i, line=stmt.line, end_line=stmt.end_line) for i in inner]
    return found
