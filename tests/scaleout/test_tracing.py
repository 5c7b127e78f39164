"""OpenTelemetry: one span per verification, per sub-agent and per tool, nested."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from leo import SubAgent, run_tool, tracing

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans():
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    tracing.reset()
    _EXPORTER.clear()
    yield _EXPORTER
    tracing.reset()


class RunsTool(SubAgent):
    name = "runstool"

    async def check(self, change):
        await run_tool(["git", "--version"])
        return []


def test_verification_subagent_and_tool_spans_nest(spans, small_repo, leo_run):
    leo_run(small_repo.change(), [RunsTool]).assert_verdict("PASS")
    by_name = {s.name: s for s in spans.get_finished_spans()}
    verify, agent, tool = (
        by_name["leo.verify"],
        by_name["leo.subagent runstool"],
        by_name["leo.tool git"],
    )
    assert agent.parent.span_id == verify.context.span_id
    assert tool.parent.span_id == agent.context.span_id
    assert tool.attributes["leo.tool.returncode"] == 0
    assert verify.context.trace_id == tool.context.trace_id


def test_tracing_is_off_when_the_sdk_is_disabled(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracing.reset()
    with tracing.span("x") as span:
        assert span is None
    tracing.reset()


def test_tracing_imports_nothing_when_nothing_set_it_up():
    """No provider installed and no OTEL_* variable: ``span()`` leaves opentelemetry unimported."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = (
        "import sys; from leo import tracing\n"
        "with tracing.span('x') as s: assert s is None\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    env["OTEL_TRACES_EXPORTER"] = "none"
    code = "import sys; from leo import tracing; tracing.tracer(); assert 'opentelemetry.trace' in sys.modules"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
