"""Decides, per benchmark, whether head is slower or faster than base: and how sure that is.

Two tests must agree before a difference counts, and it must be large enough to matter:

* a one-sided **Mann-Whitney U** test on all the rounds (p below ``alpha``): the head's rounds
  are stochastically larger (slower) than the base's;
* a **confidence interval of the ratio of medians** (head / base) that lies above 1. It is the
  union of two intervals: a two-stage **bootstrap** that resamples whole pytest runs first and
  rounds within them second, and a **paired t-interval** on the log-ratios of the per-pair
  medians (each interleaved pair ran back to back, so slow drift cancels within a pair). Rounds
  of one process are not independent, so the U test alone is overconfident; and a bootstrap of
  three runs underestimates the run-to-run spread of a shared machine, which the t-interval,
  with its few degrees of freedom, does not.
* the **effect size**: the ratio of the pooled medians is at least ``1 + min_effect``.

A slowdown above the threshold with a significant U test is a **regression** when the whole
interval lies above the threshold, and **borderline** when the interval reaches below it (near
the threshold, or noisy). A borderline regression is re-measured before it may become a
finding, and it **holds** only when the fresh runs alone show a slowdown above the threshold
with a significant U test *and* an interval wholly above 1 (``Comparison.holds``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Verdict = Literal["regression", "borderline", "improvement", "unchanged"]
#: Elements of one bootstrap chunk (bounds memory whatever the number of rounds).
_CHUNK_ELEMENTS = 2_000_000
#: Rounds drawn from each resampled run: at most this many (fewer rounds, a wider interval).
_MAX_DRAWS = 1_000
_TINY = 1e-12


@dataclass(frozen=True)
class Comparison:
    """One benchmark measured at base and head."""

    nodeid: str
    base_median: float
    """Median time of a round at base, seconds (all runs pooled)."""
    head_median: float
    """Median time of a round at head, seconds."""
    ratio: float
    """``head_median / base_median``: above 1 is slower."""
    ci_low: float
    """Lower bound of the bootstrap confidence interval of the ratio."""
    ci_high: float
    """Upper bound of that interval."""
    p_slower: float
    """One-sided Mann-Whitney U p-value that head is slower."""
    p_faster: float
    """One-sided Mann-Whitney U p-value that head is faster."""
    base_rounds: int
    head_rounds: int
    runs: int
    """pytest runs per side that measured it."""
    verdict: Verdict

    @property
    def holds(self) -> bool:
        """A re-measured slowdown that still stands: above the threshold and significant."""
        return self.verdict in ("regression", "borderline") and self.ci_low > 1

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 12) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def compare(
    nodeid: str,
    base: Sequence[Sequence[float]],
    head: Sequence[Sequence[float]],
    *,
    min_effect: float,
    alpha: float,
    confidence: float,
    resamples: int,
    seed: int = 0,
) -> Comparison:
    """Compare one benchmark's rounds, grouped by pytest run, at base and at head.

    ``base[i]`` and ``head[i]`` are the runs of interleaved pair ``i`` (the same length).
    """
    if len(base) != len(head):
        msg = f"benchmark {nodeid!r}: {len(base)} base runs but {len(head)} head runs"
        raise ValueError(msg)
    pairs = [(b, h) for b, h in zip(base, head, strict=True) if len(b) and len(h)]
    base_runs = [np.asarray(b, dtype=float) for b, _ in pairs]
    head_runs = [np.asarray(h, dtype=float) for _, h in pairs]
    if not base_runs:
        msg = f"benchmark {nodeid!r} has no rounds on one side"
        raise ValueError(msg)
    pooled_base = np.concatenate(base_runs)
    pooled_head = np.concatenate(head_runs)
    base_median = float(np.median(pooled_base))
    head_median = float(np.median(pooled_head))
    ratio = max(head_median, _TINY) / max(base_median, _TINY)
    p_slower = _mwu(pooled_head, pooled_base, "greater")
    p_faster = _mwu(pooled_head, pooled_base, "less")
    rng = np.random.default_rng(seed)
    boot = _bootstrap_medians(head_runs, resamples, rng) / _bootstrap_medians(
        base_runs, resamples, rng
    )
    tail = (1 - confidence) / 2 * 100
    ci_low, ci_high = (float(x) for x in np.percentile(boot, [tail, 100 - tail]))
    paired = _paired_interval(base_runs, head_runs, confidence)
    if paired is not None:
        ci_low, ci_high = min(ci_low, paired[0]), max(ci_high, paired[1])
    verdict = classify(
        ratio, ci_low, ci_high, p_slower, p_faster, min_effect=min_effect, alpha=alpha
    )
    return Comparison(
        nodeid=nodeid,
        base_median=base_median,
        head_median=head_median,
        ratio=ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        p_slower=p_slower,
        p_faster=p_faster,
        base_rounds=len(pooled_base),
        head_rounds=len(pooled_head),
        runs=min(len(base_runs), len(head_runs)),
        verdict=verdict,
    )


def classify(
    ratio: float,
    ci_low: float,
    ci_high: float,
    p_slower: float,
    p_faster: float,
    *,
    min_effect: float,
    alpha: float,
) -> Verdict:
    """The verdict for one comparison (see the module docstring)."""
    slower = 1 + min_effect
    if ratio >= slower and p_slower < alpha:
        # Near the threshold or noisy (the interval reaches below it, even below 1): borderline.
        return "regression" if ci_low >= slower else "borderline"
    if ratio <= 1 / slower and p_faster < alpha and ci_high < 1:
        return "improvement"
    return "unchanged"


def _paired_interval(
    base_runs: Sequence[np.ndarray], head_runs: Sequence[np.ndarray], confidence: float
) -> tuple[float, float] | None:
    """t-interval of the ratio from the per-pair log-ratios of medians (None below 2 pairs)."""
    k = len(base_runs)
    if k < 2:
        return None
    logs = np.array(
        [
            math.log(max(float(np.median(h)), _TINY) / max(float(np.median(b)), _TINY))
            for b, h in zip(base_runs, head_runs, strict=True)
        ]
    )
    half = (
        float(_scipy_stats().t.ppf(1 - (1 - confidence) / 2, k - 1))
        * float(np.std(logs, ddof=1))
        / math.sqrt(k)
    )
    centre = float(np.mean(logs))
    return math.exp(centre - half), math.exp(centre + half)


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it costs a second, which every `leo` run that merely
    loads this plugin (a cached re-verify, `leo plugins`) would otherwise pay."""
    import scipy.stats

    return scipy.stats


