"""Sigstore bundles signed with a managed key verify offline; the log checks run on real Rekor data."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from leo.bundle import dsse, managed
from leo.bundle.reasons import BundleError
from leo.errors import LeoError

ASSETS = "sigstore-python/test/assets"
STAGING = (
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
)
PRODUCTION = (
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _entry(shared_data: Path, name: str) -> dict:
    return json.loads((shared_data / ASSETS / name).read_bytes())["verificationMaterial"][
        "tlogEntries"
    ][0]


@pytest.mark.parametrize(
    "name", ["bundle.txt.sigstore", "bundle_v3.txt.sigstore", "bundle_v3_alt.txt.sigstore"]
)
def test_real_rekor_entries_verify_proof_checkpoint_and_promise(shared_data, name):
    bodies = []
    logs = managed.transparency_logs(shared_data / STAGING)
    managed.verify_entry(_entry(shared_data, name), logs, bodies.append)
    artifact = (shared_data / ASSETS / name.removesuffix(".sigstore")).read_bytes()
    assert bodies[0]["spec"]["data"]["hash"]["value"] == hashlib.sha256(artifact).hexdigest()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e["inclusionProof"]["hashes"].__setitem__(0, _b64(b"\0" * 32)),
        lambda e: e["inclusionProof"].__setitem__(
            "logIndex", str(int(e["inclusionProof"]["logIndex"]) + 1)
        ),
        lambda e: e["inclusionPromise"].__setitem__(
            "signedEntryTimestamp",
            e["inclusionProof"]["checkpoint"]["envelope"].rsplit(" ", 1)[-1].strip(),
        ),
        lambda e: e.__setitem__("integratedTime", str(int(e["integratedTime"]) + 1)),
        lambda e: e["inclusionProof"]["checkpoint"].__setitem__(
            "envelope", e["inclusionProof"]["checkpoint"]["envelope"].replace("\n\n", "\nextra\n\n")
        ),
    ],
)
def test_a_tampered_log_entry_fails(shared_data, tamper):
    entry = copy.deepcopy(_entry(shared_data, "bundle_v3.txt.sigstore"))
    tamper(entry)
    with pytest.raises(BundleError) as exc:
        managed.verify_entry(
            entry, managed.transparency_logs(shared_data / STAGING), lambda _b: None
        )
    assert exc.value.code in ("sigstore.invalid", "sigstore.malformed")


def test_an_entry_from_a_log_the_root_does_not_list_fails(shared_data):
    with pytest.raises(BundleError, match="does not list"):
        managed.verify_entry(
            _entry(shared_data, "bundle_v3.txt.sigstore"),
            managed.transparency_logs(shared_data / PRODUCTION),
            lambda _b: None,
        )


class Log:
    """A one-entry transparency log with its own key, as Rekor v1 writes entries."""

    def __init__(self, tmp_path: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.keyid = hashlib.sha256(spki).digest()
        self.root = tmp_path / "trusted_root.json"
        self.root.write_text(
            json.dumps(
                {
                    "tlogs": [
                        {
                            "publicKey": {"rawBytes": _b64(spki)},
                            "logId": {"keyId": _b64(self.keyid)},
                        }
                    ]
                }
            )
        )

    def entry(self, body: dict) -> dict:
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        root = hashlib.sha256(b"\x00" + raw).digest()
        note = f"test.log - 1\n1\n{_b64(root)}\n"
        sig = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        envelope = f"{note}\n\u2014 test.log {_b64(self.keyid[:4] + sig)}\n"
        promise = json.dumps(
            {
                "body": _b64(raw),
                "integratedTime": 1700000000,
                "logID": self.keyid.hex(),
                "logIndex": 0,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return {
            "logIndex": "0",
            "logId": {"keyId": _b64(self.keyid)},
            "kindVersion": {"kind": body["kind"], "version": "0.0.1"},
            "integratedTime": "1700000000",
            "inclusionPromise": {
                "signedEntryTimestamp": _b64(self.key.sign(promise, ec.ECDSA(hashes.SHA256())))
            },
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": envelope},
            },
            "canonicalizedBody": _b64(raw),
        }


@pytest.fixture
def signer(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "key.pub").write_bytes(pem)
    return key, pem


def _message_bundle(
    log: Log, key, pem: bytes, artifact: bytes, *, body_signature: bytes | None = None
) -> bytes:
    signature = key.sign(artifact, ec.ECDSA(hashes.SHA256()))
    digest = hashlib.sha256(artifact).digest()
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {
                "content": _b64(body_signature or signature),
                "publicKey": {"content": _b64(pem)},
            },
        },
    }
    return json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "publicKey": {"hint": "managed"},
                "tlogEntries": [log.entry(body)],
            },
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
                "signature": _b64(signature),
            },
        }
    ).encode()


def test_managed_key_message_signature_verifies(tmp_path, signer):
    log = Log(tmp_path)
    bundle = _message_bundle(log, *signer, b"release")
    summary = managed.verify(b"release", bundle, signer[1], trusted_root=log.root)
    assert "message signature" in summary


def test_managed_key_bundle_for_another_artifact_or_key_fails(tmp_path, signer):
    log = Log(tmp_path)
    bundle = _message_bundle(log, *signer, b"release")
    with pytest.raises(BundleError) as exc:
        managed.verify(b"other", bundle, signer[1], trusted_root=log.root)
    assert exc.value.code == "attestation.subject_digest_mismatch"
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(BundleError) as exc:
        managed.verify(b"release", bundle, other, trusted_root=log.root)
    assert exc.value.code == "signature.invalid"


def test_a_log_entry_for_another_signature_is_inconsistent(tmp_path, signer):
    log = Log(tmp_path)
    bundle = _message_bundle(log, *signer, b"release", body_signature=b"\x30\x00")
    with pytest.raises(BundleError, match="inconsistent"):
        managed.verify(b"release", bundle, signer[1], trusted_root=log.root)


def test_managed_key_dsse_bundle_verifies_and_binds_the_subject(tmp_path, signer):
    key, pem = signer
    log = Log(tmp_path)
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a", "digest": {"sha256": hashlib.sha256(b"a").hexdigest()}}],
            "predicateType": "https://example/p",
            "predicate": {},
        }
    ).encode()
    signature = key.sign(dsse.pae(dsse.INTOTO_PAYLOAD_TYPE, statement), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "payload": _b64(statement),
        "payloadType": dsse.INTOTO_PAYLOAD_TYPE,
        "signatures": [{"sig": _b64(signature)}],
    }
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
            "signatures": [{"signature": _b64(signature), "verifier": _b64(pem)}],
        },
    }
    bundle = json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "k"}, "tlogEntries": [log.entry(body)]},
            "dsseEnvelope": envelope,
        }
    ).encode()
    assert "https://example/p" in managed.verify(b"a", bundle, pem, trusted_root=log.root)
    with pytest.raises(BundleError) as exc:
        managed.verify(b"b", bundle, pem, trusted_root=log.root)
    assert exc.value.code == "attestation.subject_digest_mismatch"


def test_a_certificate_bundle_is_not_verified_with_a_key(shared_data, signer):
    with pytest.raises(BundleError, match="--identity"):
        managed.verify(
            (shared_data / ASSETS / "bundle_v3.txt").read_bytes(),
            (shared_data / ASSETS / "bundle_v3.txt.sigstore").read_bytes(),
            signer[1],
            trusted_root=shared_data / STAGING,
        )


def test_a_key_that_is_not_a_public_key_is_a_usage_error():
    with pytest.raises(LeoError):
        managed.load_public_key(
            b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n", "--key"
        )


def test_attest_verify_with_bundle_and_key_on_the_command_line(tmp_path, signer, leo_cli):
    log = Log(tmp_path)
    (tmp_path / "release").write_bytes(b"release")
    (tmp_path / "release.sigstore.json").write_bytes(_message_bundle(log, *signer, b"release"))
    args = [
        "attest",
        "verify",
        str(tmp_path / "release"),
        "--bundle",
        str(tmp_path / "release.sigstore.json"),
    ]
    ok = leo_cli(*args, "--key", str(tmp_path / "key.pub"), "--trusted-root", str(log.root))
    assert ok.returncode == 0 and ok.stdout.startswith("PASS message signature"), ok.stderr
    (tmp_path / "release").write_bytes(b"tampered")
    bad = leo_cli(*args, "--key", str(tmp_path / "key.pub"), "--trusted-root", str(log.root))
    assert bad.returncode == 1 and "attestation.subject_digest_mismatch" in bad.stderr
    mixed = leo_cli(*args, "--key", str(tmp_path / "key.pub"), "--identity", "a@b")
    assert mixed.returncode == 2
