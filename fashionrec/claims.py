"""Results and claims: the one results table and the one statistical rule of the book.

Every chapter trains each method with several seeds and reports, per metric:

- ``summarize``: mean and standard deviation over seeds (sample sd, ``DDOF = 1``);
- ``results_table``: chance | methods | oracle, with mean ± sd and the *progress ratio*
  (value - chance) / (oracle - chance), the share of the way from chance to the oracle;
- ``claim``: a claim of the paper ("A beats B on metric M") tested with the book's one rule — the
  paired difference A - B over seeds and its 95 % t-interval. The claim **holds** when the interval
  lies above 0, is **reversed** when it lies below 0, and is **not resolved with n seeds** otherwise;
  then ``seeds_to_resolve`` says how many seeds would resolve a difference of the size measured.

Verdicts use exactly these words (``HOLDS``, ``REVERSED``, ``not_resolved(n)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

DDOF = 1  # the ± of every table: the sample standard deviation over seeds
LEVEL = 0.95  # the confidence level of every claim
HOLDS, REVERSED = "holds", "reversed"


def not_resolved(n: int) -> str:
    """The verdict of a claim whose interval straddles 0 with ``n`` seeds."""
    return f"not resolved with {n} seed{'s' if n != 1 else ''}"


def mean_sd(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (``DDOF``); sd is NaN for a single value."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("mean_sd needs at least one value")
    return float(x.mean()), float(x.std(ddof=DDOF)) if x.size > DDOF else math.nan


def fmt_pm(mean: float, sd: float, digits: int = 3) -> str:
    """``0.600 ± 0.009`` (just the mean when sd is NaN: one seed)."""
    return f"{mean:.{digits}f}" if math.isnan(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def progress(value: float, chance: float, oracle: float) -> float:
    """(value - chance) / (oracle - chance): 0 = chance, 1 = the oracle."""
    if oracle == chance:
        raise ValueError(f"oracle and chance are equal ({oracle!r}); the progress ratio is undefined")
    return float((value - chance) / (oracle - chance))


def summarize(results: pd.DataFrame, metrics: Sequence[str], by: str = "method") -> pd.DataFrame:
    """Mean and sd over seeds of each metric, one row per ``by`` value (in order of appearance).

    Columns are a MultiIndex (metric, "mean" | "sd").
    """
    missing = [c for c in (by, *metrics) if c not in results.columns]
    if missing:
        raise KeyError(f"results has no column(s) {missing}; columns: {list(results.columns)}")
    grouped = results.groupby(by, sort=False)
    out = pd.concat({m: grouped[m].agg(mean="mean", sd=lambda s: s.std(ddof=DDOF)) for m in metrics}, axis=1)
    return out


def results_table(results: pd.DataFrame, metric: str, *, chance: float | None = None,
                  oracle: float | None = None, by: str = "method", labels: Mapping[str, str] | None = None,
                  paper: Mapping[str, float | str] | None = None, digits: int = 3) -> pd.DataFrame:
    """The chapter's results table for one metric: chance, each method (mean ± sd over seeds), oracle.

    With both ``chance`` and ``oracle``, a "of the way" column gives each row's progress ratio.
    ``paper`` (method -> the paper's number, with its source in the column name chosen by the
    caller) adds a column beside ours.
    """
    summary = summarize(results, [metric], by=by)[metric]
    seeds = results.groupby(by, sort=False)[metric].size()
    rows = []
    if chance is not None:
        rows.append({"method": "chance", metric: f"{chance:.{digits}f}", "_value": chance, "seeds": ""})
    for name, row in summary.iterrows():
        rows.append({"method": (labels or {}).get(name, name), metric: fmt_pm(row["mean"], row["sd"], digits),
                     "_value": row["mean"], "seeds": int(seeds[name]), "_key": name})
    if oracle is not None:
        rows.append({"method": "oracle", metric: f"{oracle:.{digits}f}", "_value": oracle, "seeds": ""})
    table = pd.DataFrame(rows)
    if chance is not None and oracle is not None:
        table["of the way"] = [f"{progress(v, chance, oracle):.2f}" for v in table["_value"]]
    if paper is not None:
        table["paper"] = [paper.get(k, "") if isinstance(k, str) else "" for k in table.get("_key", [])]
    return table.drop(columns=[c for c in ("_value", "_key") if c in table.columns]).set_index("method")


@dataclass(frozen=True)
class Claim:
    """A tested claim: the paired difference over seeds, its interval and the verdict."""

    text: str
    metric: str
    diffs: tuple[float, ...]  # a - b per seed (sign flipped when lower is better)
    mean: float
    low: float
    high: float
    verdict: str
    seeds_to_resolve: int | None  # seeds that would resolve a difference of this size (None: never / n/a)

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def holds(self) -> bool:
        return self.verdict == HOLDS

    def __str__(self) -> str:
        interval = "" if math.isnan(self.low) else f", {LEVEL:.0%} CI [{self.low:+.3f}, {self.high:+.3f}]"
        more = (f"; about {self.seeds_to_resolve} seeds would resolve a difference this size"
                if self.seeds_to_resolve and self.verdict not in (HOLDS, REVERSED) else "")
        return f"{self.text}: {self.verdict} (difference {self.mean:+.3f}{interval}, {self.n} seeds{more})"


def paired_interval(diffs: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of the paired differences and its two-sided t-interval; NaN bounds for fewer than 2."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        raise ValueError("paired_interval needs at least one difference")
    mean = float(d.mean())
    if d.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return mean, mean - half, mean + half


def seeds_to_resolve(diffs: Sequence[float], level: float = LEVEL, max_seeds: int = 1000) -> int | None:
    """The fewest seeds n whose interval, with the measured mean and sd, would exclude 0."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size < 2 or d.mean() == 0:
        return None
    sd = d.std(ddof=1)
    if sd == 0:
        return 2
    for n in range(2, max_seeds + 1):
        if stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n) < abs(d.mean()):
            return n
    return None


