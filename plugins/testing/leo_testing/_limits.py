"""Set resource limits on this process, then exec the test command (run_tool has no preexec_fn).

Run as ``python -I -S _limits.py [--NAME VALUE]... -- /abs/path/to/command args...``. Standard
library only: it runs with LEO's interpreter in isolated mode before the untrusted command.
"""

from __future__ import annotations

import os
import resource
import sys

#: Option name -> ``resource`` constant. Values are bytes or counts; 0 disables a limit.
LIMITS = {
    "--as": "RLIMIT_AS",
    "--nproc": "RLIMIT_NPROC",
    "--fsize": "RLIMIT_FSIZE",
    "--nofile": "RLIMIT_NOFILE",
    "--core": "RLIMIT_CORE",
}


def _apply(name: str, value: int) -> None:
    which = getattr(resource, name, None)
    if which is None:  # not on this OS: documented as best effort
        return
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)  # an unprivileged process may only lower its hard limit
    resource.setrlimit(which, (value, value))


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: _limits.py [--as BYTES] [--nproc N] ... -- COMMAND [ARGS...]")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if len(options) % 2 or not command or not os.path.isabs(command[0]):
        sys.exit("_limits.py: expected option/value pairs and an absolute command path")
    for option, value in zip(options[::2], options[1::2], strict=True):
        if option not in LIMITS:
            sys.exit(f"_limits.py: unknown option {option}")
        number = int(value)
        if number > 0 or option == "--core":
            _apply(LIMITS[option], number)
    os.execv(command[0], command)  # noqa: S606 - argv list, absolute path, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
