"""detect-secrets (the library) on the lines the change adds: keys, tokens, private keys, passwords.

``SecretsCollection.scan_diff`` inside ``default_settings()`` scans only added lines and keeps the
entropy limits; ``scan_line`` (the ad-hoc ``--string`` mode) would flag almost every word.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import re
import tempfile
import threading
import tokenize
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from leo import Finding, ToolNotFoundError, is_test_module, parse_python, run_git
from leo_security import archives, suppressions
from leo_security.outcome import ScanOutcome, Severity

if TYPE_CHECKING:
    from collections.abc import Mapping

    from leo import Change
    from leo_security.archives import Member

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


#: (path, line, secret type, plugin class, the flagged value)
Hit = tuple[str, int, str, str, str]

#: A hex string the length of a digest (MD5 … SHA-512) named as one: a published checksum
#: (python-dateutil 2.9.0's ``"tzdata_file_sha512": "1f09…"``, babel 2.19.0's
#: ``COMMON_FILESUM = 'c704…'`` from CLDR's SHASUM512.txt), not a secret. ``sum`` counts only at
#: the end of a word (``filesum``, ``md5sum``), never inside one (``summary``, ``consumer``).
_DIGEST_NAME = re.compile(r"sha\d*|md5|blake2\w*|hash|digest|checksum|integrity|sum(?![a-z])", re.I)
_SECRET_NAME = re.compile(r"secret|token|passw|pwd|api|auth|private|cred|salt|key|signing", re.I)
_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
#: The key a value is assigned to, at the end of the text before it: ``sha256 = "``,
#: ``"sha512": "``, ``--hash=sha256:``.
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_KEY = re.compile(r"([A-Za-z_][\w-]*)[\"']?\s*[:=]\s*[\"']?$")
_DIGEST_LENGTHS = {32, 40, 56, 64, 96, 128}
#: A key, keyword or variable and the ``:`` or ``=`` that gives it a value (not ``==``).
_ASSIGNMENT = re.compile(r"([A-Za-z_][\w-]*)[\"']?\s*(?<![=!<>])[:=](?!=)")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_ENTROPY = ("security.secrets.HexHighEntropyString", "security.secrets.Base64HighEntropyString")
#: A git revision id (SHA-1 or SHA-256) named as one: versioneer's ``_version.py`` records
#: ``"full-revisionid": "7a03…"`` (toolz 0.12.1), setuptools-scm and CI files a commit.
_REVISION_NAME = re.compile(r"revision|commit|\brev\b", re.I)
_REVISION_LENGTHS = {40, 64}
#: ``scheme://user:<placeholder>@host`` in documentation and tests (requests' HISTORY.md and
#: tests: ``https://user:pass@proxy:8080``).
_BASIC_AUTH = re.compile(r"://[^\s:/@]+:([^\s:/@]+)@")
PLACEHOLDERS = frozenset(
    {"pass", "password", "passwd", "pwd", "pw", "secret", "changeme", "example", "test",
     "xxx", "xxxx", "***", "****", "foo", "bar", "baz", "p", "s"}
)  # fmt: skip
#: AWS's documentation credentials (``AKIAIOSFODNN7EXAMPLE``, ``wJalrXUtnFEMI/…/bPxRfiCYEXAMPLEKEY``
#: and session tokens with ``EXAMPLE`` in them), which botocore-based tests copy (kombu 5.7.0's
#: SQS tests): no live key. Every long quoted token on the line must carry the upper-case marker,
#: so a real secret beside an example on one line still counts.
_LONG_QUOTED = re.compile(r"[\"']([^\"'\s]{16,})[\"']")
#: The quoted values assigned on a line (``password='password'``, ``"password": "x"``).
_ASSIGNED = re.compile(r"[:=]\s*[\"']([^\"']*)[\"']")
#: A quoted string and what follows it (``"password": …`` is a key, not a value).
_STRING = re.compile(r"\"([^\"]*)\"(?=\s*(:?))|'([^']*)'(?=\s*(:?))")
#: ``scheme://user:password@host`` with a loopback host.
_LOCAL_AUTH = re.compile(r"://([^\s:/@]+):([^\s:/@]+)@(?:localhost|127\.0\.0\.1|\[::1\])[:/\s'\"]")
#: A test pytest would collect: a top-level ``def test…`` or a class ``Test…`` (celery: ``test_…``).
_TESTS = re.compile(rb"^(?:async\s+)?def\s+test|^class\s+test", re.M | re.I)
#: Directories that hold test fixtures: a private key there asks a LEAD instead of failing.
_TEST_DIRS = frozenset({"tests", "test", "testing", "testdata", "test_data", "fixtures"})


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
                found += [_hit(path, secret, classes) for _, secret in collection]
        for path, real in files.items():
            try:
                secrets = list(scan.scan_file(str(real)))
            except Exception as exc:
                failed[path] = _failure(exc)
                continue
            found += [_hit(path, secret, classes) for secret in secrets]
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
                silenced += [_hit(path, h, classes) for h in hits]
        else:
            for path, real in files.items():
                if path in failed:
                    continue
                try:
                    hits = list(scan.scan_for_allowlisted_secrets_in_file(str(real)))
                except Exception as exc:
                    failed[path] = _failure(exc)
                    continue
                silenced += [_hit(path, h, classes) for h in hits]
    seen = set(patches) if diff is not None else set(files)
    return found, silenced, seen, failed


def _hit(path: str, secret: Any, classes: dict[str, str]) -> Hit:
    value = secret.secret_value or ""
    return (path, secret.line_number, secret.type, classes.get(secret.type, ""), value)


def split_strings(source: bytes) -> list[tuple[int, int, str]]:
    """(first line, last line, ``name = 'value'``) of every string a Python file builds from
    pieces: implicit concatenation (``"AKIA" "IOSF…"``, over lines or not) and ``+`` of
    literals. detect-secrets reads one line at a time, so an AWS key split so had PASSed."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    text = source.decode("utf-8", "replace")
    names: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            names[id(node.value)] = _name(target)
        elif isinstance(node, ast.keyword) and node.arg:
            names[id(node.value)] = node.arg
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    names[id(v)] = k.value
    implicit = _implicit_concatenations(text)
    inner = {
        id(child)
        for node in ast.walk(tree)
        if _is_add(node)
        for child in (node.left, node.right)  # type: ignore[attr-defined]
        if _is_add(child)
    }  # a chain a + b + c is one string, read once from its outermost +
    out = []
    for node in ast.walk(tree):
        value = None if id(node) in inner else _joined(node, implicit)
        if value is not None and node.end_lineno is not None:
            name = re.sub(r"\W", "_", names.get(id(node), "value")) or "value"
            out.append((node.lineno, node.end_lineno, f"{name} = {value!r}"))
    return out


