"""The handoff chain: READY before APPLIED, one bundle in flight, each marker from its lane.

A marker only points at evidence (``leo.bundle.gate`` verifies the bundle a READY hash names);
the rules here are about order and roles, read from the commits of ``base..head``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leo.bundle.markers import Issue, Marker, parse, render
from leo.bundle.reasons import escape

MAX_COMMITS = 1000
BUILDER_BRANCH = re.compile(r"staging/codex-[A-Za-z0-9._-]+")
ENFORCER_BRANCH = re.compile(r"feature/[A-Za-z0-9._/-]+")


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
