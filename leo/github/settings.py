"""``[tool.leo.github]``: the status context, the other required gates and how long to wait."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from leo.errors import ConfigError
from leo.models import LeoModel

#: The SOP's other required checks, as branch protection names them ("Workflow / job").
DEFAULT_REQUIRED_CHECKS = (
    "Story Release Gate Check / Check Story Release Gate",
    "SLSA Verification / Verify SLSA Provenance",
    "Policy Verification / Validate Policy Bundle",
)
DEFAULT_CONTEXT = "LEO Gate Validation"
#: The SOP: a gate still pending four hours after it started goes to the LEAD.
ESCALATE_AFTER_S = 4 * 3600


class GitHubSettings(LeoModel):
    """Settings of the GitHub mode, read from the base commit like the rest of the policy."""

    status_context: str = Field(default=DEFAULT_CONTEXT, min_length=1, max_length=255)
    """Context of LEO's commit status; branch protection requires this name."""
    required_checks: tuple[str, ...] | None = None
    """Other checks that must succeed on the head commit (status contexts or check-run names).
    Unset: the base branch's required checks from its rulesets and branch protection, or the
    SOP's three when GitHub lets LEO read neither. Set: exactly this list."""
    escalate_after_s: float = Field(default=ESCALATE_AFTER_S, gt=0)
    """A required check pending longer than this (since it started) ESCALATEs to the LEAD."""
    poll_interval_s: float = Field(default=30.0, ge=0.05, le=600)
    """How often ``--wait`` re-reads pending checks."""
    labels: bool = True
    """Move the SOP's state labels after a verdict (``--publish`` only)."""
    comment: bool = True
    """Keep a sticky PR comment with the report (``--publish`` only)."""


def github_settings(table: dict[str, Any]) -> GitHubSettings:
    """Validate ``[tool.leo.github]``; raise ``ConfigError`` naming the bad key."""
    try:
        return GitHubSettings.model_validate(table)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = f"invalid LEO configuration: github.{where}: {err['msg']}; see docs/github.md"
        raise ConfigError(msg) from None
