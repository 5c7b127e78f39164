"""The bundle's SBOM: CycloneDX 1.6 JSON from the project's dependency files, and its validation.

Components come from ``pyproject.toml`` (``[project]`` dependencies and optional
dependencies), ``requirements*.txt`` and ``package.json`` at the head commit. The serial number
and timestamp derive from the head commit, so the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import threading
import types
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, NoReturn

from leo.bundle import strict_json
from leo.bundle.reasons import BundleError, escape

SPEC_VERSION = "1.6"
"""What LEO writes into new bundles."""
SUPPORTED_VERSIONS = ("1.4", "1.5", "1.6", "1.7")
"""Every version cyclonedx-python-lib ships a JSON schema for that LEO validates."""
BUNDLE_VERSIONS = frozenset({"1.5", "1.6", "1.7"})
"""What a builder bundle may carry: what `leo bundle create` wrote (1.5 before, 1.6 now) and 1.7."""
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
    import tomllib  # here: `leo bundle verify` imports this module and reads no TOML

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
    """The CycloneDX 1.6 JSON of the dependencies in ``files``, reproducible for ``head``."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
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
    return JsonV1Dot6(bom).output_as_string(indent=2).encode("utf-8") + b"\n"


_IRI_MAX = 8192


def _fast_iri(value: object) -> bool:
    """A linear-time stand-in for the ``iri``/``iri-reference`` formats.

    jsonschema checks them with an Earley parser (rfc3987-syntax) that ran for minutes on the
    1.9 MB juice-shop SBOM from CycloneDX's examples: a denial of service (THREATS.md A-27).
    """
    if not isinstance(value, str):
        return True
    return len(value) <= _IRI_MAX and not any(
        c.isspace() or ord(c) < 0x20 or c in '<>"{}|\\^`' for c in value
    )


def _unique_items(validator: Any, unique: bool, instance: Any, schema: Any) -> Iterator[Any]:
    """``uniqueItems`` in linear time; jsonschema's is quadratic (17 s of juice-shop's 22 s)."""
    from jsonschema import ValidationError  # type: ignore[import-untyped]

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        key = json.dumps(item, sort_keys=True)
        if key in seen:
            yield ValidationError(f"array has non-unique elements: {escape(key, 80)}")
            return
        seen.add(key)


def _schema_text(name: str) -> str:
    """A schema file shipped with cyclonedx-python-lib (package data, read as data)."""
    from importlib.resources import files

    return files("cyclonedx").joinpath("schema", "_res", name).read_text("utf-8")


#: Libraries jsonschema imports only to check formats the CycloneDX schemas never use
#: (``tests/bundle/test_sbom.py`` pins that): rfc3987-syntax (``iri``, which LEO checks with
#: ``_fast_iri``) builds Lark grammars when imported, 2.4 s of CPU; isoduration (``duration``,
#: with arrow and dateutil), webcolors, uri-template, fqdn, idna and jsonpointer another 0.1 s
#: of every `leo bundle verify` (benchmarks/RESULTS.md (6)).
HELD_BACK = (
    "rfc3987_syntax",
    "isoduration",
    "webcolors",
    "uri_template",
    "fqdn",
    "idna",
    "jsonpointer",
)


def _import_jsonschema_lean(*, offline: bool = False) -> None:
    """Import jsonschema with ``HELD_BACK`` held back, unless something imported it already:
    jsonschema then simply checks no format of theirs. ``offline`` (only in a process that
    does nothing else: another thread's import would get the stand-in) also gives it a
    ``urllib.request`` whose ``urlopen`` refuses."""
    import sys

    if "jsonschema" in sys.modules:
        return
    stand_ins: dict[str, types.ModuleType | None] = {
        name: None  # makes the import fail
        for name in HELD_BACK
        if name not in sys.modules
    }
    if offline and "urllib.request" not in sys.modules:
        stand_ins["urllib.request"] = _no_urllib_request()
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import jsonschema  # noqa: F401
    finally:
        for name in stand_ins:
            del sys.modules[name]


def _no_urllib_request() -> types.ModuleType:
    """What jsonschema imports from ``urllib.request`` at load (``urlopen``, for its deprecated
    resolver's remote references), refusing: LEO's validators resolve only the schemas it
    registers, and ``referencing`` fetches nothing. The real module would bring http.client,
    ssl and email, 0.02-0.03 s of CPU of every `leo bundle verify` (benchmarks/RESULTS.md (6))."""

    def urlopen(*_args: object, **_kwargs: object) -> NoReturn:
        raise OSError("LEO's SBOM validation fetches no schema")

    module = types.ModuleType("urllib.request")
    module.urlopen = urlopen  # type: ignore[attr-defined]
    return module


_BUILDING = threading.Lock()


def _schema_validator(version: str) -> Any:
    """``_build_validator`` once per version, also when ``preload`` runs it in a thread."""
    with _BUILDING:
        return _build_validator(version)


@functools.cache
def _build_validator(version: str) -> Any:
    """The CycloneDX ``version`` JSON schema (strict since 1.4), with linear-time checks.

    Built from the schema files themselves with jsonschema's public API rather than the
    library's private validator, so the two slow checks can be swapped out (THREATS.md A-27).
    """
    _import_jsonschema_lean()
    from jsonschema import FormatChecker
    from jsonschema.validators import extend, validator_for  # type: ignore[import-untyped]
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    schema = json.loads(_schema_text(f"bom-{version}.SNAPSHOT.schema.json"))
    prefix = "http://cyclonedx.org/schema/"
    registry: Registry[Any] = Registry().with_resources(
        (prefix + name, DRAFT7.create_resource(json.loads(_schema_text(name))))
        for name in (
            "spdx.SNAPSHOT.schema.json",
            "jsf-0.82.SNAPSHOT.schema.json",
            "cryptography-defs.SNAPSHOT.schema.json",
        )
    )
    base = validator_for(schema)
    checker = FormatChecker(formats=())
    checker.checkers = dict(base.FORMAT_CHECKER.checkers)
    for name in ("iri", "iri-reference"):
        checker.checks(name)(_fast_iri)
    linear = extend(base, {"uniqueItems": _unique_items})
    return linear(schema, registry=registry, format_checker=checker)


