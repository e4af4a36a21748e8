"""QA calibration (DESIGN.md §5, step "QA calibration").

Rubric score distributions, reviewer agreement on the calibration subset (Fleiss' kappa,
weighted Cohen's kappa, ICC(2,1), the share of reviews within a tolerance of the
consensus), each reviewer's bias against the consensus, the internal quality score (IQS)
and a stratified random review sample for the next period.

Conventions
-----------
* ``reviews`` is the archived ``qa_reviews`` table (see ``schemas.SCHEMAS["qa_reviews"]``):
  rubric items are nullable integers 1–5, ``<NA>`` meaning "not applicable".
* Agreement and bias use only the calibration subset (``calibration == True``) unless
  ``calibration_only=False``. If a reviewer scored the same ticket more than once, the
  latest review (by ``reviewed_at``) counts.
* The consensus on a ticket is the mean of all reviewers who scored it (the reviewer in
  question included); ``leave_one_out=True`` uses the mean of the *other* reviewers.
  Bias is therefore relative to the panel: if the whole panel is harsh, nobody looks harsh.
* Every result is a tidy DataFrame in which each statistic carries the count it rests on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from urllib.parse import quote

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from qa_helpers.config import reports_dir
from qa_helpers.periods import Period
from qa_helpers.report import background
from qa_helpers.report.heatmap import heatmap
from qa_helpers.report.plots import COLOURS, _ax, _empty
from qa_helpers.report.safe import markdown_text, write_csv
from qa_helpers.report.shared_figures import shared_figure
from qa_helpers.data.schemas import RUBRIC_ITEMS

SCORES: tuple[int, ...] = (1, 2, 3, 4, 5)
"""The rubric scale: every item is scored 1 (poor) to 5 (excellent), or left N/A."""

DEFAULT_WEIGHTS: dict[str, float] = {
    "voice_quality": 10.0,
    "courtesy": 20.0,
    "problem_solving": 30.0,
    "proactiveness": 15.0,
    "compliance": 25.0,
}
"""Default IQS weights (sum 100): solving the problem and compliance weigh most."""

DEFAULT_AUTO_FAIL: tuple[str, ...] = ("critical_fail",)
"""Boolean columns that, when true, set the review's IQS to 0 whatever the item scores."""

ALL = "all"
"""Label of the pooled row (all items, all reviewers) in agreement tables."""


# --------------------------------------------------------------------------- helpers


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; have {list(frame.columns)}")


def _score_array(frame: pd.DataFrame, items: Sequence[str], scale: tuple[int, int] = (1, 5)) -> np.ndarray:
    """Rubric items as a float array, NaN for N/A; values outside the scale raise."""
    _check_columns(frame, items, "rubric items")
    values = frame[list(items)].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    low, high = scale
    bad = ~np.isnan(values) & ((values < low) | (values > high))
    if bad.any():
        item = list(items)[int(np.argwhere(bad)[0][1])]
        raise ValueError(f"{item}: scores must lie in {low}–{high} (or be N/A)")
    return values


def _calibration_subset(reviews: pd.DataFrame, calibration_only: bool) -> pd.DataFrame:
    _check_columns(reviews, ["ticket_id", "reviewer_id"], "reviews")
    data = reviews
    if calibration_only:
        _check_columns(reviews, ["calibration"], "reviews")
        data = reviews[reviews["calibration"].fillna(False).astype(bool)]
    if "reviewed_at" in data.columns:
        data = data.sort_values("reviewed_at", kind="stable")
    return data.drop_duplicates(["ticket_id", "reviewer_id"], keep="last")


def _wide(data: pd.DataFrame, values: pd.Series | np.ndarray) -> pd.DataFrame:
    """Tickets × reviewers matrix of ``values`` (NaN where a reviewer did not score)."""
    long = pd.DataFrame({"ticket_id": data["ticket_id"].to_numpy(), "reviewer_id": data["reviewer_id"].to_numpy(),
                         "value": np.asarray(values, dtype=float)})
    wide = long.pivot(index="ticket_id", columns="reviewer_id", values="value")
    wide.columns.name = "reviewer_id"
    return wide.sort_index().sort_index(axis=1)


def _mean_item(frame: pd.DataFrame, items: Sequence[str]) -> np.ndarray:
    values = _score_array(frame, items)
    count = (~np.isnan(values)).sum(axis=1)
    total = np.nansum(values, axis=1)
    return np.divide(total, count, out=np.full(len(frame), np.nan), where=count > 0)


