"""The sticky PR comment: one comment holding the latest report, found by a hidden marker.

Re-runs edit it in place. Creating a comment is the one write that is not idempotent, so a
failed create first looks for the marker again (the response may have been lost after GitHub
applied it) before it tries once more: a retried run never double-comments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo.github.client import api, retry_write

if TYPE_CHECKING:
    from github import Github
    from github.IssueComment import IssueComment

#: GitHub refuses comments over 65,536 characters.
MAX_BODY = 65_000


def marker(context: str) -> str:
    """The hidden marker of LEO's comment for status ``context``."""
    safe = "".join(c for c in context if c.isalnum() or c in " ._-")
    return f"<!-- leo:sticky-report context={safe!r} -->"


def _body(context: str, markdown: str) -> str:
    head = marker(context) + "\n"
    room = MAX_BODY - len(head)
    if len(markdown) > room:
        markdown = (
            markdown[: room - 80] + "\n\n… (report truncated; run `leo verify` for all of it)\n"
        )
    return head + markdown


def find_sticky(gh: Github, repository: str, number: int, context: str) -> IssueComment | None:
    """LEO's comment on the PR: the oldest carrying the marker, bots' comments first."""
    mark = marker(context)
    with api(f"listing the comments of #{number}"):
        issue = gh.get_repo(repository).get_issue(number)
        found = [c for c in issue.get_comments() if (c.body or "").startswith(mark)]
    found.sort(key=lambda c: (c.user is None or c.user.type != "Bot", c.id))
    return found[0] if found else None


def upsert_comment(gh: Github, repository: str, number: int, context: str, markdown: str) -> int:
    """Create or edit LEO's sticky comment; return its id."""
    body = _body(context, markdown)
    existing = find_sticky(gh, repository, number, context)
    if existing is not None:
        if existing.body != body:
            with api(f"editing LEO's comment on #{number}"):
                existing.edit(body)  # PATCH: idempotent, retried by the client
        return int(existing.id)

    def landed() -> int | None:
        again = find_sticky(gh, repository, number, context)
        return None if again is None else int(again.id)

    def create() -> int:
        issue = gh.get_repo(repository).get_issue(number)
        return int(issue.create_comment(body).id)

    return retry_write(f"commenting on #{number}", create, landed=landed)
