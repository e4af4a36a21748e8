"""The coaching log (seed 000 step 5's one-to-one coaching, written down) and whether each session worked.

Tracking. Each session of ``config/coaching.csv`` dated up to the end of the period has its follow-up
*done* (``follow_up_done``), *pending* (its follow-up date not reached, or none set) or *overdue* (the
follow-up date passed without one). A one-to-one case the monitoring rule raised
(:func:`qa_helpers.monitor.monitoring.coaching_review`) with no session for that agent from the case's
first week to the end of the period was *never coached*.

Effect. For each session whose windows have passed: the coached agent's KPI (the session's ``kpi``, else
the coaching rule's, CSAT) over ``weeks_before`` whole weeks before the session against ``weeks_after``
whole weeks from it, compared with the same change for the agents of the same team who were not coached
in those weeks (difference-in-differences). The coached agent is one person, so errors cannot be clustered
on agents. For a share (CSAT, FCR) the interval is Agresti–Caffo's (one success and one failure added
to each of the agent's windows: an agent at 100 % in a window does not make a change look certain), without
week effects, the team-mates' share in each window with its variance clustered by agent (never below the
binomial one: team-mates' answers are not independent); for durations and rates, :func:`qa_helpers.stats.diff_in_diff` with each answer its own cluster and week
effects. The sessions of a report are one Holm family, with CIs at the family's level. With 15-25
answers a window only a large change can be told from chance; a session whose interval still holds a
real effect is "too few tickets to tell". Words:

- "worked": the KPI moved the better way beyond the peers' change (the before/after verdict "improved");
- "got worse": it moved the worse way ("worsened");
- "no detectable effect": the interval excludes any change as large as the minimum detectable effect;
- "too few tickets to tell": fewer than ``min_answers`` answers in a window, or an interval still wide
  enough to hold a real effect (the before/after report's "inconclusive"), or no test possible;
- "too early to tell": the after-window has not ended by the end of the period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_helpers import stats
from qa_helpers.stats.results import NO_CHANGE

FOLLOW_UP = ("follow-up done", "follow-up pending", "follow-up overdue")
EFFECT_WORDS = {"improved": "worked", "worsened": "got worse", NO_CHANGE: "no detectable effect"}
TOO_FEW = "too few tickets to tell"
TOO_EARLY = "too early to tell"
EFFECT_COLUMNS = ["session_id", "agent_id", "team", "date", "coach", "kpi", "before", "after", "peers_before",
                  "peers_after", "effect", "ci_low", "ci_high", "p", "p_adj", "n_before", "n_after", "mde", "peers",
                  "verdict", "effect_verdict", "method"]


def follow_up(sessions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each session held before ``as_of`` with its follow-up state.

    Parameters
    ----------
    sessions : DataFrame
        The coaching register (:func:`qa_helpers.people.registers.load_coaching`).
    as_of : Timestamp
        The end of the reporting period (exclusive).

    Returns
    -------
    DataFrame
        The sessions dated before ``as_of`` with ``state`` (:data:`FOLLOW_UP`: done, pending, overdue) and
        ``days_overdue`` (``as_of`` minus the follow-up date in days, so 1 for one due on the period's
        last day; overdue only when above 0, and 0 unless overdue), newest first.
    """
    held = sessions[sessions["date"] < as_of].copy()
    # as_of is the end of the period's last day: a follow-up due that day and not done is 1 day overdue
    days = (as_of - held["follow_up_date"]).dt.days
    overdue = ~held["follow_up_done"] & (days > 0)
    held["state"] = np.where(held["follow_up_done"], FOLLOW_UP[0], np.where(overdue, FOLLOW_UP[2], FOLLOW_UP[1]))
    held["days_overdue"] = np.where(overdue, days.fillna(0), 0).astype("int64")
    return held.sort_values(["date", "session_id"], ascending=False).reset_index(drop=True)


