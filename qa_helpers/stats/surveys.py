"""Survey statistics: NPS with its interval and before/after test, Cronbach's α, non-response
weights, stratified sample sizes and key drivers (issue 15, seed 002).

Every estimate is one tidy row with :data:`ESTIMATE_COLUMNS`: ``metric, method, estimate, ci_low,
ci_high, p, n, note`` (a before/after comparison is a :data:`~qa_helpers.stats.results.COLUMNS` row
with a verdict, like every other before/after test of the kit). Survey answers are treated as
independent observations (one answer per ticket); the rows say so in ``method``.

NPS
    ``100 × (share of promoters 9–10 − share of detractors 0–6)``; its variance is the
    multinomial variance of the promoter − detractor difference, ``(p + d − (p − d)²) / n``
    (Rocks 2016). The CI is an adjusted Wald interval: one pseudo-answer is added to each of
    promoters, passives and detractors (n + 3), so that a sample all in one group still gets
    an interval with width. The before/after z-test takes its standard error from the pooled
    shares (under H0 both periods share the promoter and detractor shares); its CI is the
    adjusted Wald interval of the difference (pseudo-answers added in each period).
Cronbach's α
    ``k / (k − 1) × (1 − Σ item variances / variance of the total)`` on complete answers
    (listwise, as R ``psych::alpha(use = "complete.obs")``), with Feldt's (1965; Feldt, Woodruff
    & Salih 1987) F-based CI. Seed 002 cites reliability of 0.9 or more (:data:`RELIABILITY_BAR`).
Non-response
    Response rate = survey answers / tickets per stratum (customer type × channel by default);
    the weighted CSAT gives each answer the weight tickets / answers of its stratum (inverse
    response rate, i.e. post-stratification to the tickets' mix), with the stratified variance
    (each stratum's share taken as (x_h + 1) / (n_h + 2) in the variance, never 0).
Sample sizes
    Cochran (1977, §5.9): the total for a margin of error on a share at a confidence level, with
    proportional or Neyman allocation and the finite population correction, inflated by each
    stratum's expected response rate into invitations.
Key drivers
    Overall CSAT regressed on the item scores (OLS on z-scores: standardised β with CI and p)
    and each item's general dominance weight (Budescu 1993: its average R² increment over all
    subsets of the other items), as a share of R².
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from qa_helpers.stats.results import _result

ESTIMATE_COLUMNS = ["metric", "method", "estimate", "ci_low", "ci_high", "p", "n", "note"]
RELIABILITY_BAR = 0.9  # seed 002: questionnaires with reliability and validity of 0.9 or more
NPS_METHOD = ("NPS, adjusted Wald CI (one pseudo-answer added to promoters, passives and detractors) from "
              "the multinomial variance of promoters − detractors")
STRATA = ("customer_type", "channel")


def _z(alpha: float) -> float:
    # scipy.stats, statsmodels and power (which imports both) load when a test runs, not with the module
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def _row(metric: str, method: str, estimate: float, ci: tuple[float, float], p: float, n: int,
         note: str = "", **extra) -> pd.DataFrame:
    row = {"metric": metric, "method": method, "estimate": float(estimate), "ci_low": float(ci[0]),
           "ci_high": float(ci[1]), "p": float(p), "n": int(n), "note": note, **extra}
    return pd.DataFrame([row])


def _complete(frame: pd.DataFrame, counts: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``frame`` with every (non-count) column present, as floats, and each row's count."""
    columns = [c for c in frame.columns if c != counts]
    values = frame[columns].apply(pd.to_numeric, errors="coerce").astype("float64")
    keep = values.notna().all(axis=1).to_numpy()
    weights = (frame[counts].to_numpy(dtype="float64") if counts else np.ones(len(frame)))[keep]
    return values[keep], weights


def _mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (weights @ values) / weights.sum() if values.ndim == 2 else float(weights @ values / weights.sum())


