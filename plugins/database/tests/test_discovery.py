"""Migrations are found the way the tools that apply them find them (issue 17.5)."""

from __future__ import annotations

import pytest
from leo_database import DatabaseAgent
from leo_database.discovery import in_sql_dir, is_forward, loose_sql

SB = "supabase/migrations"
BASE = {
    f"{SB}/20240101000000_init.sql": (
        "create table public.profiles (id uuid primary key, name text);\n"
        "alter table public.profiles enable row level security;\n"
    )
}
SAFE = "alter table public.profiles add column website text;\n"
DROP = "drop table public.profiles;\n"


def run(leo_repo, leo_run, head):
    repo = leo_repo(base=BASE, head=head)
    result = leo_run(repo.change(), [DatabaseAgent])
    return result, result.agent("database")


def test_supabase_down_sql_is_a_migration_the_cli_applies(leo_repo, leo_run, pg):
    path = f"{SB}/20240301000000_cleanup.down.sql"
    result, agent = run(leo_repo, leo_run, {path: DROP})
    assert agent.status == "failed", agent.summary
    result.assert_finding("database.drop-table", path=path, line=1)
    result.assert_verdict("FAIL")
    assert [s["path"] for live in agent.details["live"] for s in live["steps"]
            if s["phase"] == "change"] == [path]  # fmt: skip


def test_honest_supabase_migration_still_passes(leo_repo, leo_run, pg):
    result, _ = run(leo_repo, leo_run, {f"{SB}/20240201000000_safe.sql": SAFE})
    result.assert_verdict("PASS")


@pytest.mark.parametrize(
    "path",
    [
        "db/schema/V3__cleanup.sql",  # Flyway, outside any configured folder
        "src/main/resources/db/migration/U2__undo.sql",  # Flyway undo
        "internal/store/sql/000042_cleanup.up.sql",  # golang-migrate
        "scripts/cleanup.sql",  # no tool claims it: still analysed as SQL
        "sql/maintenance/2024-03-01 cleanup.sql",
        "db/changes/0003_cleanup.pgsql",  # psql -f runs it whatever its suffix
        "db/changes/0004_cleanup.psql",
    ],
)
def test_sql_anywhere_in_the_change_is_analysed(leo_repo, leo_run, pg, path):
    result, agent = run(leo_repo, leo_run, {path: DROP})
    assert agent.status == "failed", agent.summary
    result.assert_finding("database.drop-table", path=path, line=1)
    result.assert_verdict("FAIL")
    assert path in agent.analysed.files


def test_test_data_sql_is_context_unless_configured_to_gate(leo_repo, leo_run):
    """sqlparse 0.5.0 -> 0.5.1 FAILed on its parser's test inputs (issue 18)."""
    path = "tests/files/multiple_case_in_begin.sql"
    repo = leo_repo(base=BASE, head={path: "update public.bb set x = 1;\n"})
    result = leo_run(repo.change(), [DatabaseAgent])
    f = result.assert_finding("database.unbounded-write", path=path)
    assert f.severity == "low" and "[test data:" in f.message
    result.assert_verdict("PASS")
    gated = leo_run(repo.change(), [DatabaseAgent],
                    config={"agents": {"database": {"test_sql": "gate"}}})  # fmt: skip
    assert gated.assert_finding("database.unbounded-write", path=path).severity == "high"
    gated.assert_verdict("FAIL")


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("scripts/seed.sh", 'psql "$DATABASE_URL" -f tests/files/seed.sql\n'),
        ("app/migrations/0002_seed.py", "SQL = open('tests/files/seed.sql').read()\n"),
        ("Makefile", "seed:\n\tpsql -f tests/files/seed.sql\n"),
    ],
)
def test_test_data_sql_that_something_outside_the_tests_names_still_gates(
    leo_repo, leo_run, where, text
):
    """The hostile twin: a script or migration may feed "test data" to a real database."""
    path = "tests/files/seed.sql"
    repo = leo_repo(base=BASE, head={path: "delete from public.bb;\n", where: text})
    result = leo_run(repo.change(), [DatabaseAgent])
    assert result.assert_finding("database.unbounded-write", path=path).severity == "high"
    result.assert_verdict("FAIL")


def test_test_data_sql_named_only_by_tests_stays_context(leo_repo, leo_run):
    path = "tests/files/seed.sql"
    reader = "tests/test_parse.py"
    repo = leo_repo(base=BASE, head={path: "delete from public.bb;\n",
                                     reader: "DATA = 'files/seed.sql'\n"})  # fmt: skip
    result = leo_run(repo.change(), [DatabaseAgent])
    assert result.assert_finding("database.unbounded-write", path=path).severity == "low"


def test_a_migration_under_tests_is_still_a_migration(leo_repo, leo_run, pg):
    path = "tests/db/V3__cleanup.sql"  # Flyway claims it wherever it is
    result, _ = run(leo_repo, leo_run, {path: DROP})
    assert result.assert_finding("database.drop-table", path=path).severity != "low"
    result.assert_verdict("FAIL")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "db/migrate/20240301000000_drop_orders.rb",
            "class DropOrders < ActiveRecord::Migration[7.1]\n  def change\n    drop_table :orders\n  end\nend\n",
        ),
        # round-7 red team: SQL in a template PASSed as no migration at all
        ("migrations/0002_drop.sql.j2", "drop table {{ table }};\ndrop table orders;\n"),
        ("db/changes/cleanup.pgsql.tmpl", "drop table orders;\n"),
        # round-7 red team: a shell script's own SQL for psql PASSed, the same .sql FAILed
        ("scripts/cleanup.sh", "#!/bin/sh\npsql \"$DB\" <<'SQL'\nDROP TABLE orders;\nSQL\n"),
        ("scripts/reset.bash", "psql -q -c 'DROP TABLE orders'\n"),
    ],
)
def test_rails_migration_or_templated_sql_is_unread_so_never_a_pass(leo_repo, leo_run, path, body):
    result, agent = run(leo_repo, leo_run, {path: body})
    assert {n.path: n.unread for n in agent.analysed.not_analysed} == {path: True}
    assert result.report.verdict in ("ESCALATE", "FAIL")


def test_a_shell_script_that_runs_psql_on_a_file_leaves_nothing_unread(leo_repo, leo_run):
    _result, agent = run(leo_repo, leo_run, {"scripts/apply.sh": "psql -f db/schema.sql\n"})
    assert agent.status == "skipped" and not agent.analysed.not_analysed


def test_discovery_rules_by_name():
    assert is_forward(f"{SB}/20240301000000_cleanup.down.sql", SB)
    assert not is_forward(f"{SB}/README.sql", SB)
    assert not is_forward("db/migrations/0002_x.down.sql", "db/migrations")
    assert in_sql_dir("prisma/migrations/20240301_init/migration.sql", ())
    assert in_sql_dir("a/R__views.sql", ())
    assert not in_sql_dir("a/notes.sql", ())


def test_loose_sql_leaves_out_what_a_folder_claims(leo_repo):
    repo = leo_repo(base=BASE, head={f"{SB}/20240201000000_a.sql": SAFE, "x/y.sql": DROP})
    change = repo.change()
    assert [f.path for f in loose_sql(change, [])] == [f"{SB}/20240201000000_a.sql", "x/y.sql"]
