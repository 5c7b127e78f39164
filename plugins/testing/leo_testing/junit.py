"""JUnit XML from the test run, read as hostile input: defused, size-capped, no symlinks.

The change's own code writes this file (a ``conftest.py`` can rewrite it), so it is evidence of
what the tests said, never of what they are worth; the exit code is checked against it.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leo import LeoError

MAX_REPORT_BYTES = 64 * 1024 * 1024
Outcome = Literal["passed", "failed", "error", "skipped"]
#: pytest ends a failure's text with ``path/to/test_x.py:12: AssertionError``.
_CRASH_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*\.py):(?P<line>\d+): ", re.MULTILINE)
#: ``ModuleNotFoundError: No module named 'x'``, ``pkg.Error: …``: the line naming the error.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)\b")
#: The ``E`` markers in front of a raised line, nested ones included (``E   E   KeyError: 1``).
_NESTED = re.compile(r"^(?:E\s+)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")
#: What differs between two runs of the same failure: directories (the worktree's temporary
#: path), object addresses, ports and other numbers.
_RUN_NOISE = (
    (re.compile(r"(?:/[\w.@+~-]+)+/"), ""),
    (re.compile(r"0x[0-9a-fA-F]+"), "0x"),
    (re.compile(r"\d+"), "N"),
)
#: pytest's warning that it skips a class with ``__init__``, raised as an error by a warnings
#: filter another test module set (markdown 3.7's ``tests/test_legacy.py``).
_COLLECTION_WARNING = re.compile(r"^(pytest\.)?PytestCollectionWarning: cannot collect ")


class ReportError(LeoError):
    """A test or coverage report is missing, too large, not a regular file, or malformed."""


@dataclass(frozen=True)
class TestCase:
    """One ``<testcase>``."""

    __test__ = False  # not a pytest test class

    name: str
    classname: str
    file: str | None
    line: int | None
    """1-based line of the test (JUnit ``line`` is 0-based in pytest's xunit1)."""
    outcome: Outcome
    message: str
    text: str

    @property
    def nodeid(self) -> str:
        """pytest's node id (``tests/test_x.py::TestA::test_b[1]``), or the dotted name."""
        if not self.file:
            return f"{self.classname}::{self.name}" if self.classname else self.name
        module = self.file.removesuffix(".py").replace("/", ".")
        if self.classname.startswith(module + "."):
            inner = self.classname[len(module) + 1 :].split(".")
            return "::".join([self.file, *inner, self.name])
        # A test a class in another module inherits: ``file`` is where it is defined, the
        # class name says where it runs (itsdangerous' TestTimedSerializer in test_timed.py).
        folder = posixpath.dirname(self.file)
        prefix = folder.replace("/", ".") + "." if folder else ""
        if self.classname.startswith(prefix) and "." in self.classname[len(prefix) :]:
            runs_in, *inner = self.classname[len(prefix) :].split(".")
            return "::".join([posixpath.join(folder, runs_in + ".py"), *inner, self.name])
        # ... or in another folder (urllib3's test/contrib/test_pyopenssl.py runs the classes of
        # test/with_dummyserver/test_https.py): the module's names run up to the first class,
        # which by the convention pytest's ``python_classes`` follows starts with a capital.
        parts = self.classname.split(".")
        first_class = next((i for i, p in enumerate(parts) if p[:1].isupper()), None)
        if first_class:
            module = "/".join(parts[:first_class]) + ".py"
            return "::".join([module, *parts[first_class:], self.name])
        return f"{self.file}::{self.name}"

    @property
    def collection_error(self) -> bool:
        """Something pytest could not collect, not a test that ran: a module
        (``tests/test_x.py::tests.test_x``) or a class (markdown 3.7's ``TestSuite``)."""
        return self.outcome == "error" and (
            (bool(self.module) and self.name == self.module) or self.message == "collection failure"
        )

    @property
    def module(self) -> str:
        """The dotted name pytest gives the test's file (``tests.test_x``), or ``""``."""
        return (self.file or "").removesuffix(".py").replace("/", ".")

    @property
    def collection_warning(self) -> bool:
        """A test class pytest skipped with a warning that a warnings filter made an error: no
        test of it could have run either way, so no test is lost (a module stays an error)."""
        return (
            self.collection_error
            and self.name != self.module
            and bool(_COLLECTION_WARNING.match(self._error_line()))
        )

    def _error_line(self) -> str:
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        # pytest nests the ``E`` lines of an error it wraps (a package's ``__init__.py`` that
        # cannot be imported fails each of its tests with a CollectError): the inner one says it.
        raised = [_NESTED.sub("", line) for line in lines if line.startswith("E ")]
        named = [line for line in raised if _EXCEPTION_LINE.match(line)]
        return (named or raised or lines or [self.message])[-1 if named or raised else 0]

    def first_error_line(self) -> str:
        """The line that says what went wrong: pytest's last ``E   Error: …`` line, else the
        first line of the text, else the message."""
        return clean(self._error_line(), 300)

    def failure_signature(self) -> str:
        """How the test failed, comparable between two runs: the error line with directories,
        addresses and numbers blanked (a port the OS picked, the worktree's temporary path)."""
        line = self._error_line()
        for pattern, blank in _RUN_NOISE:
            line = pattern.sub(blank, line)
        return f"{self.outcome}: {clean(line, 300)}"

    def crash_location(self) -> tuple[str | None, int | None]:
        """Where the failure happened: the last ``file.py:line:`` of the traceback in the test's
        own file, else the test's definition."""
        if self.file:
            for match in reversed(list(_CRASH_LINE.finditer(self.text))):
                if match["path"].lstrip("./") == self.file.lstrip("./"):
                    return self.file, int(match["line"])
        return self.file, self.line


@dataclass(frozen=True)
class Suite:
    """Every test case of a run."""

    cases: tuple[TestCase, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def ran(self) -> int:
        """Tests that actually ran (not skipped)."""
        return len(self.cases) - self.count("skipped")

    def counts(self) -> dict[str, int]:
        return {
            "tests": len(self.cases),
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "errors": self.count("error"),
            "skipped": self.count("skipped"),
        }


def read_report(path: Path, limit: int = MAX_REPORT_BYTES) -> bytes | None:
    """The bytes of the regular file at ``path`` (None if absent); never follows a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        msg = f"the report {path.name} could not be opened safely ({exc.strerror}); it must be a regular file"
        raise ReportError(msg) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            msg = f"the report {path.name} is not a regular file"
            raise ReportError(msg)
        if info.st_size > limit:
            msg = f"the report {path.name} is {info.st_size} bytes, over the {limit}-byte limit"
            raise ReportError(msg)
        return fh.read(limit + 1)[:limit]


def clean(text: str | None, limit: int = 500) -> str:
    """Text from the report, safe to show: control characters escaped, length capped."""
    value = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", (text or "").strip())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def parse_junit(data: bytes) -> Suite:
    """Parse JUnit XML (pytest, or any runner that writes it) without trusting it."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        msg = f"the JUnit report is not well-formed, safe XML ({type(exc).__name__}: {clean(str(exc), 200)})"
        raise ReportError(msg) from None
    if root.tag not in ("testsuites", "testsuite"):
        msg = f"the JUnit report's root element is <{clean(root.tag, 50)}>, not <testsuites> or <testsuite>"
        raise ReportError(msg)
    cases = []
    for node in root.iter("testcase"):
        outcome: Outcome = "passed"
        detail = None
        for tag in ("skipped", "error", "failure"):  # the last match wins: failure over error
            found = node.find(tag)
            if found is not None:
                outcome, detail = ("failed" if tag == "failure" else tag), found  # type: ignore[assignment]
        line = node.get("line")
        file = node.get("file")
        cases.append(
            TestCase(
                name=clean(node.get("name"), 300),
                classname=clean(node.get("classname"), 300),
                file=clean(file, 300).replace("\\", "/") if file else None,
                line=int(line) + 1 if line and line.isdigit() else None,
                outcome=outcome,
                message=clean(detail.get("message") if detail is not None else None),
                text=(detail.text or "")[-20_000:] if detail is not None else "",
            )
        )
    return Suite(tuple(cases))
