"""Before/after statistics for improvement actions (DESIGN.md §6).

statsmodels and scipy do the maths; this package chooses the method for each kind of metric,
wires the data into it and writes every answer as one tidy row with the same columns
(:data:`COLUMNS`): estimate, CI, p, adjusted p, sizes, minimum detectable effect, method
name and a verdict that knows which direction is better. Every public name of the
submodules is available here, so callers write ``from qa_helpers import stats`` and
``stats.before_after(...)``.

Kinds of metric and their effect scale
--------------------------------------
``proportion``  CSAT top-2 share, FCR, on-time rate. ``effect = after - before`` (difference).
                Newcombe hybrid-score CI + two-proportion score test.
``duration``    Handle / response seconds (skewed, positive). ``effect = after / before``, the
                ratio of geometric means (log scale). Never a t-test on raw seconds.
``ordinal``     1–5 scores. ``effect`` = probability of superiority
                P(after > before) + ½ P(tie); 0.5 means no change.
``rate``        Complaints per 1 000 tickets (or per exposure). ``effect`` = rate ratio;
                ``before``/``after`` are per :data:`RATE_PER` exposure units.

Clustering
----------
Tickets cluster within agents, and a team has good and bad weeks (a lead away, an outage, a
campaign) that move every agent at once. So by default (``cluster="agent_id"``, and
:func:`before_after`'s ``cluster_weeks=True``) every comparison is clustered on agent *and*
ISO week, two-way (Cameron, Gelbach & Miller 2011: ``V_agent + V_week - V_agent x week``,
the intersection term observation-level, floored at the agent-clustered part), each
part CR2 (Bell & McCaffrey 2002) with t on the smaller one-way Bell–McCaffrey df. Clustered
on agents alone, the before/after duration test raised 16 % false alarms under team-week
shocks of SD 0.1; see the README for the measured rates. ``cluster=None`` gives the naive
observation-level test, kept only to show how much it over-states certainty.

* proportions and rates: the two-way variance of the difference of window means (linear
  probability / exposure-weighted rate) over the binomial / Poisson variance is the design
  effect (Kish's deff, an estimate, so not floored at 1 except for the exact methods) times the
  small-sample factor (t_df / z)²; counts and sizes are divided by it (Rao & Scott 1992) and the Newcombe CI + score test (Poisson score
  test and CI for rates; the exact tests below 10 effective events) run on those counts.
* durations: log seconds, the same two-way CR2 contrast and t; CI for the ratio of geometric
  means by exponentiating.
* ordinal scores: the probability of superiority with a two-way cluster-robust variance of
  its placement values (structural components, Obuchowski 1997), t with min(G) - 1 df.
* channel-standardised rows: the same two-way CR2 on the window x channel cell means.
* rates: the two-way sum is floored at the smaller one-way part (rare events make both parts
  mostly Poisson noise; the agent floor made the rate tests conservative).
* difference-in-differences: two-way CR2 on agent and team-week over the team x agent x week
  cells (:func:`diff_in_diff`); segmented regression: a quadratic baseline (a straight one for
  1-5 scores, :func:`bends`), AR(1) errors and a parametric-bootstrap reference (:func:`segmented`).
* MDEs: from the test's own SE scaled to be median-unbiased (:func:`qa_helpers.stats.power._se_median_factor`).

Named methods (``test=``): ``"yates"`` (R ``prop.test``), ``"exact"`` (Fisher / R
``poisson.test``), ``"welch"`` (R ``t.test`` on log seconds), ``"wilcoxon"`` (R
``wilcox.test``); the last two are observation-level.

Verdicts
--------
See :mod:`qa_helpers.stats.results`: improved / worsened (adjusted p < alpha *and* a CI that
excludes no change), no change larger than the MDE, inconclusive (underpowered / at ceiling /
no events), not estimable (with the reason in ``note``). :func:`adjust_family` puts every
verdict-bearing row of an action in one Holm (or BH) family, with CIs at the family's level.

Submodules
----------
results
    The result row (:data:`COLUMNS`), the verdict rules, kinds of metric and their scales.
windows
    Whole-week before / wash-out / after windows (:func:`week_windows`, :func:`label_windows`).
comparisons
    :func:`compare` and :func:`before_after`: pick the test for the kind of metric.
proportions
    Shares: Newcombe CI + score test on Rao–Scott effective counts.
durations
    Seconds: ratio of geometric means on the log scale; Welch t and Wilcoxon rank-sum by name.
ordinal
    1–5 scores: probability of superiority.
rates
    Events per exposure: Poisson score test and CI for the rate ratio.
categorical
    :func:`mix_shift`: chi-square test of the category mix between windows.
standardised
    Direct standardisation to the before-window mix (``compare(..., stratify=...)``).
did
    :func:`diff_in_diff`: difference-in-differences against control teams; :func:`diff_in_diff_cells` the same
    from team x agent x week sums (computed in DuckDB, no row loaded).
its
    :func:`segmented`: segmented regression (interrupted time series) of a weekly series,
    AR(1) GLS with a parametric-bootstrap reference.
multiplicity
    :func:`evaluate`, :func:`adjust_family`: Holm / Benjamini–Hochberg adjustment of p and CIs,
    and the final verdicts.
power
    Minimum detectable effects at :data:`POWER`.
surveys
    Survey answers (issue 15): NPS with its CI and two-sample test, Cronbach's α (Feldt CI),
    response rates and the non-response-weighted CSAT, stratified sample sizes, key drivers.
_common
    Private helpers the tests share: checked observations, clustered cell means, t inference.
"""

