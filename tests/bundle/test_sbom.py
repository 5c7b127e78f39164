"""CycloneDX fixtures validate as labelled; LEO's own SBOMs are 1.5 and reproducible."""

from __future__ import annotations

import json

import pytest

from leo.bundle import sbom
from leo.bundle.reasons import BundleError

SNAPSHOTS = "cyclonedx-python-lib/tests/_data/snapshots"


@pytest.mark.parametrize(
    "name",
    [
        "get_bom_for_issue540_duplicate_components-1.5.json.bin",
        "get_bom_just_complete_metadata-1.5.json.bin",
        "get_bom_with_component_setuptools_complete-1.5.json.bin",
        "get_bom_with_component_setuptools_with_vulnerability-1.5.json.bin",
        "get_bom_with_dependencies_hanging-1.5.json.bin",
        "get_bom_with_dependencies_valid-1.5.json.bin",
        "get_bom_with_external_references-1.5.json.bin",
        "get_bom_with_metadata_component_and_dependencies-1.5.json.bin",
    ],
)
def test_tool_generated_1_5_snapshots_are_valid(shared_data, name):
    doc = sbom.validate((shared_data / SNAPSHOTS / name).read_bytes())
    assert doc["specVersion"] == "1.5"


@pytest.mark.parametrize(
    "name", ["component_evidence_identity.json", "issue677.json", "issue753.json"]
)
def test_own_1_5_documents_are_valid(shared_data, name):
    sbom.validate(
        (shared_data / "cyclonedx-python-lib/tests/_data/own/json/1.5" / name).read_bytes()
    )


@pytest.mark.parametrize(
    "path",
    ["SBOM/juice-shop/via_npm/flat/bom.1.4.json", "SBOM/laravel-7.12.0/bom.1.4.json"],
)
def test_real_world_1_4_sboms_pass_their_schema_but_not_a_1_5_policy(shared_data, path):
    data = (shared_data / "cyclonedx-bom-examples" / path).read_bytes()
    assert sbom.validate(data)["specVersion"] == "1.4"
    with pytest.raises(BundleError) as exc:
        sbom.validate(data, require_version={"1.5"})
    assert exc.value.code == "sbom.spec_version"


def _as_version(shared_data, version: str) -> dict:
    doc = json.loads(
        (shared_data / SNAPSHOTS / "get_bom_with_dependencies_valid-1.5.json.bin").read_bytes()
    )
    doc["specVersion"] = version
    doc["$schema"] = f"http://cyclonedx.org/schema/bom-{version}.schema.json"
    return doc


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_newer_documents_validate_against_their_own_schema(shared_data, version):
    assert (
        sbom.validate(json.dumps(_as_version(shared_data, version)).encode())["specVersion"]
        == version
    )


def test_a_field_new_in_1_6_fails_a_1_5_document_and_passes_a_1_6_one(shared_data):
    # ``manufacturer`` on the metadata arrived in CycloneDX 1.6: the schema really is per version.
    for version, ok in (("1.5", False), ("1.6", True)):
        doc = _as_version(shared_data, version)
        doc["metadata"]["manufacturer"] = {"name": "ACME"}
        if ok:
            sbom.validate(json.dumps(doc).encode())
            continue
        with pytest.raises(BundleError) as exc:
            sbom.validate(json.dumps(doc).encode())
        assert exc.value.code == "sbom.invalid" and "1.5 schema" in exc.value.detail


def test_an_unknown_spec_version_is_refused(shared_data):
    with pytest.raises(BundleError) as exc:
        sbom.validate(json.dumps(_as_version(shared_data, "2.0")).encode())
    assert exc.value.code == "sbom.spec_version"


def test_schema_violation_is_sbom_invalid(shared_data):
    doc = json.loads(
        (shared_data / SNAPSHOTS / "get_bom_with_dependencies_valid-1.5.json.bin").read_bytes()
    )
    doc["components"][0]["type"] = "not-a-type"
    with pytest.raises(BundleError) as exc:
        sbom.validate(json.dumps(doc).encode())
    assert exc.value.code == "sbom.invalid"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (
            b'{"bomFormat": "CycloneDX", "bomFormat": "SPDX", "specVersion": "1.5"}',
            "sbom.malformed",
        ),
        (b"<bom/>", "sbom.malformed"),
        (b'{"spdxVersion": "SPDX-2.3"}', "sbom.malformed"),
    ],
)
def test_malformed_sboms_fail(data, code):
    with pytest.raises(BundleError) as exc:
        sbom.validate(data)
    assert exc.value.code == code