def _name(target: ast.AST) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return "value"


def _is_add(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)


def _implicit_concatenations(text: str) -> set[tuple[int, int]]:
    """Where (line, byte column, as ``ast`` counts) each string literal written as several
    adjacent pieces starts: one pass of the tokenizer over the file (reading each literal's
    source again cost pyparsing's 6,000-line module minutes: the Security sub-agent's timeout)."""
    lines = text.splitlines(keepends=True)
    starts: set[tuple[int, int]] = set()
    first: tuple[int, int] | None = None
    pieces = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING:
                first, pieces = (first or tok.start), pieces + 1
            elif tok.type not in (tokenize.NL, tokenize.COMMENT):
                if pieces > 1 and first is not None:
                    row, col = first
                    starts.add((row, len(lines[row - 1][:col].encode("utf-8"))))
                first, pieces = None, 0
    except (tokenize.TokenError, SyntaxError, IndexError):
        return starts
    return starts


def _joined(node: ast.AST, implicit: set[tuple[int, int]]) -> str | None:
    """The value of a string made of several literals, or None (one literal is read as is)."""
    if _is_add(node):
        parts: list[ast.AST] = []
        stack: list[ast.AST] = [node]
        while stack:
            n = stack.pop()
            if _is_add(n):
                stack += [n.right, n.left]  # type: ignore[attr-defined]
            else:
                parts.append(n)
        if all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            return "".join(p.value for p in parts)  # type: ignore[attr-defined]
        return None
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    return node.value if (node.lineno, node.col_offset) in implicit else None


def _failure(exc: Exception) -> str:
    return f"detect-secrets failed on it ({type(exc).__name__}: {str(exc)[:300]})"


