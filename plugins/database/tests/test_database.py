"""The Database sub-agent on real repositories, squawk and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from leo_database import DatabaseAgent
from leo_database.rules import RULES
from leo_database.sql import split
from leo_database.sqlchecks import SqlChecks

from leo import LeoError

SB = "supabase/migrations"
BASE = {
    f"{SB}/20240101000000_init.sql": (
        "create table public.profiles (id uuid primary key, name text, bio text);\n"
        "alter table public.profiles enable row level security;\n"
    )
}
HAZARDS = """alter table public.profiles drop column bio;

create index profiles_name_idx on public.profiles (name);

create table public.payments (
  id bigint primary key,
  amount numeric not null
);
"""
SAFE = """alter table public.profiles add column website text;

create index concurrently profiles_name_idx on public.profiles (name);

create table public.notes (
  id bigint generated always as identity primary key,
  owner uuid not null references auth.users (id),
  body text
);
create index notes_owner_idx on public.notes (owner);
alter table public.notes enable row level security;
create policy "owners read their notes" on public.notes
  for select to authenticated using (auth.uid() = owner);
"""


def run(leo_repo, leo_run, head, base=BASE, config=None):
    repo = leo_repo(base=base, head=head)
    result = leo_run(repo.change(), [DatabaseAgent], config=config)
    return result, result.agent("database")


def steps(agent, phase):
    return [s for live in agent.details["live"] for s in live["steps"] if s["phase"] == phase]


def test_supabase_drop_column_plain_index_and_table_without_rls_are_found_on_their_lines(
    leo_repo, leo_run, pg
):
    path = f"{SB}/20240201000000_pr.sql"
    result, agent = run(leo_repo, leo_run, {path: HAZARDS})
    result.assert_finding("database.drop-column", path=path, line=1)
    result.assert_finding("database.index-not-concurrent", path=path, line=3)
    result.assert_finding("database.table-without-rls", path=path, line=5)
    assert agent.status == "failed"
    result.assert_verdict("FAIL")
    fix = result.assert_finding("database.index-not-concurrent", path=path).fix
    assert "CONCURRENTLY" in fix
    assert [s["ok"] for s in steps(agent, "change")] == [True]


def test_safe_supabase_migration_passes_and_is_shown_applied(leo_repo, leo_run, pg):
    path = f"{SB}/20240201000000_safe.sql"
    result, agent = run(leo_repo, leo_run, {path: SAFE})
    assert agent.status == "passed", agent.findings
    result.assert_verdict("PASS")
    assert steps(agent, "base")[0]["ok"] and steps(agent, "change") == [
        {**steps(agent, "change")[0], "path": path, "ok": True, "statements": 6}
    ]
    assert "applied on PostgreSQL" in agent.summary
    # A new table's index needs no CONCURRENTLY: it is empty and unused.
    result.assert_no_finding("database.index-not-concurrent")


def test_syntax_error_fails_with_postgresql_message_on_its_line(leo_repo, leo_run, pg):
    path = f"{SB}/20240201000000_broken.sql"
    sql = "alter table public.profiles add column age int;\n\ncreate table public.t (\n  id int,\n  name text text\n);\n"
    result, _agent = run(leo_repo, leo_run, {path: sql})
    found = result.assert_finding("database.apply-failed", path=path, line=5)
    assert found.severity == "critical"
    assert 'syntax error at or near "text"' in found.message
    assert "SQLSTATE 42601" in found.message
    result.assert_verdict("FAIL")


def test_migration_cannot_run_server_programs(leo_repo, leo_run, pg, tmp_path):
    path = f"{SB}/20240201000000_evil.sql"
    marker = tmp_path / "pwned"
    sql = f"copy (select 1) to program 'touch {marker}';\n"
    result, _ = run(leo_repo, leo_run, {path: sql})
    found = result.assert_finding("database.apply-failed", path=path, line=1)
    assert "permission denied" in found.message or "must be superuser" in found.message
    assert not marker.exists()


def test_change_without_migrations_is_skipped(leo_repo, leo_run):
    _result, agent = run(leo_repo, leo_run, {"app.py": "print('hi')\n"})
    assert agent.status == "skipped"
    assert "no migrations" in agent.summary


def test_without_postgresql_the_live_proof_is_missing_evidence(
    leo_repo, leo_run, monkeypatch, tmp_path
):
    monkeypatch.delenv("LEO_DATABASE_TEST_URL", raising=False)
    monkeypatch.setenv("LEO_PG_BINDIR", str(tmp_path))  # holds no initdb
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    _, safe = run(leo_repo, leo_run, {f"{SB}/20240201000000_safe.sql": SAFE})
    assert safe.status == "error"
    assert "NOT applied" in safe.summary and "no PostgreSQL" in safe.error
    # Static evidence of harm still fails the change without a server.
    _, bad = run(leo_repo, leo_run, {f"{SB}/20240201000000_pr.sql": HAZARDS})
    assert bad.status == "failed"


def test_agent_starts_its_own_server_when_no_url_is_given(
    leo_repo, leo_run, monkeypatch, leo_postgres
):
    # leo_postgres only makes the test skip (or fail in CI) where the binaries are missing.
    monkeypatch.delenv("LEO_DATABASE_TEST_URL", raising=False)
    _, agent = run(leo_repo, leo_run, {f"{SB}/20240201000000_safe.sql": SAFE})
    assert agent.status == "passed", (agent.summary, agent.findings)
    assert agent.details["live"][0]["server"] == "a throw-away PostgreSQL"


def test_rollbacks_are_applied_and_their_failures_reported(leo_repo, leo_run, pg):
    base = {"db/migrations/0001_init.up.sql": "create table items (id int);\n",
            "db/migrations/0001_init.down.sql": "drop table items;\n"}  # fmt: skip
    head = {
        "db/migrations/0002_tags.up.sql": "create table tags (id int);\n",
        "db/migrations/0002_tags.down.sql": "drop table tag;\n",
    }
    result, _agent = run(leo_repo, leo_run, head, base=base)
    found = result.assert_finding(
        "database.rollback-failed", path="db/migrations/0002_tags.down.sql", line=1
    )
    assert 'table "tag" does not exist' in found.message
    # The up-file's own DROP in a rollback is not a finding: rollbacks are not linted.
    result.assert_no_finding("database.drop-table")


SHOP = {"db/migrations/0001_init.sql": (
    "create type order_status as enum ('new', 'paid');\n"
    "create table users (id bigint primary key, email text not null);\n"
    "create table orders (id bigint primary key, status order_status not null default 'new');\n"
)}  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "rule", "lost"),
    [
        # round-3 red team: neither squawk nor sqlglot reads SQL a DO block EXECUTEs (PASS)
        ("do $$ begin execute 'drop table ' || quote_ident('ord' || 'ers'); end $$;\n",
         "database.drop-table", "table public.orders"),
        # round-3 red team: dropping the enum CASCADE drops every column of its type (PASS)
        ("drop type order_status cascade;\n", "database.drop-column", "column public.orders.status"),
        ("drop schema public cascade;\ncreate schema public;\n",
         "database.drop-table", "table public.users"),
        ("alter table users rename to people;\ncreate table users (id bigint, email text);\n"
         "drop table people;\n", "database.drop-table", "table public.users"),
    ],
)  # fmt: skip
def test_a_base_table_or_column_gone_after_the_migration_is_a_drop_however_spelt(
    leo_repo, leo_run, pg, sql, rule, lost
):
    path = "db/migrations/0002_cleanup.sql"
    result, agent = run(leo_repo, leo_run, {path: sql}, base=SHOP)
    result.assert_finding(rule, path=path)
    result.assert_verdict("FAIL")
    assert f"{path}: {lost}" in agent.details["live"][0]["lost"]


def test_a_rename_or_a_drop_the_sql_shows_is_not_reported_twice(leo_repo, leo_run, pg):
    path = "db/migrations/0002_cleanup.sql"
    sql = "alter table users rename column email to mail;\nalter table users rename to people;\n"
    _result, agent = run(leo_repo, leo_run, {path: sql}, base=SHOP)
    assert not [f for f in agent.findings if f.rule_id.startswith("database.drop-")]
    assert agent.details["live"][0]["lost"] == []
    _result, agent = run(leo_repo, leo_run, {path: "drop table orders;\n"}, base=SHOP)
    assert [f.line for f in agent.findings if f.rule_id == "database.drop-table"] == [1]


def test_incomplete_rollback_and_missing_rollback(leo_repo, leo_run, pg):
    base = {"db/migrations/0001_init.up.sql": "create table items (id int);\n",
            "db/migrations/0001_init.down.sql": "drop table items;\n"}  # fmt: skip
    head = {
        "db/migrations/0002_tags.up.sql": "create table tags (id int);\ncreate table labels (id int);\n",
        "db/migrations/0002_tags.down.sql": "drop table tags;\n",
        "db/migrations/0003_more.up.sql": "create table more (id int);\n",
    }
    result, agent = run(leo_repo, leo_run, head, base=base)
    result.assert_finding(
        "database.missing-rollback", path="db/migrations/0003_more.up.sql", line=1
    )
    # 0003 has no rollback, so nothing under it is rolled back.
    assert steps(agent, "rollback") == []
    head.pop("db/migrations/0003_more.up.sql")
    result, agent = run(leo_repo, leo_run, head, base=base)
    found = result.assert_finding(
        "database.rollback-incomplete", path="db/migrations/0002_tags.up.sql", line=2
    )
    assert 'relation "labels" already exists' in found.message


def test_dbmate_sections_are_split_into_migration_and_rollback(leo_repo, leo_run, pg):
    sql = "-- migrate:up\ncreate table a (id int);\n\n-- migrate:down\ndrop table a;\n"
    result, agent = run(
        leo_repo, leo_run, {"db/migrate/20240201_a.sql": sql}, base={"README.md": "x\n"}
    )
    assert agent.status == "passed", agent.findings
    assert [s["phase"] for s in agent.details["live"][0]["steps"]] == [
        "change",
        "rollback",
        "reapply",
    ]
    result, _ = run(
        leo_repo,
        leo_run,
        {"db/migrate/20240201_a.sql": "-- migrate:up\ncreate table a (id int);\n"},
    )
    result.assert_finding("database.missing-rollback")


def test_duplicate_and_out_of_order_versions(leo_repo, leo_run, pg):
    base = {
        **BASE,
        f"{SB}/20240301000000_later.sql": "create table public.later (id int);\nalter table public.later enable row level security;\n",
    }
    head = {
        f"{SB}/20240201000000_early.sql": "select 1;\n",
        f"{SB}/20240301000000_twin.sql": "select 2;\n",
    }
    result, _ = run(leo_repo, leo_run, head, base=base)
    result.assert_finding("database.out-of-order", path=f"{SB}/20240201000000_early.sql", line=1)
    result.assert_finding(
        "database.duplicate-version", path=f"{SB}/20240301000000_twin.sql", line=1
    )


def test_editing_an_applied_migration_is_flagged(leo_repo, leo_run, pg):
    path = f"{SB}/20240101000000_init.sql"
    head = {path: BASE[path] + "alter table public.profiles add column x text;\n"}
    result, _ = run(leo_repo, leo_run, head)
    result.assert_finding("database.edited-migration", path=path, line=3)


def test_an_applied_migration_renamed_and_edited_is_an_edited_migration(leo_repo, leo_run, pg):
    # Round-3 red team: 0001_init.sql renamed to 0001_initial_schema.sql with its CREATE TABLE
    # edited was no edited migration (only a rename); idempotent SQL applied cleanly: PASS.
    init = "create table if not exists items (id int, name text not null);\n"
    base = {"db/migrations/0001_init.sql": init, "db/migrations/0002_more.sql": "select 1;\n"}
    new = "db/migrations/0001_initial_schema.sql"
    head = {"db/migrations/0001_init.sql": None, new: init.replace(" not null", "")}
    result, _agent = run(leo_repo, leo_run, head, base=base)
    found = result.assert_finding("database.edited-migration", path=new, line=1)
    assert "takes the place of db/migrations/0001_init.sql (version 1)" in found.message
    # Hostile twin's honest side: a rename that keeps the text and the version is no edit.
    head = {"db/migrations/0001_init.sql": None, new: init}
    result, _agent = run(leo_repo, leo_run, head, base=base)
    result.assert_no_finding("database.edited-migration")


def test_truncate_unbounded_writes_and_lock_rules(leo_repo, leo_run, pg):
    path = f"{SB}/20240201000000_data.sql"
    sql = """truncate public.profiles;
