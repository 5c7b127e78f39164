"""LEO: the verification gate that decides whether a pull request may merge.

The public facade for plugins and scripts. Plugins import only from here
(``from leo import hookimpl, SubAgent, Finding``), never from LEO's internals. Names load
lazily so that ``leo --version`` stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from leo.__about__ import __version__

if TYPE_CHECKING:
    from leo.change import (
        Change,
        ChangedFile,
        Hunk,
        code_named_like_tests,
        is_test_module,
        is_test_side,
    )
    from leo.errors import ExitCode, GitError, LeoError, ToolNotFoundError
    from leo.files import held_lock
    from leo.git import run_git
    from leo.hookspecs import hookimpl
    from leo.lanes import LaneFinding, LanePolicy, audit_workflows
    from leo.models import (
        Analysed,
        Finding,
        NotAnalysed,
        Report,
        Requirement,
        Severity,
        Status,
        SubAgentResult,
        Tool,
        Verdict,
    )
    from leo.postgres import PostgresUnavailable, TemporaryPostgres
    from leo.process import ToolResult, find_tool, run_tool
    from leo.sandbox import (
        Limits,
        Sandbox,
        SandboxUnavailable,
        allowed_environ,
        current_isolation,
        interpreter_paths,
        require_sandbox,
    )
    from leo.subagent import AgentSettings, CheckOutcome, Conflict, SubAgent
    from leo.syntax import parse_expression, parse_python, syntax_lock
    from leo.venvs import planted

__all__ = [
    "AgentSettings",
    "Analysed",
    "Change",
    "ChangedFile",
    "CheckOutcome",
    "Conflict",
    "ExitCode",
    "Finding",
    "GitError",
    "Hunk",
    "LaneFinding",
    "LanePolicy",
    "LeoError",
    "Limits",
    "NotAnalysed",
    "PostgresUnavailable",
    "Report",
    "Requirement",
    "Sandbox",
    "SandboxUnavailable",
    "Severity",
    "Status",
    "SubAgent",
    "SubAgentResult",
    "TemporaryPostgres",
    "Tool",
    "ToolNotFoundError",
    "ToolResult",
    "Verdict",
    "__version__",
    "allowed_environ",
    "audit_workflows",
    "code_named_like_tests",
    "current_isolation",
    "find_tool",
    "held_lock",
    "hookimpl",
    "interpreter_paths",
    "is_test_module",
    "is_test_side",
    "parse_expression",
    "parse_python",
    "planted",
    "require_sandbox",
    "run_git",
    "run_tool",
    "syntax_lock",
]

_WHERE = {
    "Change": "leo.change",
    "ChangedFile": "leo.change",
    "Hunk": "leo.change",
    "is_test_module": "leo.change",
    "is_test_side": "leo.change",
    "code_named_like_tests": "leo.change",
    "ExitCode": "leo.errors",
    "LeoError": "leo.errors",
    "GitError": "leo.errors",
    "run_git": "leo.git",
    "held_lock": "leo.files",
    "ToolNotFoundError": "leo.errors",
    "LaneFinding": "leo.lanes",
    "LanePolicy": "leo.lanes",
    "audit_workflows": "leo.lanes",
    "Analysed": "leo.models",
    "Finding": "leo.models",
    "NotAnalysed": "leo.models",
    "Report": "leo.models",
    "Requirement": "leo.models",
    "Severity": "leo.models",
    "Status": "leo.models",
    "SubAgentResult": "leo.models",
    "Tool": "leo.models",
    "Verdict": "leo.models",
    "hookimpl": "leo.hookspecs",
    "PostgresUnavailable": "leo.postgres",
    "TemporaryPostgres": "leo.postgres",
    "ToolResult": "leo.process",
    "run_tool": "leo.process",
    "find_tool": "leo.process",
    "AgentSettings": "leo.subagent",
    "Limits": "leo.sandbox",
    "Sandbox": "leo.sandbox",
    "SandboxUnavailable": "leo.sandbox",
    "allowed_environ": "leo.sandbox",
    "current_isolation": "leo.sandbox",
    "interpreter_paths": "leo.sandbox",
    "require_sandbox": "leo.sandbox",
    "CheckOutcome": "leo.subagent",
    "Conflict": "leo.subagent",
    "SubAgent": "leo.subagent",
    "parse_expression": "leo.syntax",
    "parse_python": "leo.syntax",
    "syntax_lock": "leo.syntax",
    "planted": "leo.venvs",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    msg = f"module 'leo' has no attribute {name!r}"
    raise AttributeError(msg)