def test_built_sbom_is_valid_1_6_and_reproducible():
    files = {
        "pyproject.toml": b'[project]\nname = "x"\ndependencies = ["click==8.1.7", "rich>=13"]\n',
        "requirements.txt": b"requests==2.32.3  # pinned\n-r other.txt\n",
        "package.json": b'{"dependencies": {"left-pad": "1.3.0", "lodash": "^4"}}',
    }
    first = sbom.build(files, project="x", head="a" * 40, committed_at=1_700_000_000)
    assert first == sbom.build(files, project="x", head="a" * 40, committed_at=1_700_000_000)
    doc = sbom.validate(first, require_version={"1.6"})
    purls = sorted(c["purl"] for c in doc["components"])
    assert purls == [
        "pkg:npm/left-pad@1.3.0",
        "pkg:npm/lodash",
        "pkg:pypi/click@8.1.7",
        "pkg:pypi/requests@2.32.3",
        "pkg:pypi/rich",
    ]


def test_sbom_validate_cli(shared_data, leo_cli):
    ok = leo_cli(
        "sbom",
        "validate",
        str(shared_data / SNAPSHOTS / "get_bom_with_dependencies_valid-1.5.json.bin"),
    )
    assert ok.returncode == 0, ok.stderr
    old = str(shared_data / "cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.json")
    assert leo_cli("sbom", "validate", old).returncode == 0
    strict = leo_cli("sbom", "validate", old, "--spec-version", "1.5")
    assert strict.returncode == 1 and "sbom.spec_version" in strict.stderr


def test_validation_does_not_load_rfc3987_syntax_and_still_checks_iris(shared_data):
    # rfc3987-syntax builds Lark grammars at import (seconds of CPU); LEO's own linear-time
    # check covers the iri formats instead, so an external reference with a space still fails.
    # The other held-back format libraries are not loaded either.
    import subprocess
    import sys

    doc = json.loads(
        (shared_data / SNAPSHOTS / "get_bom_with_external_references-1.5.json.bin").read_bytes()
    )
    doc["externalReferences"] = [{"type": "website", "url": "https://exa mple.org"}]
    script = (
        "import json, sys\n"
        "from leo.bundle import sbom\n"
        "from leo.bundle.reasons import BundleError\n"
        "try:\n"
        "    sbom.validate(sys.stdin.buffer.read())\n"
        "except BundleError as exc:\n"
        "    print(exc.code)\n"
        "print(any(name in sys.modules for name in sbom.HELD_BACK))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(doc).encode(), capture_output=True
    )
    assert done.stdout.decode().split() == ["sbom.invalid", "False"], done.stderr


