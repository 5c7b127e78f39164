"""LEO's Design sub-agent: cyclomatic complexity of the functions a change touches (radon)."""

from __future__ import annotations

from leo import Analysed, Change, Finding, SubAgent, SubAgentResult, Tool, hookimpl

DEFAULT_MAX_COMPLEXITY = 10


class DesignAgent(SubAgent):
    name = "design"
    description = "radon complexity of changed Python functions"
    timeout = 300

    async def check(self, change: Change) -> SubAgentResult:
        import radon
        from radon.complexity import cc_visit

        limit = int(self.settings.get("max_complexity", DEFAULT_MAX_COMPLEXITY))
        paths = change.paths(suffixes=(".py",))
        if not paths:
            return self.skipped("no changed Python files")
        sources = await change.read_many(paths)
        findings = []
        for path, data in sources.items():
            if data is None:
                continue
            try:
                blocks = cc_visit(data.decode("utf-8", "replace"))
            except SyntaxError as exc:
                findings.append(
                    Finding(
                        rule_id="design.syntax",
                        severity="high",
                        message=f"cannot parse: {exc.msg}",
                        path=path,
                        line=exc.lineno or None,
                    )
                )
                continue
            changed = change.file(path)
            for block in blocks:
                touched = changed is not None and any(
                    changed.is_changed_line(n) for n in range(block.lineno, block.endline + 1)
                )
                if block.complexity > limit and touched:
                    findings.append(
                        Finding(
                            rule_id="design.complexity",
                            severity="medium",
                            message=f"{block.fullname} has cyclomatic complexity {block.complexity} (limit {limit})",
                            path=path,
                            line=block.lineno,
                            fix="split the function into smaller ones",
                        )
                    )
        return self.result(
            findings,
            analysed=Analysed(files=tuple(paths)),
            tools=[Tool(name="radon", version=radon.__version__)],
        )


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [DesignAgent]
