"""Sub-agents run concurrently and in isolation: a crash, a hang or garbage stays in its agent."""

from __future__ import annotations

import subprocess
import time

import anyio

from leo import SubAgent
from leo.runner import crash_summary


def test_crash_hang_and_garbage_are_isolated_and_never_pass(small_repo, leo_run, agents):
    change = small_repo.change()
    started = time.monotonic()
    run = leo_run(
        change,
        [agents.Fine, agents.Crash, agents.Hang, agents.Garbage, agents.NotAList, agents.Exits],
        config={"timeout": 1.5},
    )
    elapsed = time.monotonic() - started
    by = {a.name: a for a in run.report.agents}
    assert [a.name for a in run.report.agents] == [
        "fine",
        "crash",
        "hang",
        "garbage",
        "notalist",
        "exits",
    ]
    assert by["fine"].status == "passed"
    assert by["crash"].status == "error"
    assert "boom from the crash agent" in by["crash"].error
    assert "Traceback" in by["crash"].error
    assert by["hang"].status == "timeout"
    assert by["garbage"].status == "error" and "invalid result" in by["garbage"].summary
    assert by["notalist"].status == "error" and "returned int" in by["notalist"].summary
    assert by["exits"].status == "error" and "sys.exit" in by["exits"].summary
    assert all(a.plugin == "test" for a in run.report.agents)
    run.assert_verdict("FAIL")
    # Everything ran at once: the run costs one timeout, not one per agent.
    assert elapsed < 10


def test_agent_blocking_its_loop_is_abandoned_after_timeout_plus_grace(small_repo, leo_run, agents):
    started = time.monotonic()
    run = leo_run(small_repo.change(), [agents.Block, agents.Fine], config={"timeout": 1})
    assert time.monotonic() - started < 1 + 3 + 3
    block = run.agent("block")
    assert block.status == "timeout"
    assert "abandoned" in block.summary
    assert run.agent("fine").status == "passed"
    assert run.report.verdict != "PASS"


def _sleepers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "sleep 3600" in line and "ps -eo" not in line]


def test_hanging_tool_and_its_children_are_killed_at_the_timeout(small_repo, leo_run, agents):
    before = len(_sleepers())
    run = leo_run(small_repo.change(), [agents.HangingTool], config={"timeout": 1})
    assert run.agent("hangtool").status == "timeout"
    time.sleep(0.2)
    assert len(_sleepers()) == before


def test_results_keep_selection_order_and_are_stamped(small_repo, leo_run, agents):
    run = leo_run(small_repo.change(), [agents.Skips, agents.Minor, agents.Fine])
    assert [a.name for a in run.report.agents] == ["skips", "minor", "fine"]
    assert all(a.plugin_version == "0" and a.duration_s >= 0 for a in run.report.agents)


def test_jobs_limit_runs_agents_one_at_a_time(small_repo, agents):
    import anyio

    from leo.runner import run_checks
    from leo.subagent import AgentSpec, Job

    jobs = [Job(AgentSpec(cls, "test", "0"), {}, 0.5) for cls in (agents.Hang, agents.Fine)]
    events = []
    change = small_repo.change()
    results = anyio.run(
        lambda: run_checks(jobs, change, limit=1, progress=lambda e, n, r: events.append((e, n)))
    )
    assert [r.status for r in results] == ["timeout", "passed"]
    assert events == [
        ("started", "hang"),
        ("finished", "hang"),
        ("started", "fine"),
        ("finished", "fine"),
    ]


class _GroupCrash(SubAgent):
    """Crashes inside an anyio task group, as the Security sub-agent did on real diffs."""

    name = "groupcrash"

    async def check(self, change):
        async def scan() -> None:
            _numbers, _lines = zip(*[], strict=False)  # detect-secrets on a file adding no line

        async with anyio.create_task_group() as tg:
            tg.start_soon(scan)
        return []


def test_crash_in_a_task_group_is_summarised_by_its_first_real_exception(small_repo, leo_run):
    run = leo_run(small_repo.change(), [_GroupCrash])
    crash = run.agent("groupcrash")
    assert crash.status == "error"
    assert crash.summary == (
        "sub-agent 'groupcrash' crashed: ValueError: not enough values to unpack (expected 2, got 0)"
    )
    assert "Traceback" in crash.error


def test_crash_summary_unwraps_nested_groups():
    inner = ExceptionGroup("inner", [KeyError("missing"), ValueError("later")])
    assert crash_summary(ExceptionGroup("outer", [inner])) == "KeyError: 'missing'"
    assert crash_summary(RuntimeError("two\n  lines")) == "RuntimeError: two lines"
    assert crash_summary(RuntimeError()) == "RuntimeError"
