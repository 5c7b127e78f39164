"""The witnesses of one test run must agree: LEO's observer plugin, the JUnit report, the exit
status, and what pytest printed as it ran. The change's code can rewrite one of them; rewriting
all alike is harder, and any disagreement is ``testing.runner_tampering`` (issue 17, THREATS.md
D-07). The printed lines are the one witness the code cannot take back: they reached LEO's pipe
while the run went on, and an ``atexit`` handler that rewrote the JUnit report and the
observer's record, then ended the process with status 0, left them as they were.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from leo import Change, Finding
from leo_testing.junit import Suite, clean

#: The module name the observer is loaded under (``-p leo_testing_observer``).
PLUGIN = "leo_testing_observer"
ENV = "LEO_TESTING_OBSERVER"
#: Seconds the test process may take to exit after pytest is done before the observer ends it
#: with pytest's exit status (issue 18: tqdm 4.66.5's atexit handler waits forever).
EXIT_GRACE_ENV = "LEO_TESTING_EXIT_GRACE"
EXIT_GRACE_S = 20.0
_SOURCE = Path(__file__).with_name("_observer_plugin.py")
_MAX_LINES = 200_000
_MAX_BYTES = 64 * 1024 * 1024


def install(directory: Path) -> Path:
    """Copy the observer plugin into ``directory`` (put it first on PYTHONPATH); return it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_SOURCE, directory / f"{PLUGIN}.py")
    return directory


@dataclass
class Record:
    """What the observer wrote."""

    started: bool = False
    finished: bool = False
    exitstatus: int | None = None
    replaced: list[str] = field(default_factory=list)
    exit_forced: bool = False
    """The interpreter was still running ``EXIT_GRACE_S`` after pytest was done and was ended."""
    forged: dict[str, str] = field(default_factory=dict)
    """Node id -> what it raised, for a phase that raised but was reported passed."""
    failing: set[str] = field(default_factory=set)
    """Node ids with a phase that raised (skips aside) or was reported failed."""
    plugin_files: dict[str, str] = field(default_factory=dict)
    """File -> name of each plugin registered with pytest, however it was."""
    raised: dict[str, str] = field(default_factory=dict)
    """Node id -> the exception its first phase that raised raised (skips aside)."""
    collected: set[str] = field(default_factory=set)
    """Node ids pytest collected (in any of the run's processes)."""
    ran: set[str] = field(default_factory=set)
    """Node ids with at least one phase that was reported."""
    interrupted: bool = False
    """The session stopped early on purpose (``-x``, ``--maxfail``, a ``KeyboardInterrupt``)."""
    hook_files: dict[str, str] = field(default_factory=dict)
    """File -> a hook one of its functions was attached to, whoever attached it."""
    unregistered: list[str] = field(default_factory=list)
    """Functions attached to pytest's hooks without a registered plugin (or hooks replaced)."""
    swapped: dict[str, str] = field(default_factory=dict)
    """Node id -> what of the code it runs was replaced after collection, and by which file."""


