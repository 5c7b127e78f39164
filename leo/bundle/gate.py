"""What ``leo verify`` asks of the handoffs: requirements, only when the change carries markers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leo.bundle.handoff import check_chain, commits_between, requirements, verify_bundles
from leo.bundle.verify import Trust

if TYPE_CHECKING:
    from leo.change import Change
    from leo.models import Requirement


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
