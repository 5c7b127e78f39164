"""Whose code builds the cached environment (issue 18's integrity rule: evidence comes from the
base). A build runs ``setup.py`` and whatever it imports while the environment is writable; a
change that leaves the dependency files as they were must not shape the environment every
other change with those files reuses."""

from __future__ import annotations

import pytest

from leo.testing import RunResult

CALC = "def add(a, b):\n    return a + b\n"
SETUP = (
    "import build_helper  # noqa: F401\nfrom setuptools import setup\n\n"
    "setup(name='calc', version='1.0', py_modules=['calc'])\n"
)
#: A build step that writes a module into the environment being built.
POISON = (
    "import pathlib, sys\n"
    "site = pathlib.Path(sys.prefix, 'lib', f'python{sys.version_info[0]}.{sys.version_info[1]}',"
    " 'site-packages')\n"
    "if site.is_dir():\n"
    "    (site / 'poison.py').write_text('ALL_TESTS_PASS = True\\n')\n"
)
TESTS = (
    "import importlib.util\n\nfrom calc import add\n\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_the_environment_holds_no_module_a_change_planted():\n"
    "    assert importlib.util.find_spec('poison') is None\n"
)
BASE = {
    "setup.py": SETUP,
    "build_helper.py": "",
    "calc.py": CALC,
    "tests/test_calc.py": TESTS,
}


def _environment(result: RunResult) -> dict:
    return result.agent("testing").details["environment"]


def test_a_build_step_the_change_edits_never_reaches_the_shared_environment(leo_repo, run_testing):
    # The change edits only build_helper.py, a module setup.py imports but no dependency file:
    # the shared environment is built from the base, so the planted module never exists.
    planted = leo_repo(base=BASE, head={"build_helper.py": POISON}).change()
    first = run_testing(planted)
    first.assert_verdict("PASS")
    assert first.agent("testing").details["failed"] == 0  # not merely failing at both ends
    shared = _environment(first)["key"]

    # The twin: a change that edits a dependency file gets an environment of its own, built
    # from its head (its build code runs, as it must), under a key no other change reuses.
    own = leo_repo(
        base=BASE, head={"setup.py": SETUP + "# pinned\n", "build_helper.py": POISON}
    ).change()
    second = run_testing(own)
    assert _environment(second)["key"] != shared
    second.assert_finding("testing.test_failed", path="tests/test_calc.py")
    # a plain module is no start-up code: only the test that looks for it sees it
    assert not [f for f in second.findings if f.rule_id == "testing.runner_tampering"]

    # Another change with the base's dependency files reuses the clean shared one.
    harmless = leo_repo(base=BASE, head={"calc.py": CALC + "\n# note\n"}).change()
    third = run_testing(harmless)
    assert _environment(third) == {**_environment(third), "key": shared, "reused": True}
    third.assert_verdict("PASS")
    assert third.agent("testing").details["failed"] == 0


#: A build step that writes start-up code into the environment: a .pth that breaks ``add`` for
#: every interpreter, the re-runs of failing tests at the base commit included.
PTH = POISON.replace(
    "(site / 'poison.py').write_text('ALL_TESTS_PASS = True\\n')",
    "(site / 'zz.pth').write_text('import calc; calc.add = lambda a, b: a - b\\n')",
)


def test_start_up_code_the_changes_own_build_plants_in_its_environment_is_tampering(
    leo_repo, run_testing
):
    # Round-2 red team: a setup.py that wrote a .pth into the change's own environment made the
    # base's code fail the way the change's bug did, so the failing base test "failed the same
    # way at the base commit", and the change PASSed.
    assert "zz.pth" in PTH
    bug = {
        "setup.py": SETUP + "# pinned\n",
        "build_helper.py": PTH,
        "calc.py": "def add(a, b):\n    return a - b\n",
    }
    result = run_testing(leo_repo(base=BASE, head=bug).change())
    finding = result.assert_finding("testing.runner_tampering")
    assert "zz.pth (start-up code no distribution installed)" in finding.message
    result.assert_verdict("FAIL")
    assert _environment(result)["tampered"] == [finding.message.split(": ")[1].split(";")[0]]


VERSIONED_SETUP = (
    "import pathlib\nfrom setuptools import setup\n\n"
    "pathlib.Path('_version.py').write_text(\"__version__ = '1.0'\\n\")\n"
    "setup(name='calc', version='1.0', py_modules=['calc', '_version'])\n"
)
VERSION_TEST = "from _version import __version__\n\n\ndef test_version():\n    assert __version__\n"


@pytest.mark.parametrize("run", ["built", "reused"])
def test_the_version_file_a_build_writes_is_in_every_runs_worktree(leo_repo, run_testing, run):
    # platformdirs 4.2.1, filelock 3.13.4: hatch-vcs writes version.py into the sources; a
    # run that reused the environment had none, and every test module failed to import.
    base = {"setup.py": VERSIONED_SETUP, "calc.py": CALC, "tests/test_v.py": VERSION_TEST,
            ".gitignore": "_version.py\n"}  # fmt: skip
    change = leo_repo(base=base, head={"calc.py": CALC + "\n# note\n"}).change()
    result = run_testing(change)
    if run == "reused":
        result = run_testing(change)
        assert _environment(result)["reused"] is True
    result.assert_verdict("PASS")


def test_a_generated_file_is_never_written_through_a_folder_the_change_made_a_symlink(tmp_path):
    # The shared environment's version file comes from the base's build; a head that replaced
    # the package folder with a symlink must not carry LEO's write (as its own user) elsewhere.
    from leo_testing.environment import GENERATED, restore_generated

    venv, tree, elsewhere = tmp_path / "venv", tmp_path / "tree", tmp_path / "elsewhere"
    (venv / GENERATED / "pkg").mkdir(parents=True)
    (venv / GENERATED / "pkg" / "version.py").write_text("__version__ = '1.0'\n")
    (venv / GENERATED / "top_version.py").write_text("V = 1\n")
    tree.mkdir()
    elsewhere.mkdir()
    (tree / "pkg").symlink_to(elsewhere, target_is_directory=True)
    assert restore_generated(venv, tree) == ["top_version.py"]
    assert list(elsewhere.iterdir()) == []
