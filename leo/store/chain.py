"""The hash chain over the audit rows: what a row's hash covers, and how the chain is checked.

``row_hash = sha256("leo.audit.v1" \\n table \\n canonical JSON of every column but row_hash)``;
the columns include ``seq`` and ``prev_hash``, so each hash covers its content and the previous
row's hash (RFC 6962-style chaining, one chain across all audited tables). Editing a row breaks
its own hash; rewriting its hash breaks the next row's ``prev_hash``; deleting a row leaves a
gap in ``seq``; deleting the tail disagrees with the chain head. Rewriting the whole chain and
its head is only visible against a copy of the head kept elsewhere (``leo audit verify
--expect-head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
_DOMAIN = b"leo.audit.v1"


def plain_value(value: Any) -> Any:
    """The back-end independent form of a column value."""
    if isinstance(value, datetime):
        # SQLite hands back naive datetimes; LEO only ever writes UTC.
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(content: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a row's content (every column except ``row_hash``)."""
    plain = {k: plain_value(v) for k, v in content.items() if k != "row_hash"}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(table: str, content: Mapping[str, Any]) -> str:
    """The hash a row with ``content`` (including ``seq`` and ``prev_hash``) must carry."""
    h = hashlib.sha256(_DOMAIN)
    h.update(b"\n" + table.encode() + b"\n")
    h.update(canonical(content))
    return h.hexdigest()


@dataclass(frozen=True)
class Link:
    """One audited row as read back for checking."""

    table: str
    seq: int
    content: Mapping[str, Any]
    """Every column, including ``prev_hash`` and ``row_hash``."""


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of checking the chain: intact, or the first broken row."""

    rows: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    """One sentence naming the first row that was altered or deleted; None when intact."""
    table: str | None = None
    seq: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def check(links: Iterable[Link], head_seq: int, head_hash: str) -> ChainCheck:
    """Recompute the chain over ``links`` (any order) against the stored chain head."""
    ordered = sorted(links, key=lambda link: link.seq)
    prev, prev_where, expected_seq = GENESIS, "the start of the chain", 1

    def broken(problem: str, table: str | None, seq: int | None) -> ChainCheck:
        return ChainCheck(len(ordered), head_seq, head_hash, problem, table, seq)

    for link in ordered:
        where = f"{link.table} row seq {link.seq}"
        if link.seq != expected_seq:
            return broken(
                f"row seq {expected_seq} is missing before {where}: a row was deleted",
                link.table,
                expected_seq,
            )
        if row_hash(link.table, link.content) != link.content["row_hash"]:
            return broken(
                f"{where} was altered: its content no longer matches its row_hash",
                link.table,
                link.seq,
            )
        if link.content["prev_hash"] != prev:
            return broken(
                f"{where} does not follow {prev_where}: its prev_hash differs from that row's "
                f"hash, so {prev_where} was altered (its row_hash rewritten) or replaced",
                link.table,
                link.seq,
            )
        prev, prev_where, expected_seq = link.content["row_hash"], where, expected_seq + 1
    last = expected_seq - 1
    if head_seq != last:
        what = (
            f"rows after seq {last} up to seq {head_seq} were deleted"
            if head_seq > last
            else f"rows up to seq {last} exist but the chain head says {head_seq}: the head was altered"
        )
        return broken(f"the chain head disagrees with the rows: {what}", None, last + 1)
    if head_hash != prev:
        return broken(
            f"the chain head's hash differs from the hash of {prev_where}: one of them was altered",
            None,
            last,
        )
    return ChainCheck(len(ordered), head_seq, head_hash)
