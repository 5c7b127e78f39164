"""Rules about a migration folder's history: versions, order, edits and rollbacks."""

from __future__ import annotations

from leo import Change, Finding
from leo_database.discovery import SqlFolder, version_of
from leo_database.rules import finding
from leo_database.sql import rollback_region


def sql_findings(change: Change, folder: SqlFolder, head: dict[str, str]) -> list[Finding]:
    """Duplicate or out-of-order versions, edited applied migrations, missing rollbacks."""
    out: list[Finding] = []
    base_versions = [v for v in (version_of(p) for p in folder.base) if v is not None]
    latest = max(base_versions, default=None)
    base_set = set(folder.base)
    at_head = {m.path for m in folder.head}
    gone = {v: p for p in folder.base if p not in at_head and (v := version_of(p)) is not None}
    for m in folder.changed():
        if m.status == "unchanged":
            continue  # only its rollback changed
        if m.version is not None:
            twins = [o.path for o in folder.head if o.path != m.path and o.version == m.version]
            if twins:
                out.append(finding("database.duplicate-version",
                                   f"{m.path} has version {_v(m.version)}, like {', '.join(twins)}",
                                   m.path, 1))  # fmt: skip
            if m.status != "modified" and latest is not None and m.version < latest and not twins:
                newest = max(folder.base, key=lambda p: version_of(p) or ())
                out.append(finding("database.out-of-order",
                                   f"{m.path} (version {_v(m.version)}) sorts before {newest}, already on the base branch",
                                   m.path, 1))  # fmt: skip
        if m.status == "modified" and m.path in base_set:
            out.append(edited(change, m.path))
        elif m.path not in base_set and m.version is not None and m.version in gone:
            # An applied migration replaced under a new name (renamed or deleted and added):
            # deployed databases know its version and never run it again; fresh ones do.
            old = gone[m.version]
            moved = next((f for f in change.files if f.path == m.path), None)
            if moved is None or moved.old_path != old or moved.hunks:
                out.append(finding("database.edited-migration",
                                   f"{m.path} takes the place of {old} (version {_v(m.version)}), "
                                   "already on the base branch, with other SQL",
                                   m.path, 1))  # fmt: skip
        text = head.get(m.path, "")
        dbmate = "migrate:up" in text.lower()
        if folder.supabase and not folder.rollbacks_used:
            continue  # Supabase migrations have no rollbacks
        if (
            (folder.rollbacks_used or dbmate)
            and m.rollback is None
            and rollback_region(text) is None
        ):
            where = "a `-- migrate:down` section" if dbmate else "a .down.sql file"
            out.append(finding("database.missing-rollback",
                               f"{m.path} has no rollback ({where}), though this folder's convention has them",
                               m.path, 1))  # fmt: skip
    return out


def edited(change: Change, path: str) -> Finding:
    """``database.edited-migration`` on the first line the change edits in ``path``."""
    changed = next(f for f in change.files if f.path == path)
    line = changed.hunks[0].new_start if changed.hunks else 1
    return finding("database.edited-migration",
                   f"{path} is already on the base branch and the change edits it",
                   path, max(1, line))  # fmt: skip


def fresh_only(found: Finding) -> Finding:
    """A finding in a migration already on the base branch as context: deployed databases
    never run that migration again, so what it does runs only on a fresh, empty database
    (django-taggit 5.0.0 rewrote its applied 0002 and 0003 for Django 5.1: their new AddIndex
    and AddConstraint were reported as locking writes). The edit itself is the finding."""
    note = (
        " (in a migration already on the base branch: deployed databases never run it again, so"
        " this runs only on a fresh, empty database; the edit is database.edited-migration)"
    )
    return found.model_copy(update={"on_changed_line": False, "message": found.message + note})


def _v(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)
