"""Sub-agents that end LEO's process from inside ``check()``, and a lane event that ends it,
loaded with ``-p leo_fixture_exits``."""

from __future__ import annotations

import os
import signal

from leo import SubAgent, hookimpl


class HardExit(SubAgent):
    name = "osexit"

    async def check(self, change):
        os._exit(0)


class HardExitConditional(SubAgent):
    name = "osexit3"

    async def check(self, change):
        os._exit(3)


class Killed(SubAgent):
    name = "killed"

    async def check(self, change):
        os.kill(os.getpid(), signal.SIGKILL)


class Fine(SubAgent):
    name = "fine2"

    async def check(self, change):
        return []


@hookimpl
def leo_register_subagents():
    return [HardExit, HardExitConditional, Killed, Fine]


@hookimpl
def leo_bundle_created(repo, head_sha, digest, marker):
    os._exit(0)
