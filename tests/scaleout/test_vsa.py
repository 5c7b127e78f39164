"""The verdict as a VSA: an in-toto Statement v1 in a DSSE envelope that verifies, and fails
after any one byte of it is changed."""

from __future__ import annotations

import hashlib
import json

import pytest

from leo import vsa
from leo.models import Report, SubAgentResult

cryptography = pytest.importorskip("cryptography")
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

HEAD = "a" * 40


def _report(verdict="PASS") -> Report:
    return Report(
        leo_version="0.1.0",
        verdict=verdict,
        confidence=92,
        reasons=("fine",),
        resolution_rounds=0,
        repository="/src/app",
        base_sha="b" * 40,
        head_sha=HEAD,
        config_digest="sha256:" + "c" * 64,
        changed_files=2,
        duration_s=1.5,
        agents=(
            SubAgentResult(
                name="security",
                plugin="leo-security",
                plugin_version="0.1.0",
                status="passed",
                confidence=92,
            ),
        ),
    )


def _keys():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    keyid = hashlib.sha256(raw).hexdigest()

    def signer(message: bytes):
        return keyid, private.sign(message)

    def check(kid: str, sig: bytes, message: bytes) -> bool:
        if kid != keyid:
            return False
        try:
            private.public_key().verify(sig, message)
        except InvalidSignature:
            return False
        return True

    return signer, check


def _signed(report: Report, signer) -> bytes:
    payload = json.dumps(vsa.statement(report), sort_keys=True, separators=(",", ":")).encode()
    return vsa.envelope(vsa.PAYLOAD_TYPE, payload, [signer]).encode()


def test_statement_is_a_vsa_about_the_head_commit():
    stmt = vsa.statement(_report())
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert stmt["subject"][0]["digest"] == {"gitCommit": HEAD}
    predicate = stmt["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["LEO_VERDICT_PASS"]
    assert predicate["policy"]["digest"] == {"sha256": "c" * 64}
    assert predicate["verifier"]["version"]["leo-security"] == "0.1.0"
    assert predicate["timeVerified"].endswith("Z")
    for verdict in ("FAIL", "CONDITIONAL_PASS", "ESCALATE"):
        failed = vsa.statement(_report(verdict))["predicate"]
        assert failed["verificationResult"] == "FAILED" and failed["verifiedLevels"] == ["FAILED"]
        assert failed["leo"]["verdict"] == verdict


def test_signed_vsa_verifies_and_fails_after_any_one_byte_changes():
    signer, check = _keys()
    data = _signed(_report(), signer)
    stmt = vsa.verify_attestation(data, check, head_sha=HEAD)
    assert stmt["predicate"]["verificationResult"] == "PASSED"
    for i in range(len(data)):
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        with pytest.raises(vsa.AttestationError):
            vsa.verify_attestation(bytes(tampered), check, head_sha=HEAD)


def test_vsa_for_another_head_or_by_another_key_or_unsigned_is_refused():
    signer, check = _keys()
    other_signer, _ = _keys()
    data = _signed(_report(), signer)
    with pytest.raises(vsa.AttestationError, match="not head"):
        vsa.verify_attestation(data, check, head_sha="d" * 40)
    with pytest.raises(vsa.AttestationError, match="trusted key"):
        vsa.verify_attestation(_signed(_report(), other_signer), check)
    payload = json.dumps(vsa.statement(_report())).encode()
    with pytest.raises(vsa.AttestationError, match="unsigned"):
        vsa.verify_attestation(vsa.envelope(vsa.PAYLOAD_TYPE, payload).encode(), check)


def test_verify_attest_writes_the_envelope_and_sign_needs_leo_signing(
    fixture_repo, tmp_path, scale
):
    repo = fixture_repo(select=("fine",))
    out = tmp_path / "vsa.json"
    proc = scale.leo(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "-q",
        "--attest",
        str(out),
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert proc.returncode == 0, proc.stderr
    assert "is unsigned" in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["payloadType"] == "application/vnd.in-toto+json" and doc["signatures"] == []
    import base64

    stmt = json.loads(base64.b64decode(doc["payload"]))
    assert stmt["subject"][0]["digest"]["gitCommit"] == repo.change().head_sha
    proc = scale.leo(
        "verify",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "-q",
        "--sign",
        "key:nope",
        *scale.FIXTURES,
        env=scale.ENV,
    )
    assert proc.returncode == 2 and "pass --attest FILE" in proc.stderr
