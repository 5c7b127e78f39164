"""Optional OpenTelemetry tracing: real spans when opentelemetry is installed, nothing otherwise.

``pip install 'leo-gate[otel]'`` makes it available. Without opentelemetry, or when nothing
set tracing up (no provider installed before LEO's first span, no ``OTEL_*`` variable),
``span()`` is a ``nullcontext`` and nothing is imported. Otherwise LEO uses the tracer provider
already set (by ``opentelemetry-instrument`` or an embedding application); else, when
``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``) or an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set,
LEO configures the SDK from those standard variables. ``OTEL_SDK_DISABLED=true`` turns it off. This module imports
nothing of LEO's, so every floor may use it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

_UNSET = object()
_tracer: Any = _UNSET
Attribute = str | bool | int | float | Sequence[str]


def tracer() -> Any | None:
    """LEO's tracer, or None when tracing is off (decided once per process)."""
    global _tracer
    if _tracer is _UNSET:
        _tracer = _make_tracer(os.environ)
    return _tracer


def reset() -> None:
    """Forget the tracer so the next span decides again (tests, embedding applications)."""
    global _tracer
    _tracer = _UNSET


@contextmanager
def span(name: str, attributes: Mapping[str, Attribute] | None = None) -> Iterator[Any | None]:
    """A span around the block, current for the tasks and threads it starts; yields the span
    (``set_attribute`` on it) or None when tracing is off."""
    t = tracer()
    if t is None:
        yield None
        return
    with t.start_as_current_span(name, attributes=dict(attributes or {})) as current:
        yield current


def _make_tracer(env: Mapping[str, str]) -> Any | None:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if "opentelemetry.trace" not in sys.modules and not any(k.startswith("OTEL_") for k in env):
        # Nothing set tracing up: no provider was installed (that imports opentelemetry) and
        # no OTEL_* variable asks for one. Importing the API anyway cost 0.24 s of CPU in
        # every command (benchmarks/RESULTS.md (6)).
        return None
    if importlib.util.find_spec("opentelemetry") is None:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    from leo.__about__ import __version__

    _configure_sdk(trace, env)
    return trace.get_tracer("leo", __version__)


def _configure_sdk(trace: Any, env: Mapping[str, str]) -> None:
    """Install an SDK tracer provider from the ``OTEL_*`` variables, unless one is set."""
    if type(trace.get_tracer_provider()).__name__ not in (
        "ProxyTracerProvider",
        "NoOpTracerProvider",
    ):
        return  # someone (opentelemetry-instrument, a test, an application) configured tracing
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    names = env.get("OTEL_TRACES_EXPORTER", "otlp" if endpoint else "")
    exporters = [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]
    if not exporters:
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError:
        print(
            "leo: warning: OTEL_* is set but opentelemetry-sdk is missing; install leo-gate[otel]",
            file=sys.stderr,
        )
        return
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "leo"}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in exporters:
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        elif name == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                    OTLPSpanExporter,
                )
            except ImportError:
                print(
                    "leo: warning: OTEL_TRACES_EXPORTER=otlp needs "
                    "opentelemetry-exporter-otlp-proto-http; install leo-gate[otel]",
                    file=sys.stderr,
                )
                continue
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            print(
                f"leo: warning: OTEL_TRACES_EXPORTER {name!r} is not supported by LEO "
                "(use otlp, console or none)",
                file=sys.stderr,
            )
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # flush batched spans before the process exits
