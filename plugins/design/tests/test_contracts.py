"""import-linter contracts: evaluated on the head tree, read from the base, never running its code."""

from __future__ import annotations

from pathlib import Path

from leo_design import DesignAgent

LAYERS = """[tool.importlinter]
root_package = "app"

[[tool.importlinter.contracts]]
name = "web above core"
type = "layers"
layers = ["app.web", "app.core"]
"""

APP = {
    "app/__init__.py": "",
    "app/core.py": "def total(items):\n    return sum(items)\n",
    "app/web.py": "from app import core\n\n\ndef page():\n    return core.total([1])\n",
}


def test_import_crossing_a_configured_layer_is_a_finding_naming_the_chain(leo_repo, leo_run):
    repo = leo_repo(
        base={"pyproject.toml": LAYERS, **APP},
        head={
            "app/core.py": "import os\n\nfrom app import web\n\n\ndef total(items):\n    return sum(items)\n"
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    finding = run.assert_finding("design.contracts.broken", path="app/core.py", line=3)
    assert finding.severity == "high"
    assert finding.on_changed_line
    assert "'web above core'" in finding.message
    assert "app.core -> app.web (l.3)" in finding.message
    run.assert_verdict("FAIL")
    details = run.agent("design").details
    assert details["contracts"] == [{"name": "web above core", "kept": False}]
    assert details["contracts_config"] == "pyproject.toml at base"


def test_kept_contracts_pass(leo_repo, leo_run):
    repo = leo_repo(
        base={"pyproject.toml": LAYERS, **APP},
        head={"app/web.py": APP["app/web.py"] + "\n\ndef other():\n    return 2\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert run.findings == []
    assert run.agent("design").details["contracts"] == [{"name": "web above core", "kept": True}]


def test_indirect_chain_through_a_new_module_is_named_hop_by_hop(leo_repo, leo_run):
    forbidden = """[importlinter]
root_package = app

[importlinter:contract:no-db-in-web]
name = web never reaches the database
type = forbidden
source_modules = app.web
forbidden_modules = app.db
"""
    repo = leo_repo(
        base={".importlinter": forbidden, **APP, "app/db.py": "CONN = None\n"},
        head={"app/web.py": "from app import helpers\n", "app/helpers.py": "import app.db\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    finding = run.assert_finding("design.contracts.broken", path="app/web.py", line=1)
    assert "app.web -> app.helpers (l.1) -> app.db (l.1)" in finding.message


def test_violation_already_at_the_base_is_context_not_blocking(leo_repo, leo_run):
    broken_core = "from app import web\n\n\ndef total(items):\n    return sum(items)\n"
    repo = leo_repo(
        base={"pyproject.toml": LAYERS, **APP, "app/core.py": broken_core},
        head={"app/web.py": APP["app/web.py"] + "\n\ndef other():\n    return 2\n"},
    )
    run = leo_run(repo.change(), [DesignAgent])
    finding = run.assert_finding("design.contracts.broken", path="app/core.py", line=1)
    assert not finding.on_changed_line
    run.assert_no_finding("design.contracts")
    run.assert_verdict("PASS")


def test_contracts_are_read_from_the_base_so_the_change_cannot_drop_them(leo_repo, leo_run):
    repo = leo_repo(
        base={"pyproject.toml": LAYERS, **APP},
        head={
            "pyproject.toml": '[project]\nname = "app"\n',
            "app/core.py": "from app import web\n",
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    run.assert_finding("design.contracts.broken", path="app/core.py", line=1)


def test_no_configuration_means_no_contract_check(leo_repo, leo_run):
    repo = leo_repo(base=APP, head={"app/core.py": "from app import web\n"})
    run = leo_run(repo.change(), [DesignAgent])
    assert "contracts" not in run.agent("design").details
    assert all(t.name != "import-linter" for t in run.agent("design").tools)


def test_the_change_code_is_never_executed(leo_repo, leo_run, tmp_path):
    marker = tmp_path / "executed"
    payload = f"open({str(marker)!r}, 'w').close()\n"
    config = LAYERS.replace(
        "[tool.importlinter]\n", '[tool.importlinter]\ncontract_types = ["evil: app.evil.Evil"]\n'
    )
    config += '\n[[tool.importlinter.contracts]]\nname = "evil one"\ntype = "evil"\n'
    repo = leo_repo(
        base={"pyproject.toml": config, **APP},
        head={
            "app/__init__.py": payload,
            "app/evil.py": payload,
            "app/core.py": "import app.web\n",
        },
    )
    run = leo_run(repo.change(), [DesignAgent])
    assert not marker.exists()
    refused = run.assert_finding("design.contracts.not-evaluated", path="pyproject.toml")
    assert "'evil one'" in refused.message
    run.assert_finding("design.contracts.broken", path="app/core.py", line=1)


def test_unusable_configuration_is_an_error_never_a_pass(leo_repo, leo_run):
    config = LAYERS.replace('root_package = "app"', 'root_package = "missing_package"')
    repo = leo_repo(base={"pyproject.toml": config, **APP}, head={"app/core.py": "X = 1\n"})
    result = leo_run(repo.change(), [DesignAgent]).agent("design")
    assert result.status == "error"
    assert "missing_package" in result.error


def test_the_worker_is_a_script_outside_the_package():
    # Running it as a script (never "-m leo_design...") keeps LEO itself out of its process.
    from leo_design import contracts_worker

    source = Path(contracts_worker.__file__).read_text()
    assert "from leo" not in source and "import leo" not in source


def test_an_import_by_a_literal_name_through_importlib_crosses_the_layer_too(leo_repo, leo_run):
    # Round-3 red team: import-linter reads import statements only, so
    # importlib.import_module("app.web") in app.core broke the layers contract unseen: PASS.
    core = (
        "import importlib\n\n\ndef total(items):\n"
        '    web = importlib.import_module("app." + "web")\n'
        "    return sum(items) if web else 0\n"
    )
    dunder = core.replace('importlib.import_module("app." + "web")', '__import__("app.web")')
    relative = core.replace('"app." + "web"', '".web", "app"')
    for head in (core, dunder, relative):
        repo = leo_repo(base={"pyproject.toml": LAYERS, **APP}, head={"app/core.py": head})
        run = leo_run(repo.change(), [DesignAgent])
        finding = run.assert_finding("design.contracts.broken", path="app/core.py", line=5)
        assert "app.core -> app.web (l.5)" in finding.message
        run.assert_verdict("FAIL")
    # Hostile twin's honest side: a name computed at run time, or a module outside the graph.
    computed = core.replace('"app." + "web"', "name").replace("(items)", "(items, name)")
    outside = core.replace('"app." + "web"', '"json"')
    for head in (computed, outside):
        repo = leo_repo(base={"pyproject.toml": LAYERS, **APP}, head={"app/core.py": head})
        run = leo_run(repo.change(), [DesignAgent])
        run.assert_no_finding("design.contracts.broken")
