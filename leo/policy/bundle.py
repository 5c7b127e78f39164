"""Signed policy bundles: a policy directory packed reproducibly and signed as an in-toto Statement.

The bundle is a ``tar.gz`` of ``policy.intoto.jsonl`` (a DSSE envelope), with Sigstore also
``policy.sigstore.json``, and the files under ``policies/``. The Statement's subjects are the
manifest: one ``policies/<path>`` name and sha256 per file. Its predicate type is
``https://leo.dev/policy-bundle/v1`` (docs/supply-chain.md describes the predicate). Verification reads
the archive in memory, verifies the signature, then matches every file to the manifest by name
and digest, both ways. YAML files must be Kubernetes-shaped resources, and Kyverno ones must
name a Kyverno ``apiVersion`` and ``kind``; what the policies mean is Kyverno's business
(``kyverno test``), not LEO's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leo.bundle import dsse, strict_json
from leo.bundle.reasons import BundleError, Reason, escape
from leo.errors import LeoError

if TYPE_CHECKING:
    from leo.bundle.sign import SignSpec
    from leo.bundle.verify import Trust

PREDICATE_TYPE = "https://leo.dev/policy-bundle/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
ENVELOPE = "policy.intoto.jsonl"
SIGSTORE = "policy.sigstore.json"
PREFIX = "policies/"
MAX_FILES = 512
MAX_FILE_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_YAML = (".yaml", ".yml")
#: Kyverno's API groups and the kinds each serves (kyverno.io/v1 to v2, policies.kyverno.io).
KYVERNO_KINDS: Mapping[str, frozenset[str]] = {
    "kyverno.io": frozenset(
        {
            "ClusterPolicy",
            "Policy",
            "PolicyException",
            "CleanupPolicy",
            "ClusterCleanupPolicy",
            "GlobalContextEntry",
        }
    ),
    "policies.kyverno.io": frozenset(
        {
            "ValidatingPolicy",
            "NamespacedValidatingPolicy",
            "ImageValidatingPolicy",
            "NamespacedImageValidatingPolicy",
            "MutatingPolicy",
            "NamespacedMutatingPolicy",
            "GeneratingPolicy",
            "NamespacedGeneratingPolicy",
            "DeletingPolicy",
            "NamespacedDeletingPolicy",
            "PolicyException",
        }
    ),
}
_API_VERSION = re.compile(r"(?P<group>[a-z0-9.-]+)/v\d+((alpha|beta)\d+)?")


@dataclass(frozen=True)
class Verified:
    """A policy bundle that passed every check."""

    signer: str
    files: dict[str, str]
    """``policies/<path>`` -> sha256."""
    resources: tuple[str, ...]
    """``kind/name`` of each Kyverno resource, in file order."""


def _check_path(relative: str) -> None:
    parts = relative.split("/")
    if not all(_SEGMENT.fullmatch(p) for p in parts):
        raise BundleError(
            "bundle.odd_name",
            f"policy file name {escape(relative)!r} is not plain ASCII path segments",
        )


def check_name(name: str) -> None:
    """Only the envelope, the Sigstore bundle and plain names under ``policies/``."""
    if name in (ENVELOPE, SIGSTORE):
        return
    if not name.startswith(PREFIX):
        raise BundleError(
            "bundle.unexpected_member",
            f"member {escape(name)!r} is neither {ENVELOPE}, {SIGSTORE} nor under {PREFIX}",
        )
    _check_path(name[len(PREFIX) :])


def collect(directory: Path) -> dict[str, bytes]:
    """``policies/<relative path>`` -> bytes for every file under ``directory``."""
    if not directory.is_dir():
        raise LeoError(f"{directory} is not a directory; pass the policy directory to bundle")
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_symlink():
            raise LeoError(f"{path} is a symbolic link; a policy bundle holds regular files only")
        if path.is_dir():
            continue
        try:
            _check_path(relative)
        except BundleError as exc:
            raise LeoError(f"{exc.detail}; rename {path}") from None
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LeoError(f"{path} is larger than {MAX_FILE_BYTES} bytes; is it a policy?")
        files[PREFIX + relative] = path.read_bytes()
        if len(files) > MAX_FILES:
            raise LeoError(f"{directory} holds more than {MAX_FILES} files; bundle a smaller tree")
    if not files:
        raise LeoError(f"{directory} holds no files; pass the directory with the policies")
    return files


def check_resources(files: Mapping[str, bytes]) -> tuple[str, ...]:
    """``kind/name`` of every YAML resource; raise ``policy.invalid_resource`` on a bad one."""
    import yaml  # type: ignore[import-untyped]

    found: list[str] = []
    for name, data in sorted(files.items()):
        if not name.endswith(_YAML):
            continue
        try:
            docs = [d for d in yaml.safe_load_all(data.decode("utf-8")) if d is not None]
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            shown = escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)
            raise BundleError(
                "policy.invalid_resource", f"{escape(name)} is not valid YAML: {shown}"
            ) from None
        for doc in docs:
            found.append(_check_resource(name, doc))
    return tuple(found)


def _check_resource(name: str, doc: Any) -> str:
    shown = escape(name)
    if not isinstance(doc, dict):
        raise BundleError("policy.invalid_resource", f"{shown} holds a document that is no mapping")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise BundleError(
            "policy.invalid_resource", f"{shown} holds a document without apiVersion and kind"
        )
    match = _API_VERSION.fullmatch(api_version)
    group = match.group("group") if match else ""
    if "kyverno.io" in api_version and group not in KYVERNO_KINDS:
        raise BundleError(
            "policy.invalid_resource",
            f"{shown}: apiVersion {escape(api_version)!r} is not a Kyverno API version",
        )
    if group in KYVERNO_KINDS and kind not in KYVERNO_KINDS[group]:
        raise BundleError(
            "policy.invalid_resource",
            f"{shown}: {escape(kind)!r} is not a kind of {group} (known: "
            f"{', '.join(sorted(KYVERNO_KINDS[group]))})",
        )
    metadata = doc.get("metadata")
    resource = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind}/{resource if isinstance(resource, str) else '?'}"


def statement(files: Mapping[str, bytes], resources: tuple[str, ...]) -> bytes:
    """The canonical Statement: the manifest as subjects, a summary as predicate."""
    doc = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
            for name, data in sorted(files.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"files": len(files), "resources": list(resources)},
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


async def create(directory: Path, sign: SignSpec) -> bytes:
    """The bytes of the signed policy bundle of ``directory`` (same tree, same bytes)."""
    from leo.bundle.create import write_archive
    from leo.bundle.sign import sign_payload

    if sign.kind == "none":
        raise LeoError("a policy bundle must be signed; pass --sign key:PATH|gpg:KEYID|sigstore")
    files = collect(directory)
    try:
        resources = check_resources(files)
    except BundleError as exc:
        raise LeoError(f"{exc.detail}; fix the policy before bundling it") from None
    envelope, sigstore_bundle = await sign_payload(sign, statement(files, resources))
    members = [(ENVELOPE, envelope.to_json().encode("utf-8") + b"\n")]
    if sigstore_bundle is not None:
        members.append((SIGSTORE, sigstore_bundle))
    members.extend(sorted(files.items()))
    # mtime 0: the bytes depend on the policies and the signature only.
    return write_archive(members, 0)


async def verify(data: bytes, trust: Trust, *, deployed: Path | None = None) -> Verified:
    """Verify a policy bundle; with ``deployed``, that directory must hold exactly its files."""
    from leo.bundle.read import read_archive
    from leo.bundle.verify import verify_envelope

    trust.mode()
    members = read_archive(data, check_name=check_name, max_members=MAX_FILES + 2)
    if ENVELOPE not in members:
        raise BundleError("bundle.incomplete", f"the policy bundle lacks {ENVELOPE}")
    envelope = dsse.parse_envelope(members[ENVELOPE])
    signer, payload = await verify_envelope(
        envelope, trust, members.get(SIGSTORE), names=(SIGSTORE, ENVELOPE)
    )
    if envelope.payload_type != dsse.INTOTO_PAYLOAD_TYPE:
        raise BundleError(
            "attestation.payload_type",
            f"payloadType is {escape(envelope.payload_type)!r}, expected {dsse.INTOTO_PAYLOAD_TYPE}",
        )
    manifest = _manifest(payload)
    files = {name: data for name, data in members.items() if name.startswith(PREFIX)}
    _match(manifest, files, "the bundle")
    resources = check_resources(files)
    if deployed is not None:
        try:
            on_disk = collect(deployed)
        except LeoError as exc:
            raise BundleError("policy.dir_mismatch", str(exc)) from None
        _match(manifest, on_disk, str(deployed), deployed=True)
    return Verified(signer, manifest, resources)


def _manifest(payload: bytes) -> dict[str, str]:
    doc = strict_json.loads(payload, what="the policy Statement")
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise BundleError(
            "attestation.statement_type", "the payload is not an in-toto Statement v1"
        )
    if doc.get("predicateType") != PREDICATE_TYPE:
        shown = escape(str(doc.get("predicateType")))
        raise BundleError(
            "attestation.predicate_type", f"predicateType is {shown!r}, expected {PREDICATE_TYPE}"
        )
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects or len(subjects) > MAX_FILES:
        raise BundleError("policy.manifest", f"the manifest must list 1 to {MAX_FILES} files")
    manifest: dict[str, str] = {}
    for item in subjects:
        name = item.get("name") if isinstance(item, dict) else None
        digest = item.get("digest") if isinstance(item, dict) else None
        sha = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not isinstance(sha, str):
            raise BundleError("policy.manifest", "a manifest entry lacks a name or a sha256")
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise BundleError("attestation.digest_format", f"{escape(name)}: sha256 is not 64 hex")
        check_name(name)
        if name in manifest or not name.startswith(PREFIX):
            raise BundleError("policy.manifest", f"the manifest lists {escape(name)!r} oddly")
        manifest[name] = sha
    return manifest


def _match(
    manifest: Mapping[str, str], files: Mapping[str, bytes], where: str, *, deployed: bool = False
) -> None:
    """Same names, same digests: a missing, extra or changed file all fail."""
    missing = sorted(set(manifest) - set(files))
    extra = sorted(set(files) - set(manifest))
    changed = [n for n in sorted(manifest) if n in files and _sha(files[n]) != manifest[n]]
    problems: list[tuple[Reason, str]] = [
        *(
            ("policy.missing_file", f"{where} lacks {escape(n)} that the manifest lists")
            for n in missing
        ),
        *(
            ("policy.unlisted_file", f"{where} holds {escape(n)} that the manifest does not list")
            for n in extra
        ),
        *(
            (
                "policy.digest_mismatch",
                f"{escape(n)} in {where} has sha256 {_sha(files[n])}, the manifest says {manifest[n]}",
            )
            for n in changed
        ),
    ]
    if problems:
        code, message = problems[0]
        raise BundleError("policy.dir_mismatch" if deployed else code, message)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
