"""``SubAgent``: the base class of every checker the supervisor runs, built-in or third party.

A plugin subclasses it, sets ``name`` and implements ``async def check(self, change)``, then
returns the class from the ``leo_register_subagents`` hook. The runner instantiates it with its
settings, runs ``check`` in its own task with a timeout, and validates what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError, model_validator

from leo.aggregate import blocking, confidence_of, status_of
from leo.errors import ConfigError
from leo.models import Analysed, Finding, Status, SubAgentResult, Tool

if TYPE_CHECKING:
    from leo.change import Change

CheckOutcome = Sequence[Finding] | SubAgentResult


class Conflict:
    """What a sub-agent sees in a conflict-resolution round."""

    def __init__(self, round: int, own: SubAgentResult, others: Sequence[SubAgentResult]) -> None:
        self.round = round
        """1, 2 or 3."""
        self.own = own
        """This sub-agent's current result."""
        self.others = tuple(others)
        """Every other sub-agent's current result: the evidence to weigh."""


class AgentSettings(BaseModel):
    """Base of a sub-agent's ``Settings``: its ``[tool.leo.agents.<name>]`` table, typed.

    Frozen, unknown keys refused and values taken as written (strict: ``"5"`` is not 5, 1 is
    not ``true``), so a typo in the policy is exit 2 naming the key before anything runs,
    never a default silently applied. TOML arrays arrive as tuples.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _arrays_as_tuples(cls, data: Any) -> Any:
        return _tuples(data)


def _tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def parse_settings(cls: type[SubAgent], table: Mapping[str, Any]) -> Any:
    """``table`` validated by ``cls.Settings`` (as a plain dict when it declares none).

    Raises ``ConfigError``: one sentence naming the sub-agent, the key and what it accepts.
    """
    if cls.Settings is None:
        return dict(table)
    try:
        return cls.Settings.model_validate(dict(table))
    except ValidationError as exc:
        raise ConfigError(_settings_error(cls.name, cls.Settings, exc)) from None


def _settings_error(name: str, model: type[AgentSettings], exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = f"[tool.leo.agents.{name}]"
    key = str(err["loc"][0]) if err["loc"] else ""
    if err["type"] == "extra_forbidden":
        accepts = ", ".join(sorted(model.model_fields)) or "no keys"
        return f"unknown key {key!r} in {where}; {name} accepts: {accepts}"
    field = model.model_fields.get(key)
    expected = describe(field.annotation, field.metadata) if field is not None else "a valid value"
    problem = str(err["msg"]).removeprefix("Value error, ").replace("valid tuple", "list")
    return f"{where} {key} = {err['input']!r} is invalid ({problem}); {key} accepts {expected}"


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_PLURALS = {int: "integers", float: "numbers", str: "strings"}
_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def describe(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """What a settings field accepts, in the words of a TOML table: ``a list of a string``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return describe(args[0], args[1:])
    bounds = [
        f"{sign} {getattr(m, bound)}"
        for m in metadata
        for bound, sign in _BOUNDS.items()
        if getattr(m, bound, None) is not None
    ]
    if origin is Literal:
        *rest, last = (repr(a) for a in args)
        text = f"{', '.join(rest)} or {last}" if rest else last
    elif origin in (Union, UnionType):
        text = " or ".join(describe(a) for a in args if a is not type(None))
    elif origin is tuple:
        text = f"a list of {_PLURALS.get(args[0], describe(args[0]))}" if args else "a list"
    elif origin in (dict, Mapping):
        text = f"a table of {_PLURALS.get(args[1], describe(args[1]))}" if args else "a table"
    else:
        text = _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return " and ".join([f"{text} {bounds[0]}", *bounds[1:]]) if bounds else text