def preload(version: str = "1.6") -> None:
    """Build the validator of ``version`` (the one builder bundles carry) ahead of ``validate``,
    e.g. in a thread while a bundle decompresses; a missing schema is left to ``validate``."""
    with contextlib.suppress(FileNotFoundError):
        _schema_validator(version)


def validate(data: bytes, *, require_version: Collection[str] | None = None) -> dict[str, Any]:
    """Validate a CycloneDX JSON document against the schema of its own ``specVersion``.

    ``require_version`` is policy on top: the versions the caller accepts (None: any that LEO
    validates). A 1.4 document also passes the 1.5 schema (observed with the CycloneDX
    examples), so the version is read from the document, never inferred from the schema.
    """
    if len(data) > MAX_SBOM_BYTES:
        raise BundleError("sbom.invalid", f"the SBOM is larger than {MAX_SBOM_BYTES} bytes")
    try:
        doc = strict_json.loads(data, what="the SBOM", max_bytes=MAX_SBOM_BYTES)
    except BundleError as exc:
        raise BundleError("sbom.malformed", exc.detail) from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise BundleError("sbom.malformed", "the SBOM is not a CycloneDX JSON document")
    version = doc.get("specVersion")
    if version not in SUPPORTED_VERSIONS:
        raise BundleError(
            "sbom.spec_version",
            f"specVersion is {escape(str(version))!r}; LEO validates CycloneDX "
            f"{', '.join(SUPPORTED_VERSIONS)}",
        )
    try:
        validator = _schema_validator(version)
    except FileNotFoundError:
        raise BundleError(
            "sbom.spec_version",
            f"the installed cyclonedx-python-lib ships no CycloneDX {version} schema; upgrade it",
        ) from None
    error = next(validator.iter_errors(doc), None)
    if error is not None:
        shown = escape(error.message, 200)
        raise BundleError("sbom.invalid", f"the SBOM fails the CycloneDX {version} schema: {shown}")
    if require_version is not None and version not in require_version:
        raise BundleError(
            "sbom.spec_version",
            f"specVersion is {version!r}, expected {' or '.join(sorted(require_version))}",
        )
    return doc


class ForkedValidation:
    """``validate`` by a child process forked before the bundle is read: the child imports
    jsonschema and builds the schema (a third of the CPU of a `leo bundle verify`) on the
    machine's other core while this process reads the archive and checks the signature
    (benchmarks/RESULTS.md (6)). It is asked only when the checks reach the SBOM, about the
    bytes it is sent; when it cannot answer (no ``fork``, a crash), the SBOM is validated here,
    so the outcome is always ``validate``'s. Fork it before any thread starts."""

    def __init__(self, require_version: Collection[str] | None = None) -> None:
        self.require_version = require_version
        self.pid: int | None = None
        self._fds: list[int] = []
        if not hasattr(os, "fork"):
            return
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its answers are checked by the tests
            os.close(from_parent)
            os.close(to_parent)
            _answer(to_child, from_child, require_version)
        os.close(to_child)
        os.close(from_child)
        self.pid, self._fds = pid, [from_parent, to_parent]

    def __enter__(self) -> ForkedValidation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(self, data: bytes) -> dict[str, Any]:
        """``validate(data, require_version=...)``, answered by the child if it can."""
        answer = self._ask(data)
        if answer is None:
            return validate(data, require_version=self.require_version)
        code, detail = answer
        if code is not None:
            raise BundleError(code, detail)
        doc: dict[str, Any] = strict_json.loads(data, what="the SBOM", max_bytes=MAX_SBOM_BYTES)
        return doc

    def _ask(self, data: bytes) -> tuple[Any, str] | None:
        from leo.bundle.reasons import REASONS

        if self.pid is None:
            return None
        send, receive = self._fds
        self._fds = [receive]
        try:
            with open(send, "wb") as out:  # closing it tells the child it has everything
                out.write(data)
            with open(receive, "rb", closefd=False) as answers:
                raw = answers.read(64 * 1024)
            answer = json.loads(raw)
            code, detail = answer["code"], answer["detail"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        finally:
            self.close()
        if (code is not None and code not in REASONS) or not isinstance(detail, str):
            return None
        return code, detail

    def close(self) -> None:
        """End the child: it is never asked when a check before the SBOM fails."""
        import signal

        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        if self.pid is not None:
            pid, self.pid = self.pid, None
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _answer(receive: int, send: int, require_version: Collection[str] | None) -> NoReturn:
    """The child of ``ForkedValidation``: build the schema, then validate what it is sent."""
    status = 1
    try:
        _import_jsonschema_lean(offline=True)  # this process does nothing else
        preload()
        with open(receive, "rb") as given:
            data = given.read()
        try:
            validate(data, require_version=require_version)
            answer: dict[str, str | None] = {"code": None, "detail": ""}
        except BundleError as exc:
            answer = {"code": exc.code, "detail": exc.detail}
        with open(send, "w", encoding="utf-8") as out:
            out.write(json.dumps(answer))
        status = 0
    finally:
        os._exit(status)