def test_every_format_the_cyclonedx_schemas_use_is_still_checked():
    """jsonschema checks no format whose library ``sbom.HELD_BACK`` holds back; that is only
    harmless while no CycloneDX schema (nor one it refers to) uses such a format."""
    from importlib.resources import files

    used: set[str] = set()

    def formats(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                used.add(node["format"])
            for value in node.values():
                formats(value)
        elif isinstance(node, list):
            for value in node:
                formats(value)

    shipped = files("cyclonedx").joinpath("schema", "_res")
    referred = ("spdx", "jsf-0.82", "cryptography-defs")  # as sbom._build_validator registers
    for version in sbom.SUPPORTED_VERSIONS:
        if not shipped.joinpath(f"bom-{version}.SNAPSHOT.schema.json").is_file():
            continue
        used = set()
        for name in (f"bom-{version}", *referred):
            formats(json.loads(shipped.joinpath(f"{name}.SNAPSHOT.schema.json").read_text("utf-8")))
        assert {"date-time", "iri-reference", "idn-email", "uri"} <= used, version
        checked = set(sbom._schema_validator(version).format_checker.checkers)
        assert used <= checked, (version, used - checked)


def test_a_forked_validation_answers_exactly_as_validate():
    """``leo bundle verify`` validates the SBOM in a child forked before the bundle is read
    (issue 20.7); its answer is ``validate``'s, also when the child is gone before it is asked
    (then the SBOM is validated in the process), and no child is left behind. In a fresh
    interpreter: the child must be forked before any thread starts, as the command does."""
    import subprocess
    import sys

    good = sbom.build(
        {"pyproject.toml": b'[project]\nname = "x"\ndependencies = ["click==8.1.7"]\n'},
        project="x",
        head="a" * 40,
        committed_at=1_700_000_000,
    )
    bad_type = json.loads(good)
    bad_type["components"][0]["type"] = "not-a-type"
    old = {**json.loads(good), "specVersion": "1.4"}
    cases = [good, json.dumps(bad_type).encode(), json.dumps(old).encode(), b"<bom/>", b"{"]
    script = (
        "import json, os, signal, sys\n"
        "from leo.bundle import sbom\n"
        "from leo.bundle.reasons import BundleError\n"
        "def outcome(check, data):\n"
        "    try:\n"
        "        return ['ok', len(check(data).get('components') or [])]\n"
        "    except BundleError as exc:\n"
        "        return [exc.code, str(exc)]\n"
        "cases = [bytes.fromhex(h) for h in json.loads(sys.stdin.read())]\n"
        "here = lambda d: sbom.validate(d, require_version=sbom.BUNDLE_VERSIONS)\n"
        "rows, children, asked = [], [], []\n"
        "for kill in (False, True):\n"
        "    for data in cases:\n"
        "        with sbom.ForkedValidation(sbom.BUNDLE_VERSIONS) as forked:\n"
        "            children.append(forked.pid)\n"
        "            if kill:\n"
        "                os.kill(forked.pid, signal.SIGKILL)\n"
        "            answer = outcome(forked.validate, data)\n"
        "        asked.append('jsonschema' in sys.modules)\n"
        "        rows.append([answer])\n"
        "for row, data in zip(rows, cases * 2):\n"
        "    row.append(outcome(here, data))\n"
        "left = []\n"
        "for pid in children:\n"
        "    try:\n"
        "        os.waitpid(pid, os.WNOHANG)\n"
        "        left.append(pid)\n"
        "    except ChildProcessError:\n"
        "        pass\n"
        "print(json.dumps({'rows': rows, 'left': left, 'forked': all(children), 'asked': asked}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([c.hex() for c in cases]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["forked"] and result["left"] == []
    # The children answered the first five (this process never imported jsonschema); the
    # killed ones could not, so the last five were validated here.
    assert result["asked"] == [False] * 5 + [True] * 5
    outcomes = [row[0] for row in result["rows"]]
    assert all(forked == here for forked, here in result["rows"]), result["rows"]
    assert outcomes[0] == ["ok", 1]
    assert [o[0] for o in outcomes[1:5]] == [
        "sbom.invalid",
        "sbom.spec_version",
        "sbom.malformed",
        "sbom.malformed",
    ]


def test_the_forked_child_gives_jsonschema_a_urlopen_that_refuses_and_leaves_none_behind():
    """The child imports jsonschema with a stand-in for ``urllib.request`` (http.client, ssl
    and email not loaded, issue 20.7): its ``urlopen`` refuses, validation is unchanged, and a
    later ``import urllib.request`` gets the real module."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from leo.bundle import sbom\n"
        "sbom._import_jsonschema_lean(offline=True)\n"
        "import jsonschema.validators\n"
        "loaded = sorted({'http.client', 'ssl', 'urllib.request'} & set(sys.modules))\n"
        "try:\n"
        "    jsonschema.validators.urlopen('https://example.invalid/schema.json')\n"
        "except OSError as exc:\n"
        "    refused = str(exc)\n"
        "doc = sbom.build({}, project='x', head='a' * 40, committed_at=1_700_000_000)\n"
        "components = len(sbom.validate(doc).get('components') or [])\n"
        "import urllib.request\n"
        "print(loaded, refused, components, hasattr(urllib.request, 'Request'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "[] LEO's SBOM validation fetches no schema 0 True", done.stderr
