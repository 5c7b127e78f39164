"""``leo replay`` and ``leo calibrate``: what a candidate policy would change, and which rules
LEADs overrule. Both only read the audit store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from leo.cli._options import database_option, plugin_option

if TYPE_CHECKING:
    from leo.config import Config
    from leo.models import Report
    from leo.plugins import Plugins
    from leo.store.records import VerdictRecord
    from leo.subagent import AgentSpec


def _since(value: str | None) -> datetime | None:
    """``--since`` as an aware datetime (a date or an ISO timestamp; naive means UTC)."""
    if value is None:
        return None
    from leo.errors import LeoError

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        msg = f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO timestamp"
        raise LeoError(msg) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


#: The setting a sub-agent declares when it resolves dependencies (the Testing sub-agent's
#: ``resolve_as_of``); replay sets it so a replay differs by the policy, not by what was
#: released since the change was verified (issue 18).
AS_OF_SETTING = "resolve_as_of"


def _as_of(value: str | None) -> str | None:
    """``--resolve-as-of``: None for the recorded time, ``"now"``, or an ISO datetime in UTC."""
    if value is None or value == "now":
        return value
    from leo.errors import LeoError

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        msg = f"--resolve-as-of {value!r} is not a date; use now, YYYY-MM-DD or an ISO timestamp"
        raise LeoError(msg) from None
    return _iso(when)


def _iso(when: datetime) -> str:
    """``when`` (naive means UTC) as an ISO datetime in UTC."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def resolve_as_of(
    config: Config, specs: list[AgentSpec], recorded_at: datetime, option: str | None
) -> Config:
    """``config`` with ``resolve_as_of`` set for each sub-agent in ``specs`` that declares it:
    ``option`` (``--resolve-as-of``) when given (``"now"`` unsets it), else the candidate
    policy's own value, else the time the change was recorded, when it was verified."""
    agents = {name: dict(table) for name, table in config.agents.items()}
    for spec in specs:
        fields = getattr(spec.cls.Settings, "model_fields", {})
        if AS_OF_SETTING not in fields:
            continue
        table = agents.setdefault(spec.name, {})
        if option == "now":
            table.pop(AS_OF_SETTING, None)
        elif option is not None:
            table[AS_OF_SETTING] = option
        else:
            table.setdefault(AS_OF_SETTING, _iso(recorded_at))
    return config.model_copy(update={"agents": agents})


since_option = click.option(
    "--since",
    metavar="DATE",
    help="Only what was recorded on or after DATE (YYYY-MM-DD or ISO time).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.command()
@click.option(
    "--policy",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The candidate policy: a leo.toml or a pyproject.toml with [tool.leo].",
)
@since_option
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Replay the newest N recorded changes.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Per-agent timeout in seconds (overrides the policy).",
)
@click.option(
    "--resolve-as-of",
    "as_of",
    metavar="now|DATE",
    help="Resolve test dependencies as of DATE, or now. [default: when each change was verified]",
)
@json_option
@plugin_option
@database_option
def replay(
    policy: Path,
    since: str | None,
    limit: int,
    timeout: float | None,
    as_of: str | None,
    as_json: bool,
    plugin_args: tuple[str, ...],
    database_url: str | None,
) -> None:
    """Verify the changes recorded in the audit store again under the candidate --policy and
    print which verdicts would change (PASS -> FAIL and back) and the rules behind each change.

    Each change (repository, base, head) runs again with the sub-agents that verified it, in its
    recorded repository, which must still be a local work tree holding both commits; other
    changes are listed as not replayed. Nothing is recorded and no cached result is used.
    The test dependencies are resolved as of the time each change was verified, so a verdict
    moves because of the policy, not because of what was released since (--resolve-as-of).
    """
    import json

    import anyio

    from leo.cli._output import load_plugins
    from leo.config import read_config_file
    from leo.store.location import open_store
    from leo.store.replay import replay as run_replay

    when = _since(since)
    option = _as_of(as_of)
    config, source = read_config_file(policy, "--policy")  # a bad policy stops before any work
    plugins = load_plugins(plugin_args)

    async def reverify(change: VerdictRecord) -> Report | str:
        return await _reverify(change, config, plugins, timeout, option)

    with open_store(database_url, None) as store:
        summary = anyio.run(
            lambda: run_replay(store, reverify, policy=source, since=when, limit=limit)
        )
    summary.resolve_as_of = option or "recorded"
    if as_json:
        click.echo(json.dumps(summary.as_json(), indent=2))
        return
    _print_replay(summary.as_json())


