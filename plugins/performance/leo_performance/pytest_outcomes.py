"""A pytest plugin LEO loads into each benchmark run to record every test's outcome.

pytest-benchmark's JSON lists only the benchmarks that ran; this file also tells a benchmark
that failed, errored or was skipped apart from one that was removed. It is a standalone module
(no LEO imports) because it runs in the checked repository's interpreter, which may not have
LEO installed: LEO puts this file's directory on ``PYTHONPATH`` and passes ``-p``.
"""

from __future__ import annotations

import json
import os
from typing import Any

_PATH = os.environ.get("LEO_PERFORMANCE_OUTCOMES", "")
_MAX_TEXT = 2000


def _write(record: dict[str, Any]) -> None:
    if not _PATH:
        return
    with open(_PATH, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def _text(report: Any) -> str:
    try:
        text = str(report.longreprtext or "")
    except Exception:
        text = ""
    return text[-_MAX_TEXT:]


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or report.outcome != "passed":
        _write(
            {
                "nodeid": report.nodeid,
                "when": report.when,
                "outcome": report.outcome,
                "text": _text(report) if report.failed else "",
            }
        )


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _write(
            {"nodeid": report.nodeid, "when": "collect", "outcome": "failed", "text": _text(report)}
        )
