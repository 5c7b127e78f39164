"""Handoff markers between the lanes: the strict grammar of one commit message's markers.

Markers are whole lines of a commit message's trailer block (its last paragraph, never the
subject), byte-exact ASCII::

    [CODEX-READY:<sha256 of the bundle>]     builder: this bundle is ready
    [CLAUDE-APPLIED:<sha256 of the bundle>]  enforcer: I applied that bundle
    PLAN-SUPERVISOR: PASS|FAIL               supervisor's verdict (a claim here, never a verdict)
    LEAD-APPROVED: <reason>                  lead's approval (a claim here, never an approval)

Commit text is attacker-controlled (THREATS.md catalogue (b)), so quoted text and code never
match because only whole trailer lines are read; look-alikes are flagged, never accepted. The
order the markers must come in is ``leo.bundle.chain``; what a gate asks of them,
``leo.bundle.gate``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from leo.bundle.reasons import Reason, escape

Kind = Literal["ready", "applied", "supervisor", "lead"]
MAX_MESSAGE_BYTES = 64 * 1024
MAX_MARKERS = 32
_GRAMMAR: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("ready", re.compile(r"\[CODEX-READY:([0-9a-f]{64})\]")),
    ("applied", re.compile(r"\[CLAUDE-APPLIED:([0-9a-f]{64})\]")),
    ("supervisor", re.compile(r"PLAN-SUPERVISOR: (PASS|FAIL)")),
    ("lead", re.compile(r"LEAD-APPROVED: ([ -~]{8,200})")),
)
_WORDS = ("codex", "claude", "ready", "applied", "supervisor", "approved")
_WORD_RE = re.compile("|".join(_WORDS))


@dataclass(frozen=True)
class Marker:
    kind: Kind
    value: str
    commit: str


@dataclass(frozen=True)
class Issue:
    """Something wrong with the markers; ``blocking`` False means a LEAD decides (ESCALATE)."""

    code: Reason
    message: str
    commit: str = ""
    blocking: bool = True


def render(kind: Kind, value: str) -> str:
    """The marker line for ``kind`` and ``value`` (the inverse of ``parse``)."""
    return {
        "ready": f"[CODEX-READY:{value}]",
        "applied": f"[CLAUDE-APPLIED:{value}]",
        "supervisor": f"PLAN-SUPERVISOR: {value}",
        "lead": f"LEAD-APPROVED: {value}",
    }[kind]


def trailer_lines(message: str) -> list[str]:
    """The lines of the last paragraph, when the message has more than one paragraph."""
    paragraphs: list[list[str]] = [[]]
    for line in message.split("\n"):
        if line.strip(" \t") == "":
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    paragraphs = [p for p in paragraphs if p]
    return paragraphs[-1] if len(paragraphs) > 1 else []


def _looks_like_marker(line: str) -> bool:
    folded = unicodedata.normalize("NFKC", line)
    folded = "".join(c for c in folded if unicodedata.category(c) != "Cf").casefold()
    return bool(_WORD_RE.search(folded))


def parse(message: str, commit: str = "") -> tuple[list[Marker], list[Issue]]:
    """The markers of one commit message, and issues for near-misses and oversize input."""
    if len(message.encode("utf-8", errors="replace")) > MAX_MESSAGE_BYTES:
        return [], [
            Issue(
                "markers.too_large", f"the message is larger than {MAX_MESSAGE_BYTES} bytes", commit
            )
        ]
    markers: list[Marker] = []
    issues: list[Issue] = []
    for line in trailer_lines(message):
        for kind, pattern in _GRAMMAR:
            match = pattern.fullmatch(line)
            if match:
                markers.append(Marker(kind, match.group(1), commit))
                break
        else:
            if _looks_like_marker(line):
                odd = not line.isascii() or not line.isprintable()
                code: Reason = "markers.confusable" if odd else "markers.malformed"
                issues.append(
                    Issue(
                        code,
                        f"marker-like line {escape(line)!r} does not follow the grammar",
                        commit,
                        blocking=False,
                    )
                )
    if len(markers) > MAX_MARKERS:
        return [], [
            Issue("markers.too_large", f"more than {MAX_MARKERS} markers in one message", commit)
        ]
    return markers, issues
