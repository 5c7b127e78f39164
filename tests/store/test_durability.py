"""A killed writer leaves no partial verdict; many concurrent writers keep one intact chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from leo.store.repository import AuditStore
from leo.store.tables import GateRow, VerificationRow

HERE = Path(__file__).resolve().parent

# A child that records a verdict but stops for good after the verdict row and the first
# gate row are written inside the open transaction, and tells the parent so.
KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {here!r})
    from conftest import make_report
    from leo.store import repository

    original = repository.Appender.append
    calls = 0

    def append(self, row):
        global calls
        row = original(self, row)
        calls += 1
        if calls == 2:
            self.session.flush()  # the rows are in the database, uncommitted
            Path({marker!r}).write_text("mid-record")
            time.sleep(120)
        return row

    repository.Appender.append = append
    store = repository.AuditStore.open({url!r})
    store.record_verification(make_report(agents=3), pr=1)
    """
)

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {here!r})
    from conftest import make_report
    from leo.store.repository import AuditStore

    start = Path({start!r})
    Path(str(start) + sys.argv[1]).write_text("ready")  # imports done
    while not start.exists():
        time.sleep(0.01)
    store = AuditStore.open({url!r})
    report = make_report(agents=1, head=f"{{int(sys.argv[1]):040x}}")
    for i in range({per!r}):
        store.record_verification(report, pr=int(sys.argv[1]))
    store.close()
    """
)


def test_kill_9_mid_record_leaves_no_partial_verdict(store_url, tmp_path, report_factory):
    with AuditStore.open(store_url) as store:
        store.record_verification(report_factory(), pr=1)
    marker = tmp_path / "marker"
    code = KILLED_CHILD.format(here=str(HERE), marker=str(marker), url=store_url)
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the child exited before reaching the middle of the record"
            assert time.monotonic() < deadline, "the child never reached the middle of the record"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    with AuditStore.open(store_url) as store:
        assert store.count(VerificationRow) == 1
        assert store.count(GateRow) == 3  # the first verdict's two sub-agents and requirement
        # The killed writer's lock is gone: the next verdict lands and the chain is intact.
        started = time.monotonic()
        seq = store.record_verification(report_factory(), pr=1)
        assert time.monotonic() - started < 10
        check = store.verify_chain()
    assert seq == 5
    assert check.intact, check.problem
    assert check.rows == 8


def test_eight_processes_recording_fifty_verdicts_each_keep_an_intact_chain(store_url, tmp_path):
    processes, per = 8, 50
    start = tmp_path / "start"
    code = WRITER.format(here=str(HERE), start=str(start), url=store_url, per=per)
    # A fresh database: the writers also race to migrate it on first use.
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n + 1)], stderr=subprocess.PIPE, text=True
        )
        for n in range(processes)
    ]
    deadline = time.monotonic() + 90
    # Start the clock when every writer has imported LEO: what is measured is the database.
    while not all((tmp_path / f"start{n + 1}").exists() for n in range(processes)):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(c.poll() is None for c in children), "a writer died while starting"
        time.sleep(0.05)
    started = time.monotonic()
    start.write_text("go")
    errors = []
    for child in children:
        _, err = child.communicate(timeout=120)
        if child.returncode != 0:
            errors.append(err[-2000:])
    elapsed = time.monotonic() - started
    assert not errors, errors[0]
    with AuditStore.open(store_url) as store:
        check = store.verify_chain()
        assert store.count(VerificationRow) == processes * per
        for n in range(1, processes + 1):
            assert len(store.history(pr=n, limit=1000)) == per
    assert check.intact, check.problem
    assert check.rows == check.head_seq == processes * per * 3  # verdict, gate, requirement
    print(f"{processes}x{per} verdicts on {store_url.split(':')[0]}: {elapsed:.1f}s")
