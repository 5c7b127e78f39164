"""Credential separation between lanes: what the builder's and the enforcer's workflow jobs hold.

``[tool.leo.lanes]`` maps workflow files (by file name under ``.github/workflows/``, or
``file:job``) to lanes. The builder lane writes code, so its jobs hold no write token, no secret
beyond an allow-list, no ``pull_request_target`` trigger and no OIDC token they do not sign
with; the enforcer lane judges the builder, so it holds none of the builder's secrets. The
audit reads committed files only; ``leo lanes audit`` and the Security sub-agent share it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from leo.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

WORKFLOWS_DIR = ".github/workflows/"
DEFAULT_ALLOWED_SECRETS = frozenset({"GITHUB_TOKEN"})
#: Steps that sign or attest: the one reason a builder job may ask for an OIDC token.
SIGNING_MARKERS = (
    "sigstore/",
    "actions/attest",
    "slsa-framework/slsa-github-generator",
    "cosign",
    "--sign sigstore",
    "python -m sigstore",
    "sigstore sign",
)
_SECRET = re.compile(r"secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_ALL_SECRETS = re.compile(r"toJSON\s*\(\s*secrets\s*\)", re.IGNORECASE)
#: Write scopes that only sign: allowed in a builder job that signs, like ``id-token``.
SIGNING_SCOPES = frozenset({"id-token", "attestations"})
_NAME = re.compile(r"[A-Za-z0-9._-]+\.ya?ml(:[A-Za-z0-9_-]+)?")

Rule = Literal[
    "lanes.unknown_workflow",
    "lanes.unreadable_workflow",
    "lanes.builder_write_permission",
    "lanes.builder_default_permissions",
    "lanes.builder_secret",
    "lanes.builder_pull_request_target",
    "lanes.builder_unused_id_token",
    "lanes.enforcer_builder_secret",
]


@dataclass(frozen=True)
class LaneFinding:
    """One way a workflow job breaks the separation between lanes."""

    rule: Rule
    file: str
    job: str
    what: str
    why: str

    def line(self) -> str:
        return f"{self.file}: job {self.job}: {self.what} — {self.why}"


@dataclass(frozen=True)
class LanePolicy:
    """``[tool.leo.lanes]``: which workflows (or ``file:job``) act for which lane."""

    builder: tuple[str, ...] = ()
    enforcer: tuple[str, ...] = ()
    allowed_secrets: frozenset[str] = DEFAULT_ALLOWED_SECRETS
    """Secrets a builder job may use."""
    builder_secrets: frozenset[str] = frozenset()
    """Secrets that are the builder's; besides these, any secret a builder job uses."""

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> LanePolicy:
        known = {"builder", "enforcer", "allowed_secrets", "builder_secrets"}
        if unknown := sorted(set(table) - known):
            raise ConfigError(
                f"unknown key(s) {unknown} in [tool.leo.lanes] of {source}; known: {sorted(known)}"
            )
        values: dict[str, tuple[str, ...]] = {}
        for key in known:
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"[tool.leo.lanes] {key} in {source} must be a list of strings, not {value!r}"
                )
            values[key] = tuple(value)
        for entry in (*values["builder"], *values["enforcer"]):
            if not _NAME.fullmatch(entry):
                raise ConfigError(
                    f"[tool.leo.lanes] entry {entry!r} in {source} is not a workflow file name "
                    "like 'build.yml' or 'build.yml:job'"
                )
        return cls(
            builder=values["builder"],
            enforcer=values["enforcer"],
            allowed_secrets=frozenset(values["allowed_secrets"] or DEFAULT_ALLOWED_SECRETS),
            builder_secrets=frozenset(values["builder_secrets"]),
        )

    def workflow_files(self) -> list[str]:
        """The repository paths of every workflow the policy names."""
        names = {e.split(":", 1)[0] for e in (*self.builder, *self.enforcer)}
        return sorted(WORKFLOWS_DIR + n for n in names)


