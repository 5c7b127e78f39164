"""The change under review: its two commits, the files it touches and the lines it adds.

Built from a local git range (``gather_change``); the GitHub mode builds the same object from a
fetched pull request. Sub-agents read file contents through it (``read``/``read_many``) or ask
for a throw-away worktree of either side, never the user's working tree.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import os
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Iterable
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import anyio
from pydantic import Field

from leo.errors import GitError, LeoError
from leo.files import held_lock
from leo.git import run_git, run_git_without_attributes
from leo.models import LeoModel
from leo.syntax import parse_python

FileStatus = Literal["added", "modified", "deleted", "renamed", "copied", "type_changed"]
Side = Literal["base", "head"]

#: One lock per repository around ``git worktree add``/``remove`` (and a file lock against
#: another ``leo`` on it): git reads every other worktree's admin folder while it adds one, and
#: one being added beside it is half written ("fatal: failed to read
#: .git/worktrees/tree2/commondir" crashed Design in round 3).
_WORKTREE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
#: Repository -> its git folder shared by all its worktrees (``git rev-parse --git-common-dir``).
_GIT_DIRS: dict[str, Path] = {}
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
_STATUS: dict[str, FileStatus] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type_changed",
}


class Hunk(LeoModel):
    """One ``@@`` block of the diff (no context lines)."""

    old_start: int
    """First line at the base."""
    old_lines: int
    """Lines removed at the base."""
    new_start: int
    """First line at the head."""
    new_lines: int
    """Lines added at the head."""


class ChangedFile(LeoModel):
    """A file the change touches."""

    path: str
    """Path at the head (at the base for a deleted file), POSIX separators."""
    old_path: str | None = None
    """Path at the base, for renames and copies."""
    status: FileStatus
    """How the change touches it."""
    binary: bool = False
    """True when git sees binary content (no line numbers)."""
    mode: str = "100644"
    """Git file mode at the head (``120000`` symlink, ``160000`` submodule)."""
    old_blob: str | None = None
    """Git blob id of the content at the base (None when added): a content digest."""
    new_blob: str | None = None
    """Git blob id of the content at the head (None when deleted): a content digest."""
    hunks: tuple[Hunk, ...] = ()
    """The diff's hunks."""

    @cached_property
    def added_lines(self) -> tuple[int, ...]:
        """Head line numbers the change adds or modifies, sorted."""
        return tuple(n for h in self.hunks for n in range(h.new_start, h.new_start + h.new_lines))

    @cached_property
    def removed_lines(self) -> tuple[int, ...]:
        """Base line numbers the change removes or modifies, sorted."""
        return tuple(n for h in self.hunks for n in range(h.old_start, h.old_start + h.old_lines))

    def is_changed_line(self, line: int) -> bool:
        """True when ``line`` (at the head) is added or modified by the change."""
        lines = self.added_lines
        i = bisect.bisect_left(lines, line)
        return i < len(lines) and lines[i] == line

    @property
    def is_regular(self) -> bool:
        """A regular file present at the head (not deleted, a symlink or a submodule)."""
        return self.status != "deleted" and self.mode in ("100644", "100755")