def _variance(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sample variance (ddof 1) of rows standing for ``weights`` answers each: two passes, as pandas."""
    centred = values - _mean(values, weights)
    return (weights @ centred ** 2) / (weights.sum() - 1)


def _nps_parts(scores) -> tuple[int, float, float]:
    """n, promoter share and detractor share of 0–10 scores (missing answers left out)."""
    values = pd.to_numeric(pd.Series(scores, dtype="float64"), errors="coerce").dropna().to_numpy()
    if ((values < 0) | (values > 10)).any():
        raise ValueError("NPS answers are 0-10; got values outside that scale")
    n = len(values)
    if n == 0:
        return 0, np.nan, np.nan
    return n, float((values >= 9).mean()), float((values <= 6).mean())


def _nps_adjusted(scores) -> tuple[float, float]:
    """NPS (points) and its standard error (points) with one pseudo-answer added to each of promoters,
    passives and detractors: the centre and spread of the adjusted Wald interval."""
    n, p, d = _nps_parts(scores)
    n = max(n, 0)
    p, d = ((p * n + 1) / (n + 3), (d * n + 1) / (n + 3)) if n else (1 / 3, 1 / 3)
    return 100 * (p - d), 100 * np.sqrt(max(p + d - (p - d) ** 2, 0.0) / (n + 3))


def nps_estimate(scores, alpha: float = 0.05, metric: str = "nps") -> pd.DataFrame:
    """NPS with its confidence interval.

    Parameters
    ----------
    scores : array-like
        0–10 likelihood-to-recommend answers; missing answers are left out.
    alpha : float
        1 − confidence level of the interval.
    metric : str
        Name written in the row.

    Returns
    -------
    DataFrame
        One row: :data:`ESTIMATE_COLUMNS` (``estimate`` in points, −100..100; ``p`` is NaN: an
        estimate, not a test) plus ``promoters``, ``detractors`` (shares) and ``se`` (points, of the
        adjusted Wald interval: one pseudo-answer added to each group, so never 0).
    """
    n, p, d = _nps_parts(scores)
    if n == 0:
        return _row(metric, NPS_METHOD, np.nan, (np.nan, np.nan), np.nan, 0, "no answers",
                    promoters=np.nan, detractors=np.nan, se=np.nan)
    estimate = 100 * (p - d)
    centre, se = _nps_adjusted(scores)
    half = _z(alpha) * se
    ci = (max(centre - half, -100.0), min(centre + half, 100.0))
    return _row(metric, NPS_METHOD, estimate, ci, np.nan, n, "", promoters=p, detractors=d, se=se)


def nps_difference(before, after, alpha: float = 0.05, metric: str = "nps",
                   expected_effect: float | None = None) -> pd.DataFrame:
    """Two-sample NPS test: the change in NPS between two independent sets of answers.

    Parameters
    ----------
    before, after : array-like
        0–10 answers of the two periods (or groups).
    alpha : float
        Significance level; the CI is at 1 − ``alpha``.
    metric : str
        Name written in the row.
    expected_effect : float, optional
        The change in points that matters (else the minimum detectable effect at 80 % power).

    Returns
    -------
    DataFrame
        One :data:`~qa_helpers.stats.results.COLUMNS` row: ``before``/``after`` NPS in points,
        ``effect`` = after − before (points), two-sided z-test p with the standard error of the pooled
        shares (H0: both periods share them), adjusted Wald CI (one pseudo-answer added to each group in
        each period, summed multinomial variances), sizes, MDE (pooled) and the kit's verdict (higher
        is better).
    """
    n0, p0, d0 = _nps_parts(before)
    n1, p1, d1 = _nps_parts(after)
    method = ("NPS difference, z-test with the pooled multinomial variance of promoters − detractors, "
              "adjusted Wald CI")
    if min(n0, n1) == 0:
        return _result(metric, method, np.nan, np.nan, np.nan, (np.nan, np.nan), np.nan, n0, n1, np.nan,
                       scale="difference", direction="increase", alpha=alpha, expected_effect=expected_effect,
                       reason="no answers in a window")
    pooled_p, pooled_d = (n0 * p0 + n1 * p1) / (n0 + n1), (n0 * d0 + n1 * d1) / (n0 + n1)
    se = 100 * np.sqrt(max(pooled_p + pooled_d - (pooled_p - pooled_d) ** 2, 0.0) * (1 / n0 + 1 / n1))
    (centre0, se0), (centre1, se1) = _nps_adjusted(before), _nps_adjusted(after)
    ci_centre, ci_se = centre1 - centre0, np.hypot(se0, se1)
    before_nps, after_nps = 100 * (p0 - d0), 100 * (p1 - d1)
    effect = after_nps - before_nps
    if se == 0:
        return _result(metric, method, before_nps, after_nps, effect, (np.nan, np.nan), np.nan, n0, n1, np.nan,
                       scale="difference", direction="increase", alpha=alpha, expected_effect=expected_effect,
                       reason="every answer in the same group in both windows (standard error 0)")
    from scipy import stats

    from qa_helpers.stats.power import POWER

    z = effect / se
    p = float(2 * stats.norm.sf(abs(z)))
    mde = (_z(alpha) + stats.norm.ppf(POWER)) * se

    def interval(level_alpha: float) -> tuple[float, float]:
        half = _z(level_alpha) * ci_se
        return max(ci_centre - half, -200.0), min(ci_centre + half, 200.0)

    ci = interval(alpha)

    return _result(metric, method, before_nps, after_nps, effect, ci, p, n0, n1, mde, scale="difference",
                   direction="increase", alpha=alpha, expected_effect=expected_effect,
                   note="answers treated as independent (one per ticket)", interval=interval)


def cronbach_alpha(items: pd.DataFrame, alpha: float = 0.05, bar: float = RELIABILITY_BAR,
                   metric: str = "cronbach_alpha", counts: str | None = None) -> pd.DataFrame:
    """Cronbach's α of a multi-item questionnaire, with Feldt's confidence interval.

    Parameters
    ----------
    items : DataFrame
        One column per item, one row per respondent; rows with a missing item are left out
        (listwise, R ``psych::alpha(use = "complete.obs")``).
    alpha : float
        1 − confidence level of the interval (not the coefficient).
    bar : float
        The reliability the questionnaire should reach (seed 002: 0.9).
    metric : str
        Name written in the row.
    counts : str, optional
        A column of ``items`` (not an item) giving how many identical answers each row stands for
        (a table counted in DuckDB: one row per distinct answer); without it each row is one answer.

    Returns
    -------
    DataFrame
        One row: :data:`ESTIMATE_COLUMNS` plus ``items`` (k), ``bar`` and ``meets_bar`` (the
        estimate reaches the bar; ``bar_sure``: the CI's lower limit does too).
    """
    complete, weights = _complete(items, counts)
    n, k = int(weights.sum()), complete.shape[1]
    method = "Cronbach's α (listwise), Feldt F-based CI"
    extra = {"items": k, "bar": bar}
    if k < 2 or n < 3:
        return _row(metric, method, np.nan, (np.nan, np.nan), np.nan, n, "needs 2 or more items and 3 or more "
                    "complete answers", **extra, meets_bar=False, bar_sure=False)
    values = complete.to_numpy()
    item_var = _variance(values, weights).sum()
    total_var = _variance(values.sum(axis=1), weights)
    if total_var == 0:
        return _row(metric, method, np.nan, (np.nan, np.nan), np.nan, n, "every respondent gave the same total",
                    **extra, meets_bar=False, bar_sure=False)
    estimate = k / (k - 1) * (1 - item_var / total_var)
    from scipy import stats

    df1, df2 = n - 1, (n - 1) * (k - 1)
    ci = (1 - (1 - estimate) * stats.f.isf(alpha / 2, df1, df2),
          1 - (1 - estimate) * stats.f.isf(1 - alpha / 2, df1, df2))
    return _row(metric, method, estimate, ci, np.nan, n, "", **extra, meets_bar=bool(estimate >= bar),
                bar_sure=bool(ci[0] >= bar))


# ---------------------------------------------------------------- non-response

def _top2(csat: pd.Series) -> pd.Series:
    return (pd.to_numeric(csat, errors="coerce") >= 4).astype(float).where(csat.notna())


NOT_RECORDED = "not recorded"


def _strata(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with its stratum columns as text, a missing value as a stratum of its own."""
    out = frame.copy()
    for column in by:
        out[column] = out[column].astype("object").where(out[column].notna(), NOT_RECORDED).astype(str)
    return out


def response_rates(tickets: pd.DataFrame, surveys: pd.DataFrame, by: tuple[str, ...] = STRATA,
                   counts: str | None = None) -> pd.DataFrame:
    """Survey response rate per stratum.

    Parameters
    ----------
    tickets : DataFrame
        The period's tickets with the ``by`` columns, or their counts per stratum (the ``by`` columns
        and ``tickets``: an archive too large to load the tickets counts them in DuckDB).
    surveys : DataFrame
        The period's survey answers (``source`` = survey: online reviews are not answers to an
        invitation) with the same ``by`` columns (linked from their tickets).
    by : tuple of str
        The strata (default customer type × channel).
    counts : str, optional
        A column of ``surveys`` giving how many identical answers each row stands for (a table counted
        in DuckDB: one row per distinct answer); without it each row is one answer.

    Returns
    -------
    DataFrame
        ``*by, tickets, answers, response_rate, weight`` (weight = tickets / answers, the inverse
        response rate; NaN for a stratum without answers), plus a ``csat`` column (top-2 share of
        the stratum's answers). A missing stratum value is a stratum of its own (``not recorded``);
        answers whose stratum has no tickets get no weight (``tickets`` 0 is left out).
    """
    answers = surveys[surveys["source"] == "survey"] if "source" in surveys else surveys
    tickets = _strata(tickets, by)
    answers = _strata(answers, by)
    # tickets as rows, or already counted per stratum (a ``tickets`` column, e.g. from DuckDB)
    population = (tickets.groupby(list(by), observed=True)["tickets"].sum() if "tickets" in tickets
                  else tickets.groupby(list(by), observed=True).size()).rename("tickets")
    top2 = _top2(answers["csat"])
    weight = answers[counts] if counts else pd.Series(1, index=answers.index)
    given = weight.where(top2.notna(), 0)
    sums = pd.DataFrame({"answers": given, "satisfied": (top2 * weight).fillna(0)}).groupby(
        [answers[c] for c in by], observed=True).sum()
    got = pd.DataFrame({"answers": sums["answers"],
                        "csat": (sums["satisfied"] / sums["answers"]).where(sums["answers"] > 0)})
    out = pd.concat([population, got], axis=1).reset_index()
    out = out[out["tickets"].fillna(0) > 0].copy()
    out["tickets"] = out["tickets"].astype(int)
    out["answers"] = out["answers"].fillna(0).astype(int)
    out["response_rate"] = out["answers"] / out["tickets"]
    out["weight"] = (out["tickets"] / out["answers"]).where(out["answers"] > 0)
    return out[[*by, "tickets", "answers", "response_rate", "weight", "csat"]].reset_index(drop=True)


def weighted_csat(tickets: pd.DataFrame, surveys: pd.DataFrame, by: tuple[str, ...] = STRATA,
                  alpha: float = 0.05, counts: str | None = None) -> pd.DataFrame:
    """Raw CSAT (top-2 share of the answers) beside the non-response-weighted CSAT.

    Parameters
    ----------
    tickets, surveys : DataFrame
        As for :func:`response_rates`.
    by : tuple of str
        The strata whose response rates differ (default customer type × channel).
    alpha : float
        1 − confidence level.
    counts : str, optional
        As for :func:`response_rates`.

    Returns
    -------
    DataFrame
        Two rows, ``csat_raw`` and ``csat_weighted``, with :data:`ESTIMATE_COLUMNS` (shares 0–1)
        plus ``tickets`` (the population weighted to). The raw row has a Wilson CI; the weighted
        one is the post-stratified mean Σ W_h p_h (W_h = the stratum's share of tickets, i.e.
        weights tickets / answers) with the stratified variance Σ W_h² q_h (1 − q_h) / n_h, where
        q_h = (x_h + 1) / (n_h + 2) (a stratum where every answer, or none, is satisfied still has
        sampling variance). Strata
        without answers cannot be weighted: their tickets are left out, and ``note`` says how many.
    """
    from statsmodels.stats.proportion import proportion_confint

    rates = response_rates(tickets, surveys, by, counts=counts)
    answers = surveys[surveys["source"] == "survey"] if "source" in surveys else surveys
    top2 = _top2(answers["csat"])
    weight = answers[counts] if counts else pd.Series(1, index=answers.index)
    n, hits = int(weight[top2.notna()].sum()), int((top2 * weight).sum())
    answered = rates[rates["answers"] > 0]
    n_weighted = int(answered["answers"].sum())
    total_tickets = int(rates["tickets"].sum())
    left_out = int(rates.loc[rates["answers"] == 0, "tickets"].sum())
    method = (f"post-stratified by {' × '.join(by)} (weight = tickets / answers), stratified variance with "
              "(satisfied + 1) / (answers + 2) per stratum")
    notes = [f"{left_out} ticket(s) in strata without answers left out" if left_out else "",
             f"{n - n_weighted} answer(s) whose stratum has no tickets in the period left out" if n > n_weighted else ""]
    if n == 0 or n_weighted == 0:
        empty = (np.nan, np.nan)
        raw = _row("csat_raw", "top-2 share of answers, Wilson CI", hits / n if n else np.nan,
                   proportion_confint(hits, n, alpha=alpha, method="wilson") if n else empty, np.nan, n,
                   "" if n else "no answers", tickets=total_tickets)
        return pd.concat([raw, _row("csat_weighted", method, np.nan, empty, np.nan, 0, "no answers to weight",
                                    tickets=total_tickets)], ignore_index=True)
    share = answered["tickets"] / answered["tickets"].sum()
    p_h = answered["csat"]
    estimate = float((share * p_h).sum())
    # the variance term takes (x_h + 1) / (n_h + 2): a stratum at 0 % or 100 % is not known exactly
    n_h = answered["answers"]
    q_h = (p_h * n_h + 1) / (n_h + 2)
    var = float((share ** 2 * q_h * (1 - q_h) / n_h).sum())
    half = _z(alpha) * np.sqrt(var)
    return pd.concat([
        _row("csat_raw", "top-2 share of answers, Wilson CI", hits / n,
             proportion_confint(hits, n, alpha=alpha, method="wilson"), np.nan, n, tickets=total_tickets),
        _row("csat_weighted", method, estimate, (max(estimate - half, 0.0), min(estimate + half, 1.0)), np.nan,
             n_weighted, "; ".join(x for x in notes if x), tickets=total_tickets - left_out),
    ], ignore_index=True)


# ---------------------------------------------------------------- sample sizes

def stratum_sizes(population: pd.DataFrame, margin: float = 0.03, confidence: float = 0.95,
                  allocation: str = "proportional", share: float | str = 0.5,
                  response_rate: str | None = None, stratum: str = "stratum") -> pd.DataFrame:
    """Per-stratum survey sample sizes for a stated precision of a share (e.g. CSAT ± 3 points at 95 %).

    Parameters
    ----------
    population : DataFrame
        One row per stratum: ``stratum`` (name), ``tickets`` (N_h) and optionally the expected
        share (column named by ``share``) and response rate (column named by ``response_rate``).
    margin : float
        Half-width of the confidence interval wanted for the overall share (0.03 = ± 3 points).
    confidence : float
        Confidence level of that interval.
    allocation : {"proportional", "neyman"}
        Proportional to N_h, or Neyman (to N_h S_h: more where answers vary more).
    share : float or str
        The expected share (0.5: the worst case), or the name of a column with one per stratum.
    response_rate : str, optional
        A column with each stratum's expected response rate: invitations = answers / rate.
    stratum : str
        The column naming the strata.

    Returns
    -------
    DataFrame
        ``stratum, tickets, share, answers_needed, invitations, method`` and the design's total in
        ``attrs["total"]``. Answers are rounded up and never exceed the stratum's tickets (a
        census of a small stratum); invitations are capped at the tickets too.
    """
    if allocation not in ("proportional", "neyman"):
        raise ValueError(f"allocation must be 'proportional' or 'neyman', got {allocation!r}")
    if not 0 < margin < 1 or not 0 < confidence < 1:
        raise ValueError("margin and confidence must be between 0 and 1")
    out = population.copy()
    N = out["tickets"].astype(float).to_numpy()
    total = N.sum()
    if total <= 0:
        raise ValueError("the population has no tickets")
    p = out[share].astype(float).to_numpy() if isinstance(share, str) else np.full(len(out), float(share))
    p = np.clip(p, 0.01, 0.99)  # a stratum expected at 0 % or 100 % still needs answers to show it
    W = N / total
    S2 = p * (1 - p)
    S = np.sqrt(S2)
    V = (margin / _z(1 - confidence)) ** 2
    if allocation == "proportional":
        w = W
        n_total = (W * S2).sum() / (V + (W * S2).sum() / total)
    else:
        w = W * S / (W * S).sum()
        n_total = (W * S).sum() ** 2 / (V + (W * S2).sum() / total)
    answers = np.minimum(np.ceil(n_total * w), N).astype(int)
    out["share"] = p
    out["answers_needed"] = answers
    if response_rate is not None:
        rate = out[response_rate].astype(float).to_numpy()
        invites = np.where(rate > 0, np.ceil(answers / np.where(rate > 0, rate, 1)), N)
        out["invitations"] = np.minimum(invites, N).astype(int)
    else:
        out["invitations"] = answers
    out["method"] = (f"Cochran stratified, {allocation} allocation, ± {margin:.0%} at {confidence:.0%}, "
                     "finite population corrected")
    out.attrs["total"] = int(answers.sum())
    return out[[stratum, "tickets", "share", "answers_needed", "invitations", "method"]].reset_index(drop=True)


# ---------------------------------------------------------------- key drivers

def _r2(corr: np.ndarray, cols: tuple[int, ...]) -> float:
    """R² of the OLS of column 0 on ``cols`` (with an intercept), from the correlation matrix.

    For z-scored data R² = r' R⁻¹ r (r: the outcome's correlations with the regressors, R theirs), so
    the 2^k subsets of a dominance analysis cost one cross-product of the rows instead of 2^k fits.
    """
    if not cols:
        return 0.0
    index = [c + 1 for c in cols]
    r = corr[0, index]
    return float(r @ np.linalg.solve(corr[np.ix_(index, index)], r))


def _ols(y: np.ndarray, X: np.ndarray, weights: np.ndarray, alpha: float):
    """OLS of ``y`` on ``X`` with an intercept, each row standing for ``weights`` identical observations:
    coefficients, their t-based CIs and p-values, and R² (what statsmodels' ``OLS(...).fit()`` gives on
    the rows repeated, from the weighted cross-products instead of the rows)."""
    from scipy import stats

    design = np.column_stack([np.ones(len(y)), X])
    weighted = design * weights[:, None]
    inverse = np.linalg.pinv(weighted.T @ design)  # pinv, as statsmodels: collinear items still fit
    beta = inverse @ (weighted.T @ y)
    resid = y - design @ beta
    df = weights.sum() - np.linalg.matrix_rank(inverse)  # the rank of X, from its small cross-product
    ssr = float(weights @ resid ** 2)
    se = np.sqrt(np.diag(inverse) * ssr / df)
    t = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(np.abs(beta / se), df)
    r2 = 1 - ssr / float(weights @ (y - _mean(y, weights)) ** 2)
    return beta, np.column_stack([beta - t * se, beta + t * se]), p, r2


def key_drivers(surveys: pd.DataFrame, items: list[str], outcome: str = "csat",
                alpha: float = 0.05, counts: str | None = None) -> pd.DataFrame:
    """Which item scores explain overall satisfaction.

    Parameters
    ----------
    surveys : DataFrame
        Answers with the ``outcome`` and ``items`` columns; rows missing any are left out.
    items : list of str
        The sub-score columns (1–5).
    outcome : str
        The overall score regressed on the items.
    alpha : float
        1 − confidence level of the coefficients' CIs.
    counts : str, optional
        A column of ``surveys`` giving how many identical answers each row stands for (a table counted
        in DuckDB: one row per distinct answer); without it each row is one answer.

    Returns
    -------
    DataFrame
        One row per item, strongest first: ``item, beta, ci_low, ci_high, p, dominance, r2, n,
        method``. ``beta``: standardised OLS coefficient (z-scored outcome and items);
        ``dominance``: the item's general dominance weight as a share of R² (the shares sum to 1);
        ``r2``: the full model's R².
    """
    data, weights = _complete(surveys[[outcome, *items, *([counts] if counts else [])]], counts)
    n = int(weights.sum())
    columns = ["item", "beta", "ci_low", "ci_high", "p", "dominance", "r2", "n", "method"]
    method = "OLS on z-scores (standardised β) and general dominance weights (share of R²)"
    if n < len(items) + 3:
        return pd.DataFrame(columns=columns)
    spread = pd.Series(np.sqrt(_variance(data.to_numpy(), weights)), index=data.columns)
    usable = [i for i in items if spread.get(i, 0) > 0]
    if spread.get(outcome, 0) == 0 or not usable:
        return pd.DataFrame(columns=columns)
    z = (data - _mean(data.to_numpy(), weights)) / spread.replace(0, np.nan)
    y, X = z[outcome].to_numpy(), z[usable].to_numpy()
    beta, ci, p, r2_full = _ols(y, X, weights, alpha)
    # general dominance: each item's R² increment averaged within, then across, subset sizes
    both = np.column_stack([y, X])
    corr = (both * weights[:, None]).T @ both / (n - 1)
    cache: dict[tuple[int, ...], float] = {}

    def r2(cols: tuple[int, ...]) -> float:
        if cols not in cache:
            cache[cols] = _r2(corr, cols)
        return cache[cols]

    k = len(usable)
    dominance = []
    for j in range(k):
        others = [i for i in range(k) if i != j]
        by_size = [np.mean([r2(tuple(sorted((*s, j)))) - r2(tuple(s)) for s in combinations(others, m)])
                   for m in range(k)]
        dominance.append(float(np.mean(by_size)))
    dominance = np.array(dominance)
    rows = pd.DataFrame({"item": usable, "beta": beta[1:], "ci_low": ci[1:, 0], "ci_high": ci[1:, 1],
                         "p": p[1:], "dominance": dominance / dominance.sum() if dominance.sum() > 0
                         else np.nan, "r2": r2_full, "n": n, "method": method})
    return rows.sort_values("dominance", ascending=False, kind="stable").reset_index(drop=True)[columns]
