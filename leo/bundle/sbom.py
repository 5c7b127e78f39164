"""The bundle's SBOM: CycloneDX 1.5 JSON from the project's dependency files, and its validation.

Components come from ``pyproject.toml`` (``[project]`` dependencies and optional
dependencies), ``requirements*.txt`` and ``package.json`` at the head commit. The serial number
and timestamp derive from the head commit, so the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime
import json
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from leo.bundle import strict_json
from leo.bundle.reasons import BundleError, escape

SPEC_VERSION = "1.5"
MAX_SBOM_BYTES = 16 * 1024 * 1024
DEPENDENCY_FILES = ("pyproject.toml", "package.json")


def _python_requirements(lines: Iterable[str]) -> list[tuple[str, str | None]]:
    from packaging.requirements import InvalidRequirement, Requirement

    found: list[tuple[str, str | None]] = []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        pinned = [s.version for s in req.specifier if s.operator in ("==", "===")]
        found.append((req.name, pinned[0] if len(pinned) == 1 else None))
    return found


def components_from(files: Mapping[str, bytes]) -> list[tuple[str, str, str | None]]:
    """``(ecosystem, name, version)`` for every dependency named in ``files`` (path -> bytes)."""
    found: set[tuple[str, str, str | None]] = set()
    for path, data in files.items():
        text = data.decode("utf-8", errors="replace")
        name = path.rsplit("/", 1)[-1]
        try:
            if name == "pyproject.toml":
                project = tomllib.loads(text).get("project", {})
                reqs = list(project.get("dependencies", []))
                for extra in project.get("optional-dependencies", {}).values():
                    reqs.extend(extra)
                found.update(("pypi", n, v) for n, v in _python_requirements(reqs))
            elif name.startswith("requirements") and name.endswith(".txt"):
                found.update(("pypi", n, v) for n, v in _python_requirements(text.splitlines()))
            elif name == "package.json":
                doc = json.loads(text)
                for table in ("dependencies", "devDependencies"):
                    for dep, spec in (doc.get(table) or {}).items():
                        exact = spec if isinstance(spec, str) and spec[:1].isdigit() else None
                        found.add(("npm", dep, exact))
        except (tomllib.TOMLDecodeError, ValueError, AttributeError, TypeError):
            continue  # an unreadable dependency file lists nothing; the patch still shows it
    return sorted(found, key=lambda c: (c[0], c[1].lower(), c[2] or ""))


def build(files: Mapping[str, bytes], *, project: str, head: str, committed_at: int) -> bytes:
    """The CycloneDX 1.5 JSON of the dependencies in ``files``, reproducible for ``head``."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot5
    from packageurl import PackageURL

    timestamp = datetime.datetime.fromtimestamp(committed_at, tz=datetime.UTC)
    root = Component(
        name=project, version=head, type=ComponentType.APPLICATION, bom_ref=f"leo:{head}"
    )
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"leo-bundle:{head}"),
        metadata=BomMetaData(timestamp=timestamp, component=root),
    )
    deps = []
    for ecosystem, name, version in components_from(files):
        purl = PackageURL(ecosystem, name=name, version=version)
        component = Component(name=name, version=version, purl=purl, bom_ref=str(purl))
        bom.components.add(component)
        deps.append(component)
    bom.register_dependency(root, deps)
    return JsonV1Dot5(bom).output_as_string(indent=2).encode("utf-8") + b"\n"


def validate(data: bytes, *, require_version: str | None = SPEC_VERSION) -> dict[str, Any]:
    """Validate a CycloneDX JSON document against the 1.5 schema; return it parsed.

    The 1.5 schema accepts documents that say ``specVersion: "1.4"`` (observed with the
    CycloneDX examples), so the version is checked on its own.
    """
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    if len(data) > MAX_SBOM_BYTES:
        raise BundleError("sbom.invalid", f"the SBOM is larger than {MAX_SBOM_BYTES} bytes")
    try:
        doc = strict_json.loads(data, what="the SBOM", max_bytes=MAX_SBOM_BYTES)
    except BundleError as exc:
        raise BundleError("sbom.malformed", exc.detail) from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise BundleError("sbom.malformed", "the SBOM is not a CycloneDX JSON document")
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(data.decode("utf-8"))
    if error is not None:
        shown = escape(str(getattr(error.data, "message", error)), 200)
        raise BundleError("sbom.invalid", f"the SBOM fails the CycloneDX 1.5 schema: {shown}")
    version = doc.get("specVersion")
    if require_version is not None and version != require_version:
        shown = escape(str(version))
        raise BundleError(
            "sbom.spec_version", f"specVersion is {shown!r}, expected {require_version!r}"
        )
    return doc
