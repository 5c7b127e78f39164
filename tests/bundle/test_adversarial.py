"""THREATS.md catalogue (a): hostile bundles are rejected case by case with their reason code.

Every archive is built here from ``TarInfo`` objects (nothing binary is committed), read by
the in-memory reader, and the ``workdir`` fixture asserts nothing was written anywhere.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import anyio
import pytest
import zstandard

from leo.bundle.create import write_archive
from leo.bundle.read import read_bundle
from leo.bundle.reasons import BundleError
from leo.bundle.verify import Trust, verify_bundle, verify_offline

from .conftest import (
    make_bundle,
    members_of,
    raw_tar,
    regular,
    rehash,
    replace,
    resign,
    special,
    statement_of,
)

GOOD = [
    regular(n)
    for n in (
        "changes.patch",
        "sbom.cdx.json",
        "provenance.intoto.jsonl",
        "ROLLBACK.md",
        "MERGE_BASE",
    )
]


def _bomb() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("changes.patch")
        info.size = 200 * 1024 * 1024
        tar.addfile(info)  # header only; the zeros come from the compressor below
    header = raw.getvalue()[:512]
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(header)
        zeros = b"\0" * (1 << 20)
        for _ in range(200):
            gz.write(zeros)
    return out.getvalue()


def _pax_override() -> bytes:
    info = tarfile.TarInfo("changes.patch")
    info.size = 1
    info.pax_headers = {"path": "../../evil"}
    return raw_tar([(info, b"x")], fmt=tarfile.PAX_FORMAT)


def _long_symlink_chain() -> bytes:
    entries = [
        special(f"d{i}" * 40, tarfile.SYMTYPE, "./" + (f"d{i - 1}" * 40 if i else "."))
        for i in range(8)
    ]
    return raw_tar(entries)


def _zstd(raw: bytes, **params: object) -> bytes:
    """``raw`` in one zstd frame, by default as LEO writes it (content size, checksum)."""
    return zstandard.ZstdCompressor(level=1, write_checksum=True, **params).compress(raw)


def _zstd_tar(entries, **params: object) -> bytes:
    return _zstd(gzip.decompress(raw_tar(entries)), **params)


def _zstd_bomb() -> bytes:
    """A frame that honestly declares 200 MiB of zeros after one tar header."""
    header = gzip.decompress(_bomb())[:512]
    out = io.BytesIO()
    size = 512 + 200 * 1024 * 1024
    compressor = zstandard.ZstdCompressor(level=1, write_checksum=True)
    with compressor.stream_writer(out, size=size, closefd=False) as writer:
        writer.write(header)
        zeros = b"\0" * (1 << 20)
        for _ in range(200):
            writer.write(zeros)
    return out.getvalue()


def _zstd_bad_checksum() -> bytes:
    data = bytearray(_zstd_tar(GOOD))
    data[-1] ^= 0xFF  # the frame's last four bytes are its content checksum
    return bytes(data)


CASES = {
    "A-01 dot-dot": (raw_tar([regular("../../etc/cron.d/x")]), "bundle.path_traversal"),
    "A-01 nested dot-dot": (raw_tar([regular("a/../../x")]), "bundle.path_traversal"),
    "A-01 dot-slash-dot-dot": (raw_tar([regular("./../escape")]), "bundle.path_traversal"),
    "A-02 absolute": (raw_tar([regular("/tmp/pwn")]), "bundle.absolute_name"),
    "A-02 double slash": (raw_tar([regular("//tmp/pwn")]), "bundle.absolute_name"),
    "A-02 windows drive": (raw_tar([regular("C:\\x")]), "bundle.absolute_name"),
    "A-02 drive relative": (raw_tar([regular("C:../x")]), "bundle.absolute_name"),
    "A-03 symlink to passwd": (
        raw_tar([special("sbom.cdx.json", tarfile.SYMTYPE, "/etc/passwd")]),
        "bundle.non_regular_member",
    ),
    "A-04 two-step symlink": (
        raw_tar([special("d", tarfile.SYMTYPE, ".."), regular("d/escape")]),
        "bundle.unexpected_member",
    ),
    "A-05 long symlink chain": (_long_symlink_chain(), "bundle.unexpected_member"),
    "A-06 empty-name symlink": (raw_tar([special("", tarfile.SYMTYPE, "..")]), "bundle.odd_name"),
    "A-06 symlink on allowed name": (
        raw_tar([special("ROLLBACK.md", tarfile.SYMTYPE, "a/./../..")]),
        "bundle.non_regular_member",
    ),
    "A-07 hardlink": (
        raw_tar([special("changes.patch", tarfile.LNKTYPE, "/etc/shadow")]),
        "bundle.non_regular_member",
    ),
    "A-08 char device": (
        raw_tar([special("MERGE_BASE", tarfile.CHRTYPE)]),
        "bundle.non_regular_member",
    ),
    "A-08 fifo": (raw_tar([special("MERGE_BASE", tarfile.FIFOTYPE)]), "bundle.non_regular_member"),
    "A-08 directory": (
        raw_tar([special("changes.patch", tarfile.DIRTYPE)]),
        "bundle.non_regular_member",
    ),
    "A-09 gzip bomb": (_bomb(), "bundle.too_large"),
    "A-09 many members": (raw_tar([regular("changes.patch")] * 2), "bundle.duplicate_member"),
    "A-10 duplicate": (
        raw_tar([*GOOD, regular("provenance.intoto.jsonl", b"evil")]),
        "bundle.duplicate_member",
    ),
    "A-10 dot-slash twin": (raw_tar([regular("./changes.patch")]), "bundle.odd_name"),
    "A-10 trailing slash": (raw_tar([regular("changes.patch/")]), "bundle.odd_name"),
    "A-10 nfd twin": (raw_tar([regular("changes.pa\u0301tch")]), "bundle.odd_name"),
    "A-10 case twin": (raw_tar([regular("Changes.patch")]), "bundle.unexpected_member"),
    "A-11 pax path override": (_pax_override(), "bundle.path_traversal"),
    "A-11 truncated gzip": (raw_tar(GOOD)[:-20], "bundle.malformed"),
    "A-11 trailing garbage": (raw_tar(GOOD) + gzip.compress(b"hidden payload"), "bundle.malformed"),
    "A-11 bytes after the gzip stream": (raw_tar(GOOD) + b"\0\0hidden", "bundle.malformed"),
    "A-11 a second, empty gzip member": (raw_tar(GOOD) + gzip.compress(b""), "bundle.malformed"),
    "A-11 bad checksum": (gzip.compress(b"garbage" * 100), "bundle.malformed"),
    "A-12 missing provenance": (raw_tar(GOOD[:2]), "bundle.incomplete"),
    "A-13 extra conftest.py": (
        raw_tar([*GOOD, regular("conftest.py")]),
        "bundle.unexpected_member",
    ),
    # Format 2 (zstd, issue 20): the same limits as gzip, and the same member checks.
    "A-09 zstd bomb": (_zstd_bomb(), "bundle.too_large"),
    "A-09 zstd frame without its size": (
        _zstd_tar(GOOD, write_content_size=False),
        "bundle.malformed",
    ),
    "A-11 zstd frame without a checksum": (
        zstandard.ZstdCompressor(level=1).compress(gzip.decompress(raw_tar(GOOD))),
        "bundle.malformed",
    ),
    "A-11 zstd bad checksum": (_zstd_bad_checksum(), "bundle.malformed"),
    "A-11 truncated zstd": (_zstd_tar(GOOD)[:-20], "bundle.malformed"),
    "A-11 bytes after the zstd frame": (_zstd_tar(GOOD) + b"\0\0hidden", "bundle.malformed"),
    "A-11 a second zstd frame": (_zstd_tar(GOOD) + _zstd(b"hidden payload"), "bundle.malformed"),
    "A-11 zstd skippable frame first": (
        b"\x50\x2a\x4d\x18\x04\0\0\0skip" + _zstd_tar(GOOD),
        "bundle.format",
    ),
    "A-01 dot-dot in a zstd bundle": (
        _zstd_tar([*GOOD, regular("../../.bashrc")]),
        "bundle.path_traversal",
    ),
    "A-30 plain tar": (b"x" * 1024, "bundle.format"),
    "A-30 zip": (b"PK\x03\x04" + b"\0" * 100, "bundle.format"),
    "A-30 empty file": (b"", "bundle.format"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_archive_is_rejected(case, workdir):
    data, code = CASES[case]
    with pytest.raises(BundleError) as exc:
        read_bundle(data)
    assert exc.value.code == code, exc.value
    assert "\n" not in str(exc.value)


def test_gzip_bomb_is_stopped_without_reading_it_all(workdir):
    import time

    started = time.monotonic()
    with pytest.raises(BundleError):
        read_bundle(_bomb())
    assert time.monotonic() - started < 10


def test_zstd_bomb_is_refused_by_its_declared_size_before_inflating(workdir):
    # Inflated, the 200 MiB would fail later, as a member too large; this message comes only
    # from the frame header's declared size.
    bomb = CASES["A-09 zstd bomb"][0]
    with pytest.raises(BundleError, match="the archive decompresses to more than"):
        read_bundle(bomb)


def test_hostile_archive_via_cli_gives_reason_and_no_traceback(leo_cli, tmp_path, keypair):
    path = tmp_path / "evil.tar.gz"
    path.write_bytes(CASES["A-01 dot-dot"][0])
    result = leo_cli("bundle", "verify", str(path), "--key", str(keypair[1]), cwd=tmp_path)
    assert result.returncode == 1
    assert "bundle.path_traversal" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path.parent / "etc").exists()


# --- forged contents inside a well-formed archive (A-14 to A-24) -------------------------


def _verify(data: bytes, public, repo=None, expect_head=None):
    return anyio.run(
        lambda: verify_bundle(data, Trust(key=public), repo=repo, expect_head=expect_head)
    )


def _forge(builder_repo, keypair, mutate):
    private, _ = keypair
    members = members_of(make_bundle(builder_repo, private))
    return write_archive(mutate(members, private), 0)


def _digest_mismatch(members, private):
    return replace(members, "changes.patch", dict(members)["changes.patch"] + b" ")


def _other_artifact(members, private):
    statement = statement_of(members)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    return resign(members, json.dumps(statement).encode(), private)


def _wrong_predicate(members, private):
    statement = statement_of(members)
    statement["predicateType"] = "https://cyclonedx.org/bom"
    return resign(members, json.dumps(statement).encode(), private)


def _old_statement_type(members, private):
    statement = statement_of(members)
    statement["_type"] = "https://in-toto.io/Statement/v0.1"
    return resign(members, json.dumps(statement).encode(), private)


def _sha1_subject(members, private):
    statement = statement_of(members)
    statement["subject"][0]["digest"] = {"sha1": "0" * 40}
    return resign(members, json.dumps(statement).encode(), private)


def _uppercase_digest(members, private):
    statement = statement_of(members)
    statement["subject"][0]["digest"]["sha256"] = statement["subject"][0]["digest"][
        "sha256"
    ].upper()
    return resign(members, json.dumps(statement).encode(), private)


def _unsigned(members, private):
    return resign(members, json.dumps(statement_of(members)).encode(), None)


def _tampered_payload(members, private):
    envelope = json.loads(dict(members)["provenance.intoto.jsonl"])
    statement = statement_of(members)
    statement["predicate"]["runDetails"]["builder"]["id"] = "https://evil.example"
    import base64

    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return replace(members, "provenance.intoto.jsonl", json.dumps(envelope).encode())


def _payload_type_swapped(members, private):
    envelope = json.loads(dict(members)["provenance.intoto.jsonl"])
    envelope["payloadType"] = "application/json"
    return replace(members, "provenance.intoto.jsonl", json.dumps(envelope).encode())


def _signed_wrong_payload_type(members, private):
    return resign(
        members,
        json.dumps(statement_of(members)).encode(),
        private,
        payload_type="application/json",
    )


def _duplicate_keys(members, private):
    text = json.dumps(statement_of(members))
    evil = text[:-1] + ', "predicateType": "https://evil.example/v1"}'
    return resign(members, evil.encode(), private)


def _merge_base_swapped(members, private):
    return replace(members, "MERGE_BASE", b"1" * 40 + b"\n")


def _sbom_1_4(members, private):
    doc = json.loads(dict(members)["sbom.cdx.json"])
    doc["specVersion"] = "1.4"
    changed = replace(members, "sbom.cdx.json", json.dumps(doc).encode())
    return resign(changed, json.dumps(rehash(statement_of(changed), changed)).encode(), private)


def _patch_for_other_tree(members, private):
    patch = dict(members)["changes.patch"].replace(b"+print('head')", b"+print('evil')")
    changed = replace(members, "changes.patch", patch)
    return resign(changed, json.dumps(rehash(statement_of(changed), changed)).encode(), private)


FORGERIES = {
    "A-14 digest mismatch": (_digest_mismatch, "attestation.subject_digest_mismatch"),
    "A-16 attestation for another artifact": (
        _other_artifact,
        "attestation.subject_digest_mismatch",
    ),
    "A-18 wrong predicate type": (_wrong_predicate, "attestation.predicate_type"),
    "A-19 old statement type": (_old_statement_type, "attestation.statement_type"),
    "A-15 sha1 subject": (_sha1_subject, "attestation.digest_format"),
    "A-15 uppercase digest": (_uppercase_digest, "attestation.digest_format"),
    "A-19 signed wrong payload type": (_signed_wrong_payload_type, "attestation.payload_type"),
    "A-23 unsigned envelope": (_unsigned, "signature.missing"),
    "A-24 tampered payload": (_tampered_payload, "signature.invalid"),
    "A-24 payloadType swapped": (_payload_type_swapped, "signature.invalid"),
    "A-24 duplicate JSON keys": (_duplicate_keys, "json.duplicate_keys"),
    "A-17 merge-base swapped": (_merge_base_swapped, "provenance.merge_base_mismatch"),
    "A-27 SBOM 1.4 in a bundle": (_sbom_1_4, "sbom.spec_version"),
}


def _as_slsa_v0_2(statement: dict) -> dict:
    """The Statement as LEO wrote it before SLSA v1.0 (provenance v0.2 predicate)."""
    build = statement["predicate"]["buildDefinition"]
    statement["predicateType"] = "https://slsa.dev/provenance/v0.2"
    statement["predicate"] = {
        "builder": statement["predicate"]["runDetails"]["builder"],
        "buildType": build["buildType"],
        "invocation": {"configSource": build["externalParameters"]["source"]},
        "materials": build["resolvedDependencies"],
    }
    return statement


def test_bundles_with_a_slsa_v0_2_predicate_are_still_read(builder_repo, keypair):
    result, _ = _verify(
        _forge(
            builder_repo,
            keypair,
            lambda m, k: resign(m, json.dumps(_as_slsa_v0_2(statement_of(m))).encode(), k),
        ),
        keypair[1],
    )
    assert len(result.merge_base) == 40


def test_new_bundles_carry_slsa_v1_0(builder_repo, keypair):
    statement = statement_of(members_of(make_bundle(builder_repo, keypair[0])))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["predicate"]["buildDefinition"]["buildType"] == "https://leo.dev/bundle/v1"


@pytest.mark.parametrize("case", list(FORGERIES))
def test_forged_bundle_is_rejected(case, builder_repo, keypair):
    mutate, code = FORGERIES[case]
    data = _forge(builder_repo, keypair, mutate)
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1])
    assert exc.value.code == code, exc.value
    # `leo bundle verify` without --repo checks the same way without an event loop.
    with pytest.raises(BundleError) as offline:
        verify_offline(data, Trust(key=keypair[1]))
    assert (offline.value.code, str(offline.value)) == (code, str(exc.value))


def test_signed_by_another_key_is_wrong_signer(builder_repo, keypair, other_keypair):
    data = make_bundle(builder_repo, other_keypair[0])
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1])
    assert exc.value.code == "signature.wrong_signer"


def test_patch_yielding_another_tree_fails_the_replay(builder_repo, keypair):
    from pathlib import Path

    data = _forge(builder_repo, keypair, _patch_for_other_tree)
    _verify(data, keypair[1])  # signed and consistent on its own ...
    with pytest.raises(BundleError) as exc:  # ... but it does not produce the head it claims
        _verify(data, keypair[1], repo=Path(builder_repo.path))
    assert exc.value.code == "patch.tree_mismatch"


def test_bundle_for_an_older_head_fails_expect_head(builder_repo, keypair):
    from pathlib import Path

    data = make_bundle(builder_repo, keypair[0])
    newer = builder_repo.commit({"app.py": "print('newer')\n"})
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1], repo=Path(builder_repo.path), expect_head=newer)
    assert exc.value.code == "provenance.source_mismatch"


def test_the_command_refuses_a_forged_sbom_as_verify_bundle_does(
    builder_repo, keypair, leo_cli, tmp_path
):
    """`leo bundle verify` validates the SBOM in a forked child (issue 20.7): same refusal."""
    data = _forge(builder_repo, keypair, _sbom_1_4)
    with pytest.raises(BundleError) as exc:
        _verify(data, keypair[1])
    path = tmp_path / "forged.tar.zst"
    path.write_bytes(data)
    done = leo_cli("bundle", "verify", str(path), "--key", str(keypair[1]))
    assert done.returncode == 1
    assert done.stderr.strip() == f"leo: error: {exc.value}"
