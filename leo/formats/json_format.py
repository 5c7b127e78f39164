"""The report as JSON: LEO's stable contract (``docs/report-schema.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leo.models import Report


def render(report: Report, *, color: bool = False) -> str:
    return report.model_dump_json(indent=2) + "\n"
