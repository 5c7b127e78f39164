"""leo-license: flags dependencies a change adds whose licence is not on an allow-list.

Licences come from a CycloneDX SBOM in the repository **as it is on the base branch** when there
is one, else from the metadata of the installed distribution. A licence LEO cannot determine is
reported, never assumed fine.

Why the base: the SBOM is the gate's evidence, and the change under review must not write its
own evidence (issue 17.10). A change that adds a copyleft dependency together with an SBOM
calling it MIT would otherwise pass. An SBOM the change edits is a decision for a LEAD instead.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from leo import AgentSettings, Analysed, Change, Finding, SubAgent, SubAgentResult, hookimpl

DEFAULT_ALLOW = (
    "MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC", "PSF-2.0", "MPL-2.0", "Unlicense", "0BSD",
)  # fmt: skip
DEFAULT_SBOMS = ("sbom.cdx.json", "bom.json", "sbom.json")
#: Trove classifiers and free-text licences mapped to SPDX ids.
_ALIASES = {
    "mit license": "MIT",
    "mit": "MIT",
    "bsd license": "BSD-3-Clause",
    "apache software license": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "isc license (iscl)": "ISC",
    "python software foundation license": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
}


class LicenseSettings(AgentSettings):
    """``[tool.leo.agents.license]``."""

    allow: tuple[str, ...] = DEFAULT_ALLOW
    """SPDX ids a new dependency's licence may have."""
    sbom: str | None = None
    """The CycloneDX SBOM to read (default: the first of ``DEFAULT_SBOMS`` that exists)."""


class LicenseAgent(SubAgent):
    name = "license"
    description = "dependencies added by the change must have an allowed licence"
    timeout = 120
    Settings = LicenseSettings
    sample_files = {  # what `leo plugins check` makes awkward for it
        "requirements.txt": "packaging>=23\npluggy>=1\n",
        "pyproject.toml": '[project]\nname = "sample"\ndependencies = ["pluggy>=1"]\n',
    }

    async def check(self, change: Change) -> SubAgentResult:
        allow = set(self.settings.allow)
        added = await added_dependencies(change)
        if not added:
            return self.skipped("the change adds no Python dependencies")
        sbom, sbom_path = await sbom_licences(change, self.settings.sbom)
        decisions = [
            f"the change edits the SBOM {f.path}; licences were read from the base's, so a LEAD "
            "must confirm what the new one claims"
            for f in change.files
            if f.path in ([self.settings.sbom] if self.settings.sbom else DEFAULT_SBOMS)
        ]
        findings = []
        for name, path, line in added:
            licences = sbom.get(name) or installed_licences(name)
            where = {"path": path, "line": line}
            if not licences:
                findings.append(Finding(rule_id="license.unknown", severity="medium",
                                        message=f"the licence of {name} is unknown (not in the SBOM, not installed)",
                                        fix="add it to the SBOM or check the licence by hand", **where))  # fmt: skip
            elif not set(licences) & allow:
                findings.append(Finding(rule_id="license.not_allowed", severity="high",
                                        message=f"{name} is licensed {' OR '.join(sorted(licences))}, not on the allow-list",
                                        fix="pick an alternative or add the licence to [tool.leo.agents.license] allow", **where))  # fmt: skip
        files = tuple(sorted({path for _, path, _ in added}))
        details = {"dependencies_added": len(added), "sbom": f"{sbom_path} at the base"}
        return self.result(
            findings, analysed=Analysed(files=files), details=details, decisions=decisions
        )


async def added_dependencies(change: Change) -> list[tuple[str, str, int]]:
    """(normalised name, file, line) of each dependency the change adds, once per file: a
    name listed again is the same dependency (and a 200,000-line file is not 200,000 lookups)."""
    found: dict[tuple[str, str], int] = {}
    for f in change.files:
        if not f.is_regular:
            continue
        if re.fullmatch(r"(.*/)?requirements[^/]*\.txt", f.path):
            text = (await change.read(f.path) or b"").decode("utf-8", "replace")
            for n, raw in enumerate(text.splitlines(), 1):
                line = raw.split("#", 1)[0].strip()
                if line and not line.startswith("-") and f.is_changed_line(n):
                    try:
                        name = canonicalize_name(Requirement(line).name)
                        found.setdefault((name, f.path), n)
                    except InvalidRequirement:
                        continue
        elif f.path.endswith("pyproject.toml"):
            head = _project_dependencies(await change.read(f.path))
            base = _project_dependencies(await change.read(f.old_path or f.path, "base"))
            text = (await change.read(f.path) or b"").decode("utf-8", "replace").splitlines()
            for name in sorted(set(head) - set(base)):
                line = next((i for i, t in enumerate(text, 1) if head[name] in t), 1)
                found.setdefault((name, f.path), line)
    return [(name, path, line) for (name, path), line in found.items()]


def _project_dependencies(data: bytes | None) -> dict[str, str]:
    if not data:
        return {}
    try:
        deps = tomllib.loads(data.decode("utf-8")).get("project", {}).get("dependencies", [])
        return {canonicalize_name(Requirement(d).name): d for d in deps}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, InvalidRequirement, TypeError):
        return {}


async def sbom_licences(change: Change, path: str | None) -> tuple[dict[str, set[str]], str | None]:
    """Licences per component from a CycloneDX JSON SBOM on the base branch (never the change's
    own), and its path; ``({}, None)`` when the base has none."""
    for candidate in [path] if path else DEFAULT_SBOMS:
        data = await change.read(candidate, "base")
        if data is None:
            continue
        try:
            doc = json.loads(data)
        except ValueError:
            return {}, candidate
        out: dict[str, set[str]] = {}
        for component in doc.get("components", []):
            ids = set()
            for entry in component.get("licenses", []):
                lic = entry.get("license", {})
                ids |= {lic.get("id") or _spdx(lic.get("name", ""))} - {None, ""}
                if entry.get("expression"):
                    ids |= set(re.split(r"\s+(?:OR|AND)\s+", entry["expression"].strip("()")))
            out[canonicalize_name(component.get("name", ""))] = ids
        return out, candidate
    return {}, None


def installed_licences(name: str) -> set[str]:
    """Licences from the installed distribution's metadata (License-Expression, classifiers)."""
    try:
        meta = importlib.metadata.metadata(name)
    except importlib.metadata.PackageNotFoundError:
        return set()
    if meta.get("License-Expression"):
        return set(re.split(r"\s+(?:OR|AND)\s+", meta["License-Expression"].strip("()")))
    ids = {
        _spdx(c.rsplit("::", 1)[-1].strip())
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    }
    if not ids and meta.get("License") and len(meta["License"]) < 60:
        ids = {_spdx(meta["License"])}
    return ids - {""}


def _spdx(text: str) -> str:
    return _ALIASES.get(text.strip().lower(), text.strip())


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [LicenseAgent]
