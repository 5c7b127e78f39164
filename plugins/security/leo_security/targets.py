"""Which changed files each scanner gets, and which no scanner can look at (and why)."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import pickletools
import posixpath
import re
import tokenize
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import anyio.to_thread

from leo import NotAnalysed, parse_python, run_git
from leo_security import archives

if TYPE_CHECKING:
    from leo import Change
    from leo_security.archives import Member

#: Symlinks followed in a row before LEO gives up on a link (the kernel's limit is 40).
MAX_SYMLINK_HOPS = 8

#: Binary formats that hold pictures, fonts or documentation data, never code a scanner of this
#: sub-agent (or any interpreter the project runs) would read, by their leading bytes. A release
#: that updates a logo or a Sphinx inventory is not missing evidence (issue 18: semver 3.0.2
#: ESCALATEd on two ``.inv`` files). Anything else binary stays unread: an ELF, a ``.pyc`` or an
#: unknown blob could carry code, and so could an archive (read member by member: ``archive_text``).
INERT_BINARY = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"wOFF", "a WOFF font"),
    (b"wOF2", "a WOFF2 font"),
    (b"\x00\x01\x00\x00", "a TrueType font"),
    (b"OTTO", "an OpenType font"),
    (b"# Sphinx inventory version", "a Sphinx inventory"),
    # Compiled time-zone data (RFC 8536), which zoneinfo, pytz and dateutil parse as tables:
    # pytz 2026.6 changed 23 of them, and every python-dateutil release its tarball of 600.
    (b"TZif", "compiled time-zone data"),
)


#: A zip archive's end-of-central-directory record, which zipimport finds from the end of a file
#: (at most 64 KiB of comment after it): a picture with one appended is importable Python.
_ZIP_END = b"PK\x05\x06"
_ZIP_END_WINDOW = 22 + 65_535


def inert_binary(data: bytes) -> str | None:
    """What inert format ``data`` is (see ``INERT_BINARY``), or None; never a zip polyglot, and
    never bytes Python compiles.

    Several of those leading bytes are ASCII (``GIF89a``, ``OTTO``, a Sphinx inventory's
    ``#`` line): ``shop/notify.py`` starting with the Sphinx line and declaring latin-1 on the
    next was "a Sphinx inventory" no scanner read, and its ``os.system`` injection PASSed; a
    real picture or inventory holds a NUL or undecodable bytes and never compiles.
    """
    if _ZIP_END in data[-_ZIP_END_WINDOW:] or _compiles(data):
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    return next((what for magic, what in INERT_BINARY if data.startswith(magic)), None)


def _compiles(data: bytes) -> bool:
    """True when Python compiles ``data`` as a module (as an import does: bytes, in the encoding
    a coding declaration names)."""
    try:
        parse_python(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


#: semgrep language -> how its files are recognised (suffixes, or exact/prefix base names).
LANGUAGE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi"),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "js": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "ts": (".ts", ".tsx", ".mts", ".cts"),
    "bash": (".sh", ".bash"),
    "sh": (".sh", ".bash"),
    "yaml": (".yml", ".yaml"),
    "dockerfile": (".dockerfile",),
    "docker": (".dockerfile",),
    "go": (".go",),
    "java": (".java",),
    "ruby": (".rb",),
    "php": (".php",),
    "c": (".c", ".h"),
    "cpp": (".cpp", ".cc", ".hpp", ".cxx"),
    "csharp": (".cs",),
    "kotlin": (".kt", ".kts"),
    "rust": (".rs",),
    "scala": (".scala",),
    "swift": (".swift",),
    "terraform": (".tf",),
    "hcl": (".tf", ".hcl"),
    "json": (".json",),
}
#: Cython: compiled into the package, and Python where it has no ``cdef`` (then scanned as such).
CYTHON = (".pyx", ".pxd", ".pxi")
#: Source code LEO would want to scan for injection and friends: a changed file of one of these
#: types that no code scanner covers is listed as not analysed (secrets alone are not enough).
CODE_SUFFIXES = frozenset(
    s
    for lang, suffixes in LANGUAGE_SUFFIXES.items()
    if lang not in ("yaml", "json")
    for s in suffixes
) | {".pl", ".lua", ".ps1", ".groovy", ".ex", ".exs", ".erl", ".clj", ".dart", ".r", *CYTHON}


#: Interpreters a script's ``#!`` line may name -> the semgrep language of its code.
SHEBANG_LANGUAGES = {"python": "python", "pypy": "python", "sh": "bash", "bash": "bash",
                     "dash": "bash", "zsh": "bash", "ksh": "bash", "node": "javascript"}  # fmt: skip
#: The names a rule file may give each of those languages.
_ALIASES = {"python": {"python"}, "bash": {"bash", "sh"}, "javascript": {"javascript", "js"}}


def shebang_language(data: bytes) -> str | None:
    """The language of a script by its ``#!`` line (``#!/usr/bin/env python3`` -> python), the
    interpreter's own name for one LEO has no rules for (perl), or None without one.

    A script needs no suffix to run (``bin/deploy``), so its name says nothing: its shell
    injection had been scanned for secrets only and PASSed.
    """
    if not data.startswith(b"#!"):
        return None
    words = data[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if words and PurePosixPath(words[0]).name == "env":  # env [-S] [VAR=value …] program
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    name = PurePosixPath(words[0]).name.rstrip("0123456789.") or None
    return SHEBANG_LANGUAGES.get(name, name) if name else None


#: What a program has and a data file that happens to parse (``pytest>=8``, ``call(me)``) has not.
_PROGRAM = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
            ast.Lambda, ast.Assign)  # fmt: skip
#: Builtins that reach a module or run code without an import statement.
_LOADERS = frozenset({"__import__", "exec", "eval", "compile", "getattr", "open"})


def python_by_content(data: bytes) -> bool:
    """Text that is a Python program whatever its name: it parses, calls, and imports, defines
    or assigns something or calls a builtin that loads code.

    ``runpy.run_path("helpers.txt")`` runs a data file as Python, and its shell injection had
    been scanned for secrets only; so had one that reached ``os`` with ``__import__("os")`` and
    no import statement. A requirements list or prose never does these things.
    """
    try:
        tree = parse_python(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    nodes = list(ast.walk(tree))
    calls = [n for n in nodes if isinstance(n, ast.Call)]
    return bool(calls) and (
        any(isinstance(n, _PROGRAM) for n in nodes)
        or any(isinstance(c.func, ast.Name) and c.func.id in _LOADERS for c in calls)
    )


def is_dockerfile(path: str) -> bool:
    name = PurePosixPath(path).name
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith("Dockerfile.")
        or name.endswith(".dockerfile")
    )


def is_workflow(path: str) -> bool:
    """A GitHub Actions workflow or action definition, which zizmor audits."""
    p = PurePosixPath(path)
    if p.name in ("action.yml", "action.yaml"):
        return True
    return p.suffix in (".yml", ".yaml") and p.parent.as_posix().endswith(".github/workflows")


#: Build and tool configuration that runs shell commands (Makefile recipes, tox's commands,
#: pre-commit's entries): the files semgrep's ``generic`` rules (``rules/build.yml``) read.
BUILD_FILES = frozenset({"Makefile", "makefile", "GNUmakefile", "tox.ini",
                         ".pre-commit-config.yaml", "justfile", "Justfile"})  # fmt: skip


def is_build_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name in BUILD_FILES or name.endswith(".mk")


def semgrep_covers(path: str, languages: set[str]) -> bool:
    if is_dockerfile(path):
        return bool(languages & {"dockerfile", "docker"})
    if "generic" in languages and is_build_file(path):
        return True
    suffixes = tuple(s for lang in languages for s in LANGUAGE_SUFFIXES.get(lang, ()))
    return path.endswith(suffixes) if suffixes else False


def is_code(path: str) -> bool:
    return is_dockerfile(path) or PurePosixPath(path).suffix.lower() in CODE_SUFFIXES


@dataclass
class Targets:
    """The change split up by scanner; ``contents`` holds the head bytes of every text file."""

    contents: dict[str, bytes] = field(default_factory=dict)
    python: list[str] = field(default_factory=list)
    semgrep: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    not_analysed: list[NotAnalysed] = field(default_factory=list)
    """Files no scanner gets: binary, too large, symlinks, submodules, deleted."""
    penalised: int = 0
    """How many of those lower the confidence (a deleted file has nothing left to scan)."""
    through: dict[str, str] = field(default_factory=dict)
    """Symlinks scanned through their target: link path -> target path."""
    scripts: dict[str, str] = field(default_factory=dict)
    """Files without a known suffix that are code by their ``#!`` line or by what they hold
    (``python_by_content``): path -> language."""
    as_python: set[str] = field(default_factory=set)
    """Python by what they hold, with neither a suffix nor a ``#!`` line semgrep knows it by:
    semgrep reads a copy named ``<path>.py`` (``semgrep.PYTHON_COPY``)."""

    unmapped: set[str] = field(default_factory=set)
    """Python files whose lines Python counts otherwise than git (``LONE_CR``): scanned as
    Python reads them, every finding counting as the change's, and listed as unread."""
    views: dict[str, bytes] = field(default_factory=dict)
    """What the code scanners read instead of ``contents`` (``python_names``,
    ``notebook_code``), line for line; secrets are looked for in ``contents``."""
    archives: dict[str, list[Member]] = field(default_factory=dict)
    """Archives read member by member (``archive_text``): path -> the text members
    detect-secrets reads; every other member is an inert binary."""

    def write(self, root: Path, paths: list[str], *, views: bool = True) -> None:
        """Write ``paths`` (already checked to be safe relative paths) below ``root``: what the
        code scanners read (``views``), or the files as they are."""
        for path in paths:
            target = root.joinpath(*PurePosixPath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(
                self.views.get(path, self.contents[path]) if views else self.contents[path]
            )
            if path in self.scripts:  # semgrep reads a #! line only on an executable file
                target.chmod(0o755)


def _safe(path: str) -> bool:
    p = PurePosixPath(path)
    return bool(p.parts) and not p.is_absolute() and ".." not in p.parts and "\0" not in path


async def _sizes(change: Change, paths: list[str]) -> dict[str, int]:
    """Blob sizes at the head in one ``git cat-file --batch-check``, so huge files are never read."""
    batchable = [p for p in paths if "\n" not in p]
    request = "".join(f"{change.head_sha}:{p}\n" for p in batchable).encode()
    out = await run_git(
        change.repo, "cat-file", "--batch-check", stdin=request, timeout=120, check=False
    )
    if out.returncode != 0:
        msg = f"git cat-file --batch-check failed in {change.repo}: {out.stderr_text.strip()}"
        raise RuntimeError(msg)
    sizes = {}
    for path, line in zip(batchable, out.stdout_text.splitlines(), strict=False):
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            sizes[path] = int(parts[2])
    return sizes


def _unread(targets: Targets, path: str, reason: str) -> None:
    """A changed file in scope that no scanner could read: missing evidence (issue 17.4)."""
    targets.not_analysed.append(NotAnalysed(path=path, reason=reason, unread=True))
    targets.penalised += 1


async def _follow(change: Change, path: str) -> tuple[str | None, str]:
    """The regular file a symlink at the head points to inside the repository, or None and why.

    A symlinked module is analysed through its target: ``svc/shell.py -> notes.txt`` runs as
    Python whatever the target's name says (issue 17.4).
    """
    current = path
    for _ in range(MAX_SYMLINK_HOPS):
        link = await change.read(current)
        if link is None:
            return None, f"its target {current!r} is not a file at the head"
        try:
            target = link.decode("utf-8")
        except UnicodeDecodeError:
            return None, "its target name is not UTF-8"
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            return None, f"it points outside the repository ({target!r})"
        mode = await _mode(change, joined)
        if mode in ("100644", "100755"):
            return joined, ""
        if mode != "120000":
            kind = "a directory" if mode == "040000" else "a submodule" if mode else "missing"
            return None, f"its target {joined!r} is {kind} at the head"
        current = joined
    return None, f"more than {MAX_SYMLINK_HOPS} symlinks in a row"


async def _mode(change: Change, path: str) -> str | None:
    """The git mode of ``path`` in the head tree, or None when it is absent."""
    out = await run_git(
        change.repo, "ls-tree", "-z", change.head_sha, "--", f":(literal){path}",
        timeout=60, check=False,
    )  # fmt: skip
    entry = out.stdout.split(b"\0", 1)[0]
    if out.returncode != 0 or b"\t" not in entry:
        return None
    meta, name = entry.split(b"\t", 1)
    return meta.split()[0].decode() if name.decode("utf-8", "replace") == path else None


#: Pickle opcodes that import a name or call one: what makes loading a pickle run code.
_PICKLE_CALLS = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ",
                           "NEWOBJ_EX", "BUILD", "EXT1", "EXT2", "EXT4"})  # fmt: skip
