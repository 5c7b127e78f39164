"""The catalogue of the Database sub-agent's rules: id, severity, and the one-sentence fix.

Every finding the sub-agent reports names one of these rules, so ``docs/agents/database.md``
and the code cannot drift apart (a test checks that every rule is documented).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from leo import Finding

Severity = Literal["critical", "high", "medium", "low", "info"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    fix: str


_RULES = (
    Rule("database.drop-table", "high", "drops a table and its data",
         "Stop reading and writing the table in a deploy first, back it up, then drop it in a later migration."),
    Rule("database.drop-column", "high", "drops a column and its data",
         "Stop using the column in the code first, then drop it in a later migration once no deployed version reads it."),
    Rule("database.column-type-change", "high", "changes a column's type, rewriting the table under an ACCESS EXCLUSIVE lock",
         "Add a new column of the new type, backfill it in batches, then switch readers and drop the old column."),
    Rule("database.not-null-without-default", "high", "adds a NOT NULL column without a default, which fails on a non-empty table",
         "Add the column with a non-volatile DEFAULT, or add it nullable, backfill it, then set NOT NULL."),
    Rule("database.index-not-concurrent", "high", "creates an index on an existing table without CONCURRENTLY, blocking writes while it builds",
         "Create the index CONCURRENTLY (outside a transaction)."),
    Rule("database.constraint-not-valid", "medium", "adds a foreign key or check constraint without NOT VALID, scanning the table under lock",
         "Add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate migration."),
    Rule("database.rename-table", "high", "renames a table that deployed code still uses",
         "Create the new table or a view under the new name, move the code over, then drop the old name later."),
    Rule("database.rename-column", "high", "renames a column that deployed code still uses",
         "Add the new column, write to both and backfill, move readers over, then drop the old column later."),
    Rule("database.truncate", "high", "truncates a table, deleting every row",
         "Delete only the rows you mean to with a WHERE clause, or move the data out first."),
    Rule("database.writes-discarded", "high", "makes a table silently discard the rows written to it (a rule DO INSTEAD NOTHING, a trigger returning NULL)",
         "Drop the rule or trigger, or have it write the row where it belongs and return NEW."),
    Rule("database.unbounded-write", "high", "runs DELETE or UPDATE without WHERE, touching every row",
         "Add a WHERE clause naming the rows to change, and batch large backfills."),
    Rule("database.table-without-rls", "high", "creates a table in an exposed schema without enabling row-level security (Supabase)",
         "Add ALTER TABLE ... ENABLE ROW LEVEL SECURITY and the policies the table needs in the same migration."),
    Rule("database.missing-rollback", "medium", "adds a migration without a rollback where the framework supports one",
         "Write the rollback (a .down.sql file, a `-- migrate:down` section, a downgrade() body, or reverse_code/reverse_sql)."),
    Rule("database.duplicate-version", "high", "two migrations share one version, so tools apply only one or refuse both",
         "Renumber the new migration after the latest one on the base branch."),
    Rule("database.out-of-order", "high", "a new migration is ordered before one already on the base branch, so deployed databases skip it",
         "Rename the migration so its version sorts after every migration on the base branch."),
    Rule("database.edited-migration", "high", "edits a migration that is already on the base branch, which deployed databases never re-run",
         "Leave applied migrations unchanged and add a new migration with the correction."),
    Rule("database.apply-failed", "critical", "a migration fails to apply on a real PostgreSQL",
         "Fix the statement PostgreSQL rejects and re-run the migration on a fresh database."),
    Rule("database.rollback-failed", "critical", "a rollback fails to apply on a real PostgreSQL",
         "Fix the rollback so it undoes exactly what the migration did."),
    Rule("database.rollback-incomplete", "high", "the migration cannot be re-applied after its rollback, so the rollback leaves objects behind",
         "Make the rollback drop or restore everything the migration creates or changes."),
    Rule("database.syntax-error", "medium", "squawk cannot parse a statement (dropped when PostgreSQL applies the file)",
         "Fix the statement so PostgreSQL accepts it."),
    Rule("database.squawk", "info", "another squawk lint (lock timeouts, robust statements, column types)",
         "Follow squawk's advice in the message, or accept it knowingly."),
)  # fmt: skip

RULES: dict[str, Rule] = {r.id: r for r in _RULES}

#: squawk rule name -> LEO rule; squawk rules not listed map to ``database.squawk`` (info).
SQUAWK_RULES: dict[str, str] = {
    "ban-drop-table": "database.drop-table",
    "ban-drop-column": "database.drop-column",
    "changing-column-type": "database.column-type-change",
    "adding-required-field": "database.not-null-without-default",
    "require-concurrent-index-creation": "database.index-not-concurrent",
    "constraint-missing-not-valid": "database.constraint-not-valid",
    "adding-foreign-key-constraint": "database.constraint-not-valid",
    "renaming-table": "database.rename-table",
    "renaming-column": "database.rename-column",
    "ban-truncate-cascade": "database.truncate",
    "syntax-error": "database.syntax-error",
}


def finding(
    rule_id: str,
    message: str,
    path: str | None,
    line: int | None = None,
    *,
    end_line: int | None = None,
    on_changed_line: bool = True,
    suffix: str | None = None,
    fix: str | None = None,
) -> Finding:
    """A ``Finding`` of catalogue rule ``rule_id`` (``suffix`` names a squawk rule it stands for)."""
    rule = RULES[rule_id]
    return Finding(
        rule_id=f"{rule_id}.{suffix}" if suffix else rule_id,
        severity=rule.severity,
        message=message[:10_000],
        path=path,
        line=line,
        end_line=end_line if end_line and line and end_line > line else None,
        on_changed_line=on_changed_line,
        fix=(fix or rule.fix)[:2_000],
    )