def _findings(found: list[Hit]) -> list[Finding]:
    """One finding per line: the most severe detector, naming the others (never the secret)."""
    by_line: dict[tuple[str, int], list[tuple[Severity, str, str]]] = {}
    for path, line, kind, plugin, _ in found:
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


def calibrate(
    findings: list[Finding], contents: dict[str, bytes], values: dict[tuple[str, int], set[str]]
) -> list[Finding]:
    """Lower the detect-secrets guesses that real releases show are not secrets.

    ``values`` are the values detect-secrets flagged on each line (``ScanOutcome.values``): a
    line is excused only when the excuse accounts for every one of them, and only a secrets
    finding is (round-6 red team: a real key beside an EXAMPLE one, a real password beside a
    placeholder or to a remote host beside ``guest:guest@localhost``, a shell call commented
    with AWS's example key, each passed for the other value on its line).

    * a hex string of a digest's length on a line naming a digest and nothing secret, or of a
      git revision id's length on a line naming a revision or commit: ``low``;
    * basic-auth credentials whose password is a placeholder word (``user:pass@``): ``low``;
    * a private key under a test-fixture directory (requests 2.32 ships ``tests/certs/``):
      ``medium``, so a LEAD confirms it is a throwaway test key; it never passes silently;
    * a secret-named value in a test directory or test module (django-oauth-toolkit 2.4.0's
      tests name a made-up client secret ``CLEARTEXT_SECRET``; celery and kombu keep theirs in
      ``t/unit/test_*.py``): ``medium`` likewise;
    * a quoted value with AWS's ``EXAMPLE`` marker (its documentation keys): ``low``;
    * a secret keyword whose value is a placeholder word (``password='password'`` in celery
      5.7.0's docs): ``low``;
    * basic-auth credentials to a loopback host whose password is the user name
      (``amqp://guest:guest@localhost//``, ``postgres:postgres@127.0.0.1``: a local service's
      default, kombu 5.7.0's README and tests): ``low``.
    """
    out = []
    texts: dict[str, list[str]] = {}
    handed: dict[str, set[str]] = {}
    for f in findings:
        if not f.rule_id.startswith("security.secrets."):
            out.append(f)
            continue
        line = _line(texts, contents, f.path or "", f.line)
        found = values.get((f.path or "", f.line or 0), set())
        note = None
        if f.rule_id == "security.secrets.HexHighEntropyString" and _is_digest(
            line, found, _handed(handed, texts, f.path or "")
        ):
            severity, note = "low", "a published digest or revision id named as one, not a secret"
        elif _example(line, found):
            severity, note = "low", "an EXAMPLE value, as AWS's documentation credentials are"
        elif f.rule_id == "security.secrets.BasicAuthDetector" and _placeholder(line, found):
            severity, note = "low", "the password is a placeholder word"
        elif f.rule_id == "security.secrets.BasicAuthDetector" and _local_default(line, found):
            severity, note = "low", "a loopback service's default: the password is the user name"
        elif f.rule_id == "security.secrets.KeywordDetector" and _placeholder_value(line, found):
            severity, note = "low", "the value is a placeholder word"
        elif f.rule_id == "security.secrets.PrivateKeyDetector" and _in_tests(
            f.path or "", contents
        ):
            severity, note = (
                "medium",
                "a key in a test-fixture directory: a LEAD confirms it is a throwaway test key",
            )
        elif f.rule_id == "security.secrets.KeywordDetector" and _in_tests(f.path or "", contents):
            severity, note = (
                "medium",
                "a secret-named value in a test directory: a LEAD confirms it is a made-up one",
            )
        elif (
            f.rule_id in _ENTROPY
            and f.severity == "medium"
            and _handed_value(line, found, _handed(handed, texts, f.path or ""))
            and not _in_tests(f.path or "", contents)
        ):
            f = f.model_copy(
                update={
                    "severity": "high",
                    "message": f"{f.message} [the file hands it to a secret-named key]",
                }
            )
        if note is None or RANK[severity] <= RANK[f.severity]:
            out.append(f)
            continue
        out.append(f.model_copy(update={"severity": severity, "message": f"{f.message} [{note}]"}))
    return out