def never_coached(cases: pd.DataFrame, sessions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One-to-one cases with no session for the agent from the case's first week to ``as_of``.

    Parameters
    ----------
    cases : DataFrame
        :func:`qa_helpers.monitor.monitoring.coaching_review`'s cases (``agent_id, team, first_week,
        last_week, run_csat, decision``); only "one-to-one coaching" rows count.
    sessions : DataFrame
        The coaching register.
    as_of : Timestamp
        The end of the reporting period (exclusive).

    Returns
    -------
    DataFrame
        The cases (one row per agent: the earliest) nobody coached.
    """
    one_to_one = cases[cases["decision"] == "one-to-one coaching"].sort_values("first_week")
    one_to_one = one_to_one.drop_duplicates("agent_id").reset_index(drop=True)
    held = sessions[sessions["date"] < as_of]
    # coached since the case began: the agent's latest session by as_of is on or after the case's first week
    # (one lookup per case, not a scan of the register per case: 200 cases x a long register took 0.3 s)
    # reindex, not Series.map: pandas cannot map through an empty series of dates (no session before as_of)
    latest = held.groupby("agent_id")["date"].max().reindex(one_to_one["agent_id"]).reset_index(drop=True)
    coached = (latest >= one_to_one["first_week"]).to_numpy(dtype=bool)
    return one_to_one.loc[~coached].reset_index(drop=True)


def _verdict_word(row: pd.Series, enough: bool) -> str:
    if not enough:
        return TOO_FEW
    return EFFECT_WORDS.get(row["verdict"], TOO_FEW)


def _proportion_did(mine: pd.DataFrame, theirs: pd.DataFrame, metric: str, *, direction: str,
                    alpha: float) -> pd.DataFrame:
    """The agent's change in a share minus the team-mates' change, with an Agresti–Caffo interval.

    One agent's 15-25 answers a window often sit at 0 % or 100 %, where a Wald or robust variance is 0
    and any change looks certain. Agresti & Caffo (2000): add one success and one failure to each of
    the agent's windows for the interval's centre and variance; the team-mates' windows (hundreds of
    answers) have their variance clustered by agent (an agent's answers go together; the binomial
    variance when that is larger, as with few team-mates it can be). No week effects. Normal reference;
    the point estimate is the raw one.
    """
    from qa_helpers.stats._common import _t_inference
    from qa_helpers.stats.power import _mde_t
    from qa_helpers.stats.results import _result

    def window(frame: pd.DataFrame, name: str) -> np.ndarray:
        return frame.loc[frame["window"] == name, "value"].to_numpy(dtype=float)

    def peers_variance(name: str) -> float:
        """Variance of the team-mates' share in one window: clustered by agent, at least binomial."""
        frame = theirs[theirs["window"] == name]
        share, n = frame["value"].mean(), len(frame)
        by_agent = frame.groupby("agent_id")["value"].agg(["sum", "size"])
        clusters = len(by_agent)
        clustered = (((by_agent["sum"] - share * by_agent["size"]) ** 2).sum() / n ** 2 * clusters / (clusters - 1)
                     if clusters > 1 else 0.0)
        return max(float(clustered), share * (1 - share) / n)

    a_b, a_a, p_b, p_a = window(mine, "before"), window(mine, "after"), window(theirs, "before"), window(theirs, "after")
    adj_b, adj_a = (a_b.sum() + 1) / (len(a_b) + 2), (a_a.sum() + 1) / (len(a_a) + 2)
    var = (adj_b * (1 - adj_b) / (len(a_b) + 2) + adj_a * (1 - adj_a) / (len(a_a) + 2)
           + peers_variance("before") + peers_variance("after"))
    centre = (adj_a - adj_b) - (p_a.mean() - p_b.mean())
    estimate = (a_a.mean() - a_b.mean()) - (p_a.mean() - p_b.mean())
    se = float(np.sqrt(var))
    p, lo, hi = _t_inference(centre, se, None, alpha)

    def interval(level_alpha: float) -> tuple[float, float]:
        return _t_inference(centre, se, None, level_alpha)[1:]

    sign = 1 if direction == "increase" else -1
    method = ("difference-in-differences of one agent vs uncoached team-mates: Agresti-Caffo interval "
              "(one success and one failure added to each of the agent's windows), team-mates' variance "
              "clustered by agent, no week effects, normal reference")
    return _result(metric, method, a_b.mean(), a_a.mean(), estimate, (lo, hi), p, len(a_b), len(a_a),
                   sign * _mde_t(se, None, alpha), scale="difference", direction=direction, alpha=alpha,
                   expected_effect=None, interval=interval)


