"""Read a bundle without extracting it: every member is checked, then held in memory.

Nothing from the archive ever touches the disk, which sidesteps the whole class of
extraction-filter bypasses (PEP 706; CVE-2025-4517 and friends; THREATS.md A-00). Only regular
files with names from a fixed allow-list are accepted; links, devices, duplicates, odd names
and oversized input fail closed with a reason code.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from leo.bundle.reasons import BundleError, escape

PATCH = "changes.patch"
SBOM = "sbom.cdx.json"
PROVENANCE = "provenance.intoto.jsonl"
SIGSTORE = "provenance.sigstore.json"
ROLLBACK = "ROLLBACK.md"
MERGE_BASE = "MERGE_BASE"
REQUIRED = (PATCH, SBOM, PROVENANCE, ROLLBACK, MERGE_BASE)
ALLOWED = frozenset({*REQUIRED, SIGSTORE})

MAX_COMPRESSED = 64 * 1024 * 1024
MAX_MEMBER = 32 * 1024 * 1024
MAX_TOTAL = 96 * 1024 * 1024
MAX_MEMBERS = 16
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE)


@dataclass(frozen=True, repr=False)
class Bundle:
    """The members of a bundle, read into memory, and the sha256 of the archive bytes."""

    members: dict[str, bytes]
    digest: str

    def __getitem__(self, name: str) -> bytes:
        return self.members[name]

    def __repr__(self) -> str:
        # Sizes, not contents: asyncio's runner reprs the main task's result on the way out
        # (signal.getsignal), and the repr of 24 MiB of members took 0.6 s (benchmarks/).
        sizes = ", ".join(f"{n}: {len(d)} bytes" for n, d in self.members.items())
        return f"Bundle(sha256:{self.digest}, {{{sizes}}})"


class _Capped(io.RawIOBase):
    """A decompressed stream that refuses to yield more than ``limit`` bytes (gzip bombs)."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(buffer), self._left + 1))
        if len(chunk) > self._left:
            msg = f"the archive decompresses to more than {MAX_TOTAL} bytes"
            raise BundleError("bundle.too_large", msg)
        self._left -= len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def check_name(name: str) -> None:
    """Reject any member name that is not exactly one of the allow-listed names."""
    if name in ALLOWED:
        return
    shown = escape(name)
    if not name or not name.isascii() or not name.isprintable():
        raise BundleError("bundle.odd_name", f"member name {shown!r} is empty or not plain ASCII")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise BundleError("bundle.absolute_name", f"member {shown!r} has an absolute name")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise BundleError("bundle.path_traversal", f"member {shown!r} points outside the bundle")
    if "/".join(p for p in parts if p not in ("", ".")) in ALLOWED:
        raise BundleError("bundle.odd_name", f"member {shown!r} is a disguised allowed name")
    allowed = ", ".join(sorted(ALLOWED))
    raise BundleError("bundle.unexpected_member", f"member {shown!r} is not one of: {allowed}")


def read_bundle(data: bytes) -> Bundle:
    """Check and read the bundle ``data`` (the bytes of ``artifact.tar.gz``) in memory."""
    import hashlib

    members = read_archive(data, check_name=check_name, max_members=MAX_MEMBERS)
    missing = [name for name in REQUIRED if name not in members]
    if missing:
        raise BundleError("bundle.incomplete", f"the bundle lacks {', '.join(missing)}")
    return Bundle(members=members, digest=hashlib.sha256(data).hexdigest())


def read_archive(
    data: bytes, *, check_name: Callable[[str], None], max_members: int
) -> dict[str, bytes]:
    """The members of the ``tar.gz`` ``data``, each name passed by ``check_name``, in memory."""
    if len(data) > MAX_COMPRESSED:
        raise BundleError("bundle.too_large", f"the archive is larger than {MAX_COMPRESSED} bytes")
    if data[:2] != b"\x1f\x8b":
        raise BundleError("bundle.format", "the file is not a gzip-compressed tar archive")
    members: dict[str, bytes] = {}
    gz = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb")
    stream = io.BufferedReader(_Capped(gz, MAX_TOTAL))
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_members:
                    msg = f"the archive has more than {max_members} members"
                    raise BundleError("bundle.too_many_members", msg)
                check_name(member.name)
                _check_member(member, members)
                reader = tar.extractfile(member)
                if reader is None:  # pragma: no cover - regular members always have data
                    raise BundleError("bundle.malformed", f"member {member.name!r} has no data")
                content = reader.read(MAX_MEMBER + 1)
                if len(content) != member.size:
                    msg = f"member {member.name!r} is truncated"
                    raise BundleError("bundle.malformed", msg)
                members[member.name] = content
            # Everything after the end-of-archive marker must be zero padding: trailing data is
            # a second, hidden payload that another reader might see.
            while rest := stream.read(64 * 1024):
                if rest.strip(b"\0"):
                    raise BundleError("bundle.malformed", "data follows the end of the archive")
    except BundleError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError, UnicodeError) as exc:
        raise BundleError("bundle.malformed", f"the archive is corrupt: {exc}") from None
    return members


def _check_member(member: tarfile.TarInfo, seen: dict[str, bytes]) -> None:
    if member.type not in _REGULAR:
        raise BundleError(
            "bundle.non_regular_member",
            f"member {member.name!r} is not a regular file (links, devices and directories "
            "are never accepted)",
        )
    if member.name in seen:
        raise BundleError("bundle.duplicate_member", f"member {member.name!r} appears twice")
    if member.size > MAX_MEMBER:
        msg = f"member {member.name!r} is larger than {MAX_MEMBER} bytes"
        raise BundleError("bundle.too_large", msg)


def read_bundle_file(path: Path) -> Bundle:
    """``read_bundle`` on a file, with a size check before reading it."""
    try:
        size = path.stat().st_size
        if size > MAX_COMPRESSED:
            msg = f"the archive is larger than {MAX_COMPRESSED} bytes"
            raise BundleError("bundle.too_large", msg)
        data = path.read_bytes()
    except OSError as exc:
        from leo.errors import LeoError

        msg = f"cannot read bundle {path}: {exc.strerror}; pass an existing artifact.tar.gz"
        raise LeoError(msg) from None
    return read_bundle(data)
