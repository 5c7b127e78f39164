"""Sigstore: keyless signing (online only) and offline verification with a pinned trusted root.

Verification never touches the network: the trusted root is a file (by default the production
root embedded in the installed sigstore-python wheel), and both the certificate identity and the
OIDC issuer are required, because identity is policy (THREATS.md rule 4). Signing needs an OIDC
token and Fulcio/Rekor; offline it fails at once with a clear message instead of hanging.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from leo.bundle import dsse, strict_json
from leo.bundle.reasons import BundleError, Reason, escape
from leo.errors import LeoError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from sigstore.models import TrustedRoot
    from sigstore.verify.policy import VerificationPolicy

MAX_BUNDLE_BYTES = 4 * 1024 * 1024
MAX_TLOG_ENTRIES = 8
MAX_TIMESTAMPS = 32
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
PROBE_HOST = "fulcio.sigstore.dev"
PROBE_TIMEOUT_S = 5.0
SIGN_TIMEOUT_S = 120.0


def embedded_production_root() -> Path:
    """The production trusted root shipped inside sigstore-python (pinned by its version)."""
    import sigstore

    return (
        Path(sigstore.__file__).parent
        / "_store"
        / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        / "trusted_root.json"
    )


def load_trusted_root(path: Path | None) -> TrustedRoot:
    """A ``TrustedRoot`` from a trusted-root file or a ClientTrustConfig file."""
    from sigstore.models import ClientTrustConfig, TrustedRoot

    path = path or embedded_production_root()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LeoError(f"cannot read --trusted-root {path}: {exc.strerror}") from None

    def from_config() -> TrustedRoot:
        return ClientTrustConfig.from_json(raw.decode()).trusted_root

    def from_file() -> TrustedRoot:
        return TrustedRoot.from_file(str(path))

    errors = []
    for load in (from_file, from_config):
        try:
            return load()
        except Exception as exc:  # sigstore raises pydantic, ValueError and its own Error
            errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    raise BundleError(
        "sigstore.trusted_root",
        f"{path} is neither a Sigstore trusted root nor a client trust config ({errors[0]})",
    )


def precheck(raw: bytes) -> dict[str, Any]:
    """Bound the bundle before sigstore parses it (cosign CVE-2023-46737; GHSA-cq38-jh5f-37mq)."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(
            "sigstore.malformed", f"the Sigstore bundle is larger than {MAX_BUNDLE_BYTES} bytes"
        )
    try:
        doc = strict_json.loads(raw, what="the Sigstore bundle")
    except BundleError as exc:
        raise BundleError("sigstore.malformed", exc.detail) from None
    material = doc.get("verificationMaterial") if isinstance(doc, dict) else None
    if not isinstance(material, dict):
        raise BundleError("sigstore.malformed", "the Sigstore bundle has no verificationMaterial")
    tlog = material.get("tlogEntries") or []
    stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
    if not isinstance(tlog, list) or len(tlog) > MAX_TLOG_ENTRIES:
        raise BundleError(
            "sigstore.malformed",
            f"the Sigstore bundle has more than {MAX_TLOG_ENTRIES} tlog entries",
        )
    if not isinstance(stamps, list) or len(stamps) > MAX_TIMESTAMPS:
        raise BundleError(
            "sigstore.malformed", f"the Sigstore bundle has more than {MAX_TIMESTAMPS} timestamps"
        )
    assert isinstance(doc, dict)
    return doc


def _classify(message: str) -> Reason:
    lowered = message.lower()
    # Chain-building failures mention an "issuer certificate": not an identity mismatch
    # (sigstore 4.5.0 words a wrong trusted root that way).
    if "certificate chain" in lowered or "issuer certificate" in lowered:
        return "sigstore.invalid"
    if "san" in lowered or "issuer" in lowered or "identity" in lowered:
        return "signature.identity_mismatch"
    if "digest mismatch" in lowered:
        return "attestation.subject_digest_mismatch"
    return "sigstore.invalid"


@dataclass(frozen=True)
class Verified:
    """A verified Sigstore bundle: the DSSE payload (if any) and what it was checked against."""

    payload_type: str | None
    payload: bytes | None
    identity: str
    issuer: str
    certificate: Certificate | None = None
    """The verified signing certificate (its Fulcio extensions name the workflow run)."""


def verify(
    raw: bytes,
    *,
    identity: str,
    issuer: str,
    trusted_root: Path | None,
    artifact: bytes | None = None,
) -> Verified:
    """Verify the Sigstore bundle ``raw`` offline; for a message-signature bundle, over ``artifact``."""
    from sigstore.verify.policy import Identity

    if not identity or not issuer:
        raise LeoError("Sigstore verification needs both --identity and --issuer; pin the signer")
    verified = verify_with_policy(
        raw,
        Identity(identity=identity, issuer=issuer),
        trusted_root=trusted_root,
        artifact=artifact,
    )
    return Verified(verified.payload_type, verified.payload, identity, issuer, verified.certificate)


