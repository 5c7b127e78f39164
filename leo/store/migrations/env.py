"""Alembic environment: always online, on the connection ``leo.store.migrate`` passes in."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    msg = "LEO's migrations run through leo.store.migrate.ensure_schema, not the alembic CLI"
    raise RuntimeError(msg)
context.configure(
    connection=connection,
    version_table=context.config.attributes["version_table"],
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
