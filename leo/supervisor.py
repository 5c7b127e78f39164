"""The supervisor lane: one verification from a gathered change to a ``Report``.

Selects the sub-agents, runs them concurrently, lets them resolve disagreements (at most three
rounds), and asks the aggregator for the verdict. The local mode and the GitHub mode both end
here, so a verdict means the same thing wherever it was computed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from leo import aggregate, sandbox, tracing
from leo.__about__ import __version__
from leo.config import Config, policy_changed
from leo.errors import ConfigError, LeoError
from leo.models import Report, Requirement, SubAgentResult
from leo.plugins import BUILTIN_PLUGINS, Plugins, notify
from leo.runner import Progress, run_checks, run_guarded
from leo.subagent import Conflict, Job, parse_settings

if TYPE_CHECKING:
    from leo.cache import ResultCache
    from leo.change import Change

#: Completes a report before the observer hooks see it (see ``verify``).
Finalize = Callable[[Report], Awaitable[Report]]


def select_agents(plugins: Plugins, config: Config, requested: Sequence[str] | None) -> list[str]:
    """The sub-agents to run: ``--agents``, else ``select`` in config, else every enabled one."""
    known = sorted(plugins.agents)
    if not known:
        # A bare `pip install leo-gate` has no sub-agents: say what to install, never run nothing.
        dists = ", ".join(f"leo-{n}" for n in BUILTIN_PLUGINS)
        msg = (
            f"no sub-agents are installed, so nothing can be verified; install LEO's: {dists} "
            '(wheels from dist/ or pinned to a commit of LEO\'s repository, see README "Install"), '
            "then check `leo plugins`"
        )
        raise LeoError(msg)
    names = list(requested) if requested else list(config.select or known)
    source = "--agents" if requested else "select in the configuration"
    unknown = [n for n in names if n not in plugins.agents]
    if unknown:
        hint = ", ".join(known)
        msg = f"unknown sub-agent {unknown[0]!r} (known: {hint}); check {source}"
        raise (LeoError if requested else ConfigError)(msg)
    if not requested:
        names = [n for n in names if config.enabled(n)]
    return list(dict.fromkeys(names))


def check_settings(plugins: Plugins, config: Config) -> list[str]:
    """Validate every installed sub-agent's ``[tool.leo.agents.<name>]`` table before anything
    runs (``ConfigError`` naming the agent and key); return a notice per table that names a
    sub-agent that is not installed, which the policy configures in vain."""
    notices = []
    for name in config.agents:
        if name in plugins.agents:
            parse_settings(plugins.agents[name].cls, config.settings(name))
        else:
            known = ", ".join(sorted(plugins.agents)) or "none"
            notices.append(
                f"[tool.leo.agents.{name}] configures sub-agent {name!r}, which is not installed "
                f"(installed: {known}); its settings are not used"
            )
    return notices


@dataclass(frozen=True)
class Evidence:
    """Sub-agent results computed elsewhere (one ``leo agent run`` CI job each): the supervisor
    concludes from them instead of running the sub-agents here (``leo aggregate``)."""

    results: Sequence[SubAgentResult]
    """The first round's results, one per sub-agent, in the order of ``verify``'s ``names``."""
    rerun: bool
    """Whether conflict rounds may ask the sub-agents again here; if not, a disagreement
    ESCALATEs and ``unresolvable`` says why."""
    unresolvable: str = ""
    """Why the sub-agents cannot be asked again, for the report's reasons."""
    policy_changed: bool | None = None
    """Whether the change edits LEO's policy, as the jobs saw it; None reads the change."""