PICKLE = (
    "a pickle (protocol 0, which is text) that imports and calls names: loading it runs code, "
    "and no scanner reads it"
)


def pickle_program(data: bytes) -> bool:
    """True when ``data`` is a pickle that imports or calls something. Protocol 0 is plain text,
    so it passed as data scanned for secrets only: a change that swapped such a file
    (``cposix\\nsystem\\n…R.``) under code that unpickles it PASSed (review of the archive
    reader; binary pickles were already unread).

    Read as ``pickle.loads`` reads it, and nothing is run: ``pickletools``' opcodes up to STOP
    (what follows is never read), each taking from the stack what it needs (text that merely
    parses as opcodes, like jsonpatch 1.33's LICENSE, takes from a stack it does not have);
    items left under the result at STOP are ignored, as ``pickle.loads`` ignores them."""
    names: set[str] = set()
    depth, marks = 0, []  # items above the last mark; the depths below each mark
    try:
        for op, _arg, _pos in pickletools.genops(data):
            names.add(op.name)
            before = op.stack_before
            if pickletools.markobject in before:  # takes everything down to the last mark
                below = before.index(pickletools.markobject)
                if not marks or marks[-1] < below:
                    return False
                depth = marks.pop() - below
            elif depth < len(before):
                return False
            else:
                depth -= len(before)
            for item in op.stack_after:
                if item is pickletools.markobject:
                    marks.append(depth)
                    depth = 0
                else:
                    depth += 1
            if op.name == "STOP":
                return bool(names & _PICKLE_CALLS)
    except (ValueError, EOFError, UnicodeDecodeError, KeyError, IndexError, TypeError):
        return False
    return False


