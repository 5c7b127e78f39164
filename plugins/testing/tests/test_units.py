"""The Testing sub-agent's parts on their own: reports, coverage mapping, settings, sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from leo_testing import TestingAgent, changed_coverage
from leo_testing.junit import ReportError, parse_junit, read_report
from leo_testing.sandbox import Sandbox, expand
from leo_testing.settings import default_cache_dir

from leo import LeoError

JUNIT = b"""<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_a.TestGroup" name="test_b[1]" file="tests/test_a.py" line="9">
<failure message="assert 1 == 2">def test_b():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_a.py:12: AssertionError</failure></testcase>
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="2"/>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="4"><skipped message="x"/></testcase>
</testsuite></testsuites>"""


def test_junit_cases_give_node_ids_outcomes_and_the_failing_line():
    suite = parse_junit(JUNIT)
    assert suite.counts() == {"tests": 3, "passed": 1, "failed": 1, "errors": 0, "skipped": 1}
    failed = suite.cases[0]
    assert failed.nodeid == "tests/test_a.py::TestGroup::test_b[1]"
    assert failed.message == "assert 1 == 2"
    assert failed.crash_location() == ("tests/test_a.py", 12)
    assert suite.cases[1].nodeid == "tests/test_a.py::test_ok"


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<testsuites>&b;</testsuites>",
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><testsuites/>',
        b"<testsuites><testsuite>",
        b"<html/>",
    ],
    ids=["entity-expansion", "external-dtd", "truncated", "wrong-root"],
)
def test_hostile_or_broken_junit_is_a_report_error(data):
    with pytest.raises(ReportError):
        parse_junit(data)


def test_report_behind_a_symlink_is_refused(tmp_path):
    (tmp_path / "secret").write_text("token")
    (tmp_path / "junit.xml").symlink_to(tmp_path / "secret")
    with pytest.raises(ReportError):
        read_report(tmp_path / "junit.xml")
    assert read_report(tmp_path / "absent.xml") is None


def test_oversized_report_is_refused(tmp_path):
    (tmp_path / "junit.xml").write_bytes(b"x" * 2000)
    with pytest.raises(ReportError, match="over the 1000-byte limit"):
        read_report(tmp_path / "junit.xml", limit=1000)


def test_cobertura_paths_map_into_the_tree_and_outside_paths_are_dropped(tmp_path):
    tree = tmp_path / "tree"
    xml = f"""<coverage><sources><source>{tree}</source></sources><packages><package><classes>
    <class filename="pkg/mod.py"><lines><line number="1" hits="1"/><line number="3" hits="0"/></lines></class>
    <class filename="/etc/passwd"><lines><line number="1" hits="0"/></lines></class>
    <class filename="../escape.py"><lines><line number="1" hits="0"/></lines></class>
    </classes></package></packages></coverage>""".encode()
    assert changed_coverage.parse_report(xml, tree) == {"pkg/mod.py": {1: 1, 3: 0}}


def test_lcov_records_map_into_the_tree(tmp_path):
    lcov = f"TN:\nSF:{tmp_path}/src/a.js\nDA:1,3\nDA:2,0\nend_of_record\nSF:src/b.js\nDA:7,1\nend_of_record\n"
    assert changed_coverage.parse_report(lcov.encode(), tmp_path) == {
        "src/a.js": {1: 3, 2: 0},
        "src/b.js": {7: 1},
    }


def test_unknown_coverage_format_is_a_report_error(tmp_path):
    with pytest.raises(ReportError):
        changed_coverage.parse_report(b"{}", tmp_path)


def test_python_statements_come_from_coverage_pys_parser():
    source = b'"""doc."""\n\n\ndef f():\n    return 1  # pragma: no cover\n\n\nx = [\n    1,\n]\n'
    assert changed_coverage.python_statements(source) == {4, 8}  # docstring, pragma: none
    assert changed_coverage.python_statements(b"def (:\n") is None


def test_ranges_compress_consecutive_lines():
    assert changed_coverage.ranges([9, 3, 4, 5, 11]) == "3-5, 9, 11"


def test_settings_reject_unknown_keys_and_credential_pass_through():
    with pytest.raises(LeoError, match="'comand'"):
        TestingAgent({"comand": ["pytest"]})
    for name in ("GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "DB_PASSWORD", "MY_SECRET"):
        with pytest.raises(LeoError, match="credential"):
            TestingAgent({"pass_env": [name]})
    assert TestingAgent({"pass_env": ["DJANGO_SETTINGS_MODULE"]}).settings.pass_env == (
        "DJANGO_SETTINGS_MODULE",
    )


def test_deselect_belongs_to_the_default_command():
    assert TestingAgent({"deselect": ["tests/test_db.py"]}).settings.deselect == (
        "tests/test_db.py",
    )
    with pytest.raises(LeoError, match="put --deselect in that command"):
        TestingAgent({"command": ["make", "test"], "deselect": ["tests/test_db.py"]})
    with pytest.raises(LeoError, match="deselect"):
        TestingAgent({"deselect": [""]})


def test_custom_command_has_no_guessed_rerun_or_coverage_report():
    settings = TestingAgent({"command": ["make", "test"]}).settings
    assert settings.rerun_command is None and settings.coverage_report is None


def test_cache_dir_defaults_follow_leo_cache_dir_then_xdg(tmp_path):
    assert default_cache_dir({"LEO_CACHE_DIR": "/c"}) == Path("/c/venvs")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/leo/venvs")
    assert default_cache_dir({}) == Path.home() / ".cache" / "leo" / "venvs"


def test_sandbox_environment_is_an_allow_list(tmp_path):
    parent = {
        "PATH": "/opt/evil/bin:/usr/bin",
        "LANG": "C.UTF-8",
        "GITHUB_TOKEN": "t",
        "AWS_SECRET_ACCESS_KEY": "k",
        "PYTHONPATH": "/somewhere",
        "PIP_INDEX_URL": "https://user:token@index.example/simple",
        "PIP_FIND_LINKS": "/opt/wheels",
        "HOME": "/root",
    }
    sandbox = Sandbox.create(TestingAgent({"env": {"APP_MODE": "test"}}).settings, tmp_path)
    test_env = sandbox.environ("test", venv=tmp_path / "venv", source=parent)
    assert "GITHUB_TOKEN" not in test_env and "AWS_SECRET_ACCESS_KEY" not in test_env
    assert "PIP_FIND_LINKS" not in test_env and "PYTHONPATH" not in test_env
    assert test_env["HOME"] == str(tmp_path / "home")
    assert test_env["PATH"].startswith(f"{tmp_path / 'venv' / 'bin'}:")
    assert "/opt/evil" not in test_env["PATH"]
    assert (test_env["LANG"], test_env["APP_MODE"]) == ("C.UTF-8", "test")
    setup_env = sandbox.environ("setup", source=parent)
    assert setup_env["PIP_FIND_LINKS"] == "/opt/wheels"
    assert "PIP_INDEX_URL" not in setup_env  # credentials in the URL: withheld


def test_pip_inside_the_tests_resolves_from_the_wheelhouse_alone(tmp_path):
    sandbox = Sandbox.create(TestingAgent({}).settings, tmp_path)
    house = tmp_path / "venv" / "leo-build-wheelhouse"
    test_env = sandbox.environ("test", venv=tmp_path / "venv", wheelhouse=house, source={})
    assert (test_env["PIP_FIND_LINKS"], test_env["PIP_NO_INDEX"]) == (str(house), "1")
    assert "PIP_NO_INDEX" not in sandbox.environ("setup", source={})  # the setup reaches the index
    online = Sandbox.create(TestingAgent({"network": "allow"}).settings, tmp_path)
    assert "PIP_NO_INDEX" not in online.environ("test", source={})


def test_placeholders_are_replaced_literally():
    argv = expand(
        ["{python}", "--x={junit}", "{tests}", "{unknown}"],
        {"python": "/p", "junit": "/j"},
        ["a::b"],
    )
    assert argv == ["/p", "--x=/j", "a::b", "{unknown}"]


def test_test_arguments_for_a_command_without_a_place_for_them_are_an_error():
    # Dropped silently, the base collection check's --collect-only ran the whole base suite.
    with pytest.raises(ValueError, match=r"no \{tests\} argument"):
        expand(["{python}", "-m", "pytest"], {"python": "/p"}, ["--collect-only"])


def test_default_setup_leaves_out_docs_and_full_dev_locks_when_tests_have_their_own(tmp_path):
    # click 8.1.8: requirements/dev.txt pulls docs.txt, which pins click 8.1.7 itself.
    from leo_testing.requirements import requirement_files

    (tmp_path / "requirements").mkdir()
    for name in ("build", "dev", "docs", "tests", "typing"):
        (tmp_path / "requirements" / f"{name}.txt").write_text("click==8.1.7\n")
    (tmp_path / "requirements.txt").write_text("attrs\n")
    assert requirement_files(tmp_path) == [
        tmp_path / "requirements.txt",
        tmp_path / "requirements" / "tests.txt",
    ]


def test_default_setup_installs_the_project_with_its_test_extra_and_requirements(tmp_path):
    from leo_testing.environment import default_setup, write_requirements

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[project.optional-dependencies]\ntests = ["hypothesis"]\n'
    )
    (tmp_path / "requirements-dev.txt").write_text("attrs\ndemo==0.1\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    settings = TestingAgent({"runner_requirements": ["pytest"]}).settings
    requirements, reqs = write_requirements(tmp_path, settings, scratch)
    assert requirements is not None and requirements.read_text() == "attrs\n"
    assert reqs.notes == [
        "requirements-dev.txt: 'demo==0.1' skipped: the project itself (the tests use the head's code)"
    ]
    wheel = tmp_path / "demo-0.1-py3-none-any.whl"
    [step] = default_setup(tmp_path, settings, [wheel], requirements)
    assert step[:4] == ["{python}", "-m", "pip", "install"]
    assert step[4:] == [f"{wheel}[tests]", "-r", str(requirements), "pytest"]


def _wheel(path, metadata):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("calc.py", "")
        if metadata is not None:
            archive.writestr("calc-1.0.dist-info/METADATA", metadata)
    return path


@pytest.mark.parametrize(
    ("extras", "chosen"),
    [
        (["Tests", "dev"], "[tests]"),  # normalised as pip compares them (PEP 685)
        (["dev", "docs"], "[dev]"),  # no test extra: the dev one, as dependency groups
        (["docs"], ""),
    ],
)
def test_a_built_wheels_extras_choose_what_is_installed_with_it(tmp_path, extras, chosen):
    from leo_testing.environment import install_targets

    head = "Metadata-Version: 2.1\nName: calc\nVersion: 1.0\n"
    meta = head + "".join(f"Provides-Extra: {e}\n" for e in extras)
    wheel = _wheel(tmp_path / "calc-1.0-py3-none-any.whl", meta)
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    settings = TestingAgent({}).settings
    assert install_targets(tmp_path, settings, [wheel]) == [f"{wheel}{chosen}"]


def test_a_wheel_without_readable_metadata_declares_no_extras(tmp_path):
    from leo_testing.environment import wheel_extras

    assert wheel_extras([_wheel(tmp_path / "a.whl", None)]) == set()
    (tmp_path / "b.whl").write_bytes(b"not a zip")
    assert wheel_extras([tmp_path / "b.whl"]) == set()


def test_tampered_environment_is_not_reused_and_is_unpublished(tmp_path):
    import json
    from functools import partial

    import anyio
    from leo_testing.environment import (
        MANIFEST,
        Environment,
        _is_valid,
        discard_if_modified,
        fingerprint,
    )

    env = tmp_path / "key"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("#!")
    site = env / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "mod.py").write_text("X = 1\n")
    (env / MANIFEST).write_text(json.dumps({"key": "key", "fingerprint": fingerprint(env)}))
    assert anyio.run(partial(_is_valid, env, "key", verify=True))
    assert not anyio.run(partial(_is_valid, env, "other-key", verify=True))
    settings = TestingAgent({}).settings
    handle = Environment(path=env, key="key", reused=True, setup_s=0)
    assert not anyio.run(discard_if_modified, handle, settings)
    (site / "evil.pth").write_text("import os\n")
    assert not anyio.run(partial(_is_valid, env, "key", verify=True))
    assert anyio.run(discard_if_modified, handle, settings)
    assert not (env / MANIFEST).exists()


def test_environment_key_follows_the_dependency_files(tmp_path):
    from leo_testing.environment import environment_key

    settings = TestingAgent({}).settings
    empty = environment_key(tmp_path, settings)
    (tmp_path / "README.md").write_text("not a dependency file")
    assert environment_key(tmp_path, settings) == empty
    (tmp_path / "requirements.txt").write_text("attrs\n")
    with_reqs = environment_key(tmp_path, settings)
    assert with_reqs != empty
    (tmp_path / "requirements.txt").write_text("attrs==23.1\n")
    assert environment_key(tmp_path, settings) not in (empty, with_reqs)
    assert environment_key(tmp_path, TestingAgent({"setup": "none"}).settings) != environment_key(
        tmp_path, settings
    )


def _measured(*files):
    return changed_coverage.ChangedCoverage(
        files=[changed_coverage.FileCoverage(p, ex, un, reported=True) for p, ex, un in files]
    )


@pytest.mark.parametrize(
    ("files", "severities", "summary"),
    [
        # six 1.16.0 -> 1.17.0: 3 of 4 changed lines covered is not a failing percentage.
        ([("six.py", [1, 2, 3, 4], [4])], ["low"], ""),
        # A new function whose body no test runs (only its def line ran at import).
        ([("calc.py", [5, 6, 7], [6, 7])], ["medium"], ", 2 uncovered lines"),
        # A one-line change no test runs.
        ([("calc.py", [9], [9])], ["medium"], ", 1 uncovered lines"),
        # Small and fully covered.
        ([("calc.py", [1, 2], [])], [], ""),
        # 20 lines or more: the percentage decides (16/20 = 80% meets the threshold).
        ([("big.py", list(range(1, 21)), [1, 2, 3, 4])], [], ""),
        ([("big.py", list(range(1, 21)), [1, 2, 3, 4, 5])], ["medium"], ", below 80%"),
    ],
)
def test_changed_line_coverage_judges_small_changes_by_count(files, severities, summary):
    findings, text = changed_coverage.judge(_measured(*files), 80.0, "medium")
    assert [f.severity for f in findings] == severities
    assert text == summary


def test_the_environment_cache_keeps_the_recently_used_and_never_one_in_use(tmp_path):
    """A build prunes the cache: beyond ``max_environments`` the least recently used go, those
    built for one change (``private``) first, and any no run can use (no manifest, an old
    format); one another run holds (its lock) is never touched."""
    import fcntl
    import json
    import os

    from leo_testing.environment import _FORMAT, MANIFEST, prune

    def env(n: int, used: float, *, private=False, fmt=_FORMAT, manifest=True) -> str:
        key = f"{n:032x}"
        (tmp_path / key / "bin").mkdir(parents=True)
        if manifest:
            data = {"key": key, "format": fmt, "private": private}
            (tmp_path / key / MANIFEST).write_text(json.dumps(data))
        lock = tmp_path / f"{key}.lock"
        lock.touch()
        os.utime(lock, (used, used))
        return key

    mine = env(1, 100)  # this run's, just built: stays whatever its age
    recent, older, oldest = env(2, 90), env(3, 80), env(4, 10)
    private = env(5, 95, private=True)  # the newest, but it serves one change only
    stale, broken = env(6, 99, fmt=_FORMAT - 1), env(7, 99, manifest=False)
    held = env(8, 1)  # the oldest, but another run is using it
    (tmp_path / "not-an-environment").mkdir()
    fd = os.open(tmp_path / f"{held}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        deleted = prune(tmp_path, 3, mine)
    finally:
        os.close(fd)
    assert sorted(deleted) == sorted([oldest, private, stale, broken])
    kept = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert kept == {mine, recent, older, held, "not-an-environment"}
    assert (tmp_path / f"{oldest}.lock").exists()  # a waiting run finds no environment and builds


def test_a_dist_info_no_pip_install_reported_is_planted(tmp_path):
    # Round-5 red team: a local dependency's build wrote a .pth and a made-up fixup-1.0.dist-info
    # claiming it beside the fixup-0.0.0 pip installed. Names and versions are compared as pip
    # writes them (Foo_Bar 1.0.0-beta is foo-bar 1.0.0b0).
    from leo_testing.environment import _release, unreported

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for name in ("Foo_Bar-1.0.0b0", "fixup-0.0.0", "pip-24.0"):
        (site / f"{name}.dist-info").mkdir(parents=True)
    installed = {_release("foo-bar", "1.0.0-beta"), _release("fixup", "0.0.0"), ("pip", "24.0")}
    assert unreported(tmp_path, installed) == []
    (site / "fixup-1.0.dist-info").mkdir()
    assert unreported(tmp_path, installed) == [
        "fixup-1.0.dist-info (no pip install reported it: a build wrote it)"
    ]