def _handed_value(line: str, found: set[str], handed: set[str]) -> bool:
    """A flagged value on ``line`` is bound to a name the file hands to a secret-named key."""
    for value in found:
        before = line.split(value, 1)[0] if value in line else ""
        key = _KEY.search(before)
        if key and key[1] in handed:
            return True
    return False


def _line(
    texts: dict[str, list[str]], contents: dict[str, bytes], path: str, line: int | None
) -> str:
    if path not in contents or not line:
        return ""
    if path not in texts:
        texts[path] = contents[path].decode("utf-8", "replace").splitlines()
    lines = texts[path]
    return lines[line - 1] if line <= len(lines) else ""


def _handed(cache: dict[str, set[str]], texts: dict[str, list[str]], path: str) -> set[str]:
    if path not in cache:
        cache[path] = _handed_to_secrets(texts.get(path, []))
    return cache[path]


def _is_digest(line: str, found: set[str], handed: set[str]) -> bool:
    """A digest named as one: the line's one hex value, of a digest's length, is all that was
    flagged, its name says digest and nothing secret, and the file never hands the name to a
    secret (round-6 red team: ``ALERTS_SUM = "9f3c…"`` sent as ``{"DD-API-KEY": ALERTS_SUM}``
    was a checksum by its name alone; babel's ``is_good_file(path, COMMON_FILESUM)`` is one)."""
    hexes = _HEX.findall(line)
    if len(hexes) != 1 or len(hexes[0]) not in _DIGEST_LENGTHS or found != {hexes[0]}:
        return False
    before = line.split(hexes[0], 1)[0]
    key = _KEY.search(before)
    name = key[1] if key else before
    # A secret's name anywhere before the value but inside another quoted string counts:
    # "django-oauth-toolkit==2.3.0" = { …, sha256 = "cf1c…" } is a pin (LEO's corpus), while
    # api = { sha256 = "…" } stays a secret's.
    if _SECRET_NAME.search(name) or _SECRET_NAME.search(_QUOTED.sub("", before)):
        return False
    if key and key[1] in handed:
        return False
    revision = len(hexes[0]) in _REVISION_LENGTHS and _REVISION_NAME.search(name) is not None
    return revision or _DIGEST_NAME.search(name) is not None


#: A name bound to a quoted string on its own line (``HEADER = "DD-API-KEY"``).
_NAMED_STRING = re.compile(r"""^\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*[rbuRBU]?["']([^"']*)["']\s*$""")


def _handed_to_secrets(lines: list[str]) -> set[str]:
    """The names a file passes where a secret goes: after a secret-named key, keyword or
    variable and its ``:`` or ``=`` (``{"DD-API-KEY": ALERTS_SUM}``, ``auth=(user, TOKEN)``),
    or after a name the file binds to a secret's name (round-7 red team: ``HEADER =
    "DD-API-KEY"`` and ``{HEADER: ALERTS_SUM}`` left ``ALERTS_SUM`` a checksum, low);
    ``keyring==24.0`` is a pin, not an assignment."""
    keys = {
        m[1] for text in lines if (m := _NAMED_STRING.match(text)) and _SECRET_NAME.search(m[2])
    }
    out: set[str] = set()
    for text in lines:
        for match in _ASSIGNMENT.finditer(text):
            if _SECRET_NAME.search(match[1]) or match[1] in keys:
                out.update(_IDENTIFIER.findall(text[match.end() :]))
                break
    return out


def _placeholder(line: str, found: set[str]) -> bool:
    passwords = _BASIC_AUTH.findall(line)
    return (
        bool(passwords and found)
        and all(p.lower() in PLACEHOLDERS for p in passwords)
        and all(v.lower() in PLACEHOLDERS for v in found)
    )


def _local_default(line: str, found: set[str]) -> bool:
    local = _LOCAL_AUTH.findall(line)
    defaults = {password for user, password in local if user == password}
    # every URL with credentials on the line is a loopback default, and so is every value
    return (
        bool(defaults and found)
        and len(local) == len(_BASIC_AUTH.findall(line))
        and len(defaults) == len({p for _, p in local})
        and found <= defaults
    )


def _placeholder_value(line: str, found: set[str]) -> bool:
    """Every value on the line is a placeholder word: those detect-secrets flagged, those
    assigned, and every other quoted string but a key (``"password" if DEBUG else "Xq9…"`` is
    flagged for its first value alone)."""
    assigned = _ASSIGNED.findall(line)
    strings = [a or b for a, a_key, b, b_key in _STRING.findall(line) if not (a_key or b_key)]
    return bool(assigned and found) and all(
        v.lower() in PLACEHOLDERS for v in (*assigned, *found, *strings)
    )