#: A source-encoding declaration (PEP 263), looked for on each of the first two lines.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def declared_encoding(data: bytes) -> str | None:
    """The encoding a coding declaration names when Python, decoding UTF-8 text in it, reads
    other code than the scanners do (other ASCII); None when it reads the same.

    ``# -*- coding: utf-7 -*-`` makes ``# +AAo-return conn.execute(f"...{name}")`` a comment to
    semgrep and a return to Python (``unicode_escape`` does it with ``\\x0a``): a SQL
    injection PASSed, bandit's finding on a line number the diff does not have. Only ASCII is
    compared, so latin-1 declared over UTF-8 prose (mojibake in a docstring) reads the same.
    """
    for line in data.split(b"\n", 2)[:2]:
        if m := _CODING.match(line):
            break
    else:
        return None
    name = m.group(1).decode("ascii")
    try:
        python_reads = data.decode(name)
    except (LookupError, UnicodeError, ValueError):
        return None  # Python refuses to compile it: nothing of it runs
    ascii_only = {"encoding": "ascii", "errors": "ignore"}
    same = python_reads.encode(**ascii_only) == data.decode("utf-8").encode(**ascii_only)
    return None if same else name


def python_names(data: bytes) -> bytes | None:
    """Python source with each identifier spelt as Python reads it (NFKC, PEP 3131), when any
    is spelt otherwise; line for line, so findings keep their line numbers.

    ``conn.\uff45\uff58\uff45\uff43\uff55\uff54\uff45(f"...{name}")`` in fullwidth letters is
    ``conn.execute`` to Python, and semgrep, matching the letters, missed the SQL injection
    (CONDITIONAL_PASS on bandit's medium guess). ``\u00b5`` (the micro sign) as ``\u03bc`` is
    harmless and reads the same to every scanner.
    """
    if data.isascii() or unicodedata.is_normalized("NFKC", text := data.decode("utf-8")):
        return None
    lines = io.StringIO(text).readlines()
    try:
        tokens = list(tokenize.generate_tokens(iter(lines).__next__))
    except (tokenize.TokenError, SyntaxError, StopIteration):
        return None  # not Python that runs: the scanners report it as they find it
    changed = False
    for tok in reversed(tokens):  # right to left: the columns of earlier names stay valid
        name = unicodedata.normalize("NFKC", tok.string)
        if tok.type == tokenize.NAME and name != tok.string:
            (row, col), (_, end) = tok.start, tok.end
            lines[row - 1] = lines[row - 1][:col] + name + lines[row - 1][end:]
            changed = True
    return "".join(lines).encode("utf-8") if changed else None


