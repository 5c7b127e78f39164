"""The functions of one file with their span and cyclomatic complexity: radon for Python, lizard else.

Both sides of the change go through the same extraction, so base and head can be compared per
function. Everything works on the file's text in memory: nothing is checked out or executed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from leo import parse_python, syntax_lock

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Function:
    """One function or method of a file."""

    key: str
    """Qualified name, plus ``#n`` for the n-th redefinition, stable between base and head."""
    name: str
    """Qualified name as shown to people, e.g. ``Parser.parse``."""
    line: int
    """First line (the ``def``)."""
    end_line: int
    """Last line."""
    complexity: int
    """Cyclomatic complexity (McCabe) of the function's own body."""

    @property
    def lines(self) -> int:
        return self.end_line - self.line + 1


class ParseError(Exception):
    """The file's text is not valid for its language."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def supports(path: str) -> bool:
    """True when a complexity of ``path`` can be measured (Python, or a language lizard reads)."""
    if is_python(path):
        return True
    from lizard_languages import get_reader_for

    return get_reader_for(path) is not None


def functions(path: str, text: str) -> list[Function]:
    """The functions in ``text`` (the content of ``path``); raise ``ParseError`` if it cannot."""
    if is_python(path):
        return _keyed(_python_functions(text))
    return _keyed(_lizard_functions(path, text))


def maintainability(text: str) -> float | None:
    """radon's maintainability index (0-100) of a Python module, None when it cannot be computed.

    ``radon.metrics.mi_visit`` with the raw counts from ``leo_design.raw``: radon's own are
    quadratic in a statement's length (issue 18: idna 3.7's generated tables took minutes).
    """
    import tokenize

    from radon.metrics import h_visit_ast, mi_compute
    from radon.visitors import ComplexityVisitor

    from leo_design.raw import analyze

    try:
        node = parse_python(text)
        raw = analyze(text)
        comments = (raw.comments + raw.multi) / raw.sloc * 100 if raw.sloc else 0
        volume = h_visit_ast(node).total.volume
        complexity = ComplexityVisitor.from_ast(node).total_complexity
        return float(mi_compute(volume, complexity, raw.lloc, comments))
    except (SyntaxError, ValueError, RecursionError, ZeroDivisionError, tokenize.TokenError):
        return None


def _keyed(found: Iterable[tuple[str, int, int, int]]) -> list[Function]:
    seen: Counter[str] = Counter()
    out = []
    for name, line, end, complexity in sorted(found, key=lambda f: f[1]):
        seen[name] += 1
        key = name if seen[name] == 1 else f"{name}#{seen[name]}"
        out.append(Function(key, name, line, max(end, line), complexity))
    return out


def _python_functions(text: str) -> Iterator[tuple[str, int, int, int]]:
    from radon.visitors import ComplexityVisitor

    try:
        with syntax_lock:  # radon parses with ast.parse
            visitor = ComplexityVisitor.from_code(text)
    except SyntaxError as exc:
        raise ParseError(f"not valid Python: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # NUL bytes; absurd nesting
        raise ParseError(f"cannot be parsed: {exc}") from None
    for function in visitor.functions:
        yield from _walk_function(function, "")
    for cls in visitor.classes:
        yield from _walk_class(cls, "")


def _walk_function(block: Any, prefix: str) -> Iterator[tuple[str, int, int, int]]:
    # radon names methods "Class.method"; closures and nested classes are only reachable from
    # their parent, and their complexity is not part of the parent's, so walk them too.
    name = f"{prefix}{block.name}"
    yield name, block.lineno, block.endline, block.complexity
    for closure in block.closures:
        yield from _walk_function(closure, f"{name}.")


def _walk_class(block: Any, prefix: str) -> Iterator[tuple[str, int, int, int]]:
    name = f"{prefix}{block.name}"
    for method in block.methods:
        yield from _walk_function(method, f"{name}.")
    for inner in block.inner_classes:
        yield from _walk_class(inner, f"{name}.")


def _lizard_functions(path: str, text: str) -> Iterator[tuple[str, int, int, int]]:
    from lizard import analyze_file

    try:
        info = analyze_file.analyze_source_code(path, text)
    except RecursionError as exc:
        raise ParseError(f"cannot be parsed: {exc}") from None
    for f in info.function_list:
        yield f.name, f.start_line, f.end_line, f.cyclomatic_complexity
