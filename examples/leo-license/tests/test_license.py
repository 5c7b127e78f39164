"""leo-license, tested with LEO's own testing helpers (leo_repo, leo_run)."""

from __future__ import annotations

import json

from leo_license import LicenseAgent

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "components": [
        {
            "type": "library",
            "name": "copyleft-lib",
            "licenses": [{"license": {"id": "GPL-3.0-only"}}],
        },
        {"type": "library", "name": "Nice_Lib", "licenses": [{"expression": "MIT OR Apache-2.0"}]},
    ],
}


def test_dependency_with_a_licence_off_the_allow_list_fails(leo_repo, leo_run):
    repo = leo_repo(
        base={"requirements.txt": "nice-lib==1.0\n", "sbom.cdx.json": json.dumps(SBOM)},
        head={"requirements.txt": "nice-lib==1.0\ncopyleft-lib>=2  # new\n"},
    )
    run = leo_run(repo.change(), [LicenseAgent])
    run.assert_finding("license.not_allowed", path="requirements.txt", line=2)
    run.assert_verdict("FAIL")


def test_allowed_licence_from_the_sbom_and_installed_metadata_passes(leo_repo, leo_run):
    repo = leo_repo(
        base={
            "pyproject.toml": '[project]\nname = "x"\ndependencies = []\n',
            "sbom.cdx.json": json.dumps(SBOM),
        },
        head={
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["nice-lib", "pluggy>=1"]\n'
        },
    )
    run = leo_run(repo.change(), [LicenseAgent])
    run.assert_no_finding("license")
    run.assert_verdict("PASS")


def test_unknown_licence_is_reported_not_assumed(leo_repo, leo_run):
    repo = leo_repo(
        base={"requirements.txt": ""}, head={"requirements.txt": "surely-not-installed-pkg\n"}
    )
    run = leo_run(repo.change(), [LicenseAgent])
    run.assert_finding("license.unknown", line=1)
    run.assert_verdict("CONDITIONAL_PASS")


def test_allow_list_is_configurable(leo_repo, leo_run):
    repo = leo_repo(
        base={"requirements.txt": "", "sbom.cdx.json": json.dumps(SBOM)},
        head={"requirements.txt": "copyleft-lib\n"},
    )
    run = leo_run(
        repo.change(), [LicenseAgent], config={"agents": {"license": {"allow": ["GPL-3.0-only"]}}}
    )
    run.assert_verdict("PASS")


def test_change_without_dependencies_is_skipped(leo_repo, leo_run):
    repo = leo_repo(base={"a.py": "x = 1\n"}, head={"a.py": "x = 2\n"})
    run = leo_run(repo.change(), [LicenseAgent])
    assert run.agent("license").status == "skipped"


def test_sbom_comes_from_the_base_so_the_change_cannot_relabel_a_dependency(leo_repo, leo_run):
    """Issue 17.10: a copyleft dependency plus an SBOM (edited by the change) calling it MIT."""
    relabelled = json.loads(json.dumps(SBOM))
    relabelled["components"][0]["licenses"] = [{"license": {"id": "MIT"}}]
    repo = leo_repo(
        base={"requirements.txt": "nice-lib==1.0\n", "sbom.cdx.json": json.dumps(SBOM)},
        head={
            "requirements.txt": "nice-lib==1.0\ncopyleft-lib>=2\n",
            "sbom.cdx.json": json.dumps(relabelled),
        },
    )
    run = leo_run(repo.change(), [LicenseAgent])
    run.assert_finding("license.not_allowed", path="requirements.txt", line=2)
    run.assert_verdict("FAIL")
    assert run.agent("license").details["sbom"] == "sbom.cdx.json at the base"


def test_an_sbom_the_change_adds_is_a_decision_for_a_lead(leo_repo, leo_run):
    mit = {"components": [{"name": "copyleft-lib", "licenses": [{"license": {"id": "MIT"}}]}]}
    repo = leo_repo(
        base={"requirements.txt": ""},
        head={"requirements.txt": "copyleft-lib\n", "sbom.cdx.json": json.dumps(mit)},
    )
    run = leo_run(repo.change(), [LicenseAgent])
    run.assert_finding("license.unknown", line=1)
    assert "edits the SBOM sbom.cdx.json" in run.agent("license").decisions[0]
    run.assert_verdict("ESCALATE")
