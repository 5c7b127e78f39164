"""Records the verification metrics through LEO's observer hooks, like any plugin would."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo.hookspecs import hookimpl
from leo.metrics import LeoMetrics, metrics

if TYPE_CHECKING:
    from leo.change import Change
    from leo.models import Report, SubAgentResult

PLUGIN_NAME = "leo-metrics"


class MetricsRecorder:
    """Registered as a plugin by ``--metrics-file`` and ``--pushgateway``."""

    def __init__(self, into: LeoMetrics | None = None) -> None:
        self.metrics = into or metrics()

    @hookimpl
    def leo_subagent_finished(self, change: Change, result: SubAgentResult) -> None:
        self.metrics.observe_subagent(result)

    @hookimpl
    def leo_verification_finished(self, report: Report) -> None:
        self.metrics.observe_report(report)
