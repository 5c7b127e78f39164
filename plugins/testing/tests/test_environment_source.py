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
    # from its head (its build code runs, as it must), under a key no other change reuses; its
    # build runs with the environment read-only, so the module is not planted there either.
    careful = (
        POISON.replace("if site.is_dir():\n    (", "try:\n    (") + "except OSError:\n    pass\n"
    )
    own = leo_repo(
        base=BASE, head={"setup.py": SETUP + "# pinned\n", "build_helper.py": careful}
    ).change()
    second = run_testing(own)
    assert _environment(second)["key"] != shared
    assert second.agent("testing").details["failed"] == 0
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
    # way at the base commit", and the change PASSed. The project's wheel is now built while
    # the environment is read-only: the build that insists on writing it fails, and says so.
    assert "zz.pth" in PTH
    bug = {
        "setup.py": SETUP + "# pinned\n",
        "build_helper.py": PTH,
        "calc.py": "def add(a, b):\n    return a - b\n",
    }
    result = run_testing(leo_repo(base=BASE, head=bug).change())
    result.assert_verdict("FAIL")
    agent = result.agent("testing")
    assert agent.status == "error"
    assert "building the project's wheel, with the test environment read-only" in agent.summary


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


#: A setup.py that plants a .pth fixing ``add`` up at every interpreter start, with a whole
#: ``.dist-info`` whose RECORD claims it, so that the RECORD check counts it as a dependency's.
CLAIMED = (
    "import pathlib, sys\nfrom setuptools import setup\n\n"
    "site = pathlib.Path(sys.prefix, 'lib', f'python{sys.version_info[0]}.{sys.version_info[1]}',"
    " 'site-packages')\n"
    "try:\n"
    "    (site / 'zz_fix.pth').write_text('import calc; calc.add = lambda a, b: a + b\\n')\n"
    "    info = site / 'fixup-1.0.dist-info'\n"
    "    info.mkdir(exist_ok=True)\n"
    "    (info / 'METADATA').write_text('Metadata-Version: 2.1\\nName: fixup\\nVersion: 1.0\\n')\n"
    "    (info / 'RECORD').write_text('zz_fix.pth,,\\nfixup-1.0.dist-info/METADATA,,\\n')\n"
    "except OSError:\n"
    "    pass\n\n"
    "setup(name='calc', version='1.0', py_modules=['calc'])\n"
)
BROKEN = "def add(a, b):\n    return a - b\n"


def test_a_build_never_writes_the_environment_whatever_record_it_forges(leo_repo, run_testing):
    # The build ran with the environment writable: PASS, the broken add() fixed up by the .pth
    # in the head's run and the base pass alike. Now the project's wheel is built while the
    # environment is read-only, and only pip installs it.
    result = run_testing(
        leo_repo(base=BASE, head={"setup.py": CLAIMED, "calc.py": BROKEN}).change()
    )
    result.assert_finding("testing.test_failed", path="tests/test_calc.py")
    result.assert_verdict("FAIL")
    assert "tampered" not in _environment(result), _environment(result)["tampered"]


#: A setup.py whose wheel ships the .pth: pip installs it, under the project's own RECORD.
SHIPPED = (
    "import pathlib\nfrom setuptools import setup\nfrom setuptools.command.build_py import build_py"
    "\n\n\nclass Build(build_py):\n    def run(self):\n        super().run()\n"
    "        pathlib.Path(self.build_lib, 'zz_fix.pth').write_text(\n"
    "            'import calc; calc.add = lambda a, b: a + b\\n')\n\n\n"
    "setup(name='calc', version='1.0', py_modules=['calc'], cmdclass={'build_py': Build})\n"
)


def test_start_up_code_the_projects_own_wheel_ships_is_tampering(leo_repo, run_testing):
    result = run_testing(
        leo_repo(base=BASE, head={"setup.py": SHIPPED, "calc.py": BROKEN}).change()
    )
    finding = result.assert_finding("testing.runner_tampering")
    assert "zz_fix.pth (start-up code the change's own calc-1.0.dist-info installed)" in (
        finding.message
    )
    result.assert_verdict("FAIL")


