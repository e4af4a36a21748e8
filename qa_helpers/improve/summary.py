"""Before/after results in plain language: one sentence per action, and a table for managers.

:func:`action_headlines` answers "did it work?" for each evaluated action in one sentence per
metric, in the KPI's own units (shares in % and percentage points, durations in seconds /
minutes / hours and "x % faster", complaints per 1 000 tickets, scores on the 1–5 scale), with
what the control team(s) did, whether the register's acceptance target was met, and a decision.
:func:`presentable_results` is the detailed table behind it: formatted strings, short method
names with footnotes, one verdict vocabulary, English or Chinese.

Which row to believe. The **primary** row of a metric is the default before/after test: it
compares whole weeks of the treated team's own tickets, clustered on agent *and* ISO week, so a
few agents or one bad week cannot fake a change, and its false-alarm rate was calibrated at or
below 5 % for every KPI kind (README "Statistics"). The difference-in-differences row
*corroborates* it (it removes season and company-wide shifts but has fewer clusters, so it is
less powerful). The segmented-regression rows are *supporting evidence only*: they read a
short weekly series, and their slope row raised 10–15 % false alarms on drifting shares and
rates; when they disagree with the primary row the primary row is believed, and a note says so.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from qa_helpers.stats import results as stats
from qa_helpers.improve.evaluation import ActionEvaluation, metric_kind
from qa_helpers.measures.kpis import KPIS
from qa_helpers.stats import windows as stats_windows
from qa_helpers.report.labels import t

DECISIONS = ("standardise", "keep watching", "rethink", "not enough data")
HEADLINE_COLUMNS = ["action_id", "sentence", "decision", "note"]
_CHANGED = ("improved", "worsened")
_UNTESTABLE = (stats.NOT_ESTIMABLE, stats.UNDERPOWERED, stats.AT_CEILING, stats.NO_EVENTS)
_MINUS = "−"


# ---------------------------------------------------------------- numbers in the KPI's own units

def _signed(value: float, decimals: int) -> str:
    text = f"{abs(value):.{decimals}f}"
    return ("+" if value > 0 else _MINUS if value < 0 else "±") + text if float(text) else "±0"


def _decimals(value: float) -> int:
    return 1 if abs(value) < 10 else 0


def _percent(share: float) -> str:
    return f"{100 * share:.{_decimals(100 * share) if share < 0.1 else 0}f} %"


def _points(diff: float, language: str) -> str:
    text = _signed(100 * diff, _decimals(100 * diff))
    return f"{text} 个百分点" if language == "zh" else f"{text} points"


def _duration(seconds: float, language: str) -> str:
    units = ("秒", "分钟", "小时") if language == "zh" else ("s", "min", "h")
    if seconds < 90:
        value, unit = seconds, units[0]
    elif seconds < 90 * 60:
        value, unit = seconds / 60, units[1]
    else:
        value, unit = seconds / 3600, units[2]
    return f"{value:.{_decimals(value)}f}{unit}" if language == "zh" else f"{value:.{_decimals(value)}f} {unit}"


def _ratio_change(ratio: float, kind: str, language: str) -> str:
    """A ratio as the change users speak of: "38 % faster" for times, "40 % fewer" for rates."""
    change = 100 * (ratio - 1)
    size = f"{abs(change):.0f} %"
    if abs(change) < 0.5:
        return "不变" if language == "zh" else "no change"
    if language == "zh":
        if kind == "duration":
            return f"快{size}" if change < 0 else f"慢{size}"
        return f"减少{size}" if change < 0 else f"增加{size}"
    if kind == "duration":
        return f"{size} faster" if change < 0 else f"{size} slower"
    return f"{size} fewer" if change < 0 else f"{size} more"


def _level(value: float, kind: str, language: str) -> str:
    """A before or after level in the KPI's own units."""
    if value is None or not np.isfinite(value):
        return "–"
    if kind == "proportion":
        return _percent(value)
    if kind == "duration":
        return _duration(value, language)
    if kind == "rate":
        return f"每千单{value:.1f}件" if language == "zh" else f"{value:.1f} per 1 000 tickets"
    top = 10 if kind == "nps" else 5
    return f"{value:.2f}/{top}" if language == "zh" else f"{value:.2f} of {top}"


def _effect(value: float, kind: str, language: str) -> str:
    """The default test's effect in the KPI's units (points, % faster, % fewer, superiority)."""
    if value is None or not np.isfinite(value):
        return "–"
    if kind == "proportion":
        return _points(value, language)
    if kind in ("duration", "rate"):
        return _ratio_change(value, kind, language)
    share = f"{100 * value:.0f} %"
    return f"随机抽一份后期评分高于前期的概率为{share}" if language == "zh" else \
        f"an after-answer beats a before-answer {share} of the time"


