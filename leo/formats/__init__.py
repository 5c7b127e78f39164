"""Renderers of a ``Report``: text, json, markdown and sarif, one module each."""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leo.models import Report

FORMATS = ("text", "json", "markdown", "sarif")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """``report`` as ``fmt`` (one of ``FORMATS``)."""
    module = importlib.import_module(f"leo.formats.{fmt}_format")
    return module.render(report, color=color)  # type: ignore[no-any-return]


def clean(text: str | None) -> str:
    """Plugin-supplied text with control and bidi characters removed (no terminal tricks)."""
    return _CONTROL.sub("", text or "")