def read_record(data: bytes | None) -> Record:
    """Parse the observer's JSON lines; anything malformed is ignored, never trusted."""
    record = Record()
    for line in (data or b"")[:_MAX_BYTES].splitlines()[:_MAX_LINES]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if kind == "start":
            record.started = True
        elif kind == "finish":
            record.finished = True
            status = event.get("exitstatus")
            record.exitstatus = status if isinstance(status, int) else None
            record.interrupted = bool(event.get("stopped"))
            replaced = event.get("replaced")
            if isinstance(replaced, list):
                record.replaced = [clean(str(r), 100) for r in replaced][:50]
        elif kind == "exit_forced":
            record.exit_forced = True
        elif kind == "plugin" and isinstance(event.get("file"), str):
            if len(record.plugin_files) < 1000:
                record.plugin_files[event["file"][:1000]] = clean(str(event.get("name")), 100)
        elif kind == "hookimpl" and isinstance(event.get("file"), str):
            hook, file = clean(str(event.get("hook")), 100), event["file"][:1000]
            if len(record.hook_files) < 1000:
                record.hook_files.setdefault(file, hook)
            if event.get("registered") is not True and len(record.unregistered) < 50:
                record.unregistered.append(f"{hook} ({clean(file, 300)})")
        elif kind == "swapped" and isinstance(event.get("nodeid"), str):
            what = event.get("what") if isinstance(event.get("what"), list) else ["?"]
            if len(record.swapped) < 50:
                record.swapped.setdefault(
                    clean(event["nodeid"], 300),
                    f"{', '.join(clean(str(w), 60) for w in what[:5])}; now defined in "
                    f"{clean(str(event.get('file')), 300)}",
                )
        elif kind == "collected" and isinstance(event.get("nodeids"), list):
            record.collected.update(clean(n, 300) for n in event["nodeids"] if isinstance(n, str))
        elif kind == "phase":
            nodeid, raised, said = event.get("nodeid"), event.get("raised"), event.get("report")
            if not isinstance(nodeid, str):
                continue
            nodeid = clean(nodeid, 300)
            record.ran.add(nodeid)
            if isinstance(raised, str) and raised != "skip":
                record.raised.setdefault(nodeid, clean(raised, 100))
            if said == "failed" or (isinstance(raised, str) and raised != "skip"):
                if said == "passed" and not event.get("xfail"):
                    record.forged[nodeid] = clean(str(raised), 100)
                if not event.get("xfail") or said == "failed":
                    record.failing.add(nodeid)
    return record


#: pytest's ``-v`` line of a test that failed (``tests/t.py::test_a FAILED  [ 50%]``), under
#: pytest-xdist (``[gw0] [ 50%] FAILED tests/t.py::test_a``), and its ``-rfE`` summary line.
_PRINTED = re.compile(
    r"^(?P<a>\S+::\S+) (?:FAILED|ERROR)\b|(?:^|\] )(?:FAILED|ERROR) (?P<b>\S+::\S+)", re.MULTILINE
)


def printed_failures(stdout: str) -> set[str]:
    """Node ids pytest's own output named as failed or errored while the run went on."""
    return {m["a"] or m["b"] for m in _PRINTED.finditer(stdout)}


def disagreements(
    record: Record, suite: Suite | None, returncode: int | None, stdout: str = ""
) -> list[str]:
    """Sentences naming each way the observer, the JUnit report, the exit status and pytest's
    printed output disagree."""
    out: list[str] = []
    if not record.started:
        if suite is not None or returncode == 0:
            out.append(
                "LEO's pytest observer never saw the session start although the run reported "
                "results (was it disabled, e.g. with -p no:" + PLUGIN + "?)"
            )
        return out
    if not record.finished and returncode == 0:
        out.append(
            "the test process exited 0 before pytest finished its session (os._exit or a killed "
            "interpreter), so no report of the run can be trusted"
        )
    for nodeid, raised in sorted(record.forged.items())[:20]:
        out.append(f"{nodeid} raised {raised} but its report was rewritten to 'passed'")
    if record.replaced:
        out.append(
            "the run replaced pytest internals that decide outcomes: "
            + ", ".join(record.replaced[:10])
        )
    never_ran = sorted(record.collected - record.ran)
    if never_ran and record.finished and record.exitstatus in (0, 1) and not record.interrupted:
        out.append(
            f"{len(never_ran)} collected test(s) never ran, though the session ran to its end "
            f"(taken out of the run after collection): {', '.join(never_ran[:5])}"
        )
    for nodeid, how in sorted(record.swapped.items())[:20]:
        out.append(
            f"{nodeid} ran other code than the test pytest collected (replaced after "
            f"collection: {how})"
        )
    if record.unregistered:
        out.append(
            "the run attached functions to pytest's hooks without registering a plugin (or "
            "replaced a hook), where they can deselect a test or answer for it unseen: "
            + ", ".join(record.unregistered[:10])
        )
    if suite is not None:
        # Counted by entries, not node ids: JUnit names an inherited test by the file that
        # defines it, so two classes' copies share one id there (itsdangerous 2.2.0).
        junit_failing = [c for c in suite.cases if c.outcome in ("failed", "error")]
        junit_passed = {c.nodeid for c in suite.cases if c.outcome == "passed"}
        hidden = sorted(n for n in record.failing if n in junit_passed)
        for nodeid in hidden[:20]:
            out.append(f"{nodeid} failed in the run but the JUnit report says it passed")
        if not hidden and len(record.failing) > len(junit_failing):
            out.append(
                f"{len(record.failing)} tests failed in the run but the JUnit report lists "
                f"{len(junit_failing)} failures"
            )
        # An id the report also lists as failing is two copies of one test (inherited ones).
        failing_ids = {c.nodeid for c in junit_failing}
        printed = printed_failures(stdout)
        for nodeid in sorted(printed & junit_passed - failing_ids - set(hidden))[:20]:
            out.append(
                f"pytest printed {nodeid} as failed while it ran, but the JUnit report says it passed"
            )
    if returncode == 0 and (record.failing or (record.exitstatus not in (None, 0))):
        out.append(
            f"the test process exited 0 although {len(record.failing)} tests failed "
            f"(pytest's own exit status was {record.exitstatus})"
        )
    elif returncode == 0 and (printed := printed_failures(stdout)):
        out.append(
            f"the test process exited 0 although pytest printed {len(printed)} test(s) as "
            f"failed while it ran ({sorted(printed)[0]})"
        )
    return out


