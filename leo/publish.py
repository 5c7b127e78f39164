"""Where a verdict goes besides the report: metrics, a Pushgateway and a signed attestation.

Shared by ``leo verify`` and ``leo aggregate`` (their options are
``leo.cli._options.publish_options``). Metrics are recorded by a plugin on the observer hooks;
their delivery failing is a warning. An attestation that cannot be written or signed is
an error: the caller asked for evidence and must not get silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leo.models import Report
    from leo.plugins import Plugins


@dataclass
class Publisher:
    """What a command asked for; ``observe`` before the run, ``publish`` after it."""

    metrics_file: Path | None = None
    pushgateway: str | None = None
    attest: Path | None = None
    sign_spec: str | None = None

    def observe(self, plugins: Plugins) -> None:
        """Register the metrics recorder when metrics were asked for."""
        if self.metrics_file or self.pushgateway:
            from leo.metrics.plugin import PLUGIN_NAME, MetricsRecorder

            if not plugins.pm.has_plugin(PLUGIN_NAME):
                plugins.pm.register(MetricsRecorder(), name=PLUGIN_NAME)
        if self.sign_spec and not self.attest:
            from leo.errors import LeoError

            raise LeoError("--sign signs the attestation; pass --attest FILE with it")

    def publish(self, report: Report) -> list[str]:
        """Deliver metrics and the attestation; return warnings."""
        warnings: list[str] = []
        if self.metrics_file or self.pushgateway:
            from leo.metrics import metrics
            from leo.metrics.export import push, write_metrics_file

            registry = metrics().registry
            if self.metrics_file:
                warnings += write_metrics_file(registry, self.metrics_file)
            if self.pushgateway:
                warnings += push(registry, self.pushgateway)
        if self.attest:
            from leo.bundle.vsa import write_attestation

            warnings += write_attestation(report, self.attest, self.sign_spec)
        return warnings