delete from public.profiles;
update public.profiles set name = 'x';
delete from public.profiles where id is null;
-- squawk-ignore ban-drop-column
alter table public.profiles drop column bio;
alter table public.profiles add column age int not null;
alter table public.profiles alter column name type varchar(20);
alter table public.profiles add constraint age_positive check (age > 0);
alter table public.profiles rename column name to full_name;
alter table public.profiles rename to people;
alter table public.people disable row level security;
"""
    result, agent = run(leo_repo, leo_run, {path: sql})
    expected = {
        "database.truncate": 1,
        "database.unbounded-write": 2,
        "database.drop-column": 6,
        "database.not-null-without-default": 7,
        "database.column-type-change": 8,
        "database.constraint-not-valid": 9,
        "database.rename-column": 10,
        "database.rename-table": 11,
        "database.table-without-rls": 12,
    }
    for rule, line in expected.items():
        result.assert_finding(rule, path=path, line=line)
    result.assert_finding("database.unbounded-write", path=path, line=3)
    assert not any(f.line == 4 and f.rule_id == "database.unbounded-write" for f in agent.findings)
    assert agent.details["squawk_suppressions_ignored"] == 1
    # The table is not empty in production but is here; the live apply still proves it parses.
    assert steps(agent, "change")[0]["ok"]


@pytest.mark.parametrize(
    ("where", "unbounded"),
    [
        ("where 1 = 1", True),  # round-3 red team: DELETE FROM users WHERE 1 = 1 PASSed
        ("where true", True),
        ("where 'a' = 'a'", True),
        ("where bio is null or true", True),
        ("where now() > '2020-01-01'", True),
        ("where id = id", True),  # round-3 red team: UPDATE users SET email = '' WHERE id = id
        ("where id = owner_id", False),
        ("where 1 = 0", False),
        ("where id is null", False),
        ("where exists (select 1 from public.notes n where n.owner = profiles.id)", False),
    ],
)
def test_a_where_that_holds_for_every_row_bounds_nothing(where, unbounded):
    for verb in ("delete from public.profiles", "update public.profiles set name = 'x'"):
        checks = SqlChecks(require_rls=False)
        for stmt in split(f"{verb} {where};\n"):
            checks.check("m.sql", stmt, True)
        rules = [f.rule_id for f in checks.finish()]
        assert rules == (["database.unbounded-write"] if unbounded else []), (verb, where)


DO_BLOCK = """do $$
declare n int;
begin
    execute 'truncate ' || 'public.notes';
    execute 'truncate ' || quote_ident(t);
    if true then delete from public.profiles; end if;
    update public.profiles set name = '' where id is null;
    perform 1 from public.profiles for update;
    execute 'delete from public.profiles where id = ' || n;
    do_nothing := 'update';
end
$$;
"""


def test_the_writes_a_do_block_runs_are_read(leo_repo, leo_run):
    # Round-3 red team: squawk and sqlglot see a DO block as one opaque command, so its
    # EXECUTE 'TRUNCATE ' || 'orders' and its DELETE FROM users without WHERE PASSed.
    checks = SqlChecks(require_rls=False)
    for stmt in split(DO_BLOCK):
        checks.check("m.sql", stmt, True)
    found = sorted((f.rule_id, f.line, f.message) for f in checks.finish())
    assert found == [
        ("database.truncate", 1, "TRUNCATE deletes every row of public.notes"),
        ("database.truncate", 1, "TRUNCATE deletes every row of the table"),
        (
            "database.unbounded-write",
            1,
            "DELETE without WHERE changes every row of public.profiles",
        ),
    ]
    # Hostile twin's honest side: bounded writes, row locks and the prelude's CREATE ROLE.
    quiet = SqlChecks(require_rls=False)
    honest = DO_BLOCK.replace("    execute 'truncate ' || 'public.notes';\n", "")
    honest = honest.replace("    execute 'truncate ' || quote_ident(t);\n", "").replace(
        "delete from public.profiles;", "create role anon nologin;"
    )
    for stmt in split(honest):
        quiet.check("m.sql", stmt, True)
    assert quiet.finish() == []


ROUTINES = """\
create or replace function public.purge() returns void language plpgsql as $fn$
begin
    delete from public.users;
    delete from public.sessions where expires < now();
end
$fn$;
create procedure wipe() language sql as 'truncate public.orders';
create function touch() returns trigger language plpgsql as $$
begin
    update public.users set seen = now() where id = new.id;
    return new;
end
$$;
"""


def test_a_routine_that_would_empty_a_table_is_for_a_lead():
    # Round-3 red team: a migration that defines a function deleting every row of a table,
    # and does not call it (a trigger or the application will), PASSed.
    checks = SqlChecks(require_rls=False)
    for stmt in split(ROUTINES):
        checks.check("m.sql", stmt, True)
    found = sorted((f.rule_id, f.severity, f.line, f.message) for f in checks.finish())
    assert found == [
        ("database.truncate", "medium", 7,
         "TRUNCATE deletes every row of public.orders, in the body of wipe, whenever it is called"),
        ("database.unbounded-write", "medium", 1,
         "DELETE without WHERE changes every row of public.users, in the body of public.purge, "
         "whenever it is called"),
    ]  # fmt: skip


ACCOUNTS = {"db/migrations/0001_init.sql": (
    "create type plan as enum ('free', 'pro');\n"
    "create table users (id bigserial primary key, email varchar(40) not null unique,"
    " plan plan not null default 'free', created_at timestamptz not null default now(),"
    " deleted_at timestamptz, active boolean not null default true, meta jsonb);\n"
    "create table sessions (id uuid primary key default gen_random_uuid(),"
    " user_id bigint not null references users (id) on delete cascade,"
    " expires timestamptz not null);\n"
)}  # fmt: skip


@pytest.mark.parametrize(
    "sql",
    [
        # red team: a WHERE true for every row that simplification does not see (PASSed)
        "delete from users where id = id + 0;\n",
        "delete from users where abs(id) >= 0 or id is null;\n",
        "delete from users where length(email) >= 0;\n",
        # the migration calls the function whose body does it
        "create function purge() returns void language sql as $$ delete from sessions "
        "where expires = expires $$;\nselect purge();\n",
        "with gone as (delete from users where created_at < 'infinity' returning id) "
        "select count(*) from gone;\n",
        # the migration's own transaction locks the table while the count waits: no hang
        "begin;\nlock table users in access exclusive mode;\ndelete from users where id = id;\n"
        "commit;\n",
    ],
)  # fmt: skip
def test_a_statement_that_deletes_every_row_is_caught_however_spelt(leo_repo, leo_run, pg, sql):
    path = "db/migrations/0002_cleanup.sql"
    result, agent = run(leo_repo, leo_run, {path: sql}, base=ACCOUNTS)
    live = [
        f for f in agent.findings if "every row of public." in f.message and "gone" in f.message
    ]
    assert [(f.rule_id, f.severity, f.path) for f in live] == [
        ("database.unbounded-write", "high", path)
    ]
    result.assert_verdict("FAIL")


@pytest.mark.parametrize(
    ("sql", "column", "what"),
    [
        # round-5 red team: PASSed (an email column without UNIQUE set to 'redacted'); every
        # row overwritten, the WHERE looks bounded
        ("update users set created_at = now() where id <> -42;\n", "created_at", "one"),
        ("update users set deleted_at = null where created_at < 'infinity';\n", "deleted_at",
         "one"),
        ("update users set meta = '{}' where length(email) >= 0;\n", "meta", "one"),
        # the last stop's own attack on the check above (PASSed): every email lost, the rows
        # still differ
        ("update users set email = 'user' || id || '@example.invalid' where id <> -42;\n",
         "email", "none"),
        ("update users set created_at = created_at + interval '1 day' where id > 0;\n",
         "created_at", "none"),
        ("with t as (select id from users) update users set meta = jsonb_build_object('id', "
         "users.id) from t where t.id = users.id;\n", "meta", "none"),
    ],
)  # fmt: skip
def test_a_statement_that_overwrites_a_column_in_every_row_is_caught(
    leo_repo, leo_run, pg, sql, column, what
):
    path = "db/migrations/0002_cleanup.sql"
    result, agent = run(leo_repo, leo_run, {path: sql}, base=ACCOUNTS)
    found = result.assert_finding("database.unbounded-write", path=path, line=1)
    said = {
        "one": "held one and the same value in all 4 rows",
        "none": "kept none of its values in its 4 rows",
    }[what]
    assert f"{column} of public.users {said}" in found.message
    assert agent.details["live"][0]["overwritten"] == [f"{path}:1: public.users.{column} (4 rows)"]
    result.assert_verdict("FAIL")


@pytest.mark.parametrize(
    "sql",
    [
        "update users set email = lower(email) where id > 0;\n",
        "update users set deleted_at = now() where deleted_at is null;\n",
        "update users set active = false where created_at < '2001-01-01';\n",
        "delete from sessions where expires < now();\n",
        "delete from users where deleted_at is not null;\n",
        "delete from users where plan = 'pro' and not active;\n",
        "update users set meta = '{}' where meta is null;\n",
        "alter table users add column nickname text;\nupdate users set nickname = email "
        "where id > 0 and id < 100;\n",
        "insert into users (email) values ('new@example.com');\n",
        # values rewritten where they need it keep the others; a type change is squawk's
        "update users set email = upper(email) where id > 0;\n",
        "update users set created_at = created_at + interval '1 day' where id > 2;\n",
        "alter table users alter column email type varchar(80);\n",
        "alter table users alter column created_at type timestamp;\n",
    ],
)  # fmt: skip
def test_hostile_twin_a_bounded_write_keeps_some_seeded_rows(leo_repo, leo_run, pg, sql):
    path = "db/migrations/0002_cleanup.sql"
    result, agent = run(leo_repo, leo_run, {path: sql}, base=ACCOUNTS)
    result.assert_no_finding("database.unbounded-write")
    assert agent.details["live"][0]["emptied"] == []
    assert agent.details["live"][0]["overwritten"] == []
    assert not any("on the seeded rows" in n for n in agent.details["live"][0]["notes"])


_GUARD = (
    "create function guard() returns trigger language plpgsql as $$ begin {body}; end $$;\n"
    "create trigger guard before insert on sessions for each row execute function guard();\n"
)


@pytest.mark.parametrize(
    ("sql", "line", "table"),
    [
        # round-5 red team: both PASSed; no existing row is touched, every later one is lost
        ("create rule quiet as on insert to users do instead nothing;\n", 1, "public.users"),
        (_GUARD.format(body="return null"), 2, "public.sessions"),
    ],
)  # fmt: skip
def test_a_table_made_to_discard_what_is_written_to_it_is_caught(
    leo_repo, leo_run, pg, sql, line, table
):
    path = "db/migrations/0002_quiet.sql"
    result, agent = run(leo_repo, leo_run, {path: sql}, base=ACCOUNTS)
    found = result.assert_finding("database.writes-discarded", path=path, line=line)
    assert f"a row inserted into {table}" in found.message
    assert agent.details["live"][0]["discarded"] == [f"{path}:{line}: {table}"]
    result.assert_verdict("FAIL")


@pytest.mark.parametrize(
    "sql",
    [
        _GUARD.format(body="new.expires := now(); return new"),
        "create table audit (at timestamptz);\n"
        "create rule logged as on insert to users do also insert into audit values (now());\n",
        "create rule quiet as on insert to users do instead nothing;\ndrop rule quiet on users;\n",
    ],
)  # fmt: skip
def test_hostile_twin_a_trigger_or_rule_that_still_writes_the_row(leo_repo, leo_run, pg, sql):
    path = "db/migrations/0002_audit.sql"
    result, _agent = run(leo_repo, leo_run, {path: sql}, base=ACCOUNTS)
    result.assert_no_finding("database.writes-discarded")


def test_rows_that_do_not_fit_are_a_note_and_the_count_goes_on(leo_repo, leo_run, pg):
    """A new CHECK the made-up rows break is a note, never a finding (the empty database's run
    judges applying), and the statements after it are still counted; a table whose column
    type LEO cannot fill stays empty and is named."""
    base = dict(ACCOUNTS)
    base["db/migrations/0001_init.sql"] += (
        "create domain code as text not null check (value ~ '^[A-Z]{3}$');\n"
        "create table currencies (iso code primary key);\n"
    )
    path = "db/migrations/0002_check.sql"
    sql = (
        "alter table users add constraint real_email check (email like '%@%');\n"
        "delete from users where id = id + 0;\n"
    )
    result, agent = run(leo_repo, leo_run, {path: sql}, base=base)
    live = agent.details["live"][0]
    assert any("no rows could be seeded into public.currencies" in n for n in live["notes"])
    assert any(f"on the seeded rows {path}:1 failed" in n for n in live["notes"])
    # A CHECK the made-up rows break must not end the count before the DELETE that empties
    # the table (a change could put one there to hide it).
    assert live["emptied"] == [f"{path}:2: public.users (4 rows)"]
    found = result.assert_finding("database.unbounded-write", path=path, line=2)
    assert "every row of public.users was gone" in found.message


@pytest.mark.parametrize(
    ("edit", "severity", "says"),
    [
        # restated: the same schema, spelt otherwise (a LEAD decides)
        ("CREATE TABLE t (\n  id int,\n  a int -- the amount\n);\n", "medium",
         "gets the schema a deployed database has"),
        # drifts: fresh installs get a column deployed databases never will
        ("create table t (id int, a int, note text);\n", "high",
         "only fresh: column public.t.note text"),
        ("create table t (id int, a int);\ncreate index t_a on t (a);\n", "high",
         "only fresh: index CREATE INDEX t_a ON public.t USING btree (a)"),
    ],
)  # fmt: skip
def test_an_edited_applied_sql_migration_is_weighed_by_a_fresh_install(
    leo_repo, leo_run, pg, edit, severity, says
):
    path = "migrations/0001_all.sql"
    base = {path: "create table t (id int, a int);\n", "migrations/0002_b.sql": "select 1;\n"}
    result, _agent = run(leo_repo, leo_run, {path: edit}, base=base)
    found = result.assert_finding("database.edited-migration", path=path)
    assert found.severity == severity and says in found.message


def test_an_edited_applied_sql_migration_must_apply_on_a_fresh_database(leo_repo, leo_run, pg):
    # Deployed databases never run the edit, so the main run applies the base's text: the
    # fresh install is the only run of the edited file.
    path = "migrations/0001_all.sql"
    base = {path: "create table t (id int);\n"}
    result, _agent = run(
        leo_repo, leo_run, {path: "create table t (id int, x no_such_type);\n"}, base=base
    )
    failed = result.assert_finding("database.apply-failed", path=path, line=1)
    assert "does not apply on a fresh database" in failed.message
    result.assert_verdict("FAIL")


def test_only_changed_statements_of_a_modified_file_block(leo_repo, leo_run, pg):
    path = "migrations/0001_all.sql"
    base = {path: "create table t (id int, a int);\n"}
    head = {path: "create table t (id int, a int);\ncreate index concurrently t_a on t (a);\n"}
    result, agent = run(leo_repo, leo_run, head, base=base)
    result.assert_finding("database.edited-migration", path=path, line=2)
    assert all(f.line != 1 or not f.on_changed_line for f in agent.findings)


ALEMBIC_BASE = '''"""base"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("users")
'''
ALEMBIC_HEAD = '''"""change"""
from alembic import op
import sqlalchemy as sa

