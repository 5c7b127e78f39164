"""The ``database`` sub-agent: find the change's migrations, lint them, and apply them for real."""

from __future__ import annotations

import posixpath
from typing import Any

import anyio.to_thread

from leo import Analysed, Change, Finding, NotAnalysed, SubAgentResult, Tool
from leo_database import DatabaseAgent, history, pymigrations
from leo_database.discovery import (
    SqlFolder,
    SqlMigration,
    inline_psql,
    is_test_data,
    loose_sql,
    named_outside_tests,
    sql_folders,
    unreadable_migration,
)
from leo_database.live import Failure, LiveRun, LiveUnavailable, Step, apply
from leo_database.rules import finding
from leo_database.sql import SplitError, blank_outside, forward_region, rollback_region, split
from leo_database.sqlchecks import SqlChecks, target_table
from leo_database.squawk import run_squawk

#: squawk rules about locks and rewrites, which do not matter on a table the change creates.
_LOCK_RULES = {
    "database.index-not-concurrent",
    "database.constraint-not-valid",
    "database.not-null-without-default",
    "database.column-type-change",
}
_NEW_STATUSES = ("added", "renamed", "copied")
_DROPS = ("database.drop-table", "database.drop-column")


def _as_test_data(f: Finding) -> Finding:
    """A finding in test-data SQL as ``low`` context: no tool applies the file to a database."""
    if f.severity in ("low", "info"):
        return f
    note = f' [test data: {f.severity} as context; test_sql = "gate" makes it block]'
    return f.model_copy(update={"severity": "low", "message": f.message + note})


