"""The audit store's commands: ``leo history``, ``leo lead approve|reject``, ``leo audit verify``.

Registered lazily in ``leo.cli.root.LAZY_COMMANDS``; only click is imported at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from leo.cli._options import database_option, plugin_option
from leo.cli._output import announce_event
from leo.store.location import git_output, open_store, repository_key

F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.option("--pr", type=click.IntRange(min=1), help="Only this pull request's verdicts.")
@click.option("--repo", help="Only this repository (a work tree path or owner/name).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest N verdicts."
)
@database_option
def history(
    pr: int | None, repo: str | None, fmt: str, limit: int, database_url: str | None
) -> None:
    """Recorded verdicts, newest first, with confidence, head SHA, when, who and the LEAD's
    decision bound to that head.

    Rows at or after a broken link of the audit chain are marked UNTRUSTED: from there on, the
    trail may have been rewritten (`leo audit verify` names the link)."""
    import json

    from leo.formats import clean

    key, config_dir = repository_key(repo) if repo else (None, None)
    with open_store(database_url, config_dir) as store:
        records = store.history(repository=key, pr=pr, limit=limit)
        chain = store.verify_chain()
    broken_at = None if chain.intact else (chain.seq if chain.seq is not None else 0)

    def untrusted(seq: int) -> bool:
        return broken_at is not None and seq >= broken_at

    if broken_at is not None:
        click.echo(
            f"leo: warning: the audit chain is broken ({chain.problem}); rows from seq "
            f"{broken_at} on are marked UNTRUSTED",
            err=True,
        )
    if fmt == "json":
        docs = [{**r.as_json(), "untrusted": untrusted(r.seq)} for r in records]
        click.echo(json.dumps(docs, indent=2))
        return
    if not records:
        click.echo("no verdicts recorded" + (f" for PR {pr}" if pr else ""))
        return
    for r in records:
        when = r.as_json()["recorded_at"][:19].replace("T", " ")
        pr_text = f"PR {r.pr_number}" if r.pr_number is not None else "no PR"
        line = (
            f"#{r.seq} {when}Z {r.verdict} ({r.confidence}) {pr_text} head {r.head_sha[:12]} "
            f"by {clean(r.actor)} in {clean(r.repository)}"
        )
        if r.decision:
            d = r.decision
            flag = " OVERRIDE over FAIL" if d.override else ""
            line += f"; LEAD {d.decision}d by {clean(d.actor)}{flag}: {clean(d.reason)}"
        click.echo(("UNTRUSTED " if untrusted(r.seq) else "") + line)


@click.group()
def lead() -> None:
    """LEAD decisions on a verdict: approve or reject, always with a reason."""


def _decide(
    decision: str,
    pr: int,
    reason: str | None,
    repo: str,
    head: str,
    override: bool,
    actor: str | None,
    database_url: str | None,
    plugin_args: tuple[str, ...],
) -> None:
    from leo.errors import LeoError

    key, root = repository_key(repo)
    if root is None:
        if len(head) != 40 or any(c not in "0123456789abcdef" for c in head):
            msg = f"--repo {repo!r} is not a local work tree, so --head must be the full 40-hex head SHA"
            raise LeoError(msg)
        head_sha = head
    else:
        sha = git_output(root, "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}")
        if not sha or head.startswith("-"):
            msg = f"unknown ref {head!r} in {root}; check --head"
            raise LeoError(msg)
        head_sha = sha
    from leo.store.records import check_reason

    check_reason(reason)  # before touching the database: refuse early and clearly
    with open_store(database_url, root) as store:
        record = store.record_decision(
            repository=key,
            pr=pr,
            head_sha=head_sha,
            decision="approve" if decision == "approve" else "reject",
            reason=reason,
            actor=actor,
            override=override,
        )
    announce_event(
        "leo_lead_decision",
        plugin_args,
        repository=key,
        pr=pr,
        head_sha=head_sha,
        decision=record.decision,
        reason=reason or "",
        override=record.override,
        verdict=record.verdict,
    )
    flag = " (FLAGGED: approved over a FAIL with --override)" if record.override else ""
    click.echo(
        f"leo: LEAD {record.decision} recorded for PR {pr} at {head_sha[:12]} answering verdict "
        f"{record.verdict} #{record.verification_seq} (audit seq {record.seq}){flag}",
        err=True,
    )


def _lead_options(fn: F) -> F:
    for option in reversed(
        [
            click.option("--pr", type=click.IntRange(min=1), required=True, help="Pull request."),
            click.option("--reason", help="Why (at least one sentence); recorded in the audit."),
            click.option(
                "--repo",
                default=".",
                show_default=True,
                help="Work tree of the PR (or owner/name with --head SHA).",
            ),
            click.option(
                "--head",
                default="HEAD",
                show_default=True,
                help="Head the decision binds to; it must be the PR's newest verified head.",
            ),
            click.option(
                "--actor", help="Who decides. [default: $LEO_ACTOR, $GITHUB_ACTOR, user@host]"
            ),
            database_option,
            plugin_option,
        ]
    ):
        fn = option(fn)
    return fn


@lead.command()
@_lead_options
@click.option(
    "--override", is_flag=True, help="Approve over a FAIL verdict (flagged in the record)."
)
def approve(
    pr: int,
    reason: str | None,
    repo: str,
    head: str,
    actor: str | None,
    database_url: str | None,
    plugin_args: tuple[str, ...],
    override: bool,
) -> None:
    """Approve the PR's newest verdict at its head SHA."""
    _decide("approve", pr, reason, repo, head, override, actor, database_url, plugin_args)


