"""Run LEO on the real-world corpus and write the summary into benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/realworld/run.py                  # every case (long)
    .venv/bin/python benchmarks/realworld/run.py --only six,planted-sec-cwe78-shell
    .venv/bin/python benchmarks/realworld/run.py --kind release --agents security,design

Three kinds of case, all pinned in ``cases.toml`` (sdists by version and sha256) and
``planted.toml`` (defects as patches on top of a pinned release):

* ``release``: two consecutive releases of a popular package; a gate that FAILs one is a false alarm.
* ``reverse``: base = the release that fixed a CVE, head = the release before it, so the change
  reintroduces the vulnerability (and drops the regression test that came with the fix).
* ``planted``: a known defect planted into a small real package, aimed at one sub-agent.

Each case becomes a git repository (base commit, head commit) under the cache directory, is
verified by ``leo verify`` with all five sub-agents, and is compared with a naive gate (any
bandit HIGH in the changed Python files). Per-case JSON goes to ``<cache>/results`` and a case
whose JSON exists for the same definition and agents is not run again (``--fresh`` re-runs).
Downloads go through pip into ``<cache>/sdists`` and are checked against the pinned sha256.

By default (``--resolve-as-of release``) the test dependencies of a case are resolved as of the
end of the day its head release was uploaded to PyPI (a planted defect: its host release),
pinned in ``cases.toml`` as ``uploaded``: the corpus asks whether the gate would have cried wolf
on the release as its maintainers shipped it, and replayed with today's dependencies a 2024
release's unpinned test requirements resolve to releases that break it at both ends (urllib3
2.2.2's pinned quart 0.19.4 against flask 3.1), which is drift, not the change. ``--resolve-as-of today`` resolves them as a user's CI
would now; benchmarks/RESULTS.md says which one its table was measured with.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE.parent / "RESULTS.md"
START, END = "<!-- realworld:start -->", "<!-- realworld:end -->"
AGENTS = "security,database,testing,performance,design"
#: Build backends the pinned sdists need to prepare their metadata; pip downloads an sdist only
#: after preparing it, and without build isolation this takes seconds instead of a minute.
BACKENDS = (
    "setuptools",
    "wheel",
    "hatchling",
    "hatch-vcs",
    "hatch-fancy-pypi-readme",
    "setuptools_scm",
    "flit_core",
    "flit_scm",  # exceptiongroup
    "poetry-core",
    "pdm-backend",
    "babel",  # mkdocs 1.6's hatch build hook compiles its translations with it
)
#: Fixed identity and dates, so a case's commits (and so LEO's result keys) are reproducible.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "corpus",
    "GIT_AUTHOR_EMAIL": "corpus@leo.invalid",
    "GIT_COMMITTER_NAME": "corpus",
    "GIT_COMMITTER_EMAIL": "corpus@leo.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


#: When each Python minor version was released. A case's date is never earlier than the release
#: of the interpreter its tests run on: packages uploaded before it were never tested on it
#: (pyjwt 2.3.0, October 2021, on Python 3.11: that month's py 1.10 stops pytest at import).
PYTHON_RELEASED = {
    (3, 9): "2020-10-05T00:00:00Z",
    (3, 10): "2021-10-04T00:00:00Z",
    (3, 11): "2022-10-24T00:00:00Z",
    (3, 12): "2023-10-02T00:00:00Z",
    (3, 13): "2024-10-07T00:00:00Z",
    (3, 14): "2025-10-07T00:00:00Z",
}


class CorpusError(Exception):
    """A case cannot be prepared (bad manifest, download, hash); the message says which."""


@dataclass(frozen=True)
class Sdist:
    spec: str
    """``name==version``."""
    file: str
    sha256: str
    uploaded: str
    """When PyPI received the file (ISO, UTC): the day the release was what users installed."""


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    """``release``, ``reverse`` or ``planted``."""
    base: str
    """The base sdist's ``name==version``."""
    head: str | None
    """The head sdist's ``name==version``; None for a planted defect (head = base + patch)."""
    about: str = ""
    agent: str = ""
    """For a planted defect: the sub-agent it is aimed at."""
    base_files: dict[str, str] = field(default_factory=dict)
    head_files: dict[str, str] = field(default_factory=dict)
    head_edits: tuple[tuple[str, str, str], ...] = ()
    head_delete: tuple[str, ...] = ()
    resolve_as_of: str = ""
    """The Testing sub-agent's ``resolve_as_of``: the end of the day the head release (a planted
    defect: its host) was uploaded."""

    def key(self, agents: str) -> str:
        """Changes when the case's definition or the agents change; resume keys on it."""
        fields = {k: v for k, v in self.__dict__.items() if k != "resolve_as_of" or v}
        text = json.dumps([fields, agents], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_manifest(
    cases_path: Path, planted_path: Path | None
) -> tuple[dict[str, Sdist], list[Case]]:
    """Read ``cases.toml`` (sdists, releases, reverse security releases) and ``planted.toml``."""
    try:
        doc = tomllib.loads(cases_path.read_text(encoding="utf-8"))
        planted = tomllib.loads(planted_path.read_text(encoding="utf-8")) if planted_path else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read the corpus manifest ({exc}); fix the TOML"
        raise CorpusError(msg) from None
    sdists = {}
    for spec, entry in doc.get("sdists", {}).items():
        uploaded = str(entry.get("uploaded", ""))
        try:
            datetime.fromisoformat(uploaded)
        except ValueError:
            msg = (
                f"sdist {spec!r} pins no valid upload time (uploaded = {uploaded!r}); copy "
                "upload_time_iso_8601 of its file from https://pypi.org/pypi/<name>/json"
            )
            raise CorpusError(msg) from None
        sdists[spec] = Sdist(spec, entry["file"], entry["sha256"], uploaded)
    cases: list[Case] = []
    for kind in ("release", "reverse"):
        for entry in doc.get(kind, []):
            cases.append(
                Case(
                    id=entry["id"],
                    kind=kind,
                    base=entry["base"],
                    head=entry["head"],
                    about=entry.get("about", ""),
                )
            )
    for entry in planted.get("planted", []):
        cases.append(
            Case(
                id=entry["id"],
                kind="planted",
                base=entry["host"],
                head=None,
                about=entry.get("about", ""),
                agent=entry["agent"],
                base_files=dict(entry.get("base_files", {})),
                head_files=dict(entry.get("head_files", {})),
                head_edits=tuple(
                    (e["path"], e["old"], e["new"]) for e in entry.get("head_edits", [])
                ),
                head_delete=tuple(entry.get("head_delete", [])),
            )
        )
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        msg = f"duplicate case ids in the manifest: {', '.join(dupes)}"
        raise CorpusError(msg)
    for case in cases:
        for spec in (case.base, case.head):
            if spec is not None and spec not in sdists:
                msg = f"case {case.id!r} names {spec!r}, which is not pinned in [sdists]"
                raise CorpusError(msg)
    return sdists, [
        dataclasses.replace(c, resolve_as_of=end_of_day(sdists[c.head or c.base].uploaded))
        for c in cases
    ]


def end_of_day(uploaded: str) -> str:
    """The midnight (UTC) after ``uploaded``: pip installs what was uploaded before it; never
    earlier than the release of the Python the tests run on (``PYTHON_RELEASED``)."""
    when = datetime.fromisoformat(uploaded)
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    midnight = datetime.combine(when.date() + timedelta(days=1), datetime.min.time(), UTC)
    python = PYTHON_RELEASED.get(sys.version_info[:2])
    if python is not None:
        midnight = max(midnight, datetime.fromisoformat(python))
    return midnight.isoformat().replace("+00:00", "Z")


def write_policy(case: Case, cache: Path) -> Path:
    """The ``leo.toml`` the case is verified under (``leo verify --config``): the defaults, and
    the test dependencies as of the case's date, and room for every package's environments
    (the default keeps 20: a full run would rebuild them). No sdist of the corpus has a policy
    of its own."""
    path = cache / "policies" / f"{case.id}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f'[agents.testing]\nresolve_as_of = "{case.resolve_as_of}"\nmax_environments = 300\n'
    path.write_text(text)
    return path


# --- preparing a case -------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(sdist: Sdist, cache: Path) -> Path:
    """The sdist's path in the cache, downloaded with pip if missing; its sha256 is checked."""
    target = cache / "sdists" / sdist.file
    if not target.exists():
        env_python = _fetch_env(cache)
        name = sdist.spec.split("==", 1)[0]
        done = subprocess.run(
            [
                str(env_python),
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "--no-binary",
                name,
                "-d",
                str(target.parent),
                sdist.spec,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not target.exists():
            tail = done.stderr.strip().splitlines()[-1:] or ["no sdist written"]
            msg = f"pip could not download {sdist.spec} as {sdist.file}: {tail[0]}"
            raise CorpusError(msg)
    actual = sha256_of(target)
    if actual != sdist.sha256:
        msg = (
            f"{target} has sha256 {actual}, the manifest pins {sdist.sha256}; delete it and re-run"
        )
        raise CorpusError(msg)
    return target


def _fetch_env(cache: Path) -> Path:
    """A virtualenv with the build backends, so pip prepares sdist metadata without isolation."""
    env = cache / "fetchenv"
    python = env / "bin" / "python"
    marker = env / ".ready"
    wanted = "\n".join(BACKENDS)
    if not marker.exists() or marker.read_text() != wanted:  # rebuilt when the list grows
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
        subprocess.run(
            # -U: the venv's own setuptools (65.5 on Python 3.11) cannot read a PEP 639 licence
            # (pymysql 1.2.4, sqlalchemy-utils 0.43.0), and "setuptools" alone keeps it.
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "-U",
                "--disable-pip-version-check",
                *BACKENDS,
            ],
            check=True,
        )
        marker.write_text(wanted)
    return python


def extract(sdist_path: Path, into: Path) -> None:
    """Unpack an sdist into ``into``, dropping its top directory; refuses unsafe members."""
    with tarfile.open(sdist_path) as tar:
        members = []
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) < 2 or not (member.isfile() or member.isdir()):
                continue
            member.name = str(Path(*parts[1:]))
            members.append(member)
        tar.extractall(into, members=members, filter="data")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    if done.returncode != 0:
        msg = f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}"
        raise CorpusError(msg)
    return done.stdout.strip()


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def apply_head_patch(case: Case, root: Path) -> None:
    """A planted defect's head: new files, exact edits (each ``old`` must occur once), deletions."""
    _write(root, case.head_files)
    for rel, old, new in case.head_edits:
        path = root / rel
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text.count(old) != 1:
            msg = f"planted case {case.id!r}: the text to replace occurs {text.count(old)} times in {rel} (expected once)"
            raise CorpusError(msg)
        path.write_text(text.replace(old, new), encoding="utf-8")
    for rel in case.head_delete:
        target = root / rel
        if not target.exists():
            msg = f"planted case {case.id!r}: {rel} does not exist at base"
            raise CorpusError(msg)
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def build_repo(case: Case, sdists: dict[str, Sdist], cache: Path) -> Path:
    """A fresh git repository with the case's base and head commits, tagged ``base``/``head``."""
    repo = cache / "repos" / case.id
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    extract(fetch(sdists[case.base], cache), repo)
    _write(repo, case.base_files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", f"base: {case.base}")
    git(repo, "tag", "base")
    if case.head is not None:
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        extract(fetch(sdists[case.head], cache), repo)
    else:
        apply_head_patch(case, repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", f"head: {case.id}")
    git(repo, "tag", "head")
    return repo


# --- running a case ---------------------------------------------------------------------


def leo_executable() -> str:
    return str(Path(sys.executable).parent / "leo")


def run_leo(
    repo: Path, out: Path, agents: str, timeout: float, env: dict[str, str], policy: Path | None
) -> dict[str, Any]:
    """``leo verify`` on base..head (under ``policy``, if any); the whole process group is
    killed at ``timeout``."""
    cmd = [
        leo_executable(),
        "verify",
        "--repo",
        str(repo),
        "--base",
        "base",
        "--head",
        "head",
        "--format",
        "json",
        "--output",
        str(out),
        "--agents",
        agents,
        *(["--config", str(policy)] if policy is not None else []),
        "--no-cache",
        "-q",
    ]
    out.unlink(missing_ok=True)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,
    )
    try:
        _stdout, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _stdout, stderr = proc.communicate()
        timed_out = True
    elapsed = time.monotonic() - start
    report = None
    if out.exists():
        with contextlib.suppress(ValueError):
            report = json.loads(out.read_text(encoding="utf-8"))
    return {
        "exit_code": proc.returncode,
        "timed_out": timed_out,
        "duration_s": round(elapsed, 2),
        "stderr_tail": (stderr or "")[-1500:],
        "report": report,
    }


def changed_python_files(repo: Path) -> list[str]:
    names = git(repo, "diff", "--name-only", "--diff-filter=ACMR", "base", "head")
    return [n for n in names.splitlines() if n.endswith(".py")]


def naive_gate(repo: Path) -> dict[str, Any]:
    """The baseline: FAIL on any bandit HIGH-severity issue in a changed Python file at head."""
    files = changed_python_files(repo)
    if not files:
        return {"verdict": "PASS", "high": []}
    bandit = Path(sys.executable).parent / "bandit"
    done = subprocess.run(
        [str(bandit), "-q", "-f", "json", *files],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        results = json.loads(done.stdout)["results"]
    except (ValueError, KeyError):
        return {"verdict": "ERROR", "high": [], "error": done.stderr[-500:]}
    high = sorted(
        {f"{r['test_id']} {r['filename']}" for r in results if r["issue_severity"] == "HIGH"}
    )
    return {"verdict": "FAIL" if high else "PASS", "high": high}


def summarise_report(report: dict[str, Any]) -> dict[str, Any]:
    """What the table needs from a LEO report: per agent status and its blocking rules."""
    agents = {}
    crashes = []
    for result in report.get("agents", []):
        rules = sorted(
            {
                f["rule_id"]
                for f in result.get("findings", [])
                if f.get("severity") in ("critical", "high", "medium")
            }
        )
        summary = result.get("summary") or ""
        agents[result["name"]] = {
            "status": result["status"],
            "confidence": result["confidence"],
            "duration_s": round(result.get("duration_s", 0.0), 2),
            "rules": rules,
            "summary": summary[:300],
        }
        if result["status"] == "error" and " crashed: " in summary:
            crashes.append(f"{result['name']}: {summary[:300]}")
    return {
        "verdict": report["verdict"],
        "confidence": report["confidence"],
        "reasons": list(report.get("reasons", []))[:6],
        "agents": agents,
        "crashes": crashes,
    }


def run_case(case: Case, sdists: dict[str, Sdist], args: argparse.Namespace) -> dict[str, Any]:
    cache: Path = args.cache
    row: dict[str, Any] = {
        "id": case.id,
        "kind": case.kind,
        "base": case.base,
        "head": case.head or f"{case.base} + planted patch",
        "agent": case.agent,
        "about": case.about,
        "key": case.key(args.agents),
        "agents_run": args.agents,
    }
    try:
        repo = build_repo(case, sdists, cache)
    except (CorpusError, OSError, tarfile.TarError) as exc:
        row.update(verdict="SETUP", crashed=False, setup_error=str(exc), duration_s=0.0)
        return row
    row["changed_python_files"] = len(changed_python_files(repo))
    env = {
        "LEO_DATABASE_URL": f"sqlite:///{cache / 'audit.db'}",
        "LEO_CACHE_DIR": str(cache / "leo-cache"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    policy = write_policy(case, cache) if case.resolve_as_of else None
    row["resolve_as_of"] = case.resolve_as_of or "today"
    outcome = run_leo(
        repo, cache / "reports" / f"{case.id}.json", args.agents, args.timeout, env, policy
    )
    row.update(
        exit_code=outcome["exit_code"],
        duration_s=outcome["duration_s"],
        timed_out=outcome["timed_out"],
    )
    report = outcome["report"]
    if report is None:
        row.update(
            verdict="CRASH",
            crashed=True,
            crashes=[
                f"timed out after {args.timeout:g}s"
                if outcome["timed_out"]
                else f"exit {outcome['exit_code']}: {outcome['stderr_tail'][-400:]}"
            ],
        )
    else:
        summary = summarise_report(report)
        row.update(summary, crashed=bool(summary["crashes"]))
    row["naive"] = naive_gate(repo)
    return row


# --- the summary ------------------------------------------------------------------------


def blocking(row: dict[str, Any]) -> str:
    """Why the verdict is not PASS, in a few words: the agents that did not pass and their rules."""
    if row.get("setup_error"):
        return f"setup: {row['setup_error'][:160]}"
    if row.get("verdict") == "CRASH":
        return "; ".join(row.get("crashes", []))[:200]
    parts = []
    for name, agent in row.get("agents", {}).items():
        if agent["status"] in ("passed", "skipped"):
            continue
        rules = ", ".join(agent["rules"][:3]) + (" …" if len(agent["rules"]) > 3 else "")
        text = agent["status"] + (f" ({rules})" if rules else f" ({agent['summary'][:90]})")
        parts.append(f"{name}: {text}")
    return "; ".join(parts).replace("|", "\\|").replace("\n", " ")


def _not_passed(row: dict[str, Any], name: str) -> bool:
    agent = row.get("agents", {}).get(name)
    return bool(agent) and agent["status"] not in ("passed", "skipped")


def caught_by_intended(row: dict[str, Any]) -> bool:
    return _not_passed(row, row.get("agent", ""))


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else "0/0"


def render(
    rows: list[dict[str, Any]],
    machine: str,
    agents: str,
    missing: list[str] | None = None,
    note: str = "",
) -> str:
    releases = [r for r in rows if r["kind"] == "release" and r.get("verdict") != "SETUP"]
    reverse = [r for r in rows if r["kind"] == "reverse" and r.get("verdict") != "SETUP"]
    planted = [r for r in rows if r["kind"] == "planted" and r.get("verdict") != "SETUP"]
    setup = [r for r in rows if r.get("verdict") == "SETUP"]
    ran = [r for r in rows if r.get("verdict") != "SETUP"]

    def count(group: list[dict[str, Any]], pred: Any) -> int:
        return sum(1 for r in group if pred(r))

    def naive(r: dict[str, Any]) -> str:
        return str(r.get("naive", {}).get("verdict", "—"))

    times = [r["duration_s"] for r in releases]
    all_times = [r["duration_s"] for r in ran]
    lines = [
        START,
        "## Real-world corpus",
        "",
        f"Generated by `.venv/bin/python benchmarks/realworld/run.py` on {machine}; "
        f"sub-agents: {agents}. The cases and their pins are in `benchmarks/realworld/cases.toml` "
        "and `planted.toml`; `benchmarks/realworld/README.md` explains them. Time is the wall "
        "time of one `leo verify --no-cache`; the Testing sub-agent builds a package's test "
        "environment on its first case (cold) and reuses it while the dependency files are the same.",
        "",
        *([note, ""] if note else []),
        "| measure | LEO | naive gate (any bandit HIGH in changed files) | target |",
        "|---|---|---|---|",
        f"| releases FAILed (false alarms) | {pct(count(releases, lambda r: r['verdict'] == 'FAIL'), len(releases))} "
        f"| {pct(count(releases, lambda r: naive(r) == 'FAIL'), len(releases))} | ≤ 10% |",
        f"| releases not PASSed | {pct(count(releases, lambda r: r['verdict'] != 'PASS'), len(releases))} "
        f"| {pct(count(releases, lambda r: naive(r) != 'PASS'), len(releases))} | ≤ 30% |",
        f"| planted defects PASSed (missed) | {pct(count(planted, lambda r: r['verdict'] == 'PASS'), len(planted))} "
        f"| {pct(count(planted, lambda r: naive(r) == 'PASS'), len(planted))} | 0 |",
        f"| planted defects caught by the sub-agent they aim at | {pct(count(planted, caught_by_intended), len(planted))} | — | — |",
        f"| reverse security releases PASSed (missed) | {pct(count(reverse, lambda r: r['verdict'] == 'PASS'), len(reverse))} "
        f"| {pct(count(reverse, lambda r: naive(r) == 'PASS'), len(reverse))} | — |",
        f"| crashes (all cases) | {count(ran, lambda r: r.get('crashed'))} | — | 0 |",
        f"| median / worst time per release | {statistics.median(times) if times else 0:.1f} s / {max(times, default=0):.1f} s | — | median ≤ 60 s |",
        f"| median / worst time, all cases | {statistics.median(all_times) if all_times else 0:.1f} s / {max(all_times, default=0):.1f} s | — | — |",
    ]
    if missing:
        lines.append(
            f"| cases without a result in this table | {len(missing)}: {', '.join(missing)} | — | — |"
        )
    if setup:
        lines.append(
            f"| cases that could not be prepared | {len(setup)}: {', '.join(r['id'] for r in setup)} | — | 0 |"
        )
    names = sorted({n for r in ran for n in r.get("agents", {})})
    if names:
        lines += [
            "",
            "Per sub-agent: how many cases it did not pass (`failed`, `warned`, `error`, `timeout`), "
            "and how many it crashed on.",
            "",
            "| sub-agent | releases not passed | reverse releases not passed | planted defects not passed (aimed at it) | crashes |",
            "|---|---|---|---|---|",
        ]

        def flagged(group: list[dict[str, Any]], name: str) -> int:
            return count(group, lambda r: _not_passed(r, name))

        for name in names:
            aimed = [r for r in planted if r.get("agent") == name]
            lines.append(
                f"| {name} | {flagged(releases, name)}/{len(releases)} | {flagged(reverse, name)}/{len(reverse)} "
                f"| {flagged(planted, name)}/{len(planted)} ({flagged(aimed, name)}/{len(aimed)}) "
                f"| {count(ran, lambda r, n=name: any(c.startswith(n + ':') for c in r.get('crashes', [])))} |"
            )
    lines += [
        "",
        "| case | kind | change | LEO | naive | time (s) | what did not pass |",
        "|---|---|---|---|---|---|---|",
    ]
    order = {"release": 0, "reverse": 1, "planted": 2}
    for r in sorted(rows, key=lambda r: (order[r["kind"]], r["id"])):
        change = (
            f"{r['base']} → {r['head']}"
            if r["kind"] != "planted"
            else f"{r['agent']}: {r['about']}"
        )
        if r["kind"] == "reverse":
            change += f" ({r['about']})"
        lines.append(
            f"| {r['id']} | {r['kind']} | {change.replace('|', '/')} | {r.get('verdict')} | {naive(r)} "
            f"| {r.get('duration_s', 0):.1f} | {blocking(r)} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_results_md(section: str, path: Path = RESULTS_MD) -> None:
    """Replace the corpus section of RESULTS.md (between the markers), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# LEO benchmark results\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = (
        pattern.sub(lambda _m: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    import platform

    leo_version = subprocess.run(
        [leo_executable(), "--version"], capture_output=True, text=True
    ).stdout.strip()
    # The machine may be shared: the load says how much of it the run had.
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    shared = (
        f", load average {' / '.join(load)} (1/5/15 min) when the table was written" if load else ""
    )
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {leo_version}{shared}"


def default_cache() -> Path:
    env = os.environ.get("LEO_REALWORLD_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leo" / "realworld"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="comma-separated case ids or prefixes (e.g. six,planted-sec)")
    p.add_argument("--kind", help="comma-separated kinds: release, reverse, planted")
    p.add_argument("--agents", default=AGENTS, help=f"sub-agents to run (default: {AGENTS})")
    p.add_argument(
        "--jobs", type=int, default=1, help="cases run at once (default 1; the machine is shared)"
    )
    p.add_argument(
        "--timeout", type=float, default=900.0, help="seconds one case may take (default 900)"
    )
    p.add_argument(
        "--cache", type=Path, default=default_cache(), help="downloads, repos and per-case JSON"
    )
    p.add_argument("--manifest", type=Path, default=HERE / "cases.toml")
    p.add_argument("--planted", type=Path, default=HERE / "planted.toml")
    p.add_argument("--fresh", action="store_true", help="re-run cases whose JSON is already there")
    p.add_argument(
        "--results-md", type=Path, default=RESULTS_MD, help="the Markdown file to update"
    )
    p.add_argument("--no-write", action="store_true", help="do not touch the Markdown file")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--note", default="", help="a paragraph to print above the table")
    p.add_argument(
        "--table", action="store_true", help="only write the table from the results already there"
    )
    p.add_argument(
        "--resolve-as-of",
        choices=("today", "release"),
        default="release",
        help="resolve each case's test dependencies as of the end of its head release's upload "
        "day (default: the release as its maintainers tested it) or as of today",
    )
    return p.parse_args(argv)


def select(cases: list[Case], args: argparse.Namespace) -> list[Case]:
    if args.kind:
        kinds = {k.strip() for k in args.kind.split(",")}
        cases = [c for c in cases if c.kind in kinds]
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        cases = [c for c in cases if any(c.id == w or c.id.startswith(w) for w in wanted)]
    return cases


def _done(path: Path, case: Case, agents: str) -> bool:
    """A result for this case's definition and these agents is already there (resume)."""
    try:
        return bool(json.loads(path.read_text())["key"] == case.key(agents))
    except (OSError, ValueError, KeyError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sdists, cases = load_manifest(args.manifest, args.planted)
    except CorpusError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    if args.resolve_as_of == "today":
        cases = [dataclasses.replace(c, resolve_as_of="") for c in cases]
    chosen = select(cases, args)
    if args.list:
        for c in chosen:
            print(f"{c.id:40} {c.kind:8} {c.base} -> {c.head or '(planted)'}")
        return 0
    if not chosen and not args.table:
        print("run.py: no case matches --only/--kind; see --list", file=sys.stderr)
        return 2
    args.cache.mkdir(parents=True, exist_ok=True)
    (args.cache / "reports").mkdir(exist_ok=True)
    results_dir = args.cache / "results"
    results_dir.mkdir(exist_ok=True)
    todo = [
        c
        for c in chosen
        if not args.table
        and (args.fresh or not _done(results_dir / f"{c.id}.json", c, args.agents))
    ]

    def one(case: Case) -> None:
        row = run_case(case, sdists, args)
        (results_dir / f"{case.id}.json").write_text(json.dumps(row, indent=2) + "\n")
        print(
            f"{case.id}: {row.get('verdict')} in {row.get('duration_s', 0):.1f}s "
            f"(naive {row.get('naive', {}).get('verdict', '—')}) {blocking(row)[:160]}",
            file=sys.stderr,
            flush=True,
        )

    print(f"run.py: {len(todo)} of {len(chosen)} cases to run", file=sys.stderr, flush=True)
    # Sdists are fetched up front, one at a time, so parallel cases never race on a download.
    for case in todo:
        for spec in (case.base, case.head):
            if spec is not None:
                with contextlib.suppress(CorpusError):
                    fetch(sdists[spec], args.cache)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, todo))
    # The table covers every case of the manifest that has a result for these agents, so a
    # partial re-run (--only) keeps the others' rows.
    rows = []
    for case in cases:
        path = results_dir / f"{case.id}.json"
        if path.exists():
            with contextlib.suppress(ValueError, KeyError):
                row = json.loads(path.read_text())
                if row["key"] == case.key(args.agents):
                    rows.append(row)
    missing = [c.id for c in cases if c.id not in {r["id"] for r in rows}]
    section = render(rows, machine(), args.agents, missing, args.note)
    if not args.no_write:
        write_results_md(section, args.results_md)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