class DatabaseChecks(DatabaseAgent):
    """The Database sub-agent's work (the registered ``DatabaseAgent`` delegates here)."""

    async def check(self, change: Change) -> SubAgentResult:
        dirs = self.settings.migration_dirs
        folders = await sql_folders(change, dirs)
        py = await pymigrations.discover(change)
        loose = [
            SqlMigration(path=f.path, folder=posixpath.dirname(f.path), version=None,
                         status=f.status)
            for f in loose_sql(change, folders)
        ]  # fmt: skip
        unread = [
            NotAnalysed(path=f.path, reason=reason, unread=True)
            for f in change.files
            if f.status != "deleted" and (reason := unreadable_migration(f.path)) is not None
        ] + [
            NotAnalysed(path=path, reason="a shell script that feeds psql SQL of its own, which "
                        "the Database sub-agent does not read", unread=True)
            for path in await inline_psql(change)
        ]  # fmt: skip
        if not folders and not py.migrations and not loose and not unread:
            return self.skipped(
                "no migrations in the change (SQL in " + ", ".join(dirs) + ", Alembic or Django)"
            )
        findings: list[Finding] = []
        not_analysed: list[NotAnalysed] = list(py.not_analysed) + unread
        tools: list[Tool] = []
        details: dict[str, Any] = {}
        if loose:
            details["sql_outside_migrations"] = [m.path for m in loose]

        # SQL no migration tool claims is linted like a migration but never applied.
        forward = [m for f in folders for m in f.changed()] + loose
        wanted = [m.path for m in forward] + [m.rollback for m in forward if m.rollback]
        head = _decode(await change.read_many(wanted, "head"))

        for folder in folders:
            findings += history.sql_findings(change, folder, head)

        if forward:
            static, tool, extra = await self._static(change, forward, head)
            findings += static
            tools.append(tool)
            details.update(extra)
        findings += py.findings

        live_missing: str | None = None
        if folders:
            runs, live_missing = await self._live(change, folders, head)
            findings += _live_findings(runs)
            findings += _lost_findings(runs, findings)
            findings += _emptied_findings(runs, findings)
            findings += _discarded_findings(runs)
            findings = _fresh_findings(runs, findings)
            applied_ok = {
                str(a["path"])
                for r in runs
                for a in r.applied
                if a["ok"] and a["phase"] == "change"
            }
            # PostgreSQL parsed and applied these files, so squawk's parser was wrong about them.
            findings = [
                f for f in findings
                if not (f.rule_id.startswith("database.syntax-error") and f.path in applied_ok)
            ]  # fmt: skip
            details["live"] = [_describe(r) for r in runs]
            if live_missing:
                details["live_missing"] = live_missing
        if py.migrations:
            details["python_migrations"] = (
                "Alembic and Django migrations are checked from their AST only; applying them "
                "would run the change's Python code"
            )

        findings = _applied_edits(change, folders, py.migrations, findings)
        files = tuple(sorted({m.path for m in forward} | {m.path for m in py.migrations}))
        lines = sum(len(f.added_lines) for f in change.files if f.path in files)
        analysed = Analysed(files=files, lines=lines, not_analysed=tuple(not_analysed))
        findings = _dedupe(findings)
        if self.settings.test_sql == "context":
            test_data = {m.path for m in loose if is_test_data(m.path)}
            test_data -= await named_outside_tests(change, sorted(test_data))
            findings = [_as_test_data(f) if f.path in test_data else f for f in findings]
        result = self.result(findings, analysed=analysed, tools=tools, details=details)
        if live_missing and result.status != "failed":
            # Without the live proof the change is not shown safe: missing evidence, not a pass.
            summary = f"{result.summary}; migrations NOT applied: {live_missing}"
            return result.model_copy(
                update={
                    "status": "error",
                    "confidence": 0,
                    "summary": summary[:10_000],
                    "error": live_missing,
                }
            )
        if folders and not live_missing:
            applied = sum(1 for r in runs for a in r.applied if a["ok"])
            version = runs[0].version if runs else "?"
            summary = (
                f"{result.summary}; {applied} migration step(s) applied on PostgreSQL {version}"
            )
            result = result.model_copy(update={"summary": summary})
        return result

    async def _static(
        self, change: Change, forward: list[SqlMigration], head: dict[str, str]
    ) -> tuple[list[Finding], Tool, dict[str, Any]]:
        require_rls = self.settings.require_rls
        rls_schemas = self.settings.rls_schemas
        checks = SqlChecks(require_rls=False, rls_schemas=rls_schemas)
        new_target: dict[tuple[str, int], bool] = {}
        unparsed: list[str] = []
        for m in forward:
            text = head.get(m.path, "")
            checks.require_rls = (
                bool(require_rls)
                if require_rls is not None
                else m.folder.endswith("supabase/migrations")
            )
            try:
                statements = split(
                    text, offset=forward_region(text)[0], end=forward_region(text)[1]
                )
            except SplitError as exc:
                unparsed.append(f"{m.path}: {exc}")
                continue
            for stmt in statements:
                new_target[(m.path, stmt.line)] = checks.is_new(target_table(stmt))
                changed = any(
                    change.is_changed_line(m.path, n) for n in range(stmt.line, stmt.end_line + 1)
                )
                checks.check(m.path, stmt, changed)
        findings = checks.finish()

        texts = {
            m.path: blank_outside(head.get(m.path, ""), forward_region(head.get(m.path, "")))
            for m in forward
        }
        run = await run_squawk(texts, pg_version=self.settings.pg_version)
        for lint in run.lints:
            if lint.leo_rule in _LOCK_RULES and new_target.get((lint.path, lint.line)):
                continue
            changed = any(
                change.is_changed_line(lint.path, n) for n in range(lint.line, lint.end_line + 1)
            )
            message = f"{lint.message} (squawk {lint.rule})"
            fix = (
                lint.help
                if lint.leo_rule in ("database.squawk", "database.syntax-error") and lint.help
                else None
            )
            findings.append(
                finding(lint.leo_rule, message, lint.path, lint.line, end_line=lint.end_line,
                        on_changed_line=changed, suffix=lint.rule if lint.leo_rule == "database.squawk" else None,
                        fix=fix)
            )  # fmt: skip
        extra: dict[str, Any] = {"squawk_suppressions_ignored": run.suppressions}
        if unparsed:
            extra["sqlglot_unsplit"] = unparsed
        return findings, run.tool, extra

    async def _live(
        self, change: Change, folders: list[SqlFolder], head: dict[str, str]
    ) -> tuple[list[LiveRun], str | None]:
        plans: list[list[Step]] = []
        for folder in folders:
            base = _decode(await change.read_many(folder.base, "base"))
            plan = [
                Step("base", p, base.get(p, ""), forward_region(base.get(p, "")))
                for p in folder.base
            ]
            new = [m for m in folder.head if m.status in _NEW_STATUSES]
            for m in new:
                text = head.get(m.path, "")
                plan.append(Step("change", m.path, text, forward_region(text)))
            undo: list[SqlMigration] = []
            for m in reversed(new):
                text = head.get(m.path, "")
                if m.rollback:
                    plan.append(Step("rollback", m.rollback, head.get(m.rollback, "")))
                elif (region := rollback_region(text)) is not None:
                    plan.append(Step("rollback", m.path, text, region))
                else:
                    break  # an earlier migration cannot be undone under one without a rollback
                undo.append(m)
            for m in reversed(undo):
                text = head.get(m.path, "")
                plan.append(Step("reapply", m.path, text, forward_region(text)))
            plans.append(plan + _fresh_install(folder, base, head, new))
        supabase = [f.supabase or self.settings.require_rls is True for f in folders]
        try:
            runs = await anyio.to_thread.run_sync(lambda: apply(plans, supabase=supabase))
        except LiveUnavailable as exc:
            return [], f"no PostgreSQL available ({exc})"
        for run in runs:
            if run.failure is not None and run.failure.phase == "base":
                f = run.failure
                return runs, (
                    f"the base branch's migrations do not apply on {run.server} "
                    f"({f.path}:{f.line}: {f.message}), so the change could not be proven"
                )
        return runs, None


