"""The change as git sees it: files, statuses, added lines, renames, binaries, odd paths."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import anyio
import pytest

import leo
from leo.change import gather_change
from leo.errors import GitError, LeoError
from leo.repos import git


def test_added_modified_deleted_and_line_numbers(leo_repo):
    repo = leo_repo(
        base={"a.py": "one\ntwo\nthree\n", "gone.txt": "bye\n"},
        head={"a.py": "one\nTWO\nthree\nfour\n", "gone.txt": None, "new.txt": "x\ny\n"},
    )
    change = repo.change()
    by = {f.path: f for f in change.files}
    assert {p: f.status for p, f in by.items()} == {
        "a.py": "modified",
        "gone.txt": "deleted",
        "new.txt": "added",
    }
    assert by["a.py"].added_lines == (2, 4)
    assert by["a.py"].removed_lines == (2,)
    assert by["new.txt"].added_lines == (1, 2)
    assert change.is_changed_line("a.py", 2) and not change.is_changed_line("a.py", 3)
    assert change.paths() == ["a.py", "new.txt"]


def test_rename_binary_and_unicode_paths_with_spaces(leo_repo):
    body = "".join(f"line {i}\n" for i in range(30))
    repo = leo_repo(
        base={"old name.py": body},
        head={
            "old name.py": None,
            "dir/nouveau é.py": body + "added\n",
            "logo.png": b"\x89PNG\x00\x01\x02",
        },
    )
    change = repo.change()
    by = {f.path: f for f in change.files}
    moved = by["dir/nouveau é.py"]
    assert (moved.status, moved.old_path, moved.added_lines) == ("renamed", "old name.py", (31,))
    assert by["logo.png"].binary and by["logo.png"].added_lines == ()


def test_reading_files_at_both_sides(leo_repo, tmp_path):
    repo = leo_repo(base={"a.txt": "base\n"}, head={"a.txt": "head\n", "b c.txt": "new\n"})
    change = repo.change()

    async def read():
        return (
            await change.read("a.txt"),
            await change.read("a.txt", "base"),
            await change.read_many(["a.txt", "b c.txt", "missing"]),
            await change.materialize(tmp_path / "out", ["b c.txt", "../escape"]),
        )

    head, base, many, written = anyio.run(read)
    assert (head, base) == (b"head\n", b"base\n")
    assert many == {"a.txt": b"head\n", "b c.txt": b"new\n", "missing": None}
    assert written == ["b c.txt"]
    assert (tmp_path / "out" / "b c.txt").read_text() == "new\n"


def test_worktree_is_a_throwaway_checkout_of_the_head(leo_repo):
    repo = leo_repo(base={"a.txt": "base\n"}, head={"a.txt": "head\n"})
    change = repo.change()

    async def peek():
        async with change.worktree("head") as tree:
            return (tree / "a.txt").read_text(), tree

    text, tree = anyio.run(peek)
    assert text == "head\n" and not tree.exists()
    assert "leo-head" not in git(repo.path, "worktree", "list")


def test_worktrees_opened_at_once_by_several_sub_agents_all_open(leo_repo):
    # Round-3 red team: every worktree was named "tree", so git named its admin folders tree,
    # tree1, ... and two sub-agents adding one at once raced for the same name: "failed to read
    # .git/worktrees/tree2/commondir" crashed Design.
    repo = leo_repo(base={"a.txt": "base\n"}, head={"a.txt": "head\n"})
    change = repo.change()
    texts: list[str] = []

    async def one(side):
        async with change.worktree(side) as tree:
            texts.append((tree / "a.txt").read_text())
            await anyio.sleep(0.05)

    async def main():
        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(one, "head" if i % 2 else "base")

    anyio.run(main)
    assert sorted(texts) == ["base\n"] * 6 + ["head\n"] * 6
    # Sub-agents run on threads of their own, each with its own event loop.
    texts.clear()
    threads = [threading.Thread(target=anyio.run, args=(main,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert sorted(texts) == ["base\n"] * 18 + ["head\n"] * 18


def test_another_leo_adding_a_worktree_to_the_same_repository_is_waited_for(leo_repo):
    """Two ``leo`` processes on one repository: the thread lock is per process, so each also
    takes a file lock in the repository's git folder (held here as the other leo would)."""
    repo = leo_repo(base={"a.txt": "base\n"}, head={"a.txt": "head\n"})
    change = repo.change()
    opened: list[str] = []

    async def peek():
        async with change.worktree("head") as tree:
            opened.append((tree / "a.txt").read_text())

    async def main():
        with open(Path(repo.path, ".git", "leo-worktree.lock"), "a+b") as other:
            fcntl.flock(other, fcntl.LOCK_EX)
            async with anyio.create_task_group() as tg:
                tg.start_soon(peek)
                await anyio.sleep(0.5)
                assert opened == []  # waiting for the other leo
                fcntl.flock(other, fcntl.LOCK_UN)
        assert opened == ["head\n"]

    anyio.run(main)


def test_default_base_is_the_merge_base_with_main(leo_repo):
    repo = leo_repo(base={"a.txt": "1\n"}, head={"a.txt": "2\n"})
    base_sha = git(repo.path, "rev-parse", "main").strip()
    git(repo.path, "checkout", "-q", "main")
    git(repo.path, "commit", "-q", "--allow-empty", "-m", "main moved on")
    change = anyio.run(gather_change, repo.path, None, "feature")
    assert change.base_sha == base_sha and change.base_ref == "main"