def _mwu(x: np.ndarray, y: np.ndarray, alternative: str) -> float:
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0  # identical constant samples: no evidence either way
    p = float(_scipy_stats().mannwhitneyu(x, y, alternative=alternative).pvalue)
    return 1.0 if math.isnan(p) else p


def _bootstrap_medians(
    runs: Sequence[np.ndarray], resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Medians of ``resamples`` two-stage resamples: runs with replacement, then rounds.

    Every resampled run contributes the same number of rounds (the shortest run's, capped), so a
    run with many fast rounds does not drown the others.
    """
    k = len(runs)
    draws = min(min(len(r) for r in runs), _MAX_DRAWS)
    longest = max(len(r) for r in runs)
    padded = np.zeros((k, longest))
    for i, r in enumerate(runs):
        padded[i, : len(r)] = r
    lengths = np.array([len(r) for r in runs])
    out = np.empty(resamples)
    chunk = max(1, _CHUNK_ELEMENTS // (k * draws))
    for start in range(0, resamples, chunk):
        n = min(chunk, resamples - start)
        chosen = rng.integers(0, k, size=(n, k))
        pos = (rng.random((n, k, draws)) * lengths[chosen][..., None]).astype(np.int64)
        values = padded[chosen[..., None], pos]
        out[start : start + n] = np.median(values.reshape(n, k * draws), axis=1)
    return np.maximum(out, _TINY)
