"""The reports' narrative in English and Chinese: each section's heading and explanation.

A notebook shows a section's text with ``show(say("kpi.pareto", ctx.language))``; the text is
Markdown, in the reader's language, and the keys name the notebook and section so that whoever
reads the notebook's source knows what the cell says. Headings live here too (rather than in
markdown cells, which cannot change language) so a ``zh`` report has no English heading.
Values interpolated into a text (``{unit}``, ``{period}``) are HTML-escaped.

Short labels (KPI names, table headers, verdicts) are in :mod:`qa_helpers.report.labels`.
"""

from __future__ import annotations

import html

from qa_helpers.report.labels import LANGUAGES

NARRATIVE: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------ 1 standards
    "standards.title": (
        "# Standards in force\n\n"
        "**Step 1 of the quality loop.** The objectives and service standards this unit is measured "
        "against: KPI targets and which way is better, the scorecard's weighted indicators, each channel's "
        "first-response limit, the grade bands, the alert and coaching rules, and any target this team has "
        "agreed to differ from the default. The standards file is checked when it loads; the checks are "
        "listed at the end.",
        "# 现行标准\n\n"
        "**质量闭环第 1 步。** 本单位考核所依据的目标与服务标准：各项 KPI 的目标值及其方向、评分卡的加权指标、"
        "各渠道的首次响应时限、等级划分、预警与辅导规则，以及本班组与默认值不同的约定目标。"
        "标准文件在加载时即做校验，校验结果列于文末。"),
    "standards.targets": (
        "## KPI targets\n\n"
        "Response and handling times have a target per channel: one average over phone, chat and e-mail "
        "would fit none of them. *Floor* is the level at which a scorecard indicator earns no points; "
        "*team override* marks a target agreed for this team instead of the default; *source* says where "
        "the target comes from.",
        "## KPI 目标\n\n"
        "响应时长与处理时长按渠道分别设定目标：电话、在线与邮件的节奏不同，一个混合平均值对哪个渠道都不合适。"
        "*零分线*是评分卡指标得 0 分的水平；*班组调整*表示本班组约定的目标替代了默认目标；*依据*说明目标的出处。"),
    "standards.weights": (
        "## Scorecard indicators and weights\n\n"
        "The after-sales scorecard: four dimensions, weighted indicators totalling 100 points. How an "
        "indicator earns its points is the scoring method below.",
        "## 评分卡指标与权重\n\n"
        "售后服务评分卡：四个维度，各指标权重合计 100 分。指标如何得分见下文的计分方法。"),
    "standards.rules": (
        "## Service levels, grades and rules\n\n"
        "First-response limits per channel, the grade bands, the scoring method, and the alert and "
        "coaching rules in words.",
        "## 服务时限、等级与规则\n\n"
        "各渠道首次响应时限、等级划分、计分方法，以及预警与辅导规则的文字说明。"),
    "standards.catalogue": (
        "## How each KPI is computed\n\n"
        "Each KPI is defined once in the kit, and its formula is shown here. The last column says whether "
        "this archive can measure it: a KPI whose table or field the exports do not have is *not measured* "
        "in every report.",
        "## 各项 KPI 的计算方法\n\n"
        "每项 KPI 在工具包中只定义一次，计算公式如下。最后一列说明本档案能否测量该指标："
        "若导出数据缺少所需的表或字段，则该指标在所有报告中均显示为*未测量*。"),
    "standards.checks": (
        "## Checks on the standards file",
        "## 标准文件校验"),
    # ------------------------------------------------------------ 3 KPI analysis
    "kpi.title": (
        "# KPI analysis\n\n"
        "**Step 3 of the quality loop.** Headline KPIs against target, where they differ (channel, category, "
        "customer type, agent), how they moved week by week, which problem categories matter most, what "
        "causes complaints, and how agents' satisfaction relates to their resolution rate. Every figure "
        "carries the number of observations behind it (n); a group without data shows a dash, never 0 %. "
        "A KPI whose table or field the archive does not have is *not measured*, and says why.",
        "# KPI 分析\n\n"
        "**质量闭环第 3 步。** 核心 KPI 与目标的对比；按渠道、问题类别、客户类型和客服的差异；逐周变化；"
        "最主要的问题类别；投诉原因；以及客服满意度与一次解决率的关系。每个数字都附样本量（n）；"
        "没有数据的分组显示为短横线，而不是 0 %。档案中缺少所需表或字段的 KPI 显示为*未测量*并说明原因。"),
    "kpi.headline": (
        "## Headline KPIs against target",
        "## 核心 KPI 与目标对比"),
    "kpi.breakdowns": (
        "## Breakdowns\n\n"
        "Satisfaction and resolution by channel, problem category and customer type (enterprise against "
        "individual customers). The dashed line is the target.",
        "## 分类对比\n\n"
        "按渠道、问题类别和客户类型（企业客户与个人客户）对比满意度与一次解决率。虚线为目标值。"),
    "kpi.trends": (
        "## Weekly trends\n\n"
        "Weekly values against target. Weeks at the edges of the period may be partial.",
        "## 周趋势\n\n"
        "每周数值与目标对比。期间首尾的周可能不完整。"),
    "kpi.pareto": (
        "## Where the problems are: Pareto\n\n"
        "Problem tickets are those not resolved at first contact, reopened, complained about, or rated 1-3 "
        "by the customer. The darker bars are the *vital few* categories that together make up 80 % of "
        "problems: start there.",
        "## 问题集中在哪里：帕累托分析\n\n"
        "问题工单指未能一次解决、被重开、被投诉或客户评分为 1–3 分的工单。深色柱为累计占问题 80 % 的"
        "*关键少数*类别：应优先处理。"),
    "kpi.fishbone": (
        "## Why customers complain: fishbone tally\n\n"
        "Complaints by cause dimension — people, process, tools, environment — the bones of the fishbone "
        "diagram, split by problem category.",
        "## 客户为何投诉：鱼骨图统计\n\n"
        "按原因维度（人员、流程、工具、环境，即鱼骨图的主骨）统计投诉数，并按问题类别细分。"),
    "kpi.agents": (
        "## Agents: satisfaction against resolution\n\n"
        "Each agent's CSAT against their first-contact resolution. Agents with fewer than 10 surveys or "
        "tickets are left out of the chart (too few to place).",
        "## 客服：满意度与一次解决率\n\n"
        "每位客服的满意度与一次解决率交叉分析。问卷或工单少于 10 份的客服不在图中显示（样本太少，无法定位）。"),
    # ------------------------------------------------------------ 4 scorecard
    "scorecard.title": (
        "# Scorecard\n\n"
        "**The after-sales scorecard.** Each indicator earns points out of its weight; the total out of 100 "
        "gives the grade. Beside the grade: how many targets were met. Every indicator that missed its "
        "target is flagged for root-cause analysis (fishbone, 5 whys); remarks come from the standards file "
        "and from the improvement actions registered for the indicator.\n\n"
        "Indicators with no data for this unit (on-site arrival for a hotline team, say) are *not "
        "applicable*, and the total is rescaled to the weights that apply, so all units share one scale. "
        "An indicator the archive cannot measure at all is *not measured*: it is named, with the reason.",
        "# 评分卡\n\n"
        "**售后服务评分卡。** 每项指标按其权重得分，满分 100 分的总分决定等级；等级旁列出达标指标数。"
        "每项未达标的指标都标记为需根因分析（鱼骨图、5 Why）；备注来自标准文件及针对该指标登记的改进措施。\n\n"
        "本单位没有数据的指标（如热线班组的上门到达）为*不适用*，总分按适用指标的权重折算，使所有单位处于同一尺度。"
        "档案完全无法测量的指标为*未测量*，并注明原因。"),
    "scorecard.indicators": (
        "## Points by indicator",
        "## 各指标得分"),
    "scorecard.channels": (
        "## Response and handling time per channel\n\n"
        "Phone, chat and e-mail are answered on different clocks, so each channel is held to its own target; "
        "the channels are then combined by their volume (*all channels*).",
        "## 各渠道响应与处理时长\n\n"
        "电话、在线与邮件的响应节奏不同，因此每个渠道按各自目标考核，再按工单量加权合并（*全部渠道*）。"),
    "scorecard.subtotals": (
        "## Dimension subtotals",
        "## 各维度小计"),
    "scorecard.flagged": (
        "## Indicators for root-cause analysis",
        "## 需根因分析的指标"),
    "scorecard.comparison": (
        "## Compared with the previous period",
        "## 与上期对比"),
    # ------------------------------------------------------------ 5 action plan
    "actions.title": (
        "# Action plan\n\n"
        "**Step 4 of the quality loop.** The improvement register for this unit: each action's problem, "
        "measure, owner, due date, resources and status; the actions that are overdue; and each acceptance "
        "criterion checked against the KPIs measured since the action started — *met*, *not met*, or *not "
        "yet measurable*. The statistical before/after evaluation of each action is in the before/after "
        "report.",
        "# 改进计划\n\n"
        "**质量闭环第 4 步。** 本单位的改进措施登记表：每项措施的问题、措施、负责人、截止日期、资源与状态；"
        "已逾期的措施；以及每条验收标准与措施开始以来实测 KPI 的对照——*已达成*、*未达成*或*尚无法测量*。"
        "各措施效果的统计检验见前后对比报告。"),
    "actions.register": (
        "## The register",
        "## 措施登记表"),
    "actions.overdue": (
        "## Overdue\n\n"
        "Open actions (planned or in progress) whose due date has passed by the end of the period.",
        "## 已逾期\n\n"
        "截至期末已过截止日期、仍未完成（计划中或进行中）的措施。"),
    "actions.acceptance": (
        "## Acceptance criteria against measured KPIs\n\n"
        "Measured for the action's teams (and channels, where the action is limited to some) from its start "
        "to the end of this period. A criterion on a KPI the archive cannot measure says so.",
        "## 验收标准与实测 KPI 对照\n\n"
        "按措施涉及的班组（以及限定的渠道）统计，从措施开始至本期期末。档案无法测量的 KPI 会注明。"),
    # ------------------------------------------------------------ 6 monitoring
    "monitoring.title": (
        "# Monitoring\n\n"
        "**Step 5 of the quality loop.** Threshold alerts from the standards (weekly, per team or channel), "
        "agents due for one-to-one coaching (below 80 % CSAT three weeks in a row) — told apart from "
        "problems of a whole team — and control charts that separate real shifts from week-to-week noise: "
        "a p-chart for satisfaction and resolution (limits widen when fewer answers came in) and an XmR "
        "chart for response times, with rule violations marked. The limits come from the previous period, "
        "so this period is judged against how the process used to behave.",
        "# 过程监控\n\n"
        "**质量闭环第 5 步。** 依据标准的阈值预警（按周，按班组或渠道）；需要一对一辅导的客服"
        "（连续三周满意度低于 80 %），并与班组整体问题区分开；以及区分真实变化与周间波动的控制图："
        "满意度与一次解决率用 p 图（回答越少，控制限越宽），响应时长用 XmR 图（单值-移动极差图），"
        "并标出违反判异规则的点。控制限取自上期，即以过程过去的表现来评判本期。"),
    "monitoring.alerts": (
        "## Threshold alerts\n\n"
        "One row per alert, not per week: weeks in which a rule fired for the same group, at most one quiet "
        "week apart, are one alert with its start, the weeks it has been open and the observations behind "
        "it. *Chronic*: open four weeks or more; *recurring*: it fired earlier in the period, stopped, and "
        "fired again; *new* otherwise. Severity is how far the value is below its threshold (high: 10 % or "
        "more of the threshold, medium: 5 %). Only whole weeks inside the period are judged; partial weeks "
        "and weeks with too few observations are listed below the table.",
        "## 阈值预警\n\n"
        "每条预警一行，而不是每周一行：同一规则、同一对象触发的各周，中间最多间隔一周未触发的，合并为一条预警，"
        "列出起始周、持续周数及样本量。*持续*：持续四周或以上；*复发*：本期内曾触发、停止后再次触发；其余为*新发*。"
        "严重程度按低于阈值的幅度划分（高：低于阈值 10 % 或以上，中：5 %）。只评判期内的完整周；"
        "不完整的周和样本不足的周列于表下。"),
    "monitoring.coaching": (
        "## One-to-one coaching or a team problem?\n\n"
        "The rule (an agent below 80 % CSAT three weeks in a row) screens every agent every week, so chance "
        "alone makes runs. A run becomes a **one-to-one** case only when, over the run's weeks, the agent had "
        "enough answers, was below the rest of the team beyond chance (exact test, corrected for the number "
        "of agents screened) and is still under 80 % once the agent's CSAT is shrunk towards the team's "
        "(few answers, more shrinkage). When the whole team is below its CSAT target, runs that do not "
        "stand out from the team are **team-level**: coaching one agent would not fix them.",
        "## 一对一辅导还是班组问题？\n\n"
        "该规则（客服满意度连续三周低于 80 %）每周筛查每位客服，仅凭偶然也会出现连续低分。只有同时满足以下条件，"
        "才判定为**一对一辅导**：连续期间回答数足够；低于班组其他人且超出偶然范围（精确检验，并按筛查人数校正）；"
        "将其满意度向班组水平收缩后（回答越少收缩越多）仍低于 80 %。当整个班组低于满意度目标时，"
        "与班组无明显差异的连续低分属于**班组整体问题**：辅导个人无法解决。"),
    "monitoring.charts": (
        "## Control charts\n\n"
        "Limits from the previous period (the baseline), applied to both periods. A marked point broke a "
        "rule: beyond 3 σ, 2 of 3 beyond 2 σ, 4 of 5 beyond 1 σ, or 8 in a row on one side.",
        "## 控制图\n\n"
        "控制限取自上期（基线），并应用于两期。标记的点违反了判异规则：超出 3 σ、3 点中有 2 点超出 2 σ、"
        "5 点中有 4 点超出 1 σ，或连续 8 点位于中心线同侧。"),
    "monitoring.progress": (
        "## Progress of open actions\n\n"
        "Weekly values of each open action's metrics since it started, against its acceptance target.",
        "## 进行中措施的进展\n\n"
        "每项进行中措施的指标自开始以来的周数值，与其验收目标对比。"),
    # ------------------------------------------------------------ 6 monitoring: lines in sections
    "monitoring.partial_weeks": (
        "Partial weeks, not judged (only part of the week lies in the period or has data): {weeks}.",
        "不完整的周，未评判（该周只有部分日期在本期内或有数据）：{weeks}。"),
    "monitoring.more": (" and {count} more", " 等，另有 {count} 个"),
    "monitoring.too_few": (
        "Not judged, too few observations: {kpi} per {group_by} and week, {count} group-weeks: {examples}.",
        "样本不足，未评判：{kpi}（按{group_by}、按周），共 {count} 个对象周：{examples}。"),
    "monitoring.rule_not_judged": (
        "Not judged: {kpi} per {group_by} and week ({reason}).",
        "未评判：{kpi}（按{group_by}、按周）（{reason}）。"),
    "monitoring.no_alerts": (
        "No alert fired in a whole week of this period.",
        "本期的完整周内未触发任何预警。"),
    "monitoring.coaching_not_assessed": (
        "Coaching not assessed: {reason} (the rule needs agents and their CSAT).",
        "未评估辅导：{reason}（该规则需要客服工号及其满意度）。"),
    "monitoring.team_line": (
        "**{team}**: CSAT {csat} (n = {n}, {low}–{high}) against a target of {target}.",
        "**{team}**：满意度 {csat}（n = {n}，{low}–{high}），目标 {target}。"),
    "monitoring.team_below": (
        "The whole team is below target: a team-level remedy (process, tools, training for everyone); {quiet} of "
        "{runs} agents with a run do not stand out from the team.",
        "整个班组低于目标：需采取班组层面的措施（流程、工具、全员培训）；在 {runs} 名出现连续低分的客服中，"
        "有 {quiet} 名与班组无明显差异。"),
    "monitoring.team_at_target": (
        "At or near target: remedies are individual.",
        "达到或接近目标：改进措施针对个人。"),
    "monitoring.team_one_to_one": (
        "One-to-one coaching: {cases} of {agents} agents.",
        "一对一辅导：{agents} 名客服中 {cases} 名。"),
    "monitoring.no_runs": (
        "No agent met the coaching rule (three weeks in a row under the threshold) in this period.",
        "本期没有客服触发辅导规则（连续三周低于阈值）。"),
    "monitoring.chart_not_drawn": (
        "{kpi} chart not drawn: {reason}.",
        "未绘制{kpi}控制图：{reason}。"),
    "monitoring.p_chart_title": ("p-chart: {kpi}, weekly", "p 图：{kpi}（按周）"),
    "monitoring.xmr_chart_title": ("XmR chart: {kpi}, weekly", "XmR 图：{kpi}（按周）"),
    "monitoring.no_violations": (
        "No rule violations on the control charts.",
        "控制图上没有违反判异规则的点。"),
    "monitoring.no_actions": (
        "No actions registered: there is no progress to follow.",
        "没有登记改进措施：无进展可跟踪。"),
    "monitoring.no_open_actions": (
        "No open action has started yet for this unit.",
        "本单位尚无已开始且未完成的措施。"),
    "monitoring.metric_not_followed": (
        "{action}: {kpi} not followed: {reason}.",
        "{action}：未跟踪{kpi}：{reason}。"),
    "monitoring.progress_title": ("{action}: {kpi} since {start}", "{action}：{kpi}（自 {start} 起）"),
    # ------------------------------------------------------------ 5 action plan: lines
    "actions.none_registered": (
        "No improvement actions are registered.",
        "没有登记任何改进措施。"),
    "actions.none_for_archive": (
        "No registered action covers this archive's teams.",
        "没有覆盖本档案班组的已登记措施。"),
    "actions.none_for_unit": (
        "No improvement actions cover this unit.",
        "没有覆盖本单位的改进措施。"),
    "actions.nothing_to_list": ("No actions to list.", "没有可列出的措施。"),
    "actions.nothing_overdue": ("Nothing is overdue.", "没有逾期的措施。"),
    "actions.left_out": (
        "{action}: left out, it names team(s) this archive does not have ({teams}).",
        "{action}：未纳入，其涉及的班组不在本档案中（{teams}）。"),
    # ------------------------------------------------------------ headlines
    "headline.title": ("### At a glance", "### 要点"),
    "headline.previous": ("{change} vs {period}", "较 {period} {change}"),
}


def say(key: str, language: str = "en", **values) -> str:
    """A section's text in ``language`` as Markdown, with ``values`` (HTML-escaped) filled in.

    Parameters
    ----------
    key : str
        ``"<notebook>.<section>"``, e.g. ``"kpi.pareto"``.
    language : {"en", "zh"}
        The reader's language (English when unknown).
    **values
        Values for the text's ``{placeholders}``; user-controlled text is escaped.

    Returns
    -------
    str
        Markdown.
    """
    pair = NARRATIVE[key]
    text = pair[LANGUAGES.index(language)] if language in LANGUAGES else pair[0]
    return text.format(**{name: html.escape(str(value)) for name, value in values.items()}) if values else text