def agreement_findings(
    record: Record, suite: Suite | None, returncode: int | None, stdout: str = ""
) -> list[Finding]:
    """One critical ``testing.runner_tampering`` per disagreement."""
    return [
        Finding(
            rule_id="testing.runner_tampering",
            severity="critical",
            message=f"the test run's witnesses disagree: {why}",
            fix="do not patch pytest, its reports or the interpreter from test code",
        )
        for why in disagreements(record, suite, returncode, stdout)
    ]


def plugin_findings(records: list[Record], tree: str, change: Change) -> list[Finding]:
    """``testing.runner_hook`` for each pytest plugin, or function on one of pytest's hooks,
    defined in a file of the worktree the change edits, ``conftest.py`` aside (``harness.py``
    judges those): the project's own code registered as a plugin - by an entry point in
    ``setup.py`` or any backend's metadata, or by the code under test itself through pytest's
    Config found with ``gc`` - is test harness in the head's run and the base pass alike, where
    it can deselect a test or fix the code up for its tests."""
    root = Path(tree)
    found: dict[str, Finding] = {}
    named = {f: f"registered as {n!r}" for r in records for f, n in r.plugin_files.items()}
    for r in records:
        for file, hook in r.hook_files.items():
            named.setdefault(file, f"a function of it attached to {hook}")
    for file, how in sorted(named.items()):
        try:  # a hook's file is relative to the run's directory (the worktree) when below it
            path = (root / file).relative_to(root).as_posix()
        except ValueError:
            continue
        edited = change.file(path)
        if edited is None or edited.status == "deleted" or path.rsplit("/", 1)[-1] == "conftest.py":
            continue
        found.setdefault(
            path,
            Finding(
                rule_id="testing.runner_hook",
                severity="medium",
                message=f"pytest ran {path} as a plugin ({how}) and the change "
                "edits it: the project's own code acts as the test harness in the head's run and "
                "the base pass alike, so a LEAD must review it",
                path=path,
            ),
        )
    return list(found.values())


def exit_findings(record: Record) -> list[Finding]:
    """A low ``testing.exit_hang`` when the observer had to end the finished run's process."""
    if not record.exit_forced:
        return []
    return [
        Finding(
            rule_id="testing.exit_hang",
            severity="low",
            message=(
                f"the test process was still running {EXIT_GRACE_S:g}s after pytest finished "
                "its session (an atexit handler or a thread that never returns), so LEO ended it "
                f"with pytest's exit status {record.exitstatus}; the results are complete"
            ),
            fix="make the tests release what they acquire and join the threads they start",
        )
    ]
