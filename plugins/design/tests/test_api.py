"""Public API compatibility with griffe: breaks are high unless the change declares them."""

from __future__ import annotations

from leo_design import DesignAgent

CORE = '''"""Core of the app."""


def legacy_helper(value):
    return value * 2


def compute_total(items, tax=0.0):
    return sum(items) * (1 + tax)


def _private_helper():
    return 1
'''

BROKEN = '''"""Core of the app."""


def compute_total(items, tax):
    return sum(items) * (1 + tax)
'''


def _api(run):
    return sorted(
        (f.rule_id, f.severity, f.message)
        for f in run.findings
        if f.rule_id.startswith("design.api")
    )


def test_removed_function_and_required_parameter_are_two_named_breaks(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE},
        head={"app/core.py": BROKEN},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == [
        (
            "design.api.object-removed",
            "high",
            "public function app.core.legacy_helper was removed or renamed",
        ),
        (
            "design.api.parameter-required",
            "high",
            "parameter 'tax' of app.core.compute_total is now required",
        ),
    ]
    removed = run.assert_finding("design.api.object-removed", path="app/core.py", line=4)
    assert removed.on_changed_line
    run.assert_finding("design.api.parameter-required", path="app/core.py", line=4)
    run.assert_verdict("FAIL")
    assert run.agent("design").details["api_packages"] == ["app"]


def test_compatible_changes_are_not_breaks(leo_repo, leo_run):
    compatible = CORE.replace("tax=0.0)", "tax=0.0, currency='USD')").replace(
        "def _private_helper():\n    return 1\n", ""
    )
    compatible += "\n\ndef new_helper():\n    return 3\n"
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": compatible}
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    run.assert_verdict("PASS")


def test_changed_default_and_removed_parameter_are_breaks(leo_repo, leo_run):
    changed = CORE.replace("tax=0.0", "tax=0.2").replace("legacy_helper(value)", "legacy_helper()")
    changed = changed.replace("return value * 2", "return 2")
    repo = leo_repo(
        base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": changed}
    )
    rules = [rule for rule, _, _ in _api(leo_run(repo.change(), [DesignAgent]))]
    assert rules == ["design.api.parameter-default", "design.api.parameter-removed"]


def test_src_layout_and_removed_module_are_checked(leo_repo, leo_run):
    repo = leo_repo(
        base={"src/lib/__init__.py": "", "src/lib/old.py": "def f():\n    return 1\n"},
        head={"src/lib/old.py": None, "src/lib/new.py": "def f():\n    return 1\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    finding = run.assert_finding("design.api.object-removed")
    assert "lib.old" in finding.message
    assert run.agent("design").details["api_packages"] == ["src/lib"]


def test_major_version_bump_declares_the_breaks(leo_repo, leo_run):
    project = '[project]\nname = "app"\nversion = "{}"\n'
    repo = leo_repo(
        base={
            "pyproject.toml": project.format("1.4.2"),
            "app/__init__.py": "",
            "app/core.py": CORE,
        },
        head={"pyproject.toml": project.format("2.0.0"), "app/core.py": BROKEN},
    )
    run = leo_run(repo.change(), [DesignAgent])
    api = _api(run)
    assert len(api) == 2
    assert all(severity == "info" for _, severity, _ in api)
    assert all("version 1.4.2 -> 2.0.0 in pyproject.toml" in message for _, _, message in api)
    run.assert_verdict("PASS")


def test_minor_bump_does_not_declare_breaks_after_1_0(leo_repo, leo_run):
    project = '[project]\nname = "app"\nversion = "{}"\n'
    repo = leo_repo(
        base={
            "pyproject.toml": project.format("1.4.2"),
            "app/__init__.py": "",
            "app/core.py": CORE,
        },
        head={"pyproject.toml": project.format("1.5.0"), "app/core.py": BROKEN},
    )
    assert {s for _, s, _ in _api(leo_run(repo.change(), [DesignAgent]))} == {"high"}


def test_changelog_entry_naming_the_object_declares_only_that_break(
    leo_repo, leo_run, design_config
):
    repo = leo_repo(
        base={"CHANGELOG.md": "# Changes\n", "app/__init__.py": "", "app/core.py": CORE},
        head={
            "CHANGELOG.md": "# Changes\n\n- Removed `legacy_helper`; use `compute_total`.\n",
            "app/core.py": BROKEN.replace("tax)", "tax, rounding)"),
        },
    )
    run = leo_run(repo.change(), [DesignAgent], config=design_config(changelog="CHANGELOG.md"))
    severities = {rule: severity for rule, severity, _ in _api(run)}
    assert severities == {
        "design.api.object-removed": "info",
        "design.api.parameter-required": "high",
        "design.api.parameter-added-required": "high",
    }


def test_tests_packages_have_no_public_api(leo_repo, leo_run):
    repo = leo_repo(
        base={"tests/__init__.py": "", "tests/test_core.py": "def test_a():\n    pass\n"},
        head={"tests/test_core.py": "def test_b():\n    pass\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert _api(run) == []
    assert "api_packages" not in run.agent("design").details


def test_minor_bump_before_1_0_declares_the_breaks(leo_repo, leo_run):
    repo = leo_repo(
        base={"app/__init__.py": '__version__ = "0.3.1"\n', "app/core.py": CORE},
        head={"app/__init__.py": '__version__ = "0.4.0"\n', "app/core.py": BROKEN},
    )
    api = _api(leo_run(repo.change(), [DesignAgent]))
    assert [severity for _, severity, _ in api] == ["info", "info"]
    assert "version 0.3.1 -> 0.4.0 in app/__init__.py" in api[0][2]


def test_api_packages_setting_limits_the_check(leo_repo, leo_run, design_config):
    repo = leo_repo(
        base={"a/__init__.py": "def f():\n    pass\n", "b/__init__.py": "def g():\n    pass\n"},
        head={"a/__init__.py": "X = 1\n", "b/__init__.py": "Y = 1\n"},
    )
    run = leo_run(repo.change(), [DesignAgent], config=design_config(api_packages=["b"]))
    assert [message for _, _, message in _api(run)] == [
        "public function b.g was removed or renamed"
    ]


def test_api_packages_outside_the_repository_are_refused(leo_repo, leo_run, design_config):
    repo = leo_repo(head={"x.py": "X = 1\n"})
    config = design_config(api_packages=["../elsewhere"])
    result = leo_run(repo.change(), [DesignAgent], config=config).agent("design")
    assert result.status == "error"
    assert "api_packages" in result.error


def test_throw_away_worktrees_are_removed(leo_repo, leo_run):
    from leo.testing import git

    repo = leo_repo(base={"app/__init__.py": "", "app/core.py": CORE}, head={"app/core.py": BROKEN})
    leo_run(repo.change(), [DesignAgent])
    assert git(repo.path, "worktree", "list").count("\n") == 1