#: hatchling, a src layout, a test extra and a requirements file: what the project's wheel
#: installs is a package, its extra's and the file's dependencies are pip's to install.
HATCH = (
    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
    '[project]\nname = "leo-shop-demo"\nversion = "2.0.0"\n'
    '[project.optional-dependencies]\ntests = ["iniconfig"]\n\n'
    '[tool.hatch.build.targets.wheel]\npackages = ["src/shop"]\n'
)
SHOP_TESTS = (
    "from importlib.metadata import version\n\nimport iniconfig  # noqa: F401\n"
    "import six  # noqa: F401\n\nfrom shop import add\n\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_version():\n    assert version('leo-shop-demo') == '2.0.0'\n"
)


def test_a_hatchling_project_with_extras_and_requirements_builds_its_own_environment(
    leo_repo, run_testing
):
    base = {
        "pyproject.toml": HATCH,
        "src/shop/__init__.py": CALC,
        "requirements-test.txt": "six\n",
        "tests/test_shop.py": SHOP_TESTS,
    }
    head = {"pyproject.toml": HATCH + "# reviewed\n", "src/shop/__init__.py": CALC + "\n# note\n"}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_no_finding("testing.runner_tampering")
    result.assert_verdict("PASS")
    assert result.agent("testing").details["passed"] == 2


@pytest.mark.parametrize("extra", ["test", "dev"])
def test_a_setup_py_projects_test_extra_is_installed(leo_repo, run_testing, extra):
    """A setup.py's ``extras_require`` is known only once the wheel is built: tenacity 8.3.0's
    ``test`` extra was never installed, nor loguru 0.7.2's ``dev``, its only one, which alone
    names freezegun (its conftest imports it: both ends stopped, FAIL)."""
    setup = (
        "from setuptools import setup\n\n"
        "setup(name='calc', version='1.0', py_modules=['calc'],\n"
        f"      extras_require={{'{extra}': ['six'], 'docs': ['no-such-leo-package']}})\n"
    )
    tests = "import six  # noqa: F401\n\nfrom calc import add\n\n\n" + (
        "def test_add():\n    assert add(1, 2) == 3\n"
    )
    base = {"setup.py": setup, "calc.py": CALC, "tests/test_calc.py": tests}
    head = {"calc.py": CALC + "\n# note\n"}
    result = run_testing(leo_repo(base=base, head=head).change())
    result.assert_verdict("PASS")
    assert result.agent("testing").details["passed"] == 1


def test_a_test_extra_pip_cannot_install_leaves_the_project_installed_without_it(
    leo_repo, run_testing
):
    setup = (
        "from setuptools import setup\n\n"
        "setup(name='calc', version='1.0', py_modules=['calc'],\n"
        "      extras_require={'test': ['no-such-leo-package-exists']})\n"
    )
    tests = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    base = {"setup.py": setup, "calc.py": CALC, "tests/test_calc.py": tests}
    result = run_testing(leo_repo(base=base, head={"calc.py": CALC + "\n# note\n"}).change())
    result.assert_verdict("PASS")
    notes = _environment(result)["notes"]
    assert any("with its extras" in n and "calc-1.0" in n for n in notes), notes


#: The project requires a helper from a folder the change commits; pip builds it while the
#: environment is writable (only the project's own wheel is built read-only).
LOCAL_DEPENDENCY = (
    "from setuptools import setup\n\n"
    "setup(name='calc', version='1.0', py_modules=['calc'],\n"
    "      install_requires=['fixup @ file:///proc/self/cwd/vendor/fixup'])\n"
)


def test_a_dist_info_a_dependency_the_change_commits_makes_up_is_tampering(leo_repo, run_testing):
    # Round-5 red team: a dependency required from a local path, built with the environment
    # writable, wrote a .pth with a made-up .dist-info claiming it, beside the fixup-0.0.0 pip
    # installed, that fixed the broken add() in every run: PASS.
    helper = CLAIMED.replace("name='calc', version='1.0', py_modules=['calc']", "name='fixup'")
    head = {"setup.py": LOCAL_DEPENDENCY, "vendor/fixup/setup.py": helper, "calc.py": BROKEN}
    result = run_testing(leo_repo(base=BASE, head=head).change())
    finding = result.assert_finding("testing.runner_tampering")
    assert "fixup-1.0.dist-info (no pip install reported it: a build wrote it)" in finding.message
    result.assert_verdict("FAIL")