def _fresh_install(
    folder: SqlFolder,
    base: dict[str, str],
    head: dict[str, str],
    new: list[SqlMigration],
) -> list[Step]:
    """A fresh install from the head's files (``live.Fresh``), when the change edits a
    migration already on the base branch: deployed databases never run the edit."""
    if not any(m.status == "modified" and m.path in folder.base for m in folder.head):
        return []
    texts = base | head  # ``head`` holds the head's text of every changed migration
    files = [p for p in folder.base if p in {m.path for m in folder.head}] + [m.path for m in new]
    return [Step("fresh", p, texts.get(p, ""), forward_region(texts.get(p, ""))) for p in files]


def _fresh_findings(runs: list[LiveRun], findings: list[Finding]) -> list[Finding]:
    """An edited applied SQL migration, weighed by what a fresh install from the head gets:
    the schema a deployed database has, the edit restates it (medium: a LEAD decides); another
    one, the edit drifts (high, with the difference)."""
    out = []
    for f in findings:
        fresh = next((r.fresh for r in runs if r.fresh and f.path in r.fresh.paths), None)
        if f.rule_id != "database.edited-migration" or fresh is None or fresh.failure:
            out.append(f)
            continue
        drift = [*(f"only fresh: {d}" for d in fresh.only_fresh),
                 *(f"only deployed: {d}" for d in fresh.only_deployed)]  # fmt: skip
        if drift:
            shown = "; ".join(drift[:6]) + (
                f"; and {len(drift) - 6} more" if len(drift) > 6 else ""
            )
            note = f"; a fresh install from the head's files gets another schema than a deployed database: {shown}"
            out.append(f.model_copy(update={"message": (f.message + note)[:10_000]}))
        else:
            note = (
                "; a fresh install from the head's files gets the schema a deployed database has:"
                " the edit restates it, and a LEAD decides"
            )
            out.append(f.model_copy(update={"severity": "medium", "message": f.message + note}))
    return out


def _live_findings(runs: list[LiveRun]) -> list[Finding]:
    out = []
    for run in runs:
        f: Failure | None = run.failure or (run.fresh.failure if run.fresh else None)
        if f is None or f.phase == "base":
            continue
        rule, what = {
            "change": ("database.apply-failed", "does not apply"),
            "rollback": ("database.rollback-failed", "rollback does not apply"),
            "reapply": ("database.rollback-incomplete", "cannot be re-applied after its rollback"),
            "fresh": (
                "database.apply-failed",
                "as the change edits it does not apply on a fresh database",
            ),
        }[f.phase]
        out.append(
            finding(
                rule, f"{f.path} {what} on PostgreSQL {run.version}: {f.message}", f.path, f.line
            )
        )
    return out


def _lost_findings(runs: list[LiveRun], static: list[Finding]) -> list[Finding]:
    """The base's tables and columns a migration removed on PostgreSQL, for each file whose
    SQL the static rules did not already show dropping a table (or a column)."""
    said = {(f.path, f.rule_id.split(".")[1]) for f in static if f.rule_id.startswith(_DROPS)}
    out = []
    for run in runs:
        for lost in run.lost:
            rule = f"database.drop-{lost.kind}"
            if (lost.path, rule.split(".")[1]) in said:
                continue
            message = (
                f"applying {lost.path} on PostgreSQL {run.version} removed {lost.kind} "
                f"{lost.name} of the base's schema, and its data"
            )
            out.append(finding(rule, message, lost.path, None))
    return out


