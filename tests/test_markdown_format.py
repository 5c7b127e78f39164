"""The PR comment's markdown: text from plugins, tests and commits cannot format, link, ping
or break the table."""

from __future__ import annotations

import pytest

from leo.formats.markdown_format import escape

JOINER = "\u2060"


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("[click](https://evil.example)", "\\[click\\]\\(https" + JOINER + "://evil.example\\)"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert\\(1\\)\\>"),
        ("a | b\nc", "a \\| b c"),
        (
            "cc @security-team and @org/admins",
            f"cc @{JOINER}security\\-team and @{JOINER}org/admins",
        ),
        (
            "see www.evil.example or HTTP://x.y",
            f"see www{JOINER}.evil.example or HTTP{JOINER}://x.y",
        ),
        ("\x1b]8;;https://x\x07link\u202e", f"\\]8;;https{JOINER}://xlink"),
    ],
)
def test_hostile_text_is_inert(hostile, shown):
    assert escape(hostile) == shown


def test_ordinary_text_reads_the_same():
    assert escape("user@example.com failed in 2.5 s") == f"user@{JOINER}example.com failed in 2.5 s"
    assert escape("tests/test_a.py::test_b") == "tests/test\\_a.py::test\\_b"
