"""``leo plugins check``: run one sub-agent through the situations every sub-agent must survive.

Each situation is a throw-away repository whose change is awkward in one way (empty, a deleted
or renamed file, binary or huge or non-UTF-8 content, a path with spaces and unicode) plus a run
cut short by a tiny timeout. The files a sub-agent declares in ``sample_files`` get the same
treatment, so a sub-agent that reads only, say, dependency manifests is reached too. The
sub-agent must not crash, hang, ignore cancellation, block an empty change, or report findings
that point outside the change's files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from leo.change import Change, Side, gather_change
from leo.errors import LeoError
from leo.models import SubAgentResult
from leo.repos import Files, make_repo
from leo.runner import run_guarded
from leo.subagent import AgentSpec, Job, SubAgent

HUGE_LINES = 200_000
_PY = "def f(x):\n    return x + 1\n"
_BODY = "".join(f"line {i}\n" for i in range(40))


@dataclass(frozen=True)
class Situation:
    """One awkward change."""

    name: str
    base: Files
    head: Files
    timeout: float | None = None
    """A timeout shorter than the check, to test cancellation; None uses the caller's."""


def situations(samples: Mapping[str, str] | None = None) -> list[Situation]:
    """The standard situations; ``samples`` (a sub-agent's ``sample_files``) are made awkward
    in each of them too, next to the Python and SQL files every sub-agent sees."""
    s = dict(samples or {})
    return [
        Situation("empty change", {"app.py": _PY, **s}, {}),
        Situation(
            "deleted file",
            {"app.py": _PY, "gone.py": _PY, **s},
            {"gone.py": None, **dict.fromkeys(s)},
        ),
        Situation(
            "renamed file",
            {"old.py": _BODY, **s},
            {
                "old.py": None,
                "pkg/new.py": _BODY + "more\n",
                **dict.fromkeys(s),
                **{f"pkg/{p}": _grown(t) for p, t in s.items()},
            },
        ),
        Situation(
            "binary files",
            {"app.py": _PY, **s},
            {
                "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
                "data.bin": bytes(range(256)) * 64,
                **dict.fromkeys(s, b"\x00" + bytes(range(256)) * 4),
            },
        ),
        Situation(
            "huge file",
            {"app.py": _PY},
            {
                "big.py": "".join(f"V{i} = {i}\n" for i in range(HUGE_LINES)),
                **{p: _huge(t) for p, t in s.items()},
            },
        ),
        Situation(
            "non-UTF-8 text",
            {"app.py": _PY},
            {
                "latin1.py": "# caf\xe9\nX = '\xe9t\xe9'\n".encode("latin-1"),
                "notes.txt": b"\xff\xfe broken \x80\n",
                **{p: _grown(t).encode() + b"# caf\xe9 \xff\n" for p, t in s.items()},
            },
        ),
        Situation(
            "path with spaces and unicode",
            {"app.py": _PY},
            {
                "dir with space/ünïcødé file.py": _PY + "Y = 2\n",
                "ça va.sql": "SELECT 1;\n",
                **{f"dir with space/ünïcødé/{p}": t for p, t in s.items()},
            },
        ),
        Situation(
            "cancellation at a timeout",
            {"app.py": _PY, **s},
            {
                "app.py": _PY + "\n\ndef g(y):\n    return y * 2\n",
                **{p: _grown(t) for p, t in s.items()},
            },
            timeout=0.05,
        ),
    ]


def samples_of(cls: type[SubAgent]) -> dict[str, str]:
    """``cls.sample_files`` checked: relative POSIX paths inside the repository, text contents."""
    samples = cls.sample_files
    if not isinstance(samples, Mapping):
        msg = f"sub-agent {cls.name!r} declares sample_files as {type(samples).__name__}; declare a dict of path to text"
        raise LeoError(msg)
    for path, text in samples.items():
        parts = PurePosixPath(path).parts if isinstance(path, str) else ()
        if (
            not parts
            or path.startswith("/")
            or ".." in parts
            or ".git" in parts
            or "\\" in path
            or not isinstance(text, str)
        ):
            msg = f"sub-agent {cls.name!r} declares sample_files entry {path!r}: {text!r:.40}; declare relative POSIX paths inside the repository mapped to text"
            raise LeoError(msg)
    return dict(samples)


def _grown(text: str) -> str:
    """``text`` and its last line once more: a change in the file's own format."""
    lines = text.splitlines()
    return "\n".join([*lines, lines[-1] if lines else "x"]) + "\n"


def _huge(text: str) -> str:
    """``text`` repeated to ``HUGE_LINES`` lines."""
    lines = text.splitlines() or ["x"]
    return "\n".join(lines[i % len(lines)] for i in range(HUGE_LINES)) + "\n"


@dataclass
class Outcome:
    """What happened in one situation."""

    situation: str
    status: str
    problems: list[str] = field(default_factory=list)


def _line_count(data: bytes | None) -> int:
    return 0 if data is None else data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


async def _invalid_findings(result: SubAgentResult, change: Change) -> list[str]:
    problems = []
    counted: dict[tuple[str, Side], int] = {}
    paths = {f.path: f for f in change.files} | {f.old_path: f for f in change.files if f.old_path}
    for finding in result.findings:
        if finding.path is None:
            continue
        changed = paths.get(finding.path)
        if changed is None:
            problems.append(
                f"finding {finding.rule_id} points at {finding.path!r}, which the change does not touch"
            )
            continue
        if finding.line is None:
            continue
        side: Side = (
            "base" if changed.status == "deleted" or finding.path == changed.old_path else "head"
        )
        if (finding.path, side) not in counted:  # one read per file, however many findings
            counted[finding.path, side] = _line_count(await change.read(finding.path, side))
        lines = counted[finding.path, side]
        if finding.line > max(lines, 1):
            problems.append(
                f"finding {finding.rule_id} is on line {finding.line} of {finding.path!r}, which has {lines} lines"
            )
    return problems


async def check_subagent(
    spec: AgentSpec,
    settings: dict[str, object],
    *,
    timeout: float = 120.0,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run ``spec`` through every situation; return what went wrong in each."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="leo-conformance-") as tmp:
        for i, situation in enumerate(situations(samples_of(spec.cls))):
            # An empty ``head`` makes an empty commit: a change with no files.
            repo = make_repo(Path(tmp) / f"case{i}", situation.base, situation.head)
            change = await gather_change(repo.path, repo.base, repo.head)
            job = Job(spec=spec, settings=settings, timeout=situation.timeout or timeout)
            agent = spec.cls(settings)
            result = await run_guarded(job, partial(agent.check, change))
            outcome = Outcome(situation.name, result.status)
            if situation.timeout is not None:
                if "abandoned" in result.summary:
                    outcome.problems.append(f"ignored cancellation: {result.summary}")
            elif result.status == "error":
                outcome.problems.append(f"crashed: {result.summary}")
            elif result.status == "timeout":
                outcome.problems.append(f"did not finish within {timeout:g}s")
            if situation.name == "empty change" and result.status == "failed":
                outcome.problems.append("failed a change that changes nothing")
            outcome.problems += await _invalid_findings(result, change)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes
