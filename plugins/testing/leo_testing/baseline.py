"""Tests judged from the base: the base's tests, with the base's test configuration, run against
the head's code, and compared with what the change's own test run reported.

A change can make its own suite green without fixing anything: delete or skip the failing test,
mark it ``xfail``, deselect it in ``addopts``, or rewrite its assertion. The base pass restores
every test file and every file pytest or coverage read as configuration to its base version
(files the change added there are removed) in the head's worktree, so only the head's code is
new. A test that ran in the base pass and fails there, but that the change's own run no longer
runs or reports passing, is ``testing.test_weakened`` (issue 17).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leo import Change, Finding, LeoError, run_git
from leo_testing.harness import is_harness_file
from leo_testing.junit import Suite
from leo_testing.tampering import is_test_side

_GIT_TIMEOUT_S = 300
_MAX_NAMED = 50


def base_side_paths(change: Change, extra_tests: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(paths to restore from the base, head-only paths to remove) for the base pass.

    ``extra_tests`` are files the head's run collected tests from, whatever their names.
    """
    extra = set(extra_tests)

    def ours(path: str) -> bool:
        return is_test_side(path) or is_harness_file(path) or path in extra

    restore: list[str] = []
    remove: list[str] = []
    for f in change.files:
        old = f.old_path or f.path
        if f.status != "added" and ours(old):
            restore.append(old)
        new_here = f.status == "added" or (f.status in ("renamed", "copied") and f.path != old)
        if new_here and ours(f.path):
            remove.append(f.path)
    return sorted(set(restore)), sorted(set(remove) - set(restore))


async def prepare_base_pass(
    change: Change, tree: Path, extra_tests: Sequence[str] = ()
) -> list[str]:
    """Turn the head worktree ``tree`` into the base pass's tree; return the paths it changed.

    The tree is first reset to the head commit and cleaned, so nothing the head's own run wrote
    (a planted ``conftest.py``, a stray ``.pth``) reaches the base pass.
    """
    git = [str(tree), "--literal-pathspecs"]
    for step in (["reset", "--hard", "--quiet"], ["clean", "-ffdxq"]):
        await _git([*git, *step])
    restore, remove = base_side_paths(change, extra_tests)
    for path in remove:
        target = tree.joinpath(*path.split("/"))
        if target.is_symlink() or target.is_file():
            target.unlink()
    if restore:
        stdin = b"".join(p.encode() + b"\0" for p in restore)
        await _git(
            [*git, "checkout", change.base_sha, "--pathspec-from-file=-", "--pathspec-file-nul"],
            stdin=stdin,
        )
    return restore + remove


async def _git(argv: list[str], stdin: bytes | None = None) -> None:
    """``git -C argv[0] argv[1:]`` through LEO's hardened git (the tree held the head's code)."""
    result = await run_git(argv[0], *argv[1:], timeout=_GIT_TIMEOUT_S, stdin=stdin, check=False)
    if result.returncode != 0:
        msg = f"could not prepare the base pass ({' '.join(argv[2:4])}): {result.stderr_text.strip()[:300]}"
        raise LeoError(msg)


@dataclass(frozen=True)
class Weakened:
    """A base test the change's own run no longer holds to."""

    nodeid: str
    base_outcome: str
    head_outcome: str | None
    """``passed``/``skipped``/``failed``/``error``, or None when the head's run does not have it."""
    edited: bool
    """True when the change edits the file the test is in."""


def compare(
    base: Suite, head: Suite, edited_files: set[str], renamed: dict[str, str] | None = None
) -> list[Weakened]:
    """Base tests that ran in the base pass and that the head's run weakened.

    * failed or errored against the head's code, and at the head missing, skipped (xfail
      included) or passing: the change hides a failure;
    * passed against the head's code, and at the head missing or skipped: the change drops a
      test that still holds (a LEAD decides whether that is intended).

    ``renamed`` maps a test file's base path to its head path, so a moved test is found; a test
    the change parametrized (``test_x`` at base, ``test_x[asyncio]`` and ``test_x[trio]`` at the
    head; ``test_y[a]`` becoming ``test_y[asyncio-a]``: jinja2 3.1.5) is judged by its variants
    together.
    """
    at_head: dict[str, str] = {c.nodeid: c.outcome for c in head.cases}
    variants: dict[str, list[tuple[set[str], str]]] = {}
    for c in head.cases:
        stem, bracket, ids = c.nodeid.partition("[")
        if bracket:
            variants.setdefault(stem, []).append((_ids(ids), c.outcome))
    out = []
    for case in base.cases:
        if case.outcome == "skipped":
            continue
        nodeid = case.nodeid
        path, sep, rest = nodeid.partition("::")
        if nodeid not in at_head and sep and path in (renamed or {}):  # a moved test file
            nodeid = f"{(renamed or {})[path]}::{rest}"
        head_outcome = at_head.get(nodeid)
        if head_outcome is None:  # the change parametrized the test (further)
            stem, _, ids = nodeid.partition("[")
            wanted = _ids(ids)
            split = [o for have, o in variants.get(stem, ()) if wanted <= have]
            head_outcome = _combined(split) if split else None
        if head_outcome in ("failed", "error"):
            continue  # reported as a failing test already
        if case.outcome == "passed" and head_outcome == "passed":
            continue
        edited = bool(case.file) and posixpath.normpath(case.file or "") in edited_files
        out.append(Weakened(case.nodeid, case.outcome, head_outcome, edited))
    return out


def _ids(ids: str) -> set[str]:
    """The parameter ids of a node id's ``[...]`` part (``"asyncio-<lambda>0]"``)."""
    return {part for part in ids.removesuffix("]").split("-") if part}


def _combined(outcomes: list[str]) -> str:
    """One outcome for a test the change split into parametrized variants: any failing variant
    is a failure, else it ran if any variant passed, else it was skipped."""
    for outcome in ("error", "failed", "passed"):
        if outcome in outcomes:
            return outcome
    return "skipped"


def weakened_findings(
    weakened: Sequence[Weakened], failing_before: frozenset[str] = frozenset()
) -> list[Finding]:
    """``testing.test_weakened``: high when it hides a failure, else for a LEAD to decide; low
    context when the test also failed against the base's own code (``failing_before``): the
    change hides no failure it introduced."""
    findings = []
    for w in weakened[:_MAX_NAMED]:
        if w.base_outcome in ("failed", "error") and w.nodeid in failing_before:
            findings.append(
                Finding(
                    rule_id="testing.test_weakened",
                    severity="low",
                    message=f"{w.nodeid} {w.base_outcome} against the head's code in the base's "
                    "version, and against the base's own code too: a failure the change did not "
                    "introduce, which its own run no longer reports",
                    path=w.nodeid.split("::", 1)[0] if "::" in w.nodeid else None,
                    on_changed_line=False,
                )
            )
            continue
        at_head = {
            None: "the change's own run no longer runs it (deleted, renamed, deselected or not collected)",
            "skipped": "the change's own run skips it (skip or xfail)",
            "passed": "the change's own run reports it passing"
            + (" after the change edited it" if w.edited else ""),
        }[w.head_outcome]
        # A failing base test the change rewrote to pass may be an intended new behaviour.
        rewritten = w.head_outcome == "passed" and w.edited
        hides = w.base_outcome in ("failed", "error") and not rewritten
        if w.base_outcome in ("failed", "error"):
            message = f"{w.nodeid} {w.base_outcome} against the head's code in the base's version; {at_head}"
        else:
            message = (
                f"{w.nodeid} passes against the head's code in the base's version, but {at_head}"
            )
        findings.append(
            Finding(
                rule_id="testing.test_weakened",
                severity="high" if hides else "medium",
                message=message,
                path=w.nodeid.split("::", 1)[0] if "::" in w.nodeid else None,
                fix="restore the test, or fix the code so the base's test passes",
            )
        )
    if len(weakened) > _MAX_NAMED:
        findings.append(
            Finding(
                rule_id="testing.test_weakened",
                severity="high",
                message=f"{len(weakened) - _MAX_NAMED} more base tests were weakened (not named)",
            )
        )
    return findings
