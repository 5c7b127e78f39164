"""Sigstore bundles signed with a managed key (no Fulcio certificate), verified offline.

sigstore-python verifies certificate bundles only, so LEO checks a public-key bundle itself,
with the same discipline: the signature over the artifact (or the DSSE PAE) with the key the
verifier was given, and every transparency-log entry against a log the trusted root lists:
its inclusion proof up to a checkpoint the log signed, its signed entry timestamp, and a body
that records this very signature, key and digest (the CVE-2022-36056 class: an entry for
something else). Formats: Sigstore bundle v0.1-v0.3, Rekor v1 entries (hashedrekord and dsse
0.0.1), RFC 9162 inclusion proofs, C2SP signed-note checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.bundle import dsse, keyless, strict_json
from leo.bundle.reasons import BundleError, escape
from leo.errors import LeoError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

MAX_PROOF_HASHES = 64
SUPPORTED_ENTRIES = (("hashedrekord", "0.0.1"), ("dsse", "0.0.1"))


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BundleError("sigstore.malformed", f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError("sigstore.malformed", f"{what} is not base64") from None


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise BundleError("sigstore.malformed", f"{what} is not a non-negative integer")
    return int(value)


def _field(doc: Any, *path: str) -> Any:
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BundleError("sigstore.malformed", f"the bundle lacks {'.'.join(path)}")
        value = value[key]
    return value


def load_public_key(pem: bytes, what: str) -> PublicKeyTypes:
    """An ECDSA P-256/P-384 or Ed25519 public key from PEM (or DER) bytes."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    try:
        key = (
            load_pem_public_key(pem)
            if pem.lstrip().startswith(b"-----")
            else load_der_public_key(pem)
        )
    except (ValueError, TypeError) as exc:
        raise LeoError(f"{what} is not a public key ({exc})") from None
    if isinstance(key, ed25519.Ed25519PublicKey) or (
        isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in ("secp256r1", "secp384r1")
    ):
        return key
    raise LeoError(f"{what} is neither an ECDSA P-256/P-384 nor an Ed25519 key")