def _load(data: bytes) -> dict[str, Any] | None:
    import yaml  # type: ignore[import-untyped]

    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    # YAML 1.1 reads the key ``on`` as True; GitHub means the triggers.
    if True in doc and "on" not in doc:
        doc["on"] = doc.pop(True)
    return doc


def _jobs(
    entries: tuple[str, ...], workflows: Mapping[str, bytes]
) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]] | LaneFinding]:
    """``(file, job name, job, workflow)`` for each job the entries name, or a finding."""
    for entry in entries:
        name, _, only = entry.partition(":")
        path = WORKFLOWS_DIR + name
        if path not in workflows:
            yield LaneFinding(
                "lanes.unknown_workflow",
                path,
                only or "*",
                "the lane policy names a workflow that is not committed",
                "a lane mapping that points nowhere protects nothing; fix [tool.leo.lanes]",
            )
            continue
        doc = _load(workflows[path])
        jobs = doc.get("jobs") if doc else None
        if not isinstance(jobs, dict):
            yield LaneFinding(
                "lanes.unreadable_workflow",
                path,
                only or "*",
                "the workflow is not YAML with a jobs mapping",
                "what LEO cannot read is missing evidence, never a pass",
            )
            continue
        assert doc is not None
        if only and only not in jobs:
            yield LaneFinding(
                "lanes.unknown_workflow",
                path,
                only,
                "the lane policy names a job the workflow does not have",
                "fix [tool.leo.lanes]",
            )
            continue
        for job_name, job in jobs.items():
            if (not only or job_name == only) and isinstance(job, dict):
                yield path, str(job_name), job, doc


def _secrets(*parts: Any) -> tuple[set[str], bool]:
    """Secret names the YAML ``parts`` reference, and whether they hand over all secrets."""
    text = json.dumps(parts, default=str)
    names = {a or b for a, b in _SECRET.findall(text)}
    inherit = any(isinstance(p, dict) and p.get("secrets") == "inherit" for p in parts)
    return names, inherit or bool(_ALL_SECRETS.search(text))


def _triggers(doc: dict[str, Any]) -> set[str]:
    on = doc.get("on")
    if isinstance(on, str):
        return {on}
    if isinstance(on, list | dict):
        return {str(t) for t in on}
    return set()


def _signs(job: dict[str, Any]) -> bool:
    text = json.dumps([job.get("uses"), job.get("steps")], default=str)
    return any(marker in text for marker in SIGNING_MARKERS)


def _permissions(job: dict[str, Any], doc: dict[str, Any]) -> tuple[Any, str]:
    if "permissions" in job:
        return job["permissions"], "job"
    if "permissions" in doc:
        return doc["permissions"], "workflow"
    return None, ""


def _audit_builder_job(
    path: str, name: str, job: dict[str, Any], doc: dict[str, Any], policy: LanePolicy
) -> Iterator[LaneFinding]:
    permissions, level = _permissions(job, doc)
    if permissions is None:
        yield LaneFinding(
            "lanes.builder_default_permissions",
            path,
            name,
            "permissions are left unset",
            "GITHUB_TOKEN then gets the repository default, which may be write; "
            "set `permissions: contents: read` (or `{}`)",
        )
    elif permissions == "write-all" or (
        isinstance(permissions, dict)
        and any(v == "write" for k, v in permissions.items() if k not in SIGNING_SCOPES)
    ):
        scopes = (
            "write-all"
            if permissions == "write-all"
            else ", ".join(
                sorted(
                    f"{k}: write"
                    for k, v in permissions.items()
                    if v == "write" and k not in SIGNING_SCOPES
                )
            )
        )
        yield LaneFinding(
            "lanes.builder_write_permission",
            path,
            name,
            f"{level}-level permissions grant {scopes}",
            "the builder lane proposes changes; only the enforcer and the LEAD may write",
        )
    signing = sorted(
        k
        for k, v in (permissions.items() if isinstance(permissions, dict) else ())
        if k in SIGNING_SCOPES and v == "write"
    )
    if signing and not _signs(job):
        yield LaneFinding(
            "lanes.builder_unused_id_token",
            path,
            name,
            f"requests {', '.join(f'{k}: write' for k in signing)} but no step signs or attests",
            "an OIDC token nobody signs with is a credential to lose; drop it",
        )
    names, everything = _secrets(job, doc.get("env"))
    if everything:
        yield LaneFinding(
            "lanes.builder_secret",
            path,
            name,
            "hands over every secret (secrets: inherit or toJSON(secrets))",
            "the builder lane may use only the allow-listed secrets",
        )
    for secret in sorted(names - policy.allowed_secrets):
        yield LaneFinding(
            "lanes.builder_secret",
            path,
            name,
            f"uses secret {secret}",
            f"not in the builder allow-list ({', '.join(sorted(policy.allowed_secrets))}); "
            "add it to [tool.leo.lanes] allowed_secrets only if the builder needs it",
        )