def notebook_code(data: bytes) -> bytes | None:
    """A Jupyter notebook's code cells as Python, each line on the line of the notebook that
    holds it (the rest blank), so findings land on the notebook's own lines; None for a file
    that is no notebook or holds no code. ``ValueError`` when its code cannot be placed so.

    A notebook runs (nbsphinx executes one without outputs in a docs build), and a code cell's
    ``os.system('curl ... | sh')`` had been scanned for secrets only and PASSed. IPython's
    ``%magic`` and ``!shell`` lines are left out; the body of a ``%%`` cell is read as Python,
    so a ``%%bash`` cell does not parse and the notebook is not analysed.
    """
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        return None
    wanted: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", [])
        if isinstance(source, str):
            source = source.splitlines(keepends=True)
        if not isinstance(source, list) or not all(isinstance(x, str) for x in source):
            raise ValueError("a code cell's source is not text")
        wanted += source
    if not any(line.strip() for line in wanted):
        return None
    rows = data.decode("utf-8").split("\n")
    out = [""] * len(rows)
    k = 0
    for i, row in enumerate(rows):
        if k == len(wanted):
            break
        item = row.strip().removesuffix(",")
        with contextlib.suppress(ValueError):
            if item.startswith('"') and json.loads(item) == wanted[k]:
                code = wanted[k].rstrip("\r\n")
                out[i] = "" if code.lstrip().startswith(("%", "!")) else code
                k += 1
    if k < len(wanted):
        raise ValueError("its code cells are not one source line to a line of the notebook")
    return "\n".join(out).encode("utf-8")


