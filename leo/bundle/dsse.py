"""DSSE envelopes: the pre-authentication encoding, signing, and verify-then-read.

The signature covers ``PAE(payloadType, payload)``, so the type is bound into it. A verifier
hands on exactly the payload bytes the signature covered and nothing else (DSSE protocol;
CVE-2022-35929 was a type confusion in a verifier that re-read another copy). The encoding and
the envelope are securesystemslib's ``dsse`` module; LEO keeps the strict parsing (canonical
base64, no extra fields, no duplicate keys, bounded sizes) in front of it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leo.bundle import strict_json
from leo.bundle.reasons import BundleError

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_SIGNATURES = 8


def pae(payload_type: str, payload: bytes) -> bytes:
    """``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` (lengths in ASCII decimal)."""
    from securesystemslib.dsse import Envelope as SslibEnvelope

    return SslibEnvelope(payload, payload_type, {}).pae()


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> str:
        """The envelope's canonical JSON (securesystemslib's dict, sorted keys)."""
        from securesystemslib.dsse import Envelope as SslibEnvelope
        from securesystemslib.signer import Signature as SslibSignature  # type: ignore[attr-defined]

        signatures = {s.keyid: SslibSignature(s.keyid, s.sig.hex()) for s in self.signatures}
        if len(signatures) != len(self.signatures):
            raise ValueError("a DSSE envelope cannot carry two signatures with one keyid")
        doc = SslibEnvelope(self.payload, self.payload_type, signatures).to_dict()
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _b64(value: Any, what: str) -> bytes:
    # Standard alphabet with padding only: a second accepted spelling of the same bytes is a
    # second way to smuggle them past a check.
    if not isinstance(value, str):
        raise BundleError("dsse.malformed", f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError("dsse.malformed", f"{what} is not canonical base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise BundleError("dsse.malformed", f"{what} is not canonical base64")
    return raw


def parse_envelope(data: bytes) -> Envelope:
    """Parse a DSSE envelope (JSON, or one line of JSON Lines) strictly."""
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    if "\n" in text:
        raise BundleError("dsse.malformed", "the attestation file holds more than one envelope")
    doc = strict_json.loads(text, what="the DSSE envelope")
    if not isinstance(doc, dict) or set(doc) - {"payload", "payloadType", "signatures"}:
        raise BundleError("dsse.malformed", "the DSSE envelope has unexpected fields")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise BundleError("dsse.malformed", "the DSSE envelope has no payloadType")
    payload = _b64(doc.get("payload"), "the DSSE payload")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list):
        raise BundleError("dsse.malformed", "the DSSE envelope has no signatures list")
    if len(sigs) > MAX_SIGNATURES:
        raise BundleError(
            "dsse.malformed", f"the envelope has more than {MAX_SIGNATURES} signatures"
        )
    checked = []
    for entry in sigs:
        if (
            not isinstance(entry, dict)
            or set(entry) - {"keyid", "sig"}
            or not isinstance(entry.get("keyid", ""), str)
        ):
            raise BundleError("dsse.malformed", "a DSSE signature entry is malformed")
        _b64(entry.get("sig"), "a DSSE sig")
        checked.append({"keyid": entry.get("keyid", ""), "sig": entry["sig"]})
    from securesystemslib.dsse import Envelope as SslibEnvelope

    try:
        parsed = SslibEnvelope.from_dict(
            {"payload": doc["payload"], "payloadType": payload_type, "signatures": checked}
        )
    except (ValueError, KeyError) as exc:  # two signatures with one keyid
        raise BundleError("dsse.malformed", f"the DSSE envelope is malformed: {exc}") from None
    signatures = tuple(
        Signature(s.keyid, bytes.fromhex(s.signature)) for s in parsed.signatures.values()
    )
    if parsed.payload != payload:  # pragma: no cover - both decode the same checked base64
        raise BundleError("dsse.malformed", "the DSSE payload decodes two ways")
    return Envelope(payload_type, parsed.payload, signatures)


#: Checks one signature over the PAE bytes; returns the signer's name or None.
Check = Callable[[Signature, bytes], "str | None"]


def verify(envelope: Envelope, check: Check, *, trusted: Sequence[str] = ()) -> tuple[str, bytes]:
    """Verify ``envelope``; return ``(signer, payload)`` of exactly the verified bytes.

    ``trusted`` are the key ids the caller trusts, only to tell "wrong signer" from "bad sig".
    """
    if not envelope.signatures:
        raise BundleError("signature.missing", "the DSSE envelope is unsigned")
    message = pae(envelope.payload_type, envelope.payload)
    for signature in envelope.signatures:
        if not signature.sig:
            continue
        signer = check(signature, message)
        if signer is not None:
            return signer, envelope.payload
    if trusted and not any(s.keyid in trusted for s in envelope.signatures):
        keyids = ", ".join(s.keyid or "(none)" for s in envelope.signatures)
        raise BundleError(
            "signature.wrong_signer",
            f"the envelope is signed by {keyids}, not by the trusted key {', '.join(trusted)}",
        )
    raise BundleError(
        "signature.invalid", "no signature on the envelope verifies with the trusted key"
    )


def sign(
    payload_type: str, payload: bytes, signers: Sequence[Callable[[bytes], Signature]]
) -> Envelope:
    """Sign ``PAE(payload_type, payload)`` with each signer (none: an unsigned envelope)."""
    message = pae(payload_type, payload)
    return Envelope(payload_type, payload, tuple(s(message) for s in signers))
