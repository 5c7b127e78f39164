"""Every git command LEO runs: hardened, with a timeout, failing with one ``GitError``.

The repository under verification is not trusted. Git would run executables its configuration
names (hooks, an fsmonitor, a pager, an external diff), so every call turns them off, takes no
optional locks (a read never writes the index), asks for plain output whatever the user's
configuration says, and never prompts for credentials (issue 16: a test that wrote
``.git/hooks/post-checkout`` had it run by LEO's next ``git worktree add``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from leo.errors import GitError, ToolNotFoundError
from leo.process import ToolResult, run_tool, run_tool_blocking

#: git's global options on every call: no hooks, no fsmonitor, no pager, plain output.
HARDENED = (
    "git",
    "--no-optional-locks",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "core.pager=cat",
    "-c", "core.quotePath=false",
    "-c", "color.ui=never",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "submodule.recurse=false",
    "-c", "protocol.ext.allow=never",
)  # fmt: skip
#: Seconds one git call may take unless the caller says otherwise.
TIMEOUT_S = 300.0
_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


def argv(repo: str | os.PathLike[str], *args: str) -> list[str]:
    """The full argv of ``git -C repo args`` with the hardening options."""
    return [*HARDENED, "-C", str(repo), *args]


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    return {**(os.environ if env is None else env), **_QUIET}


async def run_git(
    repo: str | os.PathLike[str],
    *args: str,
    check: bool = True,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> ToolResult:
    """Run git in ``repo``; ``GitError`` on timeout, and on failure unless ``check`` is False."""
    result = await run_tool(argv(repo, *args), env=_env(env), timeout=timeout, stdin=stdin)
    return _checked(result, repo, args, check, timeout)


async def run_git_without_attributes(
    repo: str | os.PathLike[str], *args: str, check: bool = True, timeout: float = TIMEOUT_S
) -> ToolResult:
    """``run_git`` with none of the repository's own ``.gitattributes`` in force.

    git reads attributes from the work tree and the index, and when the checkout is the head
    those hold the change under review: its ``*.py -diff`` turned every Python file into
    "Binary files differ", with no hunk, so no line of it counted as changed and a shell
    injection it added was judged untouched context (PASS). An empty work tree and index
    leave git's own binary test (a NUL early on) and the operator's attributes files.
    """
    found = await run_git(repo, "rev-parse", "--absolute-git-dir", timeout=timeout)
    git_dir = found.stdout_text.strip()
    with tempfile.TemporaryDirectory(prefix="leo-no-attributes-") as empty:
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(empty, "index")}
        where = (f"--git-dir={git_dir}", f"--work-tree={empty}")
        result = await run_tool(argv(empty, *where, *args), env=_env(env), timeout=timeout)
    return _checked(result, repo, args, check, timeout)


def run_git_blocking(
    repo: str | os.PathLike[str],
    *args: str,
    check: bool = True,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> ToolResult:
    """``run_git`` for code without an event loop (``run_tool_blocking``)."""
    result = run_tool_blocking(argv(repo, *args), env=_env(env), timeout=timeout, stdin=stdin)
    return _checked(result, repo, args, check, timeout)


def run_git_sync(
    repo: str | os.PathLike[str],
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> str:
    """``run_git_blocking``'s stdout as text, for the command line and test scaffolding."""
    try:
        return run_git_blocking(repo, *args, env=env, timeout=timeout).stdout_text
    except ToolNotFoundError:
        msg = "git could not be run (not found on PATH); install git"
        raise GitError(msg) from None


def _checked(
    result: ToolResult,
    repo: str | os.PathLike[str],
    args: tuple[str, ...],
    check: bool,
    timeout: float,
) -> ToolResult:
    if result.timed_out:
        msg = f"git {args[0]} in {repo} did not finish within {timeout:g}s"
        raise GitError(msg)
    if check and result.returncode != 0:
        msg = f"git {' '.join(args[:3])} failed in {repo}: {result.stderr_text.strip()[-500:]}"
        raise GitError(msg)
    return result
