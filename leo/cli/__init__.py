"""The ``leo`` command line: thin commands over the supervisor, the plugin host and the formats.

Bad input gets one sentence on stderr and exit 2, never a traceback. Reports go to stdout (or
``--output``); progress and diagnostics go to stderr. Heavy modules load inside the commands so
``leo --version`` and ``leo --help`` stay instant. This package's ``__init__`` imports nothing
but the guard: the ``leo`` process only starts and judges its worker (``_guard``), and the
root group (``leo.cli.root``, with click) loads in the worker, 0.06 s of CPU saved in every
command (benchmarks/RESULTS.md (6)); only the commands that run no plugin code
(``_guard.UNGUARDED``) load it in the ``leo`` process itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leo.cli.root import cli as cli


def main() -> None:
    """The ``leo`` command: the work runs in a guarded child process (see ``_guard``)."""
    import sys

    from leo.cli import _guard

    sys.exit(_guard.run(_run_root, sys.argv[1:]))


def _run_root() -> None:
    from leo.cli.root import cli

    cli(prog_name="leo")


def __getattr__(name: str) -> Any:
    """``from leo.cli import cli`` still works; it loads the root group on first use."""
    if name == "cli":
        from leo.cli.root import cli

        return cli
    raise AttributeError(f"module 'leo.cli' has no attribute {name!r}")
