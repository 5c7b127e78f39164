"""DSSE: the spec's test vector, RFC 8032, and verify-then-read with securesystemslib ed25519."""

from __future__ import annotations

import base64
import json

import pytest

from leo.bundle import dsse, keys
from leo.bundle.reasons import BundleError


def test_pae_matches_the_spec_vector(shared_data):
    vector = json.loads((shared_data / "dsse-spec/protocol_test_vector.json").read_text())
    assert (
        dsse.pae(vector["payload_type"], vector["serialized_body"].encode())
        == vector["pae"].encode()
    )


def test_spec_vector_signature_verifies_over_our_pae(shared_data):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    vector = json.loads((shared_data / "dsse-spec/protocol_test_vector.json").read_text())
    envelope = dsse.parse_envelope(json.dumps(vector["envelope"]).encode())
    public = ec.EllipticCurvePublicNumbers(
        int(vector["key"]["x"]), int(vector["key"]["y"]), ec.SECP256R1()
    ).public_key()
    raw = envelope.signatures[0].sig  # IEEE P1363 r||s; pyca wants DER
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def check(signature: dsse.Signature, message: bytes) -> str | None:
        try:
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        return "spec-key"

    assert dsse.verify(envelope, check) == ("spec-key", b"hello world")
    tampered = dsse.Envelope("http://example.com/Other", envelope.payload, envelope.signatures)
    with pytest.raises(BundleError) as exc:
        dsse.verify(tampered, check)
    assert exc.value.code == "signature.invalid"


def test_rfc8032_test1_vector_through_securesystemslib(shared_data):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.signer import CryptoSigner, SSlibKey
    from securesystemslib.signer import Signature as SslibSignature

    vector = json.loads((shared_data / "dsse-spec/rfc8032_ed25519_test1.json").read_text())
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["secret_key_hex"]))
    signer = CryptoSigner(private)
    assert signer.public_key.keyval["public"] == vector["public_key_hex"]
    message = bytes.fromhex(vector["message_hex"])
    assert signer.sign(message).signature == vector["signature_hex"]
    key = SSlibKey.from_crypto(private.public_key())
    key.verify_signature(SslibSignature(key.keyid, vector["signature_hex"]), message)


def test_ed25519_sign_and_verify_round_trip(tmp_path):
    private, public, keyid = keys.generate(tmp_path / "k")
    signer = keys.load_signer(private)
    envelope = dsse.sign(dsse.INTOTO_PAYLOAD_TYPE, b"{}", [lambda m: keys.sign(signer, m)])
    trusted = keys.load_public(public)
    parsed = dsse.parse_envelope(envelope.to_json().encode())
    assert dsse.verify(parsed, keys.checker_for(trusted), trusted=[keyid]) == (
        f"key:{keyid}",
        b"{}",
    )
    assert oct(private.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        ({"payload": "e30=", "payloadType": "t", "signatures": []}, "signature.missing"),
        (
            {"payload": "e30=", "payloadType": "t", "signatures": [{"keyid": "", "sig": ""}]},
            "signature.invalid",
        ),
        ({"payload": "e30", "payloadType": "t", "signatures": []}, "dsse.malformed"),
        ({"payload": "e3-_", "payloadType": "t", "signatures": []}, "dsse.malformed"),
        ({"payload": "e30=", "payloadType": "", "signatures": []}, "dsse.malformed"),
        ({"payload": "e30=", "payloadType": "t"}, "dsse.malformed"),
        ({"payload": "e30=", "payloadType": "t", "signatures": [], "extra": 1}, "dsse.malformed"),
    ],
)
def test_malformed_or_unsigned_envelopes_fail(tmp_path, doc, code):
    _, public, _keyid = keys.generate(tmp_path / "k")
    with pytest.raises(BundleError) as exc:
        envelope = dsse.parse_envelope(json.dumps(doc).encode())
        dsse.verify(envelope, keys.checker_for(keys.load_public(public)))
    assert exc.value.code == code


def test_duplicate_keys_in_the_envelope_are_rejected():
    raw = b'{"payload": "e30=", "payloadType": "good", "payloadType": "evil", "signatures": []}'
    with pytest.raises(BundleError) as exc:
        dsse.parse_envelope(raw)
    assert exc.value.code == "json.duplicate_keys"


def test_signature_over_another_payload_does_not_verify(tmp_path):
    private, public, keyid = keys.generate(tmp_path / "k")
    signer = keys.load_signer(private)
    good = dsse.sign(dsse.INTOTO_PAYLOAD_TYPE, b'{"a":1}', [lambda m: keys.sign(signer, m)])
    forged = dsse.Envelope(good.payload_type, b'{"a":2}', good.signatures)
    with pytest.raises(BundleError) as exc:
        dsse.verify(forged, keys.checker_for(keys.load_public(public)), trusted=[keyid])
    assert exc.value.code == "signature.invalid"
    assert base64.b64encode(b'{"a":2}') in forged.to_json().encode()


@pytest.mark.parametrize(
    "signatures",
    [
        [{"keyid": "k", "sig": "AAAA"}, {"keyid": "k", "sig": "AQID"}],
        [{"keyid": "k", "sig": "AAAA", "cert": "smuggled"}],
    ],
)
def test_signature_entries_are_unique_and_have_no_extra_fields(signatures):
    doc = {"payload": "e30=", "payloadType": dsse.INTOTO_PAYLOAD_TYPE, "signatures": signatures}
    with pytest.raises(BundleError) as exc:
        dsse.parse_envelope(json.dumps(doc).encode())
    assert exc.value.code == "dsse.malformed"


def test_envelope_json_round_trips_through_securesystemslib():
    envelope = dsse.Envelope("t", b"{}", (dsse.Signature("k", b"\x01\x02"),))
    assert dsse.parse_envelope(envelope.to_json().encode()) == envelope
