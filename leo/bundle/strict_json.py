"""Strict JSON for signed payloads: no duplicate keys, no NaN or Infinity, bounded depth and size.

A duplicate key is a parser differential (one reader takes the first, another the last), so a
signed document with one is rejected rather than interpreted (THREATS.md A-24).
"""

from __future__ import annotations

import json
from typing import Any

from leo.bundle.reasons import BundleError, escape

MAX_DEPTH = 64


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BundleError("json.duplicate_keys", f"duplicate JSON key {escape(key)!r}")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise BundleError("json.malformed", f"JSON constant {name} is not allowed")


def _depth(value: Any, limit: int) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def loads(data: bytes | str, *, what: str, max_bytes: int = 16 * 1024 * 1024) -> Any:
    """Parse ``data`` strictly; raise ``BundleError`` naming ``what`` on anything odd."""
    if len(data) > max_bytes:
        raise BundleError("json.malformed", f"{what} is larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except BundleError as exc:
        raise BundleError(exc.code, f"{what}: {exc.detail}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError("json.malformed", f"{what} is not valid JSON: {exc}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise BundleError("json.malformed", f"{what} nests deeper than {MAX_DEPTH} levels")
    return value
