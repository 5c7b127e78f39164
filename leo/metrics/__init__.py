"""LEO's Prometheus metrics, and the small API other modules call to record theirs.

Every metric lives in one ``CollectorRegistry`` of LEO's own (never prometheus-client's global
one), so a metrics file or a scrape holds LEO's metrics and nothing else. The verification
metrics are recorded by ``leo.metrics.plugin`` through the observer hooks; the GitHub mode and
the store call the ``observe_*`` functions below (documented in ``docs/ci.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from leo.models import Report, SubAgentResult

#: Seconds: a sub-agent runs for a second up to its default timeout of ten minutes, and more.
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
CONFIDENCE_BUCKETS = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95, 100)
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class LeoMetrics:
    """The metrics LEO exports, on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.verification_duration = Histogram(
            "leo_verification_duration_seconds",
            "Wall time of one verification, by verdict.",
            ["verdict"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.subagent_duration = Histogram(
            "leo_subagent_duration_seconds",
            "Wall time of one sub-agent's check, by sub-agent and status.",
            ["agent", "status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.verdicts = Counter(
            "leo_verdicts", "Verifications by verdict.", ["verdict"], registry=r
        )
        self.confidence = Histogram(
            "leo_confidence",
            "Weighted confidence (0-100) of each verification.",
            buckets=CONFIDENCE_BUCKETS,
            registry=r,
        )
        self.subagent_results = Counter(
            "leo_subagent_results",
            "Sub-agent results by sub-agent and status.",
            ["agent", "status"],
            registry=r,
        )
        self.subagent_errors = Counter(
            "leo_subagent_errors",
            "Sub-agents that produced no evidence, by sub-agent and kind (error or timeout).",
            ["agent", "kind"],
            registry=r,
        )
        self.findings = Counter(
            "leo_findings",
            "Findings by sub-agent and severity; blocking=false is context on untouched lines.",
            ["agent", "severity", "blocking"],
            registry=r,
        )
        self.resolution_rounds = Counter(
            "leo_resolution_rounds", "Conflict-resolution rounds run.", registry=r
        )
        self.last_verification = Gauge(
            "leo_last_verification_timestamp_seconds",
            "Unix time of the last verification that finished.",
            registry=r,
        )
        self.gate_pending = Histogram(
            "leo_gate_pending_seconds",
            "Time a gate waited for its verdict, from the first sub-agent job (or the GitHub "
            "check run) starting to the verdict.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.github_calls = Counter(
            "leo_github_api_calls",
            "GitHub API calls by method, route template and HTTP status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.github_retries = Counter(
            "leo_github_api_retries",
            "GitHub API calls retried, by reason (rate_limit, secondary_rate_limit, server_error, network).",
            ["reason"],
            registry=r,
        )
        self.store_write = Histogram(
            "leo_store_write_seconds",
            "Latency of one write to the result store, by backend.",
            ["backend"],
            buckets=STORE_BUCKETS,
            registry=r,
        )

    def observe_subagent(self, result: SubAgentResult) -> None:
        """Record one sub-agent's final result."""
        name = result.name or "unknown"
        self.subagent_duration.labels(name, result.status).observe(result.duration_s)
        self.subagent_results.labels(name, result.status).inc()
        if result.status in ("error", "timeout"):
            self.subagent_errors.labels(name, result.status).inc()
        for finding in result.findings:
            blocking = "true" if finding.on_changed_line else "false"
            self.findings.labels(name, finding.severity, blocking).inc()

    def observe_report(self, report: Report) -> None:
        """Record one finished verification."""
        import time

        self.verification_duration.labels(report.verdict).observe(report.duration_s)
        self.verdicts.labels(report.verdict).inc()
        self.confidence.observe(report.confidence)
        self.resolution_rounds.inc(report.resolution_rounds)
        self.last_verification.set(time.time())


_default: LeoMetrics | None = None


def metrics() -> LeoMetrics:
    """The process's metrics (created on first use)."""
    global _default
    if _default is None:
        _default = LeoMetrics()
    return _default


def observe_github_call(method: str, route: str, status: int | str) -> None:
    """Record one GitHub API call (issue 8). ``route`` is the template, e.g.
    ``/repos/{owner}/{repo}/check-runs``, never the URL (label values must stay few);
    ``status`` is the HTTP status, or ``"network"`` when no response came."""
    metrics().github_calls.labels(method.upper(), route, str(status)).inc()


def observe_github_retry(reason: str) -> None:
    """Record one retried GitHub API call (issue 8): ``rate_limit``, ``secondary_rate_limit``,
    ``server_error`` or ``network``."""
    metrics().github_retries.labels(reason).inc()


def observe_store_write(seconds: float, backend: str = "sqlite") -> None:
    """Record the latency of one write to the result store (issue 9), e.g. ``postgres``."""
    metrics().store_write.labels(backend).observe(seconds)


def observe_gate_pending(seconds: float) -> None:
    """Record how long a gate waited for its verdict (``leo aggregate``, the GitHub mode)."""
    metrics().gate_pending.observe(max(seconds, 0.0))