class SubAgent:
    """Base class of a sub-agent. Subclass it, set ``name`` and implement ``check``."""

    name: ClassVar[str]
    """Unique lower-case name, e.g. ``security``; used in ``--agents`` and config."""
    description: ClassVar[str] = ""
    """One line shown by ``leo plugins``."""
    timeout: ClassVar[float | None] = None
    """Default timeout in seconds for this sub-agent, when config sets none."""
    cache_scope: ClassVar[Literal["tree", "change", "none"]] = "tree"
    """What a cached result depends on: the whole base and head trees (safe default), only the
    changed files' contents (``change``: agents that read nothing else), or never cached."""
    sample_files: ClassVar[Mapping[str, str]] = {}
    """Files this sub-agent analyses, each with a small content it would analyse, e.g.
    ``{"requirements.txt": "pluggy>=1\n"}``. ``leo plugins check`` makes its awkward changes to
    these files too (deleted, renamed, binary, huge, non-UTF-8, under an odd path), so the
    situations reach the code that reads them rather than a "nothing for me" skip. Empty: the
    situations change Python and SQL files only."""

    Settings: ClassVar[type[AgentSettings] | None] = None
    """The model of this sub-agent's ``[tool.leo.agents.<name>]`` table: a subclass of
    ``AgentSettings``. LEO validates the base's table with it before any sub-agent runs, so
    an unknown or mistyped key exits 2. None (sub-agents written before it existed): the
    table reaches ``self.settings`` unchecked, as a dict."""

    def __init__(self, settings: Mapping[str, Any] | AgentSettings | None = None) -> None:
        self.settings: Any = (
            settings
            if self.Settings is not None and isinstance(settings, self.Settings)
            else parse_settings(type(self), settings or {})  # type: ignore[arg-type]
        )
        """This sub-agent's table from ``[tool.leo.agents.<name>]`` (LEO's own keys removed):
        an instance of ``Settings``, or a dict when the sub-agent declares none."""

    async def check(self, change: Change) -> CheckOutcome:
        """Examine ``change``; return findings, or a full ``SubAgentResult``."""
        raise NotImplementedError

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> CheckOutcome | None:
        """Reconsider this sub-agent's result given the others' evidence.

        Called in conflict-resolution rounds when sub-agents disagree. Return None to stand by
        the current result, or a revised one (e.g. after re-running failed tests to tell a
        flaky test from a broken one). The default stands by the result.
        """
        return None

    # Helpers to build results without repeating the runner's bookkeeping.

    def skipped(self, reason: str, **kwargs: Any) -> SubAgentResult:
        """Nothing to check (no migrations, no benchmarks): neutral for the verdict."""
        return SubAgentResult(status="skipped", confidence=100, summary=reason, **kwargs)

    def result(
        self,
        findings: Sequence[Finding] = (),
        *,
        summary: str = "",
        analysed: Analysed | None = None,
        tools: Sequence[Tool] = (),
        details: Mapping[str, JsonValue] | None = None,
        status: Status | None = None,
        confidence: int | None = None,
        decisions: Sequence[str] = (),
    ) -> SubAgentResult:
        """A result whose status and confidence follow from ``findings`` unless given."""
        findings = tuple(findings)
        return SubAgentResult(
            status=status or status_of(findings),
            confidence=confidence if confidence is not None else confidence_of(findings),
            summary=summary or summarise(findings),
            findings=findings,
            analysed=analysed or Analysed(),
            tools=tuple(tools),
            details=dict(details or {}),
            decisions=tuple(decisions),
        )


def summarise(findings: Sequence[Finding]) -> str:
    """``n findings on the change, m in untouched lines``: the default one-line summary."""
    count = len(blocking(findings))
    context = len(findings) - count
    text = f"{count} finding{'s' if count != 1 else ''} on the change"
    return text + (f", {context} in untouched lines" if context else "")


@dataclass(frozen=True)
class AgentSpec:
    """A sub-agent class and the plugin it came from, as the plugin host registered it."""

    cls: type[SubAgent]
    plugin: str
    version: str

    @property
    def name(self) -> str:
        return self.cls.name


@dataclass(frozen=True)
class Job:
    """One sub-agent to run: its spec, its settings and its timeout."""

    spec: AgentSpec
    settings: dict[str, Any]
    timeout: float
