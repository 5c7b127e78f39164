"""``planted``: what a change's build left in the environment it installed into."""

from __future__ import annotations

import base64
import hashlib
import json

from leo import planted


def _installed(site, files: dict[str, bytes], dist: str = "demo-1.0") -> None:
    """A distribution ``dist`` in ``site`` whose RECORD lists ``files`` as written."""
    rows = []
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    (site / f"{dist}.dist-info").mkdir()
    (site / f"{dist}.dist-info" / "RECORD").write_text("\n".join(rows) + "\n")


def test_bytecode_the_build_rewrote_or_added_is_removed_and_sources_still_checked(tmp_path):
    # tqdm 4.66.5's own build left numpy's conv_template .pyc unlike its RECORD: a rewritten
    # cache is no tampering, but one planted beside a checked source would run instead of it.
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    cached = "demo/__pycache__/core.cpython-311.pyc"
    _installed(site, {"demo/core.py": b"X = 1\n", cached: b"compiled by pip"})
    (site / cached).write_bytes(b"recompiled by the build")
    (site / "demo/__pycache__/extra.cpython-311.pyc").write_bytes(b"no distribution's")
    assert planted(tmp_path) == []
    assert not (site / cached).exists()
    assert not (site / "demo/__pycache__/extra.cpython-311.pyc").exists()
    # The hostile twin: the checked source itself rewritten is still tampering.
    (site / "demo/core.py").write_text("X = 2\n")
    assert planted(tmp_path) == ["demo/core.py differs from what demo-1.0.dist-info installed"]


def test_start_up_code_is_planted_unless_a_dependency_installed_it(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _installed(site, {"distutils-precedence.pth": b"import os\n"}, "setuptools-70.0.0")
    (site / "sitecustomize.py").write_text("import os\n")
    assert planted(tmp_path) == ["sitecustomize.py (start-up code no distribution installed)"]


def test_start_up_code_in_the_changes_own_wheel_is_planted(tmp_path):
    # Performance keeps the project installed: a .pth its wheel lists is the change's code.
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _installed(site, {"fast.pth": b"import fast\n", "calc.py": b"X = 1\n"}, "Calc_Tools-1.0")
    _installed(site, {"other.pth": b"import os\n"}, "helper-2.0")
    assert planted(tmp_path) == []
    assert planted(tmp_path, own=["calc-tools"]) == [
        "fast.pth (start-up code the change's own Calc_Tools-1.0.dist-info installed)"
    ]
    # A second .dist-info the wheel installed as data, claiming the same file, changes nothing.
    _installed(site, {"fast.pth": b"import fast\n"}, "zz_fake-1.0")
    assert planted(tmp_path, own=["calc-tools"]) == [
        "fast.pth (start-up code the change's own Calc_Tools-1.0.dist-info installed)"
    ]


def _from(site, dist: str, url: str, *, editable: bool = False) -> None:
    """Mark ``dist`` as pip installed it from ``url`` (PEP 610's ``direct_url.json``)."""
    info = {"dir_info": {"editable": True}} if editable else {"archive_info": {}}
    text = json.dumps({"url": url, **info})
    (site / f"{dist}.dist-info" / "direct_url.json").write_text(text)


def test_start_up_code_of_a_dependency_from_a_local_path_is_planted(tmp_path):
    # Round-5 red team: 'shopboot @ file:///proc/self/cwd/vendor/shopboot-1.0-py3-none-any.whl'
    # in the change's dependencies shipped a .pth that repaired its broken function.
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _installed(site, {"shopboot.pth": b"import shopboot\n"}, "shopboot-1.0")
    _from(site, "shopboot-1.0", "file:///proc/self/cwd/vendor/shopboot-1.0-py3-none-any.whl")
    assert planted(tmp_path) == [
        "shopboot.pth (start-up code the change's own shopboot-1.0.dist-info installed)"
    ]


def test_start_up_code_of_an_index_or_editable_distribution_is_not_planted(tmp_path):
    # The benign twins: setuptools' .pth from the index, a custom setup's 'pip install -e .'.
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _installed(site, {"distutils-precedence.pth": b"import os\n"}, "setuptools-70.0.0")
    _from(site, "setuptools-70.0.0", "https://files.example/setuptools-70.0.0.whl")
    _installed(site, {"__editable__.demo-1.0.pth": b"/src/demo\n"}, "demo-1.0")
    _from(site, "demo-1.0", "file:///src/demo", editable=True)
    assert planted(tmp_path) == []


def test_a_pytest_plugin_from_a_local_path_is_planted_unless_it_is_the_project(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _installed(site, {"shopboot.py": b"X = 1\n"}, "shopboot-1.0")
    (site / "shopboot-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nb = shopboot\n")
    _installed(site, {"pytest_demo.py": b"X = 1\n"}, "pytest_demo-1.0")
    (site / "pytest_demo-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nd = x\n")
    _from(site, "pytest_demo-1.0", "file:///scratch/project-wheels/pytest_demo-1.0.whl")
    assert planted(tmp_path, own=["pytest-demo"]) == []  # from the index; the project's own
    _from(site, "shopboot-1.0", "file:///proc/self/cwd/vendor/shopboot")
    assert planted(tmp_path, own=["pytest-demo"]) == [
        "shopboot-1.0.dist-info (a pytest plugin installed from the change's files)"
    ]