@pytest.mark.parametrize(
    ("repo_arg", "base", "head", "message"),
    [
        ("missing-dir", "main", "feature", "does not exist"),
        ("plain-dir", "main", "feature", "is not a git repository"),
        ("repo", "nope", "feature", "unknown ref 'nope'"),
        ("repo", "--output=x", "feature", "invalid ref '--output=x'"),
        ("repo", "main", "main", "nothing to verify"),
    ],
)
def test_bad_input_is_one_clear_error(leo_repo, tmp_path, repo_arg, base, head, message):
    repo = leo_repo(base={"a": "1\n"}, head={"a": "2\n"})
    (tmp_path / "plain-dir").mkdir()
    path = {
        "repo": repo.path,
        "plain-dir": tmp_path / "plain-dir",
        "missing-dir": tmp_path / "nope",
    }[repo_arg]
    with pytest.raises(LeoError, match=message):
        anyio.run(gather_change, path, base, head)


def test_no_default_branch_asks_for_base(leo_repo):
    repo = leo_repo(base={"a": "1\n"}, head={"a": "2\n"})
    git(repo.path, "branch", "-m", "main", "trunk")
    with pytest.raises(GitError, match="pass --base REF"):
        anyio.run(gather_change, repo.path, None, "feature")


def test_read_many_with_spaces_in_missing_and_present_paths(leo_repo):
    repo = leo_repo(base={"x": "1\n"}, head={"dir with space/a b.txt": "A\n", "sub/mod.py": "M\n"})
    change = repo.change()
    got = anyio.run(
        lambda: change.read_many(
            ["gone dir/x y.txt", "dir with space/a b.txt", "sub", "sub/mod.py"]
        )
    )
    assert got == {
        "gone dir/x y.txt": None,
        "dir with space/a b.txt": b"A\n",
        "sub": None,
        "sub/mod.py": b"M\n",
    }


def test_the_changes_own_gitattributes_do_not_hide_its_lines(leo_repo):
    # A head whose .gitattributes says "*.py -diff" made git call every Python file binary:
    # no hunk, so a shell injection it added was untouched context and the change PASSed.
    repo = leo_repo(
        base={"app.py": "a = 1\n"},
        head={"app.py": "a = 1\nimport os\nos.system(input())\n", ".gitattributes": "*.py -diff\n"},
    )
    assert (repo.path / ".gitattributes").exists()  # the checkout is the head
    app = repo.change().file("app.py")
    assert app is not None
    assert (app.binary, app.added_lines) == (False, (2, 3))


def test_real_binaries_stay_binary_without_the_repositorys_attributes(leo_repo):
    # Hostile twin: ignoring the attributes must not make git diff a real binary as text.
    repo = leo_repo(base={"a.txt": "x\n"}, head={"blob.bin": b"\x00\x01\x02\x03", "a.txt": "y\n"})
    by = {f.path: f for f in repo.change().files}
    assert by["blob.bin"].binary and by["blob.bin"].added_lines == ()
    assert by["a.txt"].added_lines == (1,)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_api.py", True),
        ("t/unit/test_consumer.py", True),  # celery and kombu: whatever the folder is called
        ("pkg/api_test.py", True),
        ("t/unit/SQS/conftest.py", True),
        ("tests/helpers.py", False),  # production code moved under tests/ is not exempt
        ("pkg/testing/fixtures.py", False),
        ("test_data.json", False),
        ("pkg/contest.py", False),
    ],
)
def test_a_test_module_is_named_as_pytest_collects_it(path, expected):
    assert leo.is_test_module(path) is expected


@pytest.mark.parametrize(
    ("module", "importer", "code"),
    [
        ("shop/test_rules.py", "from shop.test_rules import discount\n", True),
        (
            "shop/rules_test.py",
            "import importlib\nM = importlib.import_module('shop.rules_test')\n",
            True,
        ),
        ("shop/test_rules.py", "# the tests in test_rules cover this\n", False),  # a comment
        ("shop/testing/rules.py", "from shop.testing.rules import discount\n", True),
        ("shop/testing/rules.py", "from .testing import rules\n", True),  # relative
        (
            "shop/testing/rules.py",
            "import importlib\nM = importlib.import_module('shop.testing.rules')\n",
            True,
        ),
        ("shop/testing/rules.py", "from shop.testing import fixtures\n", False),  # another module
        ("tests/helpers.py", "HELPERS = 'helpers'\n", False),  # a word, not its dotted path
        ("conftest.py", "PLUGIN = 'conftest'\n", False),  # pytest's: never code by a string
    ],
)
def test_a_module_named_like_a_test_is_code_when_the_code_imports_it(
    leo_repo, module, importer, code
):
    base = {"shop/__init__.py": "", "shop/cart.py": importer, module: "X = 1\n"}
    change = leo_repo(base=base, head={module: "X = 2\n"}).change()
    assert anyio.run(leo.code_named_like_tests, change) == ({module} if code else set())


@pytest.mark.parametrize(
    ("module", "test_import"),
    [
        ("shop/testing/rules.py", "from shop.testing.rules import discount\n"),
        ("tests/helpers.py", "from helpers import discount\n"),  # beside the tests, bare
        ("tests/__init__.py", "X = 1\n"),  # runs as its tests are imported, like a conftest
    ],
)
def test_a_tests_folder_module_the_base_tests_import_stays_test_code(leo_repo, module, test_import):
    """urllib3's dummyserver/testcase.py imports ``test``, whose modules its tests use: the
    tests' own helpers, so the base pass still restores them, whatever imports them too."""
    dotted = module[:-3].replace("/", ".").removesuffix(".__init__")
    base = {
        "shop/__init__.py": "",
        "shop/testing/__init__.py": "",
        "tests/__init__.py": "",
        "shop/cart.py": f"import {dotted}\n",
        "tests/test_cart.py": test_import,
        module: "X = 1\n",
    }
    change = leo_repo(base=base, head={module: "X = 2\n"}).change()
    assert anyio.run(leo.code_named_like_tests, change) == set()