def _interval(low: float, high: float, kind: str, language: str) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    if kind == "proportion":
        ends = (_signed(100 * low, _decimals(100 * low)), _points(high, language))
    elif kind in ("duration", "rate"):
        ends = (_ratio_change(low, kind, language), _ratio_change(high, kind, language))
    else:
        ends = (f"{100 * low:.0f} %", f"{100 * high:.0f} %")
    return f"置信区间{ends[0]}至{ends[1]}" if language == "zh" else f"CI {ends[0]} to {ends[1]}"


# ---------------------------------------------------------------- sentences

def _shown_kind(metric: str) -> str:
    """How a KPI's numbers read: its statistical kind, with NPS (0-10 answers) apart from 1-5 scores."""
    return "nps" if KPIS[metric].agg == "nps" else metric_kind(metric)


def control_levels(evaluation: ActionEvaluation) -> pd.DataFrame:
    """What the control team(s) did: ``metric, before, after`` on the KPI's own scale.

    Pooled over the control teams' weekly series in the tests' before and after weeks
    (weighted by each week's n): a share, a geometric mean in seconds (the weekly series holds
    log values), complaints per 1 000 tickets. Empty without control teams or windows.
    """
    columns = ["metric", "before", "after"]
    weekly = evaluation.weekly
    if evaluation.windows.empty or weekly.empty or not weekly["role"].eq("control").any():
        return pd.DataFrame(columns=columns)
    control = weekly[weekly["role"] == "control"]
    control = control.assign(window=stats_windows.label_windows(control["week"], evaluation.windows))
    control = control[control["window"].isin(["before", "after"])]
    pooled = (control.assign(weighted=control["value"] * control["n"])
              .groupby(["kpi", "window"])[["weighted", "n"]].sum())
    levels = (pooled["weighted"] / pooled["n"]).unstack("window").reindex(columns=["before", "after"])
    durations = [k for k in levels.index if metric_kind(k) == "duration"]
    levels.loc[durations] = np.exp(levels.loc[durations])
    return levels.rename_axis(index="metric", columns=None).reset_index()[columns]


def _metric_sentence(row, did_row, control_row, target_row, kind: str, language: str) -> str:
    """One clause for one metric: its change, the control team(s), the target."""
    zh = language == "zh"
    name = t(row.metric, language)
    before, after = _level(row.before, kind, language), _level(row.after, kind, language)
    effect = _effect(row.effect, kind, language)
    ci = _interval(row.ci_low, row.ci_high, kind, language)
    verdict = row.verdict
    if verdict == stats.NOT_ESTIMABLE:
        # the stats' reasons are English: the Chinese sentence points to the detailed table instead
        text = f"{name}无法检验（数据不足以支持检验，原因见明细表）" if zh else f"{name} could not be tested ({row.note})"
    elif verdict in _CHANGED:
        went_up = row.after > row.before
        if zh:
            text = f"{name}由{before}{'升至' if went_up else '降至'}{after}（{effect}，{ci}），{t(verdict, language)}"
        else:
            text = f"{name} {'rose' if went_up else 'fell'} from {before} to {after} ({effect}, {ci}): {verdict}"
    elif verdict == stats.NO_CHANGE:
        text = (f"{name}由{before}变为{after}（{effect}，{ci}），没有值得关注的变化" if zh else
                f"{name} went from {before} to {after} ({effect}, {ci}): no change that matters")
    else:
        reason = {stats.AT_CEILING: ("it was already at its best", "已处于最佳水平"),
                  stats.NO_EVENTS: ("there were no events to compare", "前后均无事件可比")}.get(
            verdict, ("too few data to tell a real change from noise", "数据太少，无法区分真实变化与随机波动"))
        text = (f"{name}由{before}变为{after}（{effect}，{ci}），尚无定论：{reason[1]}" if zh else
                f"{name} went from {before} to {after} ({effect}, {ci}), but we cannot tell yet: {reason[0]}")
    if did_row is not None:
        controls = re.search(r"vs ([^:]+):", did_row.method)
        teams = controls.group(1).strip() if controls else ""
        did_effect = _effect(did_row.effect, kind, language)
        did_ci = _interval(did_row.ci_low, did_row.ci_high, kind, language)
        moved = ""
        if control_row is not None:
            moved = (f"对照班组{teams}同期由{_level(control_row.before, kind, language)}变为"
                     f"{_level(control_row.after, kind, language)}，" if zh else
                     f"the control team(s) {teams} went from {_level(control_row.before, kind, language)} to "
                     f"{_level(control_row.after, kind, language)} over the same weeks, so ")
        relative = t(did_row.verdict, language) if did_row.verdict in _CHANGED else \
            ("可能只是随机波动" if zh else "could be noise")
        against = ("相比之下" if moved else f"与对照班组{teams}相比") if zh else \
            ("relative to them" if moved else f"relative to the control team(s) {teams}")
        text += (f"；{moved}{against}变化为{did_effect}（{did_ci}），{relative}" if zh else
                 f"; {moved}{against} the change is {did_effect} ({did_ci}): {relative}")
    if target_row is not None and np.isfinite(target_row.target):
        # NPS targets are NPS points (promoters - detractors), not the mean answer the test compares
        shown = (lambda v: f"NPS {v:+.0f}") if kind == "nps" else (lambda v: _level(v, kind, language))
        goal, now = shown(target_row.target), shown(target_row.kpi_after)
        met = bool(target_row.meets_target)
        text += ((f"；目标{goal}{'已达成' if met else '未达成'}（后期为{now}）") if zh else
                 f"; the measure {'met' if met else 'missed'} its target of {goal} ({now} in the after weeks)")
    return text