revision = "b2"
down_revision = "a1"


def upgrade():
    op.drop_column("users", "legacy")
    op.add_column("users", sa.Column("age", sa.Integer, nullable=False))
    op.create_index("ix_users_age", "users", ["age"])
    op.create_index("ix_users_ok", "users", ["id"], postgresql_concurrently=True)
    op.execute("DELETE FROM users")


def downgrade():
    pass
'''


def test_alembic_revision_is_read_through_its_op_calls(leo_repo, leo_run):
    v = "alembic/versions"
    head = {
        f"{v}/b2_change.py": ALEMBIC_HEAD,
        f"{v}/c3_twin.py": ALEMBIC_HEAD.replace('"b2"', '"c3"'),
    }
    result, agent = run(leo_repo, leo_run, head, base={f"{v}/a1_base.py": ALEMBIC_BASE})
    p = f"{v}/b2_change.py"
    result.assert_finding("database.drop-column", path=p, line=10)
    result.assert_finding("database.not-null-without-default", path=p, line=11)
    result.assert_finding("database.index-not-concurrent", path=p, line=12)
    result.assert_finding("database.unbounded-write", path=p, line=14)
    result.assert_finding("database.missing-rollback", path=p, line=17)
    result.assert_finding("database.duplicate-version", path=p)  # two heads on a1
    assert not any(f.line == 13 for f in agent.findings if f.path == p)
    assert agent.status == "failed"


def test_alembic_revision_outside_a_versions_folder_is_still_a_migration(leo_repo, leo_run):
    # alembic.ini's version_locations can name any folder: db/revisions/ had PASSed as no
    # migration at all ("skipped") with its drop_column.
    p = "db/revisions/b2_change.py"
    result, agent = run(leo_repo, leo_run, {p: ALEMBIC_HEAD}, base={"README.md": "x\n"})
    result.assert_finding("database.drop-column", path=p, line=10)
    assert agent.status == "failed"


def test_alembic_operation_reached_by_getattr_or_sql_in_pieces_is_still_read(leo_repo, leo_run):
    # Round-2 red team: getattr(op, "drop_" + "column")(...) was no operation LEO knew, and
    # op.execute("ALTER TABLE " + _T + " DROP COLUMN email") no SQL it could read.
    head = ALEMBIC_HEAD.replace(
        'op.drop_column("users", "legacy")', 'getattr(op, "drop_" + "column")("users", "legacy")'
    ).replace('op.execute("DELETE FROM users")', 'op.execute("DELETE " + _FROM + f"{_T}")')
    head = head.replace(
        'down_revision = "a1"\n', 'down_revision = "a1"\n_T = "users"\n_FROM = "FROM "\n'
    )
    p = "alembic/versions/b2_change.py"
    result, _agent = run(leo_repo, leo_run, {p: head}, base={"README.md": "x\n"})
    result.assert_finding("database.drop-column", path=p, line=12)
    drop = next(f for f in result.findings if f.rule_id == "database.drop-column")
    assert "users.legacy" in drop.message
    result.assert_finding("database.unbounded-write", path=p, line=16)
    # Hostile twin's honest side: a name or SQL built from anything but literals stays unread.
    honest = head.replace('"drop_" + "column"', "name").replace('_FROM = "FROM "\n', "_FROM = x\n")
    result, _agent = run(leo_repo, leo_run, {p: honest}, base={"README.md": "x\n"})
    assert not [
        f
        for f in result.findings
        if f.rule_id in ("database.drop-column", "database.unbounded-write")
    ]


def test_a_drop_in_sql_a_python_migration_runs_is_found(leo_repo, leo_run):
    # Round-2 red team: squawk reads .sql files only, so op.execute("ALTER TABLE users DROP
    # COLUMN email") - whole or in pieces - and RunSQL's DROP TABLE were no drop at all.
    sql = 'op.execute("ALTER TABLE " + _T + " DROP " + "COLUMN legacy")\n'
    sql += '    op.execute("DROP TABLE IF EXISTS old_users")\n'
    sql += '    op.execute("ALTER TABLE users DROP CONSTRAINT fk_a, ALTER COLUMN b DROP NOT NULL")'
    head = ALEMBIC_HEAD.replace('op.drop_column("users", "legacy")', sql)
    head = head.replace('down_revision = "a1"\n', 'down_revision = "a1"\n_T = "users"\n')
    p = "alembic/versions/b2_change.py"
    result, _agent = run(leo_repo, leo_run, {p: head}, base={"README.md": "x\n"})
    drop = result.assert_finding("database.drop-column", path=p, line=11)
    assert "users.legacy" in drop.message
    result.assert_finding("database.drop-table", path=p, line=12)
    # Hostile twin's honest side: dropping a constraint or a NOT NULL drops no data.
    assert not [f for f in result.findings if f.line == 13 and "drop" in f.rule_id]


def test_sql_run_on_the_revisions_connection_or_wrapped_in_text_is_read(leo_repo, leo_run):
    # Round-3 red team: op.get_bind().execute(sa.text("DROP TABLE orders")) was no SQL LEO read
    # (only op.execute of a plain string was), and the revision PASSed.
    sql = 'op.get_bind().execute(sa.text("DROP TABLE " + "orders"))\n'
    sql += '    op.execute(sa.text("DELETE FROM users"))\n'
    sql += '    op.get_bind().exec_driver_sql("ALTER TABLE users DROP COLUMN email")\n'
    sql += "    op.get_bind().execute(sa.text(query))"
    head = ALEMBIC_HEAD.replace('op.drop_column("users", "legacy")', sql)
    p = "alembic/versions/b2_change.py"
    result, agent = run(leo_repo, leo_run, {p: head}, base={"README.md": "x\n"})
    result.assert_finding("database.drop-table", path=p, line=10)
    result.assert_finding("database.unbounded-write", path=p, line=11)
    result.assert_finding("database.drop-column", path=p, line=12)
    # Hostile twin's honest side: SQL built from a variable is still unread, not guessed.
    assert not [f for f in agent.findings if f.line == 13]


def test_sql_a_python_migration_builds_at_run_time_leaves_it_unread(leo_repo, leo_run):
    # Round-5 red team: op.execute(" ".join(reversed(_WORDS))) dropped the orders table, and
    # only the empty downgrade() was reported (CONDITIONAL_PASS): unread SQL is no evidence.
    sql = 'op.execute(" ".join(reversed(_WORDS)))'
    head = ALEMBIC_HEAD.replace('op.drop_column("users", "legacy")', sql)
    head = head.replace('down_revision = "a1"\n', 'down_revision = "a1"\n_WORDS = ["orders"]\n')
    p = "alembic/versions/b2_change.py"
    _result, agent = run(leo_repo, leo_run, {p: head}, base={"README.md": "x\n"})
    [unread] = [n for n in agent.analysed.not_analysed if n.path == p]
    assert unread.unread and "line 11" in unread.reason, unread
    # Django's RunSQL and RunPython alike; a list of literal statements is read.
    django = DJANGO.replace(
        "migrations.RunPython(lambda apps, schema: None)",
        'migrations.RunSQL(["SELECT 1", ("DROP TABLE shop_order", None)], "SELECT 1"),\n'
        "        migrations.RunSQL(migrations.RunSQL.noop, migrations.RunSQL.noop)",
    )
    d = "shop/migrations/0002_change.py"
    base = {"shop/migrations/__init__.py": "", "shop/migrations/0001_initial.py": "x = 1\n"}
    _result, agent = run(leo_repo, leo_run, {d: django}, base=base)
    assert not [n for n in agent.analysed.not_analysed if n.path == d]
    assert [f for f in agent.findings if f.rule_id == "database.drop-table" and f.line == 12]
    built = django.replace('"SELECT 1", ("DROP', '"SELECT " + str(1), ("DROP')
    _result, agent = run(leo_repo, leo_run, {d: built}, base=base)
    assert [n.path for n in agent.analysed.not_analysed if n.unread] == [d]


ALEMBIC_PLAIN = '''"""change"""
import logging