#: How AWS's documentation credentials end (``AKIAIOSFODNN7EXAMPLE``,
#: ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``): the word inside a value is no such mark
#: (round-7 red team: ``ADMIN_PASSWORD = "Zq8vEXAMPLEx91Tk"`` was low).
_EXAMPLE_END = re.compile(r"EXAMPLE(?:KEY)?$")


def _example(line: str, found: set[str]) -> bool:
    tokens = _LONG_QUOTED.findall(line)
    return bool(tokens and found) and all(_EXAMPLE_END.search(t) for t in (*tokens, *found))


def _in_tests(path: str, contents: dict[str, bytes]) -> bool:
    """Under a test-fixture directory, or a test module elsewhere (celery's ``t/unit/test_*.py``)
    that holds a test (or a ``conftest.py``) and that no changed module outside the tests
    imports (round-6 red team: a
    real password in ``shop/test_support.py``, which ``shop/client.py`` imports, asked a LEAD as
    a made-up one)."""
    if _TEST_DIRS & set(PurePosixPath(path).parts[:-1]):
        return True
    fixtures = PurePosixPath(path).name == "conftest.py"
    if not is_test_module(path) or not (fixtures or _TESTS.search(contents.get(path, b""))):
        return False
    stem = PurePosixPath(path).stem
    imports = re.compile(
        rb"^\s*(?:from|import)\s[^#\n]*\b" + re.escape(stem.encode()) + rb"\b", re.M
    )
    return not any(
        imports.search(data)
        for other, data in contents.items()
        if other != path
        and other.endswith(".py")
        and not is_test_module(other)
        and not _TEST_DIRS & set(PurePosixPath(other).parts[:-1])
    )


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


#: A text's suffix kept on the copy detect-secrets reads (it treats some types apart).
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


async def _scan_texts(
    texts: Mapping[str, tuple[str, bytes]],
) -> tuple[list[Hit], list[Hit], dict[str, str]]:
    """``_scan`` of texts that are no file of the tree (key -> (suffix, bytes)), each written to
    a scratch file named by its key's position and keeping its suffix, which detect-secrets
    reads some types by: hits, silenced hits and failures by key."""
    with tempfile.TemporaryDirectory(prefix="leo-secrets-") as tmp:
        files = {}
        for n, (key, (suffix, data)) in enumerate(texts.items()):
            files[key] = Path(tmp) / f"{n}{suffix if _SUFFIX.fullmatch(suffix) else ''}"
            files[key].write_bytes(data)
        found, silenced, _seen, failed = await anyio.to_thread.run_sync(_scan, None, files)
    return found, silenced, failed


async def _split_secrets(change: Change, root: Path, paths: list[str], *, whole: bool) -> list[Hit]:
    """Secrets in the strings the change's Python builds from pieces (``split_strings``), each
    scanned as one line and reported at its first line."""
    lines: dict[str, list[tuple[int, str]]] = {}
    for path in paths:
        f = change.file(path)
        if not path.endswith(".py") or f is None:
            continue
        added = set(f.added_lines)
        source = root.joinpath(*path.split("/")).read_bytes()
        joined = await anyio.to_thread.run_sync(split_strings, source)
        for first, last, line in joined:
            if whole or added & set(range(first, last + 1)):
                lines.setdefault(path, []).append((first, line))
    if not lines:
        return []
    texts = {
        path: (".py", "".join(f"{line}\n" for _, line in entries).encode("utf-8"))
        for path, entries in lines.items()
    }
    found, _silenced, failed = await _scan_texts(texts)
    if failed:
        msg = f"detect-secrets failed on the joined strings: {next(iter(failed.values()))}"
        raise RuntimeError(msg)
    return [(p, lines[p][n - 1][0], kind, plugin, value) for p, n, kind, plugin, value in found]


