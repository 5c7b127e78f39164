"""Create LEO's small example repository: a base commit and a head with real findings.

    python examples/demo_repo.py PATH

The head (branch ``feature/demo``) adds a command run through a shell with user input, a SQL
migration that drops a column and indexes an existing table without CONCURRENTLY, a function
too complex to review, and a test that passes. ``leo verify --repo PATH --base main
--head feature/demo`` finds them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BASE = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "shop"\nversion = "1.0.0"\n\n'
        '[project.optional-dependencies]\ntest = ["pytest>=8"]\n\n'
        '[tool.setuptools]\npackages = ["shop"]\n\n'
        "[tool.leo]\nthreshold = 85\n"
    ),
    "shop/__init__.py": "",
    "shop/orders.py": ('"""Orders."""\n\n\ndef total(prices):\n    return sum(prices)\n'),
    "tests/test_orders.py": (
        "from shop.orders import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    ),
    "migrations/0001_init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text, total numeric NOT NULL);\n"
    ),
}

HEAD = {
    "shop/export.py": (
        '"""Export orders to a file chosen by the user."""\n\n'
        "import subprocess\n\n\n"
        "def export(filename):\n"
        '    return subprocess.run(f"tar czf {filename} data/", shell=True, check=True)\n'
    ),
    "shop/pricing.py": (
        '"""Pricing rules."""\n\n\n'
        "def discount(kind, total, member, coupon, season):\n"
        + "".join(
            f"    if kind == {i} and total > {i * 10}:\n"
            f"        return {i} if member else ({i + 1} if coupon else {i + 2})\n"
            for i in range(6)
        )
        + '    if season == "winter":\n        return 1\n    return 0\n'
    ),
    "tests/test_pricing.py": (
        "from shop.pricing import discount\n\n\n"
        "def test_no_discount():\n    assert discount(99, 0, False, False, 'summer') == 0\n"
    ),
    "migrations/0002_orders_cleanup.sql": (
        "ALTER TABLE orders DROP COLUMN note;\nCREATE INDEX orders_total_idx ON orders (total);\n"
    ),
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "LEO demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "LEO demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(repo),
        },
    )


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def create(repo: Path) -> Path:
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    write(repo, BASE)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial shop")
    git(repo, "checkout", "-q", "-b", "feature/demo")
    write(repo, HEAD)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add export, pricing and an orders migration")
    return repo


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/demo_repo.py PATH")
    print(create(Path(sys.argv[1])))