def _value(data: pd.DataFrame, value: str | None, items: Sequence[str],
           weights: Mapping[str, float] | None, auto_fail: Sequence[str]) -> np.ndarray:
    """The per-review number compared across reviewers: a column, the IQS or the mean item."""
    if value is None or value == "mean_item":
        return _mean_item(data, items)
    if value == "iqs" and "iqs" not in data.columns:
        return quality_score(data, weights=weights, auto_fail=auto_fail).to_numpy()
    _check_columns(data, [value], "value")
    return pd.to_numeric(data[value]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------- distributions


def score_distribution(reviews: pd.DataFrame, by: str = "reviewer_id",
                       items: Sequence[str] = RUBRIC_ITEMS, include_na: bool = False) -> pd.DataFrame:
    """How often each rubric score is given, per reviewer (or agent, team, ...) and item.

    Parameters
    ----------
    reviews : DataFrame
        QA reviews with the column ``by`` and the rubric ``items``.
    by : str, default ``"reviewer_id"``
        The grouping column, e.g. ``"reviewer_id"`` or ``"agent_id"``.
    items : sequence of str
        Rubric item columns (scores 1–5, ``<NA>`` = N/A).
    include_na : bool, default False
        False: N/A is left out and ``share`` is the share of *scored* reviews. True: an extra
        row with ``score = <NA>`` counts the N/A reviews and shares are of all reviews.

    Returns
    -------
    DataFrame
        Tidy: ``group, item, score, count, share``; every score 1–5 appears (count 0 when
        never given) for every group and item.

    Examples
    --------
    >>> r = pd.DataFrame({"reviewer_id": ["R1", "R1", "R2"], "courtesy": pd.array([5, 4, pd.NA], "Int64")})
    >>> d = score_distribution(r, items=["courtesy"])
    >>> d[d["count"] > 0][["group", "score", "count", "share"]].values.tolist()
    [['R1', 4, 1, 0.5], ['R1', 5, 1, 0.5]]
    """
    _check_columns(reviews, [by], "grouping")
    values = _score_array(reviews, items)
    codes = np.where(np.isnan(values), 0, values).astype(int)
    levels = ([0] if include_na else []) + list(SCORES)
    groups = sorted(pd.unique(reviews[by].dropna()))
    # counted by one bincount over (group, item, score) cells, in the order of their full product: a long
    # frame of reviews × items grouped by three keys took seconds at a year's 400 k reviews
    k, n_levels = len(items), len(levels)
    group = np.repeat(pd.Index(groups, dtype=object).get_indexer(reviews[by]), k)
    level = codes.ravel() - (0 if include_na else 1)
    keep = (group >= 0) & (level >= 0)
    cell = (group * k + np.tile(np.arange(k), len(reviews))) * n_levels + level
    counts = np.bincount(cell[keep], minlength=len(groups) * k * n_levels)
    out = pd.DataFrame({"group": np.repeat(np.array(groups, dtype=object), k * n_levels),
                        "item": np.tile(np.repeat(np.array(list(items), dtype=object), n_levels), len(groups)),
                        "code": np.tile(np.array(levels, dtype="int64"), len(groups) * k),
                        "count": counts.astype("int64")})
    totals = out.groupby(["group", "item"])["count"].transform("sum")
    out["share"] = np.divide(out["count"], totals, out=np.full(len(out), np.nan), where=totals.to_numpy() > 0)
    out["score"] = pd.array(np.where(out["code"] == 0, pd.NA, out["code"]), dtype="Int64")
    out["item"] = pd.Categorical(out["item"], categories=list(items))
    out = out.sort_values(["group", "item", "code"], kind="stable")
    out["item"] = out["item"].astype(str)
    return out[["group", "item", "score", "count", "share"]].reset_index(drop=True)


def rating_matrix(reviews: pd.DataFrame, value: str, calibration_only: bool = True) -> pd.DataFrame:
    """Tickets × reviewers matrix of one rubric item (or any numeric review column).

    Parameters
    ----------
    reviews : DataFrame
        QA reviews (``ticket_id``, ``reviewer_id``, ``calibration``, ``value``).
    value : str
        Column to spread, e.g. ``"courtesy"``.
    calibration_only : bool, default True
        Keep only calibration reviews.

    Returns
    -------
    DataFrame
        Index ``ticket_id``, one column per reviewer, NaN where a reviewer gave N/A or did
        not score the ticket.
    """
    data = _calibration_subset(reviews, calibration_only)
    _check_columns(data, [value], "value")
    return _wide(data, data[value].astype("Float64").to_numpy(dtype=float, na_value=np.nan))


# --------------------------------------------------------------------------- distributions
# scipy.special's functions, which scipy.stats' normal, t and F distributions call: importing
# scipy.stats (or statsmodels' inter_rater, which imports it) costs about 1.3 s of the QA calibration
# notebook's cold start, scipy.special a quarter of that (tests/test_calibration_dist.py holds each
# equal to its scipy.stats / statsmodels counterpart)


def _normal_quantile(p: float) -> float:
    """``scipy.stats.norm.ppf(p)``."""
    from scipy import special

    return special.ndtri(p)


def _f_ppf(q: float, dfn: float, dfd: float) -> float:
    """``scipy._f_ppf(q, dfn, dfd)``: NaN unless both degrees of freedom are positive."""
    from scipy import special

    if not (dfn > 0 and dfd > 0) or not 0 <= q <= 1:
        return np.float64(np.nan)
    return np.float64(np.inf) if q == 1 else special.fdtri(dfn, dfd, q)


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    """``scipy._f_sf(x, dfn, dfd)``: NaN unless both degrees of freedom are positive."""
    from scipy import special

    if not (dfn > 0 and dfd > 0) or np.isnan(x):
        return np.float64(np.nan)
    if x <= 0:
        return np.float64(1.0)
    return np.float64(0.0) if np.isinf(x) else special.fdtrc(dfn, dfd, x)


def _t_test(d: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """``scipy.stats.ttest_1samp(d, 0)``'s two-sided interval at ``confidence`` and p-value, by its arithmetic
    (two or more values, not all equal)."""
    from scipy import special

    n = len(d)
    mean = d.mean()
    se = np.sqrt(np.mean((d - mean) ** 2) * (n / (n - 1)) / n)
    t = mean / se
    tail = (1 - confidence) / 2
    low, high = special.stdtrit(n - 1, np.array([tail, 1 - tail]))
    return low * se + mean, high * se + mean, 2 * special.stdtr(n - 1, -abs(t))


# --------------------------------------------------------------------------- Fleiss' kappa


def fleiss_kappa_from_counts(counts: np.ndarray | pd.DataFrame) -> float:
    """Fleiss' kappa from a subjects × categories table of rater counts.

    Each row says how many raters put that subject in each category; every row must sum
    to the same number of raters (at least two). The statistic is computed as
    ``statsmodels.stats.inter_rater.fleiss_kappa`` computes it (Fleiss 1971), by its arithmetic: importing
    it imports scipy.stats (the tests hold the two equal).

    Parameters
    ----------
    counts : array-like, shape (subjects, categories)

    Returns
    -------
    float
        κ = (P̄ − P̄e) / (1 − P̄e); NaN when every rating falls in one category.

    Examples
    --------
    >>> round(fleiss_kappa_from_counts([[3, 0], [0, 3], [3, 0], [1, 2]]), 4)
    0.6571
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        raise ValueError("counts must be a non-empty subjects × categories table")
    raters = table.sum(axis=1)
    if not np.allclose(raters, raters[0]):
        raise ValueError("Fleiss' kappa needs the same number of raters for every subject; "
                         f"row totals range {raters.min():g}–{raters.max():g}")
    if raters[0] < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per subject")
    p_cat = table.sum(axis=0) / table.sum()
    if np.isclose((p_cat ** 2).sum(), 1.0):
        return float("nan")
    p_rater = ((table * table).sum(axis=1) - raters[0]) / (raters[0] * (raters[0] - 1.))
    p_mean_exp = (p_cat * p_cat).sum()
    return float((p_rater.mean() - p_mean_exp) / (1 - p_mean_exp))


def _count_table(wide: pd.DataFrame, categories: Sequence[int] = SCORES) -> np.ndarray:
    """Complete-case subjects × categories counts from a tickets × reviewers matrix."""
    complete = wide.dropna(how="any").to_numpy()
    if complete.size == 0:
        return np.zeros((0, len(categories)), dtype=int)
    index = {c: i for i, c in enumerate(categories)}
    codes = np.vectorize(lambda v: index[int(v)])(complete)
    # statsmodels' aggregate_raters: each subject's count of each category
    table = np.zeros((len(codes), len(categories)), dtype=int)
    np.add.at(table, (np.repeat(np.arange(len(codes)), codes.shape[1]), codes.ravel()), 1)
    return table


def fleiss_kappa_by_item(reviews: pd.DataFrame, items: Sequence[str] = RUBRIC_ITEMS,
                         calibration_only: bool = True) -> pd.DataFrame:
    """Fleiss' kappa per rubric item, and pooled over items, on the calibration subset.

    Fleiss' kappa treats the scores 1–5 as unordered categories (a 4 against a 5 is as
    much a disagreement as a 1 against a 5); see ``pairwise_weighted_kappa`` and
    ``calibration_icc`` for ordinal measures.

    Only tickets that *every* calibration reviewer scored on the item enter (complete
    cases: Fleiss' formula needs a constant number of raters per subject); a ticket with
    an N/A from anyone is left out of that item. The pooled row (``item = "all"``) treats
    every (ticket, item) pair as one subject.

    Returns
    -------
    DataFrame
        ``item, subjects, raters, kappa``.
    """
    data = _calibration_subset(reviews, calibration_only)
    raters = data["reviewer_id"].nunique()
    rows, tables = [], []
    for item in items:
        table = _count_table(_wide(data, _score_array(data, [item])[:, 0]))
        tables.append(table)
        kappa = fleiss_kappa_from_counts(table) if len(table) and raters >= 2 else np.nan
        rows.append({"item": item, "subjects": len(table), "raters": raters, "kappa": kappa})
    pooled = np.vstack(tables) if tables else np.zeros((0, len(SCORES)))
    rows.append({"item": ALL, "subjects": len(pooled), "raters": raters,
                 "kappa": fleiss_kappa_from_counts(pooled) if len(pooled) and raters >= 2 else np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- weighted Cohen's kappa


def _confusion(a: np.ndarray, b: np.ndarray, categories: Sequence[int]) -> np.ndarray:
    """Rater-by-rater table; a score that is not one of ``categories`` (0 on a 1–5 scale, 6, 2.5)
    is refused, never truncated or mis-filed."""
    index = {c: i for i, c in enumerate(categories)}
    for name, scores in (("first", a), ("second", b)):
        outside = ~np.isin(scores, list(categories))
        if outside.any():
            at = int(np.flatnonzero(outside)[0])
            raise ValueError(f"kappa: the {name} rater's score {scores[at]:g} (pair {at + 1}) is not on the scale "
                             f"{', '.join(f'{c:g}' for c in categories)}; {int(outside.sum())} such score(s)")
    table = np.zeros((len(categories), len(categories)))
    for x, y in zip(a, b):
        table[index[int(x)], index[int(y)]] += 1
    return table


def _kappa_result(table: np.ndarray, weights: str, categories: Sequence[int]) -> tuple[float, float] | None:
    """Weighted κ and its large-sample standard error, or None when undefined.

    The arithmetic of ``statsmodels.stats.inter_rater.cohens_kappa``'s weighted branch, step for step
    (the tests hold the two equal): its result object freezes two ``scipy.stats.norm`` distributions,
    1.5 ms a call, and a year's calibration asks for some 1,200 tables.
    """
    if table.sum() < 2:
        return None
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    if np.count_nonzero(rows) == 1 and np.count_nonzero(cols) == 1 and np.argmax(rows) == np.argmax(cols):
        return None  # every rating in one category: chance agreement is 1, kappa undefined
    table = np.asarray(table, float)
    nobs = table.sum()
    freqs = table / nobs
    freq_row, freq_col = table.sum(1) / nobs, table.sum(0) / nobs
    prob_exp = freq_col * freq_row[:, None]
    scale = np.asarray(categories, float)
    if weights == "quadratic":
        distance = (scale[:, None] - scale) ** 2 / (scale[-1] - scale[0]) ** 2
    else:
        distance = np.abs(scale[:, None] - scale) / (scale[-1] - scale[0])
    kappa = 1 - (distance * table).sum() / nobs / (distance * prob_exp).sum()
    w = 1. - distance
    w_row, w_col = (freq_col * w).sum(1), (freq_row[:, None] * w).sum(0)
    agree_wexp = (w * freq_col * freq_row[:, None]).sum()
    term_a = freqs * (w - (w_col + w_row[:, None]) * (1 - kappa)) ** 2
    fac = 1. / ((1 - agree_wexp) ** 2 * nobs)
    var_kappa = term_a.sum() - (kappa - agree_wexp * (1 - kappa)) ** 2
    var_kappa *= fac
    # a variance below zero (a sparse table) has no SE: NaN as statsmodels gives, without the
    # RuntimeWarning of a square root of it, which a report would print under the cell
    return float(kappa), float(np.sqrt(var_kappa)) if var_kappa >= 0 else float("nan")


def weighted_kappa(a: Sequence[float], b: Sequence[float], weights: str = "quadratic",
                   categories: Sequence[int] = SCORES) -> float:
    """Weighted Cohen's kappa between two raters' scores on the same subjects.

    κw = 1 − Σ wᵢⱼ Oᵢⱼ / Σ wᵢⱼ Eᵢⱼ, with O the observed and E the chance-expected
    (product of margins) proportions and disagreement weights wᵢⱼ = (i − j)² (quadratic,
    the default) or |i − j| (linear), i and j the scores. Computed as
    ``statsmodels.stats.inter_rater.cohens_kappa`` computes it, over the full 1–5 table, so unused
    scores still count in the distances.

    Parameters
    ----------
    a, b : sequence of numbers
        Paired scores; pairs with a missing value on either side are dropped. A score not
        on the scale (0, 6, 2.5 on 1–5) raises ``ValueError`` naming it and its pair.
    weights : {"quadratic", "linear"}
    categories : sequence of int
        The scale.

    Returns
    -------
    float
        NaN with fewer than two pairs or when both raters gave one and the same score throughout.

    Examples
    --------
    >>> weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    1.0
    """
    if weights not in ("quadratic", "linear"):
        raise ValueError("weights must be 'quadratic' or 'linear'")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~np.isnan(x) & ~np.isnan(y)
    result = _kappa_result(_confusion(x[keep], y[keep], categories), weights, categories)
    return float("nan") if result is None else result[0]


def pairwise_weighted_kappa(reviews: pd.DataFrame, items: Sequence[str] = RUBRIC_ITEMS,
                            weights: str = "quadratic", calibration_only: bool = True,
                            confidence: float = 0.95) -> pd.DataFrame:
    """Weighted Cohen's kappa for every pair of reviewers, per item and pooled over items.

    Quadratic weights by default (disagreement weight (i − j)²: a 2-point gap costs four
    times a 1-point gap); pass ``weights="linear"`` for |i − j|. For each pair and item,
    the tickets both reviewers scored (neither N/A) are compared; ``item = "all"`` pools
    the (ticket, item) pairs of every item. The standard error is the large-sample one
    from statsmodels (Fleiss, Cohen & Everitt 1969), the interval a normal one.

    Returns
    -------
    DataFrame
        ``reviewer_a, reviewer_b, item, n, kappa, se, ci_low, ci_high, weights``.
    """
    data = _calibration_subset(reviews, calibration_only)
    z = _normal_quantile(0.5 + confidence / 2)
    mats = {item: _wide(data, _score_array(data, [item])[:, 0]) for item in items}
    reviewers = sorted(pd.unique(data["reviewer_id"]))
    column = {reviewer: i for i, reviewer in enumerate(mats[items[0]].columns)} if items else {}
    scores = {item: mats[item].to_numpy() for item in items}
    # tickets both reviewers of a pair scored: with many reviewers most pairs share none, and their
    # rows (n = 0, no kappa) need no tables (50 reviewers: 1,225 pairs, 22 s before)
    scored = np.zeros_like(scores[items[0]], dtype=float) if items else np.zeros((0, 0))
    for item in items:
        scored = np.maximum(scored, ~np.isnan(scores[item]))
    shared = scored.T @ scored
    pairs = list(combinations(reviewers, 2))
    # pairs without a shared ticket: every table is empty and no kappa is defined (no table built: 1,125 of
    # the 1,225 pairs of a year's 50 reviewers)
    live = [p for p, (ra, rb) in enumerate(pairs)
            if ra in column and rb in column and shared[column[ra], column[rb]] > 0]
    on_scale = all(np.isin(scores[item][~np.isnan(scores[item])], SCORES).all() for item in items)
    # every table at once; with a score off the scale, pair by pair, where _confusion refuses it as ever
    tables = (_tables_at_once if on_scale else _tables_pair_by_pair)(
        [(column[pairs[p][0]], column[pairs[p][1]]) for p in live], scores, items)
    tables[ALL] = sum((tables[item] for item in items), np.zeros((len(live), len(SCORES), len(SCORES))))
    slot = dict(zip(live, range(len(live))))
    rows = []
    for p, (ra, rb) in enumerate(pairs):
        for item in [*items, ALL]:
            if p not in slot:
                rows.append((ra, rb, item, 0, np.nan, np.nan, np.nan, np.nan, weights))
                continue
            table = tables[item][slot[p]]
            res = _kappa_result(table, weights, SCORES)
            kappa, se = (np.nan, np.nan) if res is None else res
            rows.append((ra, rb, item, int(table.sum()), kappa, se, kappa - z * se, kappa + z * se, weights))
    return pd.DataFrame.from_records(rows, columns=["reviewer_a", "reviewer_b", "item", "n", "kappa", "se",
                                                    "ci_low", "ci_high", "weights"])


def _tables_at_once(pairs: list[tuple[int, int]], scores: dict[str, np.ndarray],
                    items: Sequence[str]) -> dict[str, np.ndarray]:
    """Each item's rater-by-rater tables of the reviewer ``pairs`` (columns of ``scores``; every score on the
    scale), counted by one ``bincount`` per item: shape ``(pairs, k, k)``, counts as floats."""
    k = len(SCORES)
    a = np.array([i for i, _ in pairs], dtype=int)
    b = np.array([j for _, j in pairs], dtype=int)
    tables = {}
    for item in items:
        codes = np.where(np.isnan(scores[item]), -1, scores[item] - SCORES[0]).astype(int)
        first, second = codes[:, a], codes[:, b]  # tickets × pairs
        both = (first >= 0) & (second >= 0)
        cell = (np.arange(len(pairs)) * (k * k) + first * k + second)[both]
        tables[item] = np.bincount(cell, minlength=len(pairs) * k * k).reshape(len(pairs), k, k).astype(float)
    return tables


def _tables_pair_by_pair(pairs: list[tuple[int, int]], scores: dict[str, np.ndarray],
                         items: Sequence[str]) -> dict[str, np.ndarray]:
    """:func:`_tables_at_once` by :func:`_confusion`, pair by pair and item by item: a score off the scale is
    refused with the pair's own message."""
    k = len(SCORES)
    tables = {item: np.zeros((len(pairs), k, k)) for item in items}
    for p, (a, b) in enumerate(pairs):
        for item in items:
            both = ~np.isnan(scores[item][:, a]) & ~np.isnan(scores[item][:, b])
            tables[item][p] = _confusion(scores[item][both, a], scores[item][both, b], SCORES)
    return tables


# --------------------------------------------------------------------------- ICC


def anova_mean_squares(ratings: pd.DataFrame | np.ndarray) -> dict[str, float]:
    """Two-way ANOVA (targets × raters, one rating per cell) mean squares for the ICC.

    With n targets (rows), k raters (columns), grand mean ȳ, row means ȳᵢ. and column
    means ȳ.ⱼ:

    * BMS = k Σᵢ (ȳᵢ. − ȳ)² / (n − 1)             between targets
    * JMS = n Σⱼ (ȳ.ⱼ − ȳ)² / (k − 1)             between raters (judges)
    * EMS = (SST − SSB − SSJ) / ((n − 1)(k − 1))  residual
    * WMS = (SST − SSB) / (n (k − 1))             within targets (raters + residual)

    Returns
    -------
    dict
        ``n, k, BMS, JMS, EMS, WMS``.
    """
    y = np.asarray(ratings, dtype=float)
    if y.ndim != 2 or np.isnan(y).any():
        raise ValueError("ratings must be a complete targets × raters table (no missing values)")
    n, k = y.shape
    if n < 2 or k < 2:
        raise ValueError("the ICC needs at least two targets and two raters")
    grand = y.mean()
    sst = ((y - grand) ** 2).sum()
    ssb = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ssj = n * ((y.mean(axis=0) - grand) ** 2).sum()
    sse = sst - ssb - ssj
    return {"n": n, "k": k, "BMS": ssb / (n - 1), "JMS": ssj / (k - 1),
            "EMS": sse / ((n - 1) * (k - 1)), "WMS": (sst - ssb) / (n * (k - 1))}


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0 and np.isfinite(den) else float("nan")


def icc(ratings: pd.DataFrame | np.ndarray, confidence: float = 0.95) -> pd.DataFrame:
    """Intraclass correlations for single ratings (Shrout & Fleiss 1979), from mean squares.

    With the mean squares of ``anova_mean_squares`` (n targets, k raters):

    * ICC(1,1) one-way random:                 (BMS − WMS) / (BMS + (k−1) WMS)
    * ICC(2,1) two-way random, absolute agreement, single rater — the one to report for
      calibration (reviewers are a sample of possible reviewers, and a harsh reviewer
      counts against agreement):   (BMS − EMS) / (BMS + (k−1) EMS + k (JMS − EMS) / n)
    * ICC(3,1) two-way mixed, consistency:     (BMS − EMS) / (BMS + (k−1) EMS)

    The F tests and intervals follow Shrout & Fleiss (1979) and McGraw & Wong (1996); the
    ICC(2,1) interval uses Satterthwaite's approximate degrees of freedom.

    Parameters
    ----------
    ratings : DataFrame or array, shape (targets, raters)
        Complete table, one rating per cell.
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        ``type, description, icc, f, df1, df2, p_value, ci_low, ci_high``.

    Examples
    --------
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> icc(sf).set_index("type")["icc"].round(2).to_dict()
    {'ICC(1,1)': 0.17, 'ICC(2,1)': 0.29, 'ICC(3,1)': 0.71}
    """
    ms = anova_mean_squares(ratings)
    n, k, bms, jms, ems, wms = ms["n"], ms["k"], ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    alpha = 1 - confidence
    df_b, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)

    def bounds(f_obs: float, df1: float, df2: float) -> tuple[float, float]:
        f_low = f_obs / _f_ppf(1 - alpha / 2, df1, df2)
        f_upp = f_obs * _f_ppf(1 - alpha / 2, df2, df1)
        return _ratio(f_low - 1, f_low + k - 1), _ratio(f_upp - 1, f_upp + k - 1)

    rows = []
    f1 = _ratio(bms, wms)
    lo1, hi1 = bounds(f1, df_b, df_w)
    rows.append({"type": "ICC(1,1)", "description": "one-way random, single rater",
                 "icc": _ratio(bms - wms, bms + (k - 1) * wms), "f": f1, "df1": df_b, "df2": df_w,
                 "p_value": _f_sf(f1, df_b, df_w), "ci_low": lo1, "ci_high": hi1})

    f3 = _ratio(bms, ems)
    icc2 = _ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n)
    if np.isfinite(icc2) and icc2 < 1:
        a = k * icc2 / (n * (1 - icc2))
        b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / df_e)
        f_star = _f_ppf(1 - alpha / 2, df_b, v)
        f_star2 = _f_ppf(1 - alpha / 2, v, df_b)
        common = k * jms + (k * n - k - n) * ems
        lo2 = _ratio(n * (bms - f_star * ems), f_star * common + n * bms)
        hi2 = _ratio(n * (f_star2 * bms - ems), common + n * f_star2 * bms)
    else:
        lo2 = hi2 = float("nan")
    rows.append({"type": "ICC(2,1)", "description": "two-way random, absolute agreement, single rater",
                 "icc": icc2, "f": f3, "df1": df_b, "df2": df_e,
                 "p_value": _f_sf(f3, df_b, df_e), "ci_low": lo2, "ci_high": hi2})

    lo3, hi3 = bounds(f3, df_b, df_e)
    rows.append({"type": "ICC(3,1)", "description": "two-way mixed, consistency, single rater",
                 "icc": _ratio(bms - ems, bms + (k - 1) * ems), "f": f3, "df1": df_b, "df2": df_e,
                 "p_value": _f_sf(f3, df_b, df_e), "ci_low": lo3, "ci_high": hi3})
    return pd.DataFrame(rows)


