"""The data of a verification: findings, sub-agent results, the verdict and the report.

These models are LEO's public JSON contract (``schema_version`` 1, see
``docs/report-schema.md``). Fields may be added; none is renamed or removed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

SCHEMA_VERSION: Literal[1] = 1

Severity = Literal["critical", "high", "medium", "low", "info"]
Status = Literal["passed", "warned", "failed", "error", "timeout", "skipped"]
Decision = Literal["PASS", "FAIL", "CONDITIONAL_PASS", "ESCALATE"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
#: Statuses of an agent that could not do its work: missing evidence, never a pass.
MISSING_EVIDENCE: frozenset[Status] = frozenset({"error", "timeout"})


class LeoModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Finding(LeoModel):
    """One problem a sub-agent found."""

    rule_id: str = Field(min_length=1, max_length=200)
    """Stable dotted id, e.g. ``security.bandit.B602``."""
    severity: Severity
    """How bad it is; ``critical`` on the change always fails the verdict."""
    message: str = Field(max_length=10_000)
    """One human sentence saying what is wrong."""
    path: str | None = None
    """Repository-relative path (POSIX separators), or None for a change-wide finding."""
    line: int | None = Field(default=None, ge=1)
    """1-based line at the head commit (or at the base for removed code)."""
    end_line: int | None = Field(default=None, ge=1)
    """Last line of the finding's range, when it spans several."""
    on_changed_line: bool = True
    """True when the change caused it (an added or modified line, or a change-wide fact such as
    a failing test); False marks context in untouched lines, which never blocks."""
    fix: str | None = Field(default=None, max_length=2_000)
    """One sentence on how to fix it, when the sub-agent knows."""
    lead_reason: str | None = Field(default=None, max_length=2_000)
    """The justification the change gave for it (``# leo: allow[<rule-id>] <reason>``): it does
    not block on its own, but a LEAD must accept it, so the verdict is at best ESCALATE."""


class NotAnalysed(LeoModel):
    """A changed file a sub-agent did not look at, and why."""

    path: str
    """Repository-relative path."""
    reason: str
    """Why it was left out: unsupported type, binary, too large, deleted, ..."""
    unread: bool = False
    """True when the file is in the sub-agent's scope and it could not read it (too large, an
    unreadable name, a symlink it could not follow, a submodule pointer, undecodable text):
    missing evidence, so the verdict is at best ESCALATE."""


class Analysed(LeoModel):
    """What a sub-agent actually looked at, so that nothing is silently passed."""

    files: tuple[str, ...] = ()
    """Changed files the sub-agent analysed."""
    lines: int = Field(default=0, ge=0)
    """Changed (added or modified) lines within those files."""
    not_analysed: tuple[NotAnalysed, ...] = ()
    """Changed files it left out, each with the reason."""


class Tool(LeoModel):
    """An external tool a sub-agent ran."""

    name: str
    """The tool's name, e.g. ``bandit``."""
    version: str
    """The version it reported."""


class SubAgentResult(LeoModel):
    """The outcome of one sub-agent on one change."""

    name: str = ""
    """The sub-agent's name, e.g. ``security`` (filled in by the runner)."""
    plugin: str = ""
    """Distribution (or module) that provides the sub-agent (filled in by the runner)."""
    plugin_version: str = ""
    """That distribution's version (filled in by the runner)."""
    status: Status
    """``passed``, ``warned``, ``failed``; ``error``/``timeout`` when it could not do its work
    (missing evidence); ``skipped`` when there was nothing for it to check (neutral)."""
    confidence: int = Field(ge=0, le=100)
    """0-100: how sure the sub-agent is that the change is safe in its domain."""
    summary: str = Field(default="", max_length=10_000)
    """One sentence: what it found, or why it skipped or failed to run."""
    findings: tuple[Finding, ...] = ()
    """What it found, blocking and context."""
    decisions: tuple[str, ...] = ()
    """Questions only a LEAD can settle, e.g. each public API the change removes: the verdict
    ESCALATEs with them unless something else FAILs it."""
    duration_s: float = Field(default=0.0, ge=0)
    """Wall time of the sub-agent's check, in seconds (filled in by the runner)."""
    analysed: Analysed = Analysed()
    """Which files and lines it looked at, and which it did not."""
    tools: tuple[Tool, ...] = ()
    """External tools it ran, with their versions."""
    details: dict[str, JsonValue] = Field(default_factory=dict)
    """Sub-agent specific figures (coverage, medians, counts of suppressions, ...)."""
    error: str | None = Field(default=None, max_length=100_000)
    """For ``error`` and ``timeout``: what went wrong (a traceback for a crash)."""
    cached: bool = False
    """True when this result was reused from the result cache."""
    revised_by: tuple[str, ...] = ()
    """Who revised this result in conflict resolution, one entry per round that changed it
    (``round 1: <plugin>``); only the sub-agent's own plugin or LEO's default may."""


