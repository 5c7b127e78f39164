"""The root ``leo`` click group: one-sentence errors, and each command's module loaded on first use.

Imported only by the worker process (and for ``--help``/``--version`` and the commands that run
no plugin code, ``_guard.UNGUARDED``): the guarding ``leo`` process (``leo.cli.main``) starts
the worker without importing click.
"""

from __future__ import annotations

import os

import click

from leo.__about__ import __version__
from leo.cli._output import fail
from leo.errors import ExitCode

#: Every command, in its module of this package, imported only when used:
#: ``name -> "module:attr"``. A new command is a module here and one line in this table.
LAZY_COMMANDS: dict[str, str] = {
    "verify": "leo.cli.verify:verify",
    "plugins": "leo.cli.plugins:plugins",
    "schema": "leo.cli.schema:schema",
    "agent": "leo.cli.scaleout:agent",
    "aggregate": "leo.cli.scaleout:aggregate_command",
    "metrics": "leo.cli.metrics:metrics",
    "history": "leo.cli.store:history",
    "lead": "leo.cli.store:lead",
    "audit": "leo.cli.store:audit",
    "replay": "leo.cli.replay:replay",
    "calibrate": "leo.cli.replay:calibrate",
    "init": "leo.cli.github:init",
    "labels": "leo.cli.github:labels",
    "publish": "leo.cli.github:publish",
    "bundle": "leo.cli.bundle:bundle",
    "attest": "leo.cli.bundle:attest",
    "sbom": "leo.cli.bundle:sbom",
    "handoff": "leo.cli.bundle:handoff",
    "key": "leo.cli.bundle:key",
    "policy": "leo.cli.policy:policy",
    "provenance": "leo.cli.provenance:provenance",
    "lanes": "leo.cli.lanes:lanes",
}


class LeoGroup(click.Group):
    """Turns LEO's errors into one sentence and an exit code, never a traceback; loads the
    commands of ``LAZY_COMMANDS`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            import importlib

            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        from leo.errors import LeoError

        try:
            return super().invoke(ctx)
        except LeoError as exc:
            fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted", ExitCode.INTERNAL)
        except Exception as exc:
            if os.environ.get("LEO_DEBUG"):
                raise
            fail(
                f"LEO could not run: {type(exc).__name__}: {exc} (set LEO_DEBUG=1 for the traceback)",
                ExitCode.INTERNAL,
            )


@click.group(cls=LeoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="leo", message="%(prog)s %(version)s"
)
def cli() -> None:
    """LEO: the verification gate that decides whether a pull request may merge.

    `leo verify` runs the sub-agents (security, database, testing, performance, design and any
    plugin's) on a change, aggregates their results into a confidence and a verdict, and exits
    0 PASS, 1 FAIL, 2 usage or configuration error, 3 CONDITIONAL_PASS, 4 ESCALATE, 5 when LEO
    itself could not run.

    \b
    Words (docs/architecture.md, "Glossary"):
      SOP     the team's standard operating procedure: builder -> enforcer -> supervisor -> LEAD
      lane    a role in the SOP (builder, enforcer, supervisor, lead); lanes act, sub-agents check
      LEAD    the human who decides a CONDITIONAL_PASS or ESCALATE (`leo lead approve|reject`)
      bundle  the builder's signed patch (artifact.tar.gz, `leo bundle`)
      markers commit-trailer lines handing work between lanes, e.g. [CODEX-READY:<sha256>]
    """
