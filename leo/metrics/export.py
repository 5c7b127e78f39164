"""Where metrics go: a textfile-collector file, a Pushgateway, or a scrape endpoint.

A metrics file accumulates: each run adds its counts to the file's (under a lock, written
through a rename), so node_exporter's textfile collector sees counters that only go up, as
Prometheus expects, across the many short ``leo`` processes of a CI runner. Publishing never
changes a verdict: every failure here is a warning.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

#: Seconds a push may take; a Pushgateway that hangs must not hold up the gate.
PUSH_TIMEOUT_S = 3.0
_Key = tuple[str, tuple[tuple[str, str], ...]]


def merge(new: Iterable[Metric], old: Iterable[Metric]) -> list[Metric]:
    """``new`` plus ``old``: counters and histograms add up, gauges take the newer value."""
    previous = {m.name: m for m in old}
    merged = []
    for metric in new:
        before = previous.pop(metric.name, None)
        values: dict[_Key, float] = {}
        for s in before.samples if before is not None and before.type == metric.type else ():
            if not s.name.endswith("_created"):
                values[(s.name, tuple(sorted(s.labels.items())))] = s.value
        for s in metric.samples:
            if s.name.endswith("_created"):
                continue
            key = (s.name, tuple(sorted(s.labels.items())))
            add = metric.type in ("counter", "histogram", "summary")
            values[key] = s.value + (values.get(key, 0.0) if add else 0.0)
        out = Metric(metric.name, metric.documentation, metric.type)
        for (name, labels), value in values.items():
            out.add_sample(name, dict(labels), value)
        merged.append(out)
    return merged


class _Fixed(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def render(metrics: Sequence[Metric]) -> bytes:
    """The Prometheus text exposition of ``metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(metrics))
    return generate_latest(registry)


def parse(text: str) -> list[Metric]:
    return list(text_string_to_metric_families(text))


def write_metrics_file(registry: CollectorRegistry, path: Path) -> list[str]:
    """Add this process's metrics to the file at ``path``; return warnings."""
    warnings: list[str] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            old: list[Metric] = []
            if path.exists():
                try:
                    old = parse(path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    warnings.append(f"{path} held no Prometheus metrics ({exc}); it was replaced")
            data = render(merge(registry.collect(), old))
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o644)  # node_exporter usually runs as another user
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
    except OSError as exc:
        warnings.append(f"cannot write --metrics-file {path}: {exc.strerror}; the verdict stands")
    return warnings


def push(registry: CollectorRegistry, url: str, job: str = "leo") -> list[str]:
    """Push the metrics to the Pushgateway at ``url``; return warnings, never raise."""
    from prometheus_client import push_to_gateway

    if not url.startswith(("http://", "https://")):
        return [f"--pushgateway {url!r} is not an http(s) URL; metrics were not pushed"]
    try:
        push_to_gateway(url, job=job, registry=registry, timeout=PUSH_TIMEOUT_S)
    except Exception as exc:  # a monitoring outage is a warning, never a changed verdict
        return [f"could not push metrics to {url}: {type(exc).__name__}: {exc}; the verdict stands"]
    return []


class FilesCollector(Collector):
    """The metrics of textfile-collector files, read afresh at every scrape."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = paths

    def collect(self) -> Iterator[Metric]:
        merged: list[Metric] = []
        for path in self.paths:
            try:
                found = parse(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                continue  # a missing or half-written file is skipped, the scrape still works
            merged = merge(found, merged) + [
                m for m in merged if m.name not in {f.name for f in found}
            ]
        yield from merged
