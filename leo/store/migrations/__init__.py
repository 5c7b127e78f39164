"""Alembic migrations of the audit store, shipped in the package and run by ``leo.store.migrate``."""