def _disagreement(primary, its: pd.DataFrame, language: str) -> str:
    """Which row to believe when the weekly trend test and the primary row disagree."""
    rows = its[its["metric"].str.startswith(f"{primary.metric}: ")]
    notes = []
    for row in rows.itertuples(index=False):
        if row.verdict in _CHANGED and row.verdict != primary.verdict:
            part = "slope" if row.metric.endswith("slope change") else "level"
            if language == "zh":
                notes.append(f"{t(primary.metric, language)}：周趋势检验提示{'斜率' if part == 'slope' else '水平'}"
                             f"{t(row.verdict, language)}，但考虑了客服与周效应的前后对比并不支持：以前后对比为准，视为无证据")
            else:
                notes.append(f"{primary.metric}: the weekly trend test suggests the {part} {row.verdict}, but the "
                             f"before/after comparison, which accounts for agents and weeks, "
                             + (f"says {primary.verdict}" if primary.verdict in _CHANGED else "does not")
                             + ": believe the before/after comparison")
    return "; ".join(notes)


def _decision(primary: pd.DataFrame, conclusions: pd.DataFrame) -> str:
    """standardise / keep watching / rethink / not enough data, for the action as a whole."""
    if primary.empty or primary["verdict"].isin(_UNTESTABLE).all():
        return "not enough data"
    if conclusions["standardise"].all() and len(conclusions) == len(primary):
        return "standardise"
    if primary["verdict"].eq("worsened").any() or primary["verdict"].eq(stats.NO_CHANGE).all():
        return "rethink"
    return "keep watching"


def _conclusion_rows(evaluation: ActionEvaluation) -> pd.DataFrame:
    c = evaluation.conclusions
    return c.set_index("metric") if "target" in c.columns else pd.DataFrame()


def action_headlines(evaluations: dict[str, ActionEvaluation], language: str = "en") -> pd.DataFrame:
    """One plain-language sentence per action, with the decision it supports.

    The sentence takes each metric's *primary* row, the default before/after test (clustered
    on agent and week, calibrated to at most 5 % false alarms: see the module docstring), and
    adds what the control team(s) did (the difference-in-differences row, which corroborates)
    and whether the register's acceptance target was met. Segmented-regression rows never
    drive the sentence; when they claim a change the primary row does not, ``note`` says to
    believe the before/after comparison.

    Parameters
    ----------
    evaluations : dict of str to ActionEvaluation
        :func:`qa_helpers.improve.evaluation.evaluate_plan`'s result.
    language : {"en", "zh"}
        Language of the sentence, decision and note.

    Returns
    -------
    pandas.DataFrame
        ``action_id, sentence, decision, note``; one row per action, in the given order.
        ``decision``: *standardise* (every metric improved and met its target), *rethink*
        (a metric worsened, or none changed by as much as matters), *not enough data* (no
        metric could be tested conclusively), else *keep watching*.
    """
    rows = []
    for action_id, evaluation in evaluations.items():
        primary, did = evaluation.results, evaluation.did
        targets = _conclusion_rows(evaluation)
        clauses, controls = [], control_levels(evaluation).set_index("metric")
        for row in primary.itertuples(index=False):
            did_match = did[did["metric"] == row.metric] if len(did) else did
            clauses.append(_metric_sentence(
                row, next(did_match.itertuples(index=False)) if len(did_match) else None,
                controls.loc[row.metric] if row.metric in controls.index else None,
                targets.loc[[row.metric]].iloc[0] if row.metric in targets.index else None,
                _shown_kind(row.metric), language))
        clauses += [(f"{t(kpi, language)}无法评估（原因见上文说明）" if language == "zh" else
                     f"{t(kpi, language)} could not be evaluated: {why}")
                    for kpi, why in evaluation.skipped.items()]
        end = "。" if language == "zh" else "."
        sentence = ("；".join(clauses) if language == "zh" else "; ".join(clauses)) + end if clauses else ""
        notes = [_disagreement(row, evaluation.its, language) for row in primary.itertuples(index=False)]
        decision = _decision(primary, evaluation.conclusions)
        rows.append({"action_id": action_id, "sentence": sentence, "decision": t(decision, language),
                     "note": "; ".join(n for n in notes if n)})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