def verify_with_policy(
    raw: bytes, policy: VerificationPolicy, *, trusted_root: Path | None, artifact: bytes | None
) -> Verified:
    """Verify ``raw`` offline against any sigstore-python verification ``policy``."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier

    # The bundle's content is a oneof of ``messageSignature`` and ``dsseEnvelope`` (Sigstore
    # bundle spec); read which from the document rather than from sigstore's internals.
    is_dsse = "dsseEnvelope" in precheck(raw)
    root = load_trusted_root(trusted_root)
    try:
        bundle = Bundle.from_json(raw)
    except Exception as exc:  # InvalidBundle, pydantic and protobuf errors alike
        raise BundleError(
            "sigstore.malformed", f"the Sigstore bundle does not parse: {escape(str(exc), 200)}"
        ) from None
    verifier = Verifier(trusted_root=root)
    certificate = bundle.signing_certificate
    try:
        if is_dsse:
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            return Verified(payload_type, payload, "", "", certificate)
        if artifact is None:
            raise BundleError(
                "sigstore.invalid", "the Sigstore bundle signs a message, not a DSSE envelope"
            )
        verifier.verify_artifact(artifact, bundle, policy)
    except SigstoreError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(
            _classify(message), f"Sigstore verification failed: {escape(message, 200)}"
        ) from None
    except ValueError as exc:  # malformed certificates and timestamps surface as ValueError
        raise BundleError(
            "sigstore.invalid", f"Sigstore verification failed: {escape(str(exc), 200)}"
        ) from None
    return Verified(None, None, "", "", certificate)


def statement_subjects(payload_type: str | None, payload: bytes) -> tuple[dict[str, Any], set[str]]:
    """The verified in-toto Statement and its sha256 subject digests."""
    if payload_type != dsse.INTOTO_PAYLOAD_TYPE:
        raise BundleError(
            "attestation.payload_type",
            f"payloadType is {escape(str(payload_type))!r}, expected {dsse.INTOTO_PAYLOAD_TYPE}",
        )
    doc = strict_json.loads(payload, what="the in-toto Statement")
    if not isinstance(doc, dict) or doc.get("_type") not in STATEMENT_TYPES:
        raise BundleError("attestation.statement_type", "the payload is not an in-toto Statement")
    digests = set()
    for subject in doc.get("subject") or []:
        sha = subject.get("digest", {}).get("sha256") if isinstance(subject, dict) else None
        if isinstance(sha, str):
            digests.add(sha)
    return doc, digests


def verify_artifact(
    artifact: bytes, raw: bytes, *, identity: str, issuer: str, trusted_root: Path | None
) -> str:
    """``leo attest verify``: the bundle verifies and covers ``artifact``; returns a summary."""
    verified = verify(
        raw, identity=identity, issuer=issuer, trusted_root=trusted_root, artifact=artifact
    )
    digest = hashlib.sha256(artifact).hexdigest()
    if verified.payload is None:
        return f"message signature over sha256 {digest} by {identity} ({issuer})"
    doc, digests = statement_subjects(verified.payload_type, verified.payload)
    if digest not in digests:
        raise BundleError(
            "attestation.subject_digest_mismatch",
            f"the attestation's subjects do not include the artifact's sha256 {digest}",
        )
    return f"in-toto attestation ({escape(str(doc.get('predicateType')))}) over sha256 {digest} by {identity} ({issuer})"


async def sign(payload: bytes) -> tuple[dsse.Envelope, bytes]:
    """Sign ``payload`` keylessly; return the DSSE envelope and the Sigstore bundle JSON."""
    token = os.environ.get("SIGSTORE_ID_TOKEN", "")
    if not token:
        raise LeoError(
            "--sign sigstore needs an OIDC identity token in SIGSTORE_ID_TOKEN and network access "
            "to Fulcio and Rekor; offline, sign with --sign key:PATH (see `leo key generate`)"
        )

    def probe() -> None:
        with socket.create_connection((PROBE_HOST, 443), timeout=PROBE_TIMEOUT_S):
            pass

    failure = "timed out"
    with anyio.move_on_after(PROBE_TIMEOUT_S):
        try:
            await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
            failure = ""
        except OSError as exc:
            failure = str(exc) or type(exc).__name__
    if failure:
        raise LeoError(
            f"--sign sigstore cannot reach {PROBE_HOST} ({failure}): Sigstore needs the network; "
            "offline, sign with --sign key:PATH (see `leo key generate`)"
        )

    def sign_online() -> bytes:
        from sigstore.dsse import Statement
        from sigstore.models import ClientTrustConfig
        from sigstore.oidc import IdentityToken
        from sigstore.sign import SigningContext

        context = SigningContext.from_trust_config(ClientTrustConfig.production())
        with context.signer(IdentityToken(token), cache=True) as signer:
            return signer.sign_dsse(Statement(payload)).to_json().encode("utf-8")

    result: bytes | None = None
    with anyio.move_on_after(SIGN_TIMEOUT_S):
        try:
            result = await anyio.to_thread.run_sync(sign_online, abandon_on_cancel=True)
        except Exception as exc:  # network, OIDC and Fulcio errors: one sentence, no traceback
            raise LeoError(
                f"Sigstore signing failed: {escape(str(exc), 200)}; or sign with --sign key:PATH"
            ) from None
    if result is None:
        raise LeoError(
            f"Sigstore signing did not finish in {SIGN_TIMEOUT_S:.0f}s; or sign with --sign key:PATH"
        )
    envelope_doc = json.loads(result)["dsseEnvelope"]
    return dsse.parse_envelope(json.dumps(envelope_doc).encode()), result
