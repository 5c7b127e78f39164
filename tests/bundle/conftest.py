"""Fixtures for the bundle tests: a builder's repository, a key pair, and bundle forgery helpers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from leo.bundle import dsse, keys
from leo.bundle.create import create_bundle, write_archive
from leo.bundle.read import read_bundle
from leo.bundle.sign import SignSpec


@pytest.fixture
def builder_repo(leo_repo):
    """A repository whose head changes a text file, adds a binary file and a dependency."""
    return leo_repo(
        base={
            "app.py": "print('base')\n",
            "pyproject.toml": '[project]\nname = "demo"\ndependencies = ["click==8.1.7"]\n',
        },
        head={
            "app.py": "print('head')\n",
            "logo.bin": b"\x00\x01\x02binary\xff",
            "pyproject.toml": '[project]\nname = "demo"\ndependencies = ["click==8.1.7", "rich>=13"]\n',
        },
    )


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = keys.generate(tmp_path / "keys" / "builder")
    return private, public


@pytest.fixture
def other_keypair(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = keys.generate(tmp_path / "keys" / "intruder")
    return private, public


def head_and_base(repo) -> tuple[str, str]:
    change = repo.change()
    return change.base_sha, change.head_sha


def make_bundle(repo, private: Path | None) -> bytes:
    base, head = head_and_base(repo)
    spec = SignSpec("key", str(private)) if private else SignSpec("none")
    return create_bundle(Path(repo.path), base, head, spec)


def members_of(data: bytes) -> list[tuple[str, bytes]]:
    return list(read_bundle(data).members.items())


def replace(members: list[tuple[str, bytes]], name: str, content: bytes) -> list[tuple[str, bytes]]:
    return [(n, content if n == name else c) for n, c in members]


def statement_of(members: list[tuple[str, bytes]]) -> dict:
    envelope = dsse.parse_envelope(dict(members)["provenance.intoto.jsonl"])
    return json.loads(envelope.payload)


def resign(
    members, payload: bytes, private: Path | None, payload_type: str = dsse.INTOTO_PAYLOAD_TYPE
):
    """Members with a new provenance envelope over ``payload``, signed by ``private``."""
    signers = []
    if private is not None:
        signer = keys.load_signer(private)
        signers.append(lambda message: keys.sign(signer, message))
    envelope = dsse.sign(payload_type, payload, signers)
    return replace(members, "provenance.intoto.jsonl", envelope.to_json().encode() + b"\n")


def rehash(statement: dict, members) -> dict:
    """The statement with its subject digests recomputed for ``members``."""
    content = dict(members)
    statement["subject"] = [
        {"name": s["name"], "digest": {"sha256": hashlib.sha256(content[s["name"]]).hexdigest()}}
        for s in statement["subject"]
    ]
    return statement


def raw_tar(
    entries: list[tuple[tarfile.TarInfo, bytes | None]], *, fmt=tarfile.GNU_FORMAT
) -> bytes:
    """A gzipped tar of hand-made ``TarInfo`` entries (hostile archives are built, not committed)."""
    import gzip

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def regular(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in ``tmp_path/work``; afterwards assert nothing appeared outside it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def snapshot() -> set[str]:
        return {
            str(p.relative_to(tmp_path))
            for p in tmp_path.rglob("*")
            if work not in p.parents and p != work
        }

    before = snapshot()
    yield work
    after = snapshot()
    assert after == before, f"files written outside the working dir: {sorted(after - before)}"
    assert not any(work.iterdir()), "reading a bundle must not extract anything"


__all__ = ["os", "write_archive"]