# ---------------------------------------------------------------- the managers' table

_SHORT_METHODS = (  # first match wins: (start of the full method name, en, zh)
    ("difference-in-differences", "vs control teams", "对照班组比较"),
    ("segmented regression", "weekly trend", "周趋势检验"),
    ("direct standardisation", "channel-standardised", "渠道标准化"),
    ("ratio of geometric means (log scale), direct", "channel-standardised", "渠道标准化"),
    ("rate ratio (log scale, delta", "channel-standardised", "渠道标准化"),
    ("Fisher", "exact test", "精确检验"),
    ("exact conditional", "exact test", "精确检验"),
    ("two-proportion chi-square", "chi-square test", "卡方检验"),
    ("Wilcoxon", "rank test", "秩和检验"),
    ("Welch", "t-test on log times", "对数时长t检验"),
    ("Brunner", "rank test", "秩和检验"),
    ("", "clustered test", "聚类稳健检验"),
)
_SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"
PRESENTABLE_KEYS = ["ba_action_id", "kpi", "ba_role", "ba_test", "ba_before", "ba_after", "ba_change", "ba_ci",
                    "ba_p_adj", "ba_n_before", "ba_n_after", "ba_mde", "ba_verdict"]


def _short_method(method: str, language: str) -> str:
    for start, en, zh in _SHORT_METHODS:
        if method.startswith(start) or (start and start in method[:60]):
            return zh if language == "zh" else en
    return method