def verdict(low: float, high: float, n: int) -> str:
    """``holds`` when the interval is above 0, ``reversed`` when below, else ``not resolved with n seeds``."""
    if not math.isnan(low) and low > 0:
        return HOLDS
    if not math.isnan(high) and high < 0:
        return REVERSED
    return not_resolved(n)


def claim(results: pd.DataFrame, a: str, b: str, metric: str, *, text: str | None = None, by: str = "method",
          seed: str = "seed", higher_is_better: bool = True, level: float = LEVEL) -> Claim:
    """Test "``a`` beats ``b`` on ``metric``" over the seeds both were trained with (paired by seed)."""
    for column in (by, seed, metric):
        if column not in results.columns:
            raise KeyError(f"results has no column {column!r}; columns: {list(results.columns)}")
    table = results.pivot_table(index=seed, columns=by, values=metric, aggfunc="mean")
    for name in (a, b):
        if name not in table.columns:
            raise KeyError(f"no results for {by}={name!r}; have {list(table.columns)}")
    pairs = table[[a, b]].dropna()
    if pairs.empty:
        raise ValueError(f"{a!r} and {b!r} share no {seed} to pair")
    sign = 1.0 if higher_is_better else -1.0
    diffs = tuple(float(x) for x in sign * (pairs[a] - pairs[b]))
    mean, low, high = paired_interval(diffs, level)
    return Claim(text or f"{a} beats {b} ({metric})", metric, diffs, mean, low, high,
                 verdict(low, high, len(diffs)), seeds_to_resolve(diffs, level))


def claims_table(claims: Sequence[Claim], paper: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per claim: the difference, its interval, the seeds, the verdict (and what the paper says)."""
    rows = []
    for k, c in enumerate(claims):
        row = {"claim": c.text, "metric": c.metric, "difference": f"{c.mean:+.3f}",
               f"{LEVEL:.0%} CI": "" if math.isnan(c.low) else f"[{c.low:+.3f}, {c.high:+.3f}]",
               "seeds": c.n, "verdict": c.verdict,
               "seeds to resolve": "" if c.verdict in (HOLDS, REVERSED) or c.seeds_to_resolve is None
               else c.seeds_to_resolve}
        if paper is not None:
            row["paper"] = paper[k]
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim")