async def verify(
    change: Change,
    plugins: Plugins,
    config: Config,
    names: Sequence[str],
    *,
    timeout: float | None = None,
    jobs: int | None = None,
    requirements: Sequence[Requirement] = (),
    required: Sequence[str] | None = None,
    progress: Progress | None = None,
    cache: ResultCache | None = None,
    evidence: Evidence | None = None,
    started: float | None = None,
    finalize: Finalize | None = None,
) -> tuple[Report, list[str]]:
    """Verify ``change`` with the sub-agents ``names``; return the report and plugin warnings.

    The one pipeline of ``leo verify``, ``leo verify --pr`` and ``leo aggregate``, so a verdict
    means the same wherever it was computed: first round (run here, or the ``evidence`` of
    separate CI jobs), conflict rounds, the aggregator's verdict. ``required`` None applies the
    configuration's; ``started`` (a ``time.monotonic()``) is when the work began, now if None.
    ``finalize`` completes the report (the GitHub mode names the repository and marks a stale
    head) before any observer hook sees it."""
    started = time.monotonic() if started is None else started
    with tracing.span("leo.verify", {"leo.head_sha": change.head_sha, "leo.agents": list(names)}):
        job_list: list[Job] | None
        if evidence is None:
            notices = check_settings(plugins, config)
            job_list = make_jobs(plugins, config, names, timeout=timeout)
            notices += notify(
                plugins.pm, "leo_verification_started", change=change, agents=list(names)
            )
            requirements = [*requirements, *load_requirements(plugins, config, names)]
        else:
            # The sub-agents ran in other jobs: no "started" hook, and only the settings of
            # those that may be asked again here are checked.
            notices = []
            job_list = make_jobs(plugins, config, names) if evidence.rerun else None
        limit = config.jobs if jobs is None else jobs
        with sandbox.isolation(config.isolation):
            if evidence is None:
                assert job_list is not None
                results = await run_checks(
                    job_list, change, limit=limit, progress=progress, cache=cache
                )
            else:
                results = list(evidence.results)
            report, more = await conclude(
                change,
                plugins,
                config,
                results,
                jobs=job_list,
                unresolvable=evidence.unresolvable if evidence else "",
                policy_edited=evidence.policy_changed if evidence else None,
                requirements=requirements,
                required=required,
                started=started,
                limit=limit,
                finalize=finalize,
            )
    return report, notices + more


def load_requirements(plugins: Plugins, config: Config, names: Sequence[str]) -> list[Requirement]:
    """A plugin that failed to load may have held a required sub-agent (issue 17.6, THREATS
    C-09). When the run was to cover every sub-agent (no ``--agents`` or ``select`` narrowing
    it) and the policy requires all of them, nobody can tell which are missing: each failure
    is an unmet requirement. A named required sub-agent that is missing already fails as "did
    not run"."""
    everything = {n for n in plugins.agents if config.enabled(n)}
    if config.required != "all" or config.select or not everything <= set(names):
        return []
    return [
        Requirement(
            name=f"plugin {f.name} loaded",
            met=False,
            detail=f"plugin {f.name} ({f.distribution}) failed to load: {f.error}; the policy "
            "requires every sub-agent, so its sub-agents are missing",
        )
        for f in plugins.failures
    ]


def make_jobs(
    plugins: Plugins, config: Config, names: Sequence[str], *, timeout: float | None = None
) -> list[Job]:
    """One job per sub-agent: its spec, its settings and its timeout (``timeout`` overrides).

    Each table is validated here (``ConfigError``), so no job starts with settings its
    sub-agent would refuse.
    """
    for n in names:
        parse_settings(plugins.agents[n].cls, config.settings(n))
    return [
        Job(
            spec=plugins.agents[n],
            settings=config.settings(n),
            timeout=timeout or config.agent_timeout(n, plugins.agents[n].cls.timeout),
        )
        for n in names
    ]


async def conclude(
    change: Change,
    plugins: Plugins,
    config: Config,
    results: list[SubAgentResult],
    *,
    jobs: Sequence[Job] | None,
    unresolvable: str = "",
    policy_edited: bool | None = None,
    requirements: Sequence[Requirement] = (),
    required: Sequence[str] | None = None,
    started: float | None = None,
    limit: int | None = None,
    finalize: Finalize | None = None,
) -> tuple[Report, list[str]]:
    """From the sub-agents' first results to the ``Report``: conflict rounds, then the verdict.

    The last step of ``verify``, so a verdict computed from separate CI jobs is the verdict one
    run would have given. ``jobs`` are in the order of ``results``;
    None means the sub-agents cannot be asked again (``unresolvable`` says why), so a
    disagreement ESCALATEs instead of being guessed. ``policy_edited`` None reads the change;
    ``required`` None applies the configuration's (``"all"``: every result's agent); ``limit``
    (None: the configuration's ``jobs``) caps how many sub-agents reconsider at once.
    """
    started = time.monotonic() if started is None else started
    names = [r.name for r in results]
    if jobs is not None:
        limit = config.jobs if limit is None else limit
        results, rounds, settled = await resolve_conflicts(
            plugins, jobs, change, results, limit=limit
        )
    else:
        rounds, settled = 0, not aggregate.disagreement(results)
    warnings: list[str] = []
    for result in results:
        warnings += notify(plugins.pm, "leo_subagent_finished", change=change, result=result)

    reqs = list(requirements)
    if policy_edited is None:
        policy_edited = await policy_changed(change)
    if policy_edited:
        reqs.append(
            Requirement(
                name="policy unchanged",
                met=None,
                detail="the change edits LEO's policy ([tool.leo] or leo.toml); "
                "the base commit's policy was applied",
            )
        )
    if required is None:
        required = list(names) if config.required == "all" else list(config.required)
    verdict = aggregate.decide(
        results,
        weights={n: config.weight(n) for n in names},
        threshold=config.threshold,
        required=required,
        requirements=reqs,
        rounds=rounds,
        settled=settled,
        unisolated=config.isolation == "none",
    )
    reasons = verdict.reasons
    if jobs is None and not settled:
        why = f"conflict resolution could not run ({unresolvable}); a LEAD must decide"
        reasons = (why, *reasons)
    report = Report(
        leo_version=__version__,
        verdict=verdict.verdict,
        confidence=verdict.confidence,
        reasons=reasons,
        resolution_rounds=verdict.resolution_rounds,
        requirements=verdict.requirements,
        repository=change.repo,
        base_sha=change.base_sha,
        head_sha=change.head_sha,
        config_digest=config.digest,
        changed_files=len(change.files),
        duration_s=round(time.monotonic() - started, 3),
        agents=tuple(results),
        isolation=config.isolation,
    )
    if finalize is not None:
        report = await finalize(report)
    warnings += notify(plugins.pm, "leo_verification_finished", report=report)
    return report, warnings


