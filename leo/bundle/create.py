"""Create a builder bundle (``artifact.tar.gz``): reproducible bytes from a base and a head.

Members: ``changes.patch`` (binary-safe ``git diff``), ``sbom.cdx.json``, ``provenance.intoto.jsonl``
(a DSSE envelope of the in-toto Statement), ``ROLLBACK.md`` and ``MERGE_BASE``; with Sigstore
also ``provenance.sigstore.json``. Same inputs give the same bytes: fixed member order, mtime,
owner and mode, and a fixed codec and level (gzip with mtime 0, or one zstd frame).
"""

from __future__ import annotations

import gzip
import importlib
import io
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from leo.bundle import provenance, sbom
from leo.bundle.read import MERGE_BASE, PATCH, PROVENANCE, ROLLBACK, SBOM, SIGSTORE
from leo.bundle.sign import SignSpec, sign_offline
from leo.errors import LeoError
from leo.git import run_git, run_git_blocking

_DEPENDENCY_FILE = re.compile(r"(pyproject\.toml|package\.json|requirements[\w.-]*\.txt)")
#: What ``create_bundle`` imports on first use (the SBOM, DSSE, an ed25519 key): ``preload``.
_LAZY = (
    "cyclonedx.model.bom",
    "cyclonedx.model.component",
    "cyclonedx.output.json",
    "packageurl",
    "securesystemslib.dsse",
    "securesystemslib.signer",
    "cryptography.hazmat.primitives.serialization",
)
#: How the tar is compressed: ``zstd`` (bundle format 2, the default since issue 20: ten times
#: faster than gzip at level 1 and smaller, benchmarks/RESULTS.md (6)) or ``gzip`` (format 1,
#: for readers older than format 2). ``leo.bundle.read`` reads both.
Compression = Literal["zstd", "gzip"]


def preload() -> None:
    """Import what ``create_bundle`` needs, e.g. in a thread before it starts: most of its
    time it waits for git or compresses, which leave the interpreter free."""
    for name in _LAZY:
        importlib.import_module(name)


async def git(repo: Path, *args: str) -> bytes:
    """git's output in ``repo`` (``run_git``: hardened; ``GitError`` when it fails)."""
    return (await run_git(repo, *args, timeout=120)).stdout


def git_blocking(repo: Path, *args: str) -> bytes:
    """``git`` without an event loop, as ``create_bundle`` runs it (``run_git_blocking``)."""
    return run_git_blocking(repo, *args, timeout=120).stdout


