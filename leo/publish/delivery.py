"""Delivering a verdict besides the report: metrics to a file or a Pushgateway, an attestation.

Metrics are recorded by a plugin on the observer hooks (``observe`` before the run); their
delivery failing is a warning. An attestation that cannot be written or signed is an error: the
caller asked for evidence and must not get silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leo.models import Report
    from leo.plugins import Plugins
    from leo.publish.options import PublishOptions


def observe(options: PublishOptions, plugins: Plugins) -> None:
    """Register the metrics recorder on ``plugins`` when metrics were asked for."""
    if options.metrics:
        from leo.metrics.plugin import PLUGIN_NAME, MetricsRecorder

        if not plugins.pm.has_plugin(PLUGIN_NAME):
            plugins.pm.register(MetricsRecorder(), name=PLUGIN_NAME)


def deliver(options: PublishOptions, report: Report) -> list[str]:
    """Send the metrics and write the attestation of ``report``; return warnings."""
    warnings: list[str] = []
    if options.metrics:
        from leo.metrics import metrics
        from leo.metrics.export import push, write_metrics_file

        registry = metrics().registry
        if options.metrics_file:
            warnings += write_metrics_file(registry, options.metrics_file)
        if options.pushgateway:
            warnings += push(registry, options.pushgateway)
    if options.attest:
        from leo.bundle.vsa import write_attestation

        warnings += write_attestation(report, options.attest, options.sign_spec)
    return warnings