class Requirement(LeoModel):
    """A condition the verdict depends on besides the sub-agents' confidence."""

    name: str
    """Short name, e.g. ``security passed`` or ``handoff chain intact``."""
    met: bool | None
    """True met, False failed (the verdict FAILs), None undecided (a LEAD must decide: ESCALATE)."""
    detail: str = ""
    """Why it is or is not met."""


class Verdict(LeoModel):
    """What the aggregator decided."""

    verdict: Decision
    """PASS, FAIL, CONDITIONAL_PASS (a LEAD decides) or ESCALATE."""
    confidence: int = Field(ge=0, le=100)
    """Weighted confidence over the sub-agents that produced evidence (missing evidence is 0)."""
    reasons: tuple[str, ...]
    """Human sentences explaining the verdict, most important first."""
    resolution_rounds: int = Field(ge=0, le=3)
    """Conflict-resolution rounds that ran (0 when the sub-agents agreed)."""
    requirements: tuple[Requirement, ...] = ()
    """Every requirement and whether it was met."""


class Report(LeoModel):
    """The full report of one verification: LEO's JSON output."""

    schema_version: Literal[1] = SCHEMA_VERSION
    """Version of this JSON contract."""
    leo_version: str
    """Version of LEO that produced the report."""
    verdict: Decision
    """PASS, FAIL, CONDITIONAL_PASS or ESCALATE."""
    confidence: int = Field(ge=0, le=100)
    """Weighted confidence 0-100."""
    reasons: tuple[str, ...]
    """Human sentences explaining the verdict."""
    resolution_rounds: int = Field(ge=0, le=3)
    """Conflict-resolution rounds that ran."""
    requirements: tuple[Requirement, ...] = ()
    """Every requirement and whether it was met."""
    repository: str
    """The repository verified (a path or ``owner/name``)."""
    base_sha: str
    """Commit the change is compared against."""
    head_sha: str
    """Commit the verdict is bound to."""
    config_digest: str
    """sha256 of the effective configuration, so a verdict names the policy it applied."""
    changed_files: int = Field(ge=0)
    """How many files the change touches."""
    duration_s: float = Field(ge=0)
    """Wall time of the whole verification, in seconds."""
    agents: tuple[SubAgentResult, ...]
    """Each sub-agent's result, in the order they were selected."""
    isolation: Literal["sandbox", "none"] = "sandbox"
    """How the change's code ran: ``sandbox`` (bubblewrap) or ``none`` (unisolated, by the
    base policy's choice; the verdict is then at best CONDITIONAL_PASS)."""


#: What a consumer of the published schema does with a field it does not know (issue 19).
FORWARD_COMPATIBILITY = (
    "LEO's report, schema_version 1. Later LEO versions may add properties anywhere within "
    "schema_version 1: consumers must ignore properties they do not know (the schema allows "
    "them) and must refuse a report whose schema_version they do not know; a renamed or "
    "removed field comes only with a new schema_version."
)


def report_schema() -> dict[str, JsonValue]:
    """The published JSON Schema of ``Report`` (``leo schema``, docs/report.schema.json).

    pydantic's schema describes what LEO itself accepts (``extra="forbid"``, a defaulted
    ``schema_version``); consumers need the contract instead: draft 2020-12 named, the version
    required, and unknown properties allowed so an older consumer reads a newer report.
    """
    schema = Report.model_json_schema()

    def open_up(node: JsonValue) -> None:
        if isinstance(node, dict):
            if node.get("additionalProperties") is False:
                del node["additionalProperties"]
            for value in node.values():
                open_up(value)
        elif isinstance(node, list):
            for value in node:
                open_up(value)

    open_up(schema)
    required = schema.get("required")
    if isinstance(required, list) and "schema_version" not in required:
        required.insert(0, "schema_version")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": FORWARD_COMPATIBILITY,
        **schema,
    }