from __future__ import annotations

import importlib
from typing import Any

# scipy.stats and statsmodels cost ~1-2.5 s of CPU to import: a notebook whose first cell only tracks or lists
# (05, 07, 08, 09) must not pay for them, so each name loads its module on first use (PEP 562)
_HOME = {
    "mix_shift": "categorical", "before_after": "comparisons", "compare": "comparisons",
    "diff_in_diff": "did", "diff_in_diff_cells": "did", "wilcoxon_rank_sum": "durations",
    "bends": "its", "segmented": "its", "adjust_family": "multiplicity", "evaluate": "multiplicity",
    "POWER": "power", "cr2_contrast": "cr2",
    "clopper_pearson": "proportions", "exact_difference": "proportions", "yates_prop_test": "proportions",
    "exact_poisson": "rates", "exact_rate_ratio": "rates",
    "COLUMNS": "results", "DIRECTIONS": "results", "KINDS": "results", "NOT_ESTIMABLE": "results",
    "RATE_PER": "results", "VERDICTS": "results",
    "WINDOWS": "windows", "label_windows": "windows", "week_windows": "windows",
    # survey statistics (issue 15, h-survey)
    "cronbach_alpha": "surveys", "key_drivers": "surveys", "nps_difference": "surveys", "nps_estimate": "surveys",
    "response_rates": "surveys", "stratum_sizes": "surveys", "weighted_csat": "surveys",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def preload(names: list[str]) -> None:
    """Start importing the modules of these names in a background thread, and return at once.

    A caller that will run tests after some archive scans calls it first: DuckDB releases the GIL while it
    scans, so the ~2 s of scipy.stats and statsmodels imports overlap the scans instead of following them.
    Using a name waits for its module's import (Python's import lock); a module already loaded costs nothing.

    Parameters
    ----------
    names : list of str
        Public names of this package (:data:`__all__`).
    """
    import sys
    import threading

    modules = [f"{__name__}.{_HOME[name]}" for name in dict.fromkeys(names)]
    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return

    def load() -> None:
        for module in missing:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the name's first use imports it again and raises there
                return

    threading.Thread(target=load, name="qa_helpers.stats.preload", daemon=True).start()


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
