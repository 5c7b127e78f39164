"""The semgrep rule files: LEO's own (shipped in this package) plus a team's, read from the base."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from leo import Change

MAX_RULE_FILE_BYTES = 2 * 1024 * 1024


class RuleError(Exception):
    """A rule file is missing or is not semgrep rules."""


@dataclass
class RuleSet:
    """Rule files written to a scratch directory, with every rule's id and language."""

    files: list[Path] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    severities: dict[str, str] = field(default_factory=dict)
    """Rule id -> ``metadata.leo-severity`` where the rule sets one."""

    def add(self, name: str, text: str, dest: Path) -> None:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            msg = f"semgrep rule file {name} is not valid YAML: {exc}"
            raise RuleError(msg) from exc
        rules = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(rules, list) or not rules:
            msg = f"semgrep rule file {name} has no 'rules:' list"
            raise RuleError(msg)
        for rule in rules:
            if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
                msg = f"semgrep rule file {name} has a rule without an 'id'"
                raise RuleError(msg)
            self.ids.append(rule["id"])
            langs = rule.get("languages") or []
            self.languages.update(str(lang).lower() for lang in langs if isinstance(lang, str))
            meta = rule.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("leo-severity"), str):
                self.severities[rule["id"]] = meta["leo-severity"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        self.files.append(dest)

    def rule_of(self, check_id: str) -> str:
        """semgrep prefixes ids with the rule file's path; map back to the id the file declares."""
        best = ""
        for rule_id in self.ids:
            if (check_id == rule_id or check_id.endswith("." + rule_id)) and len(rule_id) > len(
                best
            ):
                best = rule_id
        return best or check_id.rsplit(".", 1)[-1]


def builtin_rule_texts() -> dict[str, str]:
    """LEO's rule files, shipped as package data in ``leo_security/rules``."""
    folder = resources.files("leo_security").joinpath("rules")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith((".yml", ".yaml"))
    }


async def load(change: Change, scratch: Path, *, builtin: bool, extra: list[str]) -> RuleSet:
    """Collect the rules. A team's relative rule paths are read at the **base** commit, so a pull
    request cannot weaken the rules it is checked against; absolute paths are read from disk."""
    rules = RuleSet()
    if builtin:
        for name, text in sorted(builtin_rule_texts().items()):
            rules.add(f"leo_security/rules/{name}", text, scratch / "builtin" / name)
    for i, path in enumerate(extra):
        if PurePosixPath(path).is_absolute():
            p = Path(path)
            if not p.is_file() or p.stat().st_size > MAX_RULE_FILE_BYTES:
                msg = f"semgrep rule file {path} (settings 'rules') does not exist or is too large"
                raise RuleError(msg)
            data: bytes | None = p.read_bytes()
        else:
            data = await change.read(path, side="base")
            if data is None:
                msg = (
                    f"semgrep rule file {path!r} (settings 'rules') does not exist at the base "
                    f"commit {change.base_sha[:12]}; commit it to the target branch first"
                )
                raise RuleError(msg)
        if data is None or len(data) > MAX_RULE_FILE_BYTES:
            msg = f"semgrep rule file {path!r} is larger than {MAX_RULE_FILE_BYTES} bytes"
            raise RuleError(msg)
        rules.add(path, data.decode("utf-8", "replace"), scratch / "user" / f"{i}.yml")
    return rules
