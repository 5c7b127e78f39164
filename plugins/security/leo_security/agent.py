"""The Security sub-agent: bandit, semgrep, detect-secrets and zizmor on the change, concurrently."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import anyio

from leo import Analysed, SubAgent, SubAgentResult, Tool, code_named_like_tests, is_test_module
from leo_security import (
    bandit,
    baseline,
    hashes,
    lanes,
    secrets,
    semgrep,
    suppressions,
    targets,
    workflows,
)
from leo_security.outcome import ScanOutcome
from leo_security.rules import RuleError, RuleSet, load
from leo_security.settings import SecuritySettings

if TYPE_CHECKING:
    from leo import Change, Finding

TOOLS = ("bandit", "semgrep", "secrets", "zizmor")
#: Confidence lost per changed file no code scanner looked at, and at most in all (an unread
#: file asks a LEAD through its requirement instead).
UNANALYSED_PENALTY = 10
UNANALYSED_PENALTY_MAX = 50


def _rescans(
    change: Change,
    tools: set[str],
    rules: RuleSet | None,
    *,
    timeout: float,
    max_bytes: int,
    as_python: Collection[str] = (),
) -> dict[str, baseline.Rescan]:
    """How to scan base versions of files again, per tool, to tell old findings from new."""
    out: dict[str, baseline.Rescan] = {}
    if "bandit" in tools:
        out["security.bandit."] = lambda paths, root: bandit.scan(
            change, root, paths, whole=True, timeout=timeout
        )
    if "semgrep" in tools and rules is not None:
        ruleset = rules

        async def rescan_semgrep(paths: list[str], root: Path) -> ScanOutcome:
            contents = {p: root.joinpath(*p.split("/")).read_bytes() for p in paths}
            return await semgrep.scan(
                change, root, paths, ruleset, contents,
                whole=True, timeout=timeout, max_bytes=max_bytes, as_python=as_python,
            )  # fmt: skip

        out["security.semgrep."] = rescan_semgrep
    if "secrets" in tools:
        out["security.secrets."] = lambda paths, root: secrets.scan(change, root, paths, whole=True)
    if "zizmor" in tools:
        # A release that edits its CI workflow does not introduce the workflow's old findings
        # (pluggy 1.5.0, python-dateutil 2.9.0): zizmor holds the line like the others.
        out["security.zizmor."] = lambda paths, root: workflows.scan(
            change, root, paths, whole=True, timeout=timeout
        )
    return out


#: Scanners whose findings in test code are context by default; secrets and workflows always gate.
_CODE_RULES = ("security.bandit.", "security.semgrep.")


def out_of_test_code(change: Change) -> set[str]:
    """Files the change renamed (or copied) from a test module to a path that is none.

    Their findings were test context at the base, so the base having them says nothing: moved
    into the package they gate like new code (round-4 red team: ``tests/test_support.py``'s
    ``subprocess.call(cmd, shell=True)`` renamed to ``shop/tools.py`` and called with input
    was a pure rename, no line changed, and PASSed).
    """
    return {
        f.path
        for f in change.files
        if f.status in ("renamed", "copied")
        and f.old_path
        and is_test_module(f.old_path)
        and not is_test_module(f.path)
    }


def edited_rule_files(change: Change, rules: Collection[str]) -> list[str]:
    """The team's semgrep rule files (``rules``, read at the base) the change edits, deletes or
    renames: the policy by reference, so a LEAD decides them like an edit of ``[tool.leo]``
    (round-4 red team: a change that made the team's rule match nothing PASSed, and every later
    change was judged by the weakened rule)."""
    named = {PurePosixPath(r).as_posix() for r in rules if not PurePosixPath(r).is_absolute()}
    return sorted({p for f in change.files for p in (f.path, f.old_path) if p in named})


def _asks(edited: list[str]) -> list[str]:
    return [
        f"accept the change's edit of the semgrep rule file {path}, which the policy's "
        "[tool.leo.agents.security] rules names (this run used the base's version)"
        for path in edited
    ]


_MOVED_NOTE = " [the change moved this file out of test code: it gates like new code]"


def _as_moved(f: Finding) -> Finding:
    return f.model_copy(update={"on_changed_line": True, "message": f.message + _MOVED_NOTE})


def _as_test_context(f: Finding, code: Collection[str]) -> Finding:
    """A code finding in test code as ``low`` context (issue 18: releases of requests, jinja2 and
    flask FAILed on md5, pickle and exec in their own tests); ``code`` are modules named like
    tests that the code imports (``code_named_like_tests``): not test code."""
    if not f.rule_id.startswith(_CODE_RULES) or not f.path or not is_test_module(f.path):
        return f
    if f.path in code:
        return f
    if f.severity in ("low", "info"):
        return f
    note = f' [test code: {f.severity} as context; test_code = "gate" makes it block]'
    return f.model_copy(update={"severity": "low", "message": f.message + note})


class SecurityAgent(SubAgent):
    name = "security"
    description = "bandit, semgrep (LEO's rules), detect-secrets and zizmor on the changed files"
    timeout = 300
    Settings = SecuritySettings

    async def check(self, change: Change) -> SubAgentResult:
        s: SecuritySettings = self.settings
        whole, timeout, max_bytes = s.whole_files, float(s.tool_timeout), int(s.max_file_bytes)
        skip = set(s.skip)
        with tempfile.TemporaryDirectory(prefix="leo-security-") as tmp:
            scratch = Path(tmp)
            rules = None
            if "semgrep" not in skip:
                try:
                    rules = await load(
                        change, scratch / "rules", builtin=s.builtin_rules, extra=list(s.rules)
                    )
                except RuleError as exc:
                    return SubAgentResult(
                        status="error", confidence=0, summary=str(exc), error=str(exc)
                    )
            plan = await targets.select(
                change, languages=rules.languages if rules else set(), max_bytes=max_bytes
            )
            if not plan.text and not plan.archives and not plan.penalised:
                return self.skipped(
                    "nothing to scan: the change only deletes files",
                    analysed=Analysed(not_analysed=tuple(plan.not_analysed)),
                    decisions=tuple(_asks(edited_rule_files(change, s.rules))),
                )
            src = scratch / "src"
            plan.write(src, plan.text)
            raw = src  # secrets are looked for in the files as they are (a notebook's outputs)
            if plan.views:
                raw = scratch / "raw"
                plan.write(raw, plan.text, views=False)
            jobs: dict[str, Callable[[], Awaitable[ScanOutcome]]] = {}
            if "bandit" not in skip:
                jobs["bandit"] = lambda: bandit.scan(
                    change, src, plan.python, whole=whole, timeout=timeout
                )
            if rules is not None:
                jobs["semgrep"] = lambda: semgrep.scan(
                    change, src, plan.semgrep, rules, plan.contents,
                    whole=whole, timeout=timeout, max_bytes=max_bytes, as_python=plan.as_python,
                )  # fmt: skip
            if "secrets" not in skip:
                jobs["secrets"] = lambda: secrets.scan(
                    change, raw, plan.text, whole=whole, archived=plan.archives,
                    max_bytes=max_bytes * targets.SECRETS_ONLY_FACTOR,
                )  # fmt: skip
            if "zizmor" not in skip:
                jobs["zizmor"] = lambda: workflows.scan(
                    change, src, plan.workflows, whole=whole, timeout=timeout
                )
            # Not skippable: a change must not quietly hand the builder lane a write token.
            jobs["lanes"] = lambda: lanes.scan(change)
            outcomes: dict[str, ScanOutcome] = {}

            async def run(name: str) -> None:
                outcomes[name] = await jobs[name]()

            async with anyio.create_task_group() as tg:
                for name in jobs:
                    tg.start_soon(run, name)
            moved = out_of_test_code(change) if s.test_code == "context" else set()
            # An archive's findings are held against the base's members and calibrated on the
            # member's lines already (``secrets.scan_archives``); the diff has no line of one.
            archived = [f for n in jobs for f in outcomes[n].findings if f.path in plan.archives]
            found = [
                # A changed symlink puts all of its target's code at its path: every line is new;
                # so does a file whose lines Python counts otherwise than the diff.
                f.model_copy(update={"on_changed_line": True})
                if f.path in plan.through or f.path in plan.unmapped
                else f
                for n in jobs
                for f in outcomes[n].findings
                if f.path not in moved and f.path not in plan.archives
            ]
            rescans = _rescans(
                change, set(jobs), rules, timeout=timeout, max_bytes=max_bytes,
                as_python=plan.as_python,
            )  # fmt: skip
            pre_existing = 0
            if not whole:  # whole_files: every finding in a changed file blocks, old or new
                found, pre_existing = await baseline.hold_the_line(
                    change, found, plan.contents, scratch, rescans
                )
            found += [_as_moved(f) for n in jobs for f in outcomes[n].findings if f.path in moved]
            flagged = outcomes["secrets"].values if "secrets" in outcomes else {}
            found = secrets.calibrate(
                hashes.calibrate(found, plan.contents), plan.contents, flagged
            )
            if s.test_code == "context":
                code = await code_named_like_tests(change)
                found = [_as_test_context(f, code) for f in found]
            found += archived
        return self._combine(
            change, plan, [outcomes[n] for n in jobs], skip, whole, found, pre_existing
        )

    def _combine(
        self,
        change: Change,
        plan: targets.Targets,
        outcomes: list[ScanOutcome],
        skip: set[str],
        whole: bool,
        found: list[Finding],
        pre_existing: int,
    ) -> SubAgentResult:
        counts, suppression_findings = suppressions.count(change, plan.contents)
        findings = suppressions.justify(change, found, plan.contents) + suppression_findings
        findings.sort(key=lambda f: (not f.on_changed_line, f.path or "", f.line or 0, f.rule_id))
        ran = [o for o in outcomes if o.error is None]
        analysed_by = {o.tool: sorted(o.analysed) for o in ran}
        failed: dict[str, list[str]] = {}
        for o in ran:
            for path, reason in o.failed.items():
                failed.setdefault(path, []).append(reason)
        not_analysed = list(plan.not_analysed)
        files, penalised = [], plan.penalised
        code_tools = {"bandit", "semgrep", "zizmor"}
        for path in [*plan.text, *plan.archives]:
            by = {o.tool for o in ran if path in o.analysed}
            if path in failed or path in plan.unmapped:
                reason = "; ".join(failed.get(path, [targets.LONE_CR]))
                not_analysed.append(targets.NotAnalysed(path=path, reason=reason, unread=True))
                penalised += 1
            elif (targets.is_code(path) or path in plan.scripts) and not by & code_tools:
                reason = "no code scanner covers this file type (scanned for secrets only)"
                if not by:
                    reason = "no scanner covers this file type"
                not_analysed.append(targets.NotAnalysed(path=path, reason=reason))
                penalised += 1
            elif not by:
                not_analysed.append(targets.NotAnalysed(path=path, reason="no scanner ran on it"))
                penalised += 1
            else:
                files.append(path)
        lines = sum(len(f.added_lines) for f in change.files if f.path in files)
        analysed = Analysed(files=tuple(files), lines=lines, not_analysed=tuple(not_analysed))
        tools = [Tool(name=o.tool, version=o.version) for o in ran if o.analysed or o.findings]
        details: dict[str, Any] = {
            "analysed_by": analysed_by,
            "suppressions": counts,
            "suppressed_findings": {o.tool: o.suppressed for o in ran},
            "unhonoured_suppressions": {o.tool: o.unhonoured for o in ran},
            "skipped_tools": sorted(skip),
            "symlinks_read_through": plan.through,
            "scope": "whole changed files" if whole else "added and modified lines",
            "pre_existing": pre_existing,
        }
        errors = [o.error for o in outcomes if o.error]
        if errors:
            summary = "security could not run: " + "; ".join(e.splitlines()[0] for e in errors)
            return SubAgentResult(
                status="error",
                confidence=0,
                summary=summary[:10_000],
                findings=tuple(findings),
                analysed=analysed,
                tools=tuple(tools),
                details=details,
                error="\n\n".join(errors),
            )
        edited = edited_rule_files(change, self.settings.rules)
        details["rules_edited"] = edited
        result = self.result(
            findings, analysed=analysed, tools=tools, details=details, decisions=_asks(edited)
        )
        if not penalised:
            return result
        # An unread file already holds the verdict at ESCALATE (requirement "security read
        # every file"); costing it confidence as well turned a release of binary data into a
        # FAIL whenever few other sub-agents ran (pytz 2026.6's 23 TZif files: 50 of 100).
        costly = penalised - sum(1 for n in not_analysed if n.unread)
        confidence = max(
            0, result.confidence - min(UNANALYSED_PENALTY_MAX, UNANALYSED_PENALTY * costly)
        )
        status = result.status
        if status == "passed" and not files:
            status = "warned"  # nothing at all was analysed: never a silent pass
        summary = f"{result.summary}; {penalised} changed file{'s' if penalised != 1 else ''} not analysed"
        return result.model_copy(
            update={"confidence": confidence, "status": status, "summary": summary}
        )