@lead.command()
@_lead_options
def reject(
    pr: int,
    reason: str | None,
    repo: str,
    head: str,
    actor: str | None,
    database_url: str | None,
    plugin_args: tuple[str, ...],
) -> None:
    """Reject the PR's newest verdict at its head SHA."""
    _decide("reject", pr, reason, repo, head, False, actor, database_url, plugin_args)


@click.group()
def audit() -> None:
    """The audit trail's integrity."""


@audit.command(name="checkpoint")
@click.option(
    "--sign",
    "sign_spec",
    required=True,
    metavar="key:PATH|gpg:KEYID",
    help="Sign the checkpoint with this key (`leo key generate`), as `leo bundle create --sign`.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed checkpoint here; keep it outside the database's reach.",
)
@database_option
def checkpoint(sign_spec: str, output: Path, database_url: str | None) -> None:
    """Sign the head of the intact audit chain into FILE, kept outside the database.

    `leo audit verify --checkpoint FILE --key PUB` later detects a chain rewritten or truncated
    behind it, which the unkeyed hashes alone cannot. Exits 1 when the chain is already broken.
    """
    import sys

    from leo.errors import ExitCode
    from leo.store.checkpoint import CheckpointError, write_checkpoint

    with open_store(database_url, None) as store:
        result = store.verify_chain()
    try:
        doc = write_checkpoint(result, output, sign_spec)
    except CheckpointError as exc:
        click.echo(f"leo: audit chain BROKEN: {exc}", err=True)
        sys.exit(ExitCode.FAIL)
    click.echo(f"checkpoint of seq {doc['seq']} ({doc['rows']} rows) written to {output}")


@audit.command(name="verify")
@click.option(
    "--expect-head",
    metavar="SEQ:HASH",
    help="Also require the chain head to be (or to extend past) this checkpoint kept elsewhere.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also require the row this signed checkpoint (`leo audit checkpoint`) vouches for.",
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The public key the --checkpoint must be signed with.",
)
@database_option
def verify_chain(
    expect_head: str | None,
    checkpoint_file: Path | None,
    key_file: Path | None,
    database_url: str | None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first row that was altered or deleted."""
    import sys

    from leo.errors import ExitCode, LeoError
    from leo.store.checkpoint import CheckpointError, problem_against, read_checkpoint

    if (checkpoint_file is None) != (key_file is None):
        raise LeoError("--checkpoint and --key go together: the checkpoint must be signed")
    with open_store(database_url, None) as store:
        result = store.verify_chain()
        if result.intact and checkpoint_file is not None and key_file is not None:
            try:
                doc = read_checkpoint(checkpoint_file, key_file)
            except CheckpointError as exc:
                click.echo(f"leo: checkpoint REFUSED: {exc}", err=True)
                sys.exit(ExitCode.FAIL)
            problem = problem_against(doc, store.hash_at(doc["seq"]))
            if problem is not None:
                click.echo(f"leo: audit chain BROKEN: {problem}", err=True)
                sys.exit(ExitCode.FAIL)
    if result.intact and expect_head:
        seq_text, _, want = expect_head.partition(":")
        if not seq_text.isdigit() or len(want) != 64:
            msg = (
                f"--expect-head {expect_head!r} is not SEQ:HASH (as printed by `leo audit verify`)"
            )
            raise LeoError(msg)
        with open_store(database_url, None) as store:
            at = store.hash_at(int(seq_text))
        if at != want:
            click.echo(
                f"leo: audit chain BROKEN: the row at seq {seq_text} does not carry the expected "
                "checkpoint hash (it was rewritten or deleted)",
                err=True,
            )
            sys.exit(ExitCode.FAIL)
    if not result.intact:
        click.echo(f"leo: audit chain BROKEN: {result.problem}", err=True)
        sys.exit(ExitCode.FAIL)
    click.echo(f"audit chain intact: {result.rows} rows; head {result.head_seq}:{result.head_hash}")
