"""Lane handoffs recorded by the command that makes them (issue 17.8).

``leo bundle create`` and ``leo bundle apply`` write their ``leo_handoff_tracking`` row
themselves, before they print their marker, and fail with exit 5 (``StoreError``) when they
cannot: a handoff that is not recorded is not made. The ``leo_bundle_*`` hooks stay
notifications for other plugins, whose errors are only warnings.
"""

from __future__ import annotations

from typing import Literal


def record_handoff(
    repo: str, head_sha: str, digest: str, marker: str, lane: Literal["builder", "enforcer"]
) -> None:
    """Record ``marker`` for ``head_sha`` of ``repo``; raises ``StoreError`` when it cannot."""
    from leo.store.location import open_store, repository_key

    key, root = repository_key(repo)
    with open_store(None, root) as store:
        store.record_handoff(
            repository=key, marker=marker, lane=lane, commit_sha=head_sha, bundle_hash=digest
        )
