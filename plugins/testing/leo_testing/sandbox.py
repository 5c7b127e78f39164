"""How the change's own code runs: an allow-listed environment, a temporary HOME, resource
limits, an optional empty network namespace, and a timeout that kills the whole process group.

This is hygiene, not a container: the code still runs as LEO's user and can read and write
whatever that user can (see docs/agents/testing.md, "What is not isolated").
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leo import LeoError, ToolResult, run_tool
from leo_testing.settings import SECRET_NAME, Settings

#: Variables copied from LEO's environment: locale and time zone only.
SAFE_ENV = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TERM")
#: Extra variables the environment setup may see, so that pip finds the configured index and
#: proxy. A value carrying credentials (``https://user:token@host``) is still withheld.
SETUP_ENV = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT", "PIP_CONSTRAINT", "PIP_RETRIES",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)  # fmt: skip
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_URL_CREDENTIALS = re.compile(r"://[^/\s@]+@")
_LIMITS = Path(__file__).with_name("_limits.py")
MB = 1024 * 1024

Phase = Literal["setup", "test"]


class SandboxUnavailable(LeoError):
    """Isolation that the settings ask for cannot be provided here; never run without it."""


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
    ) -> dict[str, str]:
        """The complete environment of the change's code: an allow-list, never a deny-list."""
        parent = os.environ if source is None else source
        names = list(SAFE_ENV) + list(self.settings.pass_env)
        if phase == "setup":
            names += SETUP_ENV
        env = {
            n: parent[n]
            for n in names
            if n in parent
            and not _URL_CREDENTIALS.search(parent[n])
            and (n in SETUP_ENV or not SECRET_NAME.search(n))
        }
        env.update({k: expand([v], values or {})[0] for k, v in self.settings.env.items()})
        tmp = str(self.root / "tmp")
        env.update(
            HOME=str(self.home),
            TMPDIR=tmp,
            TEMP=tmp,
            TMP=tmp,
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            PATH=(f"{venv / 'bin'}:" if venv else "") + SYSTEM_PATH,
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONNOUSERSITE="1",
            PIP_NO_INPUT="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
        return env

    def limit_args(self) -> list[str]:
        s = self.settings
        return [
            "--as", str(s.memory_limit_mb * MB),
            "--nproc", str(s.max_processes),
            "--fsize", str(s.max_file_size_mb * MB),
            "--core", "0",
        ]  # fmt: skip

    def network_prefix(self) -> list[str]:
        if self.settings.network == "allow":
            return []
        if os.geteuid() == 0:
            return ["unshare", "--net", "--"]
        return ["unshare", "--user", "--map-root-user", "--net", "--"]

    async def check_available(self) -> None:
        """Fail closed when ``network = "deny"`` cannot be honoured here."""
        prefix = self.network_prefix()
        if not prefix:
            return
        try:
            probe = await run_tool([*prefix, "true"], timeout=30)
        except FileNotFoundError as exc:  # ToolNotFoundError is a LeoError, handled below
            raise SandboxUnavailable(str(exc)) from None
        except LeoError as exc:
            msg = f'network = "deny" needs util-linux unshare: {exc}'
            raise SandboxUnavailable(msg) from None
        if probe.returncode != 0:
            msg = (
                'network = "deny" is set but a network namespace cannot be created here '
                f"({probe.stderr_text.strip()[:200]}); the tests were not run without it"
            )
            raise SandboxUnavailable(msg)

    async def run(
        self,
        argv: Sequence[str],
        *,
        phase: Phase,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
    ) -> ToolResult:
        """Run ``argv`` under the limits (and network rule, for tests); kill its group at timeout."""
        exe = shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            msg = (
                f"the {phase} command {argv[0]!r} was not found on the sandbox PATH "
                f"({env.get('PATH')}); check the testing sub-agent's {phase} settings"
            )
            raise LeoError(msg)
        wrapped = [sys.executable, "-I", "-S", str(_LIMITS), *self.limit_args(), "--", exe]
        prefix = self.network_prefix() if phase == "test" else []
        return await run_tool([*prefix, *wrapped, *argv[1:]], cwd=cwd, env=env, timeout=timeout)


def expand(argv: Sequence[str], values: Mapping[str, str], tests: Sequence[str] = ()) -> list[str]:
    """Replace ``{name}`` placeholders literally; an argument ``{tests}`` becomes ``tests``."""
    out: list[str] = []
    for arg in argv:
        if arg == "{tests}":
            out.extend(tests)
            continue
        for name, value in values.items():
            arg = arg.replace("{" + name + "}", value)
        out.append(arg)
    return out
