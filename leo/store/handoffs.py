"""Lane handoffs recorded by the command that makes them (issue 17.8).

``leo bundle create`` and ``leo bundle apply`` write their ``leo_handoff_tracking`` row
themselves, before they print their marker, and fail with exit 5 (``StoreError``) when they
cannot: a handoff that is not recorded is not made. The ``leo_bundle_*`` hooks stay
notifications for other plugins, whose errors are only warnings. On a current SQLite database
the row is appended without SQLAlchemy (``sqlite_append``): the lane commands' hot path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal


def record_handoff(
    repo: str, head_sha: str, digest: str, marker: str, lane: Literal["builder", "enforcer"]
) -> None:
    """Record ``marker`` for ``head_sha`` of ``repo``; raises ``StoreError`` when it cannot."""
    from leo.store.actor import default_actor
    from leo.store.location import configured_url, repository_key, resolve_url
    from leo.store.sqlite_append import append, sqlite_path

    key, root = repository_key(repo)
    values = {
        "repository": key,
        "pr_number": None,
        "marker": marker,
        "lane": lane,
        "bundle_hash": digest,
        "commit_sha": head_sha,
        "actor": default_actor(),
    }
    # The URL as ``open_store(None, root)`` resolves it.
    path = sqlite_path(resolve_url(None, config_url=configured_url(root or Path.cwd())))
    if path is not None and append(path, "leo_handoff_tracking", values, what="record the handoff"):
        return
    from leo.store.location import open_store

    with open_store(None, root) as store:
        store.record_handoff(
            repository=key, marker=marker, lane=lane, commit_sha=head_sha, bundle_hash=digest
        )
