"""Which changed files each scanner gets, and which no scanner can look at (and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from leo import NotAnalysed, run_git

if TYPE_CHECKING:
    from leo import Change

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
#: Source code LEO would want to scan for injection and friends: a changed file of one of these
#: types that no code scanner covers is listed as not analysed (secrets alone are not enough).
CODE_SUFFIXES = frozenset(
    s
    for lang, suffixes in LANGUAGE_SUFFIXES.items()
    if lang not in ("yaml", "json")
    for s in suffixes
) | {".pl", ".lua", ".ps1", ".groovy", ".ex", ".exs", ".erl", ".clj", ".dart", ".r"}


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


def semgrep_covers(path: str, languages: set[str]) -> bool:
    if is_dockerfile(path):
        return bool(languages & {"dockerfile", "docker"})
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

    def write(self, root: Path, paths: list[str]) -> None:
        """Write ``paths`` (already checked to be safe relative paths) below ``root``."""
        for path in paths:
            target = root.joinpath(*PurePosixPath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.contents[path])


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


async def select(change: Change, *, languages: set[str], max_bytes: int) -> Targets:
    """Decide what each scanner gets; every changed file ends up scanned or listed with a reason."""
    targets = Targets()
    candidates = []
    for f in change.files:
        if f.status == "deleted":
            targets.not_analysed.append(NotAnalysed(path=f.path, reason="deleted by the change"))
        elif f.mode == "160000":
            targets.not_analysed.append(
                NotAnalysed(path=f.path, reason="a submodule (its commit changed)")
            )
            targets.penalised += 1
        elif f.mode == "120000":
            targets.not_analysed.append(NotAnalysed(path=f.path, reason="a symbolic link"))
            targets.penalised += 1
        elif f.binary:
            targets.not_analysed.append(NotAnalysed(path=f.path, reason="binary content"))
            targets.penalised += 1
        elif not _safe(f.path):
            targets.not_analysed.append(NotAnalysed(path=f.path, reason="unsafe path"))
            targets.penalised += 1
        else:
            candidates.append(f.path)
    sizes = await _sizes(change, candidates)
    readable = []
    for path in candidates:
        size = sizes.get(path)
        if size is None:
            targets.not_analysed.append(NotAnalysed(path=path, reason="not a file at the head"))
            targets.penalised += 1
        elif size > max_bytes:
            reason = f"too large ({size} bytes; max_file_bytes is {max_bytes})"
            targets.not_analysed.append(NotAnalysed(path=path, reason=reason))
            targets.penalised += 1
        else:
            readable.append(path)
    for path, data in (await change.read_many(readable)).items():
        if data is None:
            targets.not_analysed.append(NotAnalysed(path=path, reason="not a file at the head"))
            targets.penalised += 1
            continue
        if b"\0" in data[:8192]:
            targets.not_analysed.append(NotAnalysed(path=path, reason="binary content"))
            targets.penalised += 1
            continue
        targets.contents[path] = data
        targets.text.append(path)
        if path.endswith(".py"):
            targets.python.append(path)
        if semgrep_covers(path, languages):
            targets.semgrep.append(path)
        if is_workflow(path):
            targets.workflows.append(path)
    return targets
