"""Sigstore bundles verify offline against a pinned trusted root; broken ones fail (real data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leo.bundle import keyless
from leo.bundle.reasons import BundleError

STAGING = (
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
)
PRODUCTION = (
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)
ASSETS = "sigstore-python/test/assets"
GITHUB = "https://github.com/login/oauth"
ACTIONS = "https://token.actions.githubusercontent.com"
GENERIC = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"


def verify(
    data: Path, artifact: str, bundle: str, identity: str, issuer: str, root: str = STAGING
) -> str:
    return keyless.verify_artifact(
        (data / artifact).read_bytes(),
        (data / bundle).read_bytes(),
        identity=identity,
        issuer=issuer,
        trusted_root=data / root,
    )


@pytest.mark.parametrize(
    ("artifact", "bundle", "identity", "issuer", "root"),
    [
        ("bundle.txt", "bundle.txt.sigstore", "a@tny.town", GITHUB, STAGING),
        ("bundle_v3.txt", "bundle_v3.txt.sigstore", "william@yossarian.net", GITHUB, STAGING),
        (
            "staging-rekor-v2.txt",
            "staging-rekor-v2.txt.sigstore.json",
            "jku@goto.fi",
            GITHUB,
            STAGING,
        ),
        (
            "bundle_v3_github.whl",
            "bundle_v3_github.whl.sigstore",
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            ACTIONS,
            PRODUCTION,
        ),
        (
            "tsa/bundle.txt",
            "tsa/bundle.txt.sigstore",
            "alexis.challande@trailofbits.com",
            "https://accounts.google.com",
            "tsa/trust_config.json",
        ),
    ],
)
def test_real_sigstore_bundles_verify_offline(
    shared_data, artifact, bundle, identity, issuer, root
):
    root_path = root if root in (STAGING, PRODUCTION) else f"{ASSETS}/{root}"
    summary = verify(
        shared_data, f"{ASSETS}/{artifact}", f"{ASSETS}/{bundle}", identity, issuer, root_path
    )
    assert identity in summary


def test_real_dsse_bundle_checks_its_in_toto_subject(shared_data):
    bundle = f"{ASSETS}/a.dsse.staging-rekor-v2.txt.sigstore.json"
    cert_identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    summary = verify(shared_data, f"{ASSETS}/dsse-subject-a.txt", bundle, cert_identity, ACTIONS)
    assert "in-toto attestation" in summary
    with pytest.raises(BundleError) as exc:
        verify(shared_data, f"{ASSETS}/bundle.txt", bundle, cert_identity, ACTIONS)
    assert exc.value.code == "attestation.subject_digest_mismatch"


def test_slsa_generator_bundle_verifies_with_production_root(shared_data):
    base = "slsa-verifier/cli/slsa-verifier/testdata/gha_generic/v2.1.0"
    summary = verify(
        shared_data,
        f"{base}/binary-linux-amd64-workflow_dispatch",
        f"{base}/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
        f"{GENERIC}@refs/tags/v2.1.0",
        ACTIONS,
        PRODUCTION,
    )
    assert "https://slsa.dev/provenance/v0.2" in summary


@pytest.mark.parametrize(
    ("artifact", "bundle", "identity", "issuer", "root", "code"),
    [
        (
            "bundle.txt",
            "bundle.txt.sigstore",
            "someone@else.example",
            GITHUB,
            STAGING,
            "signature.identity_mismatch",
        ),
        (
            "bundle.txt",
            "bundle.txt.sigstore",
            "a@tny.town",
            ACTIONS,
            STAGING,
            "signature.identity_mismatch",
        ),
        (
            "a.txt",
            "bundle.txt.sigstore",
            "a@tny.town",
            GITHUB,
            STAGING,
            "attestation.subject_digest_mismatch",
        ),
        (
            "bundle_v3_github.whl",
            "bundle_v3_github.whl.sigstore",
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            ACTIONS,
            STAGING,
            "sigstore.invalid",
        ),
        (
            "bundle_cve_2022_36056.txt",
            "bundle_cve_2022_36056.txt.sigstore",
            "william@yossarian.net",
            GITHUB,
            STAGING,
            "sigstore.invalid",
        ),
        (
            "bundle_invalid_version.txt",
            "bundle_invalid_version.txt.sigstore",
            "a@tny.town",
            GITHUB,
            STAGING,
            "sigstore.malformed",
        ),
        (
            "bundle_no_cert_v1.txt",
            "bundle_no_cert_v1.txt.sigstore",
            "a@tny.town",
            GITHUB,
            STAGING,
            "sigstore.malformed",
        ),
        (
            "bundle_no_checkpoint.txt",
            "bundle_no_checkpoint.txt.sigstore",
            "a@tny.town",
            GITHUB,
            STAGING,
            "sigstore.malformed",
        ),
        (
            "bundle_no_log_entry.txt",
            "bundle_no_log_entry.txt.sigstore",
            "a@tny.town",
            GITHUB,
            STAGING,
            "sigstore.malformed",
        ),
        (
            "bundle.txt",
            "bundle_v3_no_signed_time.txt.sigstore.json",
            "a@tny.town",
            GITHUB,
            STAGING,
            "sigstore.malformed",
        ),
        (
            "tsa/bundle.txt",
            "tsa/bundle.many_timestamp.sigstore",
            "alexis.challande@trailofbits.com",
            "https://accounts.google.com",
            "tsa/trust_config.json",
            "sigstore.malformed",
        ),
    ],
)
def test_broken_sigstore_bundles_fail(shared_data, artifact, bundle, identity, issuer, root, code):
    root_path = root if root in (STAGING, PRODUCTION) else f"{ASSETS}/{root}"
    with pytest.raises(BundleError) as exc:
        verify(
            shared_data, f"{ASSETS}/{artifact}", f"{ASSETS}/{bundle}", identity, issuer, root_path
        )
    assert exc.value.code == code, exc.value


@pytest.mark.parametrize("name", ["invalid-dsse-sig", "invalid-set", "mismatch-tlog", "valid"])
def test_legacy_slsa_bundles_without_inclusion_proof_are_rejected(shared_data, name):
    base = "slsa-verifier/verifiers/internal/gha/testdata/bundle"
    with pytest.raises(BundleError) as exc:
        keyless.verify(
            (shared_data / f"{base}/{name}.intoto.sigstore").read_bytes(),
            identity="x",
            issuer=ACTIONS,
            trusted_root=shared_data / PRODUCTION,
        )
    assert exc.value.code in ("sigstore.malformed", "sigstore.invalid")


def test_trusted_root_of_the_wrong_type_is_refused(shared_data):
    with pytest.raises(BundleError) as exc:
        keyless.load_trusted_root(shared_data / ASSETS / "trusted_root/trustedroot.badtype.json")
    assert exc.value.code == "sigstore.trusted_root"


def test_embedded_production_root_matches_the_pinned_copy(shared_data):
    assert (
        keyless.embedded_production_root().read_bytes() == (shared_data / PRODUCTION).read_bytes()
    )


def test_attest_verify_cli_requires_identity_and_issuer(shared_data, leo_cli):
    artifact = shared_data / ASSETS / "bundle.txt"
    bundle = shared_data / ASSETS / "bundle.txt.sigstore"
    missing = leo_cli(
        "attest", "verify", str(artifact), "--bundle", str(bundle), "--identity", "a@tny.town"
    )
    assert missing.returncode == 2
    ok = leo_cli(
        "attest",
        "verify",
        str(artifact),
        "--bundle",
        str(bundle),
        "--identity",
        "a@tny.town",
        "--issuer",
        GITHUB,
        "--trusted-root",
        str(shared_data / STAGING),
    )
    assert ok.returncode == 0, ok.stderr
    wrong = leo_cli(
        "attest",
        "verify",
        str(artifact),
        "--bundle",
        str(bundle),
        "--identity",
        "b@tny.town",
        "--issuer",
        GITHUB,
        "--trusted-root",
        str(shared_data / STAGING),
    )
    assert wrong.returncode == 1
    assert "signature.identity_mismatch" in wrong.stderr
    assert "Traceback" not in wrong.stderr
