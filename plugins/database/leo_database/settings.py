"""The Database sub-agent's settings: ``[tool.leo.agents.database]`` (docs/agents/database.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from leo import AgentSettings

#: Folders searched for SQL migrations when ``migration_dirs`` is not set.
DEFAULT_SQL_DIRS = ("supabase/migrations/", "migrations/", "db/migrate/", "db/migrations/")

Folder = Annotated[str, AfterValidator(lambda d: d.strip("/") + "/")]


class DatabaseSettings(AgentSettings):
    """Where the migrations are and which rules apply to them."""

    migration_dirs: tuple[Folder, ...] = DEFAULT_SQL_DIRS
    """Folders holding SQL migrations, e.g. ``["supabase/migrations/"]``."""
    require_rls: bool | None = None
    """Force the row-level-security rule everywhere (true) or nowhere (false); unset: on for
    ``supabase/migrations/`` only."""
    rls_schemas: tuple[str, ...] = ("public",)
    """Schemas whose new tables need row-level security (Supabase exposes ``public``)."""
    test_sql: Literal["context", "gate"] = "context"
    """Findings in ``.sql`` files no migration tool claims and that sit in a test-data folder
    (``tests/``, ``fixtures/``, ...) are ``low`` context; ``"gate"`` lets them block."""
    pg_version: str | None = None
    """Passed to squawk as ``--pg-version``; unset: squawk's default."""