def _emptied_findings(runs: list[LiveRun], static: list[Finding]) -> list[Finding]:
    """``database.unbounded-write`` for each statement that deleted every seeded row of a base
    table on PostgreSQL, unless the static rules already said so of that statement."""
    said = {
        (f.path, f.line)
        for f in static
        if f.rule_id in ("database.unbounded-write", "database.truncate") and f.severity == "high"
    }
    out = []
    for run in runs:
        seen = [
            (gone.path, gone.line, f"every row of {gone.name} was gone after {gone.path}:"
             f"{gone.line}: all {gone.rows} rows LEO put in it before the change, made to differ")
            for gone in run.emptied
        ] + [
            (same.path, same.line, f"{same.column} of {same.name} "
             + ("held one and the same value in all" if same.values == 1
                else "kept none of its values in its")
             + f" {same.rows} rows after {same.path}:{same.line}: the rows LEO put in it "
             "before the change held different values, so the statement overwrote the column in "
             "every row")
            for same in run.overwritten
        ]  # fmt: skip
        out += [
            finding(
                "database.unbounded-write",
                f"on PostgreSQL {run.version}, {what}, whatever the WHERE says",
                path,
                line,
            )
            for path, line, what in seen
            if (path, line) not in said
        ]
    return out


def _discarded_findings(runs: list[LiveRun]) -> list[Finding]:
    """``database.writes-discarded`` for each statement after which a base table that kept an
    inserted row no longer writes one (round-5 red team: CREATE RULE ... ON INSERT TO orders
    DO INSTEAD NOTHING, and a BEFORE INSERT trigger returning NULL, PASSed: every later order
    lost, no row of the existing ones touched)."""
    return [
        finding(
            "database.writes-discarded",
            f"on PostgreSQL {run.version}, a row inserted into {lost.name} after "
            f"{lost.path}:{lost.line} was not written (no error): every later insert is lost",
            lost.path,
            lost.line,
        )
        for run in runs
        for lost in run.discarded
    ]


#: What still matters in a migration already on the base branch that the change edits.
_ABOUT_THE_EDIT = frozenset({
    "database.edited-migration", "database.apply-failed", "database.rollback-failed",
    "database.rollback-incomplete", "database.syntax-error", "database.duplicate-version",
    "database.out-of-order",
})  # fmt: skip


def _applied_edits(
    change: Change,
    folders: list[SqlFolder],
    python: list[pymigrations.PyMigration],
    findings: list[Finding],
) -> list[Finding]:
    """An edited migration that is already on the base branch: the edit is the finding
    (``database.edited-migration``, for Alembic and Django as for SQL); what its statements do
    runs only on fresh databases, so those findings are context (``history.fresh_only``)."""
    modified = {f.path for f in change.files if f.status == "modified"}
    applied = modified & ({p for f in folders for p in f.base} | {m.path for m in python})
    said = {f.path for f in findings if f.rule_id == "database.edited-migration"}
    edits = [_edited_python(change, p) for p in sorted(applied - said)]
    return [_in_applied(f, applied) for f in findings + edits]


def _edited_python(change: Change, path: str) -> Finding:
    """An applied Alembic or Django migration the change edits is for a LEAD (medium): LEO does
    not run Python migrations, so it cannot tell an edit that restates what deployed databases
    have (django-taggit 5.0.0 rewrote index_together as AddIndex for Django 5.1) from one that
    changes what only fresh databases get."""
    found = history.edited(change, path)
    why = (
        "; LEO does not apply Python migrations, so a LEAD decides whether the edit restates "
        "what deployed databases already have or changes what only fresh ones get"
    )
    return found.model_copy(update={"severity": "medium", "message": found.message + why})


def _in_applied(found: Finding, applied: set[str]) -> Finding:
    if found.path in applied and found.rule_id not in _ABOUT_THE_EDIT:
        return history.fresh_only(found)
    return found


def _describe(run: LiveRun) -> dict[str, Any]:
    return {
        "server": run.server,
        "version": run.version,
        "steps": run.applied,  # type: ignore[dict-item]
        "notes": run.notes,  # type: ignore[dict-item]
        "lost": [f"{k.path}: {k.kind} {k.name}" for k in run.lost],
        "emptied": [f"{e.path}:{e.line}: {e.name} ({e.rows} rows)" for e in run.emptied],
        "overwritten": [
            f"{o.path}:{o.line}: {o.name}.{o.column} ({o.rows} rows)" for o in run.overwritten
        ],
        "discarded": [f"{d.path}:{d.line}: {d.name}" for d in run.discarded],
    }


def _decode(blobs: dict[str, bytes | None]) -> dict[str, str]:
    return {p: b.decode("utf-8", "replace") for p, b in blobs.items() if b is not None}


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, int | None]] = set()
    out = []
    for f in findings:
        key = (f.rule_id, f.path, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
