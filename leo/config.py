"""LEO's configuration: ``[tool.leo]`` in ``pyproject.toml``, or ``leo.toml``, of the checked repo.

The policy is read from the **base** commit, never from the head: a pull request must not be
able to lower the bar it is judged by. When the head edits the policy, the verdict says so and
a LEAD decides (see ``policy_changed``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from leo.errors import ConfigError
from leo.models import LeoModel

if TYPE_CHECKING:
    from leo.change import Change, Side

CONFIG_FILES = ("leo.toml", "pyproject.toml")
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_THRESHOLD = 85
#: Keys of an agent's table that LEO itself reads; the rest go to the sub-agent.
AGENT_KEYS = frozenset({"weight", "timeout", "enabled"})


class Config(LeoModel):
    """The effective configuration of one verification."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(default=DEFAULT_THRESHOLD, ge=0, le=100)
    """Confidence needed for PASS or CONDITIONAL_PASS."""
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    """Default per-agent timeout in seconds."""
    jobs: int = Field(default=0, ge=0)
    """How many sub-agents run at once; 0 runs them all at once."""
    select: tuple[str, ...] | None = None
    """Sub-agents to run by default (None: every loaded one)."""
    required: Literal["all"] | tuple[str, ...] = "all"
    """Sub-agents whose evidence is required ("all": every selected one)."""
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-agent tables: ``weight``, ``timeout``, ``enabled`` and the sub-agent's own settings."""
    database_url: str | None = Field(default=None, exclude=True)
    """Audit database URL (``LEO_DATABASE_URL`` wins); not policy, so not in the digest."""
    github: dict[str, Any] = Field(default_factory=dict)
    """``[tool.leo.github]``: settings of the GitHub mode (docs/github.md), checked by
    ``leo.github.settings``."""
    lanes: dict[str, Any] = Field(default_factory=dict)
    """``[tool.leo.lanes]``: workflow files per lane (docs/supply-chain.md), checked by ``leo.lanes``."""

    def weight(self, name: str) -> float:
        return float(self.agents.get(name, {}).get("weight", 1.0))

    def agent_timeout(self, name: str, default: float | None = None) -> float:
        value = self.agents.get(name, {}).get("timeout")
        return float(value) if value is not None else (default or self.timeout)

    def enabled(self, name: str) -> bool:
        return bool(self.agents.get(name, {}).get("enabled", True))

    def settings(self, name: str) -> dict[str, Any]:
        """The sub-agent's own settings: its table without LEO's keys."""
        return {k: v for k, v in self.agents.get(name, {}).items() if k not in AGENT_KEYS}

    def is_required(self, name: str) -> bool:
        return self.required == "all" or name in self.required

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON of this configuration."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse_config(data: dict[str, Any], source: str) -> Config:
    """Validate a ``[tool.leo]`` table; raise ``ConfigError`` naming the bad key."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = f"invalid LEO configuration in {source}: {where}: {err['msg']}; see docs/configuration.md"
        raise ConfigError(msg) from None
    for name, table in config.agents.items():
        if not isinstance(table.get("weight", 1.0), int | float) or table.get("weight", 1.0) < 0:
            msg = (
                f"invalid LEO configuration in {source}: agents.{name}.weight must be a number >= 0"
            )
            raise ConfigError(msg)
        timeout = table.get("timeout")
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            msg = (
                f"invalid LEO configuration in {source}: agents.{name}.timeout must be > 0 seconds"
            )
            raise ConfigError(msg)
    return config


def _table(text: bytes, filename: str, source: str) -> dict[str, Any] | None:
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{source} is not valid TOML ({exc}); fix it or pass --config FILE"
        raise ConfigError(msg) from None
    if filename == "pyproject.toml":
        table = doc.get("tool", {}).get("leo")
        return table if isinstance(table, dict) else None
    table = doc.get("tool", {}).get("leo", doc)
    return table if isinstance(table, dict) else None


async def read_policy(change: Change, side: Side) -> tuple[dict[str, Any], str]:
    """The raw ``[tool.leo]`` table at ``side`` of the change and where it came from."""
    for filename in CONFIG_FILES:
        text = await change.read(filename, side)
        if text is None:
            continue
        source = (
            f"{filename} at {side} {(change.base_sha if side == 'base' else change.head_sha)[:12]}"
        )
        table = _table(text, filename, source)
        if table is not None:
            return table, source
    return {}, "defaults"


def read_config_file(path: Path, option: str = "--config") -> tuple[Config, str]:
    """The configuration in ``path`` (a ``leo.toml`` or a ``pyproject.toml``); ``option`` names
    the command-line option that gave it, for the error message."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {option} {path}: {exc.strerror}"
        raise ConfigError(msg) from None
    source = str(path)
    table = _table(text, path.name if path.name == "pyproject.toml" else "leo.toml", source)
    return parse_config(table or {}, source), source


async def load_config(change: Change, override: Path | None = None) -> tuple[Config, str]:
    """The configuration to apply: ``override`` if given, else the base commit's policy."""
    if override is not None:
        return read_config_file(override)
    table, source = await read_policy(change, "base")
    return parse_config(table, source), source


async def policy_changed(change: Change) -> bool:
    """True when the head edits LEO's policy relative to the base."""
    if not any(change.file(name) for name in CONFIG_FILES):
        return False
    try:
        head = (await read_policy(change, "head"))[0]
    except ConfigError:
        return True  # the head breaks the policy file: that is a change a LEAD must see
    return (await read_policy(change, "base"))[0] != head