def calibration_icc(reviews: pd.DataFrame, items: Sequence[str] = RUBRIC_ITEMS,
                    weights: Mapping[str, float] | None = None,
                    auto_fail: Sequence[str] = DEFAULT_AUTO_FAIL,
                    calibration_only: bool = True, confidence: float = 0.95) -> pd.DataFrame:
    """ICC(2,1) per rubric item and for the IQS on the calibration subset.

    Tickets × reviewers, complete cases only (a ticket with an N/A from any reviewer is
    left out of that item); see ``icc`` for the formula.

    Returns
    -------
    DataFrame
        ``item, tickets, reviewers, icc, ci_low, ci_high`` (the last row is ``item = "iqs"``).
    """
    data = _calibration_subset(reviews, calibration_only)
    rows = []
    for item in [*items, "iqs"]:
        if item == "iqs":
            values = quality_score(data, weights=weights, auto_fail=auto_fail).to_numpy()
        else:
            values = _score_array(data, [item])[:, 0]
        wide = _wide(data, values).dropna(how="any")
        row = {"item": item, "tickets": len(wide), "reviewers": wide.shape[1],
               "icc": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if wide.shape[0] >= 2 and wide.shape[1] >= 2:
            res = icc(wide, confidence=confidence).set_index("type").loc["ICC(2,1)"]
            row.update(icc=res["icc"], ci_low=res["ci_low"], ci_high=res["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- IQS


def quality_score(reviews: pd.DataFrame, weights: Mapping[str, float] | None = None,
                  auto_fail: Sequence[str] = DEFAULT_AUTO_FAIL,
                  scale: tuple[int, int] = (1, 5)) -> pd.Series:
    """Internal quality score (IQS) of each review, 0–100.

    Each item score s is rescaled to 100·(s − 1)/4 (1 → 0, 5 → 100); the IQS is the
    weighted mean of the rescaled items *that were scored*: an N/A item leaves both the
    numerator and the denominator, so the remaining weights are re-normalised. A review
    with any auto-fail column true scores 0 regardless of its items (missing auto-fail
    flags count as false). A review with every item N/A and no auto-fail has no score (NaN).

    Parameters
    ----------
    reviews : DataFrame
        QA reviews with the weighted item columns and the auto-fail columns.
    weights : mapping item → weight, optional
        Non-negative; need not sum to 100. Defaults to ``DEFAULT_WEIGHTS``
        (voice_quality 10, courtesy 20, problem_solving 30, proactiveness 15, compliance 25).
    auto_fail : sequence of str, default ``("critical_fail",)``
        Boolean columns that zero the score. Pass ``()`` for none.
    scale : (low, high), default (1, 5)

    Returns
    -------
    Series
        Float, named ``iqs``, aligned to ``reviews.index``.

    Examples
    --------
    >>> r = pd.DataFrame({"a": pd.array([5, 3, pd.NA], "Int64"), "b": pd.array([1, pd.NA, pd.NA], "Int64"),
    ...                   "critical_fail": [False, False, False]})
    >>> quality_score(r, weights={"a": 3, "b": 1}).tolist()
    [75.0, 50.0, nan]
    """
    w = pd.Series(DEFAULT_WEIGHTS if weights is None else dict(weights), dtype=float)
    if w.empty or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("weights must be non-negative, finite and not all zero")
    low, high = scale
    values = _score_array(reviews, list(w.index), scale)
    scored = ~np.isnan(values)
    rescaled = np.where(scored, (values - low) / (high - low) * 100.0, 0.0)
    weight = np.where(scored, w.to_numpy(), 0.0)
    denom = weight.sum(axis=1)
    iqs = np.divide((rescaled * weight).sum(axis=1), denom, out=np.full(len(reviews), np.nan), where=denom > 0)
    _check_columns(reviews, list(auto_fail), "auto-fail")
    for column in auto_fail:
        iqs[reviews[column].astype("boolean").fillna(False).to_numpy(dtype=bool)] = 0.0
    return pd.Series(iqs, index=reviews.index, name="iqs")


# --------------------------------------------------------------------------- consensus


def _consensus_long(wide: pd.DataFrame, leave_one_out: bool) -> pd.DataFrame:
    """Per ticket × reviewer: score, consensus and difference; tickets with < 2 scores dropped."""
    count = wide.notna().sum(axis=1)
    wide = wide[count >= 2]
    count = count[count >= 2]
    total = wide.sum(axis=1, skipna=True)
    long = wide.stack().rename("score").reset_index()
    long = long.join(total.rename("total"), on="ticket_id").join(count.rename("raters"), on="ticket_id")
    if leave_one_out:
        long["consensus"] = (long["total"] - long["score"]) / (long["raters"] - 1)
    else:
        long["consensus"] = long["total"] / long["raters"]
    long["difference"] = long["score"] - long["consensus"]
    return long[["ticket_id", "reviewer_id", "score", "consensus", "raters", "difference"]]


def consensus_differences(reviews: pd.DataFrame, value: str | None = None,
                          items: Sequence[str] = RUBRIC_ITEMS,
                          weights: Mapping[str, float] | None = None,
                          auto_fail: Sequence[str] = DEFAULT_AUTO_FAIL,
                          leave_one_out: bool = False, calibration_only: bool = True) -> pd.DataFrame:
    """Each calibration review next to the ticket's consensus.

    Parameters
    ----------
    value : str, optional
        What is compared: ``None`` / ``"mean_item"`` = mean of the scored rubric items
        (1–5 scale), ``"iqs"`` = the quality score (0–100, from ``weights`` and
        ``auto_fail``), or any numeric column.
    leave_one_out : bool, default False
        False: consensus = mean of all reviewers on the ticket. True: of the other reviewers.

    Returns
    -------
    DataFrame
        ``ticket_id, reviewer_id, score, consensus, raters, difference`` (score − consensus);
        tickets scored by fewer than two reviewers are left out.
    """
    data = _calibration_subset(reviews, calibration_only)
    return _consensus_long(_wide(data, _value(data, value, items, weights, auto_fail)), leave_one_out)


def within_tolerance(reviews: pd.DataFrame, tolerance: float = 0.10, relative: bool = True,
                     weights: Mapping[str, float] | None = None,
                     auto_fail: Sequence[str] = DEFAULT_AUTO_FAIL,
                     calibration_only: bool = True) -> pd.DataFrame:
    """Share of calibration reviews whose IQS lies within a tolerance of the consensus IQS.

    The consensus is the mean IQS of all reviewers on the ticket (the reviewer included).
    With ``relative=True`` (default) a review is within tolerance when
    ``|IQS − consensus| ≤ tolerance × consensus`` ("within ±10 % of consensus"); with
    ``relative=False`` when ``|IQS − consensus| ≤ tolerance × 100`` IQS points.

    Returns
    -------
    DataFrame
        ``reviewer_id, tickets, within, share``, one row per reviewer and a last row
        ``reviewer_id = "all"``.
    """
    if tolerance < 0:
        raise ValueError("tolerance must be non-negative")
    long = consensus_differences(reviews, value="iqs", weights=weights, auto_fail=auto_fail,
                                 calibration_only=calibration_only)
    allowed = tolerance * (long["consensus"].abs() if relative else 100.0)
    long["within"] = long["difference"].abs() <= allowed + 1e-9
    per = long.groupby("reviewer_id").agg(tickets=("within", "size"), within=("within", "sum")).reset_index()
    total = pd.DataFrame([{"reviewer_id": ALL, "tickets": int(per["tickets"].sum()), "within": int(per["within"].sum())}])
    out = pd.concat([per, total], ignore_index=True)
    out["within"] = out["within"].astype(int)
    out["share"] = np.divide(out["within"], out["tickets"], out=np.full(len(out), np.nan), where=out["tickets"] > 0)
    return out


def reviewer_bias(reviews: pd.DataFrame, value: str | None = None, items: Sequence[str] = RUBRIC_ITEMS,
                  weights: Mapping[str, float] | None = None,
                  auto_fail: Sequence[str] = DEFAULT_AUTO_FAIL, confidence: float = 0.95,
                  leave_one_out: bool = False, calibration_only: bool = True) -> pd.DataFrame:
    """Each reviewer's mean difference from the consensus, with a t-interval across tickets.

    For reviewer r and calibration ticket t, dᵣₜ = scoreᵣₜ − consensusₜ; the bias is the
    mean of dᵣₜ over the tickets r scored, and the interval is the one-sample t interval
    (``scipy.stats.ttest_1samp``) of those differences. A negative bias is a harsh reviewer.

    With k reviewers and the default consensus (all reviewers, r included), the
    difference is (k − 1)/k times the difference from the other reviewers' mean; use
    ``leave_one_out=True`` for the latter.

    Parameters
    ----------
    value : str, optional
        ``None`` (mean of scored rubric items, 1–5 scale points), ``"iqs"`` (0–100) or a column.
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        ``reviewer_id, tickets, bias, sd, se, ci_low, ci_high, p_value``.
    """
    long = consensus_differences(reviews, value=value, items=items, weights=weights, auto_fail=auto_fail,
                                 leave_one_out=leave_one_out, calibration_only=calibration_only)
    rows = []
    for reviewer, diff in long.groupby("reviewer_id")["difference"]:
        d = diff.to_numpy(dtype=float)
        row = {"reviewer_id": reviewer, "tickets": len(d), "bias": d.mean() if len(d) else np.nan,
               "sd": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
        if len(d) >= 2:
            sd = d.std(ddof=1)
            row.update(sd=sd, se=sd / np.sqrt(len(d)))
            if sd > 0:
                low, high, p_value = _t_test(d, confidence)
                row.update(ci_low=float(low), ci_high=float(high), p_value=float(p_value))
            else:
                row.update(ci_low=d.mean(), ci_high=d.mean())
        rows.append(row)
    return pd.DataFrame(rows, columns=["reviewer_id", "tickets", "bias", "sd", "se", "ci_low", "ci_high", "p_value"])


# --------------------------------------------------------------------------- review sample


def required_sample_size(population: int | Sequence[int] | np.ndarray, margin: float = 0.10, p: float = 0.5,
                         confidence: float = 0.95, minimum: int = 3) -> np.ndarray:
    """Reviews needed to estimate a proportion within ±``margin``, per stratum.

    n₀ = z² p (1 − p) / e², with z the two-sided normal quantile for ``confidence``;
    finite-population correction n = n₀ / (1 + (n₀ − 1) / N); the size is ⌈n⌉, raised
    to ``minimum`` and capped at the stratum's N (all its tickets when it has fewer).

    Parameters
    ----------
    population : int or array of int
        Tickets in each stratum (N).
    margin : float, default 0.10
        Half-width e of the interval for the proportion (0.10 = ±10 percentage points).
    p : float, default 0.5
        Expected proportion (e.g. of reviews with a defect); 0.5 is the worst case.
    confidence : float, default 0.95
    minimum : int, default 3
        Fewest reviews per stratum.

    Returns
    -------
    ndarray of int

    Notes
    -----
    Precision per stratum is expensive when strata are small: with the defaults a
    stratum of 20 tickets needs 17 reviews and one of 200 needs 66. For a realistic
    workload widen ``margin``, use a smaller expected ``p``, or coarsen the strata.

    Examples
    --------
    >>> required_sample_size([1, 10, 100, 10_000]).tolist()
    [1, 10, 50, 96]
    """
    if not 0 < margin < 1 or not 0 < p < 1 or not 0 < confidence < 1 or minimum < 0:
        raise ValueError("need 0 < margin < 1, 0 < p < 1, 0 < confidence < 1 and minimum ≥ 0")
    big_n = np.atleast_1d(np.asarray(population, dtype=float))
    z = _normal_quantile(0.5 + confidence / 2)
    n0 = z ** 2 * p * (1 - p) / margin ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(big_n > 0, n0 / (1 + (n0 - 1) / big_n), 0.0)
    size = np.ceil(np.round(n, 9))
    size = np.minimum(np.maximum(size, minimum), big_n)
    return size.astype(int)


def _stratum_label(frame: pd.DataFrame, strata: Sequence[str]) -> pd.Series:
    return frame[list(strata)].astype(str).agg("|".join, axis=1)


def stratum_sample_sizes(tickets: pd.DataFrame, strata: Sequence[str] = ("agent_id", "channel"),
                         margin: float = 0.10, p: float = 0.5, confidence: float = 0.95,
                         minimum: int = 3) -> pd.DataFrame:
    """Tickets and required reviews per stratum (default agent × channel).

    Returns
    -------
    DataFrame
        ``<strata columns>, stratum, population, sample_size`` with ``stratum`` the
        ``|``-joined stratum values (e.g. ``A017|chat``); sizes from ``required_sample_size``.
    """
    _check_columns(tickets, ["ticket_id", *strata], "tickets")
    sizes = tickets.groupby(list(strata), dropna=False).size().rename("population").reset_index()
    sizes.insert(len(strata), "stratum", _stratum_label(sizes, strata))
    sizes["sample_size"] = required_sample_size(sizes["population"].to_numpy(), margin, p, confidence, minimum)
    return sizes.sort_values("stratum", kind="stable").reset_index(drop=True)


def review_sample(tickets: pd.DataFrame, seed: int, strata: Sequence[str] = ("agent_id", "channel"),
                  margin: float = 0.10, p: float = 0.5, confidence: float = 0.95,
                  minimum: int = 3) -> pd.DataFrame:
    """A stratified simple random sample of tickets to review next period.

    Each stratum (default agent × channel) gets the size from ``required_sample_size``;
    tickets are drawn without replacement with ``numpy.random.default_rng(seed)``. The
    draw depends only on the seed and the set of tickets, not on their row order (tickets
    are sorted by stratum and ``ticket_id`` before drawing).

    Parameters
    ----------
    tickets : DataFrame
        The population to sample from: ``ticket_id`` and the strata columns.
    seed : int
        Random seed; record it with the sample.
    strata, margin, p, confidence, minimum
        See ``stratum_sample_sizes``.

    Returns
    -------
    DataFrame
        ``ticket_id, <strata columns>, stratum``, sorted by stratum and ticket.
    """
    sizes = stratum_sample_sizes(tickets, strata, margin, p, confidence, minimum)
    data = tickets[["ticket_id", *strata]].copy()
    if data["ticket_id"].duplicated().any():
        raise ValueError("ticket_id must be unique in the population")
    data["stratum"] = _stratum_label(data, strata)
    data = data.sort_values(["stratum", "ticket_id"], kind="stable")
    size = sizes.set_index("stratum")["sample_size"]
    rng = np.random.default_rng(seed)
    picks = []
    for stratum, group in data.groupby("stratum", sort=True):
        k = int(size.loc[stratum])
        picks.append(group.iloc[np.sort(rng.choice(len(group), size=k, replace=False))])
    out = pd.concat(picks) if picks else data.iloc[0:0]
    return out.sort_values(["stratum", "ticket_id"], kind="stable").reset_index(drop=True)


def review_sample_name(period: Period) -> str:
    """The review sample's file name: it is drawn from one period to be reviewed in the next."""
    return f"review_sample_{period.next().label}.csv"


def write_review_sample(sample: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the review sample as a spreadsheet-safe CSV (UTF-8 with BOM, so Excel shows Chinese
    text; an id such as ``=1+2`` is written as text, never as a formula) and return the path."""
    return write_csv(sample, path)


# --------------------------------------------------------------------------- plots


def plot_score_distribution(distribution: pd.DataFrame, item: str, ax: Axes | None = None,
                            group_label: str | None = None, language: str = "en") -> Axes:
    """Stacked bars: share of each score 1–5 for one item, per group (from ``score_distribution``)."""
    from qa_helpers.report.labels import t

    ax = _ax(ax)
    data = distribution[(distribution["item"] == item) & distribution["score"].notna()]
    if data.empty or data["count"].sum() == 0:
        return _empty(ax, f"{t('no_scores', language)}: {t(item, language)}")
    grid = data.pivot(index="group", columns="score", values="share").fillna(0).sort_index(ascending=False)
    colors = plt.get_cmap("RdYlBu")(np.linspace(0, 1, len(SCORES) + 2)[1:-1])[:, :3]  # seaborn's palette of it
    left = np.zeros(len(grid))
    for colour, score in zip(colors, SCORES):
        share = grid[score].to_numpy() if score in grid.columns else np.zeros(len(grid))
        ax.barh(grid.index.astype(str), share, left=left, color=colour, label=str(score))
        left += share
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1)
    ax.set_title(f"{t('score_distribution', language)}: {t(item, language)}")
    ax.set_xlabel(t("share_of_reviews", language))
    ax.set_ylabel(group_label or t("reviewer_id", language))
    ax.legend(title=t("score", language), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


def plot_reviewer_bias(bias: pd.DataFrame, ax: Axes | None = None, unit: str | None = None,
                       language: str = "en") -> Axes:
    """Forest plot of reviewer bias against consensus with its interval (from ``reviewer_bias``).

    Reviewers whose interval excludes 0 are drawn in a distinct colour.
    """
    from qa_helpers.report.labels import t

    ax = _ax(ax)
    if bias.empty:
        return _empty(ax, t("no_calibration_reviews", language))
    data = bias.sort_values("reviewer_id", ascending=False).reset_index(drop=True)
    palette = COLOURS
    off = (data["ci_low"] > 0) | (data["ci_high"] < 0)
    y = np.arange(len(data))
    for flag, colour, label in ((False, palette[0], t("ci_covers_0", language)),
                                (True, palette[3], t("ci_excludes_0", language))):
        part = data[off == flag]
        if part.empty:
            continue
        yy = y[(off == flag).to_numpy()]
        err = np.vstack([part["bias"] - part["ci_low"], part["ci_high"] - part["bias"]])
        ax.errorbar(part["bias"], yy, xerr=err, fmt="o", color=colour, capsize=4, label=label)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, data["reviewer_id"].astype(str))
    ax.set_title(t("bias_title", language))
    ax.set_xlabel(f"{t('bias_axis', language)} ({unit or t('rubric_points', language)})")
    ax.set_ylabel(t("reviewer_id", language))
    ax.legend(loc="best", frameon=False)
    return ax


def plot_pairwise_kappa(pairs: pd.DataFrame, item: str = ALL, ax: Axes | None = None, language: str = "en") -> Axes:
    """Heat map of weighted kappa for every reviewer pair (from ``pairwise_weighted_kappa``)."""
    from qa_helpers.report.labels import t

    ax = _ax(ax)
    data = pairs[pairs["item"] == item]
    if data.empty:
        return _empty(ax, t("no_reviewer_pairs", language))
    reviewers = pd.Index(sorted(set(data["reviewer_a"]) | set(data["reviewer_b"])))
    # filled by position in one go: a .loc assignment per cell took a second at 50 reviewers (1,225 pairs)
    a, b = reviewers.get_indexer(data["reviewer_a"]), reviewers.get_indexer(data["reviewer_b"])
    cells = np.full((len(reviewers), len(reviewers)), np.nan)
    cells[a, b] = data["kappa"].to_numpy(dtype=float)
    cells[b, a] = data["kappa"].to_numpy(dtype=float)
    grid = pd.DataFrame(cells, index=list(reviewers), columns=list(reviewers))
    weighting = data["weights"].iloc[0]
    heatmap(grid, ax, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", linewidths=0.5,
            cbar_label=f"Cohen κ ({t(f'weights.{weighting}', language)})")
    ax.set_title(f"{t('agreement_title', language)}: {t('all_items' if item == ALL else item, language)}")
    ax.set_xlabel(t("reviewer_id", language))
    ax.set_ylabel(t("reviewer_id", language))
    return ax


# --------------------------------------------------------------------------- report sections (QA calibration notebook)



@dataclass
class CalibrationData:
    """What the QA calibration notebook reads: the unit's reviews of the period and the year's calibration reviews."""

    present: bool              # the archive holds QA reviews at all
    reviews: pd.DataFrame      # this unit's reviews in the period
    calibration: pd.DataFrame  # every calibration review of the year up to the period's end (all units)
    # :func:`ticket_counts` (and the review sample drawn with them), once per report: the coverage, programme and
    # review-sample sections read them; while :func:`calibration_data`'s background scan runs, a Future of them
    counts: dict = field(default_factory=dict, repr=False, compare=False)
    # :func:`_fingerprint` of ``calibration``, the key of the tables kept for the next report (:func:`_for_calibration`)
    calibration_key: str | None = field(default=None, repr=False, compare=False)


def calibration_data(ctx, seed: int | None = None) -> CalibrationData:
    """Load the reviews a calibration report needs (empty frames when the archive holds none).

    The ticket counts (:func:`ticket_counts`) and, given the review sample's ``seed``, the sample itself
    (:func:`review_sample_section`) are started here on a DuckDB cursor of their own in a background thread:
    they are DuckDB scans of the period's tickets (DuckDB works without Python's lock), so they run while the
    distribution, agreement, bias and IQS sections compute and draw; the sections that need them wait for them.
    The results are the same as computed in place (the same functions on the same sources); an error is raised
    where the result is first needed.
    """
    from qa_helpers.data import archive as qa_archive

    reviews = ctx.load("qa_reviews")
    if not ctx.has("qa_reviews"):
        return CalibrationData(False, reviews, reviews.iloc[0:0])
    if ctx.teams is None and ctx.period.start == pd.Timestamp(year=ctx.period.start.year, month=1, day=1):
        # every unit's reviews from the year's start are already loaded: a second read of the year for its
        # calibration reviews cost 0.5 s at 400 k reviews, filter pushed into the scan or not
        year = reviews
    else:  # only the year's calibration reviews are read (the filter is pushed into the parquet scan)
        year = qa_archive.load("qa_reviews", "ALL", str(ctx.period.start.year), archive=ctx.archive,
                               where={"calibration": True})
    calib = year[year["calibration"].fillna(False).astype(bool) & (year["reviewed_at"] < ctx.period.end)]
    data = CalibrationData(True, reviews, calib.reset_index(drop=True))
    if ctx.has("tickets"):
        _start_ticket_scans(ctx, data, seed)
    return data


def _count_arguments(ctx) -> dict:
    """:func:`qa_helpers.qa.sampling.ticket_counts`'s arguments for the unit and period (the sources' SQL is
    built here, in the caller's thread)."""
    from qa_helpers.qa import sampling

    by = [*(c for c in ("channel", "category") if ctx.has("tickets", c)), "team"]
    flag = ["calibration"] if ctx.has("qa_reviews", "calibration") else []
    return {"tickets": ctx.source("tickets", columns=["ticket_id", *by]), "by": by,
            "reviews": ctx.source("qa_reviews", columns=["ticket_id", *flag]) if ctx.has("qa_reviews", "ticket_id")
            else None,
            "surveys": ctx.source("surveys", columns=["ticket_id", "csat"]) if ctx.has("surveys", "csat") else None,
            "complaints": ctx.source("complaints", columns=["ticket_id"]) if ctx.has("complaints", "ticket_id")
            else None,
            "low_csat_max": sampling.qa_settings(ctx.standards.raw)["low_csat_max"]}


@dataclass
class _SamplePlan:
    """What the review sample is drawn from: the population's SQL, its strata, the unit's teams and capacity."""

    settings: dict
    strata: list
    surveys: str | None
    complaints: str | None
    frame: str
    teams: list
    total: int


def _sample_plan(ctx) -> _SamplePlan:
    from qa_helpers.data import archive as qa_archive
    from qa_helpers.qa import sampling

    settings = sampling.qa_settings(ctx.standards.raw)
    strata = [c for c in ("channel", "category") if ctx.has("tickets", c)]
    # the population stays in DuckDB: strata are counted there and the sample drawn by a seeded hash
    surveys = ctx.source("surveys", columns=["ticket_id", "csat"]) if ctx.has("surveys", "csat") else None
    complaints = ctx.source("complaints", columns=["ticket_id"]) if ctx.has("complaints", "ticket_id") else None
    frame = sampling.population_sql(ctx.source("tickets", columns=["ticket_id", *strata]), surveys, complaints,
                                    strata, settings["low_csat_max"])
    teams = qa_archive.units(ctx.archive).set_index("unit").at[ctx.unit, "teams"]
    capacity = sampling.review_capacity(ctx.standards.raw, teams, ctx.period.next())
    return _SamplePlan(settings, strata, surveys, complaints, frame, teams, int(capacity["capacity"].sum()))


def _draw_sample(plan: _SamplePlan, seed: int, connection, counts: pd.DataFrame | None):
    from qa_helpers.qa import sampling

    return sampling.capacity_sample(plan.frame, plan.total, seed, plan.strata, plan.settings["oversample"],
                                    plan.settings["min_per_stratum"], connection=connection, counts=counts)


def _start_ticket_scans(ctx, data: CalibrationData, seed: int | None) -> None:
    """Start :func:`ticket_counts` (and the sample of ``seed``) in the background thread (see :func:`calibration_data`)."""
    from qa_helpers.data import storage
    from qa_helpers.qa import sampling

    try:
        arguments = _count_arguments(ctx)
        plan = _sample_plan(ctx) if seed is not None else None
    except Exception:  # noqa: BLE001 - nothing starts: the sections compute in place and raise it where needed
        return
    cursor = storage.register(ctx.duckdb.cursor(), ctx.archive)  # a connection of its own to the same database

    def counts() -> pd.DataFrame:
        return sampling.ticket_counts(**arguments, connection=cursor)

    def sample(counted):  # a copy of the counts: the report's sections read theirs meanwhile, in their thread
        return plan, _draw_sample(plan, seed, cursor, background.take(counted).copy())

    counted = background.submit(counts, stop=cursor.interrupt)
    data.counts["tickets"] = counted
    if plan is not None:
        data.counts[("sample", int(seed))] = background.submit(sample, counted, stop=cursor.interrupt)


def ticket_counts(ctx, data: CalibrationData) -> pd.DataFrame:
    """The unit's tickets of the period per channel × category × team × risk class, reviewed and with an
    ordinary review (:func:`qa_helpers.qa.sampling.ticket_counts`: one DuckDB scan, no ticket row loaded),
    kept on ``data``: QA coverage, the programme and the review sample all read them."""
    from concurrent.futures import Future

    from qa_helpers.qa import sampling

    if "tickets" not in data.counts:
        data.counts["tickets"] = sampling.ticket_counts(**_count_arguments(ctx), connection=ctx.duckdb)
    found = data.counts["tickets"]
    if isinstance(found, Future):
        found = data.counts["tickets"] = background.take(found)
    return found


def data_line(data: CalibrationData, language: str = "en") -> str:
    """One line on what there is to calibrate."""
    from qa_helpers.report.texts import say

    if not data.present:
        return say("calibration.no_reviews", language)
    calib = data.calibration
    return say("calibration.data_line", language, reviews=f"{len(data.reviews):,}",
               conversations=calib["ticket_id"].nunique(), reviewers=calib["reviewer_id"].nunique(),
               calibration_reviews=f"{len(calib):,}")


def _no_data(data: CalibrationData, calibration: bool = False, language: str = "en") -> str | None:
    from qa_helpers.report.texts import say

    if not data.present:
        return say("calibration.no_table", language)
    if calibration and data.calibration.empty:
        return say("calibration.no_calibration", language)
    if not calibration and data.reviews.empty:
        return say("calibration.no_unit_reviews", language)
    return None


def distribution_section(ctx, data: CalibrationData) -> list:
    """Score distributions by reviewer (two items) and the agents' mean rubric scores."""
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    language = ctx.language
    note = _no_data(data, language=language)
    if note:
        return [note]
    by_reviewer = score_distribution(data.reviews, by="reviewer_id")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for ax, item in zip(axes, ["problem_solving", "courtesy"]):
        plot_score_distribution(by_reviewer, item, ax=ax, language=language)
    means = data.reviews.groupby("agent_id")[list(RUBRIC_ITEMS)].mean()
    return [fig, say("calibration.mean_scores", language),
            table(means.sort_values("problem_solving").head(10).reset_index(), language)]


def _fingerprint(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns, dtypes and values (its row order included)."""
    import hashlib

    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _for_calibration(data: CalibrationData, name: str, compute) -> pd.DataFrame:
    """``compute(data.calibration)``, kept for the batch kernel's next report on the same calibration reviews.

    The calibration reviews are every unit's of the year up to the period's end: a batch's reports of one period
    agree on them, and on the agreement and bias tables computed from them (keyed by the reviews' content, so a
    kept table is never another set's). Kept by :func:`qa_helpers.data.archive.keep` (nothing when its cache is off).
    """
    from qa_helpers.data import archive as qa_archive

    if data.calibration_key is None:
        data.calibration_key = _fingerprint(data.calibration)
    key = ("qa_calibration", name, data.calibration_key)
    found = qa_archive.recall(key)
    if found is None:
        found = compute(data.calibration)
        qa_archive.keep(key, found)
    return found


def agreement_section(ctx, data: CalibrationData) -> list:
    """Fleiss' κ, ICC(2,1), pairwise weighted κ and the within-±10 % share on the calibration conversations."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    language = ctx.language
    note = _no_data(data, calibration=True, language=language)
    if note:
        return [note]
    fig = shared_figure(_pairwise_kappa_figure, _for_calibration(data, "pairwise_kappa", pairwise_weighted_kappa),
                        language)
    return [say("calibration.fleiss", language),
            table(_for_calibration(data, "fleiss", fleiss_kappa_by_item), language, values=["item"], precision=3),
            say("calibration.icc", language),
            table(_for_calibration(data, "icc", calibration_icc), language, values=["item"], precision=3), fig,
            say("calibration.within", language),
            table(_for_calibration(data, "within", within_tolerance).replace(
                {"reviewer_id": {ALL: t("all_reviewers", language)}}), language, percent=["share"])]


def _pairwise_kappa_figure(kappa: pd.DataFrame, language: str):
    fig, ax = plt.subplots(figsize=(6, 5))
    plot_pairwise_kappa(kappa, item="all", ax=ax, language=language)
    return fig


def bias_for(data: CalibrationData) -> pd.DataFrame | None:
    """Each reviewer's bias against the consensus, or None when there are no calibration reviews."""
    return None if _no_data(data, calibration=True) else _for_calibration(data, "bias", reviewer_bias)


def bias_section(data: CalibrationData, bias: pd.DataFrame | None, language: str = "en") -> list:
    """The bias forest plot and table (or why there is none)."""
    from qa_helpers.report.labels import table

    if bias is None:
        return [_no_data(data, calibration=True, language=language)]
    return [shared_figure(_bias_figure, bias, language), table(bias, language, precision=3)]


def _bias_figure(bias: pd.DataFrame, language: str):
    fig, ax = plt.subplots(figsize=(8, 3.8))
    plot_reviewer_bias(bias, ax=ax, language=language)
    return fig


def bias_summary(bias: pd.DataFrame | None) -> dict:
    """The index page's figure: reviewers whose bias interval excludes zero (None without calibration)."""
    if bias is None:
        return {"reviewers_biased": None}
    return {"reviewers_biased": int(((bias["ci_high"] < 0) | (bias["ci_low"] > 0)).sum())}


def iqs_for(data: CalibrationData) -> pd.DataFrame:
    """The period's ordinary (not calibration) reviews with their IQS."""
    ordinary = data.reviews[~data.reviews["calibration"].fillna(False).astype(bool)]
    return ordinary.assign(iqs=quality_score(ordinary) if len(ordinary) else pd.Series(dtype="float64"))


def iqs_section(data: CalibrationData, scored: pd.DataFrame, language: str = "en") -> list:
    """IQS histogram and the agents with the lowest mean IQS."""
    from qa_helpers.report.labels import t, table
    from qa_helpers.report.texts import say

    note = _no_data(data, language=language)
    if note or scored.empty:
        return [note or say("calibration.no_ordinary", language)]
    by_agent = scored.groupby("agent_id")["iqs"].agg(["mean", "count"]).rename(
        columns={"mean": "iqs", "count": "reviews"})
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.hist(scored["iqs"].dropna(), bins=20, color=COLOURS[0])
    ax.set_title(t("iqs_title", language))
    ax.set_xlabel("IQS (0-100)")
    ax.set_ylabel(t("reviews_count", language))
    return [fig, table(by_agent.sort_values("iqs").head(8).reset_index(), language, precision=1)]


def iqs_summary(scored: pd.DataFrame) -> dict:
    """The index page's figure: the period's mean IQS (None without reviews)."""
    return {"iqs": round(float(scored["iqs"].mean()), 1) if len(scored) else None}


def review_sample_section(ctx, margin: float, seed: int, out: str | os.PathLike = "",
                          data: CalibrationData | None = None) -> list:
    """Draw and write the next period's review sample, sized to the QA team's capacity; say how big, and link it.

    The sample is the unit's review capacity for the next period (``qa:`` in ``standards.yml``; a
    department or ALL sums its teams'), allocated across channel × category × risk strata with complaint
    and low-CSAT tickets oversampled (:func:`qa_helpers.qa.sampling.capacity_sample`); the CSV carries
    each ticket's design weight. ``margin`` sets the comparison shown beside it: how many reviews a share
    estimate within ±margin (95 %) in every stratum would need. The CSV goes to ``out``; empty means the
    unit's report folder, ``<reports>/<period>/<unit>/review_sample_<next period>.csv`` (``$QAKIT_REPORTS``,
    else ``<project>/reports``). ``qakit run`` passes its own unit folder, so the link beside the report works.
    With ``data`` the strata are counted once with the report's other ticket counts (:func:`ticket_counts`).
    """
    from qa_helpers.qa import sampling
    from qa_helpers.report.labels import table

    note = ctx.missing_note("tickets", what="No review sample")
    if note:
        return [note]
    drawn = None if data is None else data.counts.get(("sample", int(seed)))
    if drawn is not None:  # drawn in the background since calibration_data (the same plan and draw)
        plan, (sample, allocation) = background.take(drawn)
    else:
        plan = _sample_plan(ctx)
        sample, allocation = _draw_sample(plan, seed, ctx.duckdb, None if data is None else ticket_counts(ctx, data))
    settings, strata, surveys, complaints = plan.settings, plan.strata, plan.surveys, plan.complaints
    teams, total = plan.teams, plan.total
    population = int(allocation["population"].sum())
    target = Path(out) if out else reports_dir() / ctx.period.label / ctx.unit / review_sample_name(ctx.period)
    write_review_sample(sample, target)
    needed = int(required_sample_size(allocation["population"].to_numpy(), margin).sum())
    unknown = [what for what, loaded in (("low_csat", surveys), ("complaints", complaints)) if loaded is None]
    from qa_helpers.report.labels import t
    from qa_helpers.report.texts import Said, say

    language = ctx.language
    line = say("calibration.sample_line", language, sampled=f"{len(sample):,}", tickets=f"{population:,}",
               period=str(ctx.period.next()), capacity=f"{total:,}", teams=len(teams),
               per_week=f"{settings['reviews_per_week']:g}", strata=f"{len(allocation):,}",
               by=" × ".join(t(s, language) for s in [*strata, "risk"]),
               complaint=f"{settings['oversample']['complaint']:g}", low_csat=f"{settings['oversample']['low_csat']:g}",
               seed=seed)
    # the link's text and address are escaped for Markdown and for a URL; a file name is shown as written
    return [Said(f'{line} <span class="verbatim">[{markdown_text(target.name)}]({quote(target.name)})</span>'),
            say("calibration.sample_need", language, margin=f"{margin:.0%}", needed=f"{needed:,}")
            + (say("calibration.sample_unknown", language, what="、".join(t(f"lacking.{w}", language) for w in unknown)
                   if language == "zh" else ", ".join(t(f"lacking.{w}", language) for w in unknown)) if unknown else ""),
            table(sampling.sample_against_capacity(sample, population, total), language,
                  percent=["capacity_used", "sample_share"]),
            table(allocation.drop(columns="stratum").sort_values("sample_size", ascending=False).head(12), language,
                  values=["channel", "category", "risk"], precision=1)]


def coverage_section(ctx, data: CalibrationData) -> list:
    """QA coverage of the period: the share of the unit's tickets with an ordinary (not calibration) review,
    overall and per channel.

    One definition with the QA programme's coverage (:func:`qa_helpers.people.sections.programme_for`), which
    is held against the ``qa_coverage`` target: calibration reviews re-score tickets to align the reviewers and
    do not count (before, this section counted them and showed about 0.1 point more under the same name)."""
    from qa_helpers.qa.sampling import coverage_from_counts
    from qa_helpers.report.labels import table
    from qa_helpers.report.texts import say

    note = _no_data(data, language=ctx.language) or ctx.missing_note("tickets", what="No QA coverage")
    if note:
        return [note]
    by = "channel" if ctx.has("tickets", "channel") else None
    coverage = coverage_from_counts(ticket_counts(ctx, data), ctx.unit, by)
    unit = coverage.iloc[0]
    if unit["tickets"] == 0:
        return [say("calibration.coverage_none", ctx.language)]
    return [say("calibration.coverage_line", ctx.language, reviewed=f"{unit['reviewed']:,}",
                tickets=f"{unit['tickets']:,}", coverage=f"{unit['coverage']:.1%}"),
            table(coverage, ctx.language, values=["level", "group"], percent=["coverage"])]
