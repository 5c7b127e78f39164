"""Archives a change adds or edits (tar, tar.gz/bz2/xz, zip), opened in memory within bounds.

Never extracted: a member path, link or device then means nothing to the file system, and the
long history of extraction bypasses (PEP 706's filters, CVE-2025-4517 and friends) does not
apply. Decompression is read a chunk at a time, so a bomb stops at the bound, not at the end.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

#: Members an archive may hold before LEO stops reading it (a million empty members cost time,
#: not bytes).
MAX_MEMBERS = 10_000
_CHUNK = 1 << 16

#: Compressions by leading bytes -> how to open the stream.
_COMPRESSED: tuple[tuple[bytes, str, Callable[[IO[bytes]], IO[bytes]]], ...] = (
    (b"\x1f\x8b", "gzip", lambda f: gzip.GzipFile(fileobj=f)),
    (b"BZh", "bzip2", bz2.BZ2File),
    (b"\xfd7zXZ\x00", "xz", lzma.LZMAFile),
)
_ZIP = b"PK\x03\x04"
#: A zip's end-of-central-directory record, which zipimport finds within this many bytes of the
#: end of any file: a tar.gz with a zip appended is importable Python.
_ZIP_END = b"PK\x05\x06"
_ZIP_END_WINDOW = 22 + 65_535
#: What decompression and archive parsing raise on broken input.
_BROKEN = (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error, tarfile.TarError,
           zipfile.BadZipFile, NotImplementedError, RuntimeError)  # fmt: skip


class Unreadable(Exception):
    """An archive LEO cannot read, or one it will not judge member by member: the reason."""


@dataclass(frozen=True)
class Member:
    """A regular file inside an archive (a hard link is its target's bytes under its name)."""

    name: str
    data: bytes


def kind(data: bytes) -> str | None:
    """The archive format ``data`` starts with (by content, never by name), or None."""
    if data.startswith(_ZIP):
        return "zip"
    if _is_tar(data):
        return "tar"
    return next((name for magic, name, _ in _COMPRESSED if data.startswith(magic)), None)


def _is_tar(data: bytes) -> bool:
    return data[257:262] == b"ustar"


def members(data: bytes, *, max_bytes: int, max_members: int = MAX_MEMBERS) -> list[Member]:
    """Every regular member of the archive ``data``; ``Unreadable`` when it is broken, encrypted,
    over ``max_members`` or ``max_bytes`` (uncompressed), or holds what cannot be judged by its
    bytes: a link outside it or a symlink, a device, an absolute path or one with ``..``."""
    try:
        if data.startswith(_ZIP):
            return _zip_members(data, max_bytes, max_members)
        if _ZIP_END in data[-_ZIP_END_WINDOW:]:
            raise Unreadable("a zip archive is appended to it (zipimport reads one from the end)")
        for magic, name, opener in _COMPRESSED:
            if data.startswith(magic):
                raw = _bounded(opener(io.BytesIO(data)), max_bytes, f"its {name} stream holds")
                if not _is_tar(raw):
                    raise Unreadable(f"{name}-compressed data that is no tar archive")
                return _tar_members(raw, max_bytes, max_members)
        if _is_tar(data):
            return _tar_members(data, max_bytes, max_members)
    except _BROKEN as exc:
        # zipfile refuses an encrypted member here too (RuntimeError: "... is encrypted")
        raise Unreadable(f"it could not be read ({type(exc).__name__}: {str(exc)[:200]})") from exc
    raise Unreadable("not an archive")


def _bounded(stream: IO[bytes], max_bytes: int, what: str, used: int = 0) -> bytes:
    """``stream``, read a chunk at a time while ``used`` bytes read before and these stay within
    ``max_bytes``; ``Unreadable`` beyond, saying what (``what``, e.g. "its members hold") was
    too large."""
    out = bytearray()
    room = max_bytes - used
    with stream:
        while chunk := stream.read(min(_CHUNK, room + 1 - len(out))):
            out += chunk
            if len(out) > room:
                raise Unreadable(f"{what} more than {max_bytes} bytes uncompressed")
    return bytes(out)


def _unsafe(name: str) -> str | None:
    """Why a member name cannot be placed below a directory, or None."""
    p = PurePosixPath(name)
    if not name or "\0" in name or "\\" in name:
        return f"a member name LEO cannot place ({name!r})"
    if p.is_absolute() or ".." in p.parts:
        return f"its member {name!r} points outside the archive"
    return None


def _key(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


def _tar_members(raw: bytes, max_bytes: int, max_members: int) -> list[Member]:
    out: list[Member] = []
    regular: dict[str, bytes] = {}
    total = 0
    # ignore_zeros: members after an end-of-archive marker count too (``tar -i`` extracts them)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:", ignore_zeros=True) as tar:
        for count, info in enumerate(iter(tar.next, None), start=1):
            if count > max_members:
                raise Unreadable(f"more than {max_members} members")
            if why := _unsafe(info.name):
                raise Unreadable(why)
            if info.isdir():
                continue
            if info.islnk():  # tarfile.extractfile reads a hard link as its target's bytes
                target = regular.get(_key(info.linkname))
                if target is None:
                    raise Unreadable(f"its hard link {info.name!r} names no earlier member")
                total += len(target)  # scanned once more under its own name
                if total > max_bytes:
                    raise Unreadable(f"its members hold more than {max_bytes} bytes uncompressed")
                out.append(Member(info.name, target))
                continue
            if info.issym():
                raise Unreadable(f"its symbolic link {info.name!r} -> {info.linkname!r}")
            if not info.isreg() or info.issparse():
                raise Unreadable(f"its member {info.name!r} is no regular file")
            stream = tar.extractfile(info)
            if stream is None:
                raise Unreadable(f"its member {info.name!r} has no content")
            body = _bounded(stream, max_bytes, "its members hold", total)
            total += len(body)
            regular[_key(info.name)] = body
            out.append(Member(info.name, body))
    return out


def _zip_members(data: bytes, max_bytes: int, max_members: int) -> list[Member]:
    out: list[Member] = []
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise Unreadable(f"more than {max_members} members")
        for info in infos:
            if why := _unsafe(info.filename):
                raise Unreadable(why)
            kind_bits = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded
            if kind_bits not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise Unreadable(f"its member {info.filename!r} is no regular file")
            if info.is_dir():
                continue
            body = _bounded(archive.open(info), max_bytes, "its members hold", total)
            total += len(body)
            out.append(Member(info.filename, body))
    return out