class Change(LeoModel):
    """The change under review, bound to its base and head commits."""

    repo: str
    """Absolute path of the git work tree the change was read from."""
    base_sha: str
    """Commit compared against (usually the merge-base)."""
    head_sha: str
    """Commit under review; the verdict is bound to it."""
    base_ref: str = ""
    """What the user asked for as base."""
    head_ref: str = ""
    """What the user asked for as head."""
    files: tuple[ChangedFile, ...] = Field(default=())
    """Every file the change touches, in git's order."""

    @cached_property
    def _by_path(self) -> dict[str, ChangedFile]:
        return {f.path: f for f in self.files}

    @cached_property
    def _code_named_like_tests(self) -> dict[tuple[str, str, str], frozenset[str]]:
        """``code_named_like_tests``'s answer once found, by repository and commits (a
        ``model_copy`` shares this dict): every sub-agent step asks."""
        return {}

    def file(self, path: str) -> ChangedFile | None:
        """The changed file at ``path`` (head path), or None when the change does not touch it."""
        return self._by_path.get(path)

    def is_changed_line(self, path: str, line: int | None) -> bool:
        """True when ``line`` of ``path`` at the head is added or modified by the change."""
        f = self.file(path)
        return f is not None and line is not None and f.is_changed_line(line)

    def paths(self, *, suffixes: Iterable[str] = (), regular_only: bool = True) -> list[str]:
        """Head paths of the changed files, optionally only those ending with ``suffixes``."""
        ends = tuple(suffixes)
        return [
            f.path
            for f in self.files
            if (f.is_regular or not regular_only) and (not ends or f.path.endswith(ends))
        ]

    async def read(self, path: str, side: Side = "head") -> bytes | None:
        """The bytes of ``path`` at ``side``, or None when it does not exist there."""
        if not _is_repo_path(path):
            return None
        sha = self.head_sha if side == "head" else self.base_sha
        result = await run_git(self.repo, "cat-file", "blob", f"{sha}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    async def listing(self, side: Side = "head") -> list[str]:
        """Every file of the repository at ``side`` (``git ls-tree -r``), changed or not."""
        sha = self.head_sha if side == "head" else self.base_sha
        found = await run_git(self.repo, "ls-tree", "-r", "-z", "--name-only", sha)
        return [p for p in found.stdout.decode("utf-8", "replace").split("\0") if p]

    async def read_many(self, paths: Iterable[str], side: Side = "head") -> dict[str, bytes | None]:
        """Read several files at ``side`` in one ``git cat-file --batch`` (None when absent)."""
        wanted = list(dict.fromkeys(paths))
        sha = self.head_sha if side == "head" else self.base_sha
        batchable = [p for p in wanted if _is_repo_path(p)]
        out: dict[str, bytes | None] = {}
        if batchable:
            request = "".join(f"{sha}:{p}\n" for p in batchable).encode()
            result = await run_git(self.repo, "cat-file", "--batch", stdin=request)
            data, pos = result.stdout, 0
            for p in batchable:
                end = data.index(b"\n", pos)
                header = data[pos:end]
                pos = end + 1
                if header.endswith((b" missing", b" ambiguous")):
                    out[p] = None  # "<request> missing": the request may hold spaces
                    continue
                _sha, kind, size = header.split()
                out[p] = data[pos : pos + int(size)] if kind == b"blob" else None
                pos += int(size) + 1
        return {p: out.get(p) for p in wanted}

    async def materialize(self, dest: Path, paths: Iterable[str], side: Side = "head") -> list[str]:
        """Write ``paths`` as they are at ``side`` below ``dest``; return those written.

        Only regular blobs are written, never outside ``dest``; this is how a tool scans just the
        changed files without a checkout of the whole tree.
        """
        written = []
        for path, data in (await self.read_many(paths, side)).items():
            target = _safe_join(dest, path)
            if data is None or target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(path)
        return written

    @contextlib.asynccontextmanager
    async def worktree(self, side: Side = "head") -> AsyncIterator[Path]:
        """A detached, throw-away ``git worktree`` of ``side``, removed afterwards."""
        sha = self.head_sha if side == "head" else self.base_sha
        with tempfile.TemporaryDirectory(prefix=f"leo-{side}-") as tmp:
            path = Path(tmp) / "tree"
            async with _worktree_lock(self.repo):
                await run_git(self.repo, "worktree", "add", "--detach", "--quiet", str(path), sha)
            try:
                yield path
            finally:
                async with _worktree_lock(self.repo):
                    await run_git(
                        self.repo, "worktree", "remove", "--force", str(path), check=False
                    )


@contextlib.asynccontextmanager
async def _worktree_lock(repo: str | Path) -> AsyncIterator[None]:
    """The repository's worktree lock. Each sub-agent runs its own event loop on its own
    thread, so the lock is a thread lock, polled: an anyio lock shared between loops hangs,
    and a blocking acquire in a worker thread would outlive a cancelled wait holding it.
    Another ``leo`` on the same repository is kept out by an ``flock`` on a file in the
    repository's git folder, polled the same way."""
    key = str(Path(repo).resolve())
    with _LOCKS_GUARD:
        lock = _WORKTREE_LOCKS.setdefault(key, threading.Lock())
    while not lock.acquire(blocking=False):
        await anyio.sleep(0.02)
    try:
        if key not in _GIT_DIRS:
            found = await run_git(repo, "rev-parse", "--git-common-dir")
            _GIT_DIRS[key] = Path(repo, found.stdout.decode().strip()).resolve()
        async with held_lock(_GIT_DIRS[key] / "leo-worktree.lock", poll_s=0.02):
            yield
    finally:
        lock.release()


def is_test_module(path: str) -> bool:
    """A test module as pytest collects it (``test_*.py``, ``*_test.py``, ``conftest.py``),
    whatever its directory is called: celery and kombu keep their tests in ``t/unit/``. A
    directory name alone is not enough: a change could move production code into
    ``pkg/testing/`` or ``tests/helpers.py`` and import it from there."""
    name = PurePosixPath(path).name
    return (
        (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


#: Folders whose modules are tests' (and whose importers are not the code's).
_TEST_DIRS = frozenset({"tests", "test", "testing"})


def is_test_side(path: str) -> bool:
    """Test code and start-up hooks: test modules, anything under a tests folder, and the
    modules the interpreter runs on its own (what the Testing sub-agent's base pass restores
    from the base)."""
    name = PurePosixPath(path).name
    return (
        is_test_module(path)
        or name in ("sitecustomize.py", "usercustomize.py")
        or bool(_TEST_DIRS & set(path.split("/")[:-1]))
    )


async def code_named_like_tests(change: Change) -> frozenset[str]:
    """Changed modules on the test side by their name or folder that the code imports: code,
    whatever their name or the tests they hold (round-6 red team, T4: as test code the Testing
    sub-agent's base pass restored the base's copy of ``shop/test_rules.py``, so a behaviour
    change there passed; round 7: Security rated a ``shell=True`` there as test context and
    Design a complexity of 22 ``low``, with a dummy ``def test_x()`` beside them).

    * A module named like a test outside a tests folder counts when a module off the test side
      imports it, or names it in a string, at the base or the head.
    * A module in a tests folder (``shop/testing/rules.py``) counts when such a module imports
      its dotted path or spells it in a string (``importlib.import_module``), and no test of the
      base imports it: then it is the tests' own helper
      (urllib3's ``dummyserver/testcase.py`` imports ``test``, whose modules its tests import).
      A folder's ``__init__.py`` runs as its tests are imported, like a conftest: never code.
    * ``conftest.py`` is pytest's: never code."""
    memo, key = change._code_named_like_tests, (change.repo, change.base_sha, change.head_sha)
    if key not in memo:
        memo[key] = await _code_named_like_tests(change)
    return memo[key]


async def _code_named_like_tests(change: Change) -> frozenset[str]:
    stems: dict[str, set[str]] = {}
    dotted: dict[str, str] = {}
    for f in change.files:
        for path in {f.path, f.old_path or f.path}:
            name = PurePosixPath(path).name
            if name in ("conftest.py", "__init__.py") or not name.endswith(".py"):
                continue
            if _TEST_DIRS & set(path.split("/")[:-1]):
                dotted[path] = ".".join(PurePosixPath(path).parts)[:-3]
            elif is_test_module(path):
                stems.setdefault(name[:-3], set()).add(path)
    words = sorted(set(stems) | {m.rpartition(".")[2] for m in dotted.values()})
    if not words:
        return frozenset()
    found: set[str] = set()
    helpers: set[str] = set()
    sides: tuple[tuple[Side, str], ...] = (("base", change.base_sha), ("head", change.head_sha))
    for side, sha in sides:
        argv = ["grep", "-z", "-l", "-I", "-w", *(a for w in words for a in ("-e", w))]
        out = await run_git(change.repo, *argv, sha, "--", "*.py", timeout=300, check=False)
        listed = [p.partition(":")[2] for p in out.stdout.decode("utf-8", "replace").split("\0")]
        sources = await change.read_many([p for p in listed if p], side)
        for path, data in sources.items():
            imported, named = _names(data) if data is not None else (None, None)  # unread: any
            if is_test_side(path):
                if side == "base":
                    helpers |= {p for p, m in dotted.items() if _imports(imported, m, bare=True)}
                continue
            found |= {p for stem, paths in stems.items() if named is None or stem in named
                      for p in paths}  # fmt: skip
            found |= {p for p, m in dotted.items() if _imports(named, m)}
    return frozenset(found - helpers)


def _imports(imported: set[str] | None, module: str, *, bare: bool = False) -> bool:
    """Whether ``imported`` (None: unread, so it may) includes ``module`` or a tail of it
    (``testing.rules`` of a relative import, for ``shop.testing.rules``); with ``bare``, its
    last name alone too (``from rules import x``, as a test beside it may)."""
    if imported is None:
        return True
    stem = module.rpartition(".")[2]
    return any(
        n == module
        or ("." in n and f".{module}".endswith(f".{n}"))
        or (bare and (n == stem or n.startswith(f"{stem}.")))
        for n in imported
    )


def _names(source: bytes) -> tuple[set[str], set[str]]:
    """(the dotted names ``source`` imports, ``shop.testing.rules`` and ``….classify`` of
    ``from shop.testing.rules import classify``, relative ones without their dots; those and
    every part of them and of its strings). A file Python cannot parse gives every word as
    both: it may still name one."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        words = set(re.findall(r"\w+", source.decode("utf-8", "replace")))
        return words, words
    imported: set[str] = set()
    spelled: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = f"{node.module}." if node.module else ""
            imported.update({node.module or "", *(prefix + a.name for a in node.names)})
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled.add(node.value.replace("/", ".").removesuffix(".py"))
    names = imported | spelled
    return imported - {""}, names | {part for name in names for part in name.split(".")} - {""}


def _is_repo_path(path: str) -> bool:
    """A plain repository-relative path: no ``..``, ``.``, absolute or multi-line names."""
    parts = path.split("/")
    return bool(path) and "\n" not in path and all(p not in ("", ".", "..") for p in parts)


def _safe_join(dest: Path, path: str) -> Path | None:
    return dest.joinpath(*PurePosixPath(path).parts) if _is_repo_path(path) else None


async def _resolve(repo: str, ref: str, option: str) -> str:
    if not ref or ref.startswith("-"):
        msg = f"invalid ref {ref!r} for {option}; give a branch, tag or commit"
        raise GitError(msg)
    result = await run_git(
        repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
    )
    if result.returncode != 0:
        msg = f"unknown ref {ref!r} in {repo}; check {option} (git branch -a lists the refs)"
        raise GitError(msg)
    return result.stdout_text.strip()


async def _default_base(repo: str, head_sha: str) -> tuple[str, str]:
    origin = await run_git(
        repo, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD", check=False
    )
    candidates = [origin.stdout_text.strip()] if origin.returncode == 0 else []
    candidates += ["main", "master", "origin/main", "origin/master"]
    for ref in filter(None, candidates):
        known = await run_git(
            repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
        )
        if known.returncode != 0:
            continue
        mb = await run_git(repo, "merge-base", ref, head_sha, check=False)
        if mb.returncode == 0:
            return ref, mb.stdout_text.strip()
    msg = f"could not find a default branch (main, master, origin/HEAD) in {repo}; pass --base REF"
    raise GitError(msg)


async def gather_change(
    repo: str | os.PathLike[str], base: str | None, head: str = "HEAD"
) -> Change:
    """Read the change between ``base`` (default: merge-base with the default branch) and ``head``."""
    if not Path(repo).is_dir():
        msg = f"repository path {str(repo)!r} does not exist; pass --repo PATH of a git work tree"
        raise GitError(msg)
    top = await run_git(repo, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        msg = f"{str(repo)!r} is not a git repository; pass --repo PATH of a git work tree"
        raise GitError(msg)
    root = top.stdout_text.strip()
    head_sha = await _resolve(root, head, "--head")
    if base is None:
        base, base_sha = await _default_base(root, head_sha)
    else:
        base_sha = await _resolve(root, base, "--base")
    if base_sha == head_sha:
        msg = f"nothing to verify: base {base!r} and head {head!r} are the same commit"
        raise LeoError(msg)
    files = await _diff(root, base_sha, head_sha)
    return Change(
        repo=root, base_sha=base_sha, head_sha=head_sha, base_ref=base, head_ref=head, files=files
    )


async def uncommitted(change: Change) -> tuple[str, ...]:
    """Paths with uncommitted (or untracked) changes in ``change.repo`` when its head is the
    work tree's ``HEAD``: work the user may think is verified but the commit range leaves out."""
    head = await run_git(change.repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    if head.returncode != 0 or head.stdout_text.strip() != change.head_sha:
        return ()
    status = await run_git(
        change.repo, "status", "--porcelain=v1", "-z", "--untracked-files=normal"
    )
    entries = status.stdout.decode("utf-8", "replace").split("\0")
    paths: list[str] = []
    skip_next = False
    for entry in entries:
        if skip_next:  # the source path of a rename or copy
            skip_next = False
            continue
        if len(entry) > 3:
            paths.append(entry[3:])
            skip_next = entry[0] in "RC"
    return tuple(paths)


async def _diff(repo: str, base_sha: str, head_sha: str) -> tuple[ChangedFile, ...]:
    opts = ("--no-ext-diff", "--no-textconv", "-M", "--full-index")
    # The change's own .gitattributes must not decide which of its lines are changed.
    raw = await run_git_without_attributes(
        repo, "diff", *opts, "--raw", "--numstat", "-z", base_sha, head_sha
    )
    patch = await run_git_without_attributes(
        repo, "diff", *opts, "-U0", base_sha, head_sha, check=False
    )
    if patch.returncode != 0 or raw.truncated:
        msg = f"git diff {base_sha[:12]}..{head_sha[:12]} failed: {patch.stderr_text.strip()}"
        raise GitError(msg)
    entries = _parse_raw(raw.stdout)
    sections = _split_patch(patch.stdout)
    if len(sections) != len(entries):
        msg = f"could not match git's patch to its file list ({len(sections)} vs {len(entries)})"
        raise GitError(msg)
    files = []
    for entry, section in zip(entries, sections, strict=True):
        hunks = tuple(
            Hunk(
                old_start=int(m[1]),
                old_lines=int(m[2]) if m[2] is not None else 1,
                new_start=int(m[3]),
                new_lines=int(m[4]) if m[4] is not None else 1,
            )
            for m in _HUNK.finditer(section)
        )
        files.append(ChangedFile(**entry, hunks=hunks))
    return tuple(files)


def _blob(sha: str) -> str | None:
    return None if set(sha) == {"0"} else sha


def _parse_raw(out: bytes) -> list[dict[str, Any]]:
    """Parse ``--raw --numstat -z`` output into ``ChangedFile`` fields (without hunks)."""
    fields = out.split(b"\0")
    raw: list[dict[str, Any]] = []
    binary: list[bool] = []
    i = 0
    while i < len(fields) and fields[i]:
        field = fields[i]
        if field.startswith(b":"):
            meta = field[1:].decode("utf-8", "replace").split()
            letter = meta[4][0]
            entry: dict[str, Any] = {
                "status": _STATUS.get(letter, "modified"),
                "mode": meta[0] if letter == "D" else meta[1],
                "old_blob": _blob(meta[2]),
                "new_blob": _blob(meta[3]),
            }
            if letter in "RC":
                entry["old_path"] = fields[i + 1].decode("utf-8", "replace")
                entry["path"] = fields[i + 2].decode("utf-8", "replace")
                i += 3
            else:
                entry["path"] = fields[i + 1].decode("utf-8", "replace")
                i += 2
            raw.append(entry)
        else:  # numstat: "added\tdeleted\tpath" or "added\tdeleted\t" + old + new for renames
            added, _deleted, rest = field.split(b"\t", 2)
            binary.append(added == b"-")
            i += 1 if rest else 3
    if len(binary) != len(raw):
        msg = "could not parse git's file list (raw and numstat disagree)"
        raise GitError(msg)
    return [entry | {"binary": b} for entry, b in zip(raw, binary, strict=True)]


def _split_patch(patch: bytes) -> list[bytes]:
    if not patch:
        return []
    parts = re.split(rb"^diff --git ", patch, flags=re.MULTILINE)
    return parts[1:]
