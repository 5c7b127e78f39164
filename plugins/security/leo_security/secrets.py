"""detect-secrets (the library) on the lines the change adds: keys, tokens, private keys, passwords.

``SecretsCollection.scan_diff`` inside ``default_settings()`` scans only added lines and keeps the
entropy limits; ``scan_line`` (the ad-hoc ``--string`` mode) would flag almost every word.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from leo import Finding, ToolNotFoundError, run_git
from leo_security import suppressions
from leo_security.outcome import ScanOutcome, Severity

if TYPE_CHECKING:
    from leo import Change

#: detect-secrets plugin -> LEO severity. A format-specific detector (an AWS key, a private key
#: block, a GitHub token) is a verified-looking secret: critical. Keywords and entropy guess.
SEVERITY: dict[str, Severity] = {
    "KeywordDetector": "high",
    "BasicAuthDetector": "high",
    "JwtTokenDetector": "high",
    "Base64HighEntropyString": "medium",
    "HexHighEntropyString": "medium",
}
DEFAULT_SEVERITY: Severity = "critical"
RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
#: detect-secrets keeps its settings in a module global: one scan at a time per process.
_LOCK = threading.Lock()
#: This filter drops every file that does not exist relative to the *current directory*, which
#: would silently drop the whole diff; LEO decides what is a scannable file itself.
_CWD_FILTER = "detect_secrets.filters.common.is_invalid_file"


Hit = tuple[str, int, str, str]


def _scan(
    diff: str | None, files: dict[str, Path]
) -> tuple[list[Hit], list[Hit], set[str], dict[str, str]]:
    """(path, line, secret type, plugin class) of every potential secret, those an inline
    ``pragma: allowlist secret`` silenced, the paths the diff held, and the paths
    detect-secrets failed on (with the reason); on a thread.

    Each file is scanned on its own, so that a detect-secrets failure on one file (it raised
    ``ValueError`` on every file that adds no line, issue 18) leaves that file not analysed
    instead of failing the whole scan.
    """
    from detect_secrets import SecretsCollection
    from detect_secrets.core import scan
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import default_settings, get_filters
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    found: list[Hit] = []
    failed: dict[str, str] = {}
    if diff is not None:
        try:
            parsed = PatchSet.from_string(diff)
        except UnidiffParseError as exc:
            return [], 0, set(), {"": f"detect-secrets could not parse the diff: {exc}"}
        patches = {f.path: str(f) for f in parsed}
        added = {f.path for f in parsed if f.added}
    with _LOCK, default_settings() as settings:
        classes = {t: c.__name__ for t, c in get_mapping_from_secret_type_to_class().items()}
        if diff is not None:
            settings.disable_filters(_CWD_FILTER)
            get_filters.cache_clear()
            for path, text in patches.items():
                try:
                    collection = SecretsCollection()
                    collection.scan_diff(text)
                except Exception as exc:  # a detect-secrets bug on one file: that file only
                    failed[path] = _failure(exc)
                    continue
                for _, secret in collection:
                    found.append(
                        (path, secret.line_number, secret.type, classes.get(secret.type, ""))
                    )
        for path, real in files.items():
            try:
                secrets = list(scan.scan_file(str(real)))
            except Exception as exc:
                failed[path] = _failure(exc)
                continue
            for secret in secrets:
                found.append((path, secret.line_number, secret.type, classes.get(secret.type, "")))
        # Last: these helpers turn the allowlist filter off inside these transient settings.
        silenced: list[Hit] = []
        if diff is not None:
            # Only files that add a line: on the others detect-secrets unpacks an empty zip.
            for path in sorted(added - set(failed)):
                try:
                    hits = list(scan.scan_for_allowlisted_secrets_in_diff(patches[path]))
                except Exception as exc:
                    failed[path] = _failure(exc)
                    continue
                silenced += [(path, h.line_number, h.type, classes.get(h.type, "")) for h in hits]
        else:
            for path, real in files.items():
                if path in failed:
                    continue
                try:
                    hits = list(scan.scan_for_allowlisted_secrets_in_file(str(real)))
                except Exception as exc:
                    failed[path] = _failure(exc)
                    continue
                silenced += [(path, h.line_number, h.type, classes.get(h.type, "")) for h in hits]
    seen = set(patches) if diff is not None else set(files)
    return found, silenced, seen, failed


def _failure(exc: Exception) -> str:
    return f"detect-secrets failed on it ({type(exc).__name__}: {str(exc)[:300]})"


def _findings(found: list[Hit]) -> list[Finding]:
    """One finding per line: the most severe detector, naming the others (never the secret)."""
    by_line: dict[tuple[str, int], list[tuple[Severity, str, str]]] = {}
    for path, line, kind, plugin in found:
        severity = SEVERITY.get(plugin, DEFAULT_SEVERITY)
        by_line.setdefault((path, line), []).append((severity, kind, plugin))
    out = []
    for (path, line), hits in sorted(by_line.items()):
        hits.sort(key=lambda h: RANK[h[0]])
        severity, kind, plugin = hits[0]
        also = sorted({h[1] for h in hits[1:]} - {kind})
        message = f"{kind} added (detect-secrets {plugin or 'plugin'})"
        if also:
            message += f"; also looks like: {', '.join(also)}"
        out.append(
            Finding(
                rule_id=f"security.secrets.{plugin or 'unknown'}",
                severity=severity,
                message=message,
                path=path,
                line=line,
                on_changed_line=True,
                fix="Remove it, rotate it (it is in the git history now), and load it from the "
                "environment or a secret store.",
            )
        )
    return out


async def _diff(change: Change, paths: list[str]) -> str:
    """The change's unified diff limited to ``paths`` (and the old paths of renames)."""
    specs = []
    for p in paths:
        specs.append(f":(literal){p}")
        f = change.file(p)
        if f is not None and f.old_path:
            specs.append(f":(literal){f.old_path}")
    argv = ["diff", "--no-ext-diff", "--no-textconv", "-M", "-U0",
            # --text: a .gitattributes "-diff" in the pull request must not hide lines from the
            # scan; explicit prefixes: diff.srcPrefix/dstPrefix config must not break the paths.
            "--text", "--src-prefix=a/", "--dst-prefix=b/",
            change.base_sha, change.head_sha, "--", *specs]  # fmt: skip
    out = await run_git(change.repo, *argv, timeout=300, check=False)
    if out.returncode != 0 or out.truncated:
        msg = f"git diff for the secrets scan failed: {out.stderr_text.strip()[:500]}"
        raise RuntimeError(msg)
    return out.stdout.decode("utf-8", "replace")