from alembic import op
from shop.dbops import cleanup

revision = "b2"
down_revision = "a1"


def upgrade():
    logging.info("start")
    {body}


def downgrade():
    op.drop_column("users", "note")
'''


@pytest.mark.parametrize(
    ("body", "found"),
    [
        # round-7 red team: the revision's own helper, an imported one, an operation named by
        # a variable: only the first was there to read, and none was (CONDITIONAL_PASS)
        ('_drop()\n\n\ndef _drop():\n    op.drop_table("users")', "database.drop-table"),
        ("cleanup(op)", "unread"),
        ('kind = "drop"\n    getattr(op, kind + "_table")("users")', "unread"),
        # honest twin: a call of the standard library, a literal getattr
        ('getattr(op, "add_column")("users", None)', None),
    ],
)
def test_what_an_alembic_revision_does_through_a_helper_is_read_or_unread(
    leo_repo, leo_run, body, found
):
    p = "alembic/versions/b2_change.py"
    head = {p: ALEMBIC_PLAIN.format(body=body), "shop/dbops.py": "def cleanup(op):\n    pass\n"}
    _result, agent = run(leo_repo, leo_run, head, base={"README.md": "x\n"})
    unread = [n.reason for n in agent.analysed.not_analysed if n.path == p and n.unread]
    drops = [f.rule_id for f in agent.findings if f.rule_id == "database.drop-table"]
    assert (drops[0] if drops else "unread" if unread else None) == found, (drops, unread)


ALEMBIC_NOTE = '''"""note"""
from alembic import op
import sqlalchemy as sa

