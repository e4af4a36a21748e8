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
Tickets cluster within agents, so by default (``cluster="agent_id"``) every comparison
accounts for it; ``cluster=None`` gives the naive observation-level test, kept only to show
how much it over-states certainty.

* proportions and rates: the difference of the two window means gets an agent-clustered
  (CR1) sandwich variance from statsmodels WLS; its ratio to the binomial / Poisson variance
  is the design effect (Kish's deff, ≈ 1 + (m - 1)·ICC for clusters of size m, without
  assuming equal cluster sizes). Counts and sizes are divided by it (Rao & Scott 1992) and
  the Newcombe CI + score test (Poisson score test and CI for rates) run on those effective
  counts. The deff is never taken below 1 and carries the small-sample factor
  (t_{G-1} / z)², so the test is no more liberal than cluster-robust t inference with
  G - 1 degrees of freedom. When the same agents work in both windows the sandwich includes
  their before/after covariance.
* durations: OLS of log seconds on the window with agent-clustered (CR1) errors and t with
  G - 1 degrees of freedom; CI for the ratio of geometric means by exponentiating.
* ordinal scores: the probability of superiority with a cluster-robust variance from its
  placement values (structural components, Obuchowski 1997), t with G - 1 degrees of freedom.
  The naive variant is the Brunner–Munzel estimate (statsmodels ``rank_compare_2indep``).

Verdicts
--------
Significant at ``alpha`` (on the adjusted p once :func:`evaluate` has run): "improved" or
"worsened" depending on ``direction``. Not significant: "inconclusive (underpowered)" when an
``expected_effect`` was given and the minimum detectable effect (``mde``, 80 % power, in the
effect's own scale and in the better direction) is further from "no change" than it, or
when no improvement at all is detectable with that power (``mde`` is NaN); otherwise "no
detectable change". Without ``expected_effect`` the kit cannot judge power, so read ``mde``
before calling anything "no change".

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
    Seconds: ratio of geometric means on the log scale.
ordinal
    1–5 scores: probability of superiority.
rates
    Events per exposure: Poisson score test and CI for the rate ratio.
categorical
    :func:`mix_shift`: chi-square test of the category mix between windows.
standardised
    Direct standardisation to the before-window mix (``compare(..., stratify=...)``).
did
    :func:`diff_in_diff`: difference-in-differences against control teams.
its
    :func:`segmented`: segmented regression (interrupted time series) of a weekly series.
multiplicity
    :func:`evaluate`: Holm / Benjamini–Hochberg adjustment and the final verdicts.
power
    Minimum detectable effects at :data:`POWER`.
_common
    Private helpers the tests share: checked observations, clustered cell means, t inference.
"""

from __future__ import annotations

from qa_helpers.stats.categorical import mix_shift
from qa_helpers.stats.comparisons import before_after, compare
from qa_helpers.stats.did import diff_in_diff
from qa_helpers.stats.durations import wilcoxon_rank_sum
from qa_helpers.stats.its import segmented
from qa_helpers.stats.multiplicity import adjust_family, evaluate
from qa_helpers.stats.power import POWER
from qa_helpers.stats.cr2 import cr2_contrast
from qa_helpers.stats.proportions import clopper_pearson, exact_difference, yates_prop_test
from qa_helpers.stats.rates import exact_poisson, exact_rate_ratio
from qa_helpers.stats.results import COLUMNS, DIRECTIONS, KINDS, NOT_ESTIMABLE, RATE_PER, VERDICTS
from qa_helpers.stats.windows import WINDOWS, label_windows, week_windows

__all__ = [
    "COLUMNS", "DIRECTIONS", "KINDS", "NOT_ESTIMABLE", "POWER", "RATE_PER", "VERDICTS", "WINDOWS",
    "adjust_family", "before_after", "clopper_pearson", "compare", "cr2_contrast", "exact_difference",
    "exact_poisson", "exact_rate_ratio", "wilcoxon_rank_sum", "yates_prop_test", "diff_in_diff", "evaluate", "label_windows", "mix_shift",
    "segmented", "week_windows",
]