def _spki(key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def signature_valid(key: PublicKeyTypes, signature: bytes, data: bytes) -> bool:
    """ECDSA (SHA-256 for P-256, SHA-384 for P-384, DER signature) or Ed25519 over ``data``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            digest = hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
            key.verify(signature, data, ec.ECDSA(digest))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def transparency_logs(trusted_root: Path | None) -> dict[bytes, PublicKeyTypes]:
    """Log id -> key of every transparency log in the trusted root (or client trust config)."""
    path = trusted_root or keyless.embedded_production_root()
    try:
        doc = strict_json.loads(path.read_bytes(), what=f"the trusted root {path}")
    except OSError as exc:
        raise LeoError(f"cannot read --trusted-root {path}: {exc.strerror}") from None
    if isinstance(doc, dict) and isinstance(doc.get("trustedRoot"), dict):
        doc = doc["trustedRoot"]
    tlogs = doc.get("tlogs") if isinstance(doc, dict) else None
    if not isinstance(tlogs, list) or not tlogs:
        raise BundleError("sigstore.trusted_root", f"{path} lists no transparency logs")
    logs: dict[bytes, PublicKeyTypes] = {}
    for log in tlogs:
        keyid = _b64(_field(log, "logId", "keyId"), "a log id")
        try:
            logs[keyid] = load_public_key(
                _b64(_field(log, "publicKey", "rawBytes"), "a log key"), "a log key"
            )
        except LeoError:
            continue  # a log with a key type LEO does not check cannot vouch for anything
    return logs


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root hash the proof leads to from leaf ``index``."""
    if not 0 <= index < size or len(proof) > MAX_PROOF_HASHES:
        raise BundleError("sigstore.invalid", "the inclusion proof does not fit the tree")
    fn, sn = index, size - 1
    node = hashlib.sha256(b"\x00" + leaf).digest()
    for sibling in proof:
        if sn == 0:
            raise BundleError("sigstore.invalid", "the inclusion proof is too long")
        if fn & 1 or fn == sn:
            node = _hash_children(sibling, node)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = _hash_children(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise BundleError("sigstore.invalid", "the inclusion proof is too short")
    return node


def verify_checkpoint(envelope: str, root: bytes, size: int, key: PublicKeyTypes) -> None:
    """The signed note commits to ``size`` and ``root`` and carries the log's signature."""
    body, sep, signatures = envelope.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise BundleError("sigstore.malformed", "the checkpoint is not a signed note")
    if lines[1] != str(size) or _b64(lines[2], "the checkpoint root") != root:
        raise BundleError(
            "sigstore.invalid", "the checkpoint does not commit to the proof's tree size and root"
        )
    message = (body + "\n").encode("utf-8")
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        raw = _b64(line.rsplit(" ", 1)[-1], "a checkpoint signature")
        if len(raw) > 4 and signature_valid(key, raw[4:], message):
            return
    raise BundleError("sigstore.invalid", "the checkpoint is not signed by the log")


def verify_entry(
    entry: Any, logs: dict[bytes, PublicKeyTypes], check_body: Callable[[dict[str, Any]], None]
) -> None:
    """One Rekor v1 entry: a listed log, proof and checkpoint or promise, and its body."""
    kind = (_field(entry, "kindVersion", "kind"), _field(entry, "kindVersion", "version"))
    if kind not in SUPPORTED_ENTRIES:
        raise BundleError(
            "sigstore.invalid",
            f"transparency-log entries of kind {escape(str(kind))} are not supported with --key",
        )
    keyid = _b64(_field(entry, "logId", "keyId"), "the log id")
    key = logs.get(keyid)
    if key is None:
        raise BundleError(
            "sigstore.invalid", "the tlog entry is from a log the trusted root does not list"
        )
    body_b64 = _field(entry, "canonicalizedBody")
    body = _b64(body_b64, "the tlog body")
    proof, promise = entry.get("inclusionProof"), entry.get("inclusionPromise")
    if not proof and not promise:
        raise BundleError("sigstore.malformed", "the tlog entry has no inclusion proof or promise")
    if proof:
        hashes = _field(proof, "hashes")
        if not isinstance(hashes, list):
            raise BundleError("sigstore.malformed", "the inclusion proof has no hashes")
        size = _int(_field(proof, "treeSize"), "the tree size")
        index = _int(_field(proof, "logIndex"), "the proof's log index")
        root = root_from_inclusion_proof(
            index, size, body, [_b64(h, "a proof hash") for h in hashes]
        )
        if root != _b64(_field(proof, "rootHash"), "the root hash"):
            raise BundleError("sigstore.invalid", "the inclusion proof does not lead to its root")
        verify_checkpoint(_field(proof, "checkpoint", "envelope"), root, size, key)
    if promise:
        payload = {
            "body": body_b64,
            "integratedTime": _int(_field(entry, "integratedTime"), "the integrated time"),
            "logID": keyid.hex(),
            "logIndex": _int(_field(entry, "logIndex"), "the log index"),
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        set_signature = _b64(_field(promise, "signedEntryTimestamp"), "the signed entry timestamp")
        if not signature_valid(key, set_signature, canonical):
            raise BundleError("sigstore.invalid", "the signed entry timestamp does not verify")
    doc = strict_json.loads(body, what="the tlog body")
    if not isinstance(doc, dict) or (doc.get("kind"), doc.get("apiVersion")) != kind:
        raise BundleError("sigstore.invalid", "the tlog body is not the entry's kind")
    check_body(doc)


def _same_key(encoded: Any, key: PublicKeyTypes) -> bool:
    try:
        recorded = load_public_key(_b64(encoded, "the recorded key"), "the recorded key")
    except LeoError:
        return False
    return _spki(recorded) == _spki(key)


def verify(artifact: bytes, raw: bytes, public_key: bytes, *, trusted_root: Path | None) -> str:
    """``leo attest verify --bundle B --key PUB``: the bundle signs ``artifact`` with the key."""
    doc = keyless.precheck(raw)
    key = load_public_key(public_key, "--key")
    material = doc["verificationMaterial"]
    if "publicKey" not in material:
        raise BundleError(
            "sigstore.invalid",
            "the bundle carries a certificate, not a managed key; verify it with --identity "
            "and --issuer",
        )
    digest = hashlib.sha256(artifact).digest()
    if "messageSignature" in doc:
        signature = _b64(_field(doc, "messageSignature", "signature"), "the signature")
        recorded = _field(doc, "messageSignature", "messageDigest")
        if _b64(_field(recorded, "digest"), "the message digest") != digest:
            raise BundleError(
                "attestation.subject_digest_mismatch", "the bundle signs another artifact"
            )
        if not signature_valid(key, signature, artifact):
            raise BundleError("signature.invalid", "the signature does not verify with --key")

        def check_body(body: dict[str, Any]) -> None:
            spec = body.get("spec") or {}
            if (
                _field(spec, "data", "hash", "value") != digest.hex()
                or _b64(_field(spec, "signature", "content"), "the recorded signature") != signature
                or not _same_key(_field(spec, "signature", "publicKey", "content"), key)
            ):
                raise BundleError(
                    "sigstore.invalid",
                    "the transparency log entry is inconsistent with the bundle (another "
                    "signature, key or artifact)",
                )

        summary = f"message signature over sha256 {digest.hex()}"
    elif "dsseEnvelope" in doc:
        envelope = dsse.parse_envelope(json.dumps(doc["dsseEnvelope"]).encode())
        if len(envelope.signatures) != 1:
            raise BundleError(
                "dsse.malformed", "a Sigstore DSSE envelope has exactly one signature"
            )
        signature = envelope.signatures[0].sig
        if not signature_valid(key, signature, dsse.pae(envelope.payload_type, envelope.payload)):
            raise BundleError("signature.invalid", "the DSSE signature does not verify with --key")
        statement, digests = keyless.statement_subjects(envelope.payload_type, envelope.payload)
        if digest.hex() not in digests:
            raise BundleError(
                "attestation.subject_digest_mismatch",
                f"the attestation's subjects do not include the artifact's sha256 {digest.hex()}",
            )

        def check_body(body: dict[str, Any]) -> None:
            spec = body.get("spec") or {}
            recorded = _field(spec, "signatures")
            if (
                _field(spec, "payloadHash", "value") != hashlib.sha256(envelope.payload).hexdigest()
                or not isinstance(recorded, list)
                or len(recorded) != 1
                or _b64(_field(recorded[0], "signature"), "the recorded signature") != signature
                or not _same_key(_field(recorded[0], "verifier"), key)
            ):
                raise BundleError(
                    "sigstore.invalid",
                    "the transparency log entry is inconsistent with the bundle (another "
                    "envelope, signature or key)",
                )

        predicate = escape(str(statement.get("predicateType")))
        summary = f"in-toto attestation ({predicate}) over sha256 {digest.hex()}"
    else:
        raise BundleError("sigstore.malformed", "the bundle holds neither a signature nor DSSE")
    entries = material.get("tlogEntries")
    if not isinstance(entries, list) or not entries:
        raise BundleError("sigstore.malformed", "the bundle has no transparency-log entry")
    logs = transparency_logs(trusted_root)
    for entry in entries:
        verify_entry(entry, logs, check_body)
    return f"{summary} by the managed key sha256:{hashlib.sha256(_spki(key)).hexdigest()[:16]}"
