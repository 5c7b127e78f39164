"""Offline ed25519 keys for DSSE through securesystemslib: generate, load, sign, check.

This is the offline fallback the SOP asks for when Sigstore is out of reach. The private key is
PKCS#8 PEM (mode 0600), the public key SubjectPublicKeyInfo PEM; the key id is
securesystemslib's default (sha256 of the canonical public key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from leo.bundle.dsse import Check, Signature
from leo.errors import LeoError

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner, SSlibKey  # type: ignore[attr-defined]


def generate(prefix: Path) -> tuple[Path, Path, str]:
    """Write a new key pair to ``prefix`` and ``prefix.pub``; return both paths and the key id."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

    private, public = prefix, prefix.with_name(prefix.name + ".pub")
    for path in (private, public):
        if path.exists():
            msg = f"{path} already exists; choose another --output prefix or remove it"
            raise LeoError(msg)
    key = Ed25519PrivateKey.generate()
    signer = CryptoSigner(key)
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        private.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(signer.private_bytes)
        public.write_bytes(pub_pem)
    except OSError as exc:
        raise LeoError(f"cannot write the key pair at {prefix}: {exc.strerror}") from None
    return private, public, signer.public_key.keyid


def load_signer(path: Path) -> CryptoSigner:
    """The signer of the ed25519 private key PEM at ``path``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot load the private key {path} ({exc}); pass a key from `leo key generate`"
        raise LeoError(msg) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LeoError(f"{path} is not an ed25519 private key; use `leo key generate`")
    return CryptoSigner(key)


def load_public(path: Path) -> SSlibKey:
    """The securesystemslib key of the ed25519 public key PEM at ``path``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]

    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        msg = f"cannot load the public key {path} ({exc}); pass the .pub file of `leo key generate`"
        raise LeoError(msg) from None
    if not isinstance(key, Ed25519PublicKey):
        raise LeoError(f"{path} is not an ed25519 public key")
    return SSlibKey.from_crypto(key)


def sign(signer: CryptoSigner, message: bytes) -> Signature:
    """The DSSE signature of ``message`` (the PAE bytes) by ``signer``."""
    sig = signer.sign(message)
    return Signature(sig.keyid, bytes.fromhex(sig.signature))


def checker_for(key: SSlibKey) -> Check:
    """A DSSE check for ``dsse.verify``: the signer's name when the signature verifies."""
    from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
    from securesystemslib.signer import Signature as SslibSignature  # type: ignore[attr-defined]

    def check(signature: Signature, message: bytes) -> str | None:
        # The keyid is covered too: an envelope whose keyid was altered is not LEO's output.
        if signature.keyid != key.keyid:
            return None
        try:
            key.verify_signature(SslibSignature(key.keyid, signature.sig.hex()), message)
        except (UnverifiedSignatureError, VerificationError):
            return None
        return f"key:{key.keyid}"

    return check