#: A carriage return with no line feed after it: a line break to Python, none to git or semgrep
#: (round-4 red team: ``return "item " + name  # label\r    os.system("lpr " + name)`` on an
#: edited line was a comment to semgrep, and bandit's finding, on Python's next line, on no line
#: the diff changed: PASS).
_LONE_CR = re.compile(rb"\r(?!\n)")
LONE_CR = (
    "a carriage return without a line feed: Python starts a line there and git does not, so "
    "which lines the change wrote is not known (every finding in it counts as the change's)"
)


#: A file too large for the code scanners (``max_file_bytes``) that none of them would read
#: anyway is still read for secrets, up to this many times the limit: detect-secrets reads the
#: lines the change added, so its cost follows the change, not the file (msgpack 1.0.8's
#: 1.02 MB Cython-generated ``_cmsgpack.cpp``, 488 lines changed, ESCALATEd as unread while a
#: 0.98 MB one would have been read).
SECRETS_ONLY_FACTOR = 16


def _too_large(size: int, max_bytes: int, factor: int = 1) -> str:
    times = f"{factor} times " if factor > 1 else ""
    return f"too large ({size} bytes; {times}max_file_bytes is {max_bytes * factor})"


def _not_text(data: bytes) -> str | None:
    """Why ``data`` is not text the scanners read, or None (git's own test: a NUL early on)."""
    if b"\0" in data[:8192]:
        return "binary content"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    return None


#: Member names that run or load as code whatever they hold, beyond ``is_code``: compiled
#: Python, native extensions, site's ``.pth`` files (an ``import`` line runs at startup),
#: notebooks, Windows scripts.
_CODE_MEMBERS = frozenset({".pyc", ".pyo", ".pyw", ".pyz", ".so", ".pyd", ".pth", ".dll",
                           ".dylib", ".ipynb", ".bat", ".cmd"})  # fmt: skip
#: Executables by leading bytes: ELF, Mach-O (both byte orders, 32 and 64 bits, universal), PE.
_EXECUTABLES = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"MZ")  # fmt: skip


def _code_member(member: Member) -> str | None:
    """Why an archive member could be code no scanner reads there, or None for an inert binary
    or text that is data. A zip is importable as it is (zipimport) and any archive is one
    ``extractall`` from the tree: code in one is code of the change."""
    name, data = member.name, member.data
    if (
        is_code(name)
        or is_build_file(name)
        or is_workflow(name)
        or PurePosixPath(name).suffix.lower() in _CODE_MEMBERS
    ):
        return f"its member {name!r} is code by its name"
    if why := _not_text(data):
        if inert_binary(data):
            return None
        if data.startswith(_EXECUTABLES):
            return f"its member {name!r} is an executable"
        if archives.kind(data):
            return f"its member {name!r} is an archive inside the archive"
        return f"its member {name!r} is {why} LEO does not know"
    if (
        shebang_language(data)
        or python_by_content(data)
        or declared_encoding(data)
        or pickle_program(data)
    ):
        return f"its member {name!r} is a program by its content"
    return None


def archive_text(data: bytes, max_bytes: int) -> list[Member] | str:
    """The text members of the archive ``data``, which detect-secrets reads, when every other
    member is an inert binary; otherwise why the archive stays unread (``archives.members``'s
    bounds, or the first member that could be code)."""
    try:
        found = archives.members(data, max_bytes=max_bytes)
    except archives.Unreadable as exc:
        return str(exc)
    for member in found:
        if why := _code_member(member):
            return why
    return [m for m in found if _not_text(m.data) is None]