async def scan(
    change: Change, root: Path, paths: list[str], *, whole: bool, **_: Any
) -> ScanOutcome:
    """Scan the added lines of ``paths`` (every line, with ``whole``; files are below ``root``)."""
    from importlib.metadata import version

    outcome = ScanOutcome("detect-secrets", version=version("detect-secrets"))
    if not paths:
        return outcome
    try:
        if whole:
            files = {p: root.joinpath(*p.split("/")) for p in paths}
            found, silenced, seen, failed = await anyio.to_thread.run_sync(_scan, None, files)
        else:
            diff = await _diff(change, paths)
            found, silenced, seen, failed = await anyio.to_thread.run_sync(_scan, diff, {})
    except (RuntimeError, ToolNotFoundError) as exc:
        outcome.error = str(exc)
        return outcome
    wanted = set(paths)
    for p in paths:
        f = change.file(p)
        if p in failed or "" in failed:
            outcome.failed[p] = failed.get(p) or failed[""]
        elif p not in seen and (whole or (f is not None and f.added_lines)):
            outcome.failed[p] = "detect-secrets could not read its added lines from the diff"
    outcome.analysed = wanted - set(outcome.failed)
    # An allowlist pragma on a line the change wrote (or above one) is the change's own: the
    # secret stays a finding at its severity (issue 17.3); the base's pragmas keep working.
    honoured = {
        (path, line)
        for path, line, _, _ in silenced
        if not suppressions.by_the_change(change, path, line, line - 1)
    }
    outcome.suppressed = len(honoured)
    kept = [hit for hit in silenced if (hit[0], hit[1]) not in honoured]
    outcome.unhonoured = len({(hit[0], hit[1]) for hit in kept})
    marked = {(hit[0], hit[1]) for hit in kept}
    hits = found + kept if whole else [hit for hit in found + kept if hit[0] in wanted]
    outcome.findings = [
        suppressions.unhonoured(f, "pragma: allowlist secret", f.line or 0)
        if (f.path, f.line) in marked
        else f
        for f in _findings(hits)
    ]
    return outcome
