"""How the change's own code runs: in LEO's sandbox (``leo.Sandbox``, bubblewrap) with the
Testing sub-agent's allow-listed environment, limits and network rules.

The worktree copy and this run's scratch directory are the only writable places; the cached
virtual environment is writable while it is set up and read-only while the tests run, so a
test cannot poison it for the next run. The network is off while tests run (``network``) and
on for the setup unless ``setup_network = "deny"`` (see docs/agents/testing.md).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leo import (
    LeoError,
    Limits,
    ToolResult,
    allowed_environ,
    current_isolation,
    interpreter_paths,
    require_sandbox,
)
from leo import (
    Sandbox as LeoSandbox,
)
from leo_testing.settings import SECRET_NAME, Settings

Phase = Literal["setup", "test"]


@dataclass(frozen=True)
class Sandbox:
    """The scratch directories and rules for one run of the change's code."""

    settings: Settings
    root: Path
    """A private temporary directory; ``home``, ``tmp`` and ``out`` live below it."""

    @classmethod
    def create(cls, settings: Settings, root: Path) -> Sandbox:
        for name in ("home", "tmp", "out"):
            (root / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(settings, root)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def environ(
        self,
        phase: Phase,
        *,
        venv: Path | None = None,
        pythonpath: Sequence[Path] = (),
        source: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        wheelhouse: Path | None = None,
    ) -> dict[str, str]:
        """The complete environment of the change's code: an allow-list, never a deny-list.

        A test's own pip (a build of the project) resolves from ``wheelhouse`` (the build
        requirements the setup fetched) and, with the network denied, from nothing else: it
        fails at once instead of retrying an index it cannot reach.
        """
        names = [n for n in self.settings.pass_env if not SECRET_NAME.search(n)]
        env = allowed_environ(
            home=self.home,
            path=[venv / "bin"] if venv else [],
            setup=phase == "setup",
            names=names,
            source=source,
        )
        if wheelhouse is not None:
            env["PIP_FIND_LINKS"] = str(wheelhouse)
        if phase == "test" and self.settings.network == "deny":
            env["PIP_NO_INDEX"] = "1"
        env.update({k: expand([v], values or {})[0] for k, v in self.settings.env.items()})
        tmp = str(self.root / "tmp")
        env.update(TMPDIR=tmp, TEMP=tmp, TMP=tmp)
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
        return env

    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            memory_mb=s.memory_limit_mb,
            processes=s.max_processes,
            file_size_mb=s.max_file_size_mb,
        )

    async def check_available(self) -> None:
        """Fail closed (``SandboxUnavailable``) before anything runs when there is no sandbox."""
        if current_isolation() != "none":
            await require_sandbox()

    async def run(
        self,
        argv: Sequence[str],
        *,
        phase: Phase,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        venv: Path | None = None,
        sealed: bool = False,
    ) -> ToolResult:
        """Run ``argv`` in the sandbox: ``cwd`` (the worktree) and the scratch are writable,
        ``venv`` too while it is set up unless ``sealed`` (the project's own build runs so);
        everything the code started ends with the call."""
        exe = shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            msg = (
                f"the {phase} command {argv[0]!r} was not found on the sandbox PATH "
                f"({env.get('PATH')}); check the testing sub-agent's {phase} settings"
            )
            raise LeoError(msg)
        readable = [*interpreter_paths(self.settings.python)]
        writable = [cwd]
        if venv is not None:
            readable += [p for p in interpreter_paths(venv / "bin" / "python") if p != venv]
            (writable if phase == "setup" and not sealed else readable).append(venv)
        if (self.root / "plugin").is_dir():  # LEO's observer plugin: the tests cannot replace it
            readable.append(self.root / "plugin")
        git_file = cwd / ".git"
        if git_file.is_file():  # the worktree's link to the host repository: never rewritten
            readable.append(git_file)
        network = self.settings.setup_network if phase == "setup" else self.settings.network
        box = LeoSandbox(
            scratch=self.root,
            writable=tuple(writable),
            readable=tuple(dict.fromkeys(readable)),
            network=network == "allow",
            limits=self.limits(),
        )
        return await box.run([exe, *argv[1:]], cwd=cwd, env=env, timeout=timeout)


def expand(argv: Sequence[str], values: Mapping[str, str], tests: Sequence[str] = ()) -> list[str]:
    """Replace ``{name}`` placeholders literally; an argument ``{tests}`` becomes ``tests``.
    ``tests`` for a command without ``{tests}`` is a ``ValueError``: dropped silently, the base
    collection check's ``--collect-only`` made it run the whole base suite a third time."""
    if tests and "{tests}" not in argv:
        msg = f"the command has no {{tests}} argument for {len(tests)} test argument(s)"
        raise ValueError(msg)
    out: list[str] = []
    for arg in argv:
        if arg == "{tests}":
            out.extend(tests)
            continue
        for name, value in values.items():
            arg = arg.replace("{" + name + "}", value)
        out.append(arg)
    return out
