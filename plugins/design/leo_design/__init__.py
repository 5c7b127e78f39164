"""LEO's Design sub-agent: complexity, size, public API compatibility and architecture contracts.

It judges what the change does to the shape of the code, comparing base and head: functions it
made too complex or too long, files it made too large, public APIs it broke without declaring
it (griffe), and import-linter contracts it broke. See docs/agents/design.md.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio

from leo import (
    Analysed,
    Change,
    ChangedFile,
    Finding,
    NotAnalysed,
    SubAgent,
    SubAgentResult,
    Tool,
    code_named_like_tests,
    hookimpl,
)
from leo_design import api, contracts, functions, generated, release
from leo_design.complexity import complexity_findings, maintainability_findings
from leo_design.settings import DesignSettings
from leo_design.size import file_size_findings, function_size_findings

#: Kept for compatibility with leo-design 0.1; the setting's default now lives in settings.py.
DEFAULT_MAX_COMPLEXITY = DesignSettings().max_complexity


@dataclass
class _Scan:
    """What the per-file checks produced."""

    findings: list[Finding]
    analysed: list[str]
    not_analysed: list[NotAnalysed]
    functions: int = 0

    def analysed_of(self, change: Change) -> Analysed:
        lines = sum(len(f.added_lines) for f in change.files if f.path in self.analysed)
        return Analysed(
            files=tuple(self.analysed), lines=lines, not_analysed=tuple(self.not_analysed)
        )


class DesignAgent(SubAgent):
    name = "design"
    description = "complexity, size, public API breaks (griffe) and import-linter contracts"
    timeout = 300
    Settings = DesignSettings

    async def check(self, change: Change) -> SubAgentResult:
        settings: DesignSettings = self.settings
        scan = await self._scan_files(change, settings)
        packages, config = await _tree_checks_needed(change, settings)
        analysed = scan.analysed_of(change)
        if not (scan.analysed or scan.findings or packages or config):
            return self.skipped("no changed source code to measure", analysed=analysed)
        findings = list(scan.findings)
        tools = [_tool("radon"), _tool("lizard")]
        details: dict[str, Any] = {"functions_measured": scan.functions}
        decisions: list[str] = []
        if packages or config:
            findings += await self._check_trees(
                change, packages, config, settings, tools, details, decisions
            )
        not_compared = details.get("api_not_compared")
        if not_compared:
            analysed = analysed.model_copy(
                update={
                    "not_analysed": analysed.not_analysed
                    + tuple(NotAnalysed(path=p, reason=r) for p, r in not_compared.items())
                }
            )
        return self.result(
            findings, analysed=analysed, tools=tools, details=details, decisions=decisions
        )

    async def _check_trees(
        self,
        change: Change,
        packages: list[api.Package],
        config: contracts.ContractsConfig | None,
        settings: DesignSettings,
        tools: list[Tool],
        details: dict[str, Any],
        decisions: list[str],
    ) -> list[Finding]:
        """The checks that need whole trees: API (base and head) and contracts (head)."""
        findings = []
        async with contextlib.AsyncExitStack() as stack:
            head = await stack.enter_async_context(change.worktree("head"))
            if packages:
                base = await stack.enter_async_context(change.worktree("base"))
                findings += await self._check_api(
                    change, packages, base, head, settings, details, decisions
                )
                tools.append(_tool("griffe"))
                details["api_packages"] = [p.path for p in packages]
            if config:
                findings += await self._check_contracts(change, config, head, settings, details)
                tools.append(_tool("import-linter"))
        return findings

    async def _check_contracts(
        self,
        change: Change,
        config: contracts.ContractsConfig,
        head: Path,
        settings: DesignSettings,
        details: dict[str, Any],
    ) -> list[Finding]:
        result = await contracts.evaluate(config, head, settings)
        details["contracts"] = [
            {"name": c.get("name"), "kept": bool(c.get("kept"))}
            for c in result.get("contracts", [])
        ]
        details["contracts_config"] = f"{config.path} at {config.side}"
        return contracts.contract_findings(change, config, result)

    async def _scan_files(self, change: Change, settings: DesignSettings) -> _Scan:
        """Complexity, maintainability and size of each changed source file, base vs head."""
        scan = _Scan([], [], [])
        wanted: list[ChangedFile] = []
        for f in change.files:
            reason = _skip_reason(f)
            if reason:
                scan.not_analysed.append(NotAnalysed(path=f.path, reason=reason))
            else:
                wanted.append(f)
        heads = await change.read_many([f.path for f in wanted], "head")
        bases = await change.read_many([f.old_path or f.path for f in wanted], "base")
        generated = await _generated_from(change, heads)
        code = await code_named_like_tests(change)
        for f in wanted:
            base = bases.get(f.old_path or f.path) if f.status != "added" else None
            # radon and lizard are CPU-bound: keep the event loop free.
            await anyio.to_thread.run_sync(
                _scan_one, scan, f, base, heads.get(f.path), settings, generated.get(f.path),
                f.path in code,
            )  # fmt: skip
        return scan

    async def _check_api(
        self,
        change: Change,
        packages: list[api.Package],
        base: Path,
        head: Path,
        settings: DesignSettings,
        details: dict[str, Any],
        decisions: list[str],
    ) -> list[Finding]:
        changelog = await release.changelog_additions(change, settings)
        findings: list[Finding] = []
        not_breaks: list[str] = []
        not_compared: dict[str, str] = {}
        for package in packages:
            at_head = api.moved(change, package)
            try:
                breaks, excused = await anyio.to_thread.run_sync(
                    api.find_breaks, base, head, package, at_head
                )
            except Exception as exc:  # a griffe failure on one package leaves only it unread
                reason = f"public API not compared: griffe failed ({type(exc).__name__}: {exc})"
                if isinstance(exc, api.NotComparable):
                    reason = f"public API not compared: {exc}"
                not_compared[package.path] = reason[:1000]
                findings.append(
                    Finding(
                        rule_id="design.api.not-compared",
                        severity="medium",
                        message=f"the public API of {package.name} could not be compared",
                        path=package.path,
                        fix="check the API change by hand",
                    )
                )
                continue
            if at_head != package:
                not_breaks.append(f"{package.path} moved to {at_head.path}")
            not_breaks += excused
            if not breaks:
                continue
            declared = await release.version_bump(change, package.path, settings)
            found, asked = api.api_findings(breaks, declared, changelog)
            findings += found
            decisions += asked
        if not_breaks:
            details["api_not_breaks"] = not_breaks[:200]
        if not_compared:
            details["api_not_compared"] = not_compared
        return findings


async def _tree_checks_needed(
    change: Change, settings: DesignSettings
) -> tuple[list[api.Package], contracts.ContractsConfig | None]:
    """The packages whose API to compare, and the contracts to evaluate (only Python imports
    can break one)."""
    packages = await api.touched_packages(change, settings) if settings.api else []
    config = None
    if settings.contracts and _touches_python(change):
        config = await contracts.find_config(change, settings)
    return packages, config


def _touches_python(change: Change) -> bool:
    paths = [p for f in change.files for p in (f.path, f.old_path) if p is not None]
    return any(functions.is_python(p) for p in paths)


def _skip_reason(f: ChangedFile) -> str | None:
    if f.status == "deleted":
        return "deleted"
    if f.binary:
        return "binary"
    if not f.is_regular:
        return "not a regular file (symlink or submodule)"
    if not functions.supports(f.path):
        return "no complexity measure for this file type"
    return None


async def _generated_from(change: Change, heads: dict[str, bytes | None]) -> dict[str, str]:
    """Changed files a generator wrote, each with the source it wrote them from at the head."""
    claimed = {path: generated.cython_sources(path, data or b"") for path, data in heads.items()}
    wanted = [source for sources in claimed.values() for source in sources]
    present = await change.read_many(wanted, "head") if wanted else {}
    return {
        path: found
        for path, sources in claimed.items()
        if (found := next((s for s in sources if present.get(s) is not None), None))
    }


def _scan_one(
    scan: _Scan,
    f: ChangedFile,
    base_data: bytes | None,
    head_data: bytes | None,
    settings: DesignSettings,
    source: str | None = None,
    as_code: bool = False,
) -> None:
    """Measure one file into ``scan``; ``source``: what a generator wrote it from; ``as_code``:
    named like a test, but the code imports it (``code_named_like_tests``)."""
    if head_data is None:
        scan.not_analysed.append(NotAnalysed(path=f.path, reason="not a file at the head"))
        return
    if len(head_data) > settings.max_file_bytes:
        reason = f"larger than {settings.max_file_bytes} bytes"
        scan.not_analysed.append(NotAnalysed(path=f.path, reason=reason))
        return
    head = head_data.decode("utf-8", "replace")
    base = base_data.decode("utf-8", "replace") if base_data is not None else None
    try:
        head_fns = functions.functions(f.path, head)
    except functions.ParseError as exc:
        # Code no tool can measure must not slip past the limits unseen.
        reason = f"{exc}{f' at line {exc.line}' if exc.line else ''}"
        scan.not_analysed.append(NotAnalysed(path=f.path, reason=reason))
        scan.findings.append(
            Finding(
                rule_id="design.unparsable",
                severity="medium",
                message=f"cannot measure {f.path}: {reason}",
                path=f.path,
                line=exc.line,
            )
        )
        return
    base_fns = _functions_or_none(f.path, base)
    scan.analysed.append(f.path)
    scan.functions += len(head_fns)
    found = complexity_findings(
        f.path, base_fns, head_fns, f, settings, (base, head), as_code=as_code
    )
    found += function_size_findings(f.path, base_fns, head_fns, f, settings)
    found += file_size_findings(f.path, base, head, settings)
    scan.findings += generated.as_generated(found, source, head_fns) if source else found
    if f.path.endswith(".py"):
        before = functions.maintainability(base) if base is not None else None
        after = functions.maintainability(head)
        scan.findings += maintainability_findings(
            f.path, before, after, settings, head_fns, as_code=as_code
        )


def _functions_or_none(path: str, text: str | None) -> list[functions.Function] | None:
    """The base's functions; None when there is no base or it does not parse (a broken base
    cannot excuse the head, which is then judged as new)."""
    if text is None:
        return None
    try:
        return functions.functions(path, text)
    except functions.ParseError:
        return None


def _tool(distribution: str) -> Tool:
    try:
        return Tool(name=distribution, version=version(distribution))
    except PackageNotFoundError:
        return Tool(name=distribution, version="unknown")


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [DesignAgent]
