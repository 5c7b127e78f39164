"""The verdict as a VSA: an in-toto Statement v1 in a DSSE envelope that verifies, and fails
after any one byte of it is changed."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import pytest

from leo.bundle import keys, vsa
from leo.models import Report, SubAgentResult

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


_COUNTER = itertools.count()


def _keys():
    """A real ed25519 key pair through LEO's signing code (securesystemslib)."""
    prefix = Path(tempfile.mkdtemp()) / f"key{next(_COUNTER)}"
    private, public, _ = keys.generate(prefix)
    signer = keys.load_signer(private)
    return (lambda message: keys.sign(signer, message)), keys.checker_for(keys.load_public(public))


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


def test_verify_attest_signed_with_a_key_verifies_with_leo_attest_verify(
    fixture_repo, tmp_path, scale
):
    repo = fixture_repo(select=("fine",))
    private, public, _ = keys.generate(tmp_path / "verdict-key")
    out = tmp_path / "vsa.json"
    proc = scale.leo(
        "verify", "--repo", str(repo.path), "--base", "main", "-q",
        "--attest", str(out), "--sign", f"key:{private}", *scale.FIXTURES, env=scale.ENV,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    head = repo.change().head_sha
    ok = scale.leo(
        "attest", "verify-verdict", str(out), "--key", str(public), "--head", head, env=scale.ENV
    )
    assert ok.returncode == 0, ok.stderr
    assert "PASSED" in ok.stdout
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))
    # The spelling before verify-verdict still works, with a deprecation note.
    bad = scale.leo("attest", "verify", str(out), "--key", str(public), env=scale.ENV)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "deprecated" in bad.stderr


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
