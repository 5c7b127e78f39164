"""Runs sub-agents concurrently, each under a timeout, so that one never takes down the others.

Every sub-agent's ``check`` runs in its own event loop on its own daemon thread: a plugin that
blocks (``time.sleep``, a synchronous HTTP call, a CPU-bound library) holds only its own thread,
is cancelled at its timeout, and is abandoned a few seconds later if it ignores cancellation.
This module is the one place that catches broad exceptions from plugins and turns them, and
invalid return values, into that sub-agent's ``error`` result.
"""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
from pydantic import ValidationError

from leo import tracing
from leo.aggregate import confidence_of, status_of
from leo.models import Finding, SubAgentResult
from leo.process import kill_tools_of
from leo.subagent import Job, summarise

if TYPE_CHECKING:
    from leo.cache import ResultCache
    from leo.change import Change

T = TypeVar("T")
#: Seconds a sub-agent gets after its timeout to honour cancellation before it is abandoned.
ABANDON_GRACE_S = 3.0
Event = Literal["started", "finished"]
Progress = Callable[[Event, str, SubAgentResult | None], None]


def _failure(
    job: Job, status: Literal["error", "timeout"], summary: str, error: str
) -> SubAgentResult:
    return SubAgentResult(status=status, confidence=0, summary=summary, error=error)


def normalise(job: Job, outcome: object) -> SubAgentResult:
    """Validate what a sub-agent returned; anything but findings or a result is an error."""
    name = job.spec.name
    try:
        if isinstance(outcome, SubAgentResult):
            result = SubAgentResult.model_validate(outcome.model_dump())
        elif isinstance(outcome, dict):
            result = SubAgentResult.model_validate(outcome)
        elif isinstance(outcome, list | tuple):
            findings = tuple(Finding.model_validate(f) for f in outcome)
            result = SubAgentResult(
                status=status_of(findings),
                confidence=confidence_of(findings),
                summary=summarise(findings),
                findings=findings,
            )
        else:
            kind = type(outcome).__name__
            msg = f"sub-agent {name!r} returned {kind}; expected a list of Finding or a SubAgentResult"
            return _failure(job, "error", msg, msg)
    except ValidationError as exc:
        msg = f"sub-agent {name!r} returned an invalid result"
        return _failure(job, "error", msg, f"{msg}:\n{exc}")
    return result


def _stamp(job: Job, result: SubAgentResult, duration: float) -> SubAgentResult:
    return result.model_copy(
        update={
            "name": job.spec.name,
            "plugin": job.spec.plugin,
            "plugin_version": job.spec.version,
            "duration_s": round(duration, 3),
        }
    )


async def _in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a daemon thread; if the wait is cancelled the thread is abandoned."""
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # carried back to the caller below, not swallowed
            box["error"] = exc
        try:
            anyio.from_thread.run_sync(done.set, token=token)
        except RuntimeError:
            pass  # the caller's loop is gone: this thread was abandoned

    # The caller's context (its trace span among others) follows the sub-agent into its thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), daemon=True, name="leo-subagent")
    thread.start()
    try:
        await done.wait()
    finally:
        if not done.is_set():
            kill_tools_of(thread.ident)  # abandoned: stop the tools it started
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def crash_summary(exc: BaseException) -> str:
    """``Type: message`` of the first real exception, unwrapping (nested) exception groups: the
    last line of a group's traceback is a ``+----`` rule, not the cause (issue 18)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())[:500]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_guarded(job: Job, call: Callable[[], Awaitable[object]]) -> SubAgentResult:
    """Run one sub-agent coroutine in its own thread and loop, under the job's timeout."""
    name = job.spec.name

    async def inner() -> tuple[str, object]:
        with anyio.move_on_after(job.timeout):
            try:
                return "ok", await call()
            except Exception as exc:  # the one broad catch: a plugin crash becomes its error result
                return "error", (crash_summary(exc), traceback.format_exc())
        return "timeout", None

    def in_thread() -> tuple[str, object]:
        try:
            return anyio.run(inner)
        except SystemExit as exc:
            msg = f"sub-agent called sys.exit({exc.code!r})"
            return "error", (msg, msg)

    start = time.monotonic()
    outcome: tuple[str, object] | None = None
    with tracing.span(f"leo.subagent {name}", {"leo.agent": name}) as span:
        with anyio.move_on_after(job.timeout + ABANDON_GRACE_S):
            outcome = await _in_daemon_thread(in_thread)
        if span is not None:
            span.set_attribute("leo.outcome", "abandoned" if outcome is None else outcome[0])
    duration = time.monotonic() - start
    if outcome is None:
        msg = f"sub-agent {name!r} did not stop at its {job.timeout:g}s timeout and was abandoned"
        result = _failure(job, "timeout", msg, msg)
    elif outcome[0] == "timeout":
        msg = f"sub-agent {name!r} timed out after {job.timeout:g}s"
        result = _failure(job, "timeout", msg, msg)
    elif outcome[0] == "error":
        detail = outcome[1]
        summary, trace = detail if isinstance(detail, tuple) else (str(detail), str(detail))
        msg = f"sub-agent {name!r} crashed: {summary}"
        result = _failure(job, "error", msg, trace)
    else:
        result = normalise(job, outcome[1])
    return _stamp(job, result, duration)


async def run_checks(
    jobs: Sequence[Job],
    change: Change,
    *,
    limit: int = 0,
    progress: Progress | None = None,
    cache: ResultCache | None = None,
) -> list[SubAgentResult]:
    """Run every job's ``check`` at once (at most ``limit`` together when > 0), in input order.

    With a ``cache``, a job whose inputs are unchanged since a cached run reuses that result.
    """
    results: list[SubAgentResult | None] = [None] * len(jobs)
    limiter = anyio.CapacityLimiter(limit or max(len(jobs), 1))

    async def one(i: int, job: Job) -> None:
        async with limiter:
            if progress:
                progress("started", job.spec.name, None)
            key = await cache.key(job, change) if cache else None
            hit = cache.get(key) if cache and key else None
            result = hit or await run_guarded(job, lambda: _check(job, change))
            if cache and key and not hit:
                cache.put(key, result)
            results[i] = result
            if progress:
                progress("finished", job.spec.name, result)

    async with anyio.create_task_group() as tg:
        for i, job in enumerate(jobs):
            tg.start_soon(one, i, job)
    return [r for r in results if r is not None]


async def _check(job: Job, change: Change) -> object:
    agent = job.spec.cls(job.settings)
    return await agent.check(change)
