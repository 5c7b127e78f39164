"""GPG signatures over DSSE envelopes through the ``gpg`` and ``gpgv`` binaries (the SOP's fallback).

The DSSE ``sig`` is a binary detached OpenPGP signature over the PAE bytes; the key id is
``gpg:<KEYID as given>``. Verification uses ``gpgv`` against exactly the keyring the enforcer
passes, never the user's default keyring, and trusts only a ``VALIDSIG`` status line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from leo.bundle.dsse import Signature
from leo.bundle.reasons import BundleError
from leo.errors import LeoError, ToolNotFoundError
from leo.process import run_tool

TIMEOUT_S = 60.0


async def sign(keyid: str, message: bytes) -> Signature:
    """Sign ``message`` with the secret key ``keyid`` from the user's gpg keyring."""
    argv = ["gpg", "--batch", "--yes", "--local-user", keyid, "--detach-sign", "--output", "-"]
    try:
        result = await run_tool(argv, stdin=message, timeout=TIMEOUT_S)
    except ToolNotFoundError:
        msg = "--sign gpg:KEYID needs the gpg binary, which is not installed; install gnupg or use --sign key:PATH"
        raise LeoError(msg) from None
    if result.returncode != 0 or not result.stdout:
        reason = "timed out" if result.timed_out else result.stderr_text.strip()[-300:]
        raise LeoError(
            f"gpg could not sign with key {keyid!r}: {reason}; check `gpg --list-secret-keys`"
        )
    return Signature(f"gpg:{keyid}", result.stdout)


async def check(keyring: Path, signature: Signature, message: bytes) -> str | None:
    """The signing key's fingerprint when ``signature`` verifies against ``keyring``, else None."""
    if not keyring.is_file():
        raise LeoError(
            f"--gpg-keyring {keyring} is not a file; export the builder's public key with `gpg --export KEYID > FILE`"
        )
    with tempfile.TemporaryDirectory(prefix="leo-gpgv-") as tmp:
        sig_path = Path(tmp, "sig")
        sig_path.write_bytes(signature.sig)
        env = {**os.environ, "GNUPGHOME": tmp, "LC_ALL": "C"}
        argv = ["gpgv", "--keyring", str(keyring.resolve()), "--status-fd", "1", str(sig_path), "-"]
        try:
            result = await run_tool(argv, stdin=message, env=env, timeout=TIMEOUT_S)
        except ToolNotFoundError:
            raise BundleError(
                "signature.unavailable",
                "verifying a gpg signature needs gpgv, which is not installed",
            ) from None
    if result.returncode != 0:
        return None
    for line in result.stdout_text.splitlines():
        fields = line.split()
        if fields[:2] == ["[GNUPG:]", "VALIDSIG"] and len(fields) > 2:
            return f"gpg:{fields[2]}"
    return None