async def scan(
    change: Change,
    root: Path,
    paths: list[str],
    *,
    whole: bool,
    archived: Mapping[str, list[Member]] | None = None,
    max_bytes: int = 0,
    **_: Any,
) -> ScanOutcome:
    """Scan the added lines of ``paths`` (every line, with ``whole``; files are below ``root``),
    and the text members of ``archived`` archives (``scan_archives``)."""
    outcome = await _scan_paths(change, root, paths, whole=whole)
    if archived and outcome.error is None:
        await scan_archives(change, archived, outcome, whole=whole, max_bytes=max_bytes)
    return outcome


async def scan_archives(
    change: Change,
    archived: Mapping[str, list[Member]],
    outcome: ScanOutcome,
    *,
    whole: bool,
    max_bytes: int,
) -> None:
    """Add to ``outcome`` the secrets in the text members of archives (``targets.archive_text``):
    each a finding at the archive's path naming the member, calibrated like a file's; context
    when the base's version of the archive held that member byte for byte (git diffs no line of
    an archive, so this is how the line is held). A pragma inside one is not honoured: who wrote
    it is not known."""
    entries = [(path, m) for path, members in archived.items() for m in members]
    base = {} if whole else await _base_members(change, list(archived), max_bytes)
    texts = {str(n): (PurePosixPath(m.name).suffix, m.data) for n, (_, m) in enumerate(entries)}
    found, silenced, failed = await _scan_texts(texts)
    hits: dict[str, list[Hit]] = {}
    for key, line, kind, plugin, value in found + silenced:
        hits.setdefault(key, []).append((entries[int(key)][0], line, kind, plugin, value))
    for key, reason in failed.items():
        path, m = entries[int(key)]
        outcome.failed.setdefault(path, f"{reason} (its member {m.name!r})")
    for key, member_hits in sorted(hits.items(), key=lambda kv: int(kv[0])):
        path, m = entries[int(key)]
        values: dict[tuple[str, int], set[str]] = {}
        for _, line, *_rest, value in member_hits:
            values.setdefault((path, line), set()).add(value)
        old = hashlib.sha256(m.data).digest() in base.get((path, m.name), set())
        for f in calibrate(_findings(member_hits), {path: m.data}, values):
            where = f" [in its member {m.name!r}, line {f.line}]"
            note = " (pre-existing: the base's archive holds this member unchanged)" if old else ""
            update = {"message": f.message + where + note, "line": None, "on_changed_line": not old}
            outcome.findings.append(f.model_copy(update=update))
    outcome.analysed |= set(archived) - set(outcome.failed)


async def _base_members(
    change: Change, paths: list[str], max_bytes: int
) -> dict[tuple[str, str], set[bytes]]:
    """(archive path, member name) -> the SHA-256 digests of that member in the base's version
    of the archive (under its old path when renamed); nothing for one LEO cannot read."""
    olds = {p: (f.old_path if (f := change.file(p)) and f.old_path else p) for p in paths}
    data = await change.read_many(sorted(set(olds.values())), "base")
    out: dict[tuple[str, str], set[bytes]] = {}
    for path, old in olds.items():
        blob = data.get(old)
        if blob is None:
            continue
        try:
            members = await anyio.to_thread.run_sync(
                functools.partial(archives.members, blob, max_bytes=max_bytes)
            )
        except archives.Unreadable:
            continue
        for m in members:
            out.setdefault((path, m.name), set()).add(hashlib.sha256(m.data).digest())
    return out


async def _scan_paths(change: Change, root: Path, paths: list[str], *, whole: bool) -> ScanOutcome:
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
    try:
        found += await _split_secrets(change, root, paths, whole=whole)
    except RuntimeError as exc:
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
        for path, line, *_ in silenced
        if not suppressions.by_the_change(change, path, line, line - 1)
    }
    outcome.suppressed = len(honoured)
    kept = [hit for hit in silenced if (hit[0], hit[1]) not in honoured]
    outcome.unhonoured = len({(hit[0], hit[1]) for hit in kept})
    marked = {(hit[0], hit[1]) for hit in kept}
    hits = found + kept if whole else [hit for hit in found + kept if hit[0] in wanted]
    for path, line, *_, value in hits:
        outcome.values.setdefault((path, line), set()).add(value)
    outcome.findings = [
        suppressions.unhonoured(f, "pragma: allowlist secret", f.line or 0)
        if (f.path, f.line) in marked
        else f
        for f in _findings(hits)
    ]
    return outcome