revision = "b2"
down_revision = "a1"


def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("CREATE TABLE tags (id int); ALTER TABLE orders ADD COLUMN tag int")


def downgrade():
    op.drop_column("orders", "note")
    op.drop_table("notes")
    op.execute("DROP TABLE tags; ALTER TABLE orders DROP COLUMN tag")
'''


def test_a_rollback_that_drops_what_the_migration_did_not_create_is_a_drop(leo_repo, leo_run):
    # Round-5 red team: RunSQL(add a column, reverse_sql="DROP TABLE shop_order") and an
    # Alembic downgrade() that drops the base's orders table PASSed: rolling back loses data
    # older than the migration.
    p = "alembic/versions/b2_note.py"
    base = {"alembic/versions/a1_base.py": ALEMBIC_BASE}
    _result, agent = run(leo_repo, leo_run, {p: ALEMBIC_NOTE}, base=base)
    assert not [f for f in agent.findings if "drop" in f.rule_id]  # the benign twin
    hostile = ALEMBIC_NOTE.replace('op.drop_table("notes")', 'op.drop_table("orders")')
    hostile = hostile.replace("DROP COLUMN tag", "DROP COLUMN email")
    result, _agent = run(leo_repo, leo_run, {p: hostile}, base=base)
    dropped = result.assert_finding("database.drop-table", path=p, line=17)
    assert "rolling the migration back drops table orders" in dropped.message
    result.assert_finding("database.drop-column", path=p, line=18)
    d = "shop/migrations/0002_note.py"
    django = DJANGO.replace(
        "migrations.RunPython(lambda apps, schema: None)",
        'migrations.CreateModel(name="Tag", fields=[]),\n'
        '        migrations.RunSQL("ALTER TABLE shop_order ADD note text",'
        ' "ALTER TABLE shop_order DROP note; DROP TABLE shop_tag")',
    )
    dbase = {"shop/migrations/__init__.py": "", "shop/migrations/0001_initial.py": "x = 1\n"}
    _result, agent = run(leo_repo, leo_run, {d: django}, base=dbase)
    assert not [f for f in agent.findings if f.line == 13], agent.findings
    result, _agent = run(
        leo_repo, leo_run, {d: django.replace("shop_tag", "shop_order")}, base=dbase
    )
    result.assert_finding("database.drop-table", path=d, line=13)


def test_module_outside_migration_folders_that_only_looks_like_one_is_not_read(leo_repo, leo_run):
    # Hostile twin's honest side: an app's own upgrade() beside a revision string, no alembic.
    app = 'revision = "2"\ndown_revision = "1"\n\n\ndef upgrade():\n    return revision\n'
    _result, agent = run(leo_repo, leo_run, {"app/upgrade.py": app}, base={"README.md": "x\n"})
    assert agent.status == "skipped", agent.summary


DJANGO = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="order", name="note"),
        migrations.AddField(model_name="order", name="code", field=models.CharField(max_length=5)),
        migrations.AddField(model_name="order", name="memo", field=models.TextField(null=True)),
        migrations.RenameModel(old_name="Order", new_name="Purchase"),
        migrations.RunPython(lambda apps, schema: None),
    ]
"""


@pytest.mark.parametrize(
    ("operations", "unread"),
    [
        # round-7 red team: a DeleteModel out of sight PASSed as a migration doing nothing
        ("OPS", True),
        ("[*OPS]", True),
        ('[migrations.DeleteModel(name=n) for n in ("Order",)]', True),
        ('[migrations.AddField("order", "memo", models.TextField(null=True))]', False),
    ],
)
def test_django_operations_built_at_run_time_leave_the_migration_unread(
    leo_repo, leo_run, operations, unread
):
    head = DJANGO.replace(DJANGO[DJANGO.index("[\n        migrations.Remove") :], operations + "\n")
    head = head.replace("models\n", 'models\n\nOPS = [migrations.DeleteModel(name="Order")]\n', 1)
    base = {"shop/migrations/__init__.py": "", "shop/migrations/0001_initial.py": "x = 1\n"}
    p = "shop/migrations/0002_change.py"
    _result, agent = run(leo_repo, leo_run, {p: head}, base=base)
    assert [n.path for n in agent.analysed.not_analysed if n.unread] == ([p] if unread else [])


def test_django_migration_operations_are_read_from_the_ast(leo_repo, leo_run):
    base = {
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": "class Migration:\n    operations = []\n",
    }
    p = "shop/migrations/0002_change.py"
    result, agent = run(
        leo_repo, leo_run, {p: DJANGO, "shop/migrations/0002_other.py": DJANGO}, base=base
    )
    result.assert_finding("database.drop-column", path=p, line=8)
    result.assert_finding("database.not-null-without-default", path=p, line=9)
    result.assert_finding("database.rename-table", path=p, line=11)
    result.assert_finding("database.missing-rollback", path=p, line=12)
    result.assert_finding("database.duplicate-version", path=p)
    assert not any(f.line == 10 for f in agent.findings if f.path == p)
    assert "python_migrations" in agent.details


TOGETHER = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("taggit", "0001_initial")]
    operations = [
        migrations.AlterIndexTogether(name="taggeditem", index_together={("a", "b")}),
    ]
"""
AS_INDEX = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("taggit", "0001_initial")]
    operations = [
        migrations.AddIndex("taggeditem", models.Index(fields=("a", "b"), name="t_ab_idx")),
    ]
"""


def test_an_applied_migration_the_change_edits_is_the_finding_not_what_it_does(leo_repo, leo_run):
    # django-taggit 5.0.0 rewrote its applied 0002 (index_together -> AddIndex, for Django
    # 5.1): deployed databases never run it again, yet its AddIndex was reported as locking
    # writes (high). The edit is what a LEAD must weigh; a new migration still gates.
    base = {
        "taggit/migrations/__init__.py": "",
        "taggit/migrations/0001_initial.py": "class Migration:\n    operations = []\n",
        "taggit/migrations/0002_together.py": TOGETHER,
    }
    old, new = "taggit/migrations/0002_together.py", "taggit/migrations/0003_index.py"
    result, agent = run(leo_repo, leo_run, {old: AS_INDEX, new: AS_INDEX}, base=base)
    edited = result.assert_finding("database.edited-migration", path=old, line=1)
    assert edited.severity == "medium" and "a LEAD decides" in edited.message
    [context] = [f for f in agent.findings if f.path == old and "index" in f.rule_id]
    assert not context.on_changed_line and "runs only on a fresh, empty database" in context.message
    gating = result.assert_finding("database.index-not-concurrent", path=new)
    assert gating.on_changed_line


RUN_PYTHON = """from django.db import migrations


def purge(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.all().delete()
    Order.objects.filter(paid=False).delete()
    apps.get_model("shop", "Order").objects.update(note="")
    schema_editor.execute("DROP TABLE shop_legacy")
    Order.objects.exclude(paid=True).update(note="")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(purge, migrations.RunPython.noop)]
"""


def test_what_a_run_python_function_does_to_the_rows_is_read(leo_repo, leo_run):
    # Round-3 red team: RunPython(purge, noop) with Order.objects.all().delete() had a rollback,
    # so no Database rule read it: CONDITIONAL_PASS on coverage alone.
    base = {
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": "class Migration:\n    operations = []\n",
    }
    p = "shop/migrations/0002_purge.py"
    result, agent = run(leo_repo, leo_run, {p: RUN_PYTHON}, base=base)
    result.assert_finding("database.unbounded-write", path=p, line=6)
    result.assert_finding("database.unbounded-write", path=p, line=8)
    result.assert_finding("database.drop-table", path=p, line=9)
    # Hostile twin's honest side: a filtered queryset is bounded, and noop is a rollback.
    assert not [f for f in agent.findings if f.line in (7, 10) or "rollback" in f.rule_id]


def test_every_rule_is_documented_with_an_example_and_its_fix():
    doc = Path(__file__).resolve().parents[3] / "docs" / "agents" / "database.md"
    text = doc.read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f"`{rule.id}`" in text, rule.id
        assert rule.fix in text, rule.id


def test_bad_migration_dirs_setting_stops_the_run_naming_the_key(leo_repo, leo_run):
    config = {"agents": {"database": {"migration_dirs": "migrations/"}}}
    with pytest.raises(LeoError, match=r"agents\.database\] migration_dirs .* accepts a list"):
        run(leo_repo, leo_run, {f"{SB}/1_x.sql": "select 1;\n"}, config=config)


def test_unknown_database_setting_is_refused_not_ignored(leo_repo, leo_run):
    config = {"agents": {"database": {"migrations_dir": ["db/"]}}}
    with pytest.raises(LeoError, match=r"unknown key 'migrations_dir'.*migration_dirs"):
        run(leo_repo, leo_run, {f"{SB}/1_x.sql": "select 1;\n"}, config=config)
