"""Measures the Performance sub-agent's false-positive rate (and its power) on throw-away repos.

A cosmetic change (a reworded docstring) must never be a regression; a 2x slower function
always must. Each trial is one full ``leo verify``-style run through LEO's runner and
aggregator, with a second sub-agent that always passes so that the conflict-resolution round
(which re-measures borderline regressions) runs exactly as it does with the five built-ins.

    .venv/bin/python benchmarks/performance_false_positives.py --runs 20 --power-runs 5

Writes the table to stdout; paste it into benchmarks/results/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from leo_performance import PerformanceAgent

from leo import SubAgent
from leo.testing import make_repo, run_agents

CORE = '''\
"""Code under benchmark."""


def loop(n=3000):
    total = 0
    for i in range(n):
        total += i * i
    return total


def sort(n=2000):
    return sorted((i * 7919) % 1000 for i in range(n))


def text(n=500):
    return ",".join(str(i) for i in range(n))
'''
BENCH = """\
from app.core import loop, sort, text


def test_loop(benchmark):
    benchmark(loop)


def test_sort(benchmark):
    benchmark(sort)


def test_text(benchmark):
    benchmark(text)
"""
BASE = {"app/__init__.py": "", "app/core.py": CORE, "tests/test_bench.py": BENCH}
COSMETIC = {"app/core.py": CORE.replace("Code under benchmark.", "The code we benchmark.")}
SLOWER = {"app/core.py": CORE.replace("for i in range(n):", "for i in range(2 * n):")}
#: About 1.2x slower: near the 10 % threshold, where borderline verdicts and re-measurement live.
NEAR = {"app/core.py": CORE.replace("for i in range(n):", "for i in range(n + n // 5):")}


class Passes(SubAgent):
    name = "passes"

    async def check(self, change: object) -> list[object]:
        return []


def trial(repo_dir: Path, head: dict[str, str], settings: dict[str, object]) -> dict[str, object]:
    repo = make_repo(repo_dir, BASE, head)
    started = time.monotonic()
    run = run_agents(
        repo.change(), [PerformanceAgent, Passes], config={"agents": {"performance": settings}}
    )
    result = run.agent("performance")
    return {
        "seconds": time.monotonic() - started,
        "status": result.status,
        "regressions": [
            f.message for f in result.findings if f.rule_id == "performance.regression"
        ],
        "rounds": run.report.resolution_rounds,
        "remeasured": result.details.get("remeasured", {}),
        "verdicts": [b["verdict"] for b in result.details.get("benchmarks", [])],
        "ratios": [round(b["ratio"], 3) for b in result.details.get("benchmarks", [])],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cosmetic-change trials")
    parser.add_argument("--power-runs", type=int, default=5, help="2x-slower trials")
    parser.add_argument("--near-runs", type=int, default=0, help="about-1.2x-slower trials")
    parser.add_argument("--max-time", type=float, help="max_time setting (default: the default)")
    parser.add_argument("--pairs", type=int, help="pairs setting (default: the default)")
    args = parser.parse_args()
    settings: dict[str, object] = {}  # the defaults users get, unless overridden
    if args.max_time is not None:
        settings["max_time"] = args.max_time
    if args.pairs is not None:
        settings["pairs"] = args.pairs
    fp_runs = fp_benches = borderline = held = 0
    ratios: list[float] = []
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            r = trial(Path(tmp) / f"cosmetic{i}", COSMETIC, settings)
            fp_runs += bool(r["regressions"])
            fp_benches += len(r["regressions"])
            borderline += r["verdicts"].count("borderline")
            held += sum(1 for v in r["remeasured"].values() if v.startswith("held"))
            ratios += r["ratios"]
            seconds.append(r["seconds"])
            print(
                f"cosmetic {i + 1}: {r['status']} ratios={r['ratios']} "
                f"verdicts={r['verdicts']} remeasured={r['remeasured']} "
                f"{r['seconds']:.1f}s",
                flush=True,
            )
        detected = 0
        power_seconds: list[float] = []
        for i in range(args.power_runs):
            r = trial(Path(tmp) / f"slower{i}", SLOWER, settings)
            detected += any("test_loop" in m for m in r["regressions"])
            power_seconds.append(r["seconds"])
            print(
                f"2x slower {i + 1}: {r['status']} ratios={r['ratios']} "
                f"verdicts={r['verdicts']} {r['seconds']:.1f}s",
                flush=True,
            )
        near_flagged = near_borderline = 0
        near_ratios: list[float] = []
        for i in range(args.near_runs):
            r = trial(Path(tmp) / f"near{i}", NEAR, settings)
            near_flagged += any("test_loop" in m for m in r["regressions"])
            near_borderline += r["verdicts"][0] == "borderline"
            near_ratios.append(r["ratios"][0])
            print(
                f"1.2x slower {i + 1}: {r['status']} ratios={r['ratios']} "
                f"verdicts={r['verdicts']} remeasured={r['remeasured']} {r['seconds']:.1f}s",
                flush=True,
            )
    comparisons = 3 * args.runs
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"settings: {settings or 'defaults'}")
    print("| measure | value |")
    print("|---|---|")
    print(
        f"| cosmetic-change runs with a regression finding (false positives) | {fp_runs} of {args.runs} ({fp_runs / args.runs:.0%}) |"
    )
    print(f"| benchmark comparisons with a regression finding | {fp_benches} of {comparisons} |")
    print(f"| comparisons borderline before the conflict round | {borderline} of {comparisons} |")
    print(f"| borderline comparisons that held when re-measured | {held} of {borderline} |")
    print(
        f"| head/base median ratio on the cosmetic change: min / max | {min(ratios):.3f} / {max(ratios):.3f} |"
    )
    print(
        f"| 2x-slower runs where test_loop was a regression finding | {detected} of {args.power_runs} |"
    )
    print(f"| wall time per run, cosmetic: median | {sorted(seconds)[len(seconds) // 2]:.1f} s |")
    if args.near_runs:
        print(
            f"| ~1.2x-slower runs where test_loop was a regression finding | {near_flagged} of {args.near_runs} (borderline first: {near_borderline}; measured ratios {min(near_ratios):.3f}-{max(near_ratios):.3f}) |"
        )
    if power_seconds:
        print(
            f"| wall time per run, 2x slower: median | {sorted(power_seconds)[len(power_seconds) // 2]:.1f} s |"
        )


if __name__ == "__main__":
    main()
