"""The audit store as a plugin: every handoff between lanes lands in ``leo_handoff_tracking``.

Registered with LEO's core plugins; it imports the store only when an event arrives, so loading
it costs nothing.
"""

from __future__ import annotations

from leo.hookspecs import hookimpl


def _record(repo: str, head_sha: str, digest: str, marker: str, lane: str) -> None:
    from leo.store.location import open_store, repository_key

    key, root = repository_key(repo)
    with open_store(None, root) as store:
        store.record_handoff(
            repository=key, marker=marker, lane=lane, commit_sha=head_sha, bundle_hash=digest
        )


@hookimpl
def leo_bundle_created(repo: str, head_sha: str, digest: str, marker: str) -> None:
    """The builder handed a bundle over: record ``[CODEX-READY:…]``."""
    _record(repo, head_sha, digest, marker, "builder")


@hookimpl
def leo_bundle_applied(repo: str, head_sha: str, digest: str, marker: str) -> None:
    """The enforcer applied a verified bundle: record ``[CLAUDE-APPLIED:…]``."""
    _record(repo, head_sha, digest, marker, "enforcer")