async def _reverify(
    change: VerdictRecord,
    config: Config,
    plugins: Plugins,
    timeout: float | None,
    as_of: str | None = None,
) -> Report | str:
    """Verify a recorded change again with the sub-agents that verified it, under ``config``
    with its dependencies as of ``as_of`` (``resolve_as_of``), without the result cache and
    without recording; or say why it cannot be."""
    from leo.change import gather_change
    from leo.errors import LeoError
    from leo.supervisor import verify

    names = [str(a["name"]) for a in change.report.get("agents", []) if a.get("name")]
    missing = [n for n in names if n not in plugins.agents]
    if not names:
        return "the recorded report names no sub-agent"
    if missing:
        return f"sub-agent {missing[0]!r} is not installed (see `leo plugins`)"
    if not Path(change.repository).is_dir():
        return f"repository {change.repository!r} is not a local work tree here"
    try:
        gathered = await gather_change(change.repository, change.base_sha, change.head_sha)
    except LeoError as exc:
        return str(exc)
    specs = [plugins.agents[n] for n in names]
    config = resolve_as_of(config, specs, change.recorded_at, as_of)
    report, _warnings = await verify(gathered, plugins, config, names, timeout=timeout, cache=None)
    return report


def _print_replay(doc: dict[str, Any]) -> None:
    from leo.formats import clean

    click.echo(
        f"replayed {doc['replayed']} recorded changes under {clean(doc['policy'])}: "
        f"{doc['changed']} verdicts would change, {doc['not_replayed']} could not be replayed"
    )
    if doc["resolve_as_of"] == "recorded":
        click.echo("  test dependencies resolved as of when each change was verified")
    else:
        click.echo(f"  test dependencies resolved as of {clean(doc['resolve_as_of'])}")
    for transition, n in doc["transitions"].items():
        click.echo(f"  {transition}: {n}")
    if doc["rules"]:
        click.echo("rules:")
        for row in doc["rules"]:
            moves = (
                ", ".join(f"{t}: {n}" for t, n in row["transitions"].items())
                or "no verdict changed"
            )
            click.echo(
                f"  {clean(row['rule'])}: newly counts in {row['added']}, no longer in "
                f"{row['removed']} ({moves})"
            )
    for c in doc["changes"]:
        head = f"{c['base_sha'][:12]}..{c['head_sha'][:12]}"
        pr = f"PR {c['pr_number']} " if c["pr_number"] is not None else ""
        if c["not_replayed"]:
            click.echo(f"#{c['seq']} {pr}{head}: not replayed: {clean(c['not_replayed'])}")
            continue
        arrow = "->" if c["changed"] else "=="
        rules = [f"+{r}" for r in c["rules_added"]] + [f"-{r}" for r in c["rules_removed"]]
        click.echo(
            f"#{c['seq']} {pr}{head}: {c['recorded_verdict']} {arrow} {c['replayed_verdict']}"
            + (f" ({clean(', '.join(rules))})" if rules else "")
        )


@click.command()
@since_option
@json_option
@database_option
def calibrate(since: str | None, as_json: bool, database_url: str | None) -> None:
    """How often LEADs overrode each rule's FAIL or ESCALATE, noisiest rule first.

    Every LEAD decision on a FAIL or ESCALATE is credited to the rules that counted against that
    verdict (medium-or-worse findings on the change, and sub-agents that gave no evidence).
    """
    import json

    from leo.formats import clean
    from leo.store.calibrate import calibrate as run_calibrate
    from leo.store.location import open_store

    when = _since(since)
    with open_store(database_url, None) as store:
        result = run_calibrate(store, since=when)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    if not result.decisions:
        click.echo("no LEAD decisions on FAIL or ESCALATE verdicts recorded")
        return
    click.echo(
        f"{result.decisions} LEAD decisions on FAIL or ESCALATE verdicts, "
        f"{result.overridden} approved anyway"
    )
    click.echo(f"{'overridden':>10}  {'FAIL':>9}  {'ESCALATE':>9}  rule")
    for r in result.rules:
        click.echo(
            f"{r.override_rate:>10.0%}  {r.fail_overridden:>4}/{r.fail_decisions:<4}  "
            f"{r.escalate_approved:>4}/{r.escalate_decisions:<4}  {clean(r.rule)}"
        )
