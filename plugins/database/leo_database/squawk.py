"""squawk-cli, PostgreSQL's migration linter, on the forward SQL of the change's migrations.

squawk's inline ``-- squawk-ignore`` comments are neutralised before linting (the PR under
review must not be able to silence the gate) and counted; its lines are 0-based.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leo import LeoError, Tool, run_tool
from leo_database.rules import SQUAWK_RULES


@dataclass(frozen=True)
class Lint:
    """One squawk report, 1-based lines."""

    path: str
    rule: str
    """squawk's rule name, e.g. ``ban-drop-column``."""
    leo_rule: str
    line: int
    end_line: int
    message: str
    help: str | None


@dataclass(frozen=True)
class SquawkRun:
    lints: list[Lint]
    suppressions: int
    tool: Tool


async def run_squawk(
    texts: dict[str, str], *, pg_version: str | None = None, timeout: float = 120
) -> SquawkRun:
    """Lint ``{path: sql}``; raise ``LeoError`` when squawk crashes or its output is unreadable."""
    from leo_database.sql import neutralise_squawk_ignores

    version = await run_tool(["squawk", "--version"], timeout=30)
    tool = Tool(name="squawk", version=(version.stdout_text.strip().split() or ["?"])[-1])
    suppressions = 0
    with tempfile.TemporaryDirectory(prefix="leo-squawk-") as tmp:
        root = Path(tmp)
        (root / "empty.squawk.toml").write_text("", encoding="utf-8")
        files = []
        for path, text in texts.items():
            parts = PurePosixPath(path).parts
            if PurePosixPath(path).is_absolute() or ".." in parts:
                continue
            clean, count = neutralise_squawk_ignores(text)
            suppressions += count
            target = root.joinpath("src", *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(clean, encoding="utf-8")
            files.append(f"src/{path}")
        if not files:
            return SquawkRun([], suppressions, tool)
        argv = ["squawk", "-c", "empty.squawk.toml", "--reporter", "json"]
        if pg_version:
            argv += ["--pg-version", str(pg_version)]
        out = await run_tool([*argv, *files], cwd=tmp, timeout=timeout)
    if out.timed_out:
        msg = f"squawk did not finish within {timeout:.0f}s"
        raise LeoError(msg)
    if out.returncode not in (0, 1):
        msg = f"squawk failed (exit {out.returncode}): {out.stderr_text.strip()[:500]}"
        raise LeoError(msg)
    try:
        reports = json.loads(out.stdout_text or "[]")
        lints = [
            Lint(
                path=str(r["file"]).removeprefix("src/"),
                rule=str(r["rule_name"]),
                leo_rule=SQUAWK_RULES.get(str(r["rule_name"]), "database.squawk"),
                line=int(r["line"]) + 1,
                end_line=int(r.get("line_end", r["line"])) + 1,
                message=str(r["message"]),
                help=r.get("help"),
            )
            for r in reports
        ]
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"could not read squawk's JSON report ({exc}): {out.stdout_text[:300]!r}"
        raise LeoError(msg) from None
    return SquawkRun(lints, suppressions, tool)
