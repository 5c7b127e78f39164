"""SLSA provenance verifies as slsa-verifier expects, offline, on slsa-verifier's own test data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leo.bundle import slsa
from leo.bundle.reasons import BundleError
from leo.errors import LeoError

PRODUCTION = (
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)
TESTDATA = "slsa-verifier/cli/slsa-verifier/testdata"
V21 = f"{TESTDATA}/gha_generic/v2.1.0"
ARTIFACT = f"{V21}/binary-linux-amd64-workflow_dispatch"
SOURCE = "github.com/slsa-framework/example-package"
GENERIC = slsa.TRUSTED_BUILDERS[0]


def _verify(shared_data: Path, provenance: str, artifact: str = ARTIFACT, **expect: str):
    return slsa.verify(
        (shared_data / artifact).read_bytes(),
        (shared_data / provenance).read_bytes(),
        slsa.Expectations(**{"source_uri": SOURCE, **expect}),
        trusted_root=shared_data / PRODUCTION,
    )


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("workflow_dispatch", "refs/heads/main"),
        ("push-v13.0.30", "refs/tags/v13.0.30"),
        ("push-v14", "refs/tags/v14"),
        ("push-v14.2", "refs/tags/v14.2"),
    ],
)
def test_generator_provenance_for_example_package_is_valid(shared_data, name, ref):
    result = _verify(shared_data, f"{V21}/binary-linux-amd64-{name}.intoto.jsonl")
    assert result.ref == ref and result.source == SOURCE
    assert result.builder_id == f"{GENERIC}@refs/tags/v2.1.0"
    assert result.digest.startswith("376e7e01")


def test_tag_and_branch_and_builder_id_are_checked_when_given(shared_data):
    tagged = f"{V21}/binary-linux-amd64-push-v14.intoto.jsonl"
    _verify(shared_data, tagged, source_tag="v14", builder_id=GENERIC)
    _verify(shared_data, tagged, builder_id=f"{GENERIC}@refs/tags/v2.1.0")
    with pytest.raises(BundleError) as exc:
        _verify(shared_data, tagged, source_tag="v13.0.30")
    assert exc.value.code == "provenance.ref_mismatch"
    with pytest.raises(BundleError) as exc:
        _verify(shared_data, tagged, source_branch="main")
    assert exc.value.code == "provenance.ref_mismatch"


@pytest.mark.parametrize(
    ("versioned", "ok"),
    [("v14", True), ("v14.2", True), ("v14.2.0", True), ("v14.3", False), ("v13", False)],
)
def test_source_versioned_tag_matches_the_leading_numbers(shared_data, versioned, ok):
    provenance = f"{V21}/binary-linux-amd64-push-v14.2.intoto.jsonl"
    if ok:
        _verify(shared_data, provenance, source_versioned_tag=versioned)
        return
    with pytest.raises(BundleError) as exc:
        _verify(shared_data, provenance, source_versioned_tag=versioned)
    assert exc.value.code == "provenance.ref_mismatch"


@pytest.mark.parametrize(
    ("expect", "code"),
    [
        (
            {"source_uri": "github.com/slsa-framework/example-packageA"},
            "provenance.source_mismatch",
        ),
        ({"source_uri": "github.com/slsa-framework/example-packag"}, "provenance.source_mismatch"),
        ({"builder_id": slsa.TRUSTED_BUILDERS[2]}, "provenance.builder_mismatch"),
        ({"builder_id": f"{GENERIC}@refs/tags/v2.0.0"}, "provenance.builder_mismatch"),
    ],
)
def test_look_alike_source_and_other_builder_are_refused(shared_data, expect, code):
    with pytest.raises(BundleError) as exc:
        _verify(shared_data, f"{V21}/binary-linux-amd64-workflow_dispatch.intoto.jsonl", **expect)
    assert exc.value.code == code


def test_another_artifact_is_refused(shared_data):
    with pytest.raises(BundleError) as exc:
        _verify(
            shared_data,
            f"{V21}/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
            artifact=f"{TESTDATA}/gha_generic/v1.10.0/binary-linux-amd64-workflow_dispatch",
        )
    assert exc.value.code == "attestation.subject_digest_mismatch"


def test_a_builder_outside_the_trusted_list_is_refused(shared_data):
    with pytest.raises(BundleError) as exc:
        slsa.verify(
            (shared_data / ARTIFACT).read_bytes(),
            (shared_data / f"{V21}/binary-linux-amd64-workflow_dispatch.intoto.jsonl").read_bytes(),
            slsa.Expectations(source_uri=SOURCE, trusted_builders=slsa.TRUSTED_BUILDERS[1:]),
            trusted_root=shared_data / PRODUCTION,
        )
    assert exc.value.code == "provenance.untrusted_builder"


def test_provenance_v0_2_bundle_at_the_builders_main_branch_is_not_a_release(shared_data):
    # The bundle is real and verifies, but it was built by the generator at refs/heads/main:
    # slsa-verifier trusts its builders only at release tags.
    with pytest.raises(BundleError) as exc:
        _verify(
            shared_data,
            "slsa-verifier/verifiers/internal/gha/testdata/bundle/valid-v0.3.intoto.sigstore",
            artifact=f"{TESTDATA}/gha_generic/v1.10.0/binary-linux-amd64-workflow_dispatch",
        )
    assert exc.value.code == "provenance.untrusted_builder"


@pytest.mark.parametrize(
    "name",
    [
        "gha_generic/v1.10.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
        "binary-linux-amd64-untrusted-builder.intoto.jsonl",
    ],
)
def test_bare_envelopes_without_a_log_entry_are_refused_offline(shared_data, name):
    with pytest.raises(BundleError) as exc:
        _verify(shared_data, f"{TESTDATA}/{name}")
    assert exc.value.code == "provenance.bare_envelope"


def test_legacy_bundles_without_inclusion_proof_are_refused(shared_data):
    with pytest.raises(BundleError) as exc:
        _verify(
            shared_data,
            "slsa-verifier/verifiers/internal/gha/testdata/bundle/valid.intoto.sigstore",
        )
    assert exc.value.code == "sigstore.malformed"


def _statement(predicate_type: str, predicate: dict) -> dict:
    return {
        "_type": slsa.STATEMENT_TYPES[1],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def test_slsa_v1_github_artifact_attestation_claims_are_read():
    workflow = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.0.0"
    doc = _statement(
        slsa.PREDICATE_V1,
        {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v1.0.0",
                        "repository": "https://github.com/o/r",
                        "path": ".github/workflows/release.yml",
                    }
                },
            },
            "runDetails": {"builder": {"id": slsa.GITHUB_HOSTED_RUNNER}},
        },
    )
    assert slsa.claims_of(doc) == slsa.Claims(
        slsa.PREDICATE_V1,
        slsa.GITHUB_HOSTED_RUNNER,
        "https://github.com/o/r",
        "refs/tags/v1.0.0",
        workflow,
    )


def test_slsa_v1_generator_claims_and_unknown_predicates():
    doc = _statement(
        slsa.PREDICATE_V1,
        {
            "buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "externalParameters": {
                    "source": {"uri": "git+https://github.com/o/r@refs/heads/main"}
                },
            },
            "runDetails": {"builder": {"id": "b"}},
        },
    )
    claims = slsa.claims_of(doc)
    assert (claims.source, claims.ref, claims.workflow) == (
        "git+https://github.com/o/r",
        "refs/heads/main",
        None,
    )
    with pytest.raises(BundleError) as exc:
        slsa.claims_of(_statement("https://slsa.dev/provenance/v9", {}))
    assert exc.value.code == "attestation.predicate_type"
    with pytest.raises(BundleError) as exc:
        slsa.claims_of(_statement(slsa.PREDICATE_V1, {"runDetails": {}}))
    assert exc.value.code == "provenance.malformed"


def test_bad_expectations_are_usage_errors():
    with pytest.raises(LeoError):
        slsa.Expectations(source_uri="example-package")
    with pytest.raises(LeoError):
        slsa.Expectations(source_uri=SOURCE, source_tag="v1", source_branch="main")
    with pytest.raises(LeoError):
        slsa.Expectations(source_uri=SOURCE, source_versioned_tag="1.2")


def test_two_attestations_in_one_file_are_refused():
    line = json.dumps({"mediaType": "x", "verificationMaterial": {}})
    with pytest.raises(BundleError) as exc:
        slsa.read_provenance(f"{line}\n{line}\n".encode())
    assert exc.value.code == "provenance.malformed"


def test_provenance_verify_cli_with_slsa_verifiers_flags(shared_data, leo_cli):
    args = [
        "provenance",
        "verify",
        str(shared_data / ARTIFACT),
        "--provenance-path",
        str(shared_data / f"{V21}/binary-linux-amd64-push-v14.intoto.jsonl"),
        "--trusted-root",
        str(shared_data / PRODUCTION),
    ]
    ok = leo_cli(*args, "--source-uri", SOURCE, "--source-tag", "v14", "--builder-id", GENERIC)
    assert ok.returncode == 0 and "refs/tags/v14" in ok.stdout, ok.stderr
    bad = leo_cli(*args, "--source-uri", SOURCE + "A")
    assert bad.returncode == 1 and "provenance.source_mismatch" in bad.stderr
    usage = leo_cli(*args, "--source-uri", SOURCE, "--source-tag", "v14", "--source-branch", "main")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
