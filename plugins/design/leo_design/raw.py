"""radon's raw metrics (LLOC, SLOC, comment and docstring lines) in one tokenizer pass.

``radon.raw.analyze`` re-tokenizes a statement from its first line every time it adds a line, so
its cost grows with the square of a statement's length: idna 3.7's generated ``idnadata.py``
(tuples thousands of lines long) took minutes and timed the Design sub-agent out (issue 18). This
module groups the tokens of a single pass into the same chunks (a logical line, or a blank or
comment line) and counts them with radon's own rules, so the maintainability index is radon's.
"""

from __future__ import annotations

import io
import tokenize
from typing import Any

from radon.raw import Module, is_single_token

#: radon's chunk ends: a logical line (NEWLINE) or a blank or comment-only line (NL outside
#: brackets).
_ENDS = (tokenize.NEWLINE, tokenize.NL)


def analyze(source: str) -> Module:
    """What ``radon.raw.analyze(source)`` returns, in linear time."""
    lines = [line.strip() for line in source.splitlines()]
    # radon tokenizes the stripped lines, so nothing is indented and no INDENT token exists.
    tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline))
    lloc = comments = single_comments = multi = blank = sloc = 0
    chunk: list[Any] = []
    first = 1  # the chunk's first line (1-based)
    depth = 0
    for token in tokens:
        if token.type == tokenize.ENDMARKER:
            break
        chunk.append(token)
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth = max(0, depth - 1)
        if token.type not in _ENDS or (token.type == tokenize.NL and depth):
            continue
        last = token.start[0]
        parsed = lines[first - 1 : last]
        closed = [*chunk, _endmarker(last)]
        comments += sum(1 for t in closed if t[0] == tokenize.COMMENT)
        if is_single_token(tokenize.COMMENT, closed):
            single_comments += 1
        elif is_single_token(tokenize.STRING, closed):
            if closed[0][2][0] == closed[0][3][0]:
                single_comments += 1
            else:
                multi += sum(1 for line in parsed if line)
                blank += sum(1 for line in parsed if not line)
        else:
            sloc += sum(1 for line in parsed if line)
            blank += sum(1 for line in parsed if not line)
        lloc += _logical(closed)
        chunk, first = [], last + 1
    # Trailing blank lines end the text without a token of their own.
    blank += sum(1 for line in lines[first - 1 :] if not line)
    loc = sloc + blank + multi + single_comments
    return Module(loc, lloc, sloc, comments, multi, blank, single_comments)


def _logical(tokens: list[Any]) -> int:
    """Logical lines in one chunk, by radon's rule: each ``;``-separated part counts 1, or 2
    when a ``:`` inside it is not its last token (``if x: return 1``); comments count 0."""
    count, part = 0, []
    for token in [*tokens, None]:
        if token is not None and not (token[0] == tokenize.OP and token[1] == ";"):
            if token[0] not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                part.append(token)
            continue
        colons = [i for i, t in enumerate(part) if t[0] == tokenize.OP and t[1] == ":"]
        if colons:
            count += 1 if colons[-1] == len(part) - 2 else 2
        elif any(t[0] != tokenize.ENDMARKER for t in part):
            count += 1
        part = []
    return count


def _endmarker(row: int) -> tokenize.TokenInfo:
    return tokenize.TokenInfo(tokenize.ENDMARKER, "", (row + 1, 0), (row + 1, 0), "")
