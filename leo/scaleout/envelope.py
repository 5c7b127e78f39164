"""The agent result envelope: one sub-agent's result bound to the change and policy it judged.

``leo agent run`` writes one; ``leo aggregate`` reads several and refuses any that do not
belong together (another head, base or policy, or the same sub-agent twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from leo.change import Change
from leo.errors import LeoError
from leo.models import LeoModel, SubAgentResult

KIND: Literal["leo.agent-result"] = "leo.agent-result"
#: A result file larger than this is refused unread (results are kilobytes; CI artifacts are
#: not trusted to be small).
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024


class AgentRun(LeoModel):
    """One sub-agent's result with the identity of the change it judged (``leo agent run``)."""

    kind: Literal["leo.agent-result"] = KIND
    """Marks the file as a LEO agent result envelope."""
    schema_version: Literal[1] = 1
    """Version of this envelope format."""
    leo_version: str
    """Version of LEO that ran the sub-agent."""
    agent: str = Field(min_length=1, max_length=64)
    """The sub-agent's name."""
    plugin: str
    """Distribution that provides the sub-agent."""
    plugin_version: str
    """That distribution's version; ``leo aggregate`` refuses a different installed version."""
    config_digest: str
    """sha256 of the effective configuration (``Report.config_digest``)."""
    policy_changed: bool
    """True when the head edits LEO's policy (a LEAD must then decide)."""
    change: Change
    """The change: repository path, base and head SHA, changed files and hunks."""
    started_at: datetime
    """When the sub-agent started (UTC)."""
    finished_at: datetime
    """When it finished (UTC)."""
    result: SubAgentResult
    """The sub-agent's result, before any conflict-resolution round."""

    @property
    def head_sha(self) -> str:
        return self.change.head_sha

    @property
    def base_sha(self) -> str:
        return self.change.base_sha


def read_envelope(path: Path) -> AgentRun:
    """Read and validate one result file; a bad file is a ``LeoError`` naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_ENVELOPE_BYTES:
            msg = f"{path} is {size} bytes, more than a LEO agent result can be; pass the files `leo agent run --output` wrote"
            raise LeoError(msg)
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read agent result {path}: {exc.strerror}; pass files written by `leo agent run --output`"
        raise LeoError(msg) from None
    try:
        return AgentRun.model_validate_json(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = f"{path} is not a LEO agent result ({where}: {err['msg']}); pass files written by `leo agent run --output`"
        raise LeoError(msg) from None


def check_together(runs: Sequence[tuple[Path, AgentRun]], head_sha: str | None = None) -> None:
    """Refuse results that do not belong to one verification: another head SHA, base SHA or
    configuration than the first (or than ``head_sha``), or a sub-agent given twice."""
    if not runs:
        msg = "no agent results given; pass the result files of `leo agent run --output`"
        raise LeoError(msg)
    first_path, first = runs[0]
    want_head = head_sha or first.head_sha
    seen: dict[str, Path] = {}
    for path, run in runs:
        if run.head_sha != want_head:
            against = "--head" if head_sha else f"{first_path} (the first result)"
            msg = (
                f"{path} is a result for head {run.head_sha[:12]}, not {want_head[:12]} as {against}; "
                "every result must come from `leo agent run` on the same head commit"
            )
            raise LeoError(msg)
        if run.base_sha != first.base_sha:
            msg = (
                f"{path} compares against base {run.base_sha[:12]}, not {first.base_sha[:12]} as "
                f"{first_path}; run every `leo agent run` with the same --base"
            )
            raise LeoError(msg)
        if run.config_digest != first.config_digest:
            msg = (
                f"{path} was computed under configuration {run.config_digest[:19]}, not "
                f"{first.config_digest[:19]} as {first_path}; every job must apply the same policy"
            )
            raise LeoError(msg)
        if run.agent in seen:
            msg = (
                f"sub-agent {run.agent!r} has two results ({seen[run.agent]} and {path}); "
                "pass exactly one result per sub-agent"
            )
            raise LeoError(msg)
        seen[run.agent] = path
