"""Diff-awareness: the Security sub-agent on a one-file change in a real project of several
thousand files, against the same tools run over the whole tree (every file as the change).

Both are measured in this one run; the project (Django's sdist) is fetched by the benchmark with
``pip download --no-binary :all: --no-deps``, never committed.
"""

from __future__ import annotations

import shutil

import pytest
from bench_security import CHANGE, _unpack_project
from conftest import leo

from leo.repos import Repo, git, make_repo


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    project = _unpack_project(root / "download")
    one = root / "one-file"
    shutil.copytree(project, one)
    git(one, "init", "-q", "-b", "main")
    git(one, "add", "-A")
    git(one, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "base")
    git(one, "checkout", "-q", "-b", "feature")
    one_repo = Repo(one)
    one_repo.commit(CHANGE, "one file")
    whole = make_repo(root / "whole", {"README.md": "empty base\n"}, CHANGE)
    shutil.copytree(project, whole.path, dirs_exist_ok=True)
    whole.commit({}, "the whole tree as the change")
    return one_repo, whole


def _verify(repo):
    return leo("verify", "--repo", str(repo.path), "--base", "main", "--head", "feature",
               "--agents", "security", "--no-cache", "-q", "--format", "json")  # fmt: skip


@pytest.mark.benchmark(group="diff-awareness")
def test_one_file_change_in_a_large_repo(benchmark, trees):
    benchmark.pedantic(_verify, args=(trees[0],), rounds=3, iterations=1)


@pytest.mark.benchmark(group="diff-awareness")
def test_whole_tree_scan(benchmark, trees):
    benchmark.pedantic(_verify, args=(trees[1],), rounds=1, iterations=1)
