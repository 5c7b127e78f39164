"""Sub-agents that misbehave on purpose, loaded by tests with ``-p leo_fixture_agents``."""

from __future__ import annotations

import time

import anyio

from leo import Finding, SubAgent, SubAgentResult, hookimpl, run_tool

__all__ = ["Finding"]


class Fine(SubAgent):
    name = "fine"

    async def check(self, change):
        return []


class Crash(SubAgent):
    name = "crash"

    async def check(self, change):
        raise RuntimeError("boom from the crash agent")


class Hang(SubAgent):
    name = "hang"

    async def check(self, change):
        await anyio.sleep(3600)


class Block(SubAgent):
    """Blocks its event loop: cancellation cannot reach it."""

    name = "block"

    async def check(self, change):
        time.sleep(3600)


class HangingTool(SubAgent):
    """Runs an external tool that never ends (and starts a grandchild)."""

    name = "hangtool"

    async def check(self, change):
        await run_tool(["sh", "-c", "sleep 3600 & sleep 3600"], timeout=None)


class Garbage(SubAgent):
    name = "garbage"

    async def check(self, change):
        return {"status": "excellent", "confidence": 1000}


class NotAList(SubAgent):
    name = "notalist"

    async def check(self, change):
        return 42


class Exits(SubAgent):
    name = "exits"

    async def check(self, change):
        raise SystemExit(3)


class Critical(SubAgent):
    name = "critical"

    async def check(self, change):
        return [
            Finding(rule_id="fixture.critical", severity="critical", message="a critical problem")
        ]


class Minor(SubAgent):
    name = "minor"

    async def check(self, change):
        return [Finding(rule_id="fixture.minor", severity="medium", message="a minor problem")]


class Skips(SubAgent):
    name = "skips"

    async def check(self, change):
        return self.skipped("nothing to check here")


class FlipFlop(SubAgent):
    """Fails, and changes its mind every conflict-resolution round: never settles."""

    name = "flipflop"

    async def check(self, change):
        return [Finding(rule_id="fixture.flip", severity="high", message="failing")]

    async def resolve_conflict(self, change, conflict):
        return SubAgentResult(
            status="failed", confidence=10 + conflict.round, summary=f"round {conflict.round}"
        )


class Flaky(SubAgent):
    """Fails, then passes when asked to reconsider (like a flaky test)."""

    name = "flaky"

    async def check(self, change):
        return [Finding(rule_id="fixture.flaky", severity="high", message="a test failed")]

    async def resolve_conflict(self, change, conflict):
        return self.result([], summary="passed on re-run")


ALL = [
    Fine,
    Crash,
    Hang,
    Block,
    HangingTool,
    Garbage,
    NotAList,
    Exits,
    Critical,
    Minor,
    Skips,
    FlipFlop,
    Flaky,
]


@hookimpl
def leo_register_subagents():
    return ALL
