"""Signing: how a signature is asked for (``--sign key:PATH|gpg:KEYID|sigstore``) and the
DSSE envelope it makes. Builder bundles, policy bundles and LEO's own verdict (the VSA,
``leo.bundle.vsa``) are all signed here, so they are signed alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leo.bundle import dsse
from leo.errors import LeoError


@dataclass(frozen=True)
class SignSpec:
    """How to sign: ``key:PATH``, ``gpg:KEYID``, ``sigstore`` or nothing."""

    kind: str
    value: str = ""

    @classmethod
    def parse(cls, text: str | None) -> SignSpec:
        if not text:
            return cls("none")
        if text == "sigstore":
            return cls("sigstore")
        kind, sep, value = text.partition(":")
        if sep and kind in ("key", "gpg") and value:
            return cls(kind, value)
        msg = f"--sign {text!r} is not understood; use key:PATH, gpg:KEYID or sigstore"
        raise LeoError(msg)

    @property
    def runs_program(self) -> bool:
        """Whether signing runs a program (gpg) or a network flow (Sigstore): ``sign_payload``
        then needs an event loop; with a key or unsigned, ``sign_offline`` does it."""
        return self.kind in ("gpg", "sigstore")


def sign_offline(
    spec: SignSpec, payload: bytes, payload_type: str = dsse.INTOTO_PAYLOAD_TYPE
) -> dsse.Envelope:
    """``sign_payload`` for a ``spec`` that runs no program: with a key, or unsigned."""
    if spec.runs_program:
        raise LeoError(f"--sign {spec.kind} runs a program; sign with sign_payload")
    if spec.kind == "none":
        return dsse.Envelope(payload_type, payload, ())
    from leo.bundle import keys

    signer = keys.load_signer(Path(spec.value))
    message = dsse.pae(payload_type, payload)
    return dsse.Envelope(payload_type, payload, (keys.sign(signer, message),))


async def sign_payload(
    spec: SignSpec, payload: bytes, payload_type: str = dsse.INTOTO_PAYLOAD_TYPE
) -> tuple[dsse.Envelope, bytes | None]:
    """A DSSE envelope of ``payload`` signed as ``spec`` says, and the Sigstore bundle when
    signed keylessly. Builder bundles and LEO's own verdict (VSA) are signed this way."""
    if not spec.runs_program:
        return sign_offline(spec, payload, payload_type), None
    message = dsse.pae(payload_type, payload)
    if spec.kind == "gpg":
        from leo.bundle import gpg

        signature = await gpg.sign(spec.value, message)
        return dsse.Envelope(payload_type, payload, (signature,)), None
    if payload_type != dsse.INTOTO_PAYLOAD_TYPE:
        msg = f"--sign sigstore signs only in-toto payloads, not {payload_type}"
        raise LeoError(msg)
    from leo.bundle import keyless

    return await keyless.sign(payload)