async def select(change: Change, *, languages: set[str], max_bytes: int) -> Targets:
    """Decide what each scanner gets; every changed file ends up scanned or listed with a reason."""
    targets = Targets()
    candidates = []
    through: dict[str, str] = {}  # symlink path -> the regular file it is read from
    for f in change.files:
        if f.status == "deleted":
            targets.not_analysed.append(NotAnalysed(path=f.path, reason="deleted by the change"))
        elif not _safe(f.path):
            _unread(targets, f.path, "unsafe path")
        elif f.mode == "160000":
            _unread(targets, f.path, "a submodule (its commit changed; its code is not here)")
        elif f.mode == "120000":
            target, why = await _follow(change, f.path)
            if target is None:
                _unread(targets, f.path, f"a symbolic link LEO could not follow: {why}")
            else:
                through[f.path] = target
                candidates.append(f.path)
        else:  # binary too: what it holds decides whether it is missing evidence
            candidates.append(f.path)
    sizes = await _sizes(change, [through.get(p, p) for p in candidates])
    readable = []
    for path in candidates:
        size = sizes.get(through.get(path, path))
        if size is None:
            _unread(targets, path, "not a file at the head")
        elif size > max_bytes * SECRETS_ONLY_FACTOR:
            _unread(targets, path, _too_large(size, max_bytes, SECRETS_ONLY_FACTOR))
        else:
            readable.append(path)
    read = await change.read_many([through.get(p, p) for p in readable])
    for path in readable:
        data = read.get(through.get(path, path))
        if data is None:
            _unread(targets, path, "not a file at the head")
            continue
        why = _not_text(data)
        if why and (what := inert_binary(data)):
            reason = f"binary content ({what}: no scanner reads it)"
            targets.not_analysed.append(NotAnalysed(path=path, reason=reason))
            continue
        if why and archives.kind(data):
            bound = max_bytes * SECRETS_ONLY_FACTOR
            opened = await anyio.to_thread.run_sync(archive_text, data, bound)
            if isinstance(opened, str):
                _unread(targets, path, f"an archive that stays unread: {opened}")
            else:
                targets.archives[path] = opened
            continue
        if why:
            _unread(targets, path, why)
            continue
        if encoding := declared_encoding(data):
            why = f"it declares the source encoding {encoding}, in which Python reads other code"
            _unread(targets, path, why + " than the scanners do")
            continue
        if pickle_program(data):
            _unread(targets, path, PICKLE)
            continue
        notebook = None
        if path.endswith(".ipynb"):
            try:
                notebook = notebook_code(data)
            except ValueError as exc:
                _unread(targets, path, f"a notebook LEO could not read as Python: {exc}")
                continue
        script = None if is_code(path) else shebang_language(data)
        shebang = script is not None  # semgrep tells a script's language by its #! line only
        # The bytes decide, not the name: Python under a ``.cpp`` no rule covers runs all the same
        # (``runpy.run_path("native/helper.cpp")``), and so does Cython without a ``cdef``.
        by_content = not path.endswith((".py", ".pyi"))
        if script is None and by_content and not semgrep_covers(path, languages):
            script = "python" if notebook is not None or python_by_content(data) else None
        python = path.endswith(".py") or script == "python"
        semgrep = semgrep_covers(path, languages) or (
            shebang and bool(languages & _ALIASES.get(script or "", set()))
        )
        code_scanned = python or semgrep or is_workflow(path) or notebook is not None
        if len(data) > max_bytes and code_scanned:
            _unread(targets, path, _too_large(len(data), max_bytes))
            continue
        targets.contents[path] = data
        targets.text.append(path)
        if notebook is not None:
            targets.views[path] = notebook
        if (path.endswith(".py") or script == "python") and _LONE_CR.search(data):
            targets.unmapped.add(path)  # read as Python breaks its lines
            targets.views[path] = _LONE_CR.sub(b"\n", data)
        if path in through:
            targets.through[path] = through[path]
        if script is not None:
            targets.scripts[path] = script
        if python:
            targets.python.append(path)
            if (view := python_names(targets.views.get(path, data))) is not None:
                targets.views[path] = view
        if semgrep:
            targets.semgrep.append(path)
        elif script == "python" and "python" in languages:
            targets.semgrep.append(path)
            targets.as_python.add(path)
        if is_workflow(path):
            targets.workflows.append(path)
    return targets
