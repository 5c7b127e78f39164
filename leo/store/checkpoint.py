"""Signed checkpoints of the audit chain, kept outside the database.

The chain's hashes are unkeyed, so whoever can write the database can rewrite rows and re-chain
every later one consistently, or delete the newest rows (THREATS F-09). A checkpoint — the chain
head's seq and hash, signed with a LEO key and stored elsewhere (object storage, git notes, a
ticket) — makes both detectable: the row at that seq must still carry that hash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.errors import LeoError
from leo.files import write_atomically

if TYPE_CHECKING:
    from leo.store.chain import ChainCheck

PAYLOAD_TYPE = "application/vnd.leo.audit-checkpoint+json"
#: No checkpoint LEO writes comes near this; a bigger file is refused unread.
MAX_CHECKPOINT_BYTES = 64 * 1024


class CheckpointError(LeoError):
    """A checkpoint that cannot be trusted: unreadable, unsigned, signed by another key, malformed."""


def checkpoint_payload(check: ChainCheck, *, now: datetime | None = None) -> bytes:
    """The signed bytes: the head of an intact chain and when it was taken."""
    if not check.intact:
        msg = f"the audit chain is broken ({check.problem}); a checkpoint would vouch for it"
        raise CheckpointError(msg)
    doc = {
        "type": "leo-audit-checkpoint/v1",
        "seq": check.head_seq,
        "hash": check.head_hash,
        "rows": check.rows,
        "taken_at": (now or datetime.now(UTC)).isoformat(),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def write_checkpoint(check: ChainCheck, path: Path, sign_spec: str) -> dict[str, Any]:
    """Sign the checkpoint of ``check`` as ``sign_spec`` says and write it atomically to ``path``."""
    from leo.bundle.vsa import sign_envelope

    payload = checkpoint_payload(check)
    text = sign_envelope(PAYLOAD_TYPE, payload, sign_spec)
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise LeoError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
    doc: dict[str, Any] = json.loads(payload)
    return doc


def read_checkpoint(path: Path, public_key: Path) -> dict[str, Any]:
    """The checkpoint at ``path``, read only from bytes signed by ``public_key``."""
    from leo.bundle import dsse, keys, strict_json
    from leo.bundle.reasons import BundleError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LeoError(f"cannot read the checkpoint {path}: {exc.strerror}") from None
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path} is larger than any checkpoint LEO writes")
    check = keys.checker_for(keys.load_public(public_key))
    try:
        env = dsse.parse_envelope(data)
        if env.payload_type != PAYLOAD_TYPE:
            raise CheckpointError(f"{path} is not a LEO audit checkpoint ({env.payload_type})")
        if not env.signatures:
            raise CheckpointError(f"the checkpoint {path} is unsigned")
        _signer, payload = dsse.verify(env, check)
        doc = strict_json.loads(payload.decode("utf-8", "replace"), what="the checkpoint")
    except BundleError as exc:
        raise CheckpointError(f"the checkpoint {path} does not verify: {exc}") from None
    if not (
        isinstance(doc, dict)
        and doc.get("type") == "leo-audit-checkpoint/v1"
        and isinstance(doc.get("seq"), int)
        and isinstance(doc.get("hash"), str)
        and len(doc["hash"]) == 64
    ):
        raise CheckpointError(f"the signed checkpoint {path} is malformed")
    return doc


def problem_against(doc: dict[str, Any], hash_at_seq: str | None) -> str | None:
    """Why the store contradicts the checkpoint ``doc``, or None when it carries it."""
    if hash_at_seq is None:
        return (
            f"the row at seq {doc['seq']}, which the checkpoint of {doc.get('taken_at')} vouches "
            "for, is gone (rows were deleted or the database was replaced)"
        )
    if hash_at_seq != doc["hash"]:
        return (
            f"the row at seq {doc['seq']} no longer carries the hash the checkpoint of "
            f"{doc.get('taken_at')} signed: the chain up to it was rewritten"
        )
    return None
