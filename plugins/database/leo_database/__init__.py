"""LEO's Database sub-agent: squawk on the migrations a change adds or modifies."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from leo import Analysed, Change, Finding, SubAgent, SubAgentResult, Tool, hookimpl, run_tool

MIGRATION_DIRS = ("supabase/migrations/", "migrations/", "db/migrate/")


class DatabaseAgent(SubAgent):
    name = "database"
    description = "squawk on changed SQL migrations"
    timeout = 300

    def is_migration(self, path: str) -> bool:
        dirs = tuple(self.settings.get("migration_dirs", MIGRATION_DIRS))
        return path.endswith(".sql") and any(path.startswith(d) or f"/{d}" in path for d in dirs)

    async def check(self, change: Change) -> SubAgentResult:
        migrations = [p for p in change.paths() if self.is_migration(p)]
        if not migrations:
            return self.skipped("no SQL migrations in the change")
        with tempfile.TemporaryDirectory(prefix="leo-database-") as tmp:
            await change.materialize(Path(tmp), migrations)
            out = await run_tool(
                ["squawk", "--reporter", "json", *migrations], cwd=tmp, timeout=120
            )
            version = await run_tool(["squawk", "--version"], timeout=30)
        if out.timed_out or out.returncode not in (0, 1):
            msg = f"squawk failed (exit {out.returncode}): {out.stderr_text.strip()[:500]}"
            return SubAgentResult(status="error", confidence=0, summary=msg, error=msg)
        findings = [
            Finding(
                rule_id=f"database.squawk.{v['rule_name']}",
                severity="high" if v.get("level") == "Error" else "medium",
                message=v["message"],
                path=v["file"],
                line=int(v["line"]) + 1,  # squawk's lines are 0-based
                fix=v.get("help"),
            )
            for v in json.loads(out.stdout_text or "[]")
        ]
        return self.result(
            findings,
            analysed=Analysed(files=tuple(migrations)),
            tools=[Tool(name="squawk", version=version.stdout_text.strip().split()[-1])],
        )


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [DatabaseAgent]
