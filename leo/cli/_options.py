"""Option blocks shared by several commands, declared once: plugins, the change, reports,
publishing and the audit database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from leo.bundle.verify import Trust

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "json", "markdown", "sarif")


def _stack(fn: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def plugin_option(fn: F) -> F:
    """``-p MODULE|no:NAME``, as pytest spells it."""
    return click.option(
        "-p",
        "plugin_args",
        multiple=True,
        metavar="MODULE|no:NAME",
        help="Load a plugin module by import path, or block a plugin with no:NAME (repeatable).",
    )(fn)


def change_options(fn: F) -> F:
    """``--repo``, ``--base`` and ``--head``: the local change under review."""
    return _stack(
        fn,
        [
            click.option(
                "--repo", default=".", show_default=True, help="Git work tree holding the change."
            ),
            click.option(
                "--base",
                default=None,
                help="Base ref. [default: merge-base of HEAD with the default branch]",
            ),
            click.option(
                "--head",
                default="HEAD",
                show_default=True,
                help="Head ref; the verdict is bound to its SHA.",
            ),
        ],
    )


def config_option(fn: F) -> F:
    """``--config``: a policy file instead of the base commit's."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Use this leo.toml instead of the base commit's policy.",
    )(fn)


def quiet_option(fn: F) -> F:
    return click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")(fn)


def report_options(fn: F) -> F:
    """``--format`` and ``--output``, shared by every command that prints a report."""
    return _stack(
        fn,
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="text",
                show_default=True,
                help="Report format.",
            ),
            click.option(
                "--output",
                "-o",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the report to FILE instead of stdout.",
            ),
        ],
    )


def publish_options(fn: F) -> F:
    """``--metrics-file``, ``--pushgateway``, ``--attest`` and ``--sign`` (see leo.publish.options)."""
    return _stack(
        fn,
        [
            click.option(
                "--metrics-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Add this run's Prometheus metrics to FILE (textfile collector).",
            ),
            click.option(
                "--pushgateway",
                metavar="URL",
                help="Push this run's metrics to the Prometheus Pushgateway at URL.",
            ),
            click.option(
                "--attest",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the verdict as an in-toto SLSA Verification Summary Attestation.",
            ),
            click.option(
                "--sign",
                "sign_spec",
                metavar="key:PATH|gpg:KEYID|sigstore",
                help="Sign the --attest attestation, as `leo bundle create --sign`.",
            ),
        ],
    )


def database_option(fn: F) -> F:
    """``--database-url``: which audit store."""
    return click.option(
        "--database-url",
        metavar="URL",
        help="Audit database (sqlite:///PATH or postgresql://USER@HOST/DB). "
        "[default: $LEO_DATABASE_URL, else [tool.leo] database_url, else "
        "$XDG_DATA_HOME/leo/audit.db]",
    )(fn)


def github_repo_option(fn: F) -> F:
    return click.option(
        "--github-repo", help="OWNER/NAME. [default: GITHUB_REPOSITORY or the origin remote]"
    )(fn)


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def trust_options(fn: F) -> F:
    """How a signed artifact is trusted: --key, --gpg-keyring, or Sigstore --identity/--issuer."""
    for option in reversed(
        [
            click.option(
                "--key", type=_FILE, help="ed25519 public key (PEM) the builder signed with."
            ),
            click.option(
                "--gpg-keyring", type=_FILE, help="Keyring holding the builder's gpg public key."
            ),
            click.option(
                "--identity", help="Sigstore: the signer's exact certificate identity (SAN)."
            ),
            click.option("--issuer", help="Sigstore: the exact OIDC issuer of that identity."),
            click.option(
                "--trusted-root",
                type=_FILE,
                help="Sigstore trusted root (or client trust config). [default: production root of the installed sigstore]",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def trust_from(
    key: Path | None,
    gpg_keyring: Path | None,
    identity: str | None,
    issuer: str | None,
    trusted_root: Path | None,
) -> Trust:
    """The ``Trust`` that ``trust_options`` describe."""
    from leo.bundle.verify import Trust

    return Trust(
        key=key,
        gpg_keyring=gpg_keyring,
        identity=identity,
        issuer=issuer,
        trusted_root=trusted_root,
    )
