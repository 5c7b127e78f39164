"""A generated, realistic repository for LEO's benchmarks: a package, tests, migrations and
pytest-benchmark benchmarks, with a head commit that touches a few modules and adds a migration."""

from __future__ import annotations

from pathlib import Path

from leo.repos import Repo, make_repo

MODULES = 40


def _module(i: int, variant: int = 0) -> str:
    funcs = "".join(
        f"\n\ndef op_{i}_{j}(values, factor={j + 1}):\n"
        f'    """Scale and filter values ({j})."""\n'
        f"    out = []\n"
        f"    for v in values:\n"
        f"        if v % {j + 2} == {variant}:\n"
        f"            out.append(v * factor)\n"
        f"        elif v > {j * 10}:\n"
        f"            out.append(v - factor)\n"
        f"    return out\n"
        for j in range(12)
    )
    return f'"""Module {i} of the shop package."""\n\nfrom __future__ import annotations\n{funcs}'


def _test(i: int) -> str:
    return (
        f"from shop.mod{i} import op_{i}_0, op_{i}_1\n\n\n"
        f"def test_op_{i}_0():\n    assert op_{i}_0([]) == []\n\n\n"
        f"def test_op_{i}_1():\n    assert isinstance(op_{i}_1(list(range(50))), list)\n"
    )


def files(head: bool = False) -> dict[str, str | None]:
    out: dict[str, str | None] = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
            '[project]\nname = "shop"\nversion = "1.0.0"\n\n'
            '[project.optional-dependencies]\ntest = ["pytest>=8", "pytest-benchmark>=4", "coverage>=7"]\n\n'
            '[tool.setuptools]\npackages = ["shop"]\n'
        ),
        "shop/__init__.py": "",
        "tests/test_bench.py": (
            "from shop.mod0 import op_0_0\n\n\n"
            "def test_bench_op(benchmark):\n    benchmark(op_0_0, list(range(2000)))\n"
        ),
    }
    for i in range(MODULES):
        out[f"shop/mod{i}.py"] = _module(i)
        out[f"tests/test_mod{i}.py"] = _test(i)
    for n in range(1, 6):
        out[f"migrations/000{n}_init.sql"] = (
            f"CREATE TABLE t{n} (id bigint PRIMARY KEY, note text);\n"
        )
    if head:
        out = {
            "shop/mod3.py": _module(3, 1),
            "shop/mod7.py": _module(7, 1),
            "shop/mod11.py": _module(11, 1)
            + "\n\ndef export(name):\n    import os\n    return os.system(f'tar czf {name} data/')\n",
            "migrations/0006_notes.sql": "ALTER TABLE t1 ADD COLUMN tag text;\nCREATE INDEX CONCURRENTLY t1_tag ON t1 (tag);\n",
            "tests/test_export.py": "from shop.mod11 import op_11_2\n\n\ndef test_op():\n    assert op_11_2([]) == []\n",
        }
    return out


def create(path: Path) -> Repo:
    return make_repo(path, files(), files(head=True))
