"""Architecture contracts: the repository's import-linter contracts, evaluated on the head tree.

The contracts are read from the **base** when it has them (a pull request must not loosen the
rules it is judged by), else from the head (a change may add rules, and is held to them). A
broken contract is a finding per import chain; it blocks when one of the chain's imports is on
a line the change adds, and is context otherwise (the base already broke it).
"""

from __future__ import annotations

import configparser
import json
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from leo import Change, Finding, LeoError, run_tool
from leo_design import contracts_worker
from leo_design.settings import DesignSettings

CONFIG_FILES = (".importlinter", "setup.cfg", "pyproject.toml")
#: Chains reported per contract; a broken layer can have hundreds.
MAX_CHAINS = 20


@dataclass(frozen=True)
class ContractsConfig:
    """Where the import-linter configuration was found."""

    path: str
    """Repository-relative file."""
    side: str
    """``base`` or ``head``."""
    text: bytes
    """Its content at that side."""


def has_section(path: str, data: bytes) -> bool:
    """True when ``data`` (the file ``path``) holds an import-linter configuration."""
    text = data.decode("utf-8", "replace")
    if path.endswith(".toml"):
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError:
            return False
        return isinstance(tool, dict) and isinstance(tool.get("importlinter"), dict)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    return parser.has_section("importlinter")


async def find_config(change: Change, settings: DesignSettings) -> ContractsConfig | None:
    """The import-linter configuration of the repository, base first; None when it has none."""
    candidates = (settings.contracts_config,) if settings.contracts_config else CONFIG_FILES
    for side in ("base", "head"):
        for path in candidates:
            data = await change.read(path, side)
            if data is not None and has_section(path, data):
                return ContractsConfig(path=path, side=side, text=data)
    if settings.contracts_config:
        msg = (
            f"[tool.leo.agents.design] contracts_config names {settings.contracts_config!r}, "
            "which has no import-linter section at base or head; fix the path or remove it"
        )
        raise LeoError(msg)
    return None


async def evaluate(config: ContractsConfig, tree: Path, settings: DesignSettings) -> dict[str, Any]:
    """Run the worker on ``tree`` and return its JSON (raise ``LeoError`` when it cannot)."""
    config_dir = str(PurePosixPath(config.path).parent)
    config_dir = "" if config_dir == "." else config_dir
    search = [config_dir, f"{config_dir}/src" if config_dir else "src"]
    with tempfile.TemporaryDirectory(prefix="leo-design-") as tmp:
        config_file = Path(tmp) / PurePosixPath(config.path).name
        config_file.write_bytes(config.text)
        out = Path(tmp) / "contracts.json"
        argv = [
            sys.executable,
            "-I",
            str(Path(contracts_worker.__file__)),
            str(config_file),
            str(tree),
            str(out),
            *search,
        ]
        done = await run_tool(argv, cwd=tree, timeout=settings.contracts_timeout)
        if done.timed_out:
            msg = f"import-linter did not finish within {settings.contracts_timeout:g}s"
            raise LeoError(msg)
        if not out.is_file():
            msg = f"import-linter crashed (exit {done.returncode}): {done.stderr_text[-2000:]}"
            raise LeoError(msg)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if "error" in result:
        msg = f"import-linter could not evaluate the contracts in {config.path}: {result['error']}"
        raise LeoError(msg)
    return result


def contract_findings(
    change: Change, config: ContractsConfig, result: dict[str, Any]
) -> list[Finding]:
    """One finding per broken import chain; refused custom contract types are findings too."""
    findings = []
    for contract in result.get("contracts", []):
        if contract.get("kept"):
            continue
        name = contract.get("name", "?")
        routes = contract.get("routes", [])
        for route in routes[:MAX_CHAINS]:
            findings.append(_chain_finding(change, name, route))
        if not routes:
            findings.append(
                Finding(
                    rule_id="design.contracts.broken",
                    severity="medium",
                    message=f"import-linter contract {name!r} is broken ({contract.get('type')}); "
                    f"run lint-imports for details",
                    path=config.path,
                )
            )
    for refused in result.get("refused", []):
        findings.append(
            Finding(
                rule_id="design.contracts.not-evaluated",
                severity="medium",
                message=(
                    f"import-linter contract {refused.get('name')!r} of custom type "
                    f"{refused.get('type')!r} was not evaluated: loading it would run code "
                    "from the change"
                ),
                path=config.path,
                fix="check this contract in CI with lint-imports",
            )
        )
    return findings


def _chain_finding(change: Change, contract: str, route: dict[str, Any]) -> Finding:
    chain = route.get("chain", [])
    links = [*chain, *route.get("extras", [])]
    changed = [
        (link.get("path"), n)
        for link in links
        for n in link.get("lines", [])
        if link.get("path") and change.is_changed_line(link["path"], n)
    ]
    first = chain[0] if chain else {}
    path, line = changed[0] if changed else (first.get("path"), (first.get("lines") or [None])[0])
    rendered = _render(chain)
    also = len(route.get("extras", []))
    more = f" (and {also} similar import{'s' if also != 1 else ''})" if also else ""
    return Finding(
        rule_id="design.contracts.broken",
        severity="high",
        message=f"import-linter contract {contract!r} is broken by {rendered}{more}",
        path=path,
        line=line,
        on_changed_line=bool(changed),
        fix="remove the import, or move the code to a layer allowed to import it",
    )


def _render(chain: list[dict[str, Any]]) -> str:
    if not chain:
        return "an import"
    parts = [chain[0].get("importer", "?")]
    for link in chain:
        lines = ",".join(str(n) for n in link.get("lines", []))
        parts.append(f"{link.get('imported', '?')} (l.{lines})" if lines else link.get("imported"))
    return " -> ".join(str(p) for p in parts)
