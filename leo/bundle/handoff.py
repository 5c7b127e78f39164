"""Handoff markers between the lanes: a strict grammar, the chain they form, and its audit.

Markers are whole lines of a commit message's trailer block (its last paragraph, never the
subject), byte-exact ASCII::

    [CODEX-READY:<sha256 of the bundle>]     builder: this bundle is ready
    [CLAUDE-APPLIED:<sha256 of the bundle>]  enforcer: I applied that bundle
    PLAN-SUPERVISOR: PASS|FAIL               supervisor's verdict (a claim here, never a verdict)
    LEAD-APPROVED: <reason>                  lead's approval (a claim here, never an approval)

Commit text is attacker-controlled (THREATS.md catalogue (b)), so a marker only points at
evidence: a READY hash counts when the bundle with that hash verifies. Quoted text and code
never match because only whole trailer lines are read; look-alikes are flagged, never accepted.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from leo.bundle.reasons import BundleError, Reason, escape

if TYPE_CHECKING:
    from leo.bundle.verify import Trust
    from leo.models import Requirement

Kind = Literal["ready", "applied", "supervisor", "lead"]
MAX_MESSAGE_BYTES = 64 * 1024
MAX_MARKERS = 32
MAX_COMMITS = 1000
BUILDER_BRANCH = re.compile(r"staging/codex-[A-Za-z0-9._-]+")
ENFORCER_BRANCH = re.compile(r"feature/[A-Za-z0-9._/-]+")
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


@dataclass
class Audit:
    """The markers of a change, the issues found, and which READY bundles verified."""

    markers: list[Marker] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    bundles: dict[str, str | None] = field(default_factory=dict)
    """READY hash -> None when verified, else the reason code it failed with."""

    @property
    def claims(self) -> list[Marker]:
        """Verdict and approval markers: recorded as claims, never used as a verdict."""
        return [m for m in self.markers if m.kind in ("supervisor", "lead")]


def check_chain(commits: Sequence[tuple[str, str]], branch: str | None = None) -> Audit:
    """Parse ``(sha, message)`` pairs (oldest first) and check the READY -> APPLIED chain."""
    audit = Audit()
    if len(commits) > MAX_COMMITS:
        audit.issues.append(
            Issue(
                "markers.too_large",
                f"the change has more than {MAX_COMMITS} commits",
                blocking=False,
            )
        )
        return audit
    parsed = []
    for sha, message in commits:
        markers, issues = parse(message, sha)
        audit.markers += markers
        audit.issues += issues
        parsed.append((sha, markers))
    every_ready = {m.value for m in audit.markers if m.kind == "ready"}
    pending: list[str] = []
    applied: set[str] = set()
    for sha, markers in parsed:
        kinds = {m.kind for m in markers}
        approvals = kinds & {"supervisor", "lead"}
        if "ready" in kinds and (approvals or "applied" in kinds):
            audit.issues.append(
                Issue(
                    "roles.marker_from_wrong_lane",
                    "one commit carries the builder's READY and another lane's marker",
                    sha,
                )
            )
        elif "applied" in kinds and approvals:
            audit.issues.append(
                Issue(
                    "roles.self_approval",
                    "the enforcer's APPLIED commit also approves the change",
                    sha,
                )
            )
        for marker in markers:
            if marker.kind == "ready":
                if marker.value in applied:
                    audit.issues.append(
                        Issue(
                            "roles.out_of_order",
                            f"READY {marker.value[:12]} repeated after it was applied",
                            sha,
                        )
                    )
                elif pending and marker.value not in pending:
                    audit.issues.append(
                        Issue(
                            "roles.out_of_order",
                            f"a second READY while {pending[-1][:12]} is not applied",
                            sha,
                        )
                    )
                if marker.value not in pending:
                    pending.append(marker.value)
            elif marker.kind == "applied":
                if marker.value in pending:
                    pending.remove(marker.value)
                    applied.add(marker.value)
                elif marker.value in applied:
                    audit.issues.append(
                        Issue("roles.out_of_order", f"APPLIED {marker.value[:12]} twice", sha)
                    )
                elif marker.value in every_ready:
                    audit.issues.append(
                        Issue(
                            "roles.out_of_order",
                            f"APPLIED {marker.value[:12]} before its READY",
                            sha,
                        )
                    )
                else:
                    audit.issues.append(
                        Issue(
                            "roles.chain_broken",
                            f"APPLIED {marker.value[:12]} refers to no READY in this change",
                            sha,
                        )
                    )
    for value in pending:
        audit.issues.append(
            Issue("roles.chain_incomplete", f"READY {value[:12]} was never applied")
        )
    if audit.markers and branch is not None:
        if BUILDER_BRANCH.fullmatch(branch):
            for marker in audit.markers:
                if marker.kind != "ready":
                    audit.issues.append(
                        Issue(
                            "roles.marker_from_wrong_lane",
                            f"{render(marker.kind, marker.value)[:40]} on the builder's branch {branch}",
                            marker.commit,
                        )
                    )
        elif not ENFORCER_BRANCH.fullmatch(branch):
            audit.issues.append(
                Issue(
                    "roles.branch_name",
                    f"branch {escape(branch)!r} is neither staging/codex-* nor feature/*",
                )
            )
    return audit


async def commits_between(repo: Path, base: str, head: str) -> list[tuple[str, str]]:
    """``(sha, message)`` of the commits in ``base..head``, oldest first (nothing from base)."""
    from leo.bundle.create import git

    for ref in (base, head):
        if ref.startswith("-"):
            from leo.errors import LeoError

            raise LeoError(f"ref {ref!r} must not start with '-'")
    raw = await git(repo, "log", "-z", "--reverse", "--format=%H%n%B", f"{base}..{head}", "--")
    commits = []
    for record in raw.decode("utf-8", errors="replace").split("\0"):
        if record.strip():
            sha, _, message = record.lstrip("\n").partition("\n")
            commits.append((sha, message))
    return commits


async def verify_bundles(
    audit: Audit, repo: Path | None, bundles: Sequence[Path], trust: Trust | None
) -> None:
    """Verify the bundle named by each READY hash; record the outcome in ``audit.bundles``."""
    from leo.bundle.verify import verify_bundle

    by_digest: dict[str, bytes] = {}
    for path in bundles:
        try:
            data = path.read_bytes()
        except OSError as exc:
            from leo.errors import LeoError

            raise LeoError(f"cannot read --bundle {path}: {exc.strerror}") from None
        by_digest[hashlib.sha256(data).hexdigest()] = data
    for value in dict.fromkeys(m.value for m in audit.markers if m.kind == "ready"):
        found = by_digest.get(value)
        if found is None or trust is None:
            why = (
                "no bundle with this hash was given"
                if found is None
                else "no trusted key was given"
            )
            audit.bundles[value] = "roles.bundle_missing"
            audit.issues.append(
                Issue("roles.bundle_missing", f"READY {value[:12]}: {why}", blocking=False)
            )
            continue
        try:
            await verify_bundle(found, trust, repo=repo)
        except BundleError as exc:
            audit.bundles[value] = exc.code
            audit.issues.append(Issue(exc.code, f"bundle {value[:12]}: {exc.detail}"))
        else:
            audit.bundles[value] = None


async def audit_change(
    repo: Path,
    base: str,
    head: str,
    *,
    bundles: Sequence[Path] = (),
    trust: Trust | None = None,
    branch: str | None = None,
) -> Audit:
    """Audit the handoff markers of ``base..head`` and verify the bundles they name."""
    audit = check_chain(await commits_between(repo, base, head), branch)
    await verify_bundles(audit, repo, bundles, trust)
    return audit


_CHAIN_PREFIXES = ("markers.", "roles.")


def requirements(audit: Audit) -> list[Requirement]:
    """``handoff chain intact`` and ``bundle verified`` for ``leo verify``; none without markers."""
    from leo.models import Requirement

    if not audit.markers and not audit.issues:
        return []
    chain = [
        i
        for i in audit.issues
        if i.code.startswith(_CHAIN_PREFIXES) and i.code != "roles.bundle_missing"
    ]
    blocking = [i for i in chain if i.blocking]
    shown = "; ".join(f"{i.code}: {i.message}" for i in (blocking or chain)[:5])
    chain_met = False if blocking else (None if chain else True)
    claims = len(audit.claims)
    detail = shown or f"{len(audit.markers)} markers form an intact chain"
    if claims:
        detail += f" ({claims} verdict/approval markers read as claims, not verdicts)"
    reqs = [Requirement(name="handoff chain intact", met=chain_met, detail=detail)]
    outcomes = audit.bundles
    if outcomes:
        failed = {h: c for h, c in outcomes.items() if c not in (None, "roles.bundle_missing")}
        missing = [h for h, c in outcomes.items() if c == "roles.bundle_missing"]
        if failed:
            met: bool | None = False
            text = "; ".join(f"{h[:12]}: {c}" for h, c in failed.items())
        elif missing:
            met, text = (
                None,
                f"bundle {missing[0][:12]} not given or no trusted key (pass --bundle and --bundle-key)",
            )
        else:
            met, text = True, f"{len(outcomes)} bundle(s) verified"
        reqs.append(Requirement(name="bundle verified", met=met, detail=text))
    elif audit.markers:
        reqs.append(
            Requirement(name="bundle verified", met=None, detail="markers name no READY bundle")
        )
    return reqs


def summarize(issues: Sequence[Issue]) -> str:
    """One line per issue, safe to print."""
    return "\n".join(
        f"{'FAIL' if i.blocking else 'ESCALATE'} {i.code}: {i.message}"
        + (f" (commit {i.commit[:12]})" if i.commit else "")
        for i in issues
    )