async def resolve_conflicts(
    plugins: Plugins,
    jobs: Sequence[Job],
    change: Change,
    results: list[SubAgentResult],
    *,
    limit: int = 0,
) -> tuple[list[SubAgentResult], int, bool]:
    """Let disagreeing sub-agents reconsider; return (results, rounds run, settled).

    Each round, every sub-agent with evidence sees the others' results and may revise its own
    through the ``leo_resolve_conflict`` hook; the sub-agents of one round are asked at once
    (at most ``limit`` together when > 0), as in the first round. The conflict is settled when
    the split is gone or a round changes nothing; it is unsettled when round three still
    changed something.
    """
    rounds = 0
    while rounds < aggregate.MAX_ROUNDS and aggregate.disagreement(results):
        rounds += 1
        revised = await _reconsider(plugins, jobs, change, results, rounds, limit)
        changed = any(_differs(a, b) for a, b in zip(results, revised, strict=True))
        results = revised
        if not changed:
            return results, rounds, True
    return results, rounds, not aggregate.disagreement(results)


async def _reconsider(
    plugins: Plugins,
    jobs: Sequence[Job],
    change: Change,
    results: list[SubAgentResult],
    round: int,
    limit: int,
) -> list[SubAgentResult]:
    """One conflict round: each sub-agent with evidence asked concurrently, in input order."""
    revised = list(results)
    limiter = anyio.CapacityLimiter(limit or max(len(jobs), 1))

    async def ask(i: int, job: Job, own: SubAgentResult) -> None:
        conflict = Conflict(round, own, [r for r in results if r is not own])
        who: list[str] = []
        async with limiter:
            new = await run_guarded(job, _resolver(plugins, job, change, conflict, who))
        if _differs(own, new):
            by = (*own.revised_by, f"round {round}: {who[0] if who else 'LEO'}")
            revised[i] = new.model_copy(update={"revised_by": by})

    async with anyio.create_task_group() as tg:
        for i, (job, own) in enumerate(zip(jobs, results, strict=True)):
            if own.status not in ("error", "timeout", "skipped"):
                tg.start_soon(ask, i, job, own)
    return revised


def _resolver(
    plugins: Plugins, job: Job, change: Change, conflict: Conflict, who: list[str]
) -> Callable[[], Awaitable[object]]:
    """Ask every ``leo_resolve_conflict`` implementation in pluggy's order, but take a revision
    only from the sub-agent's own plugin or LEO's default, and name it in ``who``: another
    plugin may observe the conflict, never launder someone else's result (issue 17.6)."""
    owners = {p.name for p in plugins.plugins if job.spec.name in p.subagents}
    allowed = owners | {"leo.defaults"}

    async def call() -> object:
        agent = job.spec.cls(job.settings)
        hook = plugins.pm.hook.leo_resolve_conflict
        everyone = plugins.pm.get_plugins()
        # pluggy's own order: the last registered, tryfirst ones first; the first answer wins.
        for impl in reversed(hook.get_hookimpls()):
            others = [p for p in everyone if p is not impl.plugin]
            caller = plugins.pm.subset_hook_caller("leo_resolve_conflict", remove_plugins=others)
            awaitable = caller(subagent=agent, change=change, conflict=conflict)
            outcome = await awaitable if awaitable is not None else None
            if outcome is not None and impl.plugin_name in allowed:
                who.append(impl.plugin_name)
                return outcome
        return conflict.own

    return call


def _differs(a: SubAgentResult, b: SubAgentResult) -> bool:
    return (a.status, a.confidence, a.findings) != (b.status, b.confidence, b.findings)
