"""Read a bundle without extracting it: every member is checked, then held in memory.

Nothing from the archive ever touches the disk, which sidesteps the whole class of
extraction-filter bypasses (PEP 706; CVE-2025-4517 and friends; THREATS.md A-00). Only regular
files with names from a fixed allow-list are accepted; links, devices, duplicates, odd names
and oversized input fail closed with a reason code.
"""

from __future__ import annotations

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
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"


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
    """The members of the compressed tar ``data``, each name passed by ``check_name``, in
    memory: format 2 is one zstd frame, format 1 (before issue 20) one gzip member."""
    if len(data) > MAX_COMPRESSED:
        raise BundleError("bundle.too_large", f"the archive is larger than {MAX_COMPRESSED} bytes")
    if data[:4] == _ZSTD_MAGIC:
        raw = _unzstd(data)
    elif data[:2] == _GZIP_MAGIC:
        raw = _gunzip(data)
    else:
        msg = "the file is not a zstd- or gzip-compressed tar archive"
        raise BundleError("bundle.format", msg)
    members: dict[str, bytes] = {}
    view = memoryview(raw)
    try:
        # In memory, random access: each member is one slice of the decompressed bytes. The
        # streaming reader this replaces copied every byte through four buffers (0.9 s of the
        # 24 MiB benchmark, benchmarks/RESULTS.md (6)).
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_members:
                    msg = f"the archive has more than {max_members} members"
                    raise BundleError("bundle.too_many_members", msg)
                check_name(member.name)
                _check_member(member, members)
                content = bytes(view[member.offset_data : member.offset_data + member.size])
                if len(content) != member.size:
                    msg = f"member {member.name!r} is truncated"
                    raise BundleError("bundle.malformed", msg)
                members[member.name] = content
            end = tar.offset
    except BundleError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as exc:
        raise BundleError("bundle.malformed", f"the archive is corrupt: {exc}") from None
    # Everything from the end-of-archive marker on must be zero padding: trailing data is a
    # second, hidden payload that another reader might see. (tarfile ends the archive quietly
    # at a block it cannot parse, so the check starts at that block.)
    if raw[end:].strip(b"\0"):
        raise BundleError("bundle.malformed", "data follows the end of the archive")
    return members


def _unzstd(data: bytes) -> bytes:
    """The one zstd frame ``data`` holds, which must declare its size, at most ``MAX_TOTAL``
    bytes (zstd bombs), and carry a checksum. Any byte after the frame is refused, as for gzip."""
    try:
        import zstandard
    except ImportError:
        msg = "this bundle is zstd-compressed and zstandard is not installed; install leo-gate[bundle]"
        raise BundleError("bundle.format", msg) from None
    try:
        frame = zstandard.get_frame_parameters(data)
        if frame.content_size == zstandard.CONTENTSIZE_UNKNOWN or not frame.has_checksum:
            msg = "the zstd frame does not declare its size and checksum, as LEO writes it"
            raise BundleError("bundle.malformed", msg)
        if frame.content_size > MAX_TOTAL:
            msg = f"the archive decompresses to more than {MAX_TOTAL} bytes"
            raise BundleError("bundle.too_large", msg)
        # One frame, of exactly its declared size (libzstd checks both), and nothing after it.
        return zstandard.ZstdDecompressor().decompress(data, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise BundleError("bundle.malformed", f"the archive is corrupt: {exc}") from None


def _gunzip(data: bytes) -> bytes:
    """The one gzip member ``data`` holds, at most ``MAX_TOTAL`` bytes of it (gzip bombs).

    A second gzip member or any byte after the first is refused: LEO writes one, and a reader
    that stops after the first would see another archive than one that reads on.
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data, MAX_TOTAL + 1)
    except zlib.error as exc:
        raise BundleError("bundle.malformed", f"the archive is corrupt: {exc}") from None
    if len(raw) > MAX_TOTAL or inflater.unconsumed_tail:
        msg = f"the archive decompresses to more than {MAX_TOTAL} bytes"
        raise BundleError("bundle.too_large", msg)
    if not inflater.eof:
        raise BundleError(
            "bundle.malformed", "the archive is truncated (the gzip stream ends early)"
        )
    if inflater.unused_data:
        raise BundleError("bundle.malformed", "data follows the end of the gzip stream")
    return raw


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