def audit_workflows(policy: LanePolicy, workflows: Mapping[str, bytes]) -> list[LaneFinding]:
    """Every lane finding in ``workflows`` (repository path -> committed bytes)."""
    findings: list[LaneFinding] = []
    builder_secrets = set(policy.builder_secrets)
    triggered: set[str] = set()
    for item in _jobs(policy.builder, workflows):
        if isinstance(item, LaneFinding):
            findings.append(item)
            continue
        path, name, job, doc = item
        if "pull_request_target" in _triggers(doc) and path not in triggered:
            triggered.add(path)
            findings.append(
                LaneFinding(
                    "lanes.builder_pull_request_target",
                    path,
                    "*",
                    "triggered by pull_request_target",
                    "that trigger runs with the base repository's token and secrets on "
                    "untrusted pull-request input",
                )
            )
        findings.extend(_audit_builder_job(path, name, job, doc, policy))
        builder_secrets |= _secrets(job)[0] - DEFAULT_ALLOWED_SECRETS
    for item in _jobs(policy.enforcer, workflows):
        if isinstance(item, LaneFinding):
            findings.append(item)
            continue
        path, name, job, doc = item
        names, everything = _secrets(job, doc.get("env"))
        held = sorted(names & builder_secrets)
        if everything and builder_secrets:
            held = sorted(builder_secrets)
        for secret in held:
            findings.append(
                LaneFinding(
                    "lanes.enforcer_builder_secret",
                    path,
                    name,
                    f"holds the builder's secret {secret}",
                    "the lane that judges the builder must not be able to act as the builder",
                )
            )
    return findings


async def audit_repository(repo: Path, ref: str = "HEAD") -> list[LaneFinding]:
    """``leo lanes audit``: the committed policy and workflows at ``ref`` of ``repo``."""
    import tomllib

    from leo.errors import GitError
    from leo.process import run_tool

    async def show(path: str) -> bytes | None:
        result = await run_tool(["git", "-C", str(repo), "show", f"{ref}:{path}"], timeout=60)
        return result.stdout if result.returncode == 0 else None

    check = await run_tool(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]
    )
    if check.returncode != 0:
        raise GitError(f"{repo} has no commit {ref}; pass --repo a git repository with commits")
    table: Any = None
    source = ""
    for filename in ("leo.toml", "pyproject.toml"):
        text = await show(filename)
        if text is None:
            continue
        source = f"{filename} at {ref}"
        try:
            doc = tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source} is not valid TOML ({exc})") from None
        leo = doc.get("tool", {}).get("leo", doc if filename == "leo.toml" else None)
        table = leo.get("lanes") if isinstance(leo, dict) else None
        if table is not None:
            break
    if not isinstance(table, dict) or not (table.get("builder") or table.get("enforcer")):
        raise ConfigError(
            f"no [tool.leo.lanes] with builder or enforcer workflows at {ref} of {repo}; map "
            'workflow files to lanes, e.g. builder = ["codex-build.yml"]'
        )
    policy = LanePolicy.from_table(table, source)
    workflows = {}
    for path in policy.workflow_files():
        data = await show(path)
        if data is not None:
            workflows[path] = data
    return audit_workflows(policy, workflows)