def resolve_commit(repo: Path, ref: str) -> str:
    """The commit sha ``ref`` names in ``repo`` (``LeoError`` for a ref that looks like an option)."""
    if ref.startswith("-"):
        raise LeoError(f"ref {ref!r} must not start with '-'")
    return (
        git_blocking(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
        .decode()
        .strip()
    )


def rollback_notes(merge_base: str, head: str, name_status: bytes) -> bytes:
    """``ROLLBACK.md``: the files the patch touches and how to undo it."""
    from leo.bundle.reasons import escape

    fields = name_status.decode("utf-8", errors="replace").split("\0")
    touched: list[str] = []
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        paths = fields[i + 1 : i + (3 if status[:1] in "RC" else 2)]
        touched.append(f"- `{' -> '.join(escape(p, 300) for p in paths)}` ({status[:1]})")
        i += 1 + len(paths)
    lines = [
        "# Rolling back this change",
        "",
        f"Merge-base: {merge_base}",
        f"Head: {head}",
        "",
        f"Files touched ({len(touched)}):",
        "",
        *touched,
        "",
        "Before the change is committed, undo the applied patch with:",
        "",
        "    git apply -R --index changes.patch",
        "",
        "After it is committed, revert that commit:",
        "",
        "    git revert --no-edit <commit>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def write_archive(
    members: Sequence[tuple[str, bytes]], mtime: int, compression: Compression = "gzip"
) -> bytes:
    """A reproducible compressed tar of ``members`` in the given order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    with raw.getbuffer() as tar_bytes:  # no copy of the tar
        if compression == "zstd":
            try:
                import zstandard
            except ImportError:
                msg = (
                    "zstandard is not installed; install leo-gate[bundle] or use --compression gzip"
                )
                raise LeoError(msg) from None

            # Level 1, one frame with its content size and a checksum (what the reader
            # requires), single-threaded: multithreaded zstd writes other bytes.
            return zstandard.ZstdCompressor(
                level=1, write_checksum=True, write_content_size=True
            ).compress(tar_bytes)
        out = io.BytesIO()
        # Level 1: three times faster than 9 on a large patch for a few percent of size
        # (measured in benchmarks/); the caps in read.py bound the archive either way.
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
            gz.write(tar_bytes)
        return out.getvalue()


def create_bundle(
    repo: Path,
    base: str,
    head: str,
    sign: SignSpec,
    *,
    builder_id: str = provenance.DEFAULT_BUILDER,
    compression: Compression = "zstd",
) -> bytes:
    """The bytes of the bundle that turns the merge-base of ``base`` and ``head`` into ``head``.

    Git runs without an event loop (``git_blocking``); only a signature that runs a program
    (gpg, Sigstore) starts one: 0.06-0.09 s of CPU less for a 24 MiB diff (``run_tool_blocking``,
    benchmarks/RESULTS.md (6)).
    """
    head_sha = resolve_commit(repo, head)
    base_sha = resolve_commit(repo, base)
    merge_base = git_blocking(repo, "merge-base", base_sha, head_sha).decode().strip()
    # diff-tree, the plumbing: the same bytes as `git diff` of two commits (a test pins it) in
    # about 60 % of its time, and it reads no diff.* settings (benchmarks/RESULTS.md (6)).
    patch = git_blocking(
        repo,
        "-c",
        "core.quotePath=false",
        "diff-tree",
        "-p",
        "--binary",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        merge_base,
        head_sha,
    )
    name_status = git_blocking(
        repo, "diff-tree", "-r", "--name-status", "-z", "--no-renames", merge_base, head_sha
    )
    committed_at = int(git_blocking(repo, "show", "-s", "--format=%ct", head_sha).decode().strip())
    listing = git_blocking(repo, "ls-tree", "--name-only", "-z", head_sha).decode().split("\0")
    dependency_files = {
        name: git_blocking(repo, "cat-file", "blob", f"{head_sha}:{name}")
        for name in sorted(listing)
        if _DEPENDENCY_FILE.fullmatch(name)
    }
    origin = run_git_blocking(repo, "config", "--get", "remote.origin.url", check=False)
    source_uri = (
        f"git+{origin.stdout_text.strip()}" if origin.returncode == 0 else f"git+file:{repo.name}"
    )
    sbom_bytes = sbom.build(
        dependency_files, project=repo.resolve().name, head=head_sha, committed_at=committed_at
    )
    rollback = rollback_notes(merge_base, head_sha, name_status)
    payload = provenance.statement(
        {PATCH: patch, SBOM: sbom_bytes, ROLLBACK: rollback},
        merge_base=merge_base,
        head=head_sha,
        base_ref=base,
        head_ref=head,
        source_uri=source_uri,
        builder_id=builder_id,
    )
    if sign.runs_program:
        import anyio

        from leo.bundle.sign import sign_payload

        envelope, sigstore_bundle = anyio.run(sign_payload, sign, payload)
    else:
        envelope, sigstore_bundle = sign_offline(sign, payload), None
    members = [
        (PATCH, patch),
        (SBOM, sbom_bytes),
        (PROVENANCE, envelope.to_json().encode("utf-8") + b"\n"),
        (ROLLBACK, rollback),
        (MERGE_BASE, merge_base.encode("ascii") + b"\n"),
    ]
    if sigstore_bundle is not None:
        members.append((SIGSTORE, sigstore_bundle))
    return write_archive(members, committed_at, compression)