def session_effect(obs: pd.DataFrame, session, peers: list[str], kind: str, *, direction: str = "increase",
                   weeks_before: int = 4, weeks_after: int = 4, min_answers: int = 10,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One session's difference-in-differences: the coached agent against uncoached peers of the team.

    Parameters
    ----------
    obs : DataFrame
        Observations of the KPI (``time, agent_id, value``), e.g.
        :func:`qa_helpers.improve.evaluation.observations` for the team.
    session : row
        ``session_id, agent_id, date, kpi``.
    peers : list of str
        The comparison agents (same team, not coached in these weeks).
    kind : {"proportion", "duration", "rate"}
        The KPI's kind of metric.
    direction : {"increase", "decrease"}
        Which way is better.
    weeks_before, weeks_after, min_answers, alpha
        Windows in whole weeks, the fewest answers per window to test, significance level.

    Returns
    -------
    DataFrame
        One :data:`qa_helpers.stats.COLUMNS` row (``n_before``/``n_after`` the agent's) plus
        ``peers_before``, ``peers_after``, ``peers`` (agents compared) and ``enough`` (both windows have
        ``min_answers``).
    """
    start = pd.Timestamp(session.date)
    windows = stats.week_windows(start, weeks_before=weeks_before, weeks_after=weeks_after)
    label = stats.label_windows(obs["time"], windows)
    group = np.where(obs["agent_id"] == session.agent_id, "coached",
                     np.where(obs["agent_id"].isin(peers), "peers", ""))
    data = obs.assign(group=group, window=label, answer=np.arange(len(obs)))
    data = data[(data["group"] != "") & data["window"].isin(["before", "after"])]
    mine, theirs = data[data["group"] == "coached"], data[data["group"] == "peers"]
    n_before, n_after = int((mine["window"] == "before").sum()), int((mine["window"] == "after").sum())
    extra = {"peers_before": theirs.loc[theirs["window"] == "before", "value"].mean(),
             "peers_after": theirs.loc[theirs["window"] == "after", "value"].mean(),
             "peers": int(theirs["agent_id"].nunique()),
             "enough": min(n_before, n_after) >= min_answers and theirs["agent_id"].nunique() >= 2}
    metric = str(session.session_id)
    if extra["enough"] and kind == "proportion":
        return _proportion_did(mine, theirs, metric, direction=direction, alpha=alpha).assign(**extra)
    if extra["enough"]:
        try:
            row = stats.diff_in_diff(data, metric, kind, start, treated="coached", controls=["peers"], team="group",
                                     time="time", cluster="answer", direction=direction, weeks_before=weeks_before,
                                     weeks_after=weeks_after, alpha=alpha, team_week=False)
            return row.assign(**extra)
        except ValueError:  # a window without peers' or the agent's answers
            extra["enough"] = False
    before = mine.loc[mine["window"] == "before", "value"].mean()
    after = mine.loc[mine["window"] == "after", "value"].mean()
    row = pd.DataFrame([{"metric": metric, "method": "", "before": before, "after": after, "effect": np.nan,
                         "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "p_adj": np.nan, "n_before": n_before,
                         "n_after": n_after, "mde": np.nan, "verdict": stats.NOT_ESTIMABLE,
                         "note": f"fewer than {min_answers} answers in a window", "family": ""}],
                       columns=stats.COLUMNS)
    return row.assign(**extra)


def better(kpi: str, standards: dict | None) -> str:
    """``"increase"`` or ``"decrease"``: which way the KPI is better, from the standards (higher by default)."""
    spec = ((standards or {}).get("kpis") or {}).get(kpi) or {}
    return "decrease" if spec.get("direction") == "lower" else "increase"


def coaching_effect(sessions: pd.DataFrame, observations: dict[str, pd.DataFrame], as_of: pd.Timestamp, *,
                    standards: dict | None = None, default_kpi: str = "csat", weeks_before: int = 4,
                    weeks_after: int = 4, min_answers: int = 10, alpha: float = 0.05, method: str = "holm", family: str = "coaching sessions") -> pd.DataFrame:
    """Whether each session worked: the coached agent's KPI before vs after, against uncoached team-mates.

    Parameters
    ----------
    sessions : DataFrame
        Register rows with the agent's ``team`` (:func:`qa_helpers.people.registers.check_agents`).
    observations : dict
        KPI name -> its observations (``time, team, agent_id, value``) covering the sessions' teams and
        windows (:func:`qa_helpers.improve.evaluation.observations`).
    as_of : Timestamp
        The end of the period: a session whose after-window ends later is "too early to tell".
    standards : dict, optional
        Loaded standards: which way each KPI is better.
    default_kpi : str
        The KPI of a session whose ``kpi`` is empty (the coaching rule's).
    weeks_before, weeks_after, min_answers, alpha, method
        Windows, fewest answers per window, significance level, and the adjustment across the sessions
        (one family: Holm by default, ``"bh"`` for Benjamini-Hochberg).
    family : str
        The family's name in the ``family`` column.

    Returns
    -------
    DataFrame
        :data:`EFFECT_COLUMNS`: per session the agent's KPI before and after, the peers' KPI before and
        after, the difference-in-differences with its CI (at the family's level), p and adjusted p, the
        agent's answers per window, the minimum detectable effect, the statistical ``verdict`` and
        ``effect_verdict`` in words ("worked", "got worse", "no detectable effect", "too few tickets to
        tell", "too early to tell").
    """
    from qa_helpers.improve.evaluation import metric_kind

    rows, meta = [], []
    for session in sessions.itertuples(index=False):
        kpi = session.kpi or default_kpi
        windows = stats.week_windows(session.date, weeks_before=weeks_before, weeks_after=weeks_after)
        span_start, span_end = windows["start"].min(), windows["end"].max()
        base = {"session_id": session.session_id, "agent_id": session.agent_id, "team": session.team,
                "date": session.date, "coach": session.coach, "kpi": kpi}
        kind = metric_kind(kpi)
        obs = observations.get(kpi)
        if span_end > as_of or kind not in ("proportion", "duration", "rate") or obs is None:
            word = TOO_EARLY if span_end > as_of else TOO_FEW
            rows.append(pd.DataFrame([{**base, "verdict": "", "effect_verdict": word}]))
            continue
        busy = sessions.loc[(sessions["team"] == session.team) & (sessions["date"] >= span_start)
                            & (sessions["date"] < span_end), "agent_id"]
        team_obs = obs[(obs["team"] == session.team) & (obs["time"] >= span_start) & (obs["time"] < span_end)]
        peers = sorted(set(team_obs["agent_id"].dropna().unique()) - set(busy) - {session.agent_id})
        direction = better(kpi, standards)
        result = session_effect(team_obs, session, peers, kind, direction=direction, weeks_before=weeks_before,
                                weeks_after=weeks_after, min_answers=min_answers, alpha=alpha)
        meta.append((len(rows), result))
        rows.append(pd.DataFrame([base]))
    tested = [r for _, r in meta if r["enough"].iloc[0]]
    adjusted = stats.adjust_family([r.drop(columns=["peers_before", "peers_after", "peers", "enough"])
                                    for r in tested], family=family, method=method) if tested else None
    k = 0
    for i, result in meta:
        enough = bool(result["enough"].iloc[0])
        row = result.iloc[0].copy()
        if enough:
            fixed = adjusted.iloc[k]
            k += 1
            for column in stats.COLUMNS:
                row[column] = fixed[column]
        out = rows[i].iloc[0].to_dict()
        out.update({c: row[c] for c in ("before", "after", "peers_before", "peers_after", "effect", "ci_low",
                                        "ci_high", "p", "p_adj", "n_before", "n_after", "mde", "peers",
                                        "verdict", "method")})
        out["effect_verdict"] = _verdict_word(row, enough)
        rows[i] = pd.DataFrame([out])
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=EFFECT_COLUMNS)
    return frame.reindex(columns=EFFECT_COLUMNS)
