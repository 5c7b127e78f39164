"""One verification pipeline (issue 21.6): ``leo aggregate``'s evidence from separate jobs goes
through ``supervisor.verify`` and gets the verdict a run here would have given."""

from __future__ import annotations

import anyio

import leo
from leo.config import parse_config
from leo.runner import run_checks
from leo.subagent import AgentSpec
from leo.supervisor import Evidence, make_jobs, verify


class Observer:
    @leo.hookimpl
    def leo_verification_started(self, change, agents):
        pass

    @leo.hookimpl
    def leo_verification_finished(self, report):
        pass


def _setup(small_repo, leo_plugins, leo_hook_calls, agents):
    plugins = leo_hook_calls.watch(leo_plugins(observer=Observer()))
    for cls in (agents.Flaky, agents.Fine):
        plugins.agents[cls.name] = AgentSpec(cls=cls, plugin="test", version="0")
    return small_repo.change(), plugins, parse_config({}, "the test"), ["flaky", "fine"]


def test_evidence_of_other_jobs_gets_the_verdict_of_a_run_here(
    small_repo, leo_plugins, leo_hook_calls, agents
):
    change, plugins, config, names = _setup(small_repo, leo_plugins, leo_hook_calls, agents)
    here, _ = anyio.run(lambda: verify(change, plugins, config, names))
    first = anyio.run(lambda: run_checks(make_jobs(plugins, config, names), change))
    assert [r.status for r in first] == ["failed", "passed"]  # a disagreement to resolve
    leo_hook_calls.calls.clear()

    evidence = Evidence(results=first, rerun=True)
    aggregated, _ = anyio.run(lambda: verify(change, plugins, config, names, evidence=evidence))

    assert (aggregated.verdict, aggregated.confidence, aggregated.resolution_rounds) == (
        here.verdict,
        here.confidence,
        here.resolution_rounds,
    )
    assert aggregated.resolution_rounds == 1
    # The sub-agents ran in other jobs: the observers hear the verdict, not a start.
    assert leo_hook_calls.names()[-1] == "leo_verification_finished"
    assert not leo_hook_calls.of("leo_verification_started")


def test_evidence_that_cannot_be_asked_again_escalates_a_disagreement(
    small_repo, leo_plugins, leo_hook_calls, agents
):
    change, plugins, config, names = _setup(small_repo, leo_plugins, leo_hook_calls, agents)
    first = anyio.run(lambda: run_checks(make_jobs(plugins, config, names), change))
    evidence = Evidence(results=first, rerun=False, unresolvable="--no-rerun", policy_changed=False)

    report, _ = anyio.run(lambda: verify(change, plugins, config, names, evidence=evidence))

    assert report.verdict == "ESCALATE" and report.resolution_rounds == 0
    assert report.reasons[0].startswith("conflict resolution could not run (--no-rerun)")
