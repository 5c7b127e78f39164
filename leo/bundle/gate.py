"""What the gate asks of the handoffs: each READY bundle verified, and requirements for
``leo verify`` and ``leo handoff audit`` — only when the change carries markers.

The marker text never decides anything itself: the chain must be intact (``leo.bundle.chain``)
and each READY bundle must verify with the builder's key, else a requirement fails or stays
undecided.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leo.bundle.chain import Audit, check_chain, commits_between
from leo.bundle.markers import Issue
from leo.bundle.reasons import BundleError
from leo.bundle.verify import Trust, verify_bundle

if TYPE_CHECKING:
    from leo.change import Change
    from leo.models import Requirement


async def verify_bundles(
    audit: Audit, repo: Path | None, bundles: Sequence[Path], trust: Trust | None
) -> None:
    """Verify the bundle named by each READY hash; record the outcome in ``audit.bundles``."""
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


async def handoff_requirements(
    change: Change, head_ref: str, bundles: Sequence[Path], key: Path | None
) -> list[Requirement]:
    """``handoff chain intact`` and ``bundle verified`` for ``change`` (none without markers).

    The marker text never decides anything itself: the chain must be intact and each READY
    bundle must verify with the builder's key, else the requirement fails or stays undecided.
    """
    repo = Path(change.repo)
    commits = await commits_between(repo, change.base_sha, change.head_sha)
    branch = head_ref if head_ref.startswith(("staging/", "feature/")) else None
    audit = check_chain(commits, branch)
    if not audit.markers and not audit.issues:
        return []
    await verify_bundles(audit, repo, bundles, Trust(key=key) if key else None)
    return requirements(audit)
