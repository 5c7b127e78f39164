"""Sub-agents that read only ``*.lock`` files, for ``leo plugins check`` tests of ``sample_files``."""

from __future__ import annotations

from leo import Finding, SubAgent, hookimpl


class LockReader(SubAgent):
    """Notes the first added ``beta`` line of each ``.lock`` file the change touches; skips
    changes without one."""

    name = "lockreader"
    sample_files = {"deps.lock": "alpha==1\nbeta==2\n"}

    async def check(self, change):
        findings = []
        locks = [f for f in change.files if f.path.endswith(".lock")]
        if not locks:
            return self.skipped("no .lock file changed")
        for f in locks:
            data = await change.read(f.path)
            if data is None:
                continue
            for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if f.is_changed_line(n) and line.startswith("beta"):
                    findings.append(
                        Finding(rule_id="lockreader.beta", severity="info", message=line,
                                path=f.path, line=n)
                    )  # fmt: skip
                    break
        return self.result(findings)


class BlindLockReader(LockReader):
    """The same code, without declaring what it reads: conformance never reaches it."""

    name = "blindlockreader"
    sample_files = {}


class EscapingSamples(LockReader):
    name = "escapingsamples"
    sample_files = {"../outside.lock": "alpha==1\n"}


@hookimpl
def leo_register_subagents():
    return [LockReader, BlindLockReader, EscapingSamples]