def _p_text(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _back_to_kpi_scale(row: pd.Series, kind: str) -> tuple[pd.Series, str]:
    """A segmented row on the KPI's own scale, and the kind its effect is then shown as.

    Durations are modelled as weekly log geometric means: levels go back to seconds and the
    level change to a ratio (shown as % faster / slower); slopes become the weekly % change.
    Shares, rates and scores are modelled on their own scale: their changes stay differences.
    """
    out = row.copy()
    slope = row["metric"].endswith("slope change")
    if kind == "duration":  # the only kind whose weekly series is modelled on the log scale
        if not slope:
            out[["before", "after"]] = np.exp(row[["before", "after"]].astype(float))
        out[["effect", "ci_low", "ci_high", "mde"]] = np.exp(row[["effect", "ci_low", "ci_high", "mde"]].astype(float))
        return out, "ratio_per_week" if slope else "duration"
    return out, f"{kind}_difference_per_week" if slope else f"{kind}_difference"


def _formatted_change(value: float, shown_as: str, kind: str, language: str) -> str:
    """An effect (or CI end, MDE) in the KPI's units, for one cell of the table."""
    if value is None or not np.isfinite(value):
        return "–"
    per_week = "/周" if language == "zh" else " a week"
    if shown_as == "ratio_per_week":
        return _signed(100 * (value - 1), 1) + " %" + per_week
    if shown_as.endswith("_difference") or shown_as.endswith("_difference_per_week"):
        tail = per_week if shown_as.endswith("per_week") else ""
        if kind == "proportion":
            return _points(value, language) + tail
        if kind == "rate":
            return _signed(value, 1) + ("/千单" if language == "zh" else " per 1 000") + tail
        top = 10 if kind == "nps" else 5
        return _signed(value, 2) + ("分" if language == "zh" else f" points of {top}") + tail
    return _effect(value, kind, language)


def _cells(row: pd.Series, role: str, language: str) -> dict:
    base = row["metric"].split(": ")[0]
    kind = _shown_kind(base)
    shown_as = "default"
    if role == "supporting only":
        row, shown_as = _back_to_kpi_scale(row, kind)
    slope = shown_as.endswith("per_week")
    level = (lambda v: "–") if slope else (lambda v: _level(v, kind, language))
    change = (lambda v: _formatted_change(v, shown_as, kind, language))
    ci = "–" if not (np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"])) else \
        f"{change(row['ci_low'])} {'至' if language == 'zh' else 'to'} {change(row['ci_high'])}"
    test = _short_method(row["method"], language)
    if role == "supporting only":
        part = ("斜率" if slope else "水平") if language == "zh" else ("slope" if slope else "level")
        test = f"{test}（{part}）" if language == "zh" else f"{test} ({part})"
    return {"kpi": t(base, language), "ba_role": t(role, language), "ba_test": test, "method": row["method"],
            "ba_before": level(row["before"]), "ba_after": level(row["after"]), "ba_change": change(row["effect"]),
            "ba_ci": ci, "ba_p_adj": _p_text(row["p_adj"]), "ba_n_before": int(row["n_before"]),
            "ba_n_after": int(row["n_after"]), "ba_mde": change(row["mde"]), "ba_verdict": t(row["verdict"], language)}


def presentable_results(evaluations: dict[str, ActionEvaluation], language: str = "en") -> pd.DataFrame:
    """Every result row of the evaluated actions as a table a manager reads.

    Values are strings in the KPI's own units: shares in % and changes in percentage points,
    durations in s / min / h with changes as "% faster", complaints per 1 000 tickets, scores
    on the 1–5 scale; p below 0.001 reads "< 0.001". Segmented rows (weekly durations are
    modelled on the log scale) are turned back into seconds and % changes. Each row says its
    role (the default test is *primary*, the difference-in-differences and the
    channel-standardised rows *corroborating*, the segmented rows *supporting only*: see the
    module docstring), its test by a short name with a footnote mark, and its verdict in the
    one vocabulary of :data:`qa_helpers.report.labels.TEXT`.

    Parameters
    ----------
    evaluations : dict of str to ActionEvaluation
        :func:`qa_helpers.improve.evaluation.evaluate_plan`'s result.
    language : {"en", "zh"}
        Headers (via :func:`qa_helpers.report.labels.t`), units and verdicts.

    Returns
    -------
    pandas.DataFrame
        One row per result row, headers in ``language``; ``attrs["footnotes"]`` lists
        "¹ full method name" lines, one per distinct method, in order of first use.
    """
    rows = []
    for action_id, evaluation in evaluations.items():
        for frame, role in ((evaluation.results, "primary"), (evaluation.did, "corroborating"),
                            (evaluation.standardised, "corroborating"), (evaluation.its, "supporting only")):
            rows += [{"ba_action_id": action_id, **_cells(row, role, language)} for _, row in frame.iterrows()]
    table = pd.DataFrame(rows, columns=PRESENTABLE_KEYS + ["method"])
    # one footnote per short name: the method without its per-row details (df, G, rho)
    table["short"] = table["ba_test"].str.replace(r"\s*[(（].*$", "", regex=True)
    first = table.drop_duplicates("short")
    marks = {s: _SUPERSCRIPTS[i] if i < len(_SUPERSCRIPTS) else f"[{i + 1}]" for i, s in enumerate(first["short"])}
    table["ba_test"] = [test.replace(short, short + marks[short], 1)
                        for test, short in zip(table["ba_test"], table["short"])]
    out = table[PRESENTABLE_KEYS].rename(columns={k: t(k, language) for k in PRESENTABLE_KEYS})
    plain = table["method"].map(lambda m: re.split(r" [(]|, agent_id| on Rao| vs ", m)[0])
    out.attrs["footnotes"] = [f"{marks[s]} {s}: {'; '.join(dict.fromkeys(plain[table['short'] == s]))}"
                              for s in first["short"]]
    return out


def headline_lines(headlines: pd.DataFrame, language: str = "en") -> list[str]:
    """:func:`action_headlines` as the report's first lines: one Markdown bullet per action.

    The register's ids and the stats' notes are escaped (they come from files users edit).
    """
    from qa_helpers.report.safe import markdown_text as md

    decision, note, end = ("决定：", "说明：", "。") if language == "zh" else ("Decision: ", "Note: ", ".")
    return [f"- **{md(row.action_id)}**: {md(row.sentence)} *{decision}{md(row.decision)}{end}*"
            + (f" {note}{md(row.note)}{end}" if row.note else "") for row in headlines.itertuples(index=False)]
